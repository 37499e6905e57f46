/* record_codec.h - the on-disk encoding of struct tg_record.
 *
 * Owns: the byte layout of a ledger value.  A value is one version byte
 * followed by fields, each a tag, a length and that many bytes, all three
 * self-describing, so a later tokenguard can add fields without migrating
 * old ledgers and an older one skips the tags it does not know:
 *
 *   value  = version:u8 field*
 *   field  = tag:varint length:varint bytes[length]
 *   varint = unsigned LEB128, at most 10 bytes
 *   ints   = zigzag varint (counts use -1 for unknown, so signed)
 *   flags  = plain varint
 *   cost   = 8 bytes, IEEE 754 binary64, big-endian
 *   text   = raw bytes, no NUL; empty text is omitted
 *
 * Tag numbers are part of the format: never reuse or renumber one.  The
 * version byte changes only for a change old readers must refuse.
 */
#ifndef TG_RECORD_CODEC_H
#define TG_RECORD_CODEC_H

#include <stddef.h>
#include "record.h"

#define TG_RECORD_ENC_VERSION 1

/* Upper bound of an encoded record: every field present at full length. */
#define TG_RECORD_ENC_MAX                                                   \
	(1 + 16 * (2 + 10) + (2 + 8) +                                      \
	 10 * (1 + 2) + TG_PROVIDER_MAX + TG_HOST_MAX + TG_ENDPOINT_MAX +    \
	 2 * TG_MODEL_MAX + TG_PROCESS_MAX + TG_TAGS_MAX + 2 * TG_ID_MAX +   \
	 TG_POLICY_NAME_MAX + 3 * (1 + 2) + TG_OPERATION_MAX + TG_ERROR_MAX + \
	 TG_MACHINE_MAX)

/* Encodes r into buf.  Returns the number of bytes written (at most
 * TG_RECORD_ENC_MAX), or TG_EINVAL when n is too small.  Text fields are
 * read up to their NUL or their size minus one, whichever comes first. */
int tg_record_encode(const struct tg_record *r, unsigned char *buf, size_t n);

/* Decodes n bytes into r, which is fully overwritten (absent fields get
 * their defaults: counts unknown, latency and ttft -1, text "").  Returns 0,
 * TG_ECORRUPT when the bytes are not a well-formed record, or TG_ESCHEMA
 * when the version byte is newer than TG_RECORD_ENC_VERSION.  Text longer
 * than our field (from a later version) is cut at a UTF-8 boundary. */
int tg_record_decode(struct tg_record *r, const void *buf, size_t n);

/* The text fields, for tg_record_decode_some(). */
enum tg_record_text {
	TG_TEXT_PROVIDER = 1u << 0, TG_TEXT_HOST = 1u << 1, TG_TEXT_ENDPOINT = 1u << 2,
	TG_TEXT_MODEL = 1u << 3, TG_TEXT_PROCESS = 1u << 4, TG_TEXT_TAGS = 1u << 5,
	TG_TEXT_REQUEST_ID = 1u << 6, TG_TEXT_RESPONSE_ID = 1u << 7,
	TG_TEXT_REQUESTED_MODEL = 1u << 8, TG_TEXT_POLICY = 1u << 9,
	TG_TEXT_OPERATION = 1u << 10, TG_TEXT_ERROR = 1u << 11, TG_TEXT_MACHINE = 1u << 12,
	TG_TEXT_ALL = (1u << 13) - 1,
};

/* tg_record_decode() for scans that read a few fields of many records:
 * every number is decoded, and of the text fields only those in text
 * (TG_TEXT_* bits); the others are "" and not examined, so a value
 * damaged only there decodes (verify examines every field).  r is not
 * cleared first: bytes past a text field's end keep what they held. */
int tg_record_decode_some(struct tg_record *r, const void *buf, size_t n, unsigned text);

/* A record as it lies in its encoded value: the numbers decoded, each text
 * field a pointer into the value and a length (no NUL), already cut to
 * what its struct tg_record field would hold.  For scans that only read
 * and write the text out again (`records`): nothing is copied. */
struct tg_text {
	const char *p;
	size_t n;
};
enum tg_record_text_index {
	TG_TI_PROVIDER, TG_TI_HOST, TG_TI_ENDPOINT, TG_TI_MODEL, TG_TI_PROCESS, TG_TI_TAGS,
	TG_TI_REQUEST_ID, TG_TI_RESPONSE_ID, TG_TI_REQUESTED_MODEL, TG_TI_POLICY,
	TG_TI_OPERATION, TG_TI_ERROR, TG_TI_MACHINE,
	TG_TI_COUNT,
};
struct tg_record_view {
	int64_t ts_us, latency_ms, ttft_ms;
	struct tg_counts counts;
	double cost_usd;
	int32_t pid, status;
	uint32_t flags;
	const unsigned char *key;   /* its 16-byte ledger key (ledger_impl.h; a spooled
	                               record's is the one it will have), for its
	                               global id (machine.h); NULL when not known */
	struct tg_text text[TG_TI_COUNT];   /* indexed by enum tg_record_text_index;
	                                       TG_TEXT_* bit i is index i */
};

/* tg_record_decode_some() into a view of buf, which must outlive v: the
 * same checks, the same defaults, the same cut of long text; the text
 * fields not in text are empty and not examined. */
int tg_record_view_decode(struct tg_record_view *v, const void *buf, size_t n, unsigned text);

/* The view of a decoded record (its text fields up to their NUL). */
void tg_record_view_of(struct tg_record_view *v, const struct tg_record *r);

/* The record a view holds.  As with tg_record_decode_some(), r is not
 * cleared first: bytes past a text field's NUL keep what they held. */
void tg_record_from_view(struct tg_record *r, const struct tg_record_view *v);

#endif

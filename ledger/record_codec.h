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
	 TG_POLICY_NAME_MAX)

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
	TG_TEXT_ALL = (1u << 10) - 1,
};

/* tg_record_decode() for scans that read a few fields of many records:
 * every number is decoded, and of the text fields only those in text
 * (TG_TEXT_* bits); the others are "" and not examined, so a value
 * damaged only there decodes (verify examines every field).  r is not
 * cleared first: bytes past a text field's end keep what they held. */
int tg_record_decode_some(struct tg_record *r, const void *buf, size_t n, unsigned text);

#endif

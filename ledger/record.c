/* record.c - struct tg_counts helpers and the record encoding described in
 * record_codec.h.  Never allocates. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "byteorder.h"
#include "error.h"
#include "record.h"
#include "record_codec.h"
#include "tags.h"

enum tag {
	T_TS_US = 1,
	T_LATENCY_MS = 2,
	T_TTFT_MS = 3,
	T_INPUT = 4,
	T_OUTPUT = 5,
	T_CACHED_INPUT = 6,
	T_CACHE_CREATION = 7,
	T_CACHE_CREATION_5M = 8,
	T_CACHE_CREATION_1H = 9,
	T_REASONING = 10,
	T_COST_USD = 11,
	T_PID = 12,
	T_STATUS = 13,
	T_FLAGS = 14,
	T_PROVIDER = 20,
	T_HOST = 21,
	T_ENDPOINT = 22,
	T_MODEL = 23,
	T_PROCESS = 24,
	T_TAGS = 25,
	T_REQUEST_ID = 26,
	T_RESPONSE_ID = 27,
	T_REQUESTED_MODEL = 28,
	T_POLICY = 29,
	T_OPERATION = 30,
	T_ERROR = 31,
	T_MACHINE = 32,
};

void tg_counts_unknown(struct tg_counts *c)
{
	c->input = TG_COUNT_UNKNOWN;
	c->output = TG_COUNT_UNKNOWN;
	c->cached_input = TG_COUNT_UNKNOWN;
	c->cache_creation = TG_COUNT_UNKNOWN;
	c->cache_creation_5m = TG_COUNT_UNKNOWN;
	c->cache_creation_1h = TG_COUNT_UNKNOWN;
	c->reasoning = TG_COUNT_UNKNOWN;
}

int tg_operation_counts_tokens(const char *operation)
{
	return strcmp(operation, "count_tokens") == 0;
}

int tg_tags_contain(const char *tags, const char *kv)
{
	size_t kl = strlen(kv);
	struct tg_tag_item it;

	for (const char *at = tags; tg_tags_next(&at, &it);)
		if (it.len == kl && !memcmp(it.p, kv, kl))
			return 1;
	return 0;
}

const char *tg_tags_value(const char *tags, const char *key, size_t klen, size_t *vlen)
{
	struct tg_tag_item it;

	for (const char *at = tags; tg_tags_next(&at, &it);)
		if (it.value && it.klen == klen && !memcmp(it.p, key, klen)) {
			*vlen = it.vlen;
			return it.value;
		}
	return NULL;
}

struct wbuf {
	unsigned char *p;
	size_t n, len;
	int overflow;
};

static void put_bytes(struct wbuf *w, const void *src, size_t len)
{
	if (w->overflow || len > w->n - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->len, src, len);
	w->len += len;
}

static size_t varint(unsigned char out[10], uint64_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		out[i++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	out[i++] = (unsigned char)v;
	return i;
}

static void put_field(struct wbuf *w, unsigned tag, const void *val, size_t len)
{
	unsigned char hdr[20];
	size_t h = varint(hdr, tag);

	h += varint(hdr + h, len);
	put_bytes(w, hdr, h);
	put_bytes(w, val, len);
}

static void put_uint(struct wbuf *w, unsigned tag, uint64_t v)
{
	unsigned char b[10];

	put_field(w, tag, b, varint(b, v));
}

/* Zigzag keeps -1 (unknown) one byte long instead of ten. */
static void put_int(struct wbuf *w, unsigned tag, int64_t v)
{
	put_uint(w, tag, ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static void put_double(struct wbuf *w, unsigned tag, double d)
{
	unsigned char b[8];
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	tg_put_be64(b, u);
	put_field(w, tag, b, 8);
}

static void put_text(struct wbuf *w, unsigned tag, const char *s, size_t size)
{
	size_t len = strnlen(s, size - 1);

	if (len)
		put_field(w, tag, s, len);
}

/* Text tag T_PROVIDER + i, index i and TG_TEXT_* bit i name the same
 * field: get_field() maps one to the others by arithmetic. */
_Static_assert(T_MACHINE - T_PROVIDER == TG_TI_MACHINE && TG_TI_COUNT == 13 &&
               TG_TEXT_POLICY == 1u << TG_TI_POLICY && TG_TEXT_TAGS == 1u << TG_TI_TAGS &&
               TG_TEXT_ALL == (1u << TG_TI_COUNT) - 1,
               "text tags, indexes and bits out of step");

/* The size of each text field of struct tg_record (NUL included), by
 * enum tg_record_text_index; tag T_PROVIDER + i is index i. */
static const size_t text_size[TG_TI_COUNT] = {
	TG_PROVIDER_MAX, TG_HOST_MAX, TG_ENDPOINT_MAX, TG_MODEL_MAX, TG_PROCESS_MAX,
	TG_TAGS_MAX, TG_ID_MAX, TG_ID_MAX, TG_MODEL_MAX, TG_POLICY_NAME_MAX, TG_OPERATION_MAX,
	TG_ERROR_MAX, TG_MACHINE_MAX,
};

/* Where each text field of a struct tg_record is, by enum
 * tg_record_text_index. */
#define AT(m) offsetof(struct tg_record, m)
static const size_t text_at[TG_TI_COUNT] = {
	AT(provider), AT(host), AT(endpoint), AT(model), AT(process), AT(tags),
	AT(request_id), AT(response_id), AT(requested_model), AT(policy), AT(operation), AT(error),
	AT(machine),
};
#undef AT

int tg_record_encode(const struct tg_record *r, unsigned char *buf, size_t n)
{
	struct wbuf w = { buf, n, 0, 0 };
	unsigned char version = TG_RECORD_ENC_VERSION;

	put_bytes(&w, &version, 1);
	put_int(&w, T_TS_US, r->ts_us);
	put_int(&w, T_LATENCY_MS, r->latency_ms);
	put_int(&w, T_TTFT_MS, r->ttft_ms);
	put_int(&w, T_INPUT, r->counts.input);
	put_int(&w, T_OUTPUT, r->counts.output);
	put_int(&w, T_CACHED_INPUT, r->counts.cached_input);
	put_int(&w, T_CACHE_CREATION, r->counts.cache_creation);
	put_int(&w, T_CACHE_CREATION_5M, r->counts.cache_creation_5m);
	put_int(&w, T_CACHE_CREATION_1H, r->counts.cache_creation_1h);
	put_int(&w, T_REASONING, r->counts.reasoning);
	put_double(&w, T_COST_USD, r->cost_usd);
	put_int(&w, T_PID, r->pid);
	put_int(&w, T_STATUS, r->status);
	put_uint(&w, T_FLAGS, r->flags);
	/* In tag order, as the fields were always written. */
	for (unsigned i = 0; i < TG_TI_COUNT; i++)
		put_text(&w, T_PROVIDER + i, (const char *)r + text_at[i], text_size[i]);
	if (w.overflow)
		return TG_EINVAL;
	return (int)w.len;
}

/* Reads one varint of more than one byte; returns its length, or 0 when
 * truncated or longer than 64 bits. */
static size_t get_varint_long(const unsigned char *p, size_t n, uint64_t *out)
{
	size_t max = n < 10 ? n : 10;
	uint64_t v = 0;

	for (size_t i = 0; i < max; i++) {
		uint64_t b = p[i];

		v |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			if (i == 9 && b > 1)
				return 0;
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

/* Tags, lengths and most counts are one byte: that case inline. */
static inline size_t get_varint(const unsigned char *p, size_t n, uint64_t *out)
{
	if (n && p[0] < 0x80) {
		*out = p[0];
		return 1;
	}
	return get_varint_long(p, n, out);
}

/* An integer field must be exactly one varint filling its length. */
static inline int get_uint(const unsigned char *p, size_t len, uint64_t *out)
{
	return len && get_varint(p, len, out) == len ? 0 : TG_ECORRUPT;
}

static inline int get_int(const unsigned char *p, size_t len, int64_t *out)
{
	uint64_t u;

	if (get_uint(p, len, &u))
		return TG_ECORRUPT;
	*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

static inline int get_int32(const unsigned char *p, size_t len, int32_t *out)
{
	int64_t v;

	if (get_int(p, len, &v) || v < INT32_MIN || v > INT32_MAX)
		return TG_ECORRUPT;
	*out = (int32_t)v;
	return 0;
}

static inline int get_double(const unsigned char *p, size_t len, double *out)
{
	uint64_t u;

	if (len != 8)
		return TG_ECORRUPT;
	u = tg_get_be64(p);
	memcpy(out, &u, sizeof *out);
	return 0;
}

/* 1 when the len bytes at p hold a NUL.  Eight bytes at a time, inline:
 * text fields are short and a scan asks this of each one, where a call to
 * memchr() costs more than the search. */
static inline int has_nul(const unsigned char *p, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if ((w - ones) & ~w & highs)
			return 1;
	}
	for (; i < len; i++)
		if (!p[i])
			return 1;
	return 0;
}

/* A text field holds no NUL; one longer than our field (from a later
 * version) is cut, never leaving half a UTF-8 sequence at the end. */
static int get_text(const unsigned char *p, size_t len, size_t size, struct tg_text *out)
{
	if (has_nul(p, len))
		return TG_ECORRUPT;
	if (len > size - 1) {
		len = size - 1;
		while (len > 0 && (p[len] & 0xc0) == 0x80)
			len--;
	}
	out->p = (const char *)p;
	out->n = len;
	return 0;
}

static inline int get_field(struct tg_record_view *v, uint64_t tag, const unsigned char *p,
                     size_t len, unsigned text)
{
	struct tg_counts *c = &v->counts;
	uint64_t u;

	switch (tag) {
	case T_TS_US: return get_int(p, len, &v->ts_us);
	case T_LATENCY_MS: return get_int(p, len, &v->latency_ms);
	case T_TTFT_MS: return get_int(p, len, &v->ttft_ms);
	case T_INPUT: return get_int(p, len, &c->input);
	case T_OUTPUT: return get_int(p, len, &c->output);
	case T_CACHED_INPUT: return get_int(p, len, &c->cached_input);
	case T_CACHE_CREATION: return get_int(p, len, &c->cache_creation);
	case T_CACHE_CREATION_5M: return get_int(p, len, &c->cache_creation_5m);
	case T_CACHE_CREATION_1H: return get_int(p, len, &c->cache_creation_1h);
	case T_REASONING: return get_int(p, len, &c->reasoning);
	case T_COST_USD: return get_double(p, len, &v->cost_usd);
	case T_PID: return get_int32(p, len, &v->pid);
	case T_STATUS: return get_int32(p, len, &v->status);
	case T_FLAGS:
		if (get_uint(p, len, &u) || u > UINT32_MAX)
			return TG_ECORRUPT;
		v->flags = (uint32_t)u;
		return 0;
	}
	if (tag >= T_PROVIDER && tag <= T_MACHINE) {
		unsigned i = (unsigned)(tag - T_PROVIDER);

		/* A text field not asked for is left empty and not examined. */
		return text & 1u << i ? get_text(p, len, text_size[i], &v->text[i]) : 0;
	}
	return 0; /* a field from a later version: skipped */
}

/* Every field's default, the text fields "". */
static void defaults(struct tg_record_view *v)
{
	v->ts_us = 0;
	v->latency_ms = -1;
	v->ttft_ms = -1;
	tg_counts_unknown(&v->counts);
	v->cost_usd = 0;
	v->pid = 0;
	v->status = 0;
	v->flags = 0;
	v->key = NULL;
	for (int i = 0; i < TG_TI_COUNT; i++)
		v->text[i].p = "", v->text[i].n = 0;
}

int tg_record_view_decode(struct tg_record_view *v, const void *buf, size_t n, unsigned text)
{
	const unsigned char *p = buf;
	size_t off = 1;

	defaults(v);
	if (n < 1 || p[0] == 0)
		return TG_ECORRUPT;
	if (p[0] > TG_RECORD_ENC_VERSION)
		return TG_ESCHEMA;

	while (off < n) {
		uint64_t tag, len;
		size_t k;
		int rc;

		if (!(k = get_varint(p + off, n - off, &tag)) || tag == 0)
			return TG_ECORRUPT;
		off += k;
		if (!(k = get_varint(p + off, n - off, &len)) || len > n - off - k)
			return TG_ECORRUPT;
		off += k;
		if ((rc = get_field(v, tag, p + off, (size_t)len, text)) != 0)
			return rc;
		off += (size_t)len;
	}
	return 0;
}

static void numbers_from_view(struct tg_record *r, const struct tg_record_view *v)
{
	r->ts_us = v->ts_us;
	r->latency_ms = v->latency_ms;
	r->ttft_ms = v->ttft_ms;
	r->counts = v->counts;
	r->cost_usd = v->cost_usd;
	r->pid = v->pid;
	r->status = v->status;
	r->flags = v->flags;
}

/* The text fields only up to their NUL: the bytes after it are left. */
static void texts_from_view(struct tg_record *r, const struct tg_record_view *v)
{
	for (int i = 0; i < TG_TI_COUNT; i++) {
		char *dst = (char *)r + text_at[i];
		size_t n = v->text[i].n;

		/* Most are empty in a scan that asks for a few. */
		if (n)
			memcpy(dst, v->text[i].p, n);
		dst[n] = '\0';
	}
}

void tg_record_view_of(struct tg_record_view *v, const struct tg_record *r)
{
	v->ts_us = r->ts_us;
	v->latency_ms = r->latency_ms;
	v->ttft_ms = r->ttft_ms;
	v->counts = r->counts;
	v->cost_usd = r->cost_usd;
	v->pid = r->pid;
	v->status = r->status;
	v->flags = r->flags;
	v->key = NULL;
	for (int i = 0; i < TG_TI_COUNT; i++) {
		const char *s = (const char *)r + text_at[i];

		v->text[i].p = s;
		v->text[i].n = strnlen(s, text_size[i] - 1);
	}
}

void tg_record_from_view(struct tg_record *r, const struct tg_record_view *v)
{
	numbers_from_view(r, v);
	texts_from_view(r, v);
}

int tg_record_decode_some(struct tg_record *r, const void *buf, size_t n, unsigned text)
{
	struct tg_record_view v;
	int rc = tg_record_view_decode(&v, buf, n, text);

	/* A record that fails to decode still reads as the defaults and the
	 * fields decoded before the damage, as it always has. */
	tg_record_from_view(r, &v);
	return rc;
}

int tg_record_decode(struct tg_record *r, const void *buf, size_t n)
{
	memset(r, 0, sizeof *r);
	return tg_record_decode_some(r, buf, n, TG_TEXT_ALL);
}

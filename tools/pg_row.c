/* pg_row.c - see pg_row.h. */
#include "pg_row.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "emit.h"
#include "tags.h"

const char *const tg_pg_col_name[TG_PG_NCOLS] = {
	[TG_PG_ID] = "id", [TG_PG_MACHINE] = "machine", [TG_PG_TS] = "ts",
	[TG_PG_PROVIDER] = "provider", [TG_PG_HOST] = "host", [TG_PG_ENDPOINT] = "endpoint",
	[TG_PG_MODEL] = "model", [TG_PG_REQUESTED_MODEL] = "requested_model",
	[TG_PG_OPERATION] = "operation", [TG_PG_PROCESS] = "process", [TG_PG_PID] = "pid",
	[TG_PG_STATUS] = "status", [TG_PG_FLAGS] = "flags", [TG_PG_INPUT] = "input_tokens",
	[TG_PG_OUTPUT] = "output_tokens", [TG_PG_CACHED_INPUT] = "cached_input_tokens",
	[TG_PG_CACHE_CREATION] = "cache_creation_input_tokens",
	[TG_PG_CACHE_CREATION_5M] = "cache_creation_5m_input_tokens",
	[TG_PG_CACHE_CREATION_1H] = "cache_creation_1h_input_tokens",
	[TG_PG_REASONING] = "reasoning_tokens", [TG_PG_COST] = "cost_usd",
	[TG_PG_LATENCY] = "latency_ms", [TG_PG_TTFT] = "ttft_ms",
	[TG_PG_REQUEST_ID] = "request_id", [TG_PG_RESPONSE_ID] = "response_id",
	[TG_PG_POLICY] = "policy", [TG_PG_ERROR] = "error", [TG_PG_TAGS_TEXT] = "tags_text",
	[TG_PG_TAGS_JSON] = "tags",
};

const char *tg_pg_select_list(void)
{
	static char list[1024];

	if (!list[0]) {
		size_t n = 0;

		for (int i = 0; i < TG_PG_READ_COLS; i++)
			n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
			                      i == TG_PG_TS ?
			                      "(extract(epoch from ts) * 1000000)::bigint" :
			                      tg_pg_col_name[i]);
	}
	return list;
}

/* s (at most n - 1 bytes) into out with every byte that starts no valid
 * UTF-8 sequence replaced by '?': what the server's UTF8 encoding takes. */
static const char *valid_utf8(char *out, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1), i = 0;

	while (i < len) {
		int k = tg_utf8_len((const unsigned char *)s + i, len - i);

		if (k == 0) {
			out[i++] = '?';
		} else {
			memcpy(out + i, s + i, (size_t)k);
			i += (size_t)k;
		}
	}
	out[len] = '\0';
	return out;
}

/* s, or NULL (SQL NULL) when empty. */
static const char *text_or_null(struct tg_pg_row *row, int col, const char *s, size_t size)
{
	if (!*s)
		return NULL;
	return valid_utf8(row->text[col], size < TG_TAGS_MAX ? size : TG_TAGS_MAX, s);
}

static const char *number(struct tg_pg_row *row, int col, int64_t v)
{
	snprintf(row->num[col], sizeof row->num[col], "%" PRId64, v);
	return row->num[col];
}

/* A count, a latency: NULL when unknown (negative). */
static const char *count_or_null(struct tg_pg_row *row, int col, int64_t v)
{
	return v < 0 ? NULL : number(row, col, v);
}

/* See pg_row.h. */
void tg_pg_ts_text(int64_t ts_us, char out[64])
{
	int64_t days = tg_floor_div(ts_us, TG_US_PER_DAY), y;
	int64_t in_day = ts_us - days * TG_US_PER_DAY;
	int s = (int)(in_day / TG_US_PER_SEC), m, d;

	tg_civil_from_days(days, &y, &m, &d);
	snprintf(out, 64, "%04" PRId64 "-%02d-%02d %02d:%02d:%02d.%06d+00", y, m, d, s / 3600,
	         s / 60 % 60, s % 60, (int)(in_day % TG_US_PER_SEC));
}

static void json_strn(char **q, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	*(*q)++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*(*q)++ = '\\';
			*(*q)++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*q += sprintf(*q, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			*(*q)++ = (char)c;
		}
	}
	*(*q)++ = '"';
}

/* {"k": "v", ...} of the (valid UTF-8) tags string: each key once, with
 * its first value, as tg_tags_value() reads it. */
static const char *tags_json(char *out, const char *tags)
{
	struct tg_tag_item it;
	char *q = out;
	int first = 1;

	*q++ = '{';
	for (const char *at = tags; tg_tags_next(&at, &it);) {
		size_t vlen;

		if (!it.klen || tg_tags_value(tags, it.p, it.klen, &vlen) != it.value)
			continue;   /* an empty key, or a key given before */
		if (!first)
			*q++ = ',';
		first = 0;
		json_strn(&q, it.p, it.klen);
		*q++ = ':';
		json_strn(&q, it.value ? it.value : "", it.value ? it.vlen : 0);
	}
	*q++ = '}';
	*q = '\0';
	return out;
}

void tg_pg_row_encode(const struct tg_record *r, const char *id, const char *machine,
                      struct tg_pg_row *row)
{
	const char **v = row->value;

	snprintf(row->id, sizeof row->id, "%s", id);
	valid_utf8(row->machine, sizeof row->machine, machine);
	tg_pg_ts_text(r->ts_us, row->ts);
	v[TG_PG_ID] = row->id;
	v[TG_PG_MACHINE] = row->machine;
	v[TG_PG_TS] = row->ts;
	v[TG_PG_PROVIDER] = valid_utf8(row->text[TG_PG_PROVIDER], sizeof r->provider, r->provider);
	v[TG_PG_HOST] = valid_utf8(row->text[TG_PG_HOST], sizeof r->host, r->host);
	v[TG_PG_ENDPOINT] = valid_utf8(row->text[TG_PG_ENDPOINT], sizeof r->endpoint, r->endpoint);
	v[TG_PG_MODEL] = valid_utf8(row->text[TG_PG_MODEL], sizeof r->model, r->model);
	v[TG_PG_REQUESTED_MODEL] = text_or_null(row, TG_PG_REQUESTED_MODEL, r->requested_model,
	                                        sizeof r->requested_model);
	v[TG_PG_OPERATION] = text_or_null(row, TG_PG_OPERATION, r->operation, sizeof r->operation);
	v[TG_PG_PROCESS] = valid_utf8(row->text[TG_PG_PROCESS], sizeof r->process, r->process);
	v[TG_PG_PID] = number(row, TG_PG_PID, r->pid);
	v[TG_PG_STATUS] = number(row, TG_PG_STATUS, r->status);
	v[TG_PG_FLAGS] = number(row, TG_PG_FLAGS, r->flags);
	v[TG_PG_INPUT] = count_or_null(row, TG_PG_INPUT, r->counts.input);
	v[TG_PG_OUTPUT] = count_or_null(row, TG_PG_OUTPUT, r->counts.output);
	v[TG_PG_CACHED_INPUT] = count_or_null(row, TG_PG_CACHED_INPUT, r->counts.cached_input);
	v[TG_PG_CACHE_CREATION] = count_or_null(row, TG_PG_CACHE_CREATION,
	                                        r->counts.cache_creation);
	v[TG_PG_CACHE_CREATION_5M] = count_or_null(row, TG_PG_CACHE_CREATION_5M,
	                                           r->counts.cache_creation_5m);
	v[TG_PG_CACHE_CREATION_1H] = count_or_null(row, TG_PG_CACHE_CREATION_1H,
	                                           r->counts.cache_creation_1h);
	v[TG_PG_REASONING] = count_or_null(row, TG_PG_REASONING, r->counts.reasoning);
	/* 17 significant digits read back as the same double. */
	snprintf(row->num[TG_PG_COST], sizeof row->num[TG_PG_COST], "%.17g", r->cost_usd);
	v[TG_PG_COST] = row->num[TG_PG_COST];
	v[TG_PG_LATENCY] = count_or_null(row, TG_PG_LATENCY, r->latency_ms);
	v[TG_PG_TTFT] = count_or_null(row, TG_PG_TTFT, r->ttft_ms);
	v[TG_PG_REQUEST_ID] = text_or_null(row, TG_PG_REQUEST_ID, r->request_id,
	                                   sizeof r->request_id);
	v[TG_PG_RESPONSE_ID] = text_or_null(row, TG_PG_RESPONSE_ID, r->response_id,
	                                    sizeof r->response_id);
	v[TG_PG_POLICY] = text_or_null(row, TG_PG_POLICY, r->policy, sizeof r->policy);
	v[TG_PG_ERROR] = text_or_null(row, TG_PG_ERROR, r->error, sizeof r->error);
	v[TG_PG_TAGS_TEXT] = valid_utf8(row->text[TG_PG_TAGS_TEXT], sizeof r->tags, r->tags);
	v[TG_PG_TAGS_JSON] = tags_json(row->tags_json, v[TG_PG_TAGS_TEXT]);
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

/* A count or latency column: NULL is unknown (-1). */
static int parse_count(const char *s, int64_t *out)
{
	if (!s) {
		*out = TG_COUNT_UNKNOWN;
		return 0;
	}
	return parse_i64(s, out) || *out < 0 ? -1 : 0;
}

static void copy_text(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

int tg_pg_row_decode(const char *const *value, struct tg_record *r, char *id,
                     char *machine, size_t machine_n)
{
	int64_t pid, status, flags;
	char *end;

	memset(r, 0, sizeof *r);
	if (!value[TG_PG_TS] || parse_i64(value[TG_PG_TS], &r->ts_us) || r->ts_us < 0 ||
	    !value[TG_PG_PID] || parse_i64(value[TG_PG_PID], &pid) ||
	    !value[TG_PG_STATUS] || parse_i64(value[TG_PG_STATUS], &status) ||
	    !value[TG_PG_FLAGS] || parse_i64(value[TG_PG_FLAGS], &flags) || flags < 0 ||
	    flags > UINT32_MAX || pid < INT32_MIN || pid > INT32_MAX || status < INT32_MIN ||
	    status > INT32_MAX)
		return -1;
	r->pid = (int32_t)pid;
	r->status = (int32_t)status;
	r->flags = (uint32_t)flags;
	if (parse_count(value[TG_PG_INPUT], &r->counts.input) ||
	    parse_count(value[TG_PG_OUTPUT], &r->counts.output) ||
	    parse_count(value[TG_PG_CACHED_INPUT], &r->counts.cached_input) ||
	    parse_count(value[TG_PG_CACHE_CREATION], &r->counts.cache_creation) ||
	    parse_count(value[TG_PG_CACHE_CREATION_5M], &r->counts.cache_creation_5m) ||
	    parse_count(value[TG_PG_CACHE_CREATION_1H], &r->counts.cache_creation_1h) ||
	    parse_count(value[TG_PG_REASONING], &r->counts.reasoning) ||
	    parse_count(value[TG_PG_LATENCY], &r->latency_ms) ||
	    parse_count(value[TG_PG_TTFT], &r->ttft_ms))
		return -1;
	if (!value[TG_PG_COST])
		return -1;
	r->cost_usd = strtod(value[TG_PG_COST], &end);
	if (end == value[TG_PG_COST] || *end)
		return -1;
	copy_text(r->provider, sizeof r->provider, value[TG_PG_PROVIDER]);
	copy_text(r->host, sizeof r->host, value[TG_PG_HOST]);
	copy_text(r->endpoint, sizeof r->endpoint, value[TG_PG_ENDPOINT]);
	copy_text(r->model, sizeof r->model, value[TG_PG_MODEL]);
	copy_text(r->requested_model, sizeof r->requested_model, value[TG_PG_REQUESTED_MODEL]);
	copy_text(r->operation, sizeof r->operation, value[TG_PG_OPERATION]);
	copy_text(r->process, sizeof r->process, value[TG_PG_PROCESS]);
	copy_text(r->request_id, sizeof r->request_id, value[TG_PG_REQUEST_ID]);
	copy_text(r->response_id, sizeof r->response_id, value[TG_PG_RESPONSE_ID]);
	copy_text(r->policy, sizeof r->policy, value[TG_PG_POLICY]);
	copy_text(r->error, sizeof r->error, value[TG_PG_ERROR]);
	copy_text(r->tags, sizeof r->tags, value[TG_PG_TAGS_TEXT]);
	if (id)
		copy_text(id, TG_PG_ID_MAX, value[TG_PG_ID]);
	if (machine)
		copy_text(machine, machine_n, value[TG_PG_MACHINE]);
	return 0;
}

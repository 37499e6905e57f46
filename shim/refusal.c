/* refusal.c - see refusal.h. */
#include "refusal.h"

#include <stdio.h>
#include <string.h>

#include "byteorder.h"
#include "h2.h"

/* Copies s as JSON string content (no quotes) into out; returns its length or -1. */
static int json_escape(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[8];
		const char *rep = tmp;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tmp[2] = '\0';
		} else if (c < 0x20) {
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
		} else {
			tmp[0] = (char)c;
			tmp[1] = '\0';
		}
		size_t l = strlen(rep);
		if (o + l >= n)
			return -1;
		memcpy(out + o, rep, l);
		o += l;
	}
	out[o] = '\0';
	return (int)o;
}

int tg_refusal_body(enum tg_wire wire, const char *message, char *buf, size_t n)
{
	char msg[1024];
	int r;
	if (json_escape(message, msg, sizeof msg) < 0)
		return -1;
	switch (wire) {
	case TG_WIRE_ANTHROPIC:
		r = snprintf(buf, n, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
		             "\"message\":\"%s\"}}", msg);
		break;
	case TG_WIRE_GEMINI:
		r = snprintf(buf, n, "{\"error\":{\"code\":429,\"message\":\"%s\","
		             "\"status\":\"RESOURCE_EXHAUSTED\"}}", msg);
		break;
	case TG_WIRE_COHERE:
	case TG_WIRE_BEDROCK:
		r = snprintf(buf, n, "{\"message\":\"%s\"}", msg);
		break;
	case TG_WIRE_OPENAI:
	default:
		r = snprintf(buf, n, "{\"error\":{\"message\":\"%s\",\"type\":\"budget_exceeded\","
		             "\"param\":null,\"code\":\"tokenguard_budget_exceeded\"}}", msg);
		break;
	}
	return r < 0 || (size_t)r >= n ? -1 : r;
}

int tg_refusal_h1(enum tg_wire wire, const char *policy, const char *message, char *buf, size_t n)
{
	char body[TG_REFUSAL_MAX];
	int blen = tg_refusal_body(wire, message, body, sizeof body);
	if (blen < 0)
		return -1;
	int r = snprintf(buf, n,
		"HTTP/1.1 429 Too Many Requests\r\n"
		"Content-Type: application/json\r\n"
		"Content-Length: %d\r\n"
		"x-should-retry: false\r\n"
		"%s"
		"x-tokenguard-policy: %s\r\n"
		"Connection: close\r\n"
		"\r\n%s",
		blen, wire == TG_WIRE_BEDROCK ? "x-amzn-ErrorType: ThrottlingException\r\n" : "",
		policy, body);
	return r < 0 || (size_t)r >= n ? -1 : r;
}

/* HPACK literal header field without indexing, new name (RFC 7541 6.2.2):
 * nothing enters the client's dynamic table.  Names and values here are
 * short, so every length fits the 7-bit prefix. */
static int hpack_literal(unsigned char *out, size_t n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	if (nl > 126 || vl > 126 || 3 + nl + vl > n)
		return -1;
	out[0] = 0x00;
	out[1] = (unsigned char)nl;
	memcpy(out + 2, name, nl);
	out[2 + nl] = (unsigned char)vl;
	memcpy(out + 3 + nl, value, vl);
	return (int)(3 + nl + vl);
}

int tg_refusal_h2(enum tg_wire wire, const char *policy, const char *message, uint32_t stream_id,
                  char *buf, size_t n)
{
	char body[TG_REFUSAL_MAX], clen[16];
	unsigned char block[512];
	int blen = tg_refusal_body(wire, message, body, sizeof body);
	if (blen < 0)
		return -1;
	snprintf(clen, sizeof clen, "%d", blen);

	const char *fields[][2] = {
		{ ":status", "429" },
		{ "content-type", "application/json" },
		{ "content-length", clen },
		{ "x-should-retry", "false" },
		{ "x-tokenguard-policy", policy },
		{ "x-amzn-errortype", "ThrottlingException" },
	};
	size_t nfields = wire == TG_WIRE_BEDROCK ? 6 : 5;
	size_t bl = 0;
	for (size_t i = 0; i < nfields; i++) {
		int w = hpack_literal(block + bl, sizeof block - bl, fields[i][0], fields[i][1]);
		if (w < 0)
			return -1;
		bl += (size_t)w;
	}

	size_t need = 9 + bl + 9 + (size_t)blen;
	if (need > n)
		return -1;
	unsigned char *p = (unsigned char *)buf;
	tg_h2_frame_head_put(p, (uint32_t)bl, TG_H2_FRAME_HEADERS, TG_H2_FLAG_END_HEADERS, stream_id);
	memcpy(p + 9, block, bl);
	p += 9 + bl;
	tg_h2_frame_head_put(p, (uint32_t)blen, TG_H2_FRAME_DATA, TG_H2_FLAG_END_STREAM, stream_id);
	memcpy(p + 9, body, (size_t)blen);
	return (int)need;
}

void tg_refusal_h2_window_update(uint32_t stream_id, uint32_t credit, char *buf)
{
	unsigned char *p = (unsigned char *)buf;
	tg_h2_frame_head_put(p, 4, TG_H2_FRAME_WINDOW_UPDATE, 0, stream_id);
	tg_put_be32(p + 9, credit & TG_H2_ID_MASK);
}

void tg_refusal_h2_server(uint32_t stream_id, char *buf)
{
	unsigned char *p = (unsigned char *)buf;
	tg_h2_frame_head_put(p, 4, TG_H2_FRAME_RST_STREAM, 0, stream_id);
	tg_put_be32(p + 9, TG_H2_ERROR_CANCEL);
	tg_h2_frame_head_put(p + 13, 8, TG_H2_FRAME_PING, 0, 0);
	memcpy(p + 22, "tkguard1", 8);
}

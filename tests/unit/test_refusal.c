/* test_refusal.c - the 429 a refused call reads back, in each provider's error shape. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <string.h>

#include "refusal.h"

Test(refusal, each_provider_gets_its_own_error_shape)
{
	char b[TG_REFUSAL_MAX];
	cr_assert_gt(tg_refusal_body(TG_WIRE_OPENAI, "over \"x\"", b, sizeof b), 0);
	cr_assert_str_eq(b, "{\"error\":{\"message\":\"over \\\"x\\\"\",\"type\":\"budget_exceeded\","
	                    "\"param\":null,\"code\":\"tokenguard_budget_exceeded\"}}");
	tg_refusal_body(TG_WIRE_ANTHROPIC, "m", b, sizeof b);
	cr_assert_str_eq(b, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"m\"}}");
	tg_refusal_body(TG_WIRE_GEMINI, "m", b, sizeof b);
	cr_assert_str_eq(b, "{\"error\":{\"code\":429,\"message\":\"m\",\"status\":\"RESOURCE_EXHAUSTED\"}}");
	tg_refusal_body(TG_WIRE_BEDROCK, "m", b, sizeof b);
	cr_assert_str_eq(b, "{\"message\":\"m\"}");
}

Test(refusal, http1_response_is_complete_and_closes)
{
	char r[4096];
	int n = tg_refusal_h1(TG_WIRE_OPENAI, "daily", "spent", r, sizeof r);
	cr_assert_gt(n, 0);
	cr_assert(strncmp(r, "HTTP/1.1 429 ", 13) == 0);
	cr_assert_not_null(strstr(r, "\r\nx-should-retry: false\r\n"));
	cr_assert_not_null(strstr(r, "\r\nConnection: close\r\n"));
	cr_assert_not_null(strstr(r, "\r\nx-tokenguard-policy: daily\r\n"));
	const char *body = strstr(r, "\r\n\r\n") + 4;
	char want[64];
	snprintf(want, sizeof want, "Content-Length: %zu\r\n", strlen(body));
	cr_assert_not_null(strstr(r, want));
}

Test(refusal, http2_frames_decode_without_the_dynamic_table)
{
	char f[4096];
	int n = tg_refusal_h2(TG_WIRE_ANTHROPIC, "team", "msg", 5, f, sizeof f);
	cr_assert_gt(n, 9 + 9);
	const unsigned char *p = (const unsigned char *)f;
	size_t hlen = (size_t)(p[0] << 16 | p[1] << 8 | p[2]);
	cr_assert_eq(p[3], 0x1);
	cr_assert_eq(p[4], 0x4, "END_HEADERS only");
	cr_assert_eq(p[8], 5);

	nghttp2_hd_inflater *inf;
	cr_assert_eq(nghttp2_hd_inflate_new(&inf), 0);
	const uint8_t *in = p + 9;
	size_t left = hlen;
	int status_seen = 0, fields = 0;
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, left, 1);
		cr_assert_geq(rv, 0);
		in += rv;
		left -= (size_t)rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			fields++;
			if (nv.namelen == 7 && memcmp(nv.name, ":status", 7) == 0)
				status_seen = nv.valuelen == 3 && memcmp(nv.value, "429", 3) == 0;
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL)
			break;
	}
	nghttp2_hd_inflate_end_headers(inf);
	cr_assert(status_seen);
	cr_assert_eq(fields, 5);
	cr_assert_eq(nghttp2_hd_inflate_get_num_table_entries(inf), 61, "nothing entered the dynamic table");
	nghttp2_hd_inflate_del(inf);

	p += 9 + hlen;
	cr_assert_eq(p[3], 0x0);
	cr_assert_eq(p[4], 0x1, "END_STREAM");
}

Test(refusal, a_window_update_credits_the_connection)
{
	unsigned char f[TG_REFUSAL_WINDOW_UPDATE_LEN];
	tg_refusal_h2_window_update(0, 1234, (char *)f);
	cr_assert_eq(f[2], 4);
	cr_assert_eq(f[3], 0x8);
	cr_assert_eq(f[8], 0, "stream 0: the connection");
	cr_assert_eq((f[9] << 24 | f[10] << 16 | f[11] << 8 | f[12]), 1234);
	tg_refusal_h2_window_update(5, 99, (char *)f);
	cr_assert_eq(f[8], 5, "or a stream");
	cr_assert_eq(f[12], 99);
}

Test(refusal, server_side_frames_reset_the_stream_and_ping)
{
	unsigned char f[TG_REFUSAL_H2_SERVER_LEN];
	tg_refusal_h2_server(7, (char *)f);
	cr_assert_eq(f[3], 0x3);
	cr_assert_eq(f[8], 7);
	cr_assert_eq(f[12], 0x8, "CANCEL");
	cr_assert_eq(f[13 + 3], 0x6);
	cr_assert_eq(f[13 + 2], 8);
}

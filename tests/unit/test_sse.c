/* test_sse.c - the event-stream framer: line ends, fields, comments, BOM,
 * dispatch rules, for streams fed whole, split in two at every position
 * and byte by byte. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sse.h"

struct log {
	char buf[4096];
	size_t len;
};

static void put(struct log *l, const char *b, size_t n)
{
	cr_assert(l->len + n < sizeof l->buf);
	memcpy(l->buf + l->len, b, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void on_begin(void *ctx)
{
	put(ctx, "<", 1);
}

static void on_data(void *ctx, const char *b, size_t n)
{
	put(ctx, b, n);
}

static void on_end(void *ctx, const char *name, int truncated)
{
	char tail[128];

	snprintf(tail, sizeof tail, ">%s%s|", name, truncated ? "~" : "");
	put(ctx, tail, strlen(tail));
}

static const struct tg_sse_callbacks cbs = { on_begin, on_data, on_end };

static int frame(const char *in, size_t len, const size_t *cuts, size_t ncuts, struct log *l)
{
	struct tg_sse s;
	size_t at = 0, i;

	memset(l, 0, sizeof *l);
	tg_sse_init(&s, &cbs, l);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		cr_assert_eq(tg_sse_feed(&s, in + at, end - at), 0);
		at = end;
	}
	return tg_sse_finish(&s);
}

static void check_stream(const char *in, const char *want, int want_unfinished)
{
	size_t len = strlen(in), cut, i;
	static size_t cuts[4096];
	struct log l;

	cr_assert_eq(frame(in, len, NULL, 0, &l), want_unfinished);
	cr_assert_str_eq(l.buf, want);
	for (cut = 0; cut <= len; cut++) {
		cr_assert_eq(frame(in, len, &cut, 1, &l), want_unfinished);
		cr_assert_str_eq(l.buf, want, "split at %zu", cut);
	}
	for (i = 0; i < len; i++)
		cuts[i] = i;
	cr_assert_eq(frame(in, len, cuts, len, &l), want_unfinished);
	cr_assert_str_eq(l.buf, want, "byte by byte");
}

Test(sse, frames_events_with_names_and_data)
{
	check_stream("event: message_start\ndata: {\"a\":1}\n\n"
	             "event: ping\ndata: {}\n\n"
	             "data: [DONE]\n\n",
	             "<{\"a\":1}>message_start|<{}>ping|<[DONE]>|", 0);
}

Test(sse, accepts_crlf_and_cr_line_ends)
{
	check_stream("data: {\"x\":1}\r\n\r\ndata: 2\r\rdata: 3\n\r\n",
	             "<{\"x\":1}>|<2>|<3>|", 0);
}

Test(sse, joins_multi_line_data_with_line_feeds)
{
	check_stream("data: {\"a\":\ndata:1}\ndata\n\n", "<{\"a\":\n1}\n>|", 0);
}

Test(sse, skips_comments_ids_retries_and_unknown_fields)
{
	check_stream(": keep-alive\n\nid: 7\nretry: 1000\nfoo: bar\ndataX: no\n"
	             ":comment: data: no\ndata: yes\n\n: ping\r\n\r\n",
	             "<yes>|", 0);
}

Test(sse, removes_only_one_space_after_the_colon)
{
	check_stream("data:x\n\ndata:  y\n\nevent:  e\ndata:\n\n",
	             "<x>|< y>|<> e|", 0);
}

Test(sse, skips_a_byte_order_mark_at_the_start)
{
	check_stream("\xEF\xBB\xBF" "data: a\n\n", "<a>|", 0);
	check_stream("\xEF\xBB" "data: a\n\ndata: b\n\n", "<b>|", 0);
}

Test(sse, dispatches_nothing_for_an_event_without_data)
{
	check_stream("event: lonely\n\ndata: x\n\n", "<x>|", 0);
}

Test(sse, delivers_a_name_given_after_the_data)
{
	check_stream("data: x\nevent: late\n\n", "<x>late|", 0);
}

Test(sse, drops_an_event_the_stream_ends_inside)
{
	check_stream("data: a\n\nevent: b\ndata: {\"cut", "<a>|<{\"cut", 1);
	check_stream("data: a\n\n", "<a>|", 0);
}

Test(sse, cuts_long_event_names)
{
	char in[256], want[256];
	char name[TG_SSE_EVENT_MAX + 10];

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(in, sizeof in, "event: %s\ndata: d\n\n", name);
	snprintf(want, sizeof want, "<d>%.*s~|", TG_SSE_EVENT_MAX - 1, name);
	check_stream(in, want, 0);
}

/* sse.h - framer for text/event-stream bodies (WHATWG server-sent events).
 *
 * Owns: struct tg_sse, the line state of one event stream fed in arbitrary
 * slices, and the callbacks through which events come out.
 *
 * Event data is streamed, never collected: a multi-line data field reaches
 * the data callback as the bytes of each line with "\n" between lines, so
 * a consumer can scan a large JSON payload as it arrives.  Only the event
 * name is kept (bounded); since the spec lets "event:" come after the data
 * lines, it is delivered when the event ends.
 *
 * Handled: LF, CRLF and CR line ends (a CRLF split between two feeds
 * included), one optional space after the colon, a line without a colon
 * (field with an empty value), comment lines (": keep-alive"), a UTF-8
 * BOM at the start.  id and retry fields are ignored.  As in the spec, an
 * event is dispatched only if it had a data field, and an event not ended
 * by a blank line when the stream ends is not dispatched.
 */
#ifndef TG_SSE_H
#define TG_SSE_H

#include <stddef.h>

#define TG_SSE_EVENT_MAX 64   /* event name bytes kept, NUL included */

struct tg_sse_callbacks {
	/* first data line of an event */
	void (*begin)(void *ctx);
	/* some data bytes of the current event */
	void (*data)(void *ctx, const char *buf, size_t len);
	/* blank line after an event that had data; name is "" when the event
	 * had no event field ("message" in the spec); truncated is 1 when the
	 * name was longer than TG_SSE_EVENT_MAX - 1 bytes */
	void (*end)(void *ctx, const char *name, int truncated);
};

struct tg_sse {
	const struct tg_sse_callbacks *cb;
	void *ctx;
	int state;
	unsigned char bom_pos;        /* BOM bytes matched at the start */
	unsigned char after_cr;       /* last byte was CR: a LF right after it is not a new line */
	unsigned char field;          /* which field the current line sets */
	unsigned char field_len;
	char field_name[8];
	unsigned char in_event;       /* begin was called */
	unsigned char name_truncated;
	size_t name_len;
	char name[TG_SSE_EVENT_MAX];
};

void tg_sse_init(struct tg_sse *s, const struct tg_sse_callbacks *cb, void *ctx);

/* Frames len more bytes; always 0 (every byte sequence is a valid stream). */
int tg_sse_feed(struct tg_sse *s, const char *buf, size_t len);

/* End of the stream: 1 if an event had begun and was left unfinished
 * (it is dropped, end is not called), else 0. */
int tg_sse_finish(struct tg_sse *s);

#endif

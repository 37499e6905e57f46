/* eventstream.h - framer for AWS event streams
 * (application/vnd.amazon.eventstream, e.g. Bedrock ConverseStream).
 *
 * Owns: struct tg_eventstream, the state of one binary event stream fed in
 * arbitrary slices, and the callbacks through which messages come out.
 *
 * A message is: total length (u32 BE), headers length (u32 BE), CRC32 of
 * those 8 bytes, headers, payload, CRC32 of everything before it.  Headers
 * are small and kept whole (at most TG_EVENTSTREAM_HEADERS_MAX bytes);
 * the payload is streamed to the payload callback and never kept.  Both CRCs are
 * checked (zlib crc32): a bad prelude stops the stream before its length
 * is trusted, a bad message CRC is reported after the payload went out, so
 * a consumer must only act on a message once end() says it was intact.
 */
#ifndef TG_EVENTSTREAM_H
#define TG_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define TG_EVENTSTREAM_HEADERS_MAX  2048
#define TG_EVENTSTREAM_MESSAGE_MAX  (16u << 20)   /* the format's own limit, 16 MiB */
#define TG_EVENTSTREAM_TYPE_MAX     64

struct tg_eventstream_callbacks {
	/* Headers read.  type is :event-type for events, :exception-type
	 * for exceptions, :error-code for errors ("" if absent); kind is
	 * :message-type ("event", "exception", "error"; "" if absent). */
	void (*begin)(void *ctx, const char *type, const char *kind);
	void (*payload)(void *ctx, const char *buf, size_t len);
	/* message CRC checked and correct */
	void (*end)(void *ctx);
};

struct tg_eventstream {
	const struct tg_eventstream_callbacks *cb;
	void *ctx;
	int state;
	int error;
	uint32_t total;       /* length of the current message */
	uint32_t hlen;
	uint32_t got;         /* bytes of the current part collected */
	uint32_t left;        /* payload bytes still to come */
	uint32_t crc;         /* running CRC32 of the message */
	unsigned char prelude[12];
	unsigned char trailer[4];
	unsigned char headers[TG_EVENTSTREAM_HEADERS_MAX];
	char type[TG_EVENTSTREAM_TYPE_MAX];
	char kind[TG_EVENTSTREAM_TYPE_MAX];
};

void tg_eventstream_init(struct tg_eventstream *e, const struct tg_eventstream_callbacks *cb,
                         void *ctx);

/* 0 = ok so far; -1 = not a valid event stream (bad length, CRC or
 * header), and every later call returns -1. */
int tg_eventstream_feed(struct tg_eventstream *e, const char *buf, size_t len);

/* End of the stream: 1 if it ended inside a message, 0 if between
 * messages, -1 after an error. */
int tg_eventstream_finish(const struct tg_eventstream *e);

#endif

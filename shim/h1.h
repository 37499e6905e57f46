/* h1.h - one direction of an HTTP/1.1 connection, observed passively.
 *
 * Owns: struct tg_h1_parser, a streaming parser for either the requests
 * (client to server) or the responses (server to client) of one connection.
 * It reports start lines, header fields and de-chunked body bytes through
 * callbacks and never allocates: all state lives in the fixed-size struct
 * the caller provides.
 *
 * Being an observer, the parser does not repair or reject traffic for the
 * peers; it only stops.  Once the bytes are not HTTP/1.x (TLS inside a
 * CONNECT tunnel, WebSocket frames after a 101, binary garbage, an invalid
 * Content-Length, ...), tg_h1_feed() returns -1 and keeps returning it.
 *
 * Framing (RFC 9112 section 6):
 *  - requests: chunked when Transfer-Encoding ends in "chunked" (any other
 *    Transfer-Encoding is an error), else Content-Length, else no body;
 *  - responses: none for 1xx, 204, 304 and whenever on_headers_done()
 *    returns 1; else chunked when Transfer-Encoding ends in "chunked",
 *    read-until-close for any other Transfer-Encoding, else Content-Length,
 *    else read-until-close.
 *  - Transfer-Encoding overrides Content-Length; several Content-Length
 *    values must agree.
 *
 * Limits, chosen so that a passive observer keeps going where possible:
 *  - a start line or header line is kept in a buffer of TG_H1_LINE_MAX
 *    bytes.  Longer header lines are still delivered, with the value cut at
 *    the buffer's end (the name and the cut value together fill
 *    TG_H1_LINE_MAX bytes at most); a header whose name alone overflows the
 *    buffer is skipped.  A longer request line delivers its target cut the
 *    same way.  Content-Length or Transfer-Encoding values that overflow
 *    cannot be trusted and fail the parse.
 *  - chunk trailers are parsed and skipped, never delivered; obs-fold
 *    continuation lines are skipped too.
 *  - sizeof(struct tg_h1_parser) is TG_H1_LINE_MAX plus 80 bytes on LP64
 *    (8272 bytes), and never more than TG_H1_LINE_MAX + 128.
 *
 * cb, and any callback in it, may be NULL.  Callbacks must not call back
 * into the same parser.
 * The pointers they receive are valid only during the call.
 */
#ifndef TG_H1_H
#define TG_H1_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define TG_H1_LINE_MAX 8192

struct tg_h1_callbacks {
	void (*on_request)(void *ctx, const char *method, size_t mlen, const char *target, size_t tlen);
	void (*on_status)(void *ctx, int status);                    /* every response, 1xx included */
	void (*on_header)(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen);
	/* Called after the last header field of every message.  Return 1 if
	 * this message has no body although its headers do not say so (the
	 * response to HEAD, a 2xx response to CONNECT); the answer is ignored
	 * for 1xx, 204 and 304, which never have one. */
	int  (*on_headers_done)(void *ctx);
	void (*on_body)(void *ctx, const char *buf, size_t len);     /* body bytes after chunked decoding */
	void (*on_message_done)(void *ctx);                           /* also after a 1xx response's headers */
};

/* Opaque in spirit: the fields are public only so that the struct can be
 * embedded without allocation. */
struct tg_h1_parser {
	const struct tg_h1_callbacks *cb;
	void *ctx;
	uint64_t remaining;      /* bytes left in a Content-Length body or chunk */
	uint64_t content_length;
	size_t line_len;         /* bytes held in line[] */
	size_t line_seen;        /* bytes of the current line seen, held or not */
	int dir;                 /* enum tg_dir */
	int state;
	int status;              /* status code of the response being parsed */
	unsigned flags;
	char tail[12];           /* last bytes of a line that overflowed line[] */
	char line[TG_H1_LINE_MAX];
};

void tg_h1_init(struct tg_h1_parser *p, enum tg_dir dir, const struct tg_h1_callbacks *cb, void *ctx);

/* Parses the next len bytes of the stream; they may end anywhere.  Returns
 * 0, or -1 once the stream is not HTTP/1.x (sticky). */
int tg_h1_feed(struct tg_h1_parser *p, const char *buf, size_t len);

/* The peer closed the stream.  A read-until-close body ends here
 * (on_message_done is called) and 0 is returned; 0 also when the parser is
 * between messages, or after a 101 response switched protocols.  Returns 1
 * when a message was cut off midway, without on_message_done; a response
 * that got only a 1xx interim response so far counts as cut off.  Returns -1
 * if the parser had already failed.  Afterwards tg_h1_feed() returns -1
 * until tg_h1_init() is called again. */
int tg_h1_finish(struct tg_h1_parser *p);

/* 1 between messages (no byte of the next message seen yet, and no final
 * response pending after a 1xx), else 0. */
int tg_h1_idle(const struct tg_h1_parser *p);

#endif

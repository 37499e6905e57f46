/* refusal.h - the answer a program gets when a budget refuses its call.
 *
 * Owns: the bytes of a synthesized provider error, as that provider would
 * send it: status 429, `x-should-retry: false` (the official SDKs then raise
 * instead of retrying), `x-tokenguard-policy: NAME`, and a JSON body in the
 * provider's own error shape whose message names the policy, the spend and
 * the limit.  Two framings: an HTTP/1.1 response (Connection: close) and
 * HTTP/2 frames on the refused stream, whose HPACK block uses no
 * dynamic-table entry, so the client's decoder state stays what the server
 * left it.  Pure functions: the caller owns the buffers.
 */
#ifndef TG_REFUSAL_H
#define TG_REFUSAL_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define TG_REFUSAL_MAX 2048

/* The JSON body for `wire`.  Returns its length, or -1 if it does not fit. */
int tg_refusal_body(enum tg_wire wire, const char *message, char *buf, size_t n);

/* A complete HTTP/1.1 response.  Returns its length, or -1. */
int tg_refusal_h1(enum tg_wire wire, const char *policy, const char *message, char *buf, size_t n);

/* HEADERS + DATA(END_STREAM) frames for stream_id.  Returns the length,
 * or -1. */
int tg_refusal_h2(enum tg_wire wire, const char *policy, const char *message, uint32_t stream_id,
                  char *buf, size_t n);

/* A WINDOW_UPDATE of `credit` bytes for the program, on the connection
 * (stream_id 0) or a stream: DATA it sent on a refused stream never
 * reached the server, which will therefore never credit it back.  Writes
 * TG_REFUSAL_WINDOW_UPDATE_LEN bytes. */
#define TG_REFUSAL_WINDOW_UPDATE_LEN 13
void tg_refusal_h2_window_update(uint32_t stream_id, uint32_t credit, char *buf);

/* RST_STREAM(CANCEL) for stream_id followed by a PING, sent to the server
 * in place of the refused stream's remaining frames: the reset closes the
 * stream the server has seen open, and the PING's answer wakes a program
 * that waits for the socket to be readable before it reads.  Writes
 * TG_REFUSAL_H2_SERVER_LEN bytes. */
#define TG_REFUSAL_H2_SERVER_LEN (9 + 4 + 9 + 8)
void tg_refusal_h2_server(uint32_t stream_id, char *buf);

#endif

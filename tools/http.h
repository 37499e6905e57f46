/* http.h - one JSON POST over libcurl, for the commands that send to a
 * collector or a webhook (`export --otlp`, `alerts --webhook`): timeouts,
 * http and https only, the answer's body read and dropped.  The caller
 * runs curl_global_init() once before the first. */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <stddef.h>

#define TG_HTTP_ERROR_MAX 256   /* CURL_ERROR_SIZE */

struct tg_http_answer {
	long status;                     /* the HTTP status; 0 when none came */
	char error[TG_HTTP_ERROR_MAX];   /* why none came */
};

/* POSTs n bytes of body as application/json to url, giving up on the
 * connection after connect_s seconds and on the whole exchange after
 * total_s.  Returns 0 on a 2xx answer, 1 on another answer (ans->status),
 * -1 when none came (ans->error says why: refused, timed out, out of
 * memory). */
int tg_http_post_json(const char *url, const char *body, size_t n, long connect_s, long total_s,
                      struct tg_http_answer *ans);

#endif

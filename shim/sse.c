/* sse.c - framer for text/event-stream bodies.  See sse.h. */
#include "sse.h"

#include <string.h>

#include "byte_scan.h"

enum { L_START, L_FIELD, L_VALUE_START, L_VALUE, L_IGNORE };
enum { F_OTHER, F_DATA, F_EVENT };

void tg_sse_init(struct tg_sse *s, const struct tg_sse_callbacks *cb, void *ctx)
{
	memset(s, 0, sizeof *s);
	s->cb = cb;
	s->ctx = ctx;
	s->state = L_START;
}

static void resolve_field(struct tg_sse *s)
{
	if (s->field_len == 4 && memcmp(s->field_name, "data", 4) == 0)
		s->field = F_DATA;
	else if (s->field_len == 5 && memcmp(s->field_name, "event", 5) == 0)
		s->field = F_EVENT;
	else
		s->field = F_OTHER;

	if (s->field == F_DATA) {
		/* Lines of one data field are joined with LF, and the spec
		 * drops the final LF: send it before every line but the first. */
		if (!s->in_event) {
			s->in_event = 1;
			if (s->cb->begin)
				s->cb->begin(s->ctx);
		} else if (s->cb->data) {
			s->cb->data(s->ctx, "\n", 1);
		}
	} else if (s->field == F_EVENT) {
		s->name_len = 0;
		s->name_truncated = 0;
	}
}

static void dispatch(struct tg_sse *s)
{
	if (s->in_event) {
		s->name[s->name_len] = '\0';
		s->in_event = 0;
		if (s->cb->end)
			s->cb->end(s->ctx, s->name, s->name_truncated);
	}
	s->name_len = 0;
	s->name_truncated = 0;
}

static void end_of_line(struct tg_sse *s)
{
	if (s->state == L_START)
		dispatch(s);
	else if (s->state == L_FIELD)
		resolve_field(s);
	s->state = L_START;
}

static void name_append(struct tg_sse *s, const char *b, size_t n)
{
	if (s->name_len + n > TG_SSE_EVENT_MAX - 1) {
		n = TG_SSE_EVENT_MAX - 1 - s->name_len;
		s->name_truncated = 1;
	}
	memcpy(s->name + s->name_len, b, n);
	s->name_len += n;
}

int tg_sse_feed(struct tg_sse *s, const char *buf, size_t len)
{
	static const char bom[] = "\xEF\xBB\xBF";
	size_t i = 0;

	while (i < len) {
		char c = buf[i];

		if (s->after_cr) {
			s->after_cr = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (s->bom_pos < 3) {
			if (c == bom[s->bom_pos]) {
				s->bom_pos++;
				i++;
				continue;
			}
			/* A partial BOM cannot start a field we know. */
			if (s->bom_pos > 0)
				s->state = L_IGNORE;
			s->bom_pos = 3;
		}
		if (c == '\r' || c == '\n') {
			end_of_line(s);
			s->after_cr = c == '\r';
			i++;
			continue;
		}
		switch (s->state) {
		case L_START:
			if (c == ':') {
				s->state = L_IGNORE;
				break;
			}
			s->field_len = 0;
			s->state = L_FIELD;
			/* fall through */
		case L_FIELD:
			if (c == ':') {
				resolve_field(s);
				s->state = L_VALUE_START;
			} else if (s->field_len < sizeof s->field_name) {
				s->field_name[s->field_len++] = c;
			} else {
				s->state = L_IGNORE;
			}
			break;
		case L_VALUE_START:
			s->state = L_VALUE;
			if (c == ' ')
				break;
			/* fall through */
		case L_VALUE: {
			size_t j = tg_scan_line(buf, i, len);

			if (s->field == F_DATA && s->cb->data)
				s->cb->data(s->ctx, buf + i, j - i);
			else if (s->field == F_EVENT)
				name_append(s, buf + i, j - i);
			i = j;
			continue;
		}
		default: /* L_IGNORE */
			i = tg_scan_line(buf, i, len);
			continue;
		}
		i++;
	}
	return 0;
}

int tg_sse_finish(struct tg_sse *s)
{
	int unfinished = s->in_event;

	s->in_event = 0;
	return unfinished;
}

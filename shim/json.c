/* json.c - strict push scanner for one JSON document, fixed memory.
 * See json.h for what is reported and what is checked. */
#include "json.h"

#include <string.h>

#include "byte_scan.h"
#include "digits.h"

enum {
	ST_VALUE,         /* a value must follow */
	ST_VALUE_OR_END,  /* just after '[' */
	ST_KEY_OR_END,    /* just after '{' */
	ST_KEY,           /* after ',' inside an object */
	ST_COLON,
	ST_AFTER,         /* after a value inside a container */
	ST_STRING,
	ST_ESCAPE,
	ST_HEX,
	ST_LOW_BS,        /* high surrogate read: "\\" of the low one must follow */
	ST_LOW_U,
	ST_LITERAL,
	ST_NUM_MINUS,
	ST_NUM_ZERO,
	ST_NUM_INT,
	ST_NUM_DOT,
	ST_NUM_FRAC,
	ST_NUM_E,
	ST_NUM_ESIGN,
	ST_NUM_EXP,
	ST_DONE,
};

/* Field by field rather than memset: this runs once per SSE event, and the
 * key stack is only read below the current depth, so it need not be cleared. */
void tg_json_init(struct tg_json_scanner *s, tg_json_cb cb, void *ctx)
{
	tg_json_init_paths(s, NULL, cb, ctx);
}

void tg_json_init_paths(struct tg_json_scanner *s, const struct tg_json_paths *paths,
                        tg_json_cb cb, void *ctx)
{
	s->cb = cb;
	s->piece = NULL;
	s->ctx = ctx;
	s->paths = paths;
	s->node = 0;
	s->keep = 1;
	s->state = ST_VALUE;
	s->error = 0;
	s->depth = 0;
	s->pos = 0;
	s->tok_start = 0;
	s->lit = NULL;
	s->lit_pos = 0;
	s->in_key = 0;
	s->hex_left = 0;
	s->cp = 0;
	s->high = 0;
	s->text_len = 0;
	s->text_truncated = 0;
	s->text[0] = '\0';
}

void tg_json_on_pieces(struct tg_json_scanner *s, tg_json_piece_cb piece)
{
	s->piece = s->paths ? piece : NULL;
}

static int tracked(const struct tg_json_scanner *s)
{
	return s->depth <= TG_JSON_DEPTH;
}

static int top_is_array(const struct tg_json_scanner *s)
{
	unsigned d = s->depth - 1;

	return (s->kinds[d / 8] >> (d % 8)) & 1;
}

/* The trie node of a value starting now at the current depth. */
static short value_node(const struct tg_json_scanner *s)
{
	if (s->depth == 0)
		return 0;
	if (!tracked(s))
		return -1;
	return s->levels[s->depth - 1].node;
}

/* With compiled paths, the id of the pattern the current value matches. */
static int node_id(const struct tg_json_scanner *s)
{
	return s->node >= 0 ? s->paths->node[s->node].id : -1;
}

/* Decoded bytes of a string value: to the piece callback when the value
 * is matched (keep is only set then, with compiled paths). */
static inline void string_piece(struct tg_json_scanner *s, const char *b, size_t n)
{
	if (s->piece && s->keep && !s->in_key)
		s->piece(s->ctx, node_id(s), b, n);
}

/* Whether an event of this type is reported for the current value: with
 * compiled paths most are not, and this test is all they cost. */
static inline int reported(const struct tg_json_scanner *s, enum tg_json_type type)
{
	if (!s->cb || !tracked(s))
		return 0;
	if (!s->paths)
		return 1;
	return type != TG_JSON_OBJECT_END && type != TG_JSON_ARRAY_END && node_id(s) >= 0;
}

static void report(struct tg_json_scanner *s, enum tg_json_type type,
                   const char *text, size_t len, uint64_t span)
{
	struct tg_json_event ev;

	ev.type = type;
	ev.text = text;
	ev.len = len;
	ev.truncated = (type == TG_JSON_STRING || type == TG_JSON_NUMBER) && s->text_truncated;
	ev.offset = s->tok_start;
	ev.span = span;
	ev.match = s->paths ? node_id(s) : -1;
	s->cb(s->ctx, s, &ev);
}

static inline void emit(struct tg_json_scanner *s, enum tg_json_type type,
                        const char *text, size_t len, uint64_t span)
{
	if (reported(s, type))
		report(s, type, text, len, span);
}

static inline void emit_text(struct tg_json_scanner *s, enum tg_json_type type, uint64_t end)
{
	if (reported(s, type)) {
		s->text[s->text_len] = '\0';
		report(s, type, s->text, s->text_len, end - s->tok_start);
	}
}

static void value_done(struct tg_json_scanner *s)
{
	s->state = s->depth == 0 ? ST_DONE : ST_AFTER;
}

/* A scalar starts: its text is collected only when it can be reported. */
static void text_start(struct tg_json_scanner *s)
{
	s->tok_start = s->pos;
	s->text_len = 0;
	s->text_truncated = 0;
	s->keep = 1;
	if (s->paths) {
		s->node = value_node(s);
		s->keep = node_id(s) >= 0;
	}
}

/* Appends n bytes to a key, or marks it cut when they do not all fit. */
static inline void key_append(struct tg_json_level *l, const char *b, size_t n)
{
	if (l->key_truncated || l->key_len + n > TG_JSON_KEY_MAX - 1) {
		l->key_truncated = 1;
		return;
	}
	memcpy(l->key + l->key_len, b, n);
	l->key_len += (unsigned char)n;
}

/* Appends n bytes that belong together (one character) to the key or the
 * value text, or marks it cut when they do not all fit: a character is
 * never split. */
static void append(struct tg_json_scanner *s, const char *b, size_t n)
{
	if (!s->keep)
		return;
	if (s->in_key) {
		if (tracked(s))
			key_append(&s->levels[s->depth - 1], b, n);
		return;
	}
	if (s->text_truncated || s->text_len + n > TG_JSON_TEXT_MAX - 1) {
		s->text_truncated = 1;
		return;
	}
	memcpy(s->text + s->text_len, b, n);
	s->text_len += n;
}

static int utf8_continuation(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

/* Plain string bytes: a run cut by the bound ends before the UTF-8
 * character it would split, also when that character began in an earlier
 * read, so that the text does not depend on how the input was cut. */
static void append_run(struct tg_json_scanner *s, const char *b, size_t n)
{
	size_t room;

	if (!s->keep)
		return;
	if (s->in_key) {
		/* A key cut by the bound never matches: its bytes do not matter. */
		key_append(&s->levels[s->depth - 1], b, n);
		return;
	}
	if (s->text_truncated)
		return;
	room = TG_JSON_TEXT_MAX - 1 - s->text_len;
	if (n > room) {
		n = room;
		while (n > 0 && utf8_continuation(b[n]))
			n--;
		if (n == 0 && utf8_continuation(b[0])) {
			/* The cut falls in a character begun in an earlier run. */
			while (s->text_len > 0 && utf8_continuation(s->text[s->text_len - 1]))
				s->text_len--;
			if (s->text_len > 0)
				s->text_len--;
		}
		s->text_truncated = 1;
	}
	memcpy(s->text + s->text_len, b, n);
	s->text_len += n;
}

static void append_cp(struct tg_json_scanner *s, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	append(s, b, n);
	string_piece(s, b, n);
}

static int push(struct tg_json_scanner *s, int is_array)
{
	unsigned d = s->depth;

	if (d >= TG_JSON_NEST_MAX)
		return -1;
	if (s->paths)
		s->node = value_node(s);
	emit(s, is_array ? TG_JSON_ARRAY_BEGIN : TG_JSON_OBJECT_BEGIN, "", 0, 0);
	if (is_array)
		s->kinds[d / 8] |= (uint8_t)(1u << (d % 8));
	else
		s->kinds[d / 8] &= (uint8_t)~(1u << (d % 8));
	s->depth = d + 1;
	if (tracked(s)) {
		struct tg_json_level *l = &s->levels[d];

		l->index = 0;
		l->is_array = (unsigned char)is_array;
		l->key_len = 0;
		l->key_truncated = 0;
		l->parent = s->paths ? s->node : -1;
		l->node = -1;
		if (is_array && l->parent >= 0)
			l->node = s->paths->node[l->parent].array_child;
	}
	s->state = is_array ? ST_VALUE_OR_END : ST_KEY_OR_END;
	return 0;
}

static int pop(struct tg_json_scanner *s, int is_array)
{
	if (s->depth == 0 || top_is_array(s) != is_array)
		return -1;
	s->depth--;
	s->tok_start = s->pos;
	emit(s, is_array ? TG_JSON_ARRAY_END : TG_JSON_OBJECT_END, "", 0, 0);
	value_done(s);
	return 0;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int start_value(struct tg_json_scanner *s, char c)
{
	switch (c) {
	case '{':
		s->tok_start = s->pos;
		return push(s, 0);
	case '[':
		s->tok_start = s->pos;
		return push(s, 1);
	case '"':
		text_start(s);
		s->in_key = 0;
		s->state = ST_STRING;
		return 0;
	case 't':
		s->lit = "true";
		if (s->paths)
			s->node = value_node(s);
		break;
	case 'f':
		s->lit = "false";
		if (s->paths)
			s->node = value_node(s);
		break;
	case 'n':
		s->lit = "null";
		if (s->paths)
			s->node = value_node(s);
		break;
	case '-':
		text_start(s);
		append(s, &c, 1);
		s->state = ST_NUM_MINUS;
		return 0;
	default:
		if (c < '0' || c > '9')
			return -1;
		text_start(s);
		append(s, &c, 1);
		s->state = c == '0' ? ST_NUM_ZERO : ST_NUM_INT;
		return 0;
	}
	s->tok_start = s->pos;
	s->lit_pos = 1;
	s->state = ST_LITERAL;
	return 0;
}

static void literal_done(struct tg_json_scanner *s)
{
	enum tg_json_type t = s->lit[0] == 't' ? TG_JSON_TRUE :
	                      s->lit[0] == 'f' ? TG_JSON_FALSE : TG_JSON_NULL;

	s->text_truncated = 0;
	emit(s, t, s->lit, s->lit_pos, s->pos + 1 - s->tok_start);
	value_done(s);
}

/* The number ended just before the current byte, which is then scanned
 * again in the state that follows the value. */
static void number_done(struct tg_json_scanner *s)
{
	emit_text(s, TG_JSON_NUMBER, s->pos);
	value_done(s);
}

/* One step of the number grammar: 1 = byte taken, 0 = the number ended
 * before it, -1 = malformed. */
static int number_step(struct tg_json_scanner *s, char c)
{
	int digit = c >= '0' && c <= '9';
	int next;

	switch (s->state) {
	case ST_NUM_MINUS:
		if (!digit)
			return -1;
		next = c == '0' ? ST_NUM_ZERO : ST_NUM_INT;
		break;
	case ST_NUM_ZERO:
	case ST_NUM_INT:
		if (digit && s->state == ST_NUM_INT)
			next = ST_NUM_INT;
		else if (c == '.')
			next = ST_NUM_DOT;
		else if (c == 'e' || c == 'E')
			next = ST_NUM_E;
		else if (digit)
			return -1;  /* leading zero */
		else
			return 0;
		break;
	case ST_NUM_DOT:
		if (!digit)
			return -1;
		next = ST_NUM_FRAC;
		break;
	case ST_NUM_FRAC:
		if (digit)
			next = ST_NUM_FRAC;
		else if (c == 'e' || c == 'E')
			next = ST_NUM_E;
		else
			return 0;
		break;
	case ST_NUM_E:
		if (c == '+' || c == '-')
			next = ST_NUM_ESIGN;
		else if (digit)
			next = ST_NUM_EXP;
		else
			return -1;
		break;
	case ST_NUM_ESIGN:
		if (!digit)
			return -1;
		next = ST_NUM_EXP;
		break;
	default: /* ST_NUM_EXP */
		if (!digit)
			return 0;
		next = ST_NUM_EXP;
		break;
	}
	append(s, &c, 1);
	s->state = next;
	return 1;
}

static int escape_step(struct tg_json_scanner *s, char c)
{
	char d;

	switch (c) {
	case '"':  d = '"';  break;
	case '\\': d = '\\'; break;
	case '/':  d = '/';  break;
	case 'b':  d = '\b'; break;
	case 'f':  d = '\f'; break;
	case 'n':  d = '\n'; break;
	case 'r':  d = '\r'; break;
	case 't':  d = '\t'; break;
	case 'u':
		s->cp = 0;
		s->hex_left = 4;
		s->state = ST_HEX;
		return 0;
	default:
		return -1;
	}
	append(s, &d, 1);
	string_piece(s, &d, 1);
	s->state = ST_STRING;
	return 0;
}

static int hex_step(struct tg_json_scanner *s, char c)
{
	int v = tg_hex_digit(c);
	uint32_t cp;

	if (v < 0)
		return -1;
	s->cp = s->cp << 4 | (uint32_t)v;
	if (--s->hex_left > 0)
		return 0;
	cp = s->cp;
	if (s->high) {
		if (cp < 0xDC00 || cp > 0xDFFF)
			return -1;
		cp = 0x10000 + ((s->high - 0xD800) << 10) + (cp - 0xDC00);
		s->high = 0;
	} else if (cp >= 0xD800 && cp <= 0xDBFF) {
		s->high = cp;
		s->state = ST_LOW_BS;
		return 0;
	} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
		return -1;
	}
	append_cp(s, cp);
	s->state = ST_STRING;
	return 0;
}

/* With compiled paths, the trie node the key just read leads to. */
static void key_resolve(struct tg_json_scanner *s)
{
	struct tg_json_level *l;
	short c;

	if (!tracked(s))
		return;
	l = &s->levels[s->depth - 1];
	l->node = -1;
	if (!s->keep || l->key_truncated)
		return;
	if (s->paths->node[l->parent].key_lens >> l->key_len & 1) {
		for (c = s->paths->node[l->parent].first_child; c >= 0; c = s->paths->node[c].next_sibling) {
			const struct tg_json_path_node *n = &s->paths->node[c];

			if (n->key_len == l->key_len && n->key[0] == l->key[0] &&
			    memcmp(n->key, l->key, l->key_len) == 0) {
				l->node = c;
				return;
			}
		}
	}
	l->node = s->paths->node[l->parent].any_child;
}

static void string_done(struct tg_json_scanner *s)
{
	if (s->in_key) {
		if (s->paths)
			key_resolve(s);
		s->in_key = 0;
		s->state = ST_COLON;
		return;
	}
	emit_text(s, TG_JSON_STRING, s->pos + 1);
	value_done(s);
}

static int key_start(struct tg_json_scanner *s)
{
	s->keep = tracked(s);
	if (s->keep) {
		struct tg_json_level *l = &s->levels[s->depth - 1];

		l->key_len = 0;
		l->key_truncated = 0;
		/* Under a container no pattern reaches, keys are not collected. */
		if (s->paths && (l->parent < 0 || (s->paths->node[l->parent].first_child < 0 &&
		                                    s->paths->node[l->parent].any_child < 0)))
			s->keep = 0;
	}
	s->in_key = 1;
	s->state = ST_STRING;
	return 0;
}

/* Scans one byte; 1 = consumed, 0 = scan it again (a number ended). */
static int step(struct tg_json_scanner *s, char c)
{
	switch (s->state) {
	case ST_VALUE_OR_END:
		if (c == ']')
			return pop(s, 1) < 0 ? -1 : 1;
		/* fall through */
	case ST_VALUE:
		if (is_ws(c))
			return 1;
		return start_value(s, c) < 0 ? -1 : 1;
	case ST_KEY_OR_END:
		if (c == '}')
			return pop(s, 0) < 0 ? -1 : 1;
		/* fall through */
	case ST_KEY:
		if (is_ws(c))
			return 1;
		if (c != '"')
			return -1;
		return key_start(s) < 0 ? -1 : 1;
	case ST_COLON:
		if (is_ws(c))
			return 1;
		if (c != ':')
			return -1;
		s->state = ST_VALUE;
		return 1;
	case ST_AFTER:
		if (is_ws(c))
			return 1;
		if (c == ',') {
			if (top_is_array(s)) {
				if (tracked(s))
					s->levels[s->depth - 1].index++;
				s->state = ST_VALUE;
			} else {
				s->state = ST_KEY;
			}
			return 1;
		}
		if (c == ']' || c == '}')
			return pop(s, c == ']') < 0 ? -1 : 1;
		return -1;
	case ST_STRING:
		if (c == '"') {
			string_done(s);
			return 1;
		}
		if (c == '\\') {
			s->state = ST_ESCAPE;
			return 1;
		}
		if ((unsigned char)c < 0x20)
			return -1;
		append(s, &c, 1);
		string_piece(s, &c, 1);
		return 1;
	case ST_ESCAPE:
		return escape_step(s, c) < 0 ? -1 : 1;
	case ST_HEX:
		return hex_step(s, c) < 0 ? -1 : 1;
	case ST_LOW_BS:
		if (c != '\\')
			return -1;
		s->state = ST_LOW_U;
		return 1;
	case ST_LOW_U:
		if (c != 'u')
			return -1;
		s->cp = 0;
		s->hex_left = 4;
		s->state = ST_HEX;
		return 1;
	case ST_LITERAL:
		if (c != s->lit[s->lit_pos])
			return -1;
		s->lit_pos++;
		if (s->lit[s->lit_pos] == '\0')
			literal_done(s);
		return 1;
	case ST_DONE:
		return is_ws(c) ? 1 : -1;
	default: {
		int r = number_step(s, c);

		if (r == 0)
			number_done(s);
		return r;
	}
	}
}

int tg_json_feed(struct tg_json_scanner *s, const char *buf, size_t len)
{
	size_t i = 0;

	if (s->error)
		return -1;
	while (i < len) {
		int r;

		/* Long string bodies are the bulk of most documents: copy or
		 * skip the plain run in one go instead of byte by byte. */
		if (s->state == ST_STRING) {
			size_t j = tg_scan_json_string(buf, i, len);

			if (j > i) {
				append_run(s, buf + i, j - i);
				string_piece(s, buf + i, j - i);
				s->pos += j - i;
				i = j;
			}
			/* The closing quote, and a key's colon, without going
			 * round the loop for each. */
			if (i < len && buf[i] == '"') {
				string_done(s);
				s->pos++;
				i++;
				if (s->state == ST_COLON && i < len && buf[i] == ':') {
					s->state = ST_VALUE;
					s->pos++;
					i++;
				}
				continue;
			}
			if (i == len)
				break;
		} else if (s->state == ST_LITERAL) {
			/* The rest of a literal in one compare when it is all here. */
			size_t want = (s->lit[0] == 'f' ? 5 : 4) - s->lit_pos;

			if (len - i >= want && memcmp(buf + i, s->lit + s->lit_pos, want) == 0) {
				s->lit_pos = (unsigned char)(s->lit_pos + want);
				s->pos += want - 1;   /* at the literal's last byte */
				literal_done(s);
				s->pos++;
				i += want;
				continue;
			}
		} else if (s->state == ST_NUM_INT || s->state == ST_NUM_FRAC || s->state == ST_NUM_EXP) {
			/* Likewise the digits of a number. */
			size_t j = i;

			while (j < len && (unsigned char)(buf[j] - '0') < 10)
				j++;
			if (j > i) {
				append_run(s, buf + i, j - i);
				s->pos += j - i;
				i = j;
				continue;
			}
		}
		r = step(s, buf[i]);
		if (r < 0) {
			s->error = 1;
			return -1;
		}
		if (r > 0) {
			s->pos++;
			i++;
		}
	}
	return 0;
}

int tg_json_finish(struct tg_json_scanner *s)
{
	if (s->error)
		return -1;
	switch (s->state) {
	case ST_NUM_ZERO:
	case ST_NUM_INT:
	case ST_NUM_FRAC:
	case ST_NUM_EXP:
		if (s->depth == 0)
			number_done(s);
		break;
	default:
		break;
	}
	return s->state == ST_DONE ? 0 : 1;
}

int tg_json_done(const struct tg_json_scanner *s)
{
	return !s->error && s->state == ST_DONE;
}

unsigned tg_json_depth(const struct tg_json_scanner *s)
{
	return s->depth;
}

int tg_json_path_is(const struct tg_json_scanner *s, const char *p)
{
	unsigned d;

	if (!tracked(s))
		return 0;
	for (d = 0; d < s->depth; d++) {
		const struct tg_json_level *l = &s->levels[d];

		if (l->is_array) {
			if (p[0] != '[' || p[1] != ']')
				return 0;
			p += 2;
		} else {
			size_t n = strcspn(p, ".[");

			if (l->key_truncated || n != l->key_len || memcmp(p, l->key, n) != 0)
				return 0;
			p += n;
		}
		if (d + 1 < s->depth && !s->levels[d + 1].is_array) {
			if (*p != '.')
				return 0;
			p++;
		}
	}
	return *p == '\0';
}

const char *tg_json_key(const struct tg_json_scanner *s, unsigned level, size_t *len)
{
	const struct tg_json_level *l;

	if (level >= s->depth || level >= TG_JSON_DEPTH)
		return NULL;
	l = &s->levels[level];
	if (l->is_array || l->key_truncated)
		return NULL;
	*len = l->key_len;
	return l->key;
}

long tg_json_index(const struct tg_json_scanner *s, unsigned level)
{
	if (level >= s->depth || level >= TG_JSON_DEPTH || !s->levels[level].is_array)
		return -1;
	return (long)s->levels[level].index;
}

/* Compiled paths. */

static short path_child(struct tg_json_paths *t, short parent, const char *key, size_t key_len)
{
	struct tg_json_path_node *p = &t->node[parent], *n;
	int any = key && key_len == 1 && key[0] == '*';
	short c;

	if (!key) {
		if (p->array_child >= 0)
			return p->array_child;
	} else if (any) {
		if (p->any_child >= 0)
			return p->any_child;
	} else {
		for (c = p->first_child; c >= 0; c = t->node[c].next_sibling)
			if (t->node[c].key_len == key_len && memcmp(t->node[c].key, key, key_len) == 0)
				return c;
	}
	if (t->count == TG_JSON_PATH_NODES)
		return -1;
	c = (short)t->count++;
	n = &t->node[c];
	n->key = key;
	n->key_len = (unsigned char)key_len;
	n->first_child = n->next_sibling = n->array_child = n->any_child = -1;
	n->key_lens = 0;
	n->id = -1;
	if (!key) {
		p->array_child = c;
	} else if (any) {
		p->any_child = c;
	} else {
		n->next_sibling = p->first_child;
		p->first_child = c;
		p->key_lens |= UINT64_C(1) << key_len;
	}
	return c;
}

int tg_json_paths_compile(struct tg_json_paths *t, const char *const *patterns,
                          const int *ids, size_t n)
{
	t->count = 1;
	t->node[0].key = NULL;
	t->node[0].key_len = 0;
	t->node[0].first_child = t->node[0].next_sibling = t->node[0].array_child = -1;
	t->node[0].any_child = -1;
	t->node[0].key_lens = 0;
	t->node[0].id = -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = patterns[i];
		short node = 0;
		unsigned depth = 0;

		if (ids[i] < 0 || *p == '\0')
			return -1;
		while (*p) {
			const char *key = NULL;
			size_t len = 0;

			if (p[0] == '[') {
				if (p[1] != ']')
					return -1;
				p += 2;
			} else {
				key = p;
				len = strcspn(p, ".[");
				if (len == 0 || len > TG_JSON_KEY_MAX - 1 ||
				    (memchr(key, '*', len) && len != 1))
					return -1;
				p += len;
			}
			if (*p == '.') {
				if (*++p == '\0' || *p == '[')
					return -1;
			} else if (*p != '\0' && *p != '[') {
				return -1;
			}
			if (++depth > TG_JSON_DEPTH || (node = path_child(t, node, key, len)) < 0)
				return -1;
		}
		if (t->node[node].id >= 0)
			return -1;
		t->node[node].id = ids[i];
	}
	return 0;
}

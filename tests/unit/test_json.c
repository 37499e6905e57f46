/* test_json.c - the streaming JSON scanner: reported values, paths,
 * bounds and strictness, for documents fed whole, split in two at every
 * position and byte by byte. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

struct log {
	char buf[16384];
	size_t len;
};

static void logf_(struct log *l, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, a, b);

	cr_assert(n >= 0 && (size_t)n < sizeof l->buf - l->len, "log overflow");
	l->len += (size_t)n;
}

static const char *type_name(enum tg_json_type t)
{
	static const char *const names[] = { "str", "num", "true", "false", "null",
	                                     "{", "}", "[", "]" };
	return names[t];
}

/* Logs "type path=text" per event; the path is rebuilt from the scanner's
 * levels so the test checks the levels, not just tg_json_path_is. */
static void record(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct log *l = ctx;
	char path[512] = "";
	size_t pl = 0;
	unsigned d;

	for (d = 0; d < tg_json_depth(s); d++) {
		const struct tg_json_level *lv = &s->levels[d];

		if (lv->is_array)
			pl += (size_t)snprintf(path + pl, sizeof path - pl, "[%u]", lv->index);
		else
			pl += (size_t)snprintf(path + pl, sizeof path - pl, "%s%.*s%s",
			                       d ? "." : "", (int)lv->key_len, lv->key,
			                       lv->key_truncated ? "~" : "");
	}
	logf_(l, "%s %s", type_name(ev->type), path);
	if (ev->type <= TG_JSON_NULL)
		logf_(l, "=%s%s", ev->text, ev->truncated ? "~" : "");
	logf_(l, "%s%s", "\n", "");
}

/* Scans doc in the given pieces; returns the finish result, or -1. */
static int scan_pieces(const char *doc, size_t len, const size_t *cuts, size_t ncuts,
                       struct log *l)
{
	struct tg_json_scanner s;
	size_t at = 0, i;

	memset(l, 0, sizeof *l);
	tg_json_init(&s, record, l);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (tg_json_feed(&s, doc + at, end - at) < 0)
			return -1;
		at = end;
	}
	return tg_json_finish(&s);
}

/* Whole, every two-piece split and byte by byte must all give want. */
static void check_doc(const char *doc, int want_finish, const char *want_log)
{
	size_t len = strlen(doc), cut, i;
	static struct log l;
	static size_t cuts[8192];
	int r;

	r = scan_pieces(doc, len, NULL, 0, &l);
	cr_assert_eq(r, want_finish, "whole: finish %d, want %d", r, want_finish);
	if (want_log)
		cr_assert_str_eq(l.buf, want_log);
	for (cut = 0; cut <= len; cut++) {
		r = scan_pieces(doc, len, &cut, 1, &l);
		cr_assert_eq(r, want_finish, "split at %zu: finish %d", cut, r);
		if (want_log)
			cr_assert_str_eq(l.buf, want_log, "split at %zu", cut);
	}
	cr_assert(len < sizeof cuts / sizeof cuts[0]);
	for (i = 0; i < len; i++)
		cuts[i] = i;
	r = scan_pieces(doc, len, cuts, len, &l);
	cr_assert_eq(r, want_finish, "byte by byte: finish %d", r);
	if (want_log)
		cr_assert_str_eq(l.buf, want_log, "byte by byte");
}

Test(json, reports_every_scalar_with_its_path_and_container_bounds)
{
	check_doc("{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{}}],"
	          "\"usage\":{\"prompt_tokens\":17,\"ok\":true,\"no\":false,\"x\":null,"
	          "\"f\":-1.5e+3}}\n",
	          0,
	          "{ \n"
	          "str id=chatcmpl-1\n"
	          "[ choices\n"
	          "{ choices[0]\n"
	          "num choices[0].index=0\n"
	          "{ choices[0].delta\n"
	          "} choices[0].delta\n"
	          "} choices[0]\n"
	          "] choices\n"
	          "{ usage\n"
	          "num usage.prompt_tokens=17\n"
	          "true usage.ok=true\n"
	          "false usage.no=false\n"
	          "null usage.x=null\n"
	          "num usage.f=-1.5e+3\n"
	          "} usage\n"
	          "} \n");
}

Test(json, counts_array_elements_and_accepts_whitespace_everywhere)
{
	check_doc(" [ 1 , [ ] , { } , \"a\" ,\r\n\t0.25 ] \r\n", 0,
	          "[ \n"
	          "num [0]=1\n"
	          "[ [1]\n"
	          "] [1]\n"
	          "{ [2]\n"
	          "} [2]\n"
	          "str [3]=a\n"
	          "num [4]=0.25\n"
	          "] \n");
}

Test(json, decodes_escapes_including_surrogate_pairs)
{
	check_doc("{\"k\\u0041\\n\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\\u00e9\\u20ac\\ud83d\\ude00\"}", 0,
	          "{ \n"
	          "str kA\n=a\"b\\c/d\b\f\n\r\te\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n"
	          "} \n");
}

Test(json, cuts_long_strings_at_the_bound_and_flags_them)
{
	static char doc[4096];
	static char want[1024];
	char val[TG_JSON_TEXT_MAX];

	memset(val, 'x', sizeof val - 1);
	val[sizeof val - 1] = '\0';
	snprintf(doc, sizeof doc, "{\"big\":\"%s%s\",\"n\":1}", val, "yyyyyyyyyyyyyyyyyyyyyyyyyyyy\\u00e9zz");
	snprintf(want, sizeof want, "{ \nstr big=%s~\nnum n=1\n} \n", val);
	check_doc(doc, 0, want);
}

Test(json, never_splits_a_utf8_character_when_cutting)
{
	static char doc[1024];
	struct log l;
	char *p;
	size_t i;

	p = doc + sprintf(doc, "\"");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\"");
	cr_assert_eq(scan_pieces(doc, strlen(doc), NULL, 0, &l), 0);
	/* 127 two-byte characters fit in 255 bytes; the 128th would not. */
	cr_assert_eq(strlen(l.buf), strlen("str =~\n") + 254);
}

/* A character that begins in one read and would end past the bound is
 * dropped whole, as when it arrives in one read. */
Test(json, never_splits_a_utf8_character_cut_across_reads_at_the_bound)
{
	static char doc[512], want[512];
	char val[TG_JSON_TEXT_MAX - 1];

	memset(val, 'a', sizeof val - 1);
	val[sizeof val - 1] = '\0';
	snprintf(doc, sizeof doc, "\"%s\xc3\xa9\"", val);
	snprintf(want, sizeof want, "str =%s~\n", val);
	check_doc(doc, 0, want);
}

Test(json, never_matches_a_key_that_was_cut)
{
	struct tg_json_scanner s;
	static char doc[512];
	char key[TG_JSON_KEY_MAX + 8];
	struct log l;

	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	snprintf(doc, sizeof doc, "{\"%s\":1}", key);
	memset(&l, 0, sizeof l);
	tg_json_init(&s, record, &l);
	cr_assert_eq(tg_json_feed(&s, doc, strlen(doc)), 0);
	cr_assert_eq(tg_json_finish(&s), 0);
	cr_assert(strstr(l.buf, "~=1") != NULL, "%s", l.buf);
}

static int matched;

static void match_usage(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	const char *pattern = ctx;

	if (ev->type == TG_JSON_NUMBER && tg_json_path_is(s, pattern))
		matched++;
}

static int count_matches(const char *doc, const char *pattern)
{
	struct tg_json_scanner s;

	matched = 0;
	tg_json_init(&s, match_usage, (void *)pattern);
	cr_assert_eq(tg_json_feed(&s, doc, strlen(doc)), 0);
	cr_assert_eq(tg_json_finish(&s), 0);
	return matched;
}

Test(json, matches_paths_with_any_array_element)
{
	const char *doc = "[{\"usageMetadata\":{\"promptTokenCount\":3,"
	                  "\"promptTokensDetails\":[{\"tokenCount\":3}]}},"
	                  "{\"usageMetadata\":{\"promptTokenCount\":4}}]";

	cr_assert_eq(count_matches(doc, "[].usageMetadata.promptTokenCount"), 2);
	cr_assert_eq(count_matches(doc, "[].usageMetadata.promptTokensDetails[].tokenCount"), 1);
	cr_assert_eq(count_matches(doc, "usageMetadata.promptTokenCount"), 0);
	cr_assert_eq(count_matches(doc, "[].usageMetadata"), 0);
	cr_assert_eq(count_matches(doc, "[].usageMetadata.promptTokenCountX"), 0);
	cr_assert_eq(count_matches(doc, "[].usageMetadata.promptToken"), 0);
	cr_assert_eq(count_matches("{\"a\":{\"b\":[[1,2]]}}", "a.b[][]"), 2);
	cr_assert_eq(count_matches("7", ""), 1);
}

struct offsets {
	uint64_t off[8], span[8];
	int n;
};

static void record_offsets(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct offsets *o = ctx;

	if (ev->type > TG_JSON_NULL)
		return;
	o->off[o->n] = ev->offset;
	o->span[o->n] = ev->span;
	o->n++;
}

Test(json, gives_the_offset_and_span_of_scalar_tokens)
{
	const char *doc = "{\"model\": \"gpt-4o\", \"max_tokens\" :  512 , \"t\":true}";
	struct tg_json_scanner s;
	struct offsets o;
	size_t i;

	for (i = 0; i <= strlen(doc); i++) {
		memset(&o, 0, sizeof o);
		tg_json_init(&s, record_offsets, &o);
		cr_assert_eq(tg_json_feed(&s, doc, i), 0);
		cr_assert_eq(tg_json_feed(&s, doc + i, strlen(doc) - i), 0);
		cr_assert_eq(tg_json_finish(&s), 0);
		cr_assert_eq(o.n, 3);
		cr_assert_eq(o.off[0], 10);
		cr_assert_eq(o.span[0], 8);
		cr_assert_eq(o.off[1], 36);
		cr_assert_eq(o.span[1], 3);
		cr_assert_eq(o.off[2], 46);
		cr_assert_eq(o.span[2], 4);
	}
}

Test(json, scans_nesting_deeper_than_its_stack_without_reporting_it)
{
	static char doc[256];
	struct log l;
	char *p = doc;
	int i;

	p += sprintf(p, "{\"a\":");
	for (i = 0; i < 20; i++)
		p += sprintf(p, "[");
	p += sprintf(p, "1");
	for (i = 0; i < 20; i++)
		p += sprintf(p, "]");
	sprintf(p, ",\"b\":2}");
	cr_assert_eq(scan_pieces(doc, strlen(doc), NULL, 0, &l), 0);
	cr_assert(strstr(l.buf, "num b=2\n") != NULL, "%s", l.buf);
	cr_assert(strstr(l.buf, "num a") == NULL, "%s", l.buf);
}

Test(json, rejects_nesting_beyond_the_hard_limit)
{
	static char doc[TG_JSON_NEST_MAX + 2];
	struct tg_json_scanner s;

	memset(doc, '[', sizeof doc - 1);
	tg_json_init(&s, NULL, NULL);
	cr_assert_eq(tg_json_feed(&s, doc, TG_JSON_NEST_MAX), 0);
	cr_assert_eq(tg_json_feed(&s, "[", 1), -1);
}

Test(json, reports_a_top_level_number_at_finish)
{
	check_doc("42", 0, "num =42\n");
	check_doc("-0.5E-2 ", 0, "num =-0.5E-2\n");
	check_doc("\"s\"", 0, "str =s\n");
	check_doc("null", 0, "null =null\n");
}

Test(json, says_when_input_ends_inside_the_document)
{
	check_doc("{\"a\":[1,2", 1, NULL);
	check_doc("{\"a\":\"unterminated", 1, NULL);
	check_doc("", 1, NULL);
	check_doc("-", 1, NULL);
	check_doc("1.", 1, NULL);
	check_doc("[1e", 1, NULL);
	check_doc("nul", 1, NULL);
}

Test(json, rejects_malformed_documents_and_stays_in_error)
{
	static const char *const bad[] = {
		"{\"a\":1,}", "[1,]", "[,1]", "{a:1}", "{\"a\" 1}", "01", "1.x", "1ex", "-x",
		".5", "+1", "tru ", "nul]", "[1 2]", "{\"a\":1]", "[1}", "]", "\"a\x01\"",
		"\"\\x\"", "\"\\ud800\"", "\"\\ude00\"", "\"\\ud800\\u0041\"", "\"\\u12G4\"",
		"{} {}", "1 2", "'a'", "[1]x", "{\"a\"::1}", "{,}", "NaN", "[-]",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tg_json_scanner s;
		size_t len = strlen(bad[i]), k;
		int r = 0;

		tg_json_init(&s, NULL, NULL);
		for (k = 0; k < len && r == 0; k++)
			r = tg_json_feed(&s, bad[i] + k, 1);
		if (r == 0)
			r = tg_json_finish(&s) < 0 ? -1 : 0;
		cr_assert_eq(r, -1, "accepted %s", bad[i]);
		cr_assert_eq(tg_json_feed(&s, "", 0), -1);
		cr_assert_eq(tg_json_finish(&s), -1);
	}
}

Test(json, starts_afresh_after_reset)
{
	struct tg_json_scanner s;

	tg_json_init(&s, NULL, NULL);
	cr_assert_eq(tg_json_feed(&s, "[}", 2), -1);
	tg_json_init(&s, NULL, NULL);
	cr_assert_eq(tg_json_feed(&s, "[]", 2), 0);
	cr_assert(tg_json_done(&s));
}

/* Compiled paths: the events reported are exactly those whose path one of
 * the patterns matches in the scanner without them, with the same text,
 * offsets and flags, however the document is cut. */

struct matched {
	char buf[16384];
	size_t len;
	const char *const *patterns;
	size_t n;
};

static void log_match(struct matched *m, int id, const struct tg_json_event *ev)
{
	int k = snprintf(m->buf + m->len, sizeof m->buf - m->len, "%d %s %s%s @%llu+%llu\n", id,
	                 type_name(ev->type), ev->text, ev->truncated ? "~" : "",
	                 (unsigned long long)ev->offset, (unsigned long long)ev->span);

	cr_assert(k >= 0 && (size_t)k < sizeof m->buf - m->len, "log overflow");
	m->len += (size_t)k;
}

static void by_path_is(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct matched *m = ctx;

	if (ev->type == TG_JSON_OBJECT_END || ev->type == TG_JSON_ARRAY_END)
		return;
	cr_assert_eq(ev->match, -1);
	for (size_t i = 0; i < m->n; i++)
		if (tg_json_path_is(s, m->patterns[i]))
			log_match(m, (int)i, ev);
}

static void by_trie(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct matched *m = ctx;

	cr_assert(tg_json_path_is(s, m->patterns[ev->match]), "trie said %s", m->patterns[ev->match]);
	log_match(m, ev->match, ev);
}

static int scan_matched(const struct tg_json_paths *t, const char *doc, size_t len, size_t step,
                        struct matched *m)
{
	static struct tg_json_scanner s;

	m->len = 0;
	m->buf[0] = '\0';
	if (t)
		tg_json_init_paths(&s, t, by_trie, m);
	else
		tg_json_init(&s, by_path_is, m);
	for (size_t at = 0; at < len; at += step)
		if (tg_json_feed(&s, doc + at, len - at < step ? len - at : step) < 0)
			return -1;
	return tg_json_finish(&s);
}

static void check_trie(const char *doc, const char *const *patterns, size_t n)
{
	static struct tg_json_paths t;
	static struct matched want, got;
	int ids[32];
	size_t len = strlen(doc);

	cr_assert(n <= 32);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int)i;
	cr_assert_eq(tg_json_paths_compile(&t, patterns, ids, n), 0);
	want.patterns = got.patterns = patterns;
	want.n = got.n = n;
	int rw = scan_matched(NULL, doc, len, len ? len : 1, &want);
	for (size_t step = 1; step <= len; step = step < 16 ? step + 1 : step * 2) {
		int rg = scan_matched(&t, doc, len, step, &got);

		cr_assert_eq(rg, rw, "step %zu: finish %d, want %d", step, rg, rw);
		cr_assert_str_eq(got.buf, want.buf, "step %zu", step);
	}
}

Test(json, compiled_paths_report_what_path_is_matches)
{
	static const char *const usage[] = {
		"usage.prompt_tokens", "usage.prompt_tokens_details.cached_tokens", "model", "id",
		"error", "choices[].delta", "[].usageMetadata", "[].usageMetadata.promptTokenCount",
		"a.b[][]", "k\\u0041",
	};
	static const char *const docs[] = {
		"{\"id\":\"x\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"hi \\\"there\\\"\"}},"
		"{\"delta\":{}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
		"\"prompt_tokens_details\":{\"cached_tokens\":0}},\"model\":\"again\"}",
		"[{\"usageMetadata\":{\"promptTokenCount\":3,\"promptTokensDetails\":[{\"tokenCount\":3}]}},"
		"{\"usageMetadata\":{\"promptTokenCount\":4}}]",
		"{\"a\":{\"b\":[[1,2],[true,null,\"s\"]]},\"error\":{\"message\":\"no\"},\"kA\":1}",
		"{\"usage\":{\"prompt_tokens\":1.5e3,\"prompt_tokens\":-0,\"x\":[1,[2,{\"prompt_tokens\":9}]]}}",
		"{\"model\":\"" "0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123\"}",
		"{\"usage\":{\"prompt_tokens\":1},\"usage\":[1]} x",
		"{\"mod\\u0065l\":\"escaped key\",\"id\":\"\\ud83d\\ude00\"}",
	};

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		check_trie(docs[i], usage, sizeof usage / sizeof usage[0]);
}

Test(json, compiled_paths_match_keys_past_the_tracked_depth_never)
{
	static const char *const deep[] = { "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a" };
	static const char *const deeper[] = { "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a" };
	static struct tg_json_paths t;
	int id = 0;

	check_trie("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	           "{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}", deep, 1);
	cr_assert_eq(tg_json_paths_compile(&t, deeper, &id, 1), -1);
}

Test(json, compiling_paths_refuses_what_cannot_match)
{
	static struct tg_json_paths t;
	static const char *const bad[] = {
		"", "a..b", "a.", ".a", "a.[]", "[", "[x", "[]x", "a*", "usage.a*", "*x",
		"k0123456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const twice[] = { "a.b", "c", "a.b" };
	static const char *many[TG_JSON_PATH_NODES];
	static char names[TG_JSON_PATH_NODES][8];
	int ids[TG_JSON_PATH_NODES] = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(tg_json_paths_compile(&t, &bad[i], ids, 1), -1, "%s", bad[i]);
	cr_assert_eq(tg_json_paths_compile(&t, twice, ids, 3), -1);
	ids[0] = -1;
	cr_assert_eq(tg_json_paths_compile(&t, twice, ids, 1), -1);
	ids[0] = 0;
	for (int i = 0; i < TG_JSON_PATH_NODES; i++) {
		snprintf(names[i], sizeof names[i], "k%d", i);
		many[i] = names[i];
		ids[i] = i;
	}
	cr_assert_eq(tg_json_paths_compile(&t, many, ids, TG_JSON_PATH_NODES - 1), 0);
	cr_assert_eq(tg_json_paths_compile(&t, many, ids, TG_JSON_PATH_NODES), -1);
}

struct keyed {
	char seen[512];
};

static void take_keyed(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct keyed *k = ctx;
	size_t klen = 0, used = strlen(k->seen);
	const char *key = tg_json_key(s, tg_json_depth(s) - 1, &klen);

	cr_assert(key != NULL);
	snprintf(k->seen + used, sizeof k->seen - used, "%d:%.*s=%s;", ev->match, (int)klen, key,
	         ev->text);
}

/* "*" takes every key of its object that no other pattern names there,
 * and the callback can tell which; a key cut by the bound is none. */
Test(json, compiled_paths_take_any_key_of_a_map)
{
	static const char *const patterns[] = { "metadata.*", "metadata.user_id", "labels.*" };
	static const int ids[] = { 0, 1, 2 };
	static const char doc[] =
		"{\"metadata\":{\"team\":\"search\",\"user_id\":\"u1\",\"n\":1,\"deep\":{\"x\":\"no\"},"
		"\"k0123456789012345678901234567890123456789012345678901234567890123\":\"cut\"},"
		"\"labels\":{\"env\":\"prod\"},\"other\":{\"team\":\"no\"},\"team\":\"no\"}";
	static struct tg_json_paths t;

	cr_assert_eq(tg_json_paths_compile(&t, patterns, ids, 3), 0);
	for (size_t step = 1; step <= sizeof doc - 1; step++) {
		struct tg_json_scanner s;
		struct keyed k = { "" };

		tg_json_init_paths(&s, &t, take_keyed, &k);
		for (size_t at = 0; at < sizeof doc - 1; at += step)
			cr_assert_eq(tg_json_feed(&s, doc + at,
			                         sizeof doc - 1 - at < step ? sizeof doc - 1 - at : step), 0);
		cr_assert_eq(tg_json_finish(&s), 0);
		/* numbers and container starts are reported too (the caller
		 * picks strings); what is inside a matched container is not */
		cr_assert_str_eq(k.seen, "0:team=search;1:user_id=u1;0:n=1;0:deep=;2:env=prod;", "step %zu: %s", step, k.seen);
	}
}

struct pieces {
	char text[1024];
	size_t len;
	int ids;      /* bit per pattern id seen in a piece */
	int strings;  /* TG_JSON_STRING events of matched values */
};

static void take_piece(void *ctx, int match, const char *buf, size_t len)
{
	struct pieces *p = ctx;

	cr_assert(p->len + len < sizeof p->text);
	memcpy(p->text + p->len, buf, len);
	p->len += len;
	p->ids |= 1 << match;
}

static void count_string(void *ctx, const struct tg_json_scanner *s, const struct tg_json_event *ev)
{
	struct pieces *p = ctx;

	(void)s;
	if (ev->type == TG_JSON_STRING)
		p->strings++;
}

/* A matched string of any length comes out whole in pieces, escapes
 * decoded, at any cut; keys, numbers and unmatched strings never do. */
Test(json, gives_matched_strings_in_pieces_whatever_their_length)
{
	static const char *const patterns[] = { "bytes", "n" };
	static const int ids[] = { 0, 1 };
	char doc[900], want[700];
	struct tg_json_paths t;
	struct tg_json_scanner s;
	size_t wl = 0, len;

	cr_assert_eq(tg_json_paths_compile(&t, patterns, ids, 2), 0);
	for (int i = 0; i < 600; i++)
		want[wl++] = (char)('A' + i % 26);
	memcpy(want + wl, "/\"\xc3\xa9", 4);
	wl += 4;
	len = (size_t)snprintf(doc, sizeof doc, "{\"p\":\"pad\",\"bytes\":\"%.600s\\/\\\"\\u00e9\",\"n\":12}", want);
	for (size_t cut = 0; cut <= len; cut++) {
		struct pieces p;

		memset(&p, 0, sizeof p);
		tg_json_init_paths(&s, &t, count_string, &p);
		tg_json_on_pieces(&s, take_piece);
		cr_assert_eq(tg_json_feed(&s, doc, cut), 0);
		cr_assert_eq(tg_json_feed(&s, doc + cut, len - cut), 0);
		cr_assert_eq(tg_json_finish(&s), 0);
		cr_assert_eq(p.len, wl, "cut at %zu: %zu bytes", cut, p.len);
		cr_assert(memcmp(p.text, want, wl) == 0, "cut at %zu", cut);
		cr_assert_eq(p.ids, 1, "only the matched string, cut at %zu", cut);
		cr_assert_eq(p.strings, 1);
	}
	/* a reset turns the pieces off */
	tg_json_init_paths(&s, &t, count_string, NULL);
	cr_assert(s.piece == NULL);
}

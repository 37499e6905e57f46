/* json.h - strict push scanner for one JSON document, fixed memory.
 *
 * Owns: struct tg_json_scanner, the scanning state of one document fed in
 * arbitrary slices, and the path queries a callback uses to recognise the
 * values it wants.
 *
 * Why not a general parser: bodies may hold multi-megabyte strings (base64
 * embeddings, long completions) split across reads, and we only want a few
 * short scalars.  Nothing is buffered beyond a fixed bound, nothing is
 * allocated, and a token split across two feeds costs nothing extra.
 *
 * What is reported, through one callback:
 *  - every scalar whose depth is at most TG_JSON_DEPTH, with its text
 *    (strings decoded, escapes included; numbers as written; at most
 *    TG_JSON_TEXT_MAX - 1 bytes, longer texts are cut and flagged);
 *  - the start and end of every container at that depth, so a caller can
 *    scope what it collects (reset per usage object, per array element).
 * Deeper nesting is still checked, up to TG_JSON_NEST_MAX, but not reported.
 *
 * During a callback the scanner's path is the chain of containers holding
 * the value: object levels carry the current key, array levels the element
 * index.  tg_json_path_is() compares it with a pattern such as
 * "usage.prompt_tokens_details.cached_tokens" or "[].usageMetadata.x"
 * ("[]" stands for any element of an array).  Keys longer than
 * TG_JSON_KEY_MAX - 1 bytes never match.
 *
 * Compiled paths (tg_json_paths_compile, tg_json_init_paths): a caller
 * that wants a few known paths gives them once, compiled into a small trie
 * of keys and "[]".  The scanner then follows the trie as containers open
 * and keys end, so each value's pattern is known as it starts: only
 * values and container starts whose path is one of the patterns are
 * reported (ev->match says which), no end events are reported, and under
 * a container no pattern reaches (message text, content deltas, embedding
 * arrays) neither keys nor values are copied: the bytes are only checked.
 * A caller that needs a matched string whole, whatever its length (a
 * base64 payload), also gets its decoded bytes in pieces as they are read
 * (tg_json_on_pieces), before the value's event.
 *
 * Strictness: RFC 8259 grammar (no comments, no trailing commas, no
 * leading zeros, no control bytes in strings, paired surrogates), one
 * document per init, whitespace after it allowed.  Bytes >= 0x80 inside
 * strings are passed through unchecked: UTF-8 validity is not verified.
 */
#ifndef TG_JSON_H
#define TG_JSON_H

#include <stddef.h>
#include <stdint.h>

#define TG_JSON_DEPTH     16    /* levels whose keys are kept and values reported */
#define TG_JSON_NEST_MAX  1024  /* deepest nesting accepted at all */
#define TG_JSON_KEY_MAX   64    /* key bytes kept per level, NUL included */
#define TG_JSON_TEXT_MAX  256   /* scalar text kept, NUL included */

enum tg_json_type {
	TG_JSON_STRING,
	TG_JSON_NUMBER,
	TG_JSON_TRUE,
	TG_JSON_FALSE,
	TG_JSON_NULL,
	TG_JSON_OBJECT_BEGIN,
	TG_JSON_OBJECT_END,
	TG_JSON_ARRAY_BEGIN,
	TG_JSON_ARRAY_END,
};

struct tg_json_event {
	enum tg_json_type type;
	const char *text;   /* scalars: NUL-terminated text; containers: "" */
	size_t len;         /* bytes in text */
	int truncated;      /* text was longer than TG_JSON_TEXT_MAX - 1 */
	uint64_t offset;    /* first byte of the token in the document (a string's opening quote) */
	uint64_t span;      /* scalars: token length in bytes, quotes included; containers: 0 */
	int match;          /* compiled paths: id of the pattern matched; else -1 */
};

#define TG_JSON_PATH_NODES 96   /* trie nodes of one compiled set of patterns */

/* A trie of path patterns; node 0 is the top-level value.  A node is an
 * object key (key != NULL) or any element of an array (key == NULL). */
struct tg_json_path_node {
	const char *key;           /* points into the pattern: patterns must outlive the trie */
	unsigned char key_len;
	short first_child;         /* -1: none */
	short next_sibling;        /* -1: none */
	short array_child;         /* the "[]" child, -1 if none */
	short any_child;           /* the "*" child: any key no other child names; -1 if none */
	uint64_t key_lens;         /* bit n set: some key child is n bytes long */
	int id;                    /* pattern ending here, -1 if none */
};

struct tg_json_paths {
	unsigned count;
	struct tg_json_path_node node[TG_JSON_PATH_NODES];
};

/* Compiles n patterns (the syntax of tg_json_path_is) with their ids
 * (>= 0).  A key "*" stands for any key of that object that no other
 * pattern names there ("metadata.*": each value of a map; "metadata.a"
 * still matches its own pattern); the callback reads which key with
 * tg_json_key().  Returns 0, or -1 when a pattern is malformed, a key
 * is longer than TG_JSON_KEY_MAX - 1 bytes or deeper than TG_JSON_DEPTH,
 * two patterns are equal, or the trie would need more than
 * TG_JSON_PATH_NODES nodes. */
int tg_json_paths_compile(struct tg_json_paths *t, const char *const *patterns,
                          const int *ids, size_t n);

struct tg_json_scanner;

/* Called for each reported value.  For container events the path is the
 * one of the container itself (its own level is not part of it). */
typedef void (*tg_json_cb)(void *ctx, const struct tg_json_scanner *s,
                           const struct tg_json_event *ev);

/* Called, with compiled paths, with the decoded bytes of a string value
 * that a pattern matches (match: its id), in pieces as they are read and
 * whatever their number; then the value's TG_JSON_STRING event follows,
 * whose text still stops at TG_JSON_TEXT_MAX - 1 bytes.  Keys never. */
typedef void (*tg_json_piece_cb)(void *ctx, int match, const char *buf, size_t len);

struct tg_json_level {
	uint32_t index;                 /* arrays: element number */
	short node;                     /* compiled paths: trie node of this level's values, -1: none */
	short parent;                   /* compiled paths: trie node of the container itself */
	unsigned char is_array;
	unsigned char key_len;
	unsigned char key_truncated;
	char key[TG_JSON_KEY_MAX];      /* objects: current key, not NUL-terminated */
};

struct tg_json_scanner {
	tg_json_cb cb;
	tg_json_piece_cb piece;         /* NULL unless tg_json_on_pieces() */
	void *ctx;
	const struct tg_json_paths *paths;  /* NULL: every value is reported */
	short node;                     /* compiled paths: trie node of the value being scanned */
	unsigned char keep;             /* the text or key being scanned is collected */
	int state;
	int error;
	unsigned depth;                 /* containers open, may exceed TG_JSON_DEPTH */
	uint64_t pos;                   /* bytes consumed since init */
	uint64_t tok_start;             /* offset of the token being scanned */
	/* literal / number / escape progress */
	const char *lit;
	unsigned char lit_pos;
	unsigned char in_key;
	unsigned char hex_left;
	uint32_t cp;                    /* \u code point being read */
	uint32_t high;                  /* pending high surrogate */
	/* text of the scalar being scanned */
	size_t text_len;
	int text_truncated;
	char text[TG_JSON_TEXT_MAX];
	uint8_t kinds[TG_JSON_NEST_MAX / 8];     /* bit set = array, per level */
	struct tg_json_level levels[TG_JSON_DEPTH];
};

/* Prepares s for a new document; cb may be NULL (validation only). */
void tg_json_init(struct tg_json_scanner *s, tg_json_cb cb, void *ctx);

/* The same, reporting only the values matched by paths (which must outlive
 * the scan). */
void tg_json_init_paths(struct tg_json_scanner *s, const struct tg_json_paths *paths,
                        tg_json_cb cb, void *ctx);

/* After an init with compiled paths: matched string values also go to
 * piece, with the init's ctx (until the next init). */
void tg_json_on_pieces(struct tg_json_scanner *s, tg_json_piece_cb piece);

/* Scans len more bytes.  0 = ok so far; -1 = not JSON, and every later
 * call returns -1 until tg_json_init(). */
int tg_json_feed(struct tg_json_scanner *s, const char *buf, size_t len);

/* Marks the end of input (reports a top-level number still open).
 * 0 = one complete document was scanned, 1 = input ended inside it (cut
 * off), -1 = malformed. */
int tg_json_finish(struct tg_json_scanner *s);

/* 1 once the top-level value is complete. */
int tg_json_done(const struct tg_json_scanner *s);

/* Path queries, valid inside the callback.  Depth counts the containers
 * around the current value (0 = the top-level value). */
unsigned tg_json_depth(const struct tg_json_scanner *s);
int tg_json_path_is(const struct tg_json_scanner *s, const char *pattern);

/* The current key of the object at level (0 = outermost), valid inside
 * the callback: its bytes (not NUL-terminated) and *len; NULL when that
 * level is not an object, is not tracked or its key was cut. */
const char *tg_json_key(const struct tg_json_scanner *s, unsigned level, size_t *len);

/* Element number of the array at level (0 = outermost), or -1 when that
 * level is not an array or is not tracked. */
long tg_json_index(const struct tg_json_scanner *s, unsigned level);

#endif

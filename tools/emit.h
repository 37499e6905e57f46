/* emit.h - the report's output primitives: JSON strings, CSV fields and
 * numbers, written to a FILE.  Every machine-readable format goes through
 * these, so escaping is decided in one place. */
#ifndef TG_EMIT_H
#define TG_EMIT_H

#include <stdint.h>
#include <stdio.h>

enum tg_format { TG_FMT_TABLE, TG_FMT_JSON, TG_FMT_JSONL, TG_FMT_CSV };

/* "table", "json", "jsonl", "csv" -> enum; -1 for anything else. */
int tg_emit_format(const char *name);

/* A JSON string literal, quotes included.  Control characters, quotes and
 * backslashes are escaped; bytes that are not valid UTF-8 (ledger text is
 * whatever the wire carried) become U+FFFD, so the output is always valid
 * UTF-8 JSON. */
void tg_emit_json_str(FILE *f, const char *s);

/* tg_emit_json_str, or null for an empty string (ids, optional text). */
void tg_emit_json_str_or_null(FILE *f, const char *s);

/* A CSV text field per RFC 4180: quoted, with quotes doubled, when it
 * holds a comma, quote, CR or LF (or starts or ends with a space).  Text
 * starting with =, +, -, @, tab or CR gets a ' in front, so a spreadsheet
 * shows it instead of running it as a formula: process names, tags and
 * the model names a gateway returns are not ours to trust.  Numbers are
 * not written with this. */
void tg_emit_csv_field(FILE *f, const char *s);

/* A USD amount in plain decimal notation, at most nine decimals, trailing
 * zeros dropped (0.00123), '.' as the decimal point in every locale; the
 * shortest exponent form for a value too large for that (never cut), null
 * for one that is not finite. */
void tg_emit_cost(FILE *f, double usd);

/* v as the shortest decimal that reads back as exactly v (0.25, 300,
 * 1e-300): for values a person wrote, such as limits, which rounding to
 * nine decimals could turn into 0.  '.' in every locale; null when v is
 * not finite. */
void tg_emit_exact(FILE *f, double v);

/* An integer, or null_text when v < 0 (an unknown count). */
void tg_emit_count(FILE *f, int64_t v, const char *null_text);

#endif

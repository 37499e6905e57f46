/* cmd_estimate.c - `tokenguard-report estimate`: what a call would cost
 * before it is made, and with --budget what the budget policies would say
 * of it now.
 *
 * The price is the shim's (quote.h): the same table, user's price file
 * and lookup, and for a model without a price the estimate the shim
 * charges budgets under unpriced=estimate.  The verdicts are the shim's
 * gate's (estimate_budget.h).  This file reads the options and shows the
 * two, as a table or JSON.  Exit status: 0, or 1 when --budget says the
 * shim would block the call; 2 on a usage error (an unknown provider, a
 * model several providers price without --provider, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_text.h"
#include "decimal.h"
#include "emit.h"
#include "estimate_budget.h"
#include "money.h"
#include "provider_names.h"
#include "quote.h"
#include "report.h"
#include "token_rule.h"
#include "when.h"

/* A token count in the budget syntax (k, M suffixes; policy.h), so that
 * --input-tokens 200k reads as a policy's tokens=200k does. */
static int parse_count(const struct tg_report *rep, const char *opt, const char *v, int64_t *out)
{
	struct tg_policy p;
	char spec[128], err[256];

	snprintf(spec, sizeof spec, "global,day,tokens=%.64s,block", v);
	if (strlen(v) > 64 || tg_policy_parse(spec, &p, err, sizeof err))
		return tg_report_fail(rep, "%s \"%s\" is not a whole number of tokens up to %lld; use "
		                      "e.g. %s 1200 or 20k", opt, v, (long long)TG_POLICY_TOKENS_MAX, opt);
	*out = p.limit_tokens;
	return 0;
}

/* The bytes of --input-file (- for stdin). */
static int input_bytes(const struct tg_report *rep, const char *file, int64_t *bytes)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	int rc;

	if (fd < 0)
		return tg_report_fail(rep, "--input-file %s: %s; name a readable file, or - for stdin",
		                      file, strerror(errno));
	rc = tg_quote_read_size(fd, bytes);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc)
		return tg_report_fail(rep, "--input-file %s: %s; name a readable file, or - for stdin",
		                      file, strerror(rc));
	return 0;
}

static void known_providers(FILE *f)
{
	const char *sep = "";

#define TG_SAY_PROVIDER(n, wire) fprintf(f, "%s%s", sep, n), sep = ", ";
	TG_PROVIDER_NAMES(TG_SAY_PROVIDER)
#undef TG_SAY_PROVIDER
}

/* The provider the call goes to into out, or an exit status. */
static int provider_of(const struct tg_report *rep, const struct tg_prices *t, const char *model,
                       char *out, size_t n)
{
	const struct tg_price *lines[16];
	size_t nlines;

	switch (tg_quote_provider(t, rep->filter.provider, model, out, n, lines, 16, &nlines)) {
	case TG_QUOTE_PROVIDER_OK:
		return 0;
	case TG_QUOTE_PROVIDER_UNKNOWN:
		fprintf(rep->err, "tokenguard-report: estimate: unknown provider \"%s\"; tokenguard "
		        "knows ", rep->filter.provider);
		known_providers(rep->err);
		fputs(" (and those of a price file); a TOKENGUARD_HOSTS provider needs its prices in "
		      "a price file (README, Prices)\n", rep->err);
		return TG_EXIT_FAIL;
	case TG_QUOTE_PROVIDER_AMBIGUOUS:
		fprintf(rep->err, "tokenguard-report: estimate: \"%s\" is priced by several providers (",
		        model);
		for (size_t i = 0; i < nlines && i < 16; i++)
			fprintf(rep->err, "%s%s: %s", i ? ", " : "", lines[i]->provider, lines[i]->family);
		fputs("); name the one the call goes to with --provider P\n", rep->err);
		return TG_EXIT_FAIL;
	default:
		return tg_report_fail(rep, "estimate: no provider prices \"%s\"; name the provider the "
		                      "call goes to with --provider P to see what the shim would charge "
		                      "(its highest rates), or add the model to a price file (README, "
		                      "Prices)", model);
	}
}

/* ---- the table ---- */

static void money(double usd, int estimated, char *buf, size_t n)
{
	char m[TG_MONEY_MAX];

	if (tg_money_text(usd, m, sizeof m) < 0)
		snprintf(m, sizeof m, "$?");
	snprintf(buf, n, "%s%s", estimated ? "~" : "", m);
}

static void rate_text(double v, char *buf, size_t n)
{
	if (tg_decimal_plain(v, 6, buf, n) < 0)
		snprintf(buf, n, "?");
}

static const char *line_source(const struct tg_prices *t, const struct tg_quote *q)
{
	return !q->line ? "ceiling" : tg_prices_from_file(t, q->line) ? "user" : "built-in";
}

static void price_heading(const struct tg_report *rep, const struct tg_prices *t,
                          const struct tg_quote *q, const char *model)
{
	FILE *f = rep->out;

	if (q->line)
		fprintf(f, "estimate: %s at %s (family %s, %s line, effective %s)\n", model, q->provider,
		        q->line->family, line_source(t, q), q->line->date);
	else
		fprintf(f, "estimate: %s at %s: NO PRICE for this model.  The shim records its calls "
		        "unpriced and, under unpriced=estimate (the default), charges budgets the "
		        "estimate below, at %s's highest rates (~)\n", model, q->provider,
		        q->whole_table ? "the whole table" : q->provider);
	tg_report_price_edition(rep, t);
}

static void price_table(const struct tg_report *rep, const struct tg_quote *q)
{
	const struct tg_rates *r = tg_price_rates_for(&q->at, q->input_tokens);
	int est = q->input_estimated || !q->line;
	char in_tok[32], out_tok[32], rin[32], rout[32], in_usd[80], out_usd[80], total[80];
	FILE *f = rep->out;

	snprintf(in_tok, sizeof in_tok, "%s%lld", q->input_estimated ? "~" : "",
	         (long long)q->input_tokens);
	if (q->output_tokens >= 0)
		snprintf(out_tok, sizeof out_tok, "%lld", (long long)q->output_tokens);
	else
		snprintf(out_tok, sizeof out_tok, "?");
	rate_text(r->input, rin, sizeof rin);
	rate_text(r->output, rout, sizeof rout);
	money(q->input_usd, est, in_usd, sizeof in_usd);
	if (q->output_tokens >= 0)
		money(q->output_usd, !q->line, out_usd, sizeof out_usd);
	else
		snprintf(out_usd, sizeof out_usd, "?");
	money(q->total_usd, est, total, sizeof total);

	fprintf(f, "\n%-8s %14s %12s %16s\n", "", "TOKENS", "USD/M", "USD");
	fprintf(f, "%-8s %14s %12s %16s\n", "input", in_tok, rin, in_usd);
	fprintf(f, "%-8s %14s %12s %16s%s\n", "output", out_tok, rout, out_usd,
	        q->output_tokens >= 0 ? "" : "  unknown: give --output-tokens N");
	fprintf(f, "%-8s %14s %12s %16s%s\n", "total", "", "", total,
	        q->output_tokens >= 0 ? "" : "  input only");
	if (r == &q->at.above)
		fprintf(f, "rates of the long-context tier: input above %lld tokens\n",
		        (long long)q->at.long_threshold);
	if (q->input_estimated)
		fprintf(f, "~ input: estimated from %lld bytes at %d bytes a token (the shim's rule of "
		        "thumb; it errs high)\n", (long long)q->input_bytes, TG_BYTES_PER_TOKEN);
	if (!q->line)
		fprintf(f, "~ cost: an estimate at %s's highest rates, not a price\n",
		        q->whole_table ? "the whole table" : q->provider);
}

/* "$1.2 + 3000 tok" in the policy's dimensions. */
static void spend_cell(const struct tg_estimate_row *row, char *buf, size_t n)
{
	const struct tg_policy *p = &row->policy;
	const struct tg_spend *s = &row->v.spend;
	char usd[TG_MONEY_MAX + 2], tok[24];

	money(s->usd, s->usd_estimated > 0 && p->unpriced != TG_UNPRICED_ALLOW, usd, sizeof usd);
	snprintf(tok, sizeof tok, "%lld", (long long)s->tokens);
	tg_amounts_text(p->limit_usd >= 0 ? usd : NULL, p->limit_tokens >= 0 ? tok : NULL, buf, n);
}

static void verdict_cell(const struct tg_estimate_row *row, const char *model, char *buf, size_t n)
{
	const struct tg_policy_verdict *v = &row->v;

	if (v->verdict == TG_VERDICT_BLOCK && v->reason == TG_BLOCK_UNPRICED)
		snprintf(buf, n, "block (unpriced=block: %s has no price)", model);
	else if (v->verdict == TG_VERDICT_REWRITE && v->new_model)
		snprintf(buf, n, "downgrade to %s", v->new_model);
	else if (v->verdict == TG_VERDICT_REWRITE)
		snprintf(buf, n, "clamp max tokens to %lld", (long long)v->new_max_tokens);
	else if (v->verdict == TG_VERDICT_ALLOW && (v->alerts & (1u << TG_ALERT_THRESHOLD)))
		snprintf(buf, n, "allow (past alert=%d%%)", row->policy.alert_pct);
	else
		snprintf(buf, n, "%s", tg_estimate_verdict_name(v));
}

enum { BC_NAME, BC_SOURCE, BC_SCOPE, BC_WINDOW, BC_SPEND, BC_LIMIT, BC_USED, BC_VERDICT, BC_COLS };
#define BC_CELL (TG_TAGS_MAX + TG_MODEL_MAX + 64)

static void row_cells(const struct tg_estimate_row *row, const char *model, char c[BC_COLS][BC_CELL])
{
	const struct tg_policy *p = &row->policy;

	snprintf(c[BC_NAME], BC_CELL, "%s", p->name);
	snprintf(c[BC_SOURCE], BC_CELL, "%s", p->from_env ? "env" : "ledger");
	if (p->scope == TG_SCOPE_GLOBAL)
		snprintf(c[BC_SCOPE], BC_CELL, "global");
	else
		snprintf(c[BC_SCOPE], BC_CELL, "%s:%s", tg_scope_name(p->scope), p->scope_value);
	if (tg_policy_window_text(p, c[BC_WINDOW], BC_CELL) < 0)
		snprintf(c[BC_WINDOW], BC_CELL, "%s", tg_window_name(p->window));
	spend_cell(row, c[BC_SPEND], BC_CELL);
	if (p->window == TG_WIN_SESSION)
		strncat(c[BC_SPEND], " (new process)", BC_CELL - strlen(c[BC_SPEND]) - 1);
	tg_limit_text(p->limit_usd, p->limit_tokens, c[BC_LIMIT], BC_CELL);
	if (tg_decimal_snprintf(c[BC_USED], 16, "%.1f%%", row->v.pct) >= 16)
		tg_decimal_snprintf(c[BC_USED], 16, "%.3g%%", row->v.pct);
	verdict_cell(row, model, c[BC_VERDICT], BC_CELL);
}

static void merged_line(FILE *f, const struct tg_gate_result *m)
{
	if (m->verdict == TG_VERDICT_BLOCK) {
		fprintf(f, "verdict: block (policy %s): the shim would refuse the call, 429, "
		        "nothing sent\n", m->policy);
		return;
	}
	if (m->verdict == TG_VERDICT_ALLOW) {
		fputs("verdict: allow\n", f);
		return;
	}
	fputs("verdict: ", f);
	if (m->new_model[0])
		fprintf(f, "downgrade to %s%s", m->new_model, m->new_max_tokens >= 0 ? ", " : "");
	if (m->new_max_tokens >= 0)
		fprintf(f, "clamp max tokens to %lld", (long long)m->new_max_tokens);
	fprintf(f, " (policy %s): the shim would send the call rewritten\n", m->policy);
}

static void budget_table(const struct tg_report *rep, const struct tg_estimate_budget *b,
                         const char *model)
{
	static const char *const head[BC_COLS] = { "NAME", "SOURCE", "SCOPE", "WINDOW", "SPEND",
	                                           "LIMIT", "USED", "VERDICT" };
	char (*cell)[BC_COLS][BC_CELL] = calloc((size_t)b->n + 1, sizeof *cell);
	char iso[TG_WHEN_ISO_MAX];
	size_t w[BC_COLS];
	int session = 0;
	FILE *f = rep->out;

	tg_when_iso(b->now_us, iso);
	fprintf(f, "\nbudgets at %s, as the shim would decide this call now:\n", iso);
	if (b->no_ledger)
		fprintf(f, "(no ledger at %s: no stored policy, nothing spent)\n", rep->dir);
	if (!b->n || !cell) {
		fputs("no budget policy governs this call\n", f);
		free(cell);
		merged_line(f, &b->merged);
		return;
	}
	for (int c = 0; c < BC_COLS; c++) {
		snprintf(cell[0][c], BC_CELL, "%s", head[c]);
		w[c] = strlen(head[c]);
	}
	for (int i = 0; i < b->n; i++) {
		row_cells(&b->rows[i], model, cell[i + 1]);
		session |= b->rows[i].policy.window == TG_WIN_SESSION;
		for (int c = 0; c < BC_COLS; c++)
			if (strlen(cell[i + 1][c]) > w[c])
				w[c] = strlen(cell[i + 1][c]);
	}
	for (int i = 0; i <= b->n; i++) {
		for (int c = 0; c < BC_COLS - 1; c++)
			fprintf(f, c == BC_USED ? "%*s  " : "%-*s  ", (int)w[c], cell[i][c]);
		fprintf(f, "%s\n", cell[i][BC_COLS - 1]);
	}
	free(cell);
	for (int i = 0; i < b->n; i++) {
		if (b->rows[i].v.fallback_note)
			fprintf(f, "%s: %s\n", b->rows[i].policy.name, b->rows[i].v.fallback_note);
		if (b->rows[i].v.fleet_note)
			fprintf(f, "%s: %s\n", b->rows[i].policy.name, b->rows[i].v.fleet_note);
	}
	if (session)
		fputs("session window: the spend of the process making the call, which only it knows; "
		      "a new process has spent 0 (shown)\n", f);
	merged_line(f, &b->merged);
}

/* ---- JSON ---- */

static void json_rates(FILE *f, const struct tg_quote *q)
{
	const struct tg_rates *r = tg_price_rates_for(&q->at, q->input_tokens);

	fputs(",\"input_per_million\":", f);
	tg_emit_exact(f, r->input);
	fputs(",\"output_per_million\":", f);
	tg_emit_exact(f, r->output);
	fprintf(f, ",\"tier\":\"%s\",\"long_threshold\":", r == &q->at.above ? "long" : "base");
	tg_emit_count(f, q->at.long_threshold ? q->at.long_threshold : -1, "null");
}

static void json_price(FILE *f, const struct tg_prices *t, const struct tg_quote *q)
{
	const char *file = tg_report_prices_file();

	fputs(",\"price_line\":", f);
	if (!q->priced_at) {
		fputs("null", f);
	} else {
		fputs("{\"provider\":", f);
		tg_emit_json_str_or_null(f, q->whole_table ? "" : q->at.provider);
		fputs(",\"family\":", f);
		tg_emit_json_str_or_null(f, q->at.family);
		fprintf(f, ",\"source\":\"%s\",\"date\":", line_source(t, q));
		tg_emit_json_str_or_null(f, q->at.date);
		json_rates(f, q);
		putc('}', f);
	}
	fputs(",\"price_table\":{\"version\":", f);
	tg_emit_json_str_or_null(f, tg_prices_version(t));
	fputs(",\"date\":", f);
	tg_emit_json_str_or_null(f, tg_prices_date(t));
	fputs(",\"user_file\":", f);
	tg_emit_json_str_or_null(f, file ? file : "");
	putc('}', f);
}

static void json_cost(FILE *f, const struct tg_quote *q)
{
	fprintf(f, ",\"input_tokens\":%lld,\"input_tokens_estimated\":%s,\"input_bytes\":",
	        (long long)q->input_tokens, q->input_estimated ? "true" : "false");
	tg_emit_count(f, q->input_bytes, "null");
	fputs(",\"bytes_per_token\":", f);
	tg_emit_count(f, q->input_estimated ? TG_BYTES_PER_TOKEN : -1, "null");
	fputs(",\"output_tokens\":", f);
	tg_emit_count(f, q->output_tokens, "null");
	fputs(",\"input_usd\":", f);
	tg_emit_cost(f, q->input_usd);
	fputs(",\"output_usd\":", f);
	if (q->output_tokens >= 0)
		tg_emit_cost(f, q->output_usd);
	else
		fputs("null", f);
	fputs(",\"total_usd\":", f);
	tg_emit_cost(f, q->total_usd);
	fprintf(f, ",\"total_covers\":\"%s\",\"cost_estimated\":%s",
	        q->output_tokens >= 0 ? "input and output" : "input only",
	        q->input_estimated || !q->line ? "true" : "false");
}

static void json_row(FILE *f, const struct tg_estimate_row *row, int first)
{
	const struct tg_policy *p = &row->policy;
	const struct tg_policy_verdict *v = &row->v;
	char line[TG_POLICY_LINE_MAX], iso[TG_WHEN_ISO_MAX];
	static const char *const alert[] = { "", "threshold", "limit", "blocked", "fallback" };
	int n = 0;

	fputs(first ? "{\"name\":" : ",{\"name\":", f);
	tg_emit_json_str(f, p->name);
	fprintf(f, ",\"source\":\"%s\",\"policy\":", p->from_env ? "env" : "ledger");
	if (tg_policy_format(p, line, sizeof line) < 0)
		line[0] = '\0';
	tg_emit_json_str(f, line);
	fprintf(f, ",\"scope\":\"%s\",\"scope_value\":", tg_scope_name(p->scope));
	tg_emit_json_str_or_null(f, p->scope_value);
	tg_policy_window_text(p, line, sizeof line);
	fputs(",\"window\":", f);
	tg_emit_json_str(f, line);
	fprintf(f, ",\"action\":\"%s\",\"spend_usd\":", tg_action_name(p->action));
	tg_emit_cost(f, v->spend.usd);
	fputs(",\"spend_usd_estimated\":", f);
	tg_emit_cost(f, p->unpriced != TG_UNPRICED_ALLOW ? v->spend.usd_estimated : 0);
	fprintf(f, ",\"spend_tokens\":%lld,\"limit_usd\":", (long long)v->spend.tokens);
	tg_emit_limit(f, p->limit_usd);
	fputs(",\"limit_tokens\":", f);
	tg_emit_count(f, p->limit_tokens, "null");
	tg_decimal_fprintf(f, ",\"percent_used\":%.4f,\"resets\":", v->pct);
	if (v->spend.reset_us >= 0) {
		tg_when_iso(v->spend.reset_us, iso);
		fprintf(f, "\"%s\"", iso);
	} else {
		fputs("null", f);
	}
	fprintf(f, ",\"verdict\":\"%s\",\"blocked_unpriced\":%s,\"downgrade_to\":",
	        tg_estimate_verdict_name(v),
	        v->verdict == TG_VERDICT_BLOCK && v->reason == TG_BLOCK_UNPRICED ? "true" : "false");
	tg_emit_json_str_or_null(f, v->new_model ? v->new_model : "");
	fputs(",\"clamp_max_tokens\":", f);
	tg_emit_count(f, v->new_max_tokens, "null");
	fputs(",\"alerts\":[", f);
	for (int level = TG_ALERT_THRESHOLD; level <= TG_ALERT_FALLBACK; level++)
		if (v->alerts & (1u << level))
			fprintf(f, "%s\"%s\"", n++ ? "," : "", alert[level]);
	fputs("],\"note\":", f);
	tg_emit_json_str_or_null(f, p->window == TG_WIN_SESSION
	                         ? "session window: the spend of the process making the call; "
	                           "a new process has spent 0 (shown)"
	                         : v->fallback_note ? v->fallback_note
	                         : v->fleet_note ? v->fleet_note : "");
	putc('}', f);
}

static void json_budget(FILE *f, const struct tg_estimate_budget *b)
{
	const struct tg_gate_result *m = &b->merged;
	char iso[TG_WHEN_ISO_MAX];

	tg_when_iso(b->now_us, iso);
	fprintf(f, ",\"budget\":{\"at\":\"%s\",\"verdict\":\"%s\",\"policy\":", iso,
	        m->verdict == TG_VERDICT_BLOCK ? "block" : m->verdict == TG_VERDICT_REWRITE
	        ? "rewrite" : "allow");
	tg_emit_json_str_or_null(f, m->policy);
	fputs(",\"downgrade_to\":", f);
	tg_emit_json_str_or_null(f, m->new_model);
	fputs(",\"clamp_max_tokens\":", f);
	tg_emit_count(f, m->new_max_tokens, "null");
	fprintf(f, ",\"ledger\":%s,\"env_ignored\":%s,\"policies\":[",
	        b->no_ledger ? "false" : "true", b->env_ignored ? "true" : "false");
	for (int i = 0; i < b->n; i++)
		json_row(f, &b->rows[i], i == 0);
	fputs("]}", f);
}

static void json(const struct tg_report *rep, const struct tg_prices *t, const struct tg_quote *q,
                 const char *model, const struct tg_estimate_budget *b)
{
	FILE *f = rep->out;

	fputs("{\"model\":", f);
	tg_emit_json_str(f, model);
	fputs(",\"provider\":", f);
	tg_emit_json_str(f, q->provider);
	fputs(",\"family\":", f);
	tg_emit_json_str_or_null(f, q->line ? q->line->family : "");
	fprintf(f, ",\"priced\":%s", q->line ? "true" : "false");
	json_price(f, t, q);
	json_cost(f, q);
	if (b)
		json_budget(f, b);
	fputs("}\n", f);
}

/* ---- the command ---- */

int tg_cmd_estimate(const struct tg_report *rep, struct tg_ledger *unused)
{
	const struct tg_estimate_flags *o = &rep->estimate;
	const char *model = rep->filter.model;
	int64_t input = -1, output = -1, bytes = -1;
	char provider[TG_PROVIDER_MAX];
	struct tg_estimate_budget b;
	struct tg_prices *t;
	struct tg_quote q;
	int rc;

	if (!model || !*model)
		return tg_report_fail(rep, "estimate needs the model: --model M (as the call names "
		                      "it), with --input-tokens N or --input-file F");
	if (!o->input_tokens == !o->input_file)
		return tg_report_fail(rep, "estimate needs the input as one of --input-tokens N or "
		                      "--input-file F (- for stdin)%s",
		                      o->input_tokens ? ", not both" : "");
	if (o->input_tokens && parse_count(rep, "--input-tokens", o->input_tokens, &input))
		return TG_EXIT_FAIL;
	if (o->output_tokens && parse_count(rep, "--output-tokens", o->output_tokens, &output))
		return TG_EXIT_FAIL;
	if ((rep->filter.ntags || rep->filter.process) && !o->budget)
		fprintf(rep->err, "tokenguard-report: warning: --tag and --process only matter with "
		        "--budget (the policies they select)\n");
	if (tg_report_load_prices(rep, &t, "the estimate"))
		return TG_EXIT_FAIL;
	if ((rc = provider_of(rep, t, model, provider, sizeof provider)) != 0 ||
	    (o->input_file && (rc = input_bytes(rep, o->input_file, &bytes)) != 0)) {
		tg_prices_free(t);
		return rc;
	}
	tg_quote_make(t, provider, model, input, bytes, output, &q);
	if (!q.priced_at) {
		tg_prices_free(t);
		return tg_report_fail(rep, "estimate: the price table has no line at all; check the "
		                      "user's price file");
	}
	if (o->budget && (rc = tg_estimate_budget(rep, &q, model, &b)) != 0) {
		tg_prices_free(t);
		return rc;
	}
	if (rep->format == TG_FMT_JSON) {
		json(rep, t, &q, model, o->budget ? &b : NULL);
	} else {
		price_heading(rep, t, &q, model);
		price_table(rep, &q);
		if (o->budget)
			budget_table(rep, &b, model);
	}
	rc = o->budget && b.merged.verdict == TG_VERDICT_BLOCK;
	if (o->budget)
		tg_estimate_budget_free(&b);
	tg_prices_free(t);
	return rc;
}

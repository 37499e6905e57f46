/* alert_text.c - see alert_text.h. */
#include "alert_text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "decimal.h"
#include "emit.h"
#include "money.h"
#include "when.h"

int tg_alert_pct(const struct tg_alert *a)
{
	struct tg_policy limits;
	double pct;

	if ((a->limit_usd < 0 && a->limit_tokens < 0) || a->spend_usd < 0 || a->spend_tokens < 0)
		return -1;
	memset(&limits, 0, sizeof limits);
	limits.limit_usd = a->limit_usd;
	limits.limit_tokens = a->limit_tokens;
	pct = tg_policy_used_pct(&limits, a->spend_usd, a->spend_tokens, 1);
	return pct >= 0 && pct < 1e9 ? (int)pct : -1;
}

/* Appends to buf (size n, holding *len bytes), cutting at its end. */
static void add(char *buf, size_t n, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*len + 1 >= n)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	if (k > 0)
		*len = *len + (size_t)k < n ? *len + (size_t)k : n - 1;
}

void tg_money_or_unknown(double usd, char *buf, size_t n)
{
	if (tg_money_text(usd, buf, n) < 0)
		snprintf(buf, n, "$?");
}

void tg_amounts_text(const char *usd_text, const char *tok_text, char *buf, size_t n)
{
	if (usd_text && tok_text)
		snprintf(buf, n, "%s + %s tok", usd_text, tok_text);
	else if (usd_text)
		snprintf(buf, n, "%s", usd_text);
	else if (tok_text)
		snprintf(buf, n, "%s tok", tok_text);
	else
		snprintf(buf, n, "-");
}

void tg_limit_text(double usd, int64_t tokens, char *buf, size_t n)
{
	char money[TG_MONEY_MAX], tok[24];

	tg_money_or_unknown(usd, money, sizeof money);
	snprintf(tok, sizeof tok, "%lld", (long long)tokens);
	tg_amounts_text(usd >= 0 ? money : NULL, tokens >= 0 ? tok : NULL, buf, n);
}

void tg_alert_spend_text(const struct tg_alert *a, char *buf, size_t n)
{
	char money[TG_MONEY_MAX], tok[24];

	tg_money_or_unknown(a->spend_usd, money, sizeof money);
	snprintf(tok, sizeof tok, "%lld", (long long)a->spend_tokens);
	tg_amounts_text(a->limit_usd >= 0 ? money : NULL, a->limit_tokens >= 0 ? tok : NULL, buf, n);
}

/* "spent $1.00 of $2.00 and 10 of 20 tokens (50%)", in the dimensions the
 * policy limits. */
static void add_spend(char *buf, size_t n, size_t *len, const struct tg_alert *a)
{
	char spent[TG_MONEY_MAX], limit[TG_MONEY_MAX];
	int pct = tg_alert_pct(a);

	if (pct < 0)
		return;
	tg_money_or_unknown(a->spend_usd, spent, sizeof spent);
	tg_money_or_unknown(a->limit_usd, limit, sizeof limit);
	if (a->limit_usd >= 0 && a->limit_tokens >= 0)
		add(buf, n, len, ": spent %s of %s and %lld of %lld tokens", spent, limit,
		    (long long)a->spend_tokens, (long long)a->limit_tokens);
	else if (a->limit_usd >= 0)
		add(buf, n, len, ": spent %s of %s", spent, limit);
	else
		add(buf, n, len, ": used %lld of %lld tokens", (long long)a->spend_tokens,
		    (long long)a->limit_tokens);
	add(buf, n, len, " (%d%%)", pct);
}

static void add_who(char *buf, size_t n, size_t *len, const struct tg_alert *a)
{
	const char *sep = "; ";

	if (a->process[0]) {
		add(buf, n, len, "%sprocess %s", sep, a->process);
		if (a->pid > 0)
			add(buf, n, len, " (pid %d)", a->pid);
		sep = ", ";
	}
	if (a->model[0])
		add(buf, n, len, "%smodel %s%s%s", sep, a->provider[0] ? a->provider : "",
		    a->provider[0] ? "/" : "", a->model);
}

void tg_alert_message(const struct tg_alert *a, char *buf, size_t n)
{
	size_t len = 0;

	if (!n)
		return;
	buf[0] = '\0';
	if (a->level == TG_ALERT_UNPRICED) {
		add(buf, n, &len, "tokenguard: %s model \"%s\" has no price: its calls are charged "
		    "to budgets at an estimate; add it to the price file", a->provider[0] ? a->provider
		    : "a", a->model[0] ? a->model : "(unknown)");
		if (a->process[0])
			add(buf, n, &len, "; process %s (pid %d)", a->process, a->pid);
		return;
	}
	add(buf, n, &len, "tokenguard: budget '%s'", a->policy);
	if (a->scope[0] && a->window >= 0)
		add(buf, n, &len, " (%s, %s)", a->scope, tg_window_name(a->window));
	else if (a->scope[0])
		add(buf, n, &len, " (%s)", a->scope);
	switch (a->level) {
	case TG_ALERT_THRESHOLD:
		add(buf, n, &len, " reached its alert threshold");
		if (a->alert_pct >= 0)
			add(buf, n, &len, " of %d%%", a->alert_pct);
		break;
	case TG_ALERT_LIMIT:
		add(buf, n, &len, " reached its limit");
		break;
	case TG_ALERT_BLOCKED:
		add(buf, n, &len, " blocked a call");
		if (strstr(a->detail, "no price"))
			add(buf, n, &len, " to a model without a price");
		break;
	default:
		add(buf, n, &len, ": %s", a->detail[0] ? a->detail : tg_alert_level_name(a->level));
		break;
	}
	add_spend(buf, n, &len, a);
	add_who(buf, n, &len, a);
}

static void hex_key(const unsigned char *key, char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
}

static void json_time(FILE *f, int64_t us)
{
	char iso[TG_WHEN_ISO_MAX];

	if (us < 0) {
		fputs("null", f);
		return;
	}
	tg_when_iso(us, iso);
	fprintf(f, "\"%s\"", iso);
}

static void json_small(FILE *f, int v)
{
	if (v >= 0)
		fprintf(f, "%d", v);
	else
		fputs("null", f);
}

void tg_alert_json(FILE *f, const unsigned char *key, const struct tg_alert *a)
{
	char message[TG_ALERT_MESSAGE_MAX], id[33];

	fputs("{\"ts\":", f);
	json_time(f, a->ts_us);
	fputs(",\"policy\":", f);
	tg_emit_json_str_or_null(f, a->policy);
	fprintf(f, ",\"level\":\"%s\",\"spend_usd\":", tg_alert_level_name(a->level));
	if (a->spend_usd >= 0)
		tg_emit_cost(f, a->spend_usd);
	else
		fputs("null", f);
	fputs(",\"spend_tokens\":", f);
	tg_emit_count(f, a->spend_tokens, "null");
	fputs(",\"limit_usd\":", f);
	tg_emit_limit(f, a->limit_usd);
	fputs(",\"limit_tokens\":", f);
	tg_emit_count(f, a->limit_tokens, "null");
	fputs(",\"window_start\":", f);
	json_time(f, a->window_start_us);
	fprintf(f, ",\"pid\":%d,\"process\":", a->pid);
	tg_emit_json_str_or_null(f, a->process);
	fputs(",\"model\":", f);
	tg_emit_json_str_or_null(f, a->model);
	fputs(",\"detail\":", f);
	tg_emit_json_str_or_null(f, a->detail);
	fputs(",\"provider\":", f);
	tg_emit_json_str_or_null(f, a->provider);
	fputs(",\"scope\":", f);
	tg_emit_json_str_or_null(f, a->scope);
	if (a->tag_value[0]) {   /* a tag:KEY=* policy's alert: which value */
		fputs(",\"tag_value\":", f);
		tg_emit_json_str(f, a->tag_value);
	}
	fputs(",\"window\":", f);
	if (a->window >= 0)
		fprintf(f, "\"%s\"", tg_window_name(a->window));
	else
		fputs("null", f);
	fputs(",\"alert_pct\":", f);
	json_small(f, a->alert_pct);
	fputs(",\"pct\":", f);
	json_small(f, tg_alert_pct(a));
	fputs(",\"repeat\":", f);
	fputs(a->repeat < 0 ? "null" : a->repeat ? "true" : "false", f);
	tg_alert_message(a, message, sizeof message);
	fputs(",\"message\":", f);
	tg_emit_json_str(f, message);
	if (key) {
		hex_key(key, id);
		fprintf(f, ",\"id\":\"%s\"", id);
	}
	putc('}', f);
}

void tg_alert_slack(FILE *f, const struct tg_alert *a)
{
	char message[TG_ALERT_MESSAGE_MAX];

	tg_alert_message(a, message, sizeof message);
	fputs("{\"text\":", f);
	tg_emit_json_str(f, message);
	putc('}', f);
}

/* One variable into out[*n]; an empty value is a field not known. */
static int var(char **out, int *n, const char *name, const char *value)
{
	size_t len;

	if (!value[0] || *n == TG_ALERT_ENV_MAX)
		return 0;
	len = sizeof TG_ALERT_ENV_PREFIX + strlen(name) + 1 + strlen(value);
	if (!(out[*n] = malloc(len)))
		return -1;
	snprintf(out[(*n)++], len, TG_ALERT_ENV_PREFIX "%s=%s", name, value);
	return 0;
}

int tg_alert_env(const unsigned char *key, const struct tg_alert *a, char **out)
{
	char ts[TG_WHEN_ISO_MAX], start[TG_WHEN_ISO_MAX] = "", id[33] = "";
	char limit_usd[48] = "", spend_usd[48] = "", limit_tok[24] = "", spend_tok[24] = "";
	char pct[16] = "", threshold[16] = "", pid[16] = "";
	char message[TG_ALERT_MESSAGE_MAX];
	int n = 0, bad = 0;

	tg_when_iso(a->ts_us, ts);
	if (a->window_start_us >= 0)
		tg_when_iso(a->window_start_us, start);
	if (a->limit_usd >= 0 && tg_decimal_shortest(a->limit_usd, limit_usd, sizeof limit_usd) < 0)
		limit_usd[0] = '\0';
	if (a->spend_usd >= 0 && tg_decimal_shortest(a->spend_usd, spend_usd, sizeof spend_usd) < 0)
		spend_usd[0] = '\0';
	if (a->limit_tokens >= 0)
		snprintf(limit_tok, sizeof limit_tok, "%lld", (long long)a->limit_tokens);
	if (a->spend_tokens >= 0)
		snprintf(spend_tok, sizeof spend_tok, "%lld", (long long)a->spend_tokens);
	if (tg_alert_pct(a) >= 0)
		snprintf(pct, sizeof pct, "%d", tg_alert_pct(a));
	if (a->alert_pct >= 0)
		snprintf(threshold, sizeof threshold, "%d", a->alert_pct);
	if (a->pid > 0)
		snprintf(pid, sizeof pid, "%d", a->pid);
	if (key)
		hex_key(key, id);
	tg_alert_message(a, message, sizeof message);
	bad |= var(out, &n, "KIND", tg_alert_level_name(a->level));
	bad |= var(out, &n, "POLICY", a->policy);
	bad |= var(out, &n, "SCOPE", a->scope);
	bad |= var(out, &n, "WINDOW", a->window >= 0 ? tg_window_name(a->window) : "");
	bad |= var(out, &n, "WINDOW_START", start);
	bad |= var(out, &n, "LIMIT_USD", limit_usd);
	bad |= var(out, &n, "LIMIT_TOKENS", limit_tok);
	bad |= var(out, &n, "SPEND_USD", spend_usd);
	bad |= var(out, &n, "SPEND_TOKENS", spend_tok);
	bad |= var(out, &n, "PCT", pct);
	bad |= var(out, &n, "THRESHOLD", threshold);
	bad |= var(out, &n, "MODEL", a->model);
	bad |= var(out, &n, "PROVIDER", a->provider);
	bad |= var(out, &n, "PROCESS", a->process);
	bad |= var(out, &n, "PID", pid);
	bad |= var(out, &n, "TIME", ts);
	bad |= var(out, &n, "DETAIL", a->detail);
	bad |= var(out, &n, "MESSAGE", message);
	bad |= var(out, &n, "ID", id);
	if (bad) {
		while (n)
			free(out[--n]);
		return -1;
	}
	return n;
}

/* estimate_budget.c - see estimate_budget.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimate_budget.h"
#include "ledger_budget.h"
#include "settings.h"
#include "zones.h"

/* As many TOKENGUARD_BUDGETS policies as the shim reads: past them it
 * applies none. */
#define ENV_MAX TG_ENV_POLICIES_MAX

/* The call's tags as the shim keeps them: "k=v,k=v". */
static void tags_of(const struct tg_report *rep, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < rep->filter.ntags && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "", rep->filter.tag[i]);
}

/* Stored policies into *out (calloc'd, *n of them); none without a ledger. */
static int stored_policies(const struct tg_report *rep, struct tg_ledger *l, struct tg_policy **out,
                           int *n)
{
	int rc, got = 0;

	*out = NULL;
	*n = 0;
	if (!l)
		return 0;
	if ((rc = tg_ledger_policies(l, NULL, 0, &got, NULL)) != 0)
		return tg_report_ledger_fail(rep, rc);
	if (!(*out = calloc((size_t)got + 1, sizeof **out)))
		return tg_report_fail(rep, "out of memory; retry with more memory available");
	if ((rc = tg_ledger_policies(l, *out, got, n, NULL)) != 0)
		return tg_report_ledger_fail(rep, rc);
	if (*n > got)
		*n = got;   /* one set between the two reads is not seen */
	if (*n > TG_STORED_POLICIES_MAX) {
		fprintf(rep->err, "tokenguard-report: warning: more than %d budget policies are "
		        "stored; the shim applies only the first %d, as this estimate does\n",
		        TG_STORED_POLICIES_MAX, TG_STORED_POLICIES_MAX);
		*n = TG_STORED_POLICIES_MAX;
	}
	return 0;
}

/* Drops the policies whose zone cannot be read, as the shim refuses them
 * (zones.h), saying so.  Returns the new count. */
static int keep_zoned(const struct tg_report *rep, struct tg_policy *list, int n)
{
	char err[256];
	int kept = 0;

	for (int i = 0; i < n; i++) {
		if (tg_policy_zone_ready(&list[i], err, sizeof err)) {
			fprintf(rep->err, "tokenguard-report: warning: policy %s: %s; the shim does not "
			        "apply it\n", list[i].name, err);
			continue;
		}
		list[kept++] = list[i];
	}
	return kept;
}

/* The policies of env then stored that govern c, as the gate orders them
 * (a tag:KEY=* one bound to c's value, policy.h). */
static int match(struct tg_estimate_budget *b, const struct tg_policy *env, int nenv,
                 const struct tg_policy *stored, int nstored, const struct tg_call *c)
{
	if (!(b->rows = calloc((size_t)(nenv + nstored) + 1, sizeof *b->rows)))
		return -1;
	for (int i = 0; i < nenv; i++)
		b->n += tg_policy_bind(&env[i], c, &b->rows[b->n].policy);
	for (int i = 0; i < nstored; i++)
		b->n += tg_policy_bind(&stored[i], c, &b->rows[b->n].policy);
	return 0;
}

/* The spend of each row as the gate reads it. */
static int read_spend(const struct tg_report *rep, struct tg_ledger *l, struct tg_estimate_budget *b)
{
	struct tg_policy *p = calloc((size_t)b->n + 1, sizeof *p);
	struct tg_spend *s = calloc((size_t)b->n + 1, sizeof *s);
	int rc = 0;

	if (!p || !s) {
		free(p);
		free(s);
		return tg_report_fail(rep, "out of memory; retry with more memory available");
	}
	for (int i = 0; i < b->n; i++) {
		p[i] = b->rows[i].policy;
		s[i].window_start_us = s[i].reset_us = -1;
	}
	if (l && b->n && (rc = tg_ledger_spend_many(l, p, b->n, b->now_us, s)) != 0)
		rc = tg_report_ledger_fail(rep, rc);
	for (int i = 0; rc == 0 && i < b->n; i++)
		b->rows[i].spend = s[i];   /* a session window: a new process's, zeros */
	free(p);
	free(s);
	return rc;
}

static void decide(const struct tg_quote *q, const char *model, int64_t max_tokens,
                   struct tg_estimate_budget *b)
{
	struct tg_decide_call c = {
		.model = model,
		.max_tokens = max_tokens,
		.can_rewrite = 1,
		.price = q->line,
		.ceiling = !q->line && q->priced_at ? &q->at : NULL,
		.fail_closed = tg_setting(TG_SET_FAIL) && !strcmp(tg_setting(TG_SET_FAIL), "closed"),
	};

	memset(&b->merged, 0, sizeof b->merged);
	b->merged.verdict = TG_VERDICT_ALLOW;
	b->merged.new_max_tokens = -1;
	for (int i = 0; i < b->n; i++) {
		tg_policy_decide(&b->rows[i].policy, &b->rows[i].spend, &c, &b->rows[i].v);
		tg_verdict_merge(&b->merged, &b->rows[i].policy, &b->rows[i].v);
	}
}

static int open_ledger(const struct tg_report *rep, struct tg_ledger **l, int *none)
{
	int rc = tg_ledger_open(l, rep->dir, TG_LEDGER_RDONLY);

	*none = rc == TG_ENOENT;
	if (rc == TG_ENOENT) {
		*l = NULL;
		return 0;
	}
	if (rc)
		return tg_report_dir_fail(rep, rc);
	return 0;
}

int tg_estimate_budget(const struct tg_report *rep, const struct tg_quote *q, const char *model,
                       struct tg_estimate_budget *b)
{
	struct tg_policy env[ENV_MAX], *stored = NULL;
	struct tg_ledger *l = NULL;
	char tags[TG_TAGS_MAX], err[512];
	int nenv = 0, nstored = 0, rc;
	struct tg_call c;

	memset(b, 0, sizeof *b);
	b->now_us = rep->now_us;
	/* As the shim: a TOKENGUARD_BUDGETS it cannot read applies none of
	 * its policies, and the stored ones still do. */
	if (tg_policies_parse_env(tg_setting(TG_SET_BUDGETS), env, ENV_MAX, &nenv, err,
	                          sizeof err)) {
		fprintf(rep->err, "tokenguard-report: warning: TOKENGUARD_BUDGETS: %s; the shim applies "
		        "none of its policies until it is fixed\n", err);
		nenv = 0;
		b->env_ignored = 1;
	}
	if ((rc = open_ledger(rep, &l, &b->no_ledger)) != 0)
		return rc;
	if ((rc = stored_policies(rep, l, &stored, &nstored)) != 0)
		goto close;
	nenv = keep_zoned(rep, env, nenv);
	nstored = keep_zoned(rep, stored, nstored);
	tags_of(rep, tags, sizeof tags);
	c = (struct tg_call){
		.provider = q->provider,
		.model = model,
		.model_family = tg_price_family(q->line, model),
		.process = rep->filter.process,
		.tags = tags,
		.asked_model = NULL,
	};
	if (match(b, env, nenv, stored, nstored, &c)) {
		rc = tg_report_fail(rep, "out of memory; retry with more memory available");
		goto close;
	}
	if ((rc = read_spend(rep, l, b)) != 0)
		goto close;
	decide(q, model, q->output_tokens, b);
close:
	free(stored);
	tg_ledger_close(l);
	return rc;
}

void tg_estimate_budget_free(struct tg_estimate_budget *b)
{
	free(b->rows);
	b->rows = NULL;
	b->n = 0;
}

const char *tg_estimate_verdict_name(const struct tg_policy_verdict *v)
{
	if (v->verdict == TG_VERDICT_BLOCK)
		return "block";
	if (v->verdict == TG_VERDICT_REWRITE)
		return v->new_model ? "downgrade" : "clamp";
	if (v->alerts & ((1u << TG_ALERT_LIMIT) | (1u << TG_ALERT_FALLBACK)))
		return "warn";
	return "allow";
}

/* alert_text.h - an alert of the ledger (struct tg_alert, ledger_budget.h)
 * as people and programs receive it: its kind, the share of its limit it
 * records, one sentence, one JSON object, the Slack-compatible body and
 * the environment of an `alerts --exec` command.  Pure functions: what
 * is sent, where and when is cmd_alerts.c's.
 *
 * Only what the alert holds is said: a field an alert does not know (an
 * alert written before the field existed, an unpriced model's alert,
 * which has no policy) is null in JSON and unset in the environment,
 * never a guess. */
#ifndef TG_ALERT_TEXT_H
#define TG_ALERT_TEXT_H

#include <stdio.h>

#include "ledger_budget.h"

/* Amounts in the dimensions a policy limits (budget status, the alerts
 * tables): dollars (money.h) for a USD limit, tokens for a token limit,
 * both joined by " + " ("$5 + 2000000 tok"); "-" for neither.
 * tg_amounts_text joins amounts already written (NULL: a dimension not
 * limited); tg_limit_text writes a limit, usd or tokens < 0 being a
 * dimension not limited; tg_alert_spend_text the spend an alert recorded,
 * in the dimensions of its limits; tg_money_or_unknown is money.h's text,
 * "$?" when usd is not finite. */
void tg_amounts_text(const char *usd_text, const char *tok_text, char *buf, size_t n);
void tg_limit_text(double usd, int64_t tokens, char *buf, size_t n);
void tg_alert_spend_text(const struct tg_alert *a, char *buf, size_t n);
void tg_money_or_unknown(double usd, char *buf, size_t n);

/* Longest sentence tg_alert_message() writes, NUL included. */
#define TG_ALERT_MESSAGE_MAX 1024

/* The share of its limits the alert's spend is, in whole percent rounded
 * down (the rule of tg_policy_used_pct, policy.h), or -1 when the alert
 * records no limit or no spend. */
int tg_alert_pct(const struct tg_alert *a);

/* One sentence for people: "tokenguard: budget 'daily' (global, day)
 * reached its limit: spent $5.01 of $5.00 (100%); process agent (pid 7),
 * model gpt-4o".  Never longer than n - 1 bytes. */
void tg_alert_message(const struct tg_alert *a, char *buf, size_t n);

/* The alert as one JSON object (no newline): ts, policy, level, spend_usd,
 * spend_tokens, limit_usd, limit_tokens, window_start, pid, process,
 * model, detail (what `budget alerts --format json` has always written),
 * then provider, scope, window, alert_pct, pct, repeat, message and,
 * when key is not NULL, id (the alert's ledger key in hex: unique, the
 * same when it is delivered again). */
void tg_alert_json(FILE *f, const unsigned char *key, const struct tg_alert *a);

/* The body of a Slack incoming webhook (and of Mattermost's, Discord's
 * /slack endpoint, ...): {"text":"<the sentence>"}. */
void tg_alert_slack(FILE *f, const struct tg_alert *a);

/* The TOKENGUARD_ALERT_* variables of the alert, "NAME=value" each,
 * malloc'd into out (at most TG_ALERT_ENV_MAX; free each).  A field the
 * alert does not know has no variable.  key may be NULL (no _ID).
 * Returns how many, or -1 when out of memory (none left allocated). */
#define TG_ALERT_ENV_MAX 24
#define TG_ALERT_ENV_PREFIX "TOKENGUARD_ALERT_"
int tg_alert_env(const unsigned char *key, const struct tg_alert *a, char **out);

#endif

/* policy.h - budget policies: what a limit is, its one-line syntax, the
 * calendar windows it counts over, and which calls it governs.
 *
 * Owns: struct tg_policy, its parser and formatter, window arithmetic and
 * the scope match.  Pure functions: no I/O, no allocation, no globals, so
 * the shim (on every provider request) and the report share one meaning.
 *
 * One-line syntax
 * ---------------
 *   SCOPE,FIELD[,FIELD...]
 *
 * SCOPE comes first; the fields follow in any order, each at most once:
 *
 *   SCOPE    global | tag:KEY=VALUE | tag:KEY=* | model:NAME | provider:NAME
 *            | process:NAME
 *   WINDOW   day | month | day@ZONE | month@ZONE | 24h | session (required)
 *   LIMIT    usd=NUMBER | tokens=INTEGER                 (one or both required)
 *   ACTION   block | warn | downgrade:MODEL | clamp                (required)
 *   alert=N  percent of a limit at which to alert once per window,
 *            1..100, "%" allowed (alert=80%); default 80
 *   fallback=block|warn
 *            what downgrade and clamp do when the request body cannot be
 *            rewritten; default block
 *   unpriced=estimate|block|allow
 *            how a USD limit treats a call whose cost is not measured:
 *            estimate (default) counts the estimate the shim records for
 *            it (shim/estimate.h: a model without a price at its
 *            provider's highest rates, a stream without usage from its
 *            size); block also refuses calls to a model without a price
 *            while the policy has a USD limit (warn only says so); allow
 *            counts no estimate.  A model priced at zero on purpose (a
 *            price line of zeros) is priced.
 *   fleet    the limit holds for the spend of every machine that shares
 *            the scope (ledger_fleet.h: `tokenguard-report sync` exchanges
 *            it through Redis), not of this ledger alone; day, month,
 *            day@ZONE and month@ZONE only (a 24h window rolls, a session
 *            is one process's), and not with tag:KEY=* (one total per
 *            value would be exchanged)
 *   name=NAME
 *            1..63 characters of [A-Za-z0-9_.:-]
 *
 * NUMBER is a non-negative decimal (0.5, 25, 1e-3) of at most 1e9, with
 * '.' as the decimal point whatever the locale; INTEGER is a non-negative
 * integer of at most 1e15 with an optional k (x1000) or M (x1000000)
 * suffix, fractions allowed with a suffix (tokens=2M, tokens=1.5k).  The
 * caps keep every limit printable and far from overflow in the sums; no
 * real budget comes near them.  Tokens count input plus output.  Spaces around fields are ignored.  Examples:
 *
 *   global,month,usd=200,block
 *   tag:team=search,day,usd=5,tokens=2M,warn,alert=50%
 *   model:gpt-4o,24h,usd=10,downgrade:gpt-4o-mini,fallback=warn
 *   tag:team=search,day,usd=50,block,fleet
 *
 * tag:KEY=* counts every value of tag KEY apart: each value has its own
 * limit, as if there were one tag:KEY=VALUE policy per value
 * (tag:user=*,day,usd=5,block gives every user $5 a day).  A call
 * without tag KEY is not governed by it.  Its spend for a call is that of
 * tag:KEY=<the call's value> in the window (the ledger keeps it for every
 * tag of every record: ledger_budget.h), so checking it costs what a
 * tag:KEY=VALUE policy costs however many values exist.  The gate binds
 * the policy to the call's value (tg_policy_bind) and alerts once per
 * policy, value and window.  A tag value of "*" itself cannot be named
 * by a policy.
 *
 * day and month without a zone are UTC: day is [00:00, next 00:00); month
 * is [the 1st 00:00, the next 1st).  day@ZONE and month@ZONE count the
 * same in the local time of ZONE, a tz database name (Europe/Berlin,
 * Asia/Kolkata, America/Los_Angeles, UTC; tzif.h reads it): from local
 * midnight to the next, so a day is 23 or 25 hours long when the clocks
 * change, and a day that would begin in a DST gap begins where the gap
 * ends.  24h and session do not depend on a zone: 24h@ZONE and
 * session@ZONE are refused.  24h is rolling and hour-granular: the
 * current clock hour and the 24 before it, so it resets when the oldest
 * hour drops out (at the next full hour); session is the life of one process and is counted by
 * that process, never in the ledger.
 *
 * TOKENGUARD_BUDGETS holds several policies separated by ';'; those
 * without name= are called env1, env2, ... by position.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "record.h"
#include "tzif.h"

enum tg_window { TG_WIN_DAY, TG_WIN_MONTH, TG_WIN_24H, TG_WIN_SESSION };
enum tg_scope { TG_SCOPE_GLOBAL, TG_SCOPE_TAG, TG_SCOPE_MODEL, TG_SCOPE_PROVIDER, TG_SCOPE_PROCESS };
enum tg_action { TG_ACT_BLOCK, TG_ACT_WARN, TG_ACT_DOWNGRADE, TG_ACT_CLAMP };
enum tg_unpriced { TG_UNPRICED_ESTIMATE, TG_UNPRICED_BLOCK, TG_UNPRICED_ALLOW };
/* How a tag scope names its value (struct tg_policy.per_value). */
enum tg_per_value {
	TG_VALUE_FIXED,   /* tag:KEY=VALUE, and every other scope */
	TG_VALUE_EACH,    /* tag:KEY=*: scope_value is "KEY=*", every value apart */
	TG_VALUE_BOUND,   /* a TG_VALUE_EACH policy bound to one value by
	                     tg_policy_bind(): scope_value is "KEY=VALUE" */
};

#define TG_ALERT_PCT_DEFAULT 80

/* The most policies TOKENGUARD_BUDGETS may hold: a process applies none
 * of them when it holds more (tg_policies_parse_env's error).  The shim's
 * gate and `estimate --budget` read it with this cap. */
#define TG_ENV_POLICIES_MAX 16

/* The largest limits tg_policy_parse() accepts (see NUMBER above). */
#define TG_POLICY_USD_MAX 1e9
#define TG_POLICY_TOKENS_MAX INT64_C(1000000000000000)

/* Longest policy line tg_policy_format() writes, NUL included. */
#define TG_POLICY_LINE_MAX (TG_TAGS_MAX + TG_MODEL_MAX + TG_POLICY_NAME_MAX + TG_TZ_NAME_MAX + 160)

/* Longest window text tg_policy_window_text() writes, NUL included. */
#define TG_WINDOW_TEXT_MAX (16 + TG_TZ_NAME_MAX)

/* Longest scope string tg_policy_scope_key() writes, NUL included. */
#define TG_SCOPE_KEY_MAX (TG_TAGS_MAX + 16)

struct tg_policy {
	char name[TG_POLICY_NAME_MAX];
	enum tg_scope scope;
	char scope_value[TG_TAGS_MAX];  /* "team=search" for tag, model/provider/process name; "" for global */
	enum tg_window window;
	char zone[TG_TZ_NAME_MAX];      /* day/month only: the zone of day@ZONE, month@ZONE;
	                                   "" for UTC without a zone (zones.h loads it) */
	double limit_usd;               /* < 0: no USD limit */
	int64_t limit_tokens;           /* < 0: no token limit (tokens = input + output) */
	enum tg_action action;
	char downgrade_model[TG_MODEL_MAX];
	enum tg_action fallback;        /* for downgrade/clamp when the body cannot be rewritten:
	                                   TG_ACT_BLOCK (default) or TG_ACT_WARN */
	int alert_pct;                  /* 1..100, default 80 */
	enum tg_unpriced unpriced;      /* default TG_UNPRICED_ESTIMATE */
	int from_env;                   /* defined by TOKENGUARD_BUDGETS, not stored */
	enum tg_per_value per_value;    /* TG_VALUE_FIXED unless tag:KEY=* */
	int fleet;                      /* the limit is the fleet's (the word fleet) */
};

/* A call as the shim sees it before sending it. */
struct tg_call {
	const char *provider, *model, *model_family, *process, *tags; /* tags "k=v,k=v" */
	/* The model the program named when the one served or read differs
	 * (an Azure deployment's name): a model: scope naming it matches too.
	 * NULL or "" when none (tg_record_asked_model). */
	const char *asked_model;
};

/* Parses one policy line into *out (fully overwritten; name is "" unless
 * name= is given).  Returns 0, or -1 with a message in err naming the
 * field and what was expected. */
int tg_policy_parse(const char *spec, struct tg_policy *out, char *err, size_t errlen);

/* Parses TOKENGUARD_BUDGETS: up to max policies separated by ';' (empty
 * pieces skipped), each with from_env set and a default name envN (N its
 * position among the pieces, from 1).  Sets *n.  Returns 0, or -1 with a
 * message in err starting with "policy N: "; *n is then 0. */
int tg_policies_parse_env(const char *env, struct tg_policy *out, int max, int *n,
                          char *err, size_t errlen);

/* Writes p in the one-line syntax (name= last, when p has a name), such
 * that tg_policy_parse() gives p back.  Returns the length, or -1 when n is
 * too small (TG_POLICY_LINE_MAX always suffices). */
int tg_policy_format(const struct tg_policy *p, char *buf, size_t n);

/* Returns 0 when name is a valid policy name, else -1 with a message. */
int tg_policy_name_check(const char *name, char *err, size_t errlen);

/* The window of w containing now_us (UTC): *start_us inclusive, *reset_us
 * when the window (or for 24h its oldest hour) ends.  Returns 0, or
 * TG_EINVAL for TG_WIN_SESSION (not a time window) or an unknown w. */
int tg_window_bounds(enum tg_window w, int64_t now_us, int64_t *start_us, int64_t *reset_us);

/* tg_window_bounds() with day and month counted in zone tz (NULL: UTC).
 * A policy's window is tg_policy_bounds() of zones.h, which finds tz. */
int tg_window_bounds_tz(enum tg_window w, const struct tg_tz *tz, int64_t now_us,
                        int64_t *start_us, int64_t *reset_us);

/* p's window as the syntax spells it: "day", "month@Europe/Berlin".
 * Returns the length, or -1 when n is too small (TG_WINDOW_TEXT_MAX
 * always suffices). */
int tg_policy_window_text(const struct tg_policy *p, char *buf, size_t n);

/* 1 when p governs c, else 0.  Model scope: NAME equals the model or its
 * price family (the caller passes model_family from tg_price_find()->family,
 * or the model itself when unpriced), ignoring case like provider scope;
 * tag scope: exact key and value among the call's tags (tag:KEY=*: the
 * key with any value); process scope: exact name.  NULL members of c
 * match nothing. */
int tg_policy_matches(const struct tg_policy *p, const struct tg_call *c);

/* For a tag:KEY=* policy (TG_VALUE_EACH): 1 when c has tag KEY.
 * Otherwise as tg_policy_matches().  When it returns 1, *out is p as it
 * governs c: p itself, or for TG_VALUE_EACH p bound to c's value of KEY
 * (TG_VALUE_BOUND, scope_value "KEY=VALUE": its spend, scope key and
 * match are those of tag:KEY=VALUE; its name stays p's).  The tags of c
 * are the only source of the value. */
int tg_policy_bind(const struct tg_policy *p, const struct tg_call *c, struct tg_policy *out);

/* The value a TG_VALUE_BOUND policy counts ("alice" of "user=alice");
 * "" for any other policy. */
const char *tg_policy_value(const struct tg_policy *p);

/* The key a tag:KEY=* policy counts per value into buf ("user");
 * returns its length, or -1 when p is no such policy or n too small. */
int tg_policy_each_key(const struct tg_policy *p, char *buf, size_t n);

/* The scope string under which the ledger keeps the spend of p's scope:
 * "global", "tag:k=v", "model:name", "provider:name", "process:name", with
 * model and provider names in lowercase.  Returns the length, or -1 when n
 * is too small (TG_SCOPE_KEY_MAX always suffices) or p is tag:KEY=* not
 * bound to a value (TG_VALUE_EACH: it has no one scope). */
int tg_policy_scope_key(const struct tg_policy *p, char *buf, size_t n);

/* How much of p's limits a spend of usd and tokens uses, in percent: the
 * larger of the USD and the token share, a limit of 0 being 100 % used.
 * With usd_applies 0 the USD limit is left out (the gate's call to a
 * model priced at zero on purpose cannot add to it).  The gate and
 * `budget status` both go by this. */
double tg_policy_used_pct(const struct tg_policy *p, double usd, int64_t tokens, int usd_applies);

/* Names for the enums as the syntax spells them ("day", "tag", "block",
 * "downgrade"). */
const char *tg_window_name(enum tg_window w);
const char *tg_scope_name(enum tg_scope s);
const char *tg_action_name(enum tg_action a);
const char *tg_unpriced_name(enum tg_unpriced u);

#endif

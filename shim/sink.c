/* sink.c - see sink.h. */
#include "sink.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attrib.h"
#include "config.h"
#include "ledger.h"
#include "ledger_budget.h"
#include "log.h"
#include "operation.h"
#include "price.h"
#include "text.h"
#include "pid.h"

#define WARNED_MODELS_MAX 64

static struct {
	pthread_mutex_t lock;
	pid_t pid;                 /* process that opened `ledger` */
	struct tg_ledger *ledger;
	int64_t retry_after_us;    /* ledger open failed: not before this */
	int last_error;            /* last ledger error warned about */
	struct tg_prices *prices;
	int prices_loaded;
	char warned[WARNED_MODELS_MAX][TG_PROVIDER_MAX + TG_MODEL_MAX];
	int nwarned;
	/* Models without a price this process has put in the ledger's alerts,
	 * and the UTC day it did (a ring: the oldest goes first). */
	struct unpriced_alerted {
		char key[TG_PROVIDER_MAX + TG_MODEL_MAX];
		int64_t day_us;
	} alerted[WARNED_MODELS_MAX];
	int nalerted;
	int fold_wanted;           /* the handle's spool is due a fold (tg_sink_idle) */
	tg_commit_observer observer;
} sink = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Bad lines of the price file: the first is named, the rest counted in
 * one more line, so a file of typos takes two of the few lines the shim
 * may print (log.h), not all of them. */
static void warn_skipped_prices(const struct tg_prices *t)
{
	size_t n = tg_prices_skipped(t);

	if (!n)
		return;
	tg_warn("prices: %s; line skipped, the rest of the file applies",
	        tg_prices_skipped_line(t, 0));
	if (n > 1)
		tg_warn("prices: %zu more bad line%s skipped; 'tokenguard-report prices' lists them",
		        n - 1, n == 2 ? "" : "s");
}

static void load_prices(void)
{
	char err[256];
	const struct tg_config *cfg = tg_config_get();
	sink.prices_loaded = 1;
	if (tg_prices_load_file(&sink.prices, cfg->prices_file,
	                        cfg->prices_found ? TG_PRICES_FOUND_FILE : 0, err, sizeof err) != 0) {
		tg_warn("prices: %s; using the built-in table", err);
		if (tg_prices_load(&sink.prices, NULL, err, sizeof err) != 0)
			sink.prices = NULL;
		return;
	}
	warn_skipped_prices(sink.prices);
}

static int already_warned(const char *provider, const char *model)
{
	char key[TG_PROVIDER_MAX + TG_MODEL_MAX];
	snprintf(key, sizeof key, "%s/%s", provider, model);
	for (int i = 0; i < sink.nwarned; i++)
		if (strcmp(sink.warned[i], key) == 0)
			return 1;
	if (sink.nwarned == WARNED_MODELS_MAX) {
		return 1;   /* enough said: the reports count unpriced calls anyway */
	}
	strcpy(sink.warned[sink.nwarned++], key);
	return 0;
}

/* Sets cost_usd and its flags (estimate.h); returns the price line
 * found, whose family names the model scope of the record's spend. */
static const struct tg_price *price(struct tg_record *r, const struct tg_call_size *size)
{
	const struct tg_price *p = NULL;
	struct tg_price ceiling;
	int has_ceiling = 0;
	if (!sink.prices_loaded)
		load_prices();
	if (sink.prices && r->model[0])
		p = tg_price_find(sink.prices, r->provider, r->model);
	if (r->flags & TG_REC_BLOCKED) {
		r->cost_usd = 0;   /* never sent: nothing to pay, priced or not */
		return p;
	}
	if (tg_operation_counts_tokens(r->operation)) {
		r->cost_usd = 0;   /* counting tokens is free, priced model or not */
		return p;
	}
	if (!p || (r->flags & TG_REC_USAGE_UNKNOWN))
		has_ceiling = tg_price_ceiling(sink.prices, r->provider, &ceiling) == 0;
	tg_estimate_cost(r, size, p, has_ceiling ? &ceiling : NULL);
	if (!p && !already_warned(r->provider, r->model))
		tg_warn("no price for %s model \"%s\": its calls are marked unpriced and charged to "
		        "budgets at an estimate (%s's highest prices); add it to "
		        "~/.config/tokenguard/prices.tsv or TOKENGUARD_PRICES", r->provider,
		        r->model[0] ? r->model : "(unknown)", r->provider);
	return p;
}

/* A call to a model without a price is an alert (ledger_budget.h:
 * TG_ALERT_UNPRICED) once per provider, model and UTC day across every
 * process, so that `tokenguard-report alerts` can tell a person; this
 * process asks the ledger once per model and day.  No policy is needed:
 * the estimate it is charged at applies to every budget. */
static void alert_unpriced(struct tg_ledger *l, const struct tg_record *r)
{
	const int64_t day = INT64_C(86400000000);
	int64_t now = tg_wall_us(), today = now - (now % day + day) % day;
	char key[TG_PROVIDER_MAX + TG_MODEL_MAX];
	struct unpriced_alerted *slot = NULL;
	struct tg_alert a;

	if (!(r->flags & TG_REC_UNPRICED) || (r->flags & TG_REC_BLOCKED))
		return;
	snprintf(key, sizeof key, "%s/%s", r->provider, r->model);
	for (int i = 0; i < sink.nalerted && i < WARNED_MODELS_MAX; i++)
		if (strcmp(sink.alerted[i].key, key) == 0)
			slot = &sink.alerted[i];
	if (slot && slot->day_us == today)
		return;
	tg_alert_init(&a);
	a.ts_us = now;
	a.level = TG_ALERT_UNPRICED;
	a.window_start_us = today;
	a.pid = r->pid;
	a.repeat = 0;
	snprintf(a.process, sizeof a.process, "%s", r->process);
	snprintf(a.model, sizeof a.model, "%s", r->model);
	snprintf(a.provider, sizeof a.provider, "%s", r->provider);
	snprintf(a.detail, sizeof a.detail, "no price for this model: charged at an estimate");
	if (tg_ledger_alert_once(l, &a) < 0)
		return;   /* asked again at its next call */
	if (!slot)
		slot = &sink.alerted[sink.nalerted++ % WARNED_MODELS_MAX];
	memcpy(slot->key, key, sizeof key);
	slot->day_us = today;
}

void tg_sink_ledger_problem(int rc, const char *what, const char *consequence)
{
	if (rc == sink.last_error)
		return;
	sink.last_error = rc;
	tg_warn("%s the ledger at %s: %s; the program runs on, but %s", what,
	        tg_config_get()->ledger_dir, tg_strerror(rc), consequence);
}

static void warn_ledger(int rc, const char *what)
{
	tg_sink_ledger_problem(rc, what, "its LLM calls are not recorded");
}

static struct tg_ledger *ledger(void)
{
	const struct tg_config *cfg = tg_config_get();
	pid_t pid = tg_getpid();

	if (sink.ledger && sink.pid != pid) {
		/* An MDB_env must not be used or closed in a forked child: closing
		 * would drop the parent's fcntl locks.  Leave it and open our own. */
		tg_ledger_abandon(sink.ledger);
		sink.ledger = NULL;
	}
	if (sink.ledger)
		return sink.ledger;
	if (tg_wall_us() < sink.retry_after_us)
		return NULL;
	if (cfg->ledger_dir[0] == '\0') {
		tg_warn("%s; the program runs on, but its LLM calls are not recorded",
		        cfg->ledger_problem);
		sink.retry_after_us = INT64_MAX;
		return NULL;
	}
	/* A spooling handle: no call of the program ever waits for another
	 * process's commit (ledger.h); by default a handing-off one, whose
	 * appends are a write(2) each and whose commits come in groups. */
	unsigned flags = TG_LEDGER_CREATE | TG_LEDGER_SPOOL | (cfg->sync_commit ? 0 : TG_LEDGER_HANDOFF);
	int rc = tg_ledger_open(&sink.ledger, cfg->ledger_dir, flags);
	if (rc != 0) {
		sink.ledger = NULL;
		sink.retry_after_us = tg_wall_us() + (int64_t)TG_SINK_RETRY_S * 1000000;
		warn_ledger(rc, "cannot open");
		return NULL;
	}
	sink.pid = pid;
	return sink.ledger;
}

void tg_sink_observe(tg_commit_observer fn)
{
	sink.observer = fn;
}

/* Who made the call: what the exchange leaves to the process's
 * configuration.  Before the sink's lock: a hashed user id may read the
 * ledger's key. */
static void stamp_origin(struct tg_record *r, const struct tg_call_origin *origin)
{
	const struct tg_config *cfg = tg_config_get();

	r->pid = (int32_t)tg_getpid();
	memcpy(r->process, cfg->process, sizeof r->process);
	memcpy(r->machine, cfg->machine, sizeof r->machine);
	tg_attrib_call_tags(cfg, origin->req, origin->header, r->tags);
}

void tg_sink_commit(struct tg_record *r, const struct tg_call_size *size,
                    const struct tg_call_origin *origin)
{
	stamp_origin(r, origin);
	pthread_mutex_lock(&sink.lock);
	const struct tg_price *p = price(r, size);
	const char *family = tg_price_family(p, r->model);
	if (sink.observer)
		sink.observer(r, family);
	struct tg_ledger *l = ledger();
	if (l) {
		int rc = tg_ledger_append_scoped(l, r, family);
		if (rc == TG_LEDGER_SPOOLED && tg_config_get()->sync_commit)
			tg_debug("the ledger is locked by another process: record spooled");
		else if (rc < 0)
			warn_ledger(rc, "cannot write to");
		else if (rc == 0)
			sink.last_error = 0;   /* a commit: the ledger is well again */
		if (rc == TG_LEDGER_SPOOLED && tg_ledger_fold_due(l))
			__atomic_store_n(&sink.fold_wanted, 1, __ATOMIC_RELAXED);
		if (rc >= 0)
			alert_unpriced(l, r);
	}
	pthread_mutex_unlock(&sink.lock);
	tg_debug("recorded %s %s %s status %d", r->provider, r->endpoint, r->model, r->status);
}

/* Folds the spools now.  In the program's calls (tg_sink_idle) only if
 * the writer lock is free at once; at exit, after the short wait every
 * spooling write makes (ledger.h: while other writers keep committing,
 * 50 ms at most), so that processes ending together do not leave each
 * other's last records behind.  Called with the sink's lock held. */
static void fold_now(int at_exit)
{
	struct tg_ledger *l = ledger();
	int rc = !l ? 0 : at_exit ? tg_ledger_fold(l, NULL, NULL) : tg_ledger_try_fold(l);

	if (rc == 0 || rc == TG_ELOCKED) {
		/* Locked: the holder's write folds every spool, ours too. */
		__atomic_store_n(&sink.fold_wanted, rc == TG_ELOCKED, __ATOMIC_RELAXED);
		if (rc == 0)
			sink.last_error = 0;
		return;
	}
	/* The records stay in the spool, safe, for a later fold; asking
	 * again at every request would only repeat the failure. */
	__atomic_store_n(&sink.fold_wanted, 0, __ATOMIC_RELAXED);
	tg_sink_ledger_problem(rc, "cannot commit to",
	                       "its LLM calls are kept in the ledger's spool until it can be written");
}

void tg_sink_idle(void)
{
	if (!__atomic_load_n(&sink.fold_wanted, __ATOMIC_RELAXED))
		return;
	/* Another thread of the program is recording or folding: it will do. */
	if (pthread_mutex_trylock(&sink.lock) != 0)
		return;
	if (sink.ledger && sink.pid == tg_getpid())
		fold_now(0);
	pthread_mutex_unlock(&sink.lock);
}

/* At exit the program waits for nothing of ours but this: what the
 * process handed off is committed now, unless the writer lock stays
 * taken (a stuck writer: the next writer folds it) or a thread of the
 * program is inside the sink. */
__attribute__((destructor)) static void sink_exit(void)
{
	if (pthread_mutex_trylock(&sink.lock) != 0)
		return;
	if (sink.ledger && sink.pid == tg_getpid() && tg_ledger_pending(sink.ledger) > 0)
		fold_now(1);
	pthread_mutex_unlock(&sink.lock);
}

void tg_sink_locked(void (*fn)(struct tg_ledger *l, const struct tg_prices *prices, void *ctx),
                    void *ctx)
{
	pthread_mutex_lock(&sink.lock);
	if (!sink.prices_loaded)
		load_prices();
	struct tg_ledger *l = ledger();
	/* The families a zoned window's partial hours match by (ledger_budget.h). */
	tg_ledger_set_prices(l, sink.prices);
	fn(l, sink.prices, ctx);
	pthread_mutex_unlock(&sink.lock);
}

void tg_sink_atfork_prepare(void)
{
	pthread_mutex_lock(&sink.lock);
}

void tg_sink_atfork_parent(void)
{
	pthread_mutex_unlock(&sink.lock);
}

void tg_sink_atfork_child(void)
{
	/* The child's first record notices the pid change and reopens. */
	pthread_mutex_unlock(&sink.lock);
}

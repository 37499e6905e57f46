/* sync_redis.c - see sync_redis.h. */
#include "sync_redis.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "policy.h"
#include "ledger_budget.h"
#include "ledger_fleet.h"
#include "settings.h"
#include "zones.h"

#define TIMEOUT_MS 500
#define EXPIRE_MARGIN_S 3600
#define FLEET_MAX (TG_STORED_POLICIES_MAX + TG_ENV_POLICIES_MAX)
#define REDIS_KEY_MAX (16 + TG_SCOPE_KEY_MAX + TG_WINDOW_TEXT_MAX + 24)
#define FIELD_MAX (TG_MACHINE_MAX + 16)

struct tg_sync_redis {
	redisContext *c;
	int unix_socket;
	char host[256];
	int port;
	char path[256];
	char user[128], password[256];
	int db;
	char where[TG_FLEET_WHERE_MAX];
};

static int say(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

static int copy_part(char *dst, size_t size, const char *p, size_t len)
{
	if (len >= size)
		return -1;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] */
static int parse_tcp(struct tg_sync_redis *r, const char *url, const char *rest, char *err, size_t n)
{
	const char *at = strrchr(rest, '@'), *host = at ? at + 1 : rest;
	const char *slash = strchr(host, '/'), *end = slash ? slash : host + strlen(host);
	const char *colon = memchr(host, ':', (size_t)(end - host));
	char *e;

	if (at) {
		const char *c = memchr(rest, ':', (size_t)(at - rest));
		if (!c || copy_part(r->user, sizeof r->user, rest, (size_t)(c - rest)) ||
		    copy_part(r->password, sizeof r->password, c + 1, (size_t)(at - c - 1)))
			return say(err, n, "%s: expected redis://[:PASSWORD@]HOST[:PORT][/DB] (a password "
			           "after ':' before the '@')", url);
	}
	if (copy_part(r->host, sizeof r->host, host, (size_t)((colon ? colon : end) - host)) ||
	    !r->host[0])
		return say(err, n, "%s: no host; expected redis://HOST[:PORT][/DB]", url);
	r->port = 6379;
	if (colon) {
		long port = strtol(colon + 1, &e, 10);
		if (e != end || colon + 1 == end || port < 1 || port > 65535)
			return say(err, n, "%s: the port is not a number from 1 to 65535", url);
		r->port = (int)port;
	}
	if (slash && slash[1]) {
		long db = strtol(slash + 1, &e, 10);
		if (*e || db < 0 || db > 65535)
			return say(err, n, "%s: the database after '/' is not a number", url);
		r->db = (int)db;
	}
	snprintf(r->where, sizeof r->where, "redis://%s%s%.200s:%d/%d", r->password[0] ? ":***" : "",
	         r->password[0] ? "@" : "", r->host, r->port, r->db);
	return 0;
}

int tg_sync_redis_new(struct tg_sync_redis **out, const char *url, char *err, size_t n)
{
	struct tg_sync_redis *r = calloc(1, sizeof *r);
	int rc = 0;

	*out = NULL;
	if (!r)
		return say(err, n, "out of memory");
	if (!strncmp(url, "redis://", 8)) {
		rc = parse_tcp(r, url, url + 8, err, n);
	} else if (!strncmp(url, "unix://", 7) && url[7] == '/') {
		r->unix_socket = 1;
		if (copy_part(r->path, sizeof r->path, url + 7, strlen(url + 7)))
			rc = say(err, n, "%s: the socket path is too long", url);
		snprintf(r->where, sizeof r->where, "unix://%.240s", r->path);
	} else {
		rc = say(err, n, "\"%s\" is not a Redis URL; expected redis://[:PASSWORD@]HOST[:PORT][/DB] "
		         "or unix:///PATH", url);
	}
	if (rc) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

const char *tg_sync_redis_where(const struct tg_sync_redis *r)
{
	return r->where;
}

void tg_sync_redis_free(struct tg_sync_redis *r)
{
	if (!r)
		return;
	if (r->c)
		redisFree(r->c);
	explicit_bzero(r->password, sizeof r->password);
	free(r);
}

/* What went wrong with the connection, in words: a timeout says so. */
static const char *conn_error(const struct tg_sync_redis *r)
{
	if (!r->c || !r->c->errstr[0])
		return "no reply";
	if (r->c->err == REDIS_ERR_IO && !strcmp(r->c->errstr, strerror(EAGAIN)))
		return "no answer within 500 ms (a stuck or overloaded Redis?)";
	return r->c->errstr;
}

static void drop(struct tg_sync_redis *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

/* One command outside a pipeline (AUTH, SELECT): 0, or -1 said. */
static int simple(struct tg_sync_redis *r, int argc, const char **argv, const char *what, char *err,
                  size_t n)
{
	redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
	int rc = 0;

	if (!rep)
		rc = say(err, n, "%s: %s: %s", r->where, what, conn_error(r));
	else if (rep->type == REDIS_REPLY_ERROR)
		rc = say(err, n, "%s: %s: %s", r->where, what, rep->str);
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static int connect_redis(struct tg_sync_redis *r, char *err, size_t n)
{
	struct timeval tv = { TIMEOUT_MS / 1000, (TIMEOUT_MS % 1000) * 1000 };
	char db[16];

	if (r->c)
		return 0;
	r->c = r->unix_socket ? redisConnectUnixWithTimeout(r->path, tv)
	                      : redisConnectWithTimeout(r->host, r->port, tv);
	if (!r->c)
		return say(err, n, "%s: cannot connect: out of memory", r->where);
	if (r->c->err) {
		say(err, n, "%s: cannot connect: %s", r->where, conn_error(r));
		drop(r);
		return -1;
	}
	if (redisSetTimeout(r->c, tv) != REDIS_OK) {
		say(err, n, "%s: cannot set a timeout: %s", r->where, r->c->errstr);
		drop(r);
		return -1;
	}
	if (r->password[0]) {
		const char *argv[3] = { "AUTH", r->user[0] ? r->user : r->password, r->password };
		if (simple(r, r->user[0] ? 3 : 2, argv, "AUTH", err, n)) {
			drop(r);
			return -1;
		}
	}
	if (r->db) {
		const char *argv[2] = { "SELECT", db };
		snprintf(db, sizeof db, "%d", r->db);
		if (simple(r, 2, argv, "SELECT", err, n)) {
			drop(r);
			return -1;
		}
	}
	return 0;
}

int tg_sync_redis_key(const struct tg_policy *p, int64_t window_start_us, char *buf, size_t n)
{
	char scope[TG_SCOPE_KEY_MAX], win[TG_WINDOW_TEXT_MAX];
	int k;

	if (tg_policy_scope_key(p, scope, sizeof scope) < 0 ||
	    tg_policy_window_text(p, win, sizeof win) < 0)
		return -1;
	k = snprintf(buf, n, "tokenguard:{%s}:%s:%" PRId64, scope, win,
	             window_start_us / 1000000 - (window_start_us % 1000000 < 0));
	return k < 0 || (size_t)k >= n ? -1 : k;
}

/* Adds p to out[*m] unless a policy of the same scope and window is
 * there already (one hash each). */
static void add_unique(struct tg_policy *out, int *m, int max, const struct tg_policy *p)
{
	char a[TG_FLEET_KEY_MAX], b[TG_FLEET_KEY_MAX];

	if (!p->fleet || *m == max || tg_fleet_key(p, a, sizeof a) < 0)
		return;
	for (int i = 0; i < *m; i++)
		if (tg_fleet_key(&out[i], b, sizeof b) >= 0 && !strcmp(a, b))
			return;
	out[(*m)++] = *p;
}

int tg_sync_fleet_policies(struct tg_ledger *l, struct tg_policy *out, int max, char *err, size_t n)
{
	static struct tg_policy stored[TG_STORED_POLICIES_MAX], env[TG_ENV_POLICIES_MAX];
	char msg[256];
	int ns = 0, ne = 0, m = 0, rc;

	if ((rc = tg_ledger_policies(l, stored, TG_STORED_POLICIES_MAX, &ns, NULL)) != 0)
		return say(err, n, "cannot read the budget policies: %s", tg_strerror(rc));
	if (ns > TG_STORED_POLICIES_MAX)
		ns = TG_STORED_POLICIES_MAX;   /* the gate applies only these */
	if (tg_policies_parse_env(tg_setting(TG_SET_BUDGETS), env, TG_ENV_POLICIES_MAX, &ne, msg,
	                          sizeof msg))
		ne = 0;   /* the shim does not apply them either; doctor says why */
	for (int i = 0; i < ns + ne; i++) {
		const struct tg_policy *p = i < ns ? &stored[i] : &env[i - ns];
		if (p->fleet && tg_policy_zone_ready(p, msg, sizeof msg) == 0)
			add_unique(out, &m, max, p);
	}
	return m;
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The others' fields of one HGETALL reply summed into o. */
static int sum_others(const redisReply *rep, const char *machine, struct tg_fleet_overlay *o)
{
	size_t mlen = strlen(machine);

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2)
		return -1;
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *f = rep->element[i], *v = rep->element[i + 1];
		const char *colon;
		long long x;
		char *e;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return -1;
		if (!(colon = strrchr(f->str, ':')))
			continue;
		if ((size_t)(colon - f->str) == mlen && !memcmp(f->str, machine, mlen))
			continue;   /* this machine's own: counted from the ledger */
		errno = 0;
		x = strtoll(v->str, &e, 10);
		if (errno || *e || x < 0)
			continue;   /* not ours to read: another writer's field */
		if (!strcmp(colon + 1, "usd_micro"))
			o->usd_micro += x;
		else if (!strcmp(colon + 1, "est_micro"))
			o->estimated_micro += x;
		else if (!strcmp(colon + 1, "tokens"))
			o->tokens += x;
	}
	return 0;
}

struct round {
	struct tg_policy p[FLEET_MAX], raw[FLEET_MAX];
	struct tg_spend spend[FLEET_MAX];
	struct tg_fleet_overlay o[FLEET_MAX];
	char keys[FLEET_MAX][TG_FLEET_KEY_MAX];
	const char *key_ptr[FLEET_MAX];
};

/* Appends the exchange of one scope: with push, HSET of this machine's
 * spend s and EXPIREAT; then HGETALL.  Its replies: exchange_replies(). */
static int append_exchange(struct tg_sync_redis *r, const struct tg_policy *p,
                           const struct tg_spend *s, const char *machine, int push)
{
	char key[REDIS_KEY_MAX], fields[3][FIELD_MAX], values[3][24], expire[24];
	static const char *const suffix[3] = { "usd_micro", "est_micro", "tokens" };
	const char *hset[8] = { "HSET", key };
	const char *exp[3] = { "EXPIREAT", key, expire };
	const char *get[2] = { "HGETALL", key };

	if (tg_sync_redis_key(p, s->window_start_us, key, sizeof key) < 0)
		return -1;
	snprintf(values[0], sizeof values[0], "%lld", (long long)llround(s->usd * 1e6));
	snprintf(values[1], sizeof values[1], "%lld", (long long)llround(s->usd_estimated * 1e6));
	snprintf(values[2], sizeof values[2], "%lld", (long long)s->tokens);
	for (int k = 0; k < 3; k++) {
		snprintf(fields[k], sizeof fields[k], "%s:%s", machine, suffix[k]);
		hset[2 + 2 * k] = fields[k];
		hset[3 + 2 * k] = values[k];
	}
	snprintf(expire, sizeof expire, "%lld", (long long)(s->reset_us / 1000000) + EXPIRE_MARGIN_S);
	if (push && (redisAppendCommandArgv(r->c, 8, hset, NULL) != REDIS_OK ||
	             redisAppendCommandArgv(r->c, 3, exp, NULL) != REDIS_OK))
		return -1;
	return redisAppendCommandArgv(r->c, 2, get, NULL) == REDIS_OK ? 0 : -1;
}

/* The replies of one append_exchange() (3 with push, else 1), the
 * others' spend summed into o: 0, or -1 said (a lost connection is
 * dropped). */
static int exchange_replies(struct tg_sync_redis *r, int push, const char *machine,
                            struct tg_fleet_overlay *o, char *err, size_t n)
{
	int rc = 0, replies = push ? 3 : 1;

	memset(o, 0, sizeof *o);
	for (int k = 0; k < replies; k++) {
		redisReply *rep = NULL;
		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
			if (!rc)
				rc = say(err, n, "%s: %s", r->where, conn_error(r));
			drop(r);
			return -1;
		}
		if (!rc && rep->type == REDIS_REPLY_ERROR)
			rc = say(err, n, "%s: %s", r->where, rep->str);
		else if (!rc && k == replies - 1 && sum_others(rep, machine, o) != 0)
			rc = say(err, n, "%s: HGETALL answered something else than a hash", r->where);
		freeReplyObject(rep);
	}
	return rc;
}

/* ---- tag:KEY=* fleet policies: one total per value ---- */

/* The values one round exchanges for one policy, at most (this
 * machine's first, then the set's): a value beyond it gets no overlay in
 * that round and counts zero others, as if no other machine had spent
 * on it (README, Fleet). */
#define EACH_VALUES_MAX 2048

struct each {
	const struct tg_policy *p;      /* the tag:KEY=* policy */
	char key[TG_TAGS_MAX];          /* its KEY */
	int n;
	char (*value)[TG_TAGS_MAX];
	struct tg_policy *bound, *raw;
	struct tg_spend *spend;
	struct tg_fleet_overlay *o;
	char (*okey)[TG_FLEET_KEY_MAX];
	const char **okey_ptr;
};

static int each_add(void *ctx, const char *value)
{
	struct each *e = ctx;

	if (e->n == EACH_VALUES_MAX || strlen(value) >= TG_TAGS_MAX)
		return 0;
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->value[i], value))
			return 0;
	snprintf(e->value[e->n++], TG_TAGS_MAX, "%s", value);
	return 0;
}

/* Binds value i and reads this machine's spend of it (raw: no baseline,
 * no overlay). */
static int each_bind(struct each *e, int from)
{
	for (int i = from; i < e->n; i++) {
		char tags[2 * TG_TAGS_MAX];
		struct tg_call c = { 0 };

		snprintf(tags, sizeof tags, "%s=%s", e->key, e->value[i]);
		c.tags = tags;
		if (tg_policy_bind(e->p, &c, &e->bound[i]) != 1)
			return -1;
		e->raw[i] = e->bound[i];
		e->raw[i].name[0] = '\0';
		e->raw[i].fleet = 0;
		if (tg_fleet_key(&e->bound[i], e->okey[i], sizeof e->okey[i]) < 0)
			return -1;
		e->okey_ptr[i] = e->okey[i];
	}
	return 0;
}

static void each_free(struct each *e)
{
	free(e->value);
	free(e->bound);
	free(e->raw);
	free(e->spend);
	free(e->o);
	free(e->okey);
	free(e->okey_ptr);
}

static int each_alloc(struct each *e)
{
	e->value = calloc(EACH_VALUES_MAX + 1, sizeof *e->value);
	e->bound = calloc(EACH_VALUES_MAX + 1, sizeof *e->bound);
	e->raw = calloc(EACH_VALUES_MAX + 1, sizeof *e->raw);
	e->spend = calloc(EACH_VALUES_MAX + 1, sizeof *e->spend);
	e->o = calloc(EACH_VALUES_MAX + 1, sizeof *e->o);
	e->okey = calloc(EACH_VALUES_MAX + 1, sizeof *e->okey);
	e->okey_ptr = calloc(EACH_VALUES_MAX + 1, sizeof *e->okey_ptr);
	return e->value && e->bound && e->raw && e->spend && e->o && e->okey && e->okey_ptr ? 0 : -1;
}

static int spent(const struct tg_spend *s)
{
	return s->usd > 0 || s->usd_estimated > 0 || s->tokens > 0;
}

/* One round for the tag:KEY=* policy p: the values this machine spent on
 * join the window's set in Redis (SADD), the set is read (SMEMBERS), then
 * every value is exchanged as a tag:KEY=VALUE policy would be (HSET of
 * this machine's spend when it has any, EXPIREAT, HGETALL), and the
 * overlays of the values and the policy's marker are written with the
 * sync state s.  Two round trips.  Returns 0, or -1 said. */
static int each_round(struct tg_sync_redis *r, struct tg_ledger *l, const struct tg_policy *p,
                      const char *machine, int64_t fresh_us, struct tg_fleet_sync *s,
                      char *err, size_t n)
{
	struct each e = { .p = p };
	char setkey[REDIS_KEY_MAX + 8], expire[24], marker[TG_FLEET_KEY_MAX];
	struct tg_policy praw = *p;
	int64_t now = wall_us(), start, reset;
	int rc = -1, mine = 0, nlocal = 0, k;
	redisReply *rep = NULL;

	if (tg_policy_each_key(p, e.key, sizeof e.key) < 0 || each_alloc(&e) != 0) {
		each_free(&e);
		return say(err, n, "out of memory");
	}
	/* The window, from a value no record can have (the policy's bounds). */
	praw.name[0] = '\0';
	praw.fleet = 0;
	if (tg_policy_bounds(&praw, now, &start, &reset) != 0) {
		each_free(&e);
		return say(err, n, "policy '%s': its window cannot be counted", p->name);
	}
	if ((rc = tg_ledger_tag_values(l, e.key, each_add, &e)) != 0 ||
	    each_bind(&e, 0) != 0 ||
	    (e.n && (rc = tg_ledger_spend_many(l, e.raw, e.n, now, e.spend)) != 0)) {
		each_free(&e);
		return say(err, n, "cannot read this machine's spend of '%s': %s", p->name,
		           tg_strerror(rc ? rc : TG_EINVAL));
	}
	/* Only the values spent on in this window: the ledger's totals list
	 * every value ever seen, in any window. */
	for (int i = 0; i < e.n; i++) {
		if (!spent(&e.spend[i]))
			continue;
		if (nlocal != i) {
			memcpy(e.value[nlocal], e.value[i], sizeof e.value[i]);
			e.bound[nlocal] = e.bound[i];
			e.raw[nlocal] = e.raw[i];
			e.spend[nlocal] = e.spend[i];
			memcpy(e.okey[nlocal], e.okey[i], sizeof e.okey[i]);
		}
		nlocal++;
	}
	e.n = nlocal;
	k = snprintf(setkey, sizeof setkey, "tokenguard:{tag:%s}:%s:%" PRId64 ":values",
	             p->scope_value, tg_window_name(p->window), start / 1000000);
	if (k < 0 || (size_t)k >= sizeof setkey) {
		each_free(&e);
		return say(err, n, "policy '%s': its key is too long for Redis", p->name);
	}
	/* Round trip 1: this machine's values with spend join the set. */
	{
		const char **sadd = calloc((size_t)nlocal + 2, sizeof *sadd);
		const char *exp[3] = { "EXPIREAT", setkey, expire };
		const char *members[2] = { "SMEMBERS", setkey };

		if (!sadd) {
			each_free(&e);
			return say(err, n, "out of memory");
		}
		sadd[0] = "SADD";
		sadd[1] = setkey;
		for (int i = 0; i < nlocal; i++)
			if (spent(&e.spend[i]))
				sadd[2 + mine++] = e.value[i];
		snprintf(expire, sizeof expire, "%lld", (long long)(reset / 1000000) + EXPIRE_MARGIN_S);
		rc = 0;
		if (mine && (redisAppendCommandArgv(r->c, 2 + mine, sadd, NULL) != REDIS_OK ||
		             redisAppendCommandArgv(r->c, 3, exp, NULL) != REDIS_OK))
			rc = -1;
		if (!rc && redisAppendCommandArgv(r->c, 2, members, NULL) != REDIS_OK)
			rc = -1;
		free(sadd);
		for (int i = 0; !rc && i < (mine ? 3 : 1); i++) {
			if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) {
				rc = -1;
				break;
			}
			if (rep->type == REDIS_REPLY_ERROR) {
				say(err, n, "%s: %s", r->where, rep->str);
				freeReplyObject(rep);
				each_free(&e);
				return -1;
			}
			if (i == (mine ? 2 : 0) && rep->type == REDIS_REPLY_ARRAY)
				for (size_t j = 0; j < rep->elements; j++)
					if (rep->element[j]->type == REDIS_REPLY_STRING)
						each_add(&e, rep->element[j]->str);
			freeReplyObject(rep);
			rep = NULL;
		}
	}
	if (rc) {
		each_free(&e);
		return say(err, n, "%s: %s", r->where, conn_error(r));
	}
	/* The values only other machines spent on: this machine's spend is 0. */
	if (each_bind(&e, nlocal) != 0 ||
	    (e.n > nlocal &&
	     (rc = tg_ledger_spend_many(l, e.raw + nlocal, e.n - nlocal, now, e.spend + nlocal)) != 0)) {
		each_free(&e);
		return say(err, n, "cannot read this machine's spend of '%s': %s", p->name,
		           tg_strerror(rc ? rc : TG_EINVAL));
	}
	/* Round trip 2: each value as a tag:KEY=VALUE policy. */
	for (int i = 0; rc == 0 && i < e.n; i++)
		if (append_exchange(r, &e.bound[i], &e.spend[i], machine, spent(&e.spend[i])) != 0)
			rc = say(err, n, "%s: %s", r->where, conn_error(r));
	for (int i = 0; rc == 0 && i < e.n; i++)
		rc = exchange_replies(r, spent(&e.spend[i]), machine, &e.o[i], err, n);
	if (rc) {
		if (!*err)
			say(err, n, "%s: %s", r->where, conn_error(r));
		each_free(&e);
		return -1;
	}
	now = wall_us();   /* the totals are as of their arrival */
	for (int i = 0; i < e.n; i++) {
		e.o[i].window_start_us = e.spend[i].window_start_us;
		e.o[i].pulled_us = now;
		e.o[i].fresh_us = fresh_us;
	}
	/* The marker: the policy's values were pulled now. */
	if (tg_fleet_key(p, marker, sizeof marker) < 0) {
		each_free(&e);
		return say(err, n, "policy '%s': its key is too long", p->name);
	}
	memset(&e.o[e.n], 0, sizeof e.o[e.n]);
	e.o[e.n].window_start_us = start;
	e.o[e.n].pulled_us = now;
	e.o[e.n].fresh_us = fresh_us;
	snprintf(e.okey[e.n], sizeof e.okey[e.n], "%s", marker);
	e.okey_ptr[e.n] = e.okey[e.n];
	rc = tg_fleet_put(l, e.okey_ptr, e.o, e.n + 1, s);
	each_free(&e);
	if (rc)
		return say(err, n, "cannot write the fleet totals into the ledger: %s", tg_strerror(rc));
	return 0;
}

/* The state the ledger keeps, after a round that ended in err ("" for
 * success). */
static int put_state(struct tg_ledger *l, struct tg_sync_redis *r, struct round *q, int m,
                     int scopes, int64_t interval_us, int64_t fresh_us, int64_t now,
                     const char *err)
{
	struct tg_fleet_sync s = { 0 };
	int has = 0;

	if (tg_fleet_sync_get(l, &s, &has) != 0 || !has)
		memset(&s, 0, sizeof s);
	s.last_try_us = now;
	s.interval_us = interval_us;
	s.fresh_us = fresh_us;
	snprintf(s.error, sizeof s.error, "%s", err);
	snprintf(s.where, sizeof s.where, "%s", r->where);
	if (!*err) {
		s.last_ok_us = now;
		s.policies = scopes;
	}
	return tg_fleet_put(l, q->key_ptr, q->o, *err ? 0 : m, &s);
}

int tg_sync_redis_round(struct tg_sync_redis *r, struct tg_ledger *l, const char *machine,
                        int64_t interval_us, int64_t fresh_us, int *scopes, char *err, size_t n)
{
	static struct round q;
	static struct tg_policy each[FLEET_MAX];
	struct tg_fleet_sync st;
	int64_t now = wall_us();
	int m, ne = 0, rc, has;

	*scopes = 0;
	err[0] = '\0';
	if ((m = tg_sync_fleet_policies(l, q.p, FLEET_MAX, err, n)) < 0)
		return -1;
	/* tag:KEY=* policies are exchanged value by value, after the others. */
	for (int i = 0; i < m; i++) {
		if (q.p[i].per_value == TG_VALUE_EACH)
			each[ne++] = q.p[i];
		else
			q.p[i - ne] = q.p[i];
	}
	m -= ne;
	for (int i = 0; i < m; i++) {
		/* Raw spend of the scope: no reset's baseline (a name of "" has
		 * none), no overlay (every machine pushes its own). */
		q.raw[i] = q.p[i];
		q.raw[i].name[0] = '\0';
		q.raw[i].fleet = 0;
		tg_fleet_key(&q.p[i], q.keys[i], sizeof q.keys[i]);
		q.key_ptr[i] = q.keys[i];
	}
	if (m && (rc = tg_ledger_spend_many(l, q.raw, m, now, q.spend)) != 0) {
		say(err, n, "cannot read this machine's spend: %s", tg_strerror(rc));
		put_state(l, r, &q, m, m + ne, interval_us, fresh_us, now, err);
		return -1;
	}
	rc = connect_redis(r, err, n);
	for (int i = 0; rc == 0 && i < m; i++)
		if (append_exchange(r, &q.p[i], &q.spend[i], machine, 1) != 0)
			rc = say(err, n, "%s: %s", r->where, conn_error(r));
	for (int i = 0; rc == 0 && i < m; i++)
		rc = exchange_replies(r, 1, machine, &q.o[i], err, n);
	if (rc == 0 && m == 0) {
		/* Nothing to exchange: a PING says whether Redis is there. */
		const char *argv[1] = { "PING" };
		rc = simple(r, 1, argv, "PING", err, n);
	}
	if (rc != 0) {
		drop(r);
		put_state(l, r, &q, m, m + ne, interval_us, fresh_us, now, err);
		return -1;
	}
	now = wall_us();   /* the totals are as of their arrival */
	for (int i = 0; i < m; i++) {
		q.o[i].window_start_us = q.spend[i].window_start_us;
		q.o[i].pulled_us = now;
		q.o[i].fresh_us = fresh_us;
	}
	if ((rc = put_state(l, r, &q, m, m + ne, interval_us, fresh_us, now, "")) != 0)
		return say(err, n, "cannot write the fleet totals into the ledger: %s", tg_strerror(rc));
	if (ne && (tg_fleet_sync_get(l, &st, &has) != 0 || !has))
		return say(err, n, "cannot read back the fleet's sync state");
	for (int i = 0; i < ne; i++)
		if (each_round(r, l, &each[i], machine, fresh_us, &st, err, n) != 0) {
			drop(r);
			put_state(l, r, &q, m, m + ne, interval_us, fresh_us, wall_us(), err);
			return -1;
		}
	*scopes = m + ne;
	return 0;
}

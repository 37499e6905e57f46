/* conn.c - see conn.h. */
#include "conn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "providers.h"
#include "sink.h"
#include "text.h"
#include "transport_h1.h"
#include "transport_h2.h"

enum transport {
	TRANSPORT_UNDECIDED,
	TRANSPORT_H1,
	TRANSPORT_H2,
	TRANSPORT_OFF,
};

struct tg_conn {
	pthread_mutex_t lock;      /* one SSL is used by one thread at a time, but not always the same one */
	unsigned generation;       /* fork_generation when it was made */
	const struct tg_provider *provider;
	char sni[TG_HOST_MAX];
	int alpn_h2;
	enum transport transport;
	union {
		struct tg_h1_transport h1;
		struct tg_h2_transport h2;
	} u;

	size_t prefed;             /* head of the program's next write already observed */
	char *replace;             /* a rewritten write not yet accepted: resent on retry */
	size_t replace_len;
	size_t replace_for_len;    /* length of the program's write it stands for */
	char *prefix;              /* held bytes to send before the program's write, */
	size_t prefix_len;         /* until they went out (tg_write_ctl.prefix) */
	size_t prefix_for_len;
	struct tg_inject inject;   /* synthesized bytes for the program to read */
};

/* The table: open addressing on the SSL* value, linear probing, bounded.
 * Keys and values are atomics so lookups take no lock; a slot is written
 * only by the thread that owns its SSL object.  A full table means new
 * connections are simply not observed. */
#define TABLE_SLOTS  4096
#define TABLE_PROBES 64
#define KEY_EMPTY    ((uintptr_t)0)
#define KEY_TOMB     ((uintptr_t)1)
#define VAL_PENDING  ((uintptr_t)0)
#define VAL_IGNORED  ((uintptr_t)1)   /* not a provider, or not observable */

struct slot {
	_Atomic uintptr_t key;
	_Atomic uintptr_t val;
};

static struct slot table[TABLE_SLOTS];
static const struct tg_ssl_ops *ssl_ops;   /* set once by the hook layer */

/* Bumped in every forked child: state made before the fork belongs to the
 * parent.  Cheaper than asking getpid() on every call (a system call in
 * current glibc). */
static _Atomic unsigned fork_generation;

void tg_conn_atfork_child(void)
{
	atomic_fetch_add(&fork_generation, 1);
}

void tg_conn_set_ops(const struct tg_ssl_ops *ops)
{
	ssl_ops = ops;
}

static size_t slot_index(uintptr_t key)
{
	/* SSL objects are heap pointers: drop the alignment bits, then mix. */
	uint64_t h = (uint64_t)key >> 4;
	h *= 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 52) & (TABLE_SLOTS - 1);
}

static struct slot *table_find(uintptr_t key)
{
	size_t i = slot_index(key);
	for (int n = 0; n < TABLE_PROBES; n++, i = (i + 1) & (TABLE_SLOTS - 1)) {
		uintptr_t k = atomic_load_explicit(&table[i].key, memory_order_acquire);
		if (k == key)
			return &table[i];
		if (k == KEY_EMPTY)
			return NULL;
	}
	return NULL;
}

static struct slot *table_claim(uintptr_t key)
{
	size_t i = slot_index(key);
	for (int n = 0; n < TABLE_PROBES; n++, i = (i + 1) & (TABLE_SLOTS - 1)) {
		uintptr_t k = atomic_load_explicit(&table[i].key, memory_order_acquire);
		if (k == key)
			return &table[i];
		if ((k == KEY_EMPTY || k == KEY_TOMB) &&
		    atomic_compare_exchange_strong(&table[i].key, &k, key))
			return &table[i];
	}
	return NULL;
}

int tg_conn_count(void)
{
	int n = 0;
	for (size_t i = 0; i < TABLE_SLOTS; i++) {
		uintptr_t k = atomic_load(&table[i].key);
		n += k != KEY_EMPTY && k != KEY_TOMB;
	}
	return n;
}

/* A connection without SNI (an IP address): the Host header of its first
 * request names the server.  Only plain HTTP/1.1 is read this way. */
static int host_from_request(const char *buf, size_t len, char *out, size_t outlen)
{
	for (size_t i = 0; i + 6 < len; i++) {
		if (buf[i] != '\n' || !tg_name_is(buf + i + 1, 5, "host:"))
			continue;
		size_t s = i + 6, e;
		while (s < len && (buf[s] == ' ' || buf[s] == '\t'))
			s++;
		for (e = s; e < len && buf[e] != '\r' && buf[e] != '\n'; e++)
			;
		tg_copy_text(out, outlen, buf + s, e - s);
		return e > s;
	}
	return 0;
}

static struct tg_conn *conn_new(const struct tg_provider *p, const char *host, int alpn_h2)
{
	struct tg_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
	c->provider = p;
	c->alpn_h2 = alpn_h2;
	tg_copy_text(c->sni, sizeof c->sni, host, strlen(host));
	c->transport = TRANSPORT_UNDECIDED;
	return c;
}

static void conn_free(struct tg_conn *c)
{
	/* TRANSPORT_OFF after an abort: its transport state is already released. */
	if (c->transport == TRANSPORT_H1)
		tg_h1_transport_close(&c->u.h1);
	else if (c->transport == TRANSPORT_H2)
		tg_h2_transport_close(&c->u.h2);
	free(c->replace);
	free(c->prefix);
	tg_inject_free(&c->inject);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* First sight of an SSL object: which provider it talks to, if any.
 * Allocates nothing; host receives the name to record. */
static const struct tg_provider *classify(void *ssl, enum tg_dir dir, const char *buf, size_t len,
                                          char *host, size_t hostlen)
{
	const char *sni = ssl_ops->servername(ssl);
	/* A system call: only when some TOKENGUARD_HOSTS entry names a port. */
	int port = tg_providers_port_matters() ? ssl_ops->peer_port(ssl) : 0;
	if (sni && *sni) {
		tg_copy_text(host, hostlen, sni, strlen(sni));
		return tg_provider_for_host(sni, port);
	}
	if (dir == TG_DIR_REQUEST && host_from_request(buf, len, host, hostlen))
		return tg_provider_for_host(host, port);
	return NULL;
}

/* ALPN says which protocol was agreed; the client's first bytes confirm it
 * (a connection preface means HTTP/2 whatever ALPN said, e.g. prior
 * knowledge).  Until the client has written, nothing can be decided. */
static void choose_transport(struct tg_conn *c, const char *buf, size_t len)
{
	int preface = tg_h2_is_preface(buf, len);
	if (preface != 0) {
		c->transport = TRANSPORT_H2;
		if (tg_h2_transport_init(&c->u.h2, c->provider, c->sni, tg_sink_commit, &c->inject) != 0)
			c->transport = TRANSPORT_OFF;
		return;
	}
	if (c->alpn_h2) {
		tg_debug("%s: ALPN chose h2 but the client did not send the preface; not observed", c->sni);
		c->transport = TRANSPORT_OFF;
		return;
	}
	c->transport = TRANSPORT_H1;
	tg_h1_transport_init(&c->u.h1, c->provider, c->sni, tg_sink_commit, &c->inject);
}

static struct tg_conn *owned(uintptr_t val)
{
	if (val == VAL_PENDING || val == VAL_IGNORED)
		return NULL;
	struct tg_conn *c = (struct tg_conn *)val;
	/* Inherited across fork(): the parent records it. */
	return c->generation == atomic_load_explicit(&fork_generation, memory_order_relaxed) ? c : NULL;
}

/* The connection state of ssl, classifying it at first sight.  NULL for
 * connections not observed.  This is the one lookup every SSL call pays. */
static struct tg_conn *conn_of(void *ssl, enum tg_dir dir, const char *buf, size_t len)
{
	uintptr_t key = (uintptr_t)ssl;
	struct slot *s = table_find(key);
	char host[TG_HOST_MAX];

	if (s)
		return owned(atomic_load_explicit(&s->val, memory_order_acquire));
	/* The server end of a connection is never observed, and asking is
	 * cheap: it takes no slot, so a busy server cannot fill the table. */
	if (ssl_ops->is_server(ssl))
		return NULL;
	const struct tg_provider *p = classify(ssl, dir, buf, len, host, sizeof host);
	s = table_claim(key);
	if (!s)
		return NULL;   /* table full: not observed, nothing allocated */
	struct tg_conn *c = p ? conn_new(p, host, ssl_ops->alpn_is_h2(ssl)) : NULL;
	if (c)
		tg_debug("observing %s (%s)", host, p->name);
	atomic_store_explicit(&s->val, c ? (uintptr_t)c : VAL_IGNORED, memory_order_release);
	return c;
}

void tg_conn_write_begin(void *ssl, const char *buf, size_t len, struct tg_write_plan *plan)
{
	struct tg_conn *c = conn_of(ssl, TG_DIR_REQUEST, buf, len);
	*plan = (struct tg_write_plan){ .conn = c, .buf = buf, .len = len };
	if (!c)
		return;

	pthread_mutex_lock(&c->lock);
	if (c->prefix && c->prefix_for_len == len && c->prefed >= len) {
		/* A retry of the write whose held head did not go out yet. */
		plan->prefix = c->prefix;
		plan->prefix_len = c->prefix_len;
		goto unlock;
	}
	if (c->replace && c->replace_for_len == len && c->prefed >= len) {
		/* A retried write carries the same bytes (possibly moved, with
		 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER): send the same rewrite. */
		plan->buf = c->replace;
		plan->len = c->replace_len;
		goto unlock;
	}
	free(c->replace);
	c->replace = NULL;

	if (c->transport == TRANSPORT_UNDECIDED)
		choose_transport(c, buf, len);
	size_t skip = c->prefed < len ? c->prefed : len;
	struct tg_write_ctl w = {
		.buf = buf + skip,
		.len = len - skip,
		.whole = skip == 0,
		.may_replace = !ssl_ops->partial_writes(ssl),
	};
	if (c->transport == TRANSPORT_H1)
		tg_h1_transport_write(&c->u.h1, &w);
	else if (c->transport == TRANSPORT_H2 && w.len > 0)
		tg_h2_transport_write(&c->u.h2, &w);
	c->prefed = len;

	if (w.prefix) {
		free(c->prefix);
		c->prefix = w.prefix;
		c->prefix_len = w.prefix_len;
		c->prefix_for_len = len;
		plan->prefix = w.prefix;
		plan->prefix_len = w.prefix_len;
	}
	if (w.swallow) {
		plan->swallow = 1;
		plan->close_tls = w.close_tls && ssl_ops->memory_bio(ssl);
	} else if (w.replace) {
		c->replace = w.replace;
		c->replace_len = w.replace_len;
		c->replace_for_len = len;
		plan->buf = w.replace;
		plan->len = w.replace_len;
	}
unlock:
	pthread_mutex_unlock(&c->lock);
}

void tg_conn_prefix_sent(const struct tg_write_plan *plan)
{
	struct tg_conn *c = plan->conn;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->prefix == plan->prefix) {
		free(c->prefix);
		c->prefix = NULL;
	}
	pthread_mutex_unlock(&c->lock);
}

void tg_conn_write_end(const struct tg_write_plan *plan, size_t consumed, int dead)
{
	struct tg_conn *c = plan->conn;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (dead) {
		if (c->transport == TRANSPORT_H1)
			tg_h1_transport_abort(&c->u.h1);
		else if (c->transport == TRANSPORT_H2)
			tg_h2_transport_abort(&c->u.h2);
		c->transport = TRANSPORT_OFF;
	}
	c->prefed = c->prefed > consumed ? c->prefed - consumed : 0;
	if (consumed > 0 && c->replace) {
		free(c->replace);
		c->replace = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	/* Bytes just went to a provider: the program now waits for its
	 * answer, the time to commit what earlier exchanges handed off. */
	if (consumed > 0 && !dead)
		tg_sink_idle();
}

void tg_conn_read_begin(void *ssl, char *buf, size_t num, struct tg_read_plan *plan)
{
	struct tg_conn *c = conn_of(ssl, TG_DIR_RESPONSE, NULL, 0);
	memset(plan, 0, sizeof *plan);
	plan->conn = c;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (tg_inject_pending(&c->inject) > 0) {
		/* On HTTP/2 the synthesized frames go in between the server's. */
		size_t cap = 0;
		if (c->transport != TRANSPORT_H2 || tg_h2_transport_can_inject(&c->u.h2, &cap))
			plan->served = tg_inject_take(&c->inject, buf, num);
		else
			plan->cap = cap;
	}
	pthread_mutex_unlock(&c->lock);
}

void tg_conn_read_end(const struct tg_read_plan *plan, const char *buf, size_t got, int ended)
{
	struct tg_conn *c = plan->conn;
	if (!c || (got == 0 && !ended))
		return;
	pthread_mutex_lock(&c->lock);
	if (c->transport == TRANSPORT_UNDECIDED && got > 0) {
		tg_debug("%s: response bytes before any request; not observed", c->sni);
		c->transport = TRANSPORT_OFF;
	}
	if (c->transport == TRANSPORT_H1) {
		if (got > 0)
			tg_h1_transport_feed(&c->u.h1, TG_DIR_RESPONSE, buf, got);
		if (ended)
			tg_h1_transport_eof(&c->u.h1);
	} else if (c->transport == TRANSPORT_H2) {
		if (got > 0)
			tg_h2_transport_feed(&c->u.h2, TG_DIR_RESPONSE, buf, got);
		if (ended)
			tg_h2_transport_close(&c->u.h2);
	}
	pthread_mutex_unlock(&c->lock);
}

size_t tg_conn_pending(const void *ssl)
{
	struct slot *s = table_find((uintptr_t)ssl);
	struct tg_conn *c = s ? owned(atomic_load_explicit(&s->val, memory_order_acquire)) : NULL;
	if (!c)
		return 0;
	size_t cap, n;
	pthread_mutex_lock(&c->lock);
	n = tg_inject_pending(&c->inject);
	/* Not readable yet if it must wait for the server's first frame. */
	if (n && c->transport == TRANSPORT_H2 && !tg_h2_transport_can_inject(&c->u.h2, &cap))
		n = 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void commit_nothing(struct tg_record *r, const struct tg_call_size *size,
                           const struct tg_call_origin *origin)
{
	(void)r;
	(void)size;
	(void)origin;
}

/* A forked child frees an SSL object it inherited: its exchanges are the
 * parent's to record, but the memory is the child's own copy, so it is
 * released, recording nothing.  Unless a thread of the parent held the
 * connection's lock when the process forked: that state may be half
 * updated (and its lock is held for good), so it is left alone. */
static void inherited_free(struct tg_conn *c)
{
	if (pthread_mutex_trylock(&c->lock) != 0)
		return;
	pthread_mutex_unlock(&c->lock);
	if (c->transport == TRANSPORT_H1)
		c->u.h1.commit = commit_nothing;
	else if (c->transport == TRANSPORT_H2)
		c->u.h2.commit = commit_nothing;
	conn_free(c);
}

void tg_conn_forget(void *ssl)
{
	struct slot *s = table_find((uintptr_t)ssl);
	if (!s)
		return;
	uintptr_t val = atomic_exchange(&s->val, VAL_PENDING);
	atomic_store_explicit(&s->key, KEY_TOMB, memory_order_release);
	struct tg_conn *c = owned(val);
	if (!c) {
		if (val != VAL_PENDING && val != VAL_IGNORED)
			inherited_free((struct tg_conn *)val);
		return;
	}
	pthread_mutex_lock(&c->lock);
	pthread_mutex_unlock(&c->lock);
	conn_free(c);
}

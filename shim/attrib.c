/* attrib.c - see attrib.h. */
#include "attrib.h"

#include <pthread.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "tags.h"
#include "text.h"

/* The ledger's key, read once per process; a failure is tried again at
 * most every RETRY_US (the first call may come before the ledger exists
 * or while it cannot be made).  Only provider calls come here. */
#define RETRY_US (30 * 1000000LL)

static struct {
	pthread_mutex_t lock;
	int have;
	int64_t tried_us;
	uint8_t key[TG_SIPHASH_KEY_BYTES];
} keys = { .lock = PTHREAD_MUTEX_INITIALIZER };

void tg_attrib_atfork_child(void)
{
	pthread_mutex_init(&keys.lock, NULL);
}

static int ledger_key(const char *dir, uint8_t key[TG_SIPHASH_KEY_BYTES])
{
	int ok;

	pthread_mutex_lock(&keys.lock);
	if (!keys.have && (keys.tried_us == 0 || tg_mono_us() - keys.tried_us >= RETRY_US)) {
		int rc = tg_attrib_key_load(dir, 1, keys.key);

		keys.tried_us = tg_mono_us();
		keys.have = rc == 0;
		if (rc != 0)
			tg_warn("cannot read or make the attribution key in %s (%s): "
			        "end-user ids are not recorded", dir, tg_strerror(rc));
	}
	ok = keys.have;
	if (ok)
		memcpy(key, keys.key, TG_SIPHASH_KEY_BYTES);
	pthread_mutex_unlock(&keys.lock);
	return ok;
}

static void put(char *out, const char *key, const char *value)
{
	if (tg_tags_put(out, TG_TAGS_MAX, key, strlen(key), value, strlen(value)) != 0)
		tg_debug("tag %s dropped: the call's tags are full", key);
}

/* The tags a request body gives, under the attribution mode. */
static void body_tags(const struct tg_config *cfg, const struct tg_request_info *req, char *out)
{
	const char *user = req->user[0] ? req->user : req->safety_id;

	/* the user first: when the tags are full, metadata goes before it */
	if (user[0] && cfg->attribution == TG_ATTRIB_PLAIN) {
		put(out, "user", user);
	} else if (user[0]) {
		uint8_t key[TG_SIPHASH_KEY_BYTES];
		char hash[TG_ATTRIB_HASH_LEN + 1];

		if (ledger_key(cfg->ledger_dir, key)) {
			tg_attrib_hash(key, user, strlen(user), hash);
			put(out, "user", hash);
		}
	}
	for (int i = 0; i < req->nmeta; i++)
		put(out, req->meta[i].key, req->meta[i].value);
}

void tg_attrib_call_tags(const struct tg_config *cfg, const struct tg_request_info *req,
                         const char *header, char *out)
{
	memcpy(out, cfg->tags, TG_TAGS_MAX);
	out[TG_TAGS_MAX - 1] = '\0';
	if (req && cfg->attribution != TG_ATTRIB_OFF)
		body_tags(cfg, req, out);
	if (header && tg_tags_put_all(out, TG_TAGS_MAX, header) > 0)
		tg_debug("x-tokenguard-tags: some tags dropped: the call's tags are full");
}

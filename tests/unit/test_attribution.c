/* test_attribution.c - the keyed hash of end-user ids (SipHash-2-4, the
 * ledger's key), the tag cleaning and override rules, and the merge of a
 * call's tags from the process, its body and its header. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrib.h"
#include "attribution.h"
#include "error.h"
#include "fixture.h"
#include "siphash.h"
#include "tags.h"

Test(attribution, siphash_gives_the_reference_values)
{
	uint8_t key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* the paper's example, and the first of the reference vectors */
	cr_assert_eq(tg_siphash24(key, msg, 15), UINT64_C(0xa129ca6149be45e5));
	cr_assert_eq(tg_siphash24(key, msg, 0), UINT64_C(0x726fdb47dd0e0e31));
}

Test(attribution, hash_is_stable_and_depends_on_the_key)
{
	uint8_t k1[16] = { 1 }, k2[16] = { 2 };
	char a[TG_ATTRIB_HASH_LEN + 1], b[TG_ATTRIB_HASH_LEN + 1], c[TG_ATTRIB_HASH_LEN + 1];

	tg_attrib_hash(k1, "alice", 5, a);
	tg_attrib_hash(k1, "alice", 5, b);
	cr_assert_str_eq(a, b);
	cr_assert_eq(strlen(a), TG_ATTRIB_HASH_LEN);
	cr_assert_eq(strncmp(a, "h:", 2), 0);
	tg_attrib_hash(k2, "alice", 5, c);
	cr_assert_str_neq(a, c);
	tg_attrib_hash(k1, "bob", 3, c);
	cr_assert_str_neq(a, c);
}

Test(attribution, a_ledger_key_is_made_once_and_read_back)
{
	char d1[64], d2[64], path[128];
	uint8_t a[16], b[16], c[16];
	struct stat st;

	tgt_tmpdir(d1, sizeof d1, "tg-attrib");
	tgt_tmpdir(d2, sizeof d2, "tg-attrib");
	cr_assert_eq(tg_attrib_key_load(d1, 0, a), TG_ENOENT, "no key and not asked to make one");
	cr_assert_eq(tg_attrib_key_load(d1, 1, a), 0);
	cr_assert_eq(tg_attrib_key_load(d1, 0, b), 0);
	cr_assert_eq(memcmp(a, b, 16), 0, "the same key every time");
	cr_assert_eq(tg_attrib_key_load(d1, 1, b), 0);
	cr_assert_eq(memcmp(a, b, 16), 0, "made only once");
	cr_assert_eq(tg_attrib_key_load(d2, 1, c), 0);
	cr_assert_neq(memcmp(a, c, 16), 0, "another ledger, another key");
	snprintf(path, sizeof path, "%s/%s", d1, TG_ATTRIB_KEY_FILE);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	tgt_rmtree(d1);
	tgt_rmtree(d2);
}

Test(attribution, a_key_others_may_read_or_of_the_wrong_size_is_refused)
{
	char d[64], path[128];
	uint8_t k[16];
	int fd;

	tgt_tmpdir(d, sizeof d, "tg-attrib");
	cr_assert_eq(tg_attrib_key_load(d, 1, k), 0);
	snprintf(path, sizeof path, "%s/%s", d, TG_ATTRIB_KEY_FILE);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(tg_attrib_key_load(d, 0, k), TG_EUNSAFE);
	cr_assert_eq(tg_attrib_key_load(d, 1, k), TG_EUNSAFE, "never replaced behind the user's back");
	cr_assert_eq(chmod(path, 0600), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	cr_assert_eq(tg_attrib_key_load(d, 0, k), TG_ECORRUPT);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("/etc/hostname", path), 0);
	cr_assert_eq(tg_attrib_key_load(d, 0, k), TG_EUNSAFE);
	tgt_rmtree(d);
}

Test(attribution, mode_names)
{
	enum tg_attrib_mode m;

	cr_assert_eq(tg_attrib_mode_parse("plain", &m), 0);
	cr_assert_eq(m, TG_ATTRIB_PLAIN);
	cr_assert_eq(tg_attrib_mode_parse("hash", &m), 0);
	cr_assert_eq(m, TG_ATTRIB_HASH);
	cr_assert_eq(tg_attrib_mode_parse("off", &m), 0);
	cr_assert_eq(m, TG_ATTRIB_OFF);
	cr_assert_eq(tg_attrib_mode_parse("Plain", &m), -1);
	cr_assert_eq(tg_attrib_mode_parse("", &m), -1);
}

Test(tags, clean_makes_any_text_a_value_or_a_key)
{
	char out[16];

	cr_assert_eq(tg_tag_clean(out, sizeof out, "a,b=c\n\x7f" "d", 8, 0), 8);
	cr_assert_str_eq(out, "a_b_c__d");
	cr_assert_eq(tg_tag_clean(out, sizeof out, "tenant id/\xc3\xa9", 12, 1), 12);
	cr_assert_str_eq(out, "tenant_id___");
	/* cut at a character boundary: the é at bytes 14-15 does not fit */
	cr_assert_eq(tg_tag_clean(out, sizeof out, "abcdefghijklmn\xc3\xa9", 16, 0), 14);
	cr_assert_str_eq(out, "abcdefghijklmn");
}

Test(tags, put_replaces_a_key_and_keeps_the_rest)
{
	char t[32] = "team=a,user=x,env=p";

	cr_assert_eq(tg_tags_put(t, sizeof t, "user", 4, "y", 1), 0);
	cr_assert_str_eq(t, "team=a,env=p,user=y");
	cr_assert_eq(tg_tags_put(t, sizeof t, "user", 4, "z", 1), 0);
	cr_assert_str_eq(t, "team=a,env=p,user=z");
	cr_assert_eq(tg_tags_put(t, sizeof t, "env", 3, "", 0), 0);
	cr_assert_str_eq(t, "team=a,user=z,env=");
	cr_assert_eq(tg_tags_put(t, sizeof t, "teamx", 5, "1", 1), 0, "a longer key is another key");
	cr_assert_str_eq(t, "team=a,user=z,env=,teamx=1");
}

Test(tags, put_that_does_not_fit_leaves_the_tags_as_they_were)
{
	char t[16] = "a=1,b=2";

	cr_assert_eq(tg_tags_put(t, sizeof t, "c", 1, "12345678", 8), -1);
	cr_assert_str_eq(t, "a=1,b=2");
	/* replacing frees the old entry's room first: 15 bytes exactly */
	cr_assert_eq(tg_tags_put(t, sizeof t, "b", 1, "123456789", 9), 0);
	cr_assert_str_eq(t, "a=1,b=123456789");
	cr_assert_eq(tg_tags_put_all(t, sizeof t, "a=2,z=1"), 1);
	cr_assert_str_eq(t, "b=123456789,a=2");
}

static struct tg_config cfg_for(enum tg_attrib_mode mode, const char *dir, const char *tags)
{
	struct tg_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.attribution = mode;
	snprintf(cfg.ledger_dir, sizeof cfg.ledger_dir, "%s", dir);
	snprintf(cfg.tags, sizeof cfg.tags, "%s", tags);
	return cfg;
}

static struct tg_request_info body(const char *user, const char *meta_key, const char *meta_value)
{
	struct tg_request_info in;

	memset(&in, 0, sizeof in);
	snprintf(in.user, sizeof in.user, "%s", user);
	if (meta_key) {
		snprintf(in.meta[0].key, sizeof in.meta[0].key, "%s", meta_key);
		snprintf(in.meta[0].value, sizeof in.meta[0].value, "%s", meta_value);
		in.nmeta = 1;
	}
	return in;
}

Test(attrib, process_then_body_then_header_each_key_overridden)
{
	struct tg_config cfg = cfg_for(TG_ATTRIB_PLAIN, "", "team=ads,user=svc,feature=x");
	struct tg_request_info in = body("alice", "meta.feature", "chat");
	char out[TG_TAGS_MAX];

	tg_attrib_call_tags(&cfg, &in, NULL, out);
	cr_assert_str_eq(out, "team=ads,feature=x,user=alice,meta.feature=chat");
	tg_attrib_call_tags(&cfg, &in, "user=header,feature=search", out);
	cr_assert_str_eq(out, "team=ads,meta.feature=chat,user=header,feature=search");
	cfg.attribution = TG_ATTRIB_OFF;
	tg_attrib_call_tags(&cfg, &in, "feature=search", out);
	cr_assert_str_eq(out, "team=ads,user=svc,feature=search", "off: nothing from the body");
}

Test(attrib, hash_mode_keeps_the_keyed_hash_of_the_user_only)
{
	char d[64], want[TG_ATTRIB_HASH_LEN + 1], out[TG_TAGS_MAX], expect[TG_TAGS_MAX];
	struct tg_config cfg;
	struct tg_request_info in = body("alice", "meta.env", "prod");
	uint8_t key[16];

	tgt_tmpdir(d, sizeof d, "tg-attrib");
	cfg = cfg_for(TG_ATTRIB_HASH, d, "");
	tg_attrib_call_tags(&cfg, &in, NULL, out);
	cr_assert_eq(tg_attrib_key_load(d, 0, key), 0, "the first call made the ledger's key");
	tg_attrib_hash(key, "alice", 5, want);
	snprintf(expect, sizeof expect, "user=%s,meta.env=prod", want);
	cr_assert_str_eq(out, expect);
	/* safety_identifier stands in for an absent user */
	in.user[0] = '\0';
	snprintf(in.safety_id, sizeof in.safety_id, "alice");
	tg_attrib_call_tags(&cfg, &in, NULL, out);
	cr_assert_str_eq(out, expect);
	tgt_rmtree(d);
}

Test(attrib, tags_that_do_not_fit_are_dropped_and_the_rest_is_valid)
{
	char proc[TG_TAGS_MAX], out[TG_TAGS_MAX], want[TG_TAGS_MAX];
	struct tg_config cfg;
	struct tg_request_info in = body("alice", NULL, NULL);
	size_t n = 0;

	/* process tags of 494 bytes: 17 left, NUL included */
	while (n + 12 < TG_TAGS_MAX - 10)
		n += (size_t)snprintf(proc + n, sizeof proc - n, "%sk%03zu=vvvvv", n ? "," : "", n / 12);
	cr_assert_eq(strlen(proc), 494);
	cfg = cfg_for(TG_ATTRIB_PLAIN, "", proc);
	/* ",user=alice" (11) fits, ",f=1" (4) fits, ",g=12" would not */
	tg_attrib_call_tags(&cfg, &in, "f=1,g=12", out);
	snprintf(want, sizeof want, "%s,user=alice,f=1", proc);
	cr_assert_str_eq(out, want);
	/* a user id too long to fit is dropped, a short header tag still goes in */
	snprintf(in.user, sizeof in.user, "someone-with-a-long-id");
	tg_attrib_call_tags(&cfg, &in, "f=1", out);
	snprintf(want, sizeof want, "%s,f=1", proc);
	cr_assert_str_eq(out, want);
}

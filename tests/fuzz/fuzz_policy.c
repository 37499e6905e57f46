/* fuzz_policy.c - libFuzzer target for the budget policy parser.
 *
 * The input is a TOKENGUARD_BUDGETS value (policies separated by ';') and,
 * up to its first ';', one `budget set` line.  Whatever it is, parsing
 * must end in a policy or a NUL-terminated message.  Every policy parsed
 * must format within TG_POLICY_LINE_MAX and parse back to itself (the
 * ledger stores policies as that line); its scope key and window bounds
 * must be computable (a tag:KEY=* policy's once bound to a value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static void same(const struct tg_policy *a, const struct tg_policy *b)
{
	if (strcmp(a->name, b->name) || a->scope != b->scope || strcmp(a->scope_value, b->scope_value) ||
	    a->window != b->window || a->action != b->action || a->fallback != b->fallback ||
	    a->alert_pct != b->alert_pct || a->limit_tokens != b->limit_tokens ||
	    a->unpriced != b->unpriced || a->fleet != b->fleet || a->per_value != b->per_value ||
	    strcmp(a->zone, b->zone) ||
	    strcmp(a->downgrade_model, b->downgrade_model) ||
	    memcmp(&a->limit_usd, &b->limit_usd, sizeof a->limit_usd) != 0)
		abort();
}

static void round_trip(const struct tg_policy *p)
{
	static struct tg_policy back;
	char line[TG_POLICY_LINE_MAX], key[TG_SCOPE_KEY_MAX], err[256];
	int64_t start, reset;

	if (tg_policy_format(p, line, sizeof line) < 0)
		abort();
	if (tg_policy_parse(line, &back, err, sizeof err) != 0)
		abort();
	back.from_env = p->from_env;
	same(p, &back);
	if (p->per_value == TG_VALUE_EACH) {
		/* no one scope until bound to a call's value */
		static struct tg_policy bound;
		char tags[TG_TAGS_MAX];
		struct tg_call c = { .tags = tags };

		if (tg_policy_scope_key(p, key, sizeof key) != -1 ||
		    tg_policy_each_key(p, tags, sizeof tags - 3) < 0)
			abort();
		strcat(tags, "=v");
		if (tg_policy_bind(p, &c, &bound) != 1 || strcmp(tg_policy_value(&bound), "v") ||
		    tg_policy_scope_key(&bound, key, sizeof key) < 0)
			abort();
	} else if (tg_policy_scope_key(p, key, sizeof key) < 0) {
		abort();
	}
	/* A zone is not read here (no file access in the target): UTC. */
	tg_window_bounds(p->window, INT64_C(1795336393000000), &start, &reset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_policy list[16], one;
	char err[256];
	int n = 0;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tg_policies_parse_env(s, list, 16, &n, err, sizeof err) == 0) {
		if (n < 0 || n > 16)
			abort();
		for (int i = 0; i < n; i++)
			round_trip(&list[i]);
	} else if (!memchr(err, '\0', sizeof err)) {
		abort();
	}
	char *semi = strchr(s, ';');
	if (semi)
		*semi = '\0';
	if (tg_policy_parse(s, &one, err, sizeof err) == 0)
		round_trip(&one);
	free(s);
	return 0;
}

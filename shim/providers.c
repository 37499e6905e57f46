/* providers.c - see providers.h. */
#include "providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "provider_names.h"
#include "text.h"

/* The names are provider_names.h's, the report's list too. */
#define KNOWN_ROW(name, wire) { name, TG_WIRE_##wire },
static const struct tg_provider known[] = {
	TG_PROVIDER_NAMES(KNOWN_ROW)
};
#undef KNOWN_ROW

/* A pattern is an exact host, "*.suffix" (any label(s) before the suffix),
 * or "prefix.*.suffix" (exactly one label in the middle: AWS regions). */
struct host_rule {
	const char *pattern;
	const char *provider;
};

static const struct host_rule builtin_rules[] = {
	{ "api.openai.com",                     "openai" },
	{ "api.anthropic.com",                  "anthropic" },
	{ "generativelanguage.googleapis.com",  "gemini" },
	{ "*.openai.azure.com",                 "azure-openai" },
	{ "*.cognitiveservices.azure.com",      "azure-openai" },
	{ "bedrock-runtime.*.amazonaws.com",    "bedrock" },
	{ "api.cohere.com",                     "cohere" },
	{ "api.cohere.ai",                      "cohere" },
	{ "api.mistral.ai",                     "mistral" },
	{ "api.groq.com",                       "groq" },
	{ "api.x.ai",                           "xai" },
	{ "api.together.xyz",                   "together" },
	{ "api.together.ai",                    "together" },
	{ "api.fireworks.ai",                   "fireworks" },
	{ "api.perplexity.ai",                  "perplexity" },
	{ "api.deepseek.com",                   "deepseek" },
	{ "openrouter.ai",                      "openrouter" },
};

#define EXTRA_MAX 32
#define EXTRA_NAME_MAX 24
#define EXTRA_HOST_MAX 128

/* TOKENGUARD_HOSTS entries, filled once at init before any hook observes a
 * connection, read-only afterwards. */
static struct extra_host {
	char host[EXTRA_HOST_MAX];
	int port;
	char name[EXTRA_NAME_MAX];
	struct tg_provider provider;
} extra[EXTRA_MAX];
static int extra_count;

const struct tg_provider *tg_provider_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(known[i].name, name) == 0)
			return &known[i];
	return NULL;
}

static int wire_by_name(const char *name, enum tg_wire *out)
{
	static const struct { const char *name; enum tg_wire wire; } wires[] = {
		{ "openai", TG_WIRE_OPENAI }, { "anthropic", TG_WIRE_ANTHROPIC },
		{ "gemini", TG_WIRE_GEMINI }, { "cohere", TG_WIRE_COHERE },
		{ "bedrock", TG_WIRE_BEDROCK },
	};
	for (size_t i = 0; i < sizeof wires / sizeof wires[0]; i++)
		if (strcmp(wires[i].name, name) == 0) {
			*out = wires[i].wire;
			return 0;
		}
	return -1;
}

/* The APIs, by endpoint path: the wire format each speaks and the key
 * that caps its output when a clamp inserts one (NULL: the API has no
 * output to cap).  One row per API; the first row that matches wins, so a
 * provider-specific row comes before the general one.  An API whose body
 * already names a cap has that number replaced in place, whatever its key
 * (reqscan.c reads them all).
 *
 * Caps, from the providers' API references:
 *  - OpenAI chat: max_completion_tokens; its reasoning models reject
 *    max_tokens (platform.openai.com/docs/api-reference/chat/create).
 *    The OpenAI-compatible hosts (Mistral, Groq, xAI, ...) read max_tokens.
 *  - OpenAI Responses: max_output_tokens; legacy completions: max_tokens.
 *  - Anthropic messages (also through Bedrock InvokeModel): max_tokens.
 *  - Gemini generateContent: generationConfig.maxOutputTokens.
 *  - Bedrock Converse: inferenceConfig.maxTokens.
 *  - Cohere v2 chat: max_tokens. */
enum match { SUFFIX, PREFIX, CONTAINS, BEDROCK_ANTHROPIC_INVOKE };

static const struct api {
	const char *provider;   /* only this record name; NULL: any */
	enum match how;
	const char *text;
	enum tg_wire wire;
	const char *cap_key;    /* dotted: "object.key", the object created when absent */
} apis[] = {
	{ "openai",       SUFFIX,   "/chat/completions",      TG_WIRE_OPENAI, "max_completion_tokens" },
	{ "azure-openai", SUFFIX,   "/chat/completions",      TG_WIRE_OPENAI, "max_completion_tokens" },
	{ NULL,           SUFFIX,   "/chat/completions",      TG_WIRE_OPENAI, "max_tokens" },
	{ NULL,           SUFFIX,   "/completions",           TG_WIRE_OPENAI, "max_tokens" },
	{ NULL,           SUFFIX,   "/embeddings",            TG_WIRE_OPENAI, NULL },
	{ NULL,           SUFFIX,   "/responses",             TG_WIRE_OPENAI, "max_output_tokens" },
	{ NULL,           SUFFIX,   "/v1/messages",           TG_WIRE_ANTHROPIC, "max_tokens" },
	{ NULL,           CONTAINS, ":generateContent",       TG_WIRE_GEMINI, "generationConfig.maxOutputTokens" },
	{ NULL,           CONTAINS, ":streamGenerateContent", TG_WIRE_GEMINI, "generationConfig.maxOutputTokens" },
	{ NULL,           CONTAINS, ":embedContent",          TG_WIRE_GEMINI, NULL },
	{ NULL,           CONTAINS, ":batchEmbedContents",    TG_WIRE_GEMINI, NULL },
	{ NULL,           CONTAINS, ":countTokens",           TG_WIRE_GEMINI, NULL },
	{ NULL,           SUFFIX,   "/converse",              TG_WIRE_BEDROCK, "inferenceConfig.maxTokens" },
	{ NULL,           SUFFIX,   "/converse-stream",       TG_WIRE_BEDROCK, "inferenceConfig.maxTokens" },
	/* Bedrock InvokeModel answers in the model vendor's own format. */
	{ NULL,           BEDROCK_ANTHROPIC_INVOKE, NULL,     TG_WIRE_ANTHROPIC, "max_tokens" },
	{ NULL,           PREFIX,   "/v2/chat",               TG_WIRE_COHERE, "max_tokens" },
	{ NULL,           PREFIX,   "/v2/embed",              TG_WIRE_COHERE, NULL },
};

static int api_matches(const struct api *a, const char *provider, const char *endpoint)
{
	if (a->provider && (!provider || strcmp(a->provider, provider) != 0))
		return 0;
	switch (a->how) {
	case SUFFIX:
		return tg_ends_with(endpoint, a->text);
	case PREFIX:
		return strncmp(endpoint, a->text, strlen(a->text)) == 0;
	case CONTAINS:
		return strstr(endpoint, a->text) != NULL;
	case BEDROCK_ANTHROPIC_INVOKE:
		return strncmp(endpoint, "/model/", 7) == 0 && tg_ends_with(endpoint, "/invoke") &&
		       strstr(endpoint, "anthropic.") != NULL;
	}
	return 0;
}

static const struct api *api_for(const char *provider, const char *endpoint)
{
	for (size_t i = 0; endpoint && i < sizeof apis / sizeof apis[0]; i++)
		if (api_matches(&apis[i], provider, endpoint))
			return &apis[i];
	return NULL;
}

enum tg_wire tg_wire_for_endpoint(const char *endpoint, enum tg_wire fallback)
{
	const struct api *a = api_for(NULL, endpoint);
	return a ? a->wire : fallback;
}

const char *tg_cap_key_for_endpoint(const struct tg_provider *p, const char *endpoint)
{
	const struct api *a = api_for(p->name, endpoint);
	if (a)
		return a->cap_key;
	/* A path that says nothing: the host's own format decides. */
	switch (p->wire) {
	case TG_WIRE_GEMINI:
		return "generationConfig.maxOutputTokens";
	case TG_WIRE_BEDROCK:
		return "inferenceConfig.maxTokens";
	default:
		return "max_tokens";
	}
}

/* Compares a host against a pattern, both lower-case-insensitive. */
static int host_matches(const char *pattern, const char *host, size_t hlen)
{
	const char *star = strchr(pattern, '*');
	if (!star)
		return strlen(pattern) == hlen && strncasecmp(pattern, host, hlen) == 0;

	size_t plen = (size_t)(star - pattern);
	const char *suffix = star + 1;
	size_t slen = strlen(suffix);
	if (hlen <= plen + slen)
		return 0;
	if (strncasecmp(host, pattern, plen) != 0 ||
	    strncasecmp(host + hlen - slen, suffix, slen) != 0)
		return 0;
	/* "*.x" accepts any labels; "a.*.x" accepts exactly one label. */
	if (plen == 0)
		return 1;
	return memchr(host + plen, '.', hlen - plen - slen) == NULL;
}

const struct tg_provider *tg_provider_for_host(const char *host, int port)
{
	if (!host)
		return NULL;
	size_t hlen = strcspn(host, ":");
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (hlen == 0)
		return NULL;

	for (int i = 0; i < extra_count; i++) {
		if (extra[i].port && port && extra[i].port != port)
			continue;
		if (host_matches(extra[i].host, host, hlen))
			return &extra[i].provider;
	}
	for (size_t i = 0; i < sizeof builtin_rules / sizeof builtin_rules[0]; i++)
		if (host_matches(builtin_rules[i].pattern, host, hlen))
			return tg_provider_by_name(builtin_rules[i].provider);
	return NULL;
}

/* Parses one "host[:port]=provider[/format]" entry into extra[extra_count]. */
static int parse_extra(const char *entry, size_t len)
{
	char buf[EXTRA_HOST_MAX + EXTRA_NAME_MAX + 32];
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, entry, len);
	buf[len] = '\0';

	char *eq = strchr(buf, '=');
	if (!eq || eq == buf || eq[1] == '\0')
		return -1;
	*eq = '\0';
	char *host = buf, *name = eq + 1;
	struct extra_host *e = &extra[extra_count];

	char *colon = strchr(host, ':');
	e->port = 0;
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port <= 0 || port > 65535)
			return -1;
		e->port = (int)port;
		*colon = '\0';
	}
	if (strlen(host) >= sizeof e->host || strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*") != strlen(host))
		return -1;

	char *slash = strchr(name, '/');
	if (slash) {
		*slash = '\0';
		if (wire_by_name(slash + 1, &e->provider.wire) != 0)
			return -1;
	} else {
		const struct tg_provider *p = tg_provider_by_name(name);
		if (!p)
			return -1;
		e->provider.wire = p->wire;
	}
	if (name[0] == '\0' || strlen(name) >= sizeof e->name)
		return -1;
	strcpy(e->host, host);
	strcpy(e->name, name);
	e->provider.name = e->name;
	extra_count++;
	return 0;
}

int tg_providers_port_matters(void)
{
	for (int i = 0; i < extra_count; i++)
		if (extra[i].port)
			return 1;
	return 0;
}

int tg_providers_configure(const char *hosts_env)
{
	const char *first_bad = NULL;
	size_t first_len = 0;
	int bad = 0, over = 0;

	extra_count = 0;
	if (!hosts_env)
		return 0;
	/* One pass, one summary: however many entries are wrong, the program's
	 * stderr gets one line (how many, and the first). */
	for (const char *p = hosts_env; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0) {
			if (extra_count == EXTRA_MAX) {
				over++;
			} else if (parse_extra(p, len) != 0) {
				if (!bad++) {
					first_bad = p;
					first_len = len;
				}
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (bad)
		tg_warn("TOKENGUARD_HOSTS: %d entr%s ignored, the first \"%.*s\": expected host[:port]=provider "
		        "or host[:port]=name/format (format: openai, anthropic, gemini, cohere, bedrock)",
		        bad, bad == 1 ? "y" : "ies", (int)(first_len > 80 ? 80 : first_len), first_bad);
	if (over)
		tg_warn("TOKENGUARD_HOSTS: more than %d entries; the other %d are ignored", EXTRA_MAX, over);
	return extra_count;
}

/* providers.h - which hosts are LLM providers, and which wire format each speaks.
 *
 * Owns: the built-in host table, the extra hosts from TOKENGUARD_HOSTS, and
 * the API table: per endpoint path, its wire format and the key that caps
 * its output.
 * A lookup is a short scan of a small table with no allocation and no lock:
 * it runs once per new TLS connection, provider or not.
 */
#ifndef TG_PROVIDERS_H
#define TG_PROVIDERS_H

#include "wire.h"

struct tg_provider {
	const char *name;     /* record name: "openai", "azure-openai", ... */
	enum tg_wire wire;
};

/* Parses TOKENGUARD_HOSTS ("host[:port]=provider[/format],...": provider is a
 * record name such as "groq", or any name followed by "/format" where format
 * is openai|anthropic|gemini|cohere|bedrock).  Entries it cannot read are
 * reported through tg_warn and skipped.  Call once, before any lookup.
 * Returns the number of entries accepted. */
int tg_providers_configure(const char *hosts_env);

/* Finds the provider serving `host` (case-insensitive; a trailing dot and a
 * ":port" suffix are ignored).  `port` is the peer's TCP port, or 0 when
 * unknown (memory-BIO connections); entries configured with a port only
 * match that port.  Returns NULL for hosts that are not providers. */
const struct tg_provider *tg_provider_for_host(const char *host, int port);

/* The wire format an endpoint path implies, whatever the host: gateways
 * (OpenRouter, LiteLLM, a TOKENGUARD_HOSTS entry) serve several formats on
 * one host, and Cohere and others offer OpenAI-compatible paths.  Returns
 * `fallback` (the host's format) for paths that say nothing. */
enum tg_wire tg_wire_for_endpoint(const char *endpoint, enum tg_wire fallback);

/* The key that caps an API's output, for a clamp to insert into a body
 * that names none: "max_completion_tokens", "max_output_tokens",
 * "max_tokens", or a dotted "object.key" ("generationConfig.
 * maxOutputTokens") whose object is created when absent.  NULL for APIs
 * with no output to cap (embeddings).  One table in providers.c classifies
 * every API: adding one is a change to that table alone. */
const char *tg_cap_key_for_endpoint(const struct tg_provider *p, const char *endpoint);

/* 1 when some TOKENGUARD_HOSTS entry is limited to a port: only then is
 * the peer's port worth a system call. */
int tg_providers_port_matters(void);

/* Looks a record name up ("openai", "groq", ...); NULL if unknown. */
const struct tg_provider *tg_provider_by_name(const char *name);

#endif

/* provider_names.h - the names of the providers the shim knows, the one
 * list: the shim's provider table (shim/providers.c) pairs each with its
 * wire format, the report names them when a --provider matches no record.
 *
 * TG_PROVIDER_NAMES(X) expands X(name, wire) once per provider, wire being
 * the TG_WIRE_ suffix of shim/wire.h's enum (a bare token). */
#ifndef TG_PROVIDER_NAMES_H
#define TG_PROVIDER_NAMES_H

#include <strings.h>

#define TG_PROVIDER_NAMES(X) \
	X("openai",       OPENAI) \
	X("azure-openai", OPENAI) \
	X("anthropic",    ANTHROPIC) \
	X("gemini",       GEMINI) \
	X("bedrock",      BEDROCK) \
	X("cohere",       COHERE) \
	X("mistral",      OPENAI) \
	X("groq",         OPENAI) \
	X("xai",          OPENAI) \
	X("together",     OPENAI) \
	X("fireworks",    OPENAI) \
	X("perplexity",   OPENAI) \
	X("deepseek",     OPENAI) \
	X("openrouter",   OPENAI)

/* 1 when name is one of them, ignoring case. */
static inline int tg_provider_name_known(const char *name)
{
#define TG_PROVIDER_NAME_IS(n, wire) !strcasecmp(name, n) ||
	return TG_PROVIDER_NAMES(TG_PROVIDER_NAME_IS) 0;
#undef TG_PROVIDER_NAME_IS
}

#endif

/* operation.c - see operation.h.
 *
 * Sources: the OpenTelemetry semantic conventions for generative AI
 * (gen_ai.operation.name: chat, text_completion, embeddings,
 * generate_content, ...); the providers' API references for the paths:
 * OpenAI /v1/chat/completions, /v1/completions, /v1/embeddings,
 * /v1/responses, /v1/responses/input_tokens; Anthropic /v1/messages,
 * /v1/messages/count_tokens; Gemini and Vertex :generateContent,
 * :streamGenerateContent, :embedContent, :batchEmbedContents, :countTokens;
 * Vertex's Anthropic models :rawPredict, :streamRawPredict; Bedrock
 * /converse, /converse-stream, /invoke, /invoke-with-response-stream,
 * /count-tokens; Cohere /v1/chat, /v2/chat, /v1/generate, /v1/embed,
 * /v2/embed. */
#include <string.h>

#include "operation.h"
#include "text.h"

/* A path that ends with one of these is that operation.  Longer suffixes
 * first: "/chat/completions" before "/completions". */
static const struct {
	const char *suffix;
	const char *operation;
} by_suffix[] = {
	{ "/messages/count_tokens", "count_tokens" },
	{ "/responses/input_tokens", "count_tokens" },
	{ ":countTokens", "count_tokens" },
	{ "/count-tokens", "count_tokens" },
	{ "/chat/completions", "chat" },
	{ "/completions", "text_completion" },
	{ "/embeddings", "embeddings" },
	{ "/responses", "chat" },
	{ "/v1/messages", "chat" },
	{ ":generateContent", "generate_content" },
	{ ":streamGenerateContent", "generate_content" },
	{ ":embedContent", "embeddings" },
	{ ":batchEmbedContents", "embeddings" },
	{ ":rawPredict", "chat" },
	{ ":streamRawPredict", "chat" },
	{ "/converse", "chat" },
	{ "/converse-stream", "chat" },
	{ "/v1/chat", "chat" },
	{ "/v2/chat", "chat" },
	{ "/v1/generate", "text_completion" },
	{ "/v1/embed", "embeddings" },
	{ "/v2/embed", "embeddings" },
};

const char *tg_operation_of(const char *endpoint)
{
	for (size_t i = 0; i < sizeof by_suffix / sizeof by_suffix[0]; i++)
		if (tg_ends_with(endpoint, by_suffix[i].suffix))
			return by_suffix[i].operation;
	/* Bedrock InvokeModel speaks the model vendor's own API: only the
	 * model in the path says what it is. */
	if (strncmp(endpoint, "/model/", 7) == 0 &&
	    (tg_ends_with(endpoint, "/invoke") ||
	     tg_ends_with(endpoint, "/invoke-with-response-stream")))
		return strstr(endpoint, "embed") ? "embeddings" : "chat";
	return "";
}

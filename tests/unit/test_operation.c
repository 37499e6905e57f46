/* test_operation.c - the operation recorded for each kind of endpoint. */
#include <criterion/criterion.h>

#include "operation.h"

Test(operation, names_each_provider_endpoint_in_the_opentelemetry_vocabulary)
{
	static const struct {
		const char *endpoint, *operation;
	} cases[] = {
		{ "/v1/chat/completions", "chat" },
		{ "/openai/deployments/gpt-4o/chat/completions", "chat" },
		{ "/openai/v1/chat/completions", "chat" },
		{ "/v1/completions", "text_completion" },
		{ "/v1/embeddings", "embeddings" },
		{ "/v1/responses", "chat" },
		{ "/v1/responses/input_tokens", "count_tokens" },
		{ "/v1/messages", "chat" },
		{ "/v1/messages/count_tokens", "count_tokens" },
		{ "/v1beta/models/gemini-2.5-flash:generateContent", "generate_content" },
		{ "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "generate_content" },
		{ "/v1beta/models/gemini-2.5-flash:countTokens", "count_tokens" },
		{ "/v1beta/models/text-embedding-004:embedContent", "embeddings" },
		{ "/v1beta/models/text-embedding-004:batchEmbedContents", "embeddings" },
		{ "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4:rawPredict",
		  "chat" },
		{ "/model/anthropic.claude-3-7-sonnet-20250219-v1:0/converse", "chat" },
		{ "/model/anthropic.claude-3-7-sonnet-20250219-v1:0/converse-stream", "chat" },
		{ "/model/anthropic.claude-3-7-sonnet-20250219-v1:0/invoke", "chat" },
		{ "/model/cohere.embed-english-v3/invoke", "embeddings" },
		{ "/model/anthropic.claude-3-7-sonnet-20250219-v1:0/count-tokens", "count_tokens" },
		{ "/v2/chat", "chat" },
		{ "/v1/chat", "chat" },
		{ "/v2/embed", "embeddings" },
		{ "/v1/rerank", "" },
		{ "/v1/models", "" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_str_eq(tg_operation_of(cases[i].endpoint), cases[i].operation, "%s",
		                 cases[i].endpoint);
}

/* test_providers.c - provider recognition by host name and TOKENGUARD_HOSTS. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "log.h"
#include "providers.h"
#include "text.h"

static const char *name_of(const char *host, int port)
{
	const struct tg_provider *p = tg_provider_for_host(host, port);
	return p ? p->name : "(none)";
}

Test(providers, builtin_hosts_map_to_their_record_names)
{
	tg_providers_configure(NULL);
	cr_assert_str_eq(name_of("api.openai.com", 443), "openai");
	cr_assert_str_eq(name_of("API.OpenAI.com", 443), "openai");
	cr_assert_str_eq(name_of("api.anthropic.com", 0), "anthropic");
	cr_assert_str_eq(name_of("generativelanguage.googleapis.com", 443), "gemini");
	cr_assert_str_eq(name_of("myres.openai.azure.com", 443), "azure-openai");
	cr_assert_str_eq(name_of("bedrock-runtime.us-east-1.amazonaws.com", 443), "bedrock");
	cr_assert_str_eq(name_of("api.cohere.com", 443), "cohere");
	cr_assert_str_eq(name_of("api.mistral.ai", 443), "mistral");
	cr_assert_str_eq(name_of("api.groq.com", 443), "groq");
	cr_assert_str_eq(name_of("api.x.ai", 443), "xai");
	cr_assert_str_eq(name_of("api.together.xyz", 443), "together");
	cr_assert_str_eq(name_of("api.fireworks.ai", 443), "fireworks");
	cr_assert_str_eq(name_of("api.perplexity.ai", 443), "perplexity");
	cr_assert_str_eq(name_of("api.deepseek.com", 443), "deepseek");
	cr_assert_str_eq(name_of("openrouter.ai", 443), "openrouter");
}

Test(providers, trailing_dot_and_port_suffix_are_ignored)
{
	tg_providers_configure(NULL);
	cr_assert_str_eq(name_of("api.openai.com.", 443), "openai");
	cr_assert_str_eq(name_of("api.openai.com:443", 443), "openai");
}

Test(providers, lookalike_hosts_are_not_providers)
{
	tg_providers_configure(NULL);
	cr_assert_str_eq(name_of("api.openai.com.evil.example", 443), "(none)");
	cr_assert_str_eq(name_of("xapi.openai.com", 443), "(none)");
	cr_assert_str_eq(name_of("openai.azure.com", 443), "(none)");
	cr_assert_str_eq(name_of("bedrock-runtime.amazonaws.com", 443), "(none)");
	cr_assert_str_eq(name_of("bedrock-runtime.a.b.amazonaws.com", 443), "(none)");
	cr_assert_str_eq(name_of("example.com", 443), "(none)");
	cr_assert_str_eq(name_of("", 443), "(none)");
	cr_assert_null(tg_provider_for_host(NULL, 443));
}

Test(providers, extra_hosts_add_providers_with_optional_port)
{
	cr_assert_eq(tg_providers_configure("llm.internal:8443=vllm/openai,gw.example=groq"), 2);
	const struct tg_provider *p = tg_provider_for_host("llm.internal", 8443);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->name, "vllm");
	cr_assert_eq(p->wire, TG_WIRE_OPENAI);
	cr_assert_str_eq(name_of("llm.internal", 9000), "(none)");
	/* Memory-BIO connections have no known port: the host decides. */
	cr_assert_str_eq(name_of("llm.internal", 0), "vllm");
	cr_assert_str_eq(name_of("gw.example", 443), "groq");
	tg_providers_configure(NULL);
}

Test(providers, unreadable_extra_entries_are_skipped)
{
	tg_log_init(0, 1);
	cr_assert_eq(tg_providers_configure("nohost,=openai,h=unknownprov,h:99999=openai,h=x/nosuchformat,ok.example=anthropic"), 1);
	cr_assert_str_eq(name_of("ok.example", 443), "anthropic");
	tg_providers_configure(NULL);
}

Test(providers, endpoints_name_their_wire_format_whatever_the_host)
{
	cr_assert_eq(tg_wire_for_endpoint("/v1/chat/completions", TG_WIRE_ANTHROPIC), TG_WIRE_OPENAI);
	cr_assert_eq(tg_wire_for_endpoint("/openai/deployments/gpt4o/chat/completions", TG_WIRE_OPENAI), TG_WIRE_OPENAI);
	cr_assert_eq(tg_wire_for_endpoint("/compatibility/v1/chat/completions", TG_WIRE_COHERE), TG_WIRE_OPENAI);
	cr_assert_eq(tg_wire_for_endpoint("/v1/messages", TG_WIRE_OPENAI), TG_WIRE_ANTHROPIC);
	cr_assert_eq(tg_wire_for_endpoint("/v1beta/models/gemini-2.5-flash:streamGenerateContent", TG_WIRE_OPENAI), TG_WIRE_GEMINI);
	cr_assert_eq(tg_wire_for_endpoint("/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream", TG_WIRE_OPENAI), TG_WIRE_BEDROCK);
	cr_assert_eq(tg_wire_for_endpoint("/v2/chat", TG_WIRE_OPENAI), TG_WIRE_COHERE);
	cr_assert_eq(tg_wire_for_endpoint("/v1/models", TG_WIRE_GEMINI), TG_WIRE_GEMINI);
	/* Vertex AI's countTokens answers as Gemini's, behind any host name */
	cr_assert_eq(tg_wire_for_endpoint("/v1/projects/p/locations/us-central1/publishers/google/models/"
	                                  "gemini-2.5-flash:countTokens", TG_WIRE_OPENAI), TG_WIRE_GEMINI);
}

Test(providers, each_api_has_its_cap_key)
{
	const struct tg_provider *openai = tg_provider_by_name("openai");
	const struct tg_provider *mistral = tg_provider_by_name("mistral");
	const struct tg_provider *azure = tg_provider_by_name("azure-openai");
	cr_assert_str_eq(tg_cap_key_for_endpoint(openai, "/v1/chat/completions"), "max_completion_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(azure, "/openai/deployments/d/chat/completions"),
	                 "max_completion_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(openai, "/v1/responses"), "max_output_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(openai, "/v1/completions"), "max_tokens");
	cr_assert_null(tg_cap_key_for_endpoint(openai, "/v1/embeddings"));
	cr_assert_str_eq(tg_cap_key_for_endpoint(mistral, "/v1/chat/completions"), "max_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("groq"), "/openai/v1/chat/completions"),
	                 "max_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("anthropic"), "/v1/messages"), "max_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("gemini"),
	                 "/v1beta/models/gemini-2.5-flash:generateContent"), "generationConfig.maxOutputTokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("bedrock"),
	                 "/model/amazon.nova-lite-v1:0/converse"), "inferenceConfig.maxTokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("bedrock"),
	                 "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"), "max_tokens");
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("cohere"), "/v2/chat"), "max_tokens");
	/* Cohere's OpenAI-compatible path is an OpenAI-compatible API. */
	cr_assert_str_eq(tg_cap_key_for_endpoint(tg_provider_by_name("cohere"), "/compatibility/v1/chat/completions"),
	                 "max_tokens");
}

Test(providers, ten_thousand_bad_hosts_give_one_warning_fast)
{
	size_t n = 10000, len = 0;
	char *env = malloc(n * 16), err[8192];
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(env + len, "%sbad%zu", i ? "," : "", i);
	tg_log_init(0, 0);
	int64_t t0 = tg_mono_us();
	int token = tgt_stderr_begin();
	int ok = tg_providers_configure(env);
	size_t total = tgt_stderr_end(token, err, sizeof err);
	int64_t took = tg_mono_us() - t0;
	free(env);
	cr_assert_eq(ok, 0);
	cr_assert_eq(strchr(err, '\n'), err + total - 1, "more than one line: %s", err);
	cr_assert_not_null(strstr(err, "TOKENGUARD_HOSTS: 10000 entries ignored, the first \"bad0\""), "%s", err);
	cr_assert_lt(took, 500000, "parsing 10,000 entries took %lld us", (long long)took);
}

Test(providers, good_entries_past_the_table_give_one_warning)
{
	char env[4096], err[4096];
	size_t len = 0;
	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(env + len, "%sh%d.example=openai", i ? "," : "", i);
	tg_log_init(0, 0);
	int token = tgt_stderr_begin();
	cr_assert_eq(tg_providers_configure(env), 32);
	tgt_stderr_end(token, err, sizeof err);
	cr_assert_str_eq(err, "tokenguard: TOKENGUARD_HOSTS: more than 32 entries; the other 8 are ignored\n");
}

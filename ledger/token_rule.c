/* token_rule.c - see token_rule.h. */
#include "token_rule.h"

int64_t tg_estimate_tokens(int64_t bytes)
{
	if (bytes < 0)
		return -1;
	return bytes / TG_BYTES_PER_TOKEN + (bytes % TG_BYTES_PER_TOKEN != 0);
}

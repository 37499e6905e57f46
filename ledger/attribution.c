/* attribution.c - see attribution.h. */
#include "attribution.h"

#include <stdio.h>
#include <string.h>

#include "ledger_secret.h"

int tg_attrib_mode_parse(const char *s, enum tg_attrib_mode *out)
{
	if (!strcmp(s, "hash"))
		*out = TG_ATTRIB_HASH;
	else if (!strcmp(s, "plain"))
		*out = TG_ATTRIB_PLAIN;
	else if (!strcmp(s, "off"))
		*out = TG_ATTRIB_OFF;
	else
		return -1;
	return 0;
}

int tg_attrib_key_load(const char *dir, int create, uint8_t key[TG_SIPHASH_KEY_BYTES])
{
	return tg_ledger_secret_load(dir, TG_ATTRIB_KEY_FILE, create, key);
}

void tg_attrib_hash(const uint8_t key[TG_SIPHASH_KEY_BYTES], const char *id, size_t len,
                    char *out)
{
	snprintf(out, TG_ATTRIB_HASH_LEN + 1, "h:%016llx",
	         (unsigned long long)tg_siphash24(key, id, len));
}

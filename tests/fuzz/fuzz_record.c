/* sources: ledger/record.c ledger/error.c */
/* fuzz_record.c - libFuzzer target for the ledger's record codec.
 *
 * The input is a stored record value.  Decoding it must not fault; when it
 * decodes, encoding the record and decoding that must give it back: the
 * same encoding again (which reads every field, text up to its NUL), and
 * from then on the very same struct.  (The first decode may leave bytes
 * after a text field's NUL when a field repeats; those are no part of the
 * record.)  The seed corpus holds records the ledger wrote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "record_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_record a, b, c;
	static unsigned char enc1[TG_RECORD_ENC_MAX], enc2[TG_RECORD_ENC_MAX];
	int n1, n2;

	if (tg_record_decode(&a, data, size) != 0)
		return 0;
	n1 = tg_record_encode(&a, enc1, sizeof enc1);
	if (n1 <= 0)
		abort();        /* a decoded record always fits */
	if (tg_record_decode(&b, enc1, (size_t)n1) != 0)
		abort();
	n2 = tg_record_encode(&b, enc2, sizeof enc2);
	if (n2 != n1 || memcmp(enc1, enc2, (size_t)n1) != 0)
		abort();
	if (tg_record_decode(&c, enc2, (size_t)n2) != 0 || memcmp(&b, &c, sizeof b) != 0)
		abort();
	return 0;
}

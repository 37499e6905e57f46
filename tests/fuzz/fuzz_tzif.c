/* sources: ledger/tzif.c ledger/error.c ledger/file_read.c */
/* fuzz_tzif.c - libFuzzer target for the TZif reader (ledger/tzif.c).
 *
 * The input is a TZif file.  Whatever it is, decoding must end in a zone
 * or a NUL-terminated message, reading nothing past the input; a zone
 * decoded must answer every question (offsets, local days and months
 * from 1900 to 2200) without overflow or a loop that does not end.  The
 * footer rule is also parsed on its own from the input's last line.
 * seed: TZif2\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0001\0000\0000\0000\0004\0000\0000MX\0000\0000IST\0000TZif2\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0001\0000\0000\0000\0004\0000\0000MX\0000\0000IST\0000\0012IST-5:30\0012
 * seed: TZif2\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0001\0000\0000\0000\0004\0000\0000\0016\0020\0000\0000CET\0000TZif2\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0000\0002\0000\0000\0000\0002\0000\0000\0000\0011\0000\0000\0000\0000f\0010\0265\0220\0000\0000\0000\0000g\0035\0220\0220\0001\0000\0000\0000\0016\0020\0000\0000\0000\0000\0034\0040\0001\0004CET\0000CEST\0000\0012CET-1CEST,M3.5.0,M10.5.0/3\0012
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tzif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_tz z;
	struct tg_tz_rule r;
	char err[256];

	if (tg_tz_parse(data, size, &z, err, sizeof err) == 0) {
		if (z.ntrans < 0 || z.ntrans > TG_TZ_TRANS_MAX)
			abort();
		for (int64_t t = INT64_C(-2208988800); t < INT64_C(7258118400); t += INT64_C(86400) * 997) {
			int64_t s, e;
			int32_t o = tg_tz_offset(&z, t);

			if (o < -26 * 3600 || o > 26 * 3600)
				abort();
			tg_tz_day(&z, t, &s, &e);
			tg_tz_month(&z, t, &s, &e);
		}
	} else if (!memchr(err, '\0', sizeof err)) {
		abort();
	}
	const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
	if (nl)
		tg_tz_rule_parse((const char *)nl + 1, size - (size_t)(nl + 1 - data), &r);
	return 0;
}

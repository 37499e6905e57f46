/* cmd_views.c - the views ccusage users know: daily, weekly, monthly,
 * session (one row per process run) and blocks (5-hour windows).  Each is
 * a summary with its own time key (agg.h) in the report's zone; with
 * --breakdown, one row per model under each.  --order, --sort, --limit,
 * --since/--until and the formats are the summary's. */
#include "report.h"

static int view(const struct tg_report *rep, struct tg_ledger *l, const char *key,
                const char *with_models, int blocks)
{
	return tg_summary_by(rep, l, rep->breakdown ? with_models : key, blocks);
}

int tg_cmd_daily(const struct tg_report *rep, struct tg_ledger *l)
{
	return view(rep, l, "day", "day,model", 0);
}

int tg_cmd_weekly(const struct tg_report *rep, struct tg_ledger *l)
{
	return view(rep, l, "week", "week,model", 0);
}

int tg_cmd_monthly(const struct tg_report *rep, struct tg_ledger *l)
{
	return view(rep, l, "month", "month,model", 0);
}

int tg_cmd_session(const struct tg_report *rep, struct tg_ledger *l)
{
	return view(rep, l, "session", "session,model", 0);
}

int tg_cmd_blocks(const struct tg_report *rep, struct tg_ledger *l)
{
	return view(rep, l, "block", "block,model", 1);
}

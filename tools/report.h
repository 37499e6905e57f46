/* report.h - what the tokenguard-report commands share: the parsed
 * options and the command table entry.  main.c parses the command line
 * and opens the ledger; each cmd_*.c file is one command. */
#ifndef TG_REPORT_H
#define TG_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "filter.h"
#include "ledger.h"

#ifndef TG_VERSION
#define TG_VERSION "0.1.0"
#endif

#define TG_EXIT_FAIL 2

/* The budget set flags (--scope ... --fallback), NULL when not given. */
struct tg_budget_flags {
	const char *scope, *window, *usd, *tokens, *action, *alert, *fallback, *unpriced;
};

/* estimate's flags, NULL (0) when not given. */
struct tg_estimate_flags {
	const char *input_tokens, *input_file, *output_tokens;
	int budget;
};

/* --tag-label: at most this many tags as metric labels (agg.h's keys
 * beside provider, model, operation, process). */
#define TG_REPORT_TAG_LABELS 4

struct tg_report {
	int64_t since_us;   /* inclusive; 0 when not given */
	int64_t until_us;   /* exclusive; INT64_MAX when not given */
	int64_t now_us;
	int period_given;   /* --since, --until or --today was given */
	int format;         /* enum tg_format */
	int format_given;
	const char *by;     /* --by list, or NULL */
	int sort;           /* --sort: enum tg_agg_sort (TG_SORT_KEY when not given) */
	int desc;           /* --order desc, or --sort without --order asc */
	int64_t limit;      /* --limit; -1 when not given */
	int top;            /* --top N gave sort, desc and limit */
	int breakdown;      /* --breakdown: views add the model to their key */
	int chart;          /* --chart: summary and views as bars (chart.h) */
	const char *dir;    /* the ledger directory */
	struct tg_filter filter;
	double max_usd;     /* check: < 0 when not given */
	int64_t max_tokens; /* check: < 0 when not given */
	int strict;         /* check: unknown costs and counts fail too */
	int require_ledger; /* check: no ledger is an error, not zero spend */
	int force;          /* repair: rebuild a ledger that verifies clean too;
	                       init: replace an existing file */
	int system;         /* init: the system file, not the user's */
	struct tg_budget_flags budget;
	const char *pid;    /* doctor: --pid */
	const char *tag_label[TG_REPORT_TAG_LABELS]; /* metrics, serve: --tag-label NAME */
	int ntag_labels;
	const char *listen; /* serve: --listen HOST:PORT */
	int follow;         /* records: --follow */
	const char *otlp;   /* export: --otlp URL */
	int spans;          /* export: --spans */
	struct tg_estimate_flags estimate;
	const char *alert_exec;   /* alerts: --exec CMD */
	const char *webhook;      /* alerts: --webhook URL */
	const char *webhook_format; /* alerts: --webhook-format as given */
	int webhook_json;         /* alerts: --webhook-format json */
	const char *alert_name;   /* alerts: --name (the watermark) */
	const char *redis;        /* sync: --redis URL */
	double sync_interval;     /* sync: --interval SECONDS; 0 when not given */
	const char *postgres;     /* sync, --fleet: --postgres CONNINFO */
	int sync_init;            /* sync: --init */
	int fleet;                /* --fleet: the fleet's PostgreSQL instead of the ledger */
	char **args;        /* positional arguments after the command */
	int nargs;
	FILE *out;
	FILE *err;
};

/* What a command accepts besides --ledger, --format and the period. */
#define TG_TAKES_BY      0x1u  /* --by */
#define TG_TAKES_FILTER  0x2u  /* --tag, --provider, --model, --process */
#define TG_TAKES_MAX     0x4u  /* --max-usd, --max-tokens, --strict, --require-ledger */
#define TG_TAKES_BUDGET  0x8u  /* positional arguments, budget set flags */
#define TG_OPENS_LEDGER  0x10u /* opens the ledger itself (run gets NULL) */
#define TG_TAKES_FORCE   0x20u /* --force */
#define TG_TAKES_ARGS    0x40u /* positional arguments */
#define TG_NO_LEDGER     0x80u /* reads no ledger (run gets NULL, --ledger is ignored) */
#define TG_TAKES_PID     0x100u /* --pid */
#define TG_TAKES_ORDER   0x200u /* --sort, --order, --limit */
#define TG_TAKES_VIEW    0x400u /* --breakdown */
#define TG_TABLE_ON_TTY  0x800u /* without --format: a table on a terminal */
#define TG_TAKES_EXPORT  0x1000u /* --tag-label, --listen */
#define TG_TAKES_FOLLOW  0x2000u /* --follow */
#define TG_TAKES_OTLP    0x4000u /* --otlp, --spans */
#define TG_TAKES_ESTIMATE 0x8000u /* --input-tokens, --input-file, --output-tokens, --budget */
#define TG_TAKES_ALERTS  0x10000u /* --exec, --webhook, --webhook-format, --name */
#define TG_TAKES_STATUS  0x20000u /* --tag, --limit (budget status: the values shown) */
#define TG_TAKES_SYSTEM  0x40000u /* --system */
#define TG_TAKES_CHART   0x80000u /* --chart */
#define TG_TAKES_WATCH   0x100000u /* --interval: watch's own, for its help */
#define TG_TAKES_SYNC    0x200000u /* --redis, --init, --postgres (and --interval, sync's) */
#define TG_TAKES_FLEET   0x400000u /* --fleet */
#define TG_TAKES_BITS    23      /* the bits above, for the checks that loop over them */

struct tg_cmd {
	const char *name;
	const char *usage;     /* one line for --help */
	unsigned formats;      /* 1u << enum tg_format accepted */
	int default_format;
	unsigned takes;        /* TG_TAKES_*, TG_OPENS_LEDGER */
	int (*run)(const struct tg_report *rep, struct tg_ledger *l);  /* exit status */
};

/* Prints "tokenguard-report: <message>" on rep->err; returns TG_EXIT_FAIL. */
int tg_report_fail(const struct tg_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports a ledger error from a scan; returns TG_EXIT_FAIL.  TG_ELOCKED
 * names the process holding the writer lock and what to do. */
int tg_report_ledger_fail(const struct tg_report *rep, int rc);

/* The same for an error of the ledger as a whole (open, a write):
 * "DIR: what is wrong; what to do". */
int tg_report_dir_fail(const struct tg_report *rep, int rc);

int tg_cmd_summary(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_records(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_check(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_budget(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_verify(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_repair(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_prices(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_doctor(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_init(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_daily(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_weekly(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_monthly(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_session(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_blocks(const struct tg_report *rep, struct tg_ledger *l);

/* The summary of the period grouped by the --by list by (the views are
 * summaries with their own key); blocks adds what ccusage shows of the
 * active 5-hour block. */
int tg_summary_by(const struct tg_report *rep, struct tg_ledger *l, const char *by, int blocks);
int tg_cmd_metrics(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_serve(const struct tg_report *rep, struct tg_ledger *l);

/* The Prometheus text of every record's sums into f (cmd_metrics.c).
 * Returns 0, or TG_EXIT_FAIL after saying why. */
int tg_metrics_write(const struct tg_report *rep, struct tg_ledger *l, FILE *f);

/* The counters `metrics` exposes and `export --otlp` sends (cmd_metrics.c):
 * a value per group of the sums, by its Prometheus and OTLP names. */
struct tg_agg;
struct tg_agg_sums;
struct tg_metric_family {
	const char *name, *otel_name, *unit, *help;
	int64_t (*count)(const struct tg_agg_sums *s);
	double (*usd)(const struct tg_agg_sums *s);
};
const struct tg_metric_family *tg_metric_families(size_t *n);
/* The series keys (provider, model, operation, process; the --tag-label
 * tags follow) and the token kinds by their gen_ai token type name. */
#define TG_METRIC_SERIES_LABELS 4
extern const char *const tg_metric_series_label[TG_METRIC_SERIES_LABELS];
extern const char *const tg_metric_token_type[];

/* Every record's sums by those series into *a (tg_agg_free() it).
 * Returns 0, or TG_EXIT_FAIL after saying why. */
int tg_metrics_sum(const struct tg_report *rep, struct tg_ledger *l, struct tg_agg *a);
int tg_cmd_export(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_estimate(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_alerts(const struct tg_report *rep, struct tg_ledger *l);
int tg_cmd_sync(const struct tg_report *rep, struct tg_ledger *l);

/* watch (watch.c): cmd, a view, drawn again every interval seconds until
 * SIGINT or SIGTERM.  Before each frame period(rep, ctx) sets the period
 * anew from the time now (--today moves on at midnight); it returns 0, or
 * an exit status after saying why.  The ledger is opened for each frame,
 * so that one made meanwhile shows.  Returns the exit status. */
int tg_watch(struct tg_report *rep, const struct tg_cmd *cmd, double interval,
             int (*period)(struct tg_report *rep, void *ctx), void *ctx);
#define TG_WATCH_INTERVAL_MIN 0.1
#define TG_WATCH_INTERVAL_MAX 86400.0
#define TG_SYNC_INTERVAL_MIN 0.05
#define TG_SYNC_INTERVAL_MAX 86400.0

/* The price table ($TOKENGUARD_PRICES over the bundled one) into *prices,
 * for what (named in the message when it cannot be loaded).  Returns 0 or
 * TG_EXIT_FAIL after saying why. */
struct tg_prices;
int tg_report_load_prices(const struct tg_report *rep, struct tg_prices **prices,
                          const char *what);

/* The user's price file the table is loaded with, or NULL for none. */
const char *tg_report_prices_file(void);

/* The table's version, date and age, and the user's price file, on
 * rep->out; a warning on rep->err when it is stale (prices, estimate). */
void tg_report_price_edition(const struct tg_report *rep, const struct tg_prices *t);

/* Days after which the bundled price table is called stale (prices, doctor). */
#define TG_PRICES_STALE_DAYS 90

/* Whole days from date (YYYY-MM-DD) to now, or -1 when date is none. */
long tg_prices_age_days(const char *date, int64_t now_us);

#endif

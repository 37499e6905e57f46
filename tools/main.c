/* main.c - tokenguard-report: command line, the command table, opening
 * the ledger and turning failures into one clear line and exit status 2.
 * A new command is one more row in `commands` and one cmd_*.c file. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "policy.h"
#include "decimal.h"
#include "emit.h"
#include "env.h"
#include "help.h"
#include "price.h"
#include "pg_schema.h"
#include "pg_source.h"
#include "prom.h"
#include "report.h"
#include "settings.h"
#include "unknowns.h"
#include "when.h"
#include "zone.h"

#define F(x) (1u << (x))
#define SUMS (F(TG_FMT_TABLE) | F(TG_FMT_JSON) | F(TG_FMT_CSV) | F(TG_FMT_HTML))
#define VIEW (TG_TAKES_FILTER | TG_TAKES_ORDER | TG_TAKES_VIEW | TG_TAKES_CHART | TG_TAKES_FLEET)

static const struct tg_cmd commands[] = {
	{ "summary", "calls, tokens and cost grouped by --by (the default command)",
	  SUMS, TG_FMT_TABLE,
	  TG_TAKES_BY | TG_TAKES_FILTER | TG_TAKES_ORDER | TG_TAKES_CHART | TG_TAKES_FLEET,
	  tg_cmd_summary },
	{ "daily", "the summary by local day (--breakdown: and model)",
	  SUMS, TG_FMT_TABLE, VIEW, tg_cmd_daily },
	{ "weekly", "the summary by ISO week (--breakdown: and model)",
	  SUMS, TG_FMT_TABLE, VIEW, tg_cmd_weekly },
	{ "monthly", "the summary by month (--breakdown: and model)",
	  SUMS, TG_FMT_TABLE, VIEW, tg_cmd_monthly },
	{ "session", "the summary by process run (--breakdown: and model)",
	  SUMS, TG_FMT_TABLE, VIEW, tg_cmd_session },
	{ "blocks", "the summary by 5-hour block, the active one projected",
	  SUMS, TG_FMT_TABLE, VIEW, tg_cmd_blocks },
	{ "records", "one line per exchange, every field",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON) | F(TG_FMT_JSONL) | F(TG_FMT_CSV), TG_FMT_JSONL,
	  TG_TAKES_FILTER | TG_TABLE_ON_TTY | TG_TAKES_FOLLOW | TG_TAKES_FLEET, tg_cmd_records },
	{ "check", "exit 1 when the spend of the period is over --max-usd / --max-tokens",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON), TG_FMT_TABLE,
	  TG_TAKES_FILTER | TG_TAKES_MAX | TG_TAKES_FLEET, tg_cmd_check },
	{ "budget", "budget policies: set, list, rm, reset, status, alerts",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON), TG_FMT_TABLE,
	  TG_TAKES_BUDGET | TG_TAKES_STATUS | TG_OPENS_LEDGER, tg_cmd_budget },
	{ "verify", "check that every record decodes and every total is the sum of its records",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON), TG_FMT_TABLE, 0, tg_cmd_verify },
	{ "repair", "move a damaged ledger aside and rebuild it from what can still be read",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FORCE | TG_OPENS_LEDGER, tg_cmd_repair },
	{ "prices", "the price table, or what a model id matches; its date and age",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FILTER | TG_TAKES_ARGS | TG_NO_LEDGER,
	  tg_cmd_prices },
	{ "doctor", "whether the shim will see a program, a running process; the installation",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_ARGS | TG_TAKES_PID | TG_OPENS_LEDGER,
	  tg_cmd_doctor },
	{ "init", "write a commented configuration file: the user's, or --system's",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FORCE | TG_TAKES_SYSTEM | TG_NO_LEDGER,
	  tg_cmd_init },
	{ "metrics", "Prometheus counters of every record (text exposition format)",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FILTER | TG_TAKES_EXPORT, tg_cmd_metrics },
	{ "serve", "serve the metrics over HTTP at --listen HOST:PORT, path /metrics",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FILTER | TG_TAKES_EXPORT, tg_cmd_serve },
	{ "export", "send the metrics (and, --spans, each record once) to an OTLP/HTTP collector",
	  F(TG_FMT_TABLE), TG_FMT_TABLE,
	  TG_TAKES_FILTER | TG_TAKES_EXPORT | TG_TAKES_OTLP | TG_OPENS_LEDGER, tg_cmd_export },
	{ "estimate", "what a call would cost before it is made; --budget: what the budgets say",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON), TG_FMT_TABLE,
	  TG_TAKES_FILTER | TG_TAKES_ESTIMATE | TG_OPENS_LEDGER, tg_cmd_estimate },
	{ "alerts", "budget and price alerts: printed, followed, or delivered once to --exec or --webhook",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON) | F(TG_FMT_JSONL), TG_FMT_JSONL,
	  TG_TAKES_FOLLOW | TG_TAKES_ALERTS | TG_TABLE_ON_TTY | TG_OPENS_LEDGER, tg_cmd_alerts },
	{ "sync", "the fleet agent: fleet budgets through Redis, records to PostgreSQL (--init: its schema)",
	  F(TG_FMT_TABLE), TG_FMT_TABLE, TG_TAKES_FOLLOW | TG_TAKES_SYNC | TG_OPENS_LEDGER, tg_cmd_sync },
	/* Never run itself: take_command() puts the view it names in its
	 * place, and main() hands that to tg_watch(). */
	{ "watch", "draw a view again every second until Ctrl-C (default: today's summary)",
	  SUMS, TG_FMT_TABLE, TG_TAKES_BY | VIEW | TG_TAKES_WATCH, NULL },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

int tg_report_fail(const struct tg_report *rep, const char *fmt, ...)
{
	va_list ap;

	fputs("tokenguard-report: ", rep->err);
	va_start(ap, fmt);
	vfprintf(rep->err, fmt, ap);
	va_end(ap);
	putc('\n', rep->err);
	return TG_EXIT_FAIL;
}

/* Another process has the writer lock: name it and say what to do. */
static int locked_fail(const struct tg_report *rep)
{
	char who[160];

	tg_ledger_dir_holder(rep->dir, who, sizeof who);
	return tg_report_fail(rep, "%s: %s holds the ledger's writer lock; retry when it has "
	                      "finished, or end it if it is stuck (a stopped process: kill -CONT)",
	                      rep->dir, who);
}

int tg_report_ledger_fail(const struct tg_report *rep, int rc)
{
	if (rc == TG_ELOCKED)
		return locked_fail(rep);
	return tg_report_fail(rep, "%s", tg_strerror(rc));
}

int tg_report_dir_fail(const struct tg_report *rep, int rc)
{
	if (rc == TG_ELOCKED)
		return locked_fail(rep);
	return tg_report_fail(rep, "%s: %s", rep->dir, tg_strerror(rc));
}

static void usage(FILE *f)
{
	fputs("usage: tokenguard-report [COMMAND] [OPTIONS]\n\n"
	      "Reads the tokenguard ledger and reports LLM calls, tokens and cost.\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].usage);
	fputs("  help       the global help, or a command's: help COMMAND (or COMMAND --help)\n"
	      "  version    print the version\n"
	      "\nOptions (before or after the command):\n", f);
	tg_help_options(f, 0, 1);
	fputs("\n"
	      "WHEN is today, yesterday, YYYY-MM-DD, YYYYMMDD, an ISO 8601 time\n"
	      "(2026-11-22T08:30:00Z; without a zone, in --timezone's), or a duration back\n"
	      "from now: 30m, 12h, 7d, 2w.\n\n"
	      "Views (summaries by time, ccusage's): daily, weekly (ISO weeks), monthly,\n"
	      "session (a process run: one pid and process name, no pause of 30 minutes or\n"
	      "more), blocks (5-hour windows from the hour of their first call; the active\n"
	      "one with its time left and cost projected at the rate so far).  --chart\n"
	      "draws them, and the summary, as bars; watch [VIEW] draws one again every\n"
	      "second until Ctrl-C.\n\n"
	      "Budgets:\n"
	      "  budget set NAME SPEC        add or replace a policy, SPEC being\n"
	      "                              SCOPE,WINDOW,LIMIT[,LIMIT],ACTION[,alert=N][,fallback=F]\n"
	      "                              [,unpriced=estimate|block|allow]\n"
	      "  budget set NAME --scope S --window W [--usd X] [--tokens N] --action A\n"
	      "             [--alert P] [--fallback block|warn] [--unpriced estimate|block|allow]\n"
	      "  budget list | rm NAME | reset NAME\n"
	      "  budget status               spend, limit and state of each policy, its last\n"
	      "                              blocked call and (json) its recent alerts\n"
	      "  budget status [--limit N] [--tag KEY=VALUE]\n"
	      "                              a tag:KEY=* policy: the N values spent most\n"
	      "                              (default 20), or that value\n"
	      "  budget alerts [--since WHEN] [--until WHEN]\n"
	      "                              the alerts recorded: time, policy, level (threshold,\n"
	      "                              limit, blocked, fallback, unpriced), spend, limit,\n"
	      "                              pid, process, model, detail; `alerts` delivers them\n"
	      "SCOPE: global, tag:KEY=VALUE, tag:KEY=* (each value of KEY its own limit),\n"
	      "model:NAME, provider:NAME, process:NAME;\n"
	      "WINDOW: day, month, 24h (rolling, by the hour), session; LIMIT: usd=NUMBER\n"
	      "(0 to 1e9), tokens=INTEGER (0 to 1e15; k, M allowed); ACTION: block, warn,\n"
	      "downgrade:MODEL, clamp.  Numbers use '.' as the decimal point in every locale.\n"
	      "TOKENGUARD_BUDGETS adds policies for one environment, ';'-separated.\n\n"
	      "Prices:\n"
	      "  prices [--provider P]       the price table (USD per million tokens): each line,\n"
	      "                              built-in or from the user's price file, its date and\n"
	      "                              the table's version, date and age; a warning on\n"
	      "                              stderr when the table is more than 90 days old\n"
	      "  prices MODEL [--provider P] the family MODEL (an id as sent, dated or prefixed)\n"
	      "                              matches for each provider and its every price; exit 1\n"
	      "                              when none prices it\n"
	      "The user's price file is $TOKENGUARD_PRICES, else\n"
	      "$XDG_CONFIG_HOME/tokenguard/prices.tsv (~/.config/tokenguard/prices.tsv)\n"
	      "when it exists (see README, Prices).\n\n"
	      "Doctor:\n"
	      "  doctor                      the installation: library, ledger (owner, mode,\n"
	      "                              size, records, spools, last record), price table\n"
	      "                              age, models without a price, the budgets setting,\n"
	      "                              the configuration files and each setting in\n"
	      "                              effect with where it comes from\n"
	      "  doctor -- COMMAND           whether the shim will see COMMAND's TLS: libssl\n"
	      "                              linked (or a Python's ssl module), a static TLS\n"
	      "                              stack (Go, rustls, BoringSSL, OpenSSL inside),\n"
	      "                              setuid/setgid/capabilities\n"
	      "  doctor --pid PID            whether a running process has the shim and which\n"
	      "                              libssl mapped, and its records of the last hour\n"
	      "                              Each finding says what to do; exit 1 when one\n"
	      "                              needs attention\n\n"
	      "Configuration files:\n"
	      "  init [--force] [--system]   writes ~/.config/tokenguard/config (--system:\n"
	      "                              /etc/tokenguard/config, as root): every setting,\n"
	      "                              commented out at its default; key = value, the\n"
	      "                              key a TOKENGUARD_* variable's name in lower case\n"
	      "                              without TOKENGUARD_.  The environment wins over\n"
	      "                              the user's file, which wins over the system file\n\n"
	      "Checks and repair:\n"
	      "  verify                      every record decodes, every total is the sum of its\n"
	      "                              records, every policy, alert and spool is whole;\n"
	      "                              writes nothing; --format table or json\n"
	      "  repair [--force]            moves data.mdb and lock.mdb of a damaged ledger into\n"
	      "                              DIR/damaged-TIME/ and rebuilds the ledger from every\n"
	      "                              record, policy and alert still readable, then folds\n"
	      "                              the spools in; a ledger that verifies clean is left\n"
	      "                              alone unless --force\n\n"
	      "Exit status: 0 on success, 2 on any error (a damaged or locked ledger\n"
	      "included); check: 1 when over budget (or, with --strict, when a cost or\n"
	      "token count is unknown); verify: 1 when the ledger is inconsistent; prices\n"
	      "MODEL: 1 when no line prices MODEL; estimate --budget: 1 when the shim would\n"
	      "block the call.\n", f);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "summary, daily, ...", for a message. */
static const char *command_names(void)
{
	static char names[256];
	size_t n = 0;

	for (size_t i = 0; i < NCOMMANDS && n < sizeof names; i++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
		                      commands[i].name);
	return names;
}

static const struct tg_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

enum {
	OPT_LEDGER = 256, OPT_SINCE, OPT_UNTIL, OPT_TODAY, OPT_BY, OPT_FORMAT,
	OPT_TAG, OPT_PROVIDER, OPT_MODEL, OPT_PROCESS, OPT_MAX_USD, OPT_MAX_TOKENS,
	OPT_SCOPE, OPT_WINDOW, OPT_USD, OPT_TOKENS, OPT_ACTION, OPT_ALERT, OPT_FALLBACK, OPT_UNPRICED,
	OPT_STRICT, OPT_FORCE, OPT_PID, OPT_TIMEZONE, OPT_SORT, OPT_ORDER, OPT_LIMIT, OPT_BREAKDOWN,
	OPT_JSON, OPT_TAG_LABEL, OPT_LISTEN, OPT_FOLLOW, OPT_OTLP, OPT_SPANS,
	OPT_REQUIRE_LEDGER, OPT_INPUT_TOKENS, OPT_INPUT_FILE, OPT_OUTPUT_TOKENS, OPT_BUDGET,
	OPT_EXEC, OPT_WEBHOOK, OPT_WEBHOOK_FORMAT, OPT_NAME, OPT_TOP, OPT_SYSTEM, OPT_CHART,
	OPT_INTERVAL, OPT_REDIS, OPT_INIT, OPT_POSTGRES, OPT_FLEET,
};

/* The options, for getopt_long and for finding the command among them. */
static const struct option opts[] = {
	{ "ledger", required_argument, NULL, OPT_LEDGER },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "today", no_argument, NULL, OPT_TODAY },
	{ "by", required_argument, NULL, OPT_BY },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "provider", required_argument, NULL, OPT_PROVIDER },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "process", required_argument, NULL, OPT_PROCESS },
	{ "max-usd", required_argument, NULL, OPT_MAX_USD },
	{ "max-tokens", required_argument, NULL, OPT_MAX_TOKENS },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "usd", required_argument, NULL, OPT_USD },
	{ "tokens", required_argument, NULL, OPT_TOKENS },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "alert", required_argument, NULL, OPT_ALERT },
	{ "fallback", required_argument, NULL, OPT_FALLBACK },
	{ "unpriced", required_argument, NULL, OPT_UNPRICED },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "timezone", required_argument, NULL, OPT_TIMEZONE },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "breakdown", no_argument, NULL, OPT_BREAKDOWN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "tag-label", required_argument, NULL, OPT_TAG_LABEL },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "otlp", required_argument, NULL, OPT_OTLP },
	{ "spans", no_argument, NULL, OPT_SPANS },
	{ "require-ledger", no_argument, NULL, OPT_REQUIRE_LEDGER },
	{ "input-tokens", required_argument, NULL, OPT_INPUT_TOKENS },
	{ "input-file", required_argument, NULL, OPT_INPUT_FILE },
	{ "output-tokens", required_argument, NULL, OPT_OUTPUT_TOKENS },
	{ "budget", no_argument, NULL, OPT_BUDGET },
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "webhook", required_argument, NULL, OPT_WEBHOOK },
	{ "webhook-format", required_argument, NULL, OPT_WEBHOOK_FORMAT },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "system", no_argument, NULL, OPT_SYSTEM },
	{ "chart", no_argument, NULL, OPT_CHART },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "postgres", required_argument, NULL, OPT_POSTGRES },
	{ "fleet", no_argument, NULL, OPT_FLEET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Whether the long option word w (without its leading "--") takes its
 * value from the next word. */
static int takes_next_word(const char *w)
{
	size_t n = strcspn(w, "=");

	if (w[n] == '=')
		return 0;
	for (const struct option *o = opts; o->name; o++)
		if (!strncmp(o->name, w, n) && o->has_arg == required_argument)
			return 1;  /* a prefix getopt_long takes for this option */
	return 0;
}

/* The index of the command word: the first word that is neither an option
 * nor an option's value, before any "--"; 0 when there is none.  Options
 * may come before the command as well as after it. */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strncmp(argv[i], "--", 2)) {
			if (takes_next_word(argv[i] + 2))
				i++;
		} else if (argv[i][0] != '-' || !argv[i][1]) {
			return i;
		}
	}
	return 0;
}

struct args {
	const char *ledger, *since, *until, *format, *by, *max_usd, *max_tokens;
	const char *timezone, *sort, *order, *limit, *top;
	const char *interval;      /* watch: --interval */
	double interval_s;         /* its value; 1 when not given */
	int today, strict;
	const struct tg_cmd *cmd;  /* named on the command line, else NULL */
	const struct tg_cmd *watch;  /* `watch [VIEW]`: its row; cmd is then the view */
	int watch_view;            /* the view was named */
	unsigned used;  /* TG_TAKES_* implied by the options given */
	const char *first_option[TG_TAKES_BITS];  /* per TG_TAKES_* bit: an option that needs it */
};

static void need(struct args *a, unsigned what, const char *opt)
{
	int bit = __builtin_ctz(what);

	if (!a->first_option[bit])
		a->first_option[bit] = opt;
	a->used |= what;
}

/* budget status reads --tag and --limit its own way (the values shown). */
static int takes_status(const struct args *a)
{
	return a->cmd && (a->cmd->takes & TG_TAKES_STATUS);
}

/* Returns -1 after --help/--version, 0 to go on, else an exit status. */
static int parse_args(struct tg_report *rep, struct args *a, int argc, char **argv)
{
	int c;

	opterr = 0;  /* our own messages, in our own format */
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LEDGER: a->ledger = optarg; break;
		case OPT_SINCE: a->since = optarg; break;
		case OPT_UNTIL: a->until = optarg; break;
		case OPT_TODAY: a->today = 1; break;
		case OPT_BY: a->by = optarg; need(a, TG_TAKES_BY, "--by"); break;
		case OPT_FORMAT: a->format = optarg; break;
		case OPT_TAG:
			if (rep->filter.ntags == TG_FILTER_TAGS_MAX)
				return tg_report_fail(rep, "more than %d --tag options; use fewer",
				                      TG_FILTER_TAGS_MAX);
			if (!strchr(optarg, '=') || *optarg == '=' || strchr(optarg, ','))
				return tg_report_fail(rep, "--tag \"%s\" is not KEY=VALUE; "
				                      "use e.g. --tag team=search", optarg);
			rep->filter.tag[rep->filter.ntags++] = optarg;
			need(a, takes_status(a) ? TG_TAKES_STATUS : TG_TAKES_FILTER, "--tag");
			break;
		case OPT_PROVIDER: rep->filter.provider = optarg; need(a, TG_TAKES_FILTER, "--provider"); break;
		case OPT_MODEL: rep->filter.model = optarg; need(a, TG_TAKES_FILTER, "--model"); break;
		case OPT_PROCESS: rep->filter.process = optarg; need(a, TG_TAKES_FILTER, "--process"); break;
		case OPT_MAX_USD: a->max_usd = optarg; need(a, TG_TAKES_MAX, "--max-usd"); break;
		case OPT_MAX_TOKENS: a->max_tokens = optarg; need(a, TG_TAKES_MAX, "--max-tokens"); break;
		case OPT_STRICT: a->strict = 1; need(a, TG_TAKES_MAX, "--strict"); break;
		case OPT_SCOPE: rep->budget.scope = optarg; need(a, TG_TAKES_BUDGET, "--scope"); break;
		case OPT_WINDOW: rep->budget.window = optarg; need(a, TG_TAKES_BUDGET, "--window"); break;
		case OPT_USD: rep->budget.usd = optarg; need(a, TG_TAKES_BUDGET, "--usd"); break;
		case OPT_TOKENS: rep->budget.tokens = optarg; need(a, TG_TAKES_BUDGET, "--tokens"); break;
		case OPT_ACTION: rep->budget.action = optarg; need(a, TG_TAKES_BUDGET, "--action"); break;
		case OPT_ALERT: rep->budget.alert = optarg; need(a, TG_TAKES_BUDGET, "--alert"); break;
		case OPT_FALLBACK: rep->budget.fallback = optarg; need(a, TG_TAKES_BUDGET, "--fallback"); break;
		case OPT_UNPRICED: rep->budget.unpriced = optarg; need(a, TG_TAKES_BUDGET, "--unpriced"); break;
		case OPT_FORCE: rep->force = 1; need(a, TG_TAKES_FORCE, "--force"); break;
		case OPT_SYSTEM: rep->system = 1; need(a, TG_TAKES_SYSTEM, "--system"); break;
		case OPT_PID: rep->pid = optarg; need(a, TG_TAKES_PID, "--pid"); break;
		case OPT_TIMEZONE: a->timezone = optarg; break;
		case OPT_SORT: a->sort = optarg; need(a, TG_TAKES_ORDER, "--sort"); break;
		case OPT_ORDER: a->order = optarg; need(a, TG_TAKES_ORDER, "--order"); break;
		case OPT_LIMIT:
			a->limit = optarg;
			need(a, takes_status(a) ? TG_TAKES_STATUS : TG_TAKES_ORDER, "--limit");
			break;
		case OPT_TOP: a->top = optarg; need(a, TG_TAKES_ORDER, "--top"); break;
		case OPT_BREAKDOWN: rep->breakdown = 1; need(a, TG_TAKES_VIEW, "--breakdown"); break;
		case OPT_JSON: a->format = "json"; break;
		case OPT_TAG_LABEL:
			if (rep->ntag_labels == TG_REPORT_TAG_LABELS || !tg_prom_label_name_ok(optarg)
			    || strlen(optarg) >= TG_AGG_TAG_MAX)
				return tg_report_fail(rep, "--tag-label \"%s\": at most %d, each a tag name "
				                      "of letters, digits and _; use e.g. --tag-label team",
				                      optarg, TG_REPORT_TAG_LABELS);
			rep->tag_label[rep->ntag_labels++] = optarg;
			need(a, TG_TAKES_EXPORT, "--tag-label");
			break;
		case OPT_LISTEN: rep->listen = optarg; need(a, TG_TAKES_EXPORT, "--listen"); break;
		case OPT_OTLP: rep->otlp = optarg; need(a, TG_TAKES_OTLP, "--otlp"); break;
		case OPT_SPANS: rep->spans = 1; need(a, TG_TAKES_OTLP, "--spans"); break;
		case OPT_FOLLOW: rep->follow = 1; need(a, TG_TAKES_FOLLOW, "--follow"); break;
		case OPT_CHART: rep->chart = 1; need(a, TG_TAKES_CHART, "--chart"); break;
		case OPT_INTERVAL: a->interval = optarg; break;
		case OPT_REDIS: rep->redis = optarg; need(a, TG_TAKES_SYNC, "--redis"); break;
		case OPT_INIT: rep->sync_init = 1; need(a, TG_TAKES_SYNC, "--init"); break;
		case OPT_POSTGRES: rep->postgres = optarg; break;  /* sync's, and --fleet's */
		case OPT_FLEET: rep->fleet = 1; need(a, TG_TAKES_FLEET, "--fleet"); break;
		case OPT_REQUIRE_LEDGER:
			rep->require_ledger = 1;
			need(a, TG_TAKES_MAX, "--require-ledger");
			break;
		case OPT_INPUT_TOKENS:
			rep->estimate.input_tokens = optarg;
			need(a, TG_TAKES_ESTIMATE, "--input-tokens");
			break;
		case OPT_INPUT_FILE:
			rep->estimate.input_file = optarg;
			need(a, TG_TAKES_ESTIMATE, "--input-file");
			break;
		case OPT_OUTPUT_TOKENS:
			rep->estimate.output_tokens = optarg;
			need(a, TG_TAKES_ESTIMATE, "--output-tokens");
			break;
		case OPT_BUDGET: rep->estimate.budget = 1; need(a, TG_TAKES_ESTIMATE, "--budget"); break;
		case OPT_EXEC: rep->alert_exec = optarg; need(a, TG_TAKES_ALERTS, "--exec"); break;
		case OPT_WEBHOOK: rep->webhook = optarg; need(a, TG_TAKES_ALERTS, "--webhook"); break;
		case OPT_WEBHOOK_FORMAT:
			if (strcmp(optarg, "slack") && strcmp(optarg, "json"))
				return tg_report_fail(rep, "--webhook-format \"%s\" is not slack or json",
				                      optarg);
			rep->webhook_format = optarg;
			rep->webhook_json = !strcmp(optarg, "json");
			need(a, TG_TAKES_ALERTS, "--webhook-format");
			break;
		case OPT_NAME: rep->alert_name = optarg; need(a, TG_TAKES_ALERTS, "--name"); break;
		case 'h':
			if (a->watch)
				tg_help_command(rep->out, a->watch);
			else if (a->cmd)
				tg_help_command(rep->out, a->cmd);
			else
				usage(rep->out);
			return -1;
		case 'V':
			fprintf(rep->out, "tokenguard-report %s\n", TG_VERSION);
			return -1;
		case ':':
			return tg_report_fail(rep, "%s needs a value; see --help", argv[optind - 1]);
		default:
			return tg_report_fail(rep, "unknown option %s; see --help", argv[optind - 1]);
		}
	}
	rep->args = argv + optind;
	rep->nargs = argc - optind;
	return 0;
}

/* `watch [VIEW]`: the view named after watch (argv[i] onwards, watch
 * taken out already) becomes the command; the summary when none is.  The
 * views are the commands that draw a --chart. */
static int take_view(struct tg_report *rep, struct args *a, int *argc, char **argv, int i)
{
	int j = command_index(*argc - i + 1, argv + i - 1);
	const struct tg_cmd *view;

	a->watch = a->cmd;
	a->cmd = find_command("summary");
	if (!j)
		return 0;
	j += i - 1;
	view = find_command(argv[j]);
	if (!view || !view->run || !(view->takes & TG_TAKES_CHART))
		return tg_report_fail(rep, "watch: \"%s\" is not a view; use summary, daily, "
		                      "weekly, monthly, session or blocks", argv[j]);
	a->cmd = view;
	a->watch_view = 1;
	memmove(argv + j, argv + j + 1, (size_t)(*argc - j) * sizeof *argv);
	(*argc)--;
	return 0;
}

/* Finds the command word wherever it is among the options and takes it
 * out of argv (argc words) into a->cmd; `help [COMMAND]` and `version`
 * are answered here.  Returns -1 after help or the version, 0 to go on,
 * else an exit status. */
static int take_command(struct tg_report *rep, struct args *a, int *argc, char **argv)
{
	int i = command_index(*argc, argv), j;
	const char *name;

	if (!i)
		return 0;
	name = argv[i];
	if (!strcmp(name, "version")) {
		fprintf(rep->out, "tokenguard-report %s\n", TG_VERSION);
		return -1;
	}
	if (!strcmp(name, "help")) {
		j = command_index(*argc - i, argv + i);
		if (!j) {
			usage(rep->out);
			return -1;
		}
		if (!(a->cmd = find_command(argv[i + j])))
			return tg_report_fail(rep, "help: unknown command \"%s\"; commands: %s",
			                      argv[i + j], command_names());
		tg_help_command(rep->out, a->cmd);
		return -1;
	}
	if (!(a->cmd = find_command(name)))
		return tg_report_fail(rep, "unknown command \"%s\"; commands: %s (see --help)",
		                      name, command_names());
	memmove(argv + i, argv + i + 1, (size_t)(*argc - i) * sizeof *argv);  /* its NULL too */
	(*argc)--;
	if (!a->cmd->run)
		return take_view(rep, a, argc, argv, i);
	return 0;
}

/* A number for --max-usd / --max-tokens: the budget syntax's, so the two
 * agree on what is accepted. */
static int parse_max(struct tg_report *rep, const struct args *a)
{
	struct tg_policy p;
	char spec[128], err[256];

	rep->max_usd = -1;
	rep->max_tokens = -1;
	if (a->max_usd) {
		snprintf(spec, sizeof spec, "global,day,usd=%.64s,block", a->max_usd);
		if (tg_policy_parse(spec, &p, err, sizeof err))
			return tg_report_fail(rep, "--max-usd \"%s\" is not a non-negative number "
			                      "of dollars up to %lld; use e.g. --max-usd 0.05", a->max_usd,
			                      (long long)TG_POLICY_USD_MAX);
		rep->max_usd = p.limit_usd;
	}
	if (a->max_tokens) {
		snprintf(spec, sizeof spec, "global,day,tokens=%.64s,block", a->max_tokens);
		if (tg_policy_parse(spec, &p, err, sizeof err))
			return tg_report_fail(rep, "--max-tokens \"%s\" is not a non-negative whole "
			                      "number up to %lld; use e.g. --max-tokens 50000 or 2M",
			                      a->max_tokens, (long long)TG_POLICY_TOKENS_MAX);
		rep->max_tokens = p.limit_tokens;
	}
	if (!a->max_usd && !a->max_tokens)
		return tg_report_fail(rep, "check needs a limit; add --max-usd X and/or --max-tokens N");
	rep->strict = a->strict;
	return 0;
}

/* Checked here, not by summary, so a bad key is reported before the
 * ledger is looked for. */
static int check_by(const struct tg_report *rep, const char *by)
{
	struct tg_agg probe;
	char err[256];

	if (by && tg_agg_init(&probe, by, err, sizeof err))
		return tg_report_fail(rep, "%s; see --help", err);
	return 0;
}

static int parse_period(struct tg_report *rep, const struct args *a)
{
	char since[TG_WHEN_ISO_MAX], until[TG_WHEN_ISO_MAX];

	if (a->today && a->since)
		return tg_report_fail(rep, "--today and --since both set the start; use one");
	if (a->today)
		tg_when_parse("today", rep->now_us, 0, &rep->since_us);
	if (a->since && tg_when_parse(a->since, rep->now_us, 0, &rep->since_us))
		return tg_report_fail(rep, "--since \"%s\" is not a date, time or duration; "
		                      "use e.g. yesterday, 2026-11-01, 20261101, "
		                      "2026-11-01T09:00:00Z or 7d", a->since);
	if (a->until && tg_when_parse(a->until, rep->now_us, 1, &rep->until_us))
		return tg_report_fail(rep, "--until \"%s\" is not a date, time or duration; "
		                      "use e.g. today, 2026-11-30, 20261130, "
		                      "2026-11-30T18:00:00Z or 1d", a->until);
	/* An empty period is a mistake (swapped values, a typo in a date),
	 * not a question whose answer is zero calls. */
	if (rep->since_us >= rep->until_us) {
		tg_when_iso(rep->since_us, since);
		tg_when_iso(rep->until_us, until);
		return tg_report_fail(rep, "the period is empty: %s%s%s (%s) is not before --until "
		                      "\"%s\" (%s); swap them or widen the period",
		                      a->since ? "--since \"" : a->today ? "--today" : "the start",
		                      a->since ? a->since : "", a->since ? "\"" : "", since,
		                      a->until ? a->until : "", until);
	}
	rep->period_given = a->since || a->until || a->today;
	return 0;
}

/* --top N: the N rows of the highest cost, --sort cost --limit N. */
static int parse_top(struct tg_report *rep, const struct args *a)
{
	char *end;

	if (a->sort || a->order || a->limit)
		return tg_report_fail(rep, "--top N is --sort cost --limit N; drop --%s or --top",
		                      a->sort ? "sort" : a->order ? "order" : "limit");
	rep->sort = TG_SORT_COST;
	rep->desc = 1;
	rep->top = 1;
	rep->limit = strtoll(a->top, &end, 10);
	if (!*a->top || *end || rep->limit < 1 || rep->limit > INT32_MAX)
		return tg_report_fail(rep, "--top \"%s\" is not a number of rows from 1; "
		                      "use e.g. --top 10", a->top);
	return 0;
}

/* --interval, watch's and sync's: seconds, '.' decimals in every
 * locale. */
static int parse_interval(struct tg_report *rep, struct args *a)
{
	a->interval_s = 1;
	if (!a->interval)
		return 0;
	if (a->cmd && (a->cmd->takes & TG_TAKES_SYNC)) {
		if (tg_decimal_parse(a->interval, &rep->sync_interval) ||
		    !(rep->sync_interval >= TG_SYNC_INTERVAL_MIN && rep->sync_interval <= TG_SYNC_INTERVAL_MAX))
			return tg_report_fail(rep, "--interval \"%s\" is not a number of seconds from %g "
			                      "to %g; use e.g. --interval 1", a->interval,
			                      TG_SYNC_INTERVAL_MIN, TG_SYNC_INTERVAL_MAX);
		return 0;
	}
	if (!a->watch)
		return tg_report_fail(rep, "--interval applies to watch and sync only; drop it or use "
		                      "e.g. watch daily --interval 5");
	if (tg_decimal_parse(a->interval, &a->interval_s) ||
	    !(a->interval_s >= TG_WATCH_INTERVAL_MIN && a->interval_s <= TG_WATCH_INTERVAL_MAX))
		return tg_report_fail(rep, "--interval \"%s\" is not a number of seconds from %g "
		                      "to %g; use e.g. --interval 2 or --interval 0.5", a->interval,
		                      TG_WATCH_INTERVAL_MIN, TG_WATCH_INTERVAL_MAX);
	return 0;
}

/* watch: the period of a frame, from the time now. */
static int watch_period(struct tg_report *rep, void *ctx)
{
	rep->now_us = now_us();
	rep->since_us = 0;
	rep->until_us = INT64_MAX;
	return parse_period(rep, ctx);
}

/* --sort, --order and --limit (or --top). */
static int parse_order(struct tg_report *rep, const struct args *a)
{
	static const char *const sorts[] = { "key", "cost", "calls", "tokens" };
	char *end;

	if (a->top)
		return parse_top(rep, a);
	rep->sort = TG_SORT_KEY;
	rep->limit = -1;
	for (int i = 1; a->sort && i < 4 && rep->sort == TG_SORT_KEY; i++)
		if (!strcmp(a->sort, sorts[i]))
			rep->sort = i;
	if (a->sort && rep->sort == TG_SORT_KEY)
		return tg_report_fail(rep, "--sort \"%s\" is not cost, calls or tokens", a->sort);
	/* Biggest first unless asked otherwise; keys in time order. */
	rep->desc = rep->sort != TG_SORT_KEY;
	if (a->order && strcmp(a->order, "asc") && strcmp(a->order, "desc"))
		return tg_report_fail(rep, "--order \"%s\" is not asc or desc", a->order);
	if (a->order)
		rep->desc = !strcmp(a->order, "desc");
	if (a->limit) {
		rep->limit = strtoll(a->limit, &end, 10);
		if (!*a->limit || *end || rep->limit < 0 || rep->limit > INT32_MAX)
			return tg_report_fail(rep, "--limit \"%s\" is not a whole number of rows; "
			                      "use e.g. --limit 10", a->limit);
	}
	return 0;
}

/* "table, json, csv": the names of the formats set in mask, for a message. */
static const char *format_names(unsigned mask)
{
	static char list[64];
	size_t n = 0;

	for (int i = 0; tg_emit_format_name(i); i++)
		if (mask & F(i))
			n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
			                      tg_emit_format_name(i));
	return list;
}

static int resolve(struct tg_report *rep, const struct tg_cmd *cmd, struct args *a)
{
	int64_t now = now_us();
	char err[512];

	rep->since_us = 0;
	rep->until_us = INT64_MAX;
	rep->now_us = now;
	for (unsigned i = 0; i < TG_TAKES_BITS; i++)
		if ((a->used & (1u << i)) && !(cmd->takes & (1u << i)))
			return tg_report_fail(rep, "%s does not apply to %s; drop it",
			                      a->first_option[i], cmd->name);
	if (rep->postgres && !(cmd->takes & TG_TAKES_SYNC) && !rep->fleet)
		return tg_report_fail(rep, "--postgres applies to sync and --fleet; drop it");
	if (rep->fleet && a->watch)
		return tg_report_fail(rep, "watch redraws this ledger's view; drop --fleet "
		                      "(the fleet's: run the view with --fleet)");
	if (rep->fleet && rep->follow)
		return tg_report_fail(rep, "--fleet reads the fleet's records once; drop --follow");
	if (tg_zone_use(a->timezone, err, sizeof err))
		return tg_report_fail(rep, "--timezone %s", err);
	if (parse_interval(rep, a))
		return TG_EXIT_FAIL;
	/* `watch` alone: today's summary. */
	if (a->watch && !a->watch_view && !a->since && !a->until)
		a->today = 1;
	if (parse_order(rep, a))
		return TG_EXIT_FAIL;
	if (rep->nargs && !(cmd->takes & (TG_TAKES_BUDGET | TG_TAKES_ARGS)))
		return tg_report_fail(rep, "unexpected argument \"%s\"; see --help", rep->args[0]);
	if ((cmd->takes & TG_TAKES_MAX) && parse_max(rep, a))
		return TG_EXIT_FAIL;
	if (check_by(rep, a->by) || parse_period(rep, a))
		return TG_EXIT_FAIL;
	rep->format = cmd->default_format;
	rep->format_given = a->format != NULL;
	/* People read a terminal, programs read a pipe. */
	if (!a->format && (cmd->takes & TG_TABLE_ON_TTY) && isatty(fileno(rep->out)))
		rep->format = TG_FMT_TABLE;
	if (a->format) {
		rep->format = tg_emit_format(a->format);
		if (rep->format < 0 || !(cmd->formats & F(rep->format)))
			return tg_report_fail(rep, "%s cannot be written as \"%s\"; its formats: %s%s",
			                      cmd->name, a->format, format_names(cmd->formats),
			                      rep->format == TG_FMT_HTML ?
			                      " (html: summary and the views daily, weekly, monthly, "
			                      "session, blocks)" : "");
	}
	if (rep->chart && rep->format != TG_FMT_TABLE)
		return tg_report_fail(rep, "--chart draws bars for people and cannot be written as "
		                      "\"%s\"; drop --chart or --format", a->format);
	rep->by = a->by;
	return 0;
}

/* The user's price file: the prices setting ($TOKENGUARD_PRICES, else the
 * configuration files), else the config directory's prices.tsv when it
 * exists (*found set: read on the shim's terms, TG_PRICES_FOUND_FILE). */
static const char *prices_file(int *found)
{
	static char path[4096];
	const char *v = tg_setting(TG_SET_PRICES);

	*found = 0;
	if (v && *v)
		return v;
	if (tg_config_file_path("prices.tsv", path, sizeof path) || access(path, F_OK))
		return NULL;
	*found = 1;
	return path;
}

const char *tg_report_prices_file(void)
{
	int found;

	return prices_file(&found);
}

int tg_report_load_prices(const struct tg_report *rep, struct tg_prices **prices,
                          const char *what)
{
	char err[512];
	size_t skipped;
	int found;
	const char *file = prices_file(&found);

	if (tg_prices_load_file(prices, file, found ? TG_PRICES_FOUND_FILE : 0, err, sizeof err))
		return tg_report_fail(rep, "cannot load prices for %s: %s; %s", what, err,
		                      found ? "fix or remove that file" :
		                      "fix or unset the prices setting (`tokenguard-report doctor` "
		                      "shows where it is set)");
	skipped = tg_prices_skipped(*prices);
	for (size_t i = 0; i < skipped && i < TG_PRICES_BAD_KEPT; i++)
		fprintf(rep->err, "tokenguard-report: warning: prices: %s; line skipped\n",
		        tg_prices_skipped_line(*prices, i));
	if (skipped > TG_PRICES_BAD_KEPT)
		fprintf(rep->err, "tokenguard-report: warning: prices: %zu more bad lines skipped\n",
		        skipped - TG_PRICES_BAD_KEPT);
	return 0;
}

/* --model matches price families too: the table is loaded only then. */
static int load_prices(struct tg_report *rep, struct tg_prices **prices)
{
	*prices = NULL;
	if (!rep->filter.model)
		return 0;
	if (tg_report_load_prices(rep, prices, "--model"))
		return TG_EXIT_FAIL;
	rep->filter.prices = *prices;
	return 0;
}

/* The ledger being read, for the last words below. */
static const char *damaged_dir = "the ledger";

/* LMDB has no checksums: garbage inside a B-tree page can make it assert
 * or fault where the checks before mapping cannot see.  The report then
 * says what is wrong and what to run, and exits 2, instead of dying of a
 * signal.  Only what is async-signal-safe is used. */
static void die_of_damage(void)
{
	static const char what[] = ": the ledger is damaged (a page LMDB cannot read); run "
	                           "'tokenguard-report repair' to rebuild it from what can still be "
	                           "read\n";
	ssize_t w;

	fflush(stdout);
	w = write(STDERR_FILENO, "tokenguard-report: ", 19);
	w = write(STDERR_FILENO, damaged_dir, strlen(damaged_dir));
	w = write(STDERR_FILENO, what, sizeof what - 1);
	(void)w;
	_exit(TG_EXIT_FAIL);
}

static void on_fault(int sig)
{
	die_of_damage();
}

static void guard_against_damage(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	tg_ledger_on_damage(die_of_damage);
}

/* --fleet: the fleet's records of the period, from PostgreSQL, as a
 * ledger in a temporary directory (pg_source.h) that the command reads
 * as it would the local one. */
static int open_fleet(struct tg_report *rep, int want_ids, struct tg_ledger **l, char *dir,
                      size_t n)
{
	const char *conninfo = tg_pg_conninfo(rep->postgres);
	char err[1024];
	int64_t rows;

	if (!conninfo)
		return tg_report_fail(rep, "--fleet reads the fleet's PostgreSQL: set fleet_postgres "
		                      "in the configuration file or pass --postgres CONNINFO");
	/* records shows each record's id, which the copy's keys are not. */
	if (tg_pg_fleet_ledger(conninfo, rep->since_us, rep->until_us, want_ids, l, dir, n, &rows,
	                       err, sizeof err))
		return tg_report_fail(rep, "--fleet: PostgreSQL: %s", err);
	damaged_dir = "the fleet's records (a temporary copy)";
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_report rep = { .out = stdout, .err = stderr };
	const struct tg_cmd *cmd = &commands[0];
	struct tg_prices *prices;
	struct args a = { 0 };
	struct tg_ledger *l = NULL;
	char dir[PATH_MAX];
	int rc;

	if ((rc = take_command(&rep, &a, &argc, argv)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.cmd)
		cmd = a.cmd;
	if ((rc = parse_args(&rep, &a, argc, argv)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = resolve(&rep, cmd, &a)) != 0)
		return rc;
	if (cmd->takes & TG_NO_LEDGER) {
		rc = cmd->run(&rep, NULL);
		if (rc != TG_EXIT_FAIL && (fflush(stdout) || ferror(stdout)))
			return tg_report_fail(&rep, "cannot write the report; check the output destination");
		return rc;
	}

	if (a.ledger) {
		if (snprintf(dir, sizeof dir, "%s", a.ledger) >= (int)sizeof dir)
			return tg_report_fail(&rep, "--ledger path too long; use a shorter path");
	} else if ((rc = tg_ledger_default_dir(dir, sizeof dir)) != 0) {
		return tg_report_fail(&rep, "%s; pass --ledger DIR", tg_ledger_dir_problem(rc));
	}
	rep.dir = dir;
	damaged_dir = dir;
	guard_against_damage();
	if ((rc = tg_filter_attribute(&rep.filter, dir)) != 0)
		return tg_report_fail(&rep, "%s/%s: %s; --tag user=ID cannot be matched to its hash: "
		                      "make it the user's own, mode 0600", dir, TG_ATTRIB_KEY_FILE,
		                      tg_strerror(rc));
	if (load_prices(&rep, &prices))
		return TG_EXIT_FAIL;
	if (a.watch) {
		rc = tg_watch(&rep, cmd, a.interval_s, watch_period, &a);
		tg_prices_free(prices);
		return rc;
	}
	if (rep.fleet) {
		if (open_fleet(&rep, cmd->run == tg_cmd_records, &l, dir, sizeof dir)) {
			tg_prices_free(prices);
			return TG_EXIT_FAIL;
		}
	} else if (!(cmd->takes & TG_OPENS_LEDGER)) {
		rc = tg_ledger_open(&l, dir, TG_LEDGER_RDONLY);
		/* A CI job that made no call has spent nothing: check answers
		 * from no ledger (run gets NULL) unless told it must exist. */
		if (rc == TG_ENOENT && (cmd->takes & TG_TAKES_MAX) && !rep.require_ledger)
			rc = 0;
		else if (rc != 0) {
			tg_prices_free(prices);
			if (rc != TG_ENOENT)
				return tg_report_dir_fail(&rep, rc);
			return tg_report_fail(&rep, "%s: %s%s", dir, tg_strerror(rc),
			                      !a.ledger ? ", or pass --ledger DIR" : "");
		} else {
			tg_ledger_reader_check(l, NULL);
		}
	}

	/* A typo in a filter value warns; for check, a gate that must not
	 * pass on one, it is an error. */
	if ((cmd->takes & TG_TAKES_FILTER) &&
	    (rc = tg_unknown_filter_values(&rep, l, (cmd->takes & TG_TAKES_MAX) != 0)) != 0 &&
	    (rc < 0 || (cmd->takes & TG_TAKES_MAX))) {
		tg_ledger_close(l);
		tg_prices_free(prices);
		return TG_EXIT_FAIL;
	}
	rc = cmd->run(&rep, l);
	tg_ledger_close(l);
	tg_prices_free(prices);
	if (rc != TG_EXIT_FAIL && (fflush(stdout) || ferror(stdout)))
		return tg_report_fail(&rep, "cannot write the report; check the output destination");
	return rc;
}

/* main.c - tokenguard-report: command line, the command table, opening
 * the ledger and turning failures into one clear line and exit status 2.
 * A new command (budget, check) is one more row in `commands` and one
 * cmd_*.c file. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emit.h"
#include "report.h"
#include "when.h"

#define F(x) (1u << (x))

static const struct tg_cmd commands[] = {
	{ "summary", "calls, tokens and cost grouped by --by (the default command)",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON) | F(TG_FMT_CSV), TG_FMT_TABLE, 1, tg_cmd_summary },
	{ "records", "one line per exchange, every field",
	  F(TG_FMT_TABLE) | F(TG_FMT_JSON) | F(TG_FMT_JSONL) | F(TG_FMT_CSV), TG_FMT_JSONL, 0,
	  tg_cmd_records },
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

int tg_report_ledger_fail(const struct tg_report *rep, int rc)
{
	return tg_report_fail(rep, "%s", tg_strerror(rc));
}

static void usage(FILE *f)
{
	fputs("usage: tokenguard-report [COMMAND] [OPTIONS]\n\n"
	      "Reads the tokenguard ledger and reports LLM calls, tokens and cost.\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].usage);
	fputs("\nOptions:\n"
	      "  --ledger DIR       ledger directory (default: $TOKENGUARD_LEDGER, else\n"
	      "                     $XDG_DATA_HOME/tokenguard, else ~/.local/share/tokenguard)\n"
	      "  --since WHEN       from WHEN, inclusive\n"
	      "  --until WHEN       up to WHEN, exclusive; a bare date includes that whole day\n"
	      "  --today            since midnight UTC today\n"
	      "  --by KEY[,KEY...]  summary grouping: provider, model, host, endpoint, day,\n"
	      "                     month, process, tag:NAME (default: provider,model)\n"
	      "  --format FMT       summary: table, json, csv; records: jsonl (default),\n"
	      "                     json, csv, table\n"
	      "  -h, --help         this text\n"
	      "  -V, --version      print the version\n\n"
	      "WHEN is YYYY-MM-DD, an ISO 8601 time (2026-11-22T08:30:00Z, no zone = UTC),\n"
	      "or a duration back from now: 30m, 12h, 7d, 2w.  Days and months are UTC.\n\n"
	      "Exit status: 0 on success, 2 on any error.\n", f);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct tg_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

enum { OPT_LEDGER = 256, OPT_SINCE, OPT_UNTIL, OPT_TODAY, OPT_BY, OPT_FORMAT };

struct args {
	const char *ledger, *since, *until, *format, *by;
	int today;
};

/* Returns -1 after --help/--version, 0 to go on, else an exit status. */
static int parse_args(struct tg_report *rep, struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "today", no_argument, NULL, OPT_TODAY },
		{ "by", required_argument, NULL, OPT_BY },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;  /* our own messages, in our own format */
	optind = 1;
	while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LEDGER: a->ledger = optarg; break;
		case OPT_SINCE: a->since = optarg; break;
		case OPT_UNTIL: a->until = optarg; break;
		case OPT_TODAY: a->today = 1; break;
		case OPT_BY: a->by = optarg; break;
		case OPT_FORMAT: a->format = optarg; break;
		case 'h':
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
	if (optind < argc)
		return tg_report_fail(rep, "unexpected argument \"%s\"; see --help", argv[optind]);
	return 0;
}

static int resolve(struct tg_report *rep, const struct tg_cmd *cmd, const struct args *a)
{
	int64_t now = now_us();

	rep->since_us = 0;
	rep->until_us = INT64_MAX;
	if (a->today && a->since)
		return tg_report_fail(rep, "--today and --since both set the start; use one");
	if (a->today)
		rep->since_us = tg_when_day_start(now);
	if (a->since && tg_when_parse(a->since, now, 0, &rep->since_us))
		return tg_report_fail(rep, "--since \"%s\" is not a date, time or duration; "
		                      "use e.g. 2026-11-01, 2026-11-01T09:00:00Z or 7d", a->since);
	if (a->until && tg_when_parse(a->until, now, 1, &rep->until_us))
		return tg_report_fail(rep, "--until \"%s\" is not a date, time or duration; "
		                      "use e.g. 2026-11-30, 2026-11-30T18:00:00Z or 1d", a->until);
	rep->format = cmd->default_format;
	if (a->format) {
		rep->format = tg_emit_format(a->format);
		if (rep->format < 0 || !(cmd->formats & F(rep->format)))
			return tg_report_fail(rep, "%s cannot be written as \"%s\"; see --help for its formats",
			                      cmd->name, a->format);
	}
	if (a->by && !cmd->takes_by)
		return tg_report_fail(rep, "--by applies to the summary, not to %s; drop it", cmd->name);
	rep->by = a->by;
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_report rep = { .out = stdout, .err = stderr };
	const struct tg_cmd *cmd = &commands[0];
	struct args a = { 0 };
	struct tg_ledger *l;
	char dir[PATH_MAX];
	int rc;

	if (argc > 1 && argv[1][0] != '-') {
		if (!(cmd = find_command(argv[1])))
			return tg_report_fail(&rep, "unknown command \"%s\"; see --help", argv[1]);
		argc--;
		argv++;
	}
	if ((rc = parse_args(&rep, &a, argc, argv)) != 0)
		return rc < 0 ? 0 : rc;
	if ((rc = resolve(&rep, cmd, &a)) != 0)
		return rc;

	if (a.ledger) {
		if (snprintf(dir, sizeof dir, "%s", a.ledger) >= (int)sizeof dir)
			return tg_report_fail(&rep, "--ledger path too long; use a shorter path");
	} else if ((rc = tg_ledger_default_dir(dir, sizeof dir)) != 0) {
		return tg_report_fail(&rep, "cannot tell where the ledger is (HOME is not set); "
		                      "pass --ledger DIR or set TOKENGUARD_LEDGER");
	}
	if ((rc = tg_ledger_open(&l, dir, TG_LEDGER_RDONLY)) != 0)
		return tg_report_fail(&rep, "%s: %s", dir, tg_strerror(rc));
	tg_ledger_reader_check(l, NULL);

	rc = cmd->run(&rep, l);
	tg_ledger_close(l);
	if (rc == 0 && (fflush(stdout) || ferror(stdout)))
		return tg_report_fail(&rep, "cannot write the report; check the output destination");
	return rc;
}

/* help.c - the option lines and the help of each command (see help.h). */
#include <string.h>

#include "help.h"

/* Who an option line is for: commands with any of these TG_TAKES_* bits;
 * 0 for every command (the ledger, the period, the format). */
struct option_help {
	unsigned takes;
	const char *text;
};

static const struct option_help options[] = {
	{ 0, "  --ledger DIR       ledger directory (default: $TOKENGUARD_LEDGER, else ledger =\n"
	     "                     in ~/.config/tokenguard/config, else in\n"
	     "                     /etc/tokenguard/config, else $XDG_DATA_HOME/tokenguard,\n"
	     "                     else ~/.local/share/tokenguard)\n" },
	{ 0, "  --since WHEN       from WHEN, inclusive\n"
	     "  --until WHEN       up to WHEN, exclusive; a bare date includes that whole day\n"
	     "  --today            since local midnight today\n"
	     "  --timezone ZONE    days, weeks, months, hours and bare dates in ZONE of the tz\n"
	     "                     database (Asia/Tokyo, UTC); default: the local zone (TZ,\n"
	     "                     else /etc/localtime).  Records stay UTC\n" },
	{ TG_TAKES_BY,
	  "  --by KEY[,KEY...]  summary grouping: provider, model, host, endpoint, day,\n"
	  "                     week (ISO), month, hour (of the day), process, operation,\n"
	  "                     session, block, machine, tag:NAME (default:\n"
	  "                     provider,model)\n" },
	{ TG_TAKES_VIEW, "  --breakdown        views: one row per model under each day, week, ...\n" },
	{ TG_TAKES_ORDER,
	  "  --sort KEY         summary and views: rows by cost, calls or tokens, biggest\n"
	  "                     first (default: by their keys, in time order)\n"
	  "  --order asc|desc   summary and views: the direction of the rows\n"
	  "  --limit N          summary and views: the first N rows (TOTAL stays of all)\n"
	  "  --top N            summary and views: the N costliest rows (--sort cost --limit N)\n" },
	{ TG_TAKES_STATUS,
	  "  --limit N, --tag KEY=VALUE\n"
	  "                     budget status: rows per value of a tag:KEY=* policy (the\n"
	  "                     N biggest, default 20), or that value's row\n" },
	{ 0, "  --format FMT       summary and views: table, json, csv, html; records: jsonl\n"
	     "                     (default when piped; a table on a terminal), json, csv,\n"
	     "                     table; check, estimate: table, json; budget list/status/\n"
	     "                     alerts: table, json; alerts: jsonl (piped), table\n"
	     "                     (terminal), json.  CSV text starting with = + - @ gets a\n"
	     "                     leading ' so spreadsheets do not run it as a formula.\n"
	     "                     html: one page that loads nothing, a chart of the cost\n"
	     "                     per day (week, month) by model and the table\n"
	     "  --json             --format json\n" },
	{ TG_TAKES_FILTER,
	  "  --tag KEY=VALUE    only calls with that tag (repeatable: all must hold);\n"
	  "                     user=ID also finds ID's hashed user tag\n"
	  "  --provider P, --model M, --process P\n"
	  "                     only calls of that provider, model (or model family),\n"
	  "                     process; for summary, the views, records and check\n" },
	{ TG_TAKES_MAX,
	  "  --max-usd X, --max-tokens N\n"
	  "                     check: the limits (tokens = input + output)\n"
	  "  --strict           check: exit 1 also when a selected call's cost or token\n"
	  "                     count is unknown (unpriced model, no usage in the response)\n"
	  "  --require-ledger   check: exit 2 when there is no ledger (default: no ledger\n"
	  "                     is no spend, exit 0)\n" },
	{ TG_TAKES_BUDGET,
	  "  --scope S, --window W, --usd X, --tokens N, --action A, --alert P,\n"
	  "  --fallback F, --unpriced U\n"
	  "                     budget set: the policy's fields one by one\n" },
	{ TG_TAKES_FORCE, "  --force            repair: rebuild even a ledger that verifies clean;\n"
	                  "                     init: replace an existing file\n" },
	{ TG_TAKES_SYSTEM, "  --system           init: write " "/etc/tokenguard/config (as root)\n" },
	{ TG_TAKES_PID, "  --pid PID          doctor: a running process\n" },
	{ TG_TAKES_EXPORT,
	  "  --tag-label NAME   metrics, serve: the tag NAME as label tag_NAME (up to 4)\n"
	  "  --listen HOST:PORT serve: where to answer GET /metrics (127.0.0.1:9464)\n" },
	{ TG_TAKES_OTLP,
	  "  --otlp URL         export: the OTLP/HTTP collector (http://127.0.0.1:4318);\n"
	  "                     POSTs URL/v1/metrics and, with --spans, URL/v1/traces\n"
	  "  --spans            export: also one span per record not sent yet (GenAI\n"
	  "                     attributes; a watermark in the ledger: never twice)\n" },
	{ TG_TAKES_CHART,
	  "  --chart            summary and views: the cost of each row as a bar (the\n"
	  "                     summary alone: per day); as wide as the terminal, else\n"
	  "                     $COLUMNS, else 80; block elements in a UTF-8 locale,\n"
	  "                     else #; amounts marked as in the table (~, ?, >=)\n" },
	{ TG_TAKES_WATCH,
	  "  --interval SECONDS watch: the time between frames (default 1, at least 0.1)\n" },
	{ TG_TAKES_SYNC,
	  "  --interval SECONDS sync: the time between rounds (default 1 with --follow);\n"
	  "                     a one-shot run from a timer gives the timer's period\n"
	  "  --redis URL        sync: redis://[:PASSWORD@]HOST[:PORT][/DB] or\n"
	  "                     unix:///PATH (default: the fleet_redis setting)\n"
	  "  --postgres CONNINFO  sync, --fleet: the fleet's PostgreSQL (libpq conninfo\n"
	  "                     or URI; default: the fleet_postgres setting)\n"
	  "  --init             sync: create or migrate the fleet's PostgreSQL schema\n" },
	{ TG_TAKES_FLEET,
	  "  --fleet            read every machine's records from the fleet's PostgreSQL\n"
	  "                     (fleet_postgres, or --postgres) instead of this ledger\n" },
	{ TG_TAKES_ESTIMATE,
	  "  --input-tokens N   estimate: the call's input tokens (k, M allowed: 20k)\n"
	  "  --input-file F     estimate: its input from the size of F (the request body\n"
	  "                     or prompt; - for stdin) at 4 bytes a token, flagged ~\n"
	  "  --output-tokens N  estimate: its output tokens, also taken as the request's\n"
	  "                     max output tokens; without it the output cost is unknown\n"
	  "  --budget           estimate: each budget policy that would govern the call\n"
	  "                     (stored and TOKENGUARD_BUDGETS), its spend now and its\n"
	  "                     verdict, and what the shim would do; exit 1 for a block.\n"
	  "                     --model, --provider, --tag, --process describe the call\n" },
	{ TG_TAKES_FOLLOW,
	  "  --follow           records: then print each record added, once, until the\n"
	  "                     reader goes away or SIGINT / SIGTERM (jsonl, csv);\n"
	  "                     alerts: keep printing or delivering each new alert;\n"
	  "                     sync: a round every --interval until SIGINT / SIGTERM\n" },
	{ TG_TAKES_ALERTS,
	  "  --exec CMD         alerts: run CMD (/bin/sh -c) once per alert, its fields in\n"
	  "                     TOKENGUARD_ALERT_* (KIND, POLICY, SCOPE, WINDOW, LIMIT_USD,\n"
	  "                     SPEND_USD, PCT, MODEL, PROCESS, TIME, MESSAGE, ID, ...)\n"
	  "  --webhook URL      alerts: POST each alert to URL (http or https)\n"
	  "  --webhook-format F alerts: slack ({\"text\": sentence}, the default) or json\n"
	  "                     (every field)\n"
	  "  --name NAME        alerts: the watermark kept in the ledger (default\n"
	  "                     alerts-exec-HASH / alerts-webhook-HASH of CMD or URL)\n" },
	{ 0, "  -h, --help         this text; after a command, that command's help\n"
	     "  -V, --version      print the version (also: `version`)\n" },
};

void tg_help_options(FILE *f, unsigned takes, int all)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (all || !options[i].takes || (options[i].takes & takes))
			fputs(options[i].text, f);
}

/* What a command is for beyond its one line, and how it is used. */
struct command_help {
	const char *name;
	const char *text;
};

static const struct command_help commands[] = {
	{ "summary",
	  "Calls, tokens and cost of the period, one row per --by group and a TOTAL.\n"
	  "The command run when none is named.\n\n"
	  "Examples:\n"
	  "  tokenguard-report summary --today\n"
	  "  tokenguard-report summary --since 7d --by provider,model --sort cost\n"
	  "  tokenguard-report --by tag:team --format csv > spend.csv\n"
	  "  tokenguard-report --by model,month --since 2026-01-01 --format html > year.html\n"
	  "  tokenguard-report summary --by tag:user --top 10\n"
	  "  tokenguard-report --chart --since 30d\n" },
	{ "daily", "Examples:\n"
	  "  tokenguard-report daily --since 2w\n"
	  "  tokenguard-report daily --chart --since 30d\n"
	  "  tokenguard-report daily --breakdown --timezone Asia/Tokyo\n"
	  "  tokenguard-report daily --since 30d --format html > spend.html\n" },
	{ "weekly", "Examples:\n"
	  "  tokenguard-report weekly --since 2026-10-01\n"
	  "  tokenguard-report weekly --breakdown --format json\n" },
	{ "monthly", "Examples:\n"
	  "  tokenguard-report monthly\n"
	  "  tokenguard-report monthly --breakdown --provider openai\n" },
	{ "session",
	  "A session is a process run: one pid and process name, no pause of 30\n"
	  "minutes or more.\n\n"
	  "Examples:\n"
	  "  tokenguard-report session --today\n"
	  "  tokenguard-report session --sort cost --limit 5\n" },
	{ "blocks",
	  "5-hour windows from the hour of their first call; the active one with its\n"
	  "time left and cost projected at the rate so far.\n\n"
	  "Examples:\n"
	  "  tokenguard-report blocks --today\n"
	  "  tokenguard-report blocks --breakdown --format json\n" },
	{ "watch",
	  "  watch [VIEW] [OPTIONS]   VIEW: summary (the default: today's), daily,\n"
	  "                           weekly, monthly, session, blocks, with its options\n"
	  "Draws the view again every --interval seconds until Ctrl-C (SIGINT) or\n"
	  "SIGTERM, then exits 0; each frame starts with its time in the report's zone.\n"
	  "The ledger is read anew for each frame; until it exists, a frame says so.\n"
	  "On a terminal frames are drawn over each other; piped, each is followed by\n"
	  "a blank line.\n\n"
	  "Examples:\n"
	  "  tokenguard-report watch\n"
	  "  tokenguard-report watch --chart --by model\n"
	  "  tokenguard-report watch daily --chart --since 7d --interval 5\n"
	  "  tokenguard-report watch blocks --interval 0.5\n" },
	{ "records",
	  "JSON Lines when piped, a table on a terminal.\n\n"
	  "Examples:\n"
	  "  tokenguard-report records --since 1h\n"
	  "  tokenguard-report records --model gpt-4o --format csv\n"
	  "  tokenguard-report records --follow | jq .cost_usd\n"
	  "  tokenguard-report records --tag user=alice --since 7d\n" },
	{ "check",
	  "Exit 0 when the spend is within the limits, 1 when over (or, with\n"
	  "--strict, when a cost or token count is unknown), 2 on an error, a\n"
	  "filter value no record has included.  No ledger is no spend (exit 0)\n"
	  "unless --require-ledger.\n\n"
	  "Examples:\n"
	  "  tokenguard-report check --today --max-usd 5\n"
	  "  tokenguard-report check --since 24h --tag team=search --max-tokens 2M\n"
	  "  tokenguard-report check --max-usd 0.5 --format json\n" },
	{ "budget",
	  "  budget set NAME SPEC   SPEC: SCOPE,WINDOW,LIMIT[,LIMIT],ACTION[,alert=N]\n"
	  "                         [,fallback=F][,unpriced=estimate|block|allow][,fleet]\n"
	  "  budget list | rm NAME | reset NAME | status | alerts\n"
	  "SCOPE: global, tag:KEY=VALUE, tag:KEY=* (each value its own limit), model:NAME,\n"
	  "provider:NAME, process:NAME;\n"
	  "WINDOW: day, month (UTC), day@ZONE, month@ZONE (ZONE a tz database name,\n"
	  "such as Europe/Berlin), 24h, session; LIMIT: usd=NUMBER, tokens=INTEGER;\n"
	  "ACTION: block, warn, downgrade:MODEL, clamp; fleet: the limit is every\n"
	  "machine's together, exchanged by `sync` (not with a session window).\n\n"
	  "Examples:\n"
	  "  tokenguard-report budget set daily global,day,usd=5,block\n"
	  "  tokenguard-report budget set berlin global,day@Europe/Berlin,usd=5,block\n"
	  "  tokenguard-report budget set ads --scope tag:team=ads --window month --usd 100 --action warn\n"
	  "  tokenguard-report budget status --format json\n"
	  "  tokenguard-report budget set per-user 'tag:user=*,day,usd=5,block'\n"
	  "  tokenguard-report budget status --limit 10\n"
	  "  tokenguard-report budget status --tag user=alice\n" },
	{ "verify",
	  "Writes nothing; exit 1 when the ledger is inconsistent.\n\n"
	  "Examples:\n"
	  "  tokenguard-report verify\n"
	  "  tokenguard-report verify --ledger /var/lib/tokenguard --format json\n" },
	{ "repair",
	  "Moves data.mdb and lock.mdb of a damaged ledger into DIR/damaged-TIME/ and\n"
	  "rebuilds the ledger from what is still readable.\n\n"
	  "Examples:\n"
	  "  tokenguard-report repair\n"
	  "  tokenguard-report repair --force\n" },
	{ "prices",
	  "  prices [--provider P]        the price table (USD per million tokens)\n"
	  "  prices MODEL [--provider P]  what MODEL matches; exit 1 when none prices it\n\n"
	  "Examples:\n"
	  "  tokenguard-report prices --provider anthropic\n"
	  "  tokenguard-report prices gpt-4o-2024-08-06\n" },
	{ "doctor",
	  "  doctor               the installation\n"
	  "  doctor -- COMMAND    whether the shim will see COMMAND's TLS\n"
	  "  doctor --pid PID     whether a running process has the shim\n"
	  "Exit 1 when a finding needs attention.\n\n"
	  "Examples:\n"
	  "  tokenguard-report doctor\n"
	  "  tokenguard-report doctor -- python3 app.py\n"
	  "  tokenguard-report doctor --pid 4242\n" },
	{ "init",
	  "Writes $XDG_CONFIG_HOME/tokenguard/config (~/.config/tokenguard/config, mode\n"
	  "0600), or with --system /etc/tokenguard/config (mode 0644, as root): every\n"
	  "setting, commented out at its default, with what it does.  An existing file\n"
	  "is replaced only with --force (else exit 2).  Prints the path written.\n"
	  "Settings: the environment wins over the user's file, which wins over the\n"
	  "system file; `doctor` shows each setting in effect and where it comes from.\n\n"
	  "Examples:\n"
	  "  tokenguard-report init\n"
	  "  sudo tokenguard-report init --system --force\n" },
	{ "metrics", "Examples:\n"
	  "  tokenguard-report metrics\n"
	  "  tokenguard-report metrics --tag-label team > /var/lib/node_exporter/tg.prom\n" },
	{ "serve", "Examples:\n"
	  "  tokenguard-report serve\n"
	  "  tokenguard-report serve --listen 0.0.0.0:9464 --tag-label team\n" },
	{ "estimate",
	  "  estimate --model M [--provider P] (--input-tokens N | --input-file F)\n"
	  "           [--output-tokens N] [--budget] [--tag K=V]... [--process NAME]\n"
	  "The cost of such a call by the shim's price table and lookup (the user's\n"
	  "price file included): input, output and total, the rates used (USD per\n"
	  "million tokens) and the table's edition.  M alone finds its provider as\n"
	  "`prices M` does; when several price it, name one with --provider.  A model\n"
	  "without a price is said so, with the estimate the shim charges budgets for\n"
	  "it (unpriced=estimate: the provider's highest rates, marked ~).  Without\n"
	  "--output-tokens the output cost is unknown and the total is input only.\n"
	  "--budget: the verdict the shim would give the call now, policy by policy\n"
	  "(allow, warn, block, downgrade to MODEL, clamp max tokens to N) and merged,\n"
	  "by the shim's own decision over the same spend; a session window counts a\n"
	  "new process's spend, 0.  It assumes the request can be rewritten.\n"
	  "Exit 0, or 1 when --budget says the call would be blocked; 2 on an error\n"
	  "(an unknown provider, an ambiguous model, a bad count or file).\n\n"
	  "Examples:\n"
	  "  tokenguard-report estimate --model gpt-4o --input-tokens 12k --output-tokens 800\n"
	  "  tokenguard-report estimate --model claude-sonnet-4-5 --input-file request.json\n"
	  "  tokenguard-report estimate --model gpt-4o --input-tokens 2000 --budget --tag team=search\n"
	  "  jq -c . body.json | tokenguard-report estimate --model gpt-4o --input-file - --json\n" },
	{ "export",
	  "Sends the counters of `metrics` as OTLP sums and, with --spans, one span\n"
	  "per record not sent before (a watermark in the ledger); exit 2 when the\n"
	  "collector does not take them, the watermark then unmoved.\n\n"
	  "Examples:\n"
	  "  tokenguard-report export --otlp http://127.0.0.1:4318\n"
	  "  tokenguard-report export --otlp http://collector:4318 --spans --tag-label team\n" },
	{ "sync",
	  "The agent of a fleet, one per machine: pushes this machine's spend of every\n"
	  "fleet policy (a policy with the word fleet) to Redis and pulls the other\n"
	  "machines' back into the ledger, where the shim's budget check adds it to the\n"
	  "local spend without any network I/O of its own.  One round is one round trip\n"
	  "(HSET of this machine's absolute totals, EXPIREAT, HGETALL per scope), with\n"
	  "500 ms timeouts.  The others' totals count while younger than fleet_stale\n"
	  "(default 5 s) or 3 intervals, whichever is longer; past that a fleet policy\n"
	  "counts this machine's spend alone (TOKENGUARD_FAIL=open, one warning per\n"
	  "process) or refuses calls (closed).  The machine's name is the machine\n"
	  "setting (TOKENGUARD_MACHINE).\n"
	  "With a PostgreSQL (fleet_postgres or --postgres), each round also pushes the\n"
	  "ledger's records not pushed yet into tokenguard_records, one row per record\n"
	  "inserted by its global id, so each lands once however often, concurrently or\n"
	  "after whatever failure sync runs; the ledger's watermark moves after the\n"
	  "server committed.  --init creates or migrates that schema and exits.\n"
	  "Each engine is optional; none at all is an error.  One-shot: exit 0, or 2\n"
	  "when an engine is not reachable (the records wait in the ledger).\n"
	  "--follow: a failing round is said once and retried every interval;\n"
	  "SIGINT / SIGTERM end it, 0.\n\n"
	  "Examples:\n"
	  "  tokenguard-report budget set search 'tag:team=search,day,usd=50,block,fleet'\n"
	  "  tokenguard-report sync --follow --redis redis://redis.internal:6379\n"
	  "  TOKENGUARD_FLEET_REDIS=unix:///run/redis/redis.sock tokenguard-report sync\n"
	  "  tokenguard-report sync --init --postgres postgresql://tokenguard@db/tokenguard\n"
	  "  tokenguard-report sync --follow --interval 30 --postgres host=db user=tokenguard\n"
	  "  tokenguard-report --fleet --by machine,model --since 7d\n" },
	{ "alerts",
	  "Kinds: threshold (a policy's alert=N reached), limit, blocked (the first\n"
	  "blocked call of a policy and window; `budget alerts` lists every one),\n"
	  "fallback, unpriced (a model without a price, once per model and UTC day).\n"
	  "--exec and --webhook deliver each alert once (a watermark in the ledger,\n"
	  "moved after each delivery); a failure is retried after 1, 2, 4, 8, 16 s,\n"
	  "then given up on stderr with the alert's text.  Without --follow: exit 0,\n"
	  "or 1 when an alert was given up.  --follow ends on SIGINT / SIGTERM, 0.\n\n"
	  "Examples:\n"
	  "  tokenguard-report alerts --since 7d\n"
	  "  tokenguard-report alerts --follow\n"
	  "  tokenguard-report alerts --follow --exec 'notify-send \"$TOKENGUARD_ALERT_MESSAGE\"'\n"
	  "  tokenguard-report alerts --follow --webhook https://hooks.slack.com/services/T/B/X\n"
	  "  tokenguard-report alerts --webhook http://127.0.0.1:9000/hook --webhook-format json\n" },
};

void tg_help_command(FILE *f, const struct tg_cmd *cmd)
{
	fprintf(f, "usage: tokenguard-report %s [OPTIONS]%s\n\n%s: %s.\n\n", cmd->name,
	        cmd->takes & TG_TAKES_WATCH ? " [VIEW]" :
	        cmd->takes & (TG_TAKES_ARGS | TG_TAKES_BUDGET) ? " [ARGS]" : "",
	        cmd->name, cmd->usage);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, cmd->name))
			fprintf(f, "%s\n", commands[i].text);
	fputs("Options:\n", f);
	tg_help_options(f, cmd->takes, 0);
	fputs("\nWHEN is today, yesterday, YYYY-MM-DD, YYYYMMDD, an ISO 8601 time or a\n"
	      "duration back from now: 30m, 12h, 7d, 2w.  `tokenguard-report help`: every\n"
	      "command.\n", f);
}

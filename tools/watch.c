/* watch.c - `tokenguard-report watch [VIEW]`: a view (summary, daily, ...,
 * with its own options, --chart included) drawn again every --interval
 * seconds until SIGINT or SIGTERM, then exit 0.
 *
 * Owns: the frames and the terminal.  Each frame is a header line (the
 * view, the time of the frame in the report's zone, the interval) and the
 * view's output.  The ledger is opened for each frame and closed after
 * it, so every frame reads what is committed (and spooled) by then, and a
 * ledger made after watch started shows from the next frame; until then a
 * frame says there is no ledger yet and shows the view with zero spend.
 *
 * On a terminal (stdout a tty and TERM not "dumb") a frame is drawn into
 * memory at the terminal's width and then written over the last one: the
 * cursor hidden and sent home, each line cut to the width and cleared to
 * its end, the rest of the screen cleared, no more lines than the
 * terminal has rows (so nothing scrolls); messages go into the frame.  At
 * the end the cursor is shown again below the frame.  Otherwise every
 * frame is written as the view writes it, followed by a blank line (a
 * frame itself has none), messages to stderr; a reader that goes away
 * ends the watch, status 0, as it ends `records --follow`.
 *
 * The signals are blocked while a frame is drawn and let in only while
 * waiting (ppoll), so a SIGINT between two checks cannot be missed for a
 * whole interval.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "text_chart.h"
#include "decimal.h"
#include "emit.h"
#include "env.h"
#include "report.h"
#include "stop.h"
#include "unknowns.h"
#include "zone.h"

#define HIDE_CURSOR "\033[?25l"
#define SHOW_CURSOR "\033[?25h"
#define HOME        "\033[H"
#define CLEAR       "\033[2J"
#define CLEAR_EOL   "\033[K"
#define CLEAR_EOS   "\033[J"

static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

struct watch {
	struct tg_report *rep;
	const struct tg_cmd *cmd;
	double interval;
	int (*period)(struct tg_report *rep, void *ctx);
	void *ctx;
	int tty;          /* frames drawn over each other */
	int utf8;         /* the cut mark of a line too long */
	int warned;       /* filter values checked against the ledger */
	int cols, rows;   /* the terminal's, 0 when not known */
};

/* "watch daily: 2026-11-26 18:30:05 +01:00 Europe/Berlin, every 1s; Ctrl-C ends" */
static void header(FILE *f, const struct watch *w, int64_t now_us)
{
	int64_t off = tg_zone_offset(now_us), a = off < 0 ? -off : off;
	time_t local = (time_t)(now_us / 1000000 + off);
	struct tm tm;
	char when[32] = "?";

	if (gmtime_r(&local, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "watch %s: %s %c%02d:%02d %s, every ", w->cmd->name, when, off < 0 ? '-' : '+',
	        (int)(a / 3600), (int)(a / 60 % 60), tg_zone_name());
	tg_decimal_fprintf(f, "%g", w->interval);
	fputs("s; Ctrl-C ends\n", f);
}

/* One frame into out: the header, then the view of the ledger as it is
 * now.  A failure is said in the frame (or on stderr) and the watch goes
 * on: the next frame may find it gone (a ledger being repaired). */
static void draw(struct watch *w, FILE *out, FILE *err)
{
	struct tg_report *rep = w->rep;
	struct tg_ledger *l = NULL;
	struct timespec now;
	int rc;

	rep->out = out;
	rep->err = err;
	clock_gettime(CLOCK_REALTIME, &now);
	header(out, w, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
	fflush(out);
	if (w->period(rep, w->ctx))
		return;
	rc = tg_ledger_open(&l, rep->dir, TG_LEDGER_RDONLY);
	if (rc == TG_ENOENT) {
		fprintf(out, "no ledger yet at %s: nothing spent so far; it appears with the "
		        "first call recorded\n", rep->dir);
		l = NULL;
	} else if (rc) {
		tg_report_dir_fail(rep, rc);
		return;
	} else {
		tg_ledger_reader_check(l, NULL);
		/* A typo in a filter value would show zero for ever: warned in
		 * every frame on a terminal (a frame replaces the last), once on
		 * stderr otherwise. */
		if ((w->tty || !w->warned) && tg_unknown_filter_values(rep, l, 0) >= 0)
			w->warned = 1;
	}
	w->cmd->run(rep, l);
	tg_ledger_close(l);
}

static void measure(struct watch *w)
{
	struct winsize ws;

	w->cols = w->rows = 0;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws)) {
		w->cols = ws.ws_col;
		w->rows = ws.ws_row;
	}
	if (w->cols <= 0)
		w->cols = tg_term_columns(stdout, TG_TEXT_CHART_WIDTH);
}

/* The frame in text (len bytes) over the last one: at most rows - 1
 * lines, so that the cursor's line after the last never scrolls the
 * screen; each cut to the width. */
static void paint(const struct watch *w, const char *text, size_t len, int first)
{
	static char b[1 << 16];
	struct tg_obuf o = { stdout, b, 0, sizeof b };
	size_t nlines = 0, shown, at = 0;
	int room = w->rows > 1 ? w->rows - 1 : 0;
	char more[64];

	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	if (len && text[len - 1] != '\n')
		nlines++;
	shown = room && nlines > (size_t)room ? (size_t)room - 1 : nlines;
	tg_obuf_str(&o, first ? HIDE_CURSOR HOME CLEAR : HOME);
	for (size_t i = 0; i < shown; i++) {
		size_t n = strcspn(text + at, "\n");
		char *line = strndup(text + at, n);

		/* A line as wide as the screen leaves the cursor on its last
		 * column, which clearing to the end of the line would erase. */
		if (line) {
			tg_obuf_cell_mark(&o, line, w->cols, 0, 0, w->utf8 ? TG_ELLIPSIS : "...");
			if (tg_text_columns(line) < (size_t)w->cols)
				tg_obuf_str(&o, CLEAR_EOL);
		}
		free(line);
		if (i + 1 < shown || shown < nlines)
			tg_obuf_char(&o, '\n');
		at += n + (text[at + n] == '\n');
	}
	if (shown < nlines) {
		snprintf(more, sizeof more, "(%zu more lines: a taller terminal shows them)",
		         nlines - shown);
		tg_obuf_cell_mark(&o, more, w->cols, 0, 0, w->utf8 ? TG_ELLIPSIS : "...");
		if (strlen(more) < (size_t)w->cols)
			tg_obuf_str(&o, CLEAR_EOL);
	}
	tg_obuf_str(&o, CLEAR_EOS);
	tg_obuf_flush(&o);
	fflush(stdout);
}

static int frame_tty(struct watch *w, int first)
{
	char *text = NULL;
	size_t len = 0;
	FILE *ms = open_memstream(&text, &len);

	if (!ms)
		return tg_report_fail(w->rep, "out of memory for a frame");
	measure(w);
	tg_term_pretend(ms, w->cols);
	draw(w, ms, ms);
	tg_term_pretend(NULL, 0);
	fclose(ms);
	w->rep->out = stdout;
	w->rep->err = stderr;
	paint(w, text, len, first);
	free(text);
	return 0;
}

/* Returns 1 when the reader went away. */
static int frame_pipe(struct watch *w)
{
	draw(w, stdout, stderr);
	putchar('\n');
	return fflush(stdout) != 0 || ferror(stdout);
}

/* Waits until deadline (CLOCK_MONOTONIC) with the signals let in; early
 * when one comes. */
static void wait_until(const struct timespec *deadline, const sigset_t *let_in)
{
	struct timespec now, left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left.tv_sec = deadline->tv_sec - now.tv_sec;
	left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (left.tv_nsec < 0) {
		left.tv_sec--;
		left.tv_nsec += 1000000000L;
	}
	if (left.tv_sec < 0)
		return;
	ppoll(NULL, 0, &left, let_in);
}

static void next_deadline(struct timespec *t, double interval)
{
	struct timespec now;
	long ns = (long)llround(fmod(interval, 1.0) * 1e9);

	t->tv_sec += (time_t)interval;
	t->tv_nsec += ns;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
	/* A frame that took longer than the interval: the next one now. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t->tv_sec < now.tv_sec || (t->tv_sec == now.tv_sec && t->tv_nsec < now.tv_nsec))
		*t = now;
}

int tg_watch(struct tg_report *rep, const struct tg_cmd *cmd, double interval,
             int (*period)(struct tg_report *rep, void *ctx), void *ctx)
{
	struct watch w = { rep, cmd, interval, period, ctx, 0, 0, 0, 0, 0 };
	const char *term = tg_env_get("TERM");
	struct sigaction sa;
	sigset_t block, let_in;
	struct timespec deadline;
	int first = 1, rc = 0;

	w.tty = isatty(STDOUT_FILENO) && !(term && !strcmp(term, "dumb"));
	w.utf8 = tg_text_chart_utf8();
	memset(&sa, 0, sizeof sa);
	tg_stop_on_signals();
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);   /* a reader gone is EPIPE: the end */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &let_in);
	sigdelset(&let_in, SIGINT);
	sigdelset(&let_in, SIGTERM);
	sigdelset(&let_in, SIGWINCH);
	clock_gettime(CLOCK_MONOTONIC, &deadline);

	while (!tg_stop_signal) {
		if (w.tty) {
			if ((rc = frame_tty(&w, first)) != 0)
				break;
		} else if (frame_pipe(&w)) {
			break;
		}
		first = 0;
		next_deadline(&deadline, interval);
		resized = 0;
		/* A new size draws the frame again at once. */
		while (!tg_stop_signal && !resized) {
			struct timespec now;

			wait_until(&deadline, &let_in);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				break;
		}
	}
	if (w.tty && !first) {
		fputs("\n" SHOW_CURSOR, stdout);
		fflush(stdout);
	}
	if (!w.tty) {
		/* The reader went away: what stdio holds is dropped. */
		__fpurge(stdout);
		clearerr(stdout);
	}
	rep->out = stdout;
	rep->err = stderr;
	return rc;
}

/* html.h - the summary and its views as one self-contained HTML page
 * (--format html): a heading naming the ledger, the period and the zone;
 * a stacked bar chart of the cost per period by model (svg_chart.h); the
 * table of --format table with the same cells, marks and legends
 * (sum_table.h); the notes.
 *
 * The page fetches nothing: no script, no stylesheet, font or image from
 * anywhere, and a Content-Security-Policy that forbids any (inline styles
 * and data: images aside), so opening it makes no request.  Every text
 * from the ledger is escaped (tg_obuf_html_str).  The numbers are also in
 * the DOM for machines: each sum's cell carries its value as `--format
 * json` writes it (data-calls, data-blocked-calls, data-input-tokens ...,
 * data-tokens, data-usd, data-estimated-usd; "null" where JSON has null),
 * and the TOTAL row has id="total". */
#ifndef TG_HTML_H
#define TG_HTML_H

#include "agg.h"
#include "html_chart.h"
#include "report.h"

/* Writes the page of the summary a (its rows as ordered) with the chart
 * of chart (html_chart.h: every group of the period, whatever --limit
 * left in a) and the notes to rep->out.  Returns 0, or -1 when out of memory
 * (nothing written then). */
int tg_html_summary(const struct tg_report *rep, const struct tg_agg *a,
                    const struct tg_agg *chart, const char *const *note, int nnotes);

#endif

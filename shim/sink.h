/* sink.h - where finished exchanges go: priced, then committed to the ledger.
 *
 * Owns: the process's ledger handle and price table (both opened lazily at
 * the first record, reopened in a forked child), the once-per-model
 * "unpriced" warnings and the once-per-cause ledger warnings.  One mutex
 * guards all of it; it is held only while a record is priced and committed,
 * never on the path of a connection that is not to a provider.
 *
 * Records are handed off (TOKENGUARD_SYNC=batch, the default): each goes
 * to the process's spool with one write(2), and the spools are folded
 * into LMDB in groups, at tg_sink_idle() when due and at exit.  With
 * TOKENGUARD_SYNC=commit each is committed in the call that ends its
 * exchange.
 *
 * Nothing here can fail the host program: a ledger that cannot be opened or
 * written costs the record and one warning on stderr, and is tried again
 * at most every TG_SINK_RETRY_S seconds.
 */
#ifndef TG_SINK_H
#define TG_SINK_H

#include "estimate.h"
#include "record.h"

#define TG_SINK_RETRY_S 30

struct tg_call_origin;
struct tg_ledger;
struct tg_prices;

/* Stamps who made r (this process's pid and process name, the call's
 * tags from origin and the configuration: attrib.h), prices it
 * (cost_usd, TG_REC_UNPRICED; an estimate from size where the cost is
 * not measured, estimate.h) and appends it to the ledger, with the spend
 * totals of every scope it belongs to.  A tg_commit_fn
 * (transport_h1.h). */
void tg_sink_commit(struct tg_record *r, const struct tg_call_size *size,
                    const struct tg_call_origin *origin);

/* Called under the sink's lock with each priced record before it is
 * appended, and the model family its spend counts under: the budget
 * gate's session spend (gate.h) registers itself, so the storage
 * path calls into no budget code.  One observer; set once at
 * initialisation, before any call is observed. */
typedef void (*tg_commit_observer)(const struct tg_record *r, const char *model_family);
void tg_sink_observe(tg_commit_observer fn);

/* A moment the program is not in a hurry: it has just sent a request to
 * a provider and waits for the answer.  When the process's spool is due a
 * fold (ledger.h, TG_LEDGER_HANDOFF) and the writer lock is free at once,
 * the spools are folded now; otherwise this is one load.  The fold never
 * waits for another process, nor for another thread of this one. */
void tg_sink_idle(void);

/* Runs fn under the sink's lock with the process's ledger (NULL when it
 * cannot be opened) and price table (NULL if none could be loaded): the
 * budget gate reads spend and policies this way. */
void tg_sink_locked(void (*fn)(struct tg_ledger *l, const struct tg_prices *prices, void *ctx),
                    void *ctx);

/* Says once, on stderr, that the ledger could not be used (rc a TG_E*
 * code; what: "cannot write to"; consequence: what the program loses):
 * the same cause, met by the sink or the budget gate, is said once.  Call
 * with the sink's lock held (inside tg_sink_locked). */
void tg_sink_ledger_problem(int rc, const char *what, const char *consequence);

/* pthread_atfork handlers, registered once by the hook layer. */
void tg_sink_atfork_prepare(void);
void tg_sink_atfork_parent(void);
void tg_sink_atfork_child(void);

#endif

/* attrib.h - the tags of one call: whose it is, and what the program said.
 *
 * Owns: the merge rule of a record's tags and what attribution
 * (TOKENGUARD_ATTRIBUTION) makes of what a request body says.  A call's
 * tags are, key by key, the process's (TOKENGUARD_TAGS), overridden by
 * those its request body gives (reqscan.h: "user", "meta.KEY"),
 * overridden by those of its x-tokenguard-tags header; entries that do
 * not fit in TG_TAGS_MAX bytes are dropped, later ones first, and the
 * rest still make a valid record.  The same merged string is what the
 * budget gate matches policies against (tg_call.tags) and what the
 * record keeps.
 *
 * From the body, by mode: plain keeps the end-user id as given; hash
 * (the default) keeps "h:" and its keyed hash under the ledger's key
 * (ledger/attribution.h), and no user tag at all when the key cannot be
 * had; off takes nothing from bodies.  Only the end-user id is hashed:
 * metadata values are labels the program chose, like header tags.
 */
#ifndef TG_ATTRIB_H
#define TG_ATTRIB_H

#include <stddef.h>

#include "config.h"
#include "reqscan.h"

/* The request header a program sets a call's tags with (lowercase: the
 * name as HTTP/2 sends it and tg_name_is compares it). */
#define TG_TAGS_HEADER "x-tokenguard-tags"

/* What one call says about whose it is: what its request body said
 * (reqscan.h) and its x-tokenguard-tags header.  The exchange knows these;
 * the process's part (pid, process name, TOKENGUARD_TAGS, the attribution
 * mode) is added by the gate and the sink, which read the configuration,
 * so that the exchange reads none. */
struct tg_call_origin {
	const struct tg_request_info *req;   /* NULL: no body seen */
	const char *header;                  /* validated "k=v,..."; NULL or "" if none */
};

/* Writes into out (TG_TAGS_MAX bytes) the tags of a call: cfg's process
 * tags, those of req under cfg's attribution mode, then header ("k=v,..."
 * already validated, may be NULL or ""). */
void tg_attrib_call_tags(const struct tg_config *cfg, const struct tg_request_info *req,
                         const char *header, char *out);

/* pthread_atfork child handler: the key's lock may have been held by a
 * thread the child does not have; the key itself stays good. */
void tg_attrib_atfork_child(void);

#endif

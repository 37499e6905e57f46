/* secret_text.h - connection strings shown to people without their
 * passwords.
 *
 * Owns: the one rule by which doctor (and any message) prints the
 * fleet's Redis URL and PostgreSQL conninfo: a URL's password
 * (scheme://user:PASSWORD@host) and its query's password=..., and a
 * libpq key/value string's password value (quoted or not), become ***.
 * Everything else is kept, so the reader still sees which server.
 */
#ifndef TG_SECRET_TEXT_H
#define TG_SECRET_TEXT_H

#include <stddef.h>

/* Writes s into out (n bytes, cut to fit) with every password as ***. */
void tg_conninfo_masked(const char *s, char *out, size_t n);

#endif

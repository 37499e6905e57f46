/* seen.h - whether the shim will see a program's TLS: the one analysis
 * behind `tokenguard-report doctor -- COMMAND` and the launcher's refusal.
 *
 * Owns: resolving COMMAND on PATH, following `#!` scripts (and pyenv's
 * shims) to their interpreter, and the verdict from the ELF file
 * (elf_scan.h): libssl among its dependencies or theirs (one level: curl
 * through libcurl), a Python interpreter's _ssl extension, a static TLS
 * stack (Go, rustls, BoringSSL, OpenSSL linked in), a fully static
 * program, setuid/setgid/file capabilities (the shim stays inactive). */
#ifndef TG_SEEN_H
#define TG_SEEN_H

#include <stdio.h>

enum tg_seen {
	TG_SEEN_YES,       /* links libssl: its TLS is seen */
	TG_SEEN_MAYBE,     /* no libssl linked: seen only if it loads one at run time */
	TG_SEEN_NO,        /* a static TLS stack or a static program: never seen */
	TG_SEEN_INACTIVE,  /* setuid, setgid or file capabilities: the shim stays off */
	TG_SEEN_NOTFOUND,  /* no such program */
};

/* Writes one line per finding on out ("  what: why; what to do") and
 * returns the verdict for cmd (a name looked up on PATH, or a path). */
enum tg_seen tg_seen_program(const char *cmd, FILE *out);

#endif

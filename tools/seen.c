/* seen.c - the program analysis of seen.h. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "elf_scan.h"
#include "seen.h"

#define HOPS_MAX 4

/* cmd as execvp would find it, into buf.  Returns 0 or -1. */
static int resolve(const char *cmd, char *buf, size_t n)
{
	const char *path = getenv("PATH");

	if (strchr(cmd, '/'))
		return snprintf(buf, n, "%s", cmd) < (int)n && !access(buf, F_OK) ? 0 : -1;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		size_t l = strcspn(p, ":");
		struct stat st;

		if (snprintf(buf, n, "%.*s/%s", (int)l, l ? p : ".", cmd) < (int)n &&
		    !stat(buf, &st) && S_ISREG(st.st_mode) && !access(buf, X_OK))
			return 0;
		p += l;
		if (!*p)
			return -1;
	}
}

/* The interpreter line of a script: "#!/usr/bin/env python3" gives
 * python3 (resolved on PATH), "#!/bin/sh -e" gives /bin/sh.  Returns 1
 * with buf set, 0 for no #! line, -1 when it names nothing runnable. */
static int shebang(const char *file, char *buf, size_t n)
{
	char line[512], *p, *word;
	FILE *f = fopen(file, "re");
	int got;

	if (!f)
		return 0;
	got = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	if (!got || strncmp(line, "#!", 2))
		return 0;
	p = line + 2;
	word = strtok(p, " \t\r\n");
	if (!word)
		return -1;
	if (!strcmp(strrchr(word, '/') ? strrchr(word, '/') + 1 : word, "env")) {
		while ((word = strtok(NULL, " \t\r\n")) && word[0] == '-')
			;
		if (!word)
			return -1;
		return resolve(word, buf, n) ? -1 : 1;
	}
	return snprintf(buf, n, "%s", word) < (int)n ? 1 : -1;
}

/* A pyenv shim (a bash script in PYENV_ROOT/shims): the program it runs,
 * by `pyenv which NAME`, into buf.  Returns 0 or -1. */
static int pyenv_target(const char *file, char *buf, size_t n)
{
	const char *base = strrchr(file, '/');
	int fd[2], status;
	ssize_t got;
	pid_t pid;

	if (!base || base - file < 6 || strncmp(base - 6, "/shims", 6))
		return -1;
	if (pipe(fd))
		return -1;
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("pyenv", "pyenv", "which", base + 1, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	got = read(fd[0], buf, n - 1);
	close(fd[0]);
	waitpid(pid, &status, 0);
	if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] == '/' ? 0 : -1;
}

/* A library named in DT_NEEDED, where the loader usually finds it. */
static int find_lib(const char *name, char *buf, size_t n)
{
	static const char *const dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	                                    "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	                                    "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	                                    "/usr/local/lib" };

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (snprintf(buf, n, "%s/%s", dirs[i], name) < (int)n && !access(buf, R_OK))
			return 0;
	return -1;
}

/* The dependency of e through which libssl (or GnuTLS, NSS) comes, one
 * level down: "libcurl.so.4".  Returns the kind found: 's' libssl, 'g'
 * GnuTLS, 'n' NSS, 0 none. */
static int tls_dep(const struct tg_elf_info *e, char *via, size_t n)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < e->nneeded; i++) {
			struct tg_elf_info d;
			char path[PATH_MAX];
			const char *name = e->needed[i];
			const struct tg_elf_info *x = &d;

			if (pass == 0) {
				x = e;
				snprintf(via, n, "%s", "");
			} else if (!strncmp(name, "libc.so", 7) || !strncmp(name, "libm.so", 7) ||
			           find_lib(name, path, sizeof path) || tg_elf_scan_file(path, &d)) {
				continue;
			} else {
				snprintf(via, n, "%s", name);
			}
			if (tg_elf_needs(x, "libssl.so"))
				return 's';
			if (tg_elf_needs(x, "libgnutls.so"))
				return 'g';
			if (tg_elf_needs(x, "libnss3.so"))
				return 'n';
			if (pass == 0)
				break;
		}
	return 0;
}

/* A Python interpreter's _ssl extension under its prefix: 1 when one
 * links libssl (path in buf), 0 when none does, -1 when none is found. */
static int python_ssl(const char *real, char *buf, size_t n)
{
	char prefix[PATH_MAX], pat[PATH_MAX + 64];
	static const char *const under[] = { "%s/lib/python3*/lib-dynload/_ssl*.so",
	                                     "%s/lib64/python3*/lib-dynload/_ssl*.so" };
	int found = -1;
	char *slash;

	snprintf(prefix, sizeof prefix, "%s", real);
	for (int i = 0; i < 2 && (slash = strrchr(prefix, '/')); i++)
		*slash = '\0';
	for (size_t u = 0; u < 2 && found != 1; u++) {
		glob_t g;

		snprintf(pat, sizeof pat, under[u], prefix);
		if (glob(pat, 0, NULL, &g))
			continue;
		for (size_t i = 0; i < g.gl_pathc && found != 1; i++) {
			struct tg_elf_info e;

			found = 0;
			snprintf(buf, n, "%s", g.gl_pathv[i]);
			if (!tg_elf_scan_file(g.gl_pathv[i], &e) && tg_elf_needs(&e, "libssl.so"))
				found = 1;
		}
		globfree(&g);
	}
	return found;
}

static enum tg_seen static_stack(const struct tg_elf_info *e, const char *base, FILE *out)
{
	if (e->marks & TG_ELF_GO)
		fprintf(out, "  static TLS: a Go program (its build info found): crypto/tls is linked in "
		        "and never calls libssl; no LD_PRELOAD shim can see it\n");
	else if (e->marks & TG_ELF_RUSTLS)
		fprintf(out, "  static TLS: rustls is linked in (its crate path is in the binary); no "
		        "LD_PRELOAD shim can see it; a build using native-tls/openssl would be seen\n");
	else if (e->marks & TG_ELF_BORINGSSL)
		fprintf(out, "  static TLS: BoringSSL is linked in; no LD_PRELOAD shim can see it\n");
	else if ((e->marks & TG_ELF_OPENSSL) && !strncmp(base, "node", 4))
		fprintf(out, "  static TLS: Node.js with its own OpenSSL linked in (no libssl among its "
		        "libraries); use a Node built with --shared-openssl (Debian's nodejs "
		        "package) to be seen\n");
	else if (e->marks & TG_ELF_OPENSSL)
		fprintf(out, "  static TLS: OpenSSL is linked in statically (its version text is in the "
		        "binary, no libssl among its libraries); link it with the shared libssl to "
		        "be seen\n");
	else
		return TG_SEEN_MAYBE;
	return TG_SEEN_NO;
}

/* setuid, setgid, file capabilities: the loader ignores a LD_PRELOAD path
 * with a slash there, and the shim turns itself off (README). */
static int privileged(const char *file, FILE *out)
{
	struct stat st;

	if (stat(file, &st))
		return 0;
	if (st.st_mode & (S_ISUID | S_ISGID)) {
		fprintf(out, "  %s: the shim stays inactive in a secure-execution process; run "
		        "an unprivileged copy to be seen\n", st.st_mode & S_ISUID ? "setuid" : "setgid");
		return 1;
	}
	if (getxattr(file, "security.capability", NULL, 0) > 0) {
		fprintf(out, "  file capabilities: the shim stays inactive in a secure-execution "
		        "process; run a copy without them to be seen\n");
		return 1;
	}
	return 0;
}

enum tg_seen tg_seen_program(const char *cmd, FILE *out)
{
	char file[PATH_MAX], next[PATH_MAX], real[PATH_MAX], via[TG_ELF_NAME_MAX], ssl[PATH_MAX];
	struct tg_elf_info e;
	const char *base;
	int kind, rc;

	if (resolve(cmd, file, sizeof file)) {
		fprintf(out, "  not found: \"%s\" is %s; check the name or give its path\n", cmd,
		        strchr(cmd, '/') ? "no file" : "not on PATH");
		return TG_SEEN_NOTFOUND;
	}
	fprintf(out, "  program: %s\n", file);
	for (int hop = 0;; hop++) {
		if (hop == HOPS_MAX) {
			fprintf(out, "  script: more than %d #! hops; run doctor on the interpreter\n",
			        HOPS_MAX);
			return TG_SEEN_MAYBE;
		}
		if (!pyenv_target(file, next, sizeof next)) {
			fprintf(out, "  pyenv shim: runs %s\n", next);
		} else if ((rc = shebang(file, next, sizeof next)) > 0) {
			fprintf(out, "  script: its interpreter is %s\n", next);
		} else if (rc < 0) {
			fprintf(out, "  script: its #! line names no program found; fix the line\n");
			return TG_SEEN_NOTFOUND;
		} else {
			break;
		}
		snprintf(file, sizeof file, "%s", next);
	}
	if (!realpath(file, real))
		snprintf(real, sizeof real, "%s", file);
	base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	if (privileged(real, out))
		return TG_SEEN_INACTIVE;
	rc = tg_elf_scan_file(real, &e);
	if (rc == -2) {
		fprintf(out, "  cannot read %s: %s; run doctor as a user who can read it\n", real,
		        strerror(errno));
		return TG_SEEN_MAYBE;
	}
	if (rc < 0) {
		fprintf(out, "  not an ELF program (%s); doctor cannot tell what it links\n", real);
		return TG_SEEN_MAYBE;
	}
	if (!e.dynamic && !e.interp) {
		if (static_stack(&e, base, out) == TG_SEEN_MAYBE)
			fprintf(out, "  static program: %s is linked statically, so the loader never "
			        "reads LD_PRELOAD; link it dynamically to be seen\n", real);
		return TG_SEEN_NO;
	}
	kind = tls_dep(&e, via, sizeof via);
	if (kind == 's') {
		fprintf(out, "  seen: %s links libssl%s%s\n", real, *via ? " through " : "", via);
		return TG_SEEN_YES;
	}
	if (kind == 'g' || kind == 'n') {
		fprintf(out, "  not seen: %s links %s%s%s, not OpenSSL; use the OpenSSL build "
		        "(e.g. libcurl4 instead of libcurl3-gnutls)\n", real,
		        kind == 'g' ? "GnuTLS" : "NSS", *via ? " through " : "", via);
		return TG_SEEN_NO;
	}
	if (!strncmp(base, "python", 6)) {
		rc = python_ssl(real, ssl, sizeof ssl);
		if (rc == 1) {
			fprintf(out, "  seen: Python interpreter %s; its ssl module %s links libssl\n",
			        real, ssl);
			return TG_SEEN_YES;
		}
		fprintf(out, "  Python interpreter %s: %s; doctor cannot tell whether its ssl "
		        "module uses libssl\n", real,
		        rc == 0 ? "its _ssl extension does not link libssl" : "no _ssl extension found");
		return TG_SEEN_MAYBE;
	}
	if (static_stack(&e, base, out) == TG_SEEN_NO)
		return TG_SEEN_NO;
	fprintf(out, "  maybe: %s does not link libssl; it is seen only if it loads libssl at "
	        "run time or runs programs that do (check those with doctor)\n", real);
	return TG_SEEN_MAYBE;
}

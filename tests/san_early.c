/* san_early.c - preloaded right after the sanitizer runtimes by
 * `make test SAN=...` (tests/san.sh), never part of tokenguard.
 *
 * A runtime preloaded into an uninstrumented program starts at the
 * program's first malloc, wherever that is.  In Debian's curl it is inside
 * libp11-kit's constructor, within glibc's newlocale, which holds the
 * locale lock for writing.  The runtime's start-up looks swift_demangle up
 * with dlsym and clears the failure with dlerror, which translates the
 * message through gettext, which takes and releases the same lock: the
 * lock is left corrupted and curl hangs in its first setlocale, before it
 * does anything.  Defining swift_demangle makes the lookup succeed, so no
 * message is translated.  The runtime calls it only for Swift-mangled
 * names ("_T..."); it answers "not demangled", as the runtime assumes when
 * it is absent.
 *
 * Built with -nostdlib: no dependency, no constructor, nothing else. */

char *swift_demangle(const char *mangled, unsigned long len, char *out, unsigned long *outlen,
                     unsigned flags);

char *swift_demangle(const char *mangled, unsigned long len, char *out, unsigned long *outlen,
                     unsigned flags)
{
	(void)mangled, (void)len, (void)out, (void)outlen, (void)flags;
	return 0;
}

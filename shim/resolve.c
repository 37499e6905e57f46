/* resolve.c - see resolve.h. */
#include "resolve.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "log.h"

static const char *const hooked_names[TG_HOOK_COUNT] = {
	"SSL_write", "SSL_write_ex", "SSL_read", "SSL_read_ex", "SSL_free", "SSL_pending",
	"SSL_has_pending",
};

/* Distinct libraries, filled under `lock` and never freed or moved, so a
 * pointer to one stays valid for the life of the process. */
#define LIBS_MAX 8
static struct tg_ssl_lib libs[LIBS_MAX];
static void *lib_keys[LIBS_MAX];       /* the load address of each: identifies it */
static int nlibs;
static struct tg_ssl_lib no_lib;       /* all NULL: nothing to forward to */

/* Call sites: return address -> library.  Open addressing, lock-free
 * reads; written under `lock`.  A full cache only costs a re-resolution. */
#define SITES 1024
static struct {
	_Atomic uintptr_t ra;
	const struct tg_ssl_lib *_Atomic lib;
} sites[SITES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t site_slot(uintptr_t ra)
{
	uint64_t h = (uint64_t)ra * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 54) & (SITES - 1);
}

static void *sym_in(void *handle, const char *name, void *self)
{
	void *p = handle ? dlsym(handle, name) : NULL;
	return p == self ? NULL : p;
}

struct phdr_search {
	const char *own_path;
	char paths[32][256];
	int n;
};

/* Only collects paths: calling dlopen from inside dl_iterate_phdr would
 * take the loader's locks in the opposite order of a concurrent dlopen. */
static int collect_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct phdr_search *s = arg;
	const char *path = info->dlpi_name;
	if (!path || !*path || (s->own_path && strcmp(path, s->own_path) == 0) || s->n == 32)
		return 0;
	size_t len = strlen(path);
	if (len < sizeof s->paths[0]) {
		memcpy(s->paths[s->n], path, len + 1);
		s->n++;
	}
	return 0;
}

/* sym_in() of the object at path when it is already loaded (never loads
 * it). */
static void *sym_in_loaded(const char *path, const char *name, void *self)
{
	void *h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	void *p = sym_in(h, name, self);
	if (h)
		dlclose(h);
	return p;
}

/* The real SSL_write (or `name`) when the caller's own scope gives none. */
static void *find_anywhere(const char *name, void *self)
{
	static const char *const sonames[] = { "libssl.so.3", "libssl.so.1.1" };
	void *p = dlsym(RTLD_NEXT, name);
	if (p && p != self)
		return p;
	for (size_t i = 0; i < sizeof sonames / sizeof sonames[0]; i++)
		if ((p = sym_in_loaded(sonames[i], name, self)) != NULL)
			return p;
	Dl_info own;
	struct phdr_search s = { 0 };
	if (dladdr((void *)find_anywhere, &own))
		s.own_path = own.dli_fname;
	dl_iterate_phdr(collect_object, &s);
	for (int i = 0; i < s.n; i++)
		if ((p = sym_in_loaded(s.paths[i], name, self)) != NULL)
			return p;
	return NULL;
}

/* Fills lib from the object at `path` (the one defining a real function;
 * NULL: the program). */
static void fill_lib(struct tg_ssl_lib *lib, const char *path)
{
	void *h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	/* The handle stays open on purpose: the functions live in that object.
	 * dlsym on it also searches its dependencies (libcrypto). */
#define SYM(field) (lib->field = (__typeof__(lib->field))(h ? dlsym(h, #field) : NULL))
	SYM(SSL_write);
	SYM(SSL_write_ex);
	SYM(SSL_read);
	SYM(SSL_read_ex);
	SYM(SSL_free);
	SYM(SSL_pending);
	SYM(SSL_has_pending);
	lib->helpers = SYM(SSL_get_servername) && SYM(SSL_get0_alpn_selected) && SYM(SSL_get_fd) &&
	               SYM(SSL_is_server) && SYM(SSL_get_error) && SYM(SSL_ctrl) && SYM(SSL_shutdown) &&
	               SYM(SSL_get_shutdown) && SYM(SSL_set_shutdown) && SYM(ERR_set_mark) &&
	               SYM(ERR_pop_to_mark);
#undef SYM
}

/* The loaded object whose segments hold an address: its path as the
 * loader knows it ("" for the program) and its load address.  Cheaper than
 * dladdr(), which also scans the object's symbol table for the nearest
 * symbol: that scan over libssl and the caller was most of a call site's
 * first call. */
struct object_at {
	uintptr_t addr;
	int found;
	uintptr_t base;
	char path[256];
};

static int match_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct object_at *o = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && o->addr - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz) {
			const char *name = info->dlpi_name ? info->dlpi_name : "";
			size_t len = strlen(name);
			o->found = 1;
			o->base = info->dlpi_addr;
			/* A path too long to copy is as good as none: the fallbacks
			 * below still find the library. */
			if (len < sizeof o->path)
				memcpy(o->path, name, len + 1);
			return 1;
		}
	}
	return 0;
}

static int object_at(void *addr, struct object_at *o)
{
	o->addr = (uintptr_t)addr;
	o->found = 0;
	o->path[0] = '\0';
	dl_iterate_phdr(match_object, o);
	return o->found;
}

static const struct tg_ssl_lib *resolve(void *caller, enum tg_hooked which, void *self)
{
	const char *name = hooked_names[which];
	void *real = NULL;
	struct object_at from, to;

	if (object_at(caller, &from) && from.path[0]) {
		void *h = dlopen(from.path, RTLD_NOLOAD | RTLD_LAZY);
		real = sym_in(h, name, self);
		if (h)
			dlclose(h);
	}
	if (!real)
		real = find_anywhere(name, self);
	if (!real || !object_at(real, &to))
		return &no_lib;

	/* One entry per library, keyed by its load address (any hooked
	 * function of a library leads to the same object). */
	void *key = (void *)to.base;
	for (int i = 0; i < nlibs; i++)
		if (lib_keys[i] == key)
			return &libs[i];
	if (nlibs == LIBS_MAX)
		return &no_lib;
	/* "": the program itself, whose handle is dlopen(NULL). */
	fill_lib(&libs[nlibs], to.path[0] ? to.path : NULL);
	lib_keys[nlibs] = key;
	tg_debug("calls from %s go to %s", from.path[0] ? from.path : "the program",
	         to.path[0] ? to.path : "the program");
	return &libs[nlibs++];
}

const struct tg_ssl_lib *tg_ssl_lib_for(void *caller, enum tg_hooked which, void *self)
{
	uintptr_t ra = (uintptr_t)caller;
	size_t i = site_slot(ra);
	for (int n = 0; n < 8; n++, i = (i + 1) & (SITES - 1)) {
		uintptr_t k = atomic_load_explicit(&sites[i].ra, memory_order_acquire);
		if (k == ra) {
			const struct tg_ssl_lib *lib = atomic_load_explicit(&sites[i].lib, memory_order_acquire);
			if (lib)
				return lib;
			break;
		}
		if (k == 0)
			break;
	}

	pthread_mutex_lock(&lock);
	const struct tg_ssl_lib *lib = resolve(caller, which, self);
	if (lib != &no_lib) {
		i = site_slot(ra);
		for (int n = 0; n < 8; n++, i = (i + 1) & (SITES - 1)) {
			uintptr_t k = atomic_load_explicit(&sites[i].ra, memory_order_relaxed);
			if (k == 0 || k == ra) {
				atomic_store_explicit(&sites[i].lib, lib, memory_order_release);
				atomic_store_explicit(&sites[i].ra, ra, memory_order_release);
				break;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return lib;
}

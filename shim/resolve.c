/* resolve.c - see resolve.h. */
#include "resolve.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

struct tg_real tg_real;

struct phdr_search {
	const char *name;
	void *self;
	const char *own_path;
	void *found;
};

static int search_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct phdr_search *s = arg;
	const char *path = info->dlpi_name;
	if (!path || !*path || (s->own_path && strcmp(path, s->own_path) == 0))
		return 0;   /* the program itself, or this library */
	void *h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return 0;
	void *p = dlsym(h, s->name);
	dlclose(h);
	if (p && p != s->self) {
		s->found = p;
		return 1;
	}
	return 0;
}

static void *find_symbol(const char *name, void *self)
{
	static const char *const sonames[] = { "libssl.so.3", "libssl.so.1.1" };
	void *p = dlsym(RTLD_NEXT, name);
	if (p && p != self)
		return p;

	for (size_t i = 0; i < sizeof sonames / sizeof sonames[0]; i++) {
		void *h = dlopen(sonames[i], RTLD_NOLOAD | RTLD_LAZY);
		if (!h)
			continue;
		p = dlsym(h, name);
		dlclose(h);
		if (p && p != self)
			return p;
	}

	Dl_info own;
	struct phdr_search s = { .name = name, .self = self };
	if (dladdr((void *)find_symbol, &own))
		s.own_path = own.dli_fname;
	dl_iterate_phdr(search_object, &s);
	return s.found;
}

void *tg_resolve(void **slot, const char *name, void *self)
{
	void *p = atomic_load_explicit((_Atomic(void *) *)slot, memory_order_acquire);
	if (p)
		return p;
	p = find_symbol(name, self);
	if (p)
		atomic_store_explicit((_Atomic(void *) *)slot, p, memory_order_release);
	return p;
}

static void *helper(void *handle, const char *name)
{
	return handle ? dlsym(handle, name) : NULL;
}

int tg_resolve_helpers(void)
{
	static _Atomic int state;  /* 0 not tried, 1 ready, -1 unavailable */
	int st = atomic_load(&state);
	if (st)
		return st > 0;

	void *anchor = tg_real.SSL_write ? (void *)tg_real.SSL_write : (void *)tg_real.SSL_read;
	if (!anchor)
		anchor = tg_real.SSL_write_ex ? (void *)tg_real.SSL_write_ex : (void *)tg_real.SSL_read_ex;
	Dl_info info;
	void *h = NULL;
	if (anchor && dladdr(anchor, &info) && info.dli_fname)
		h = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return 0;   /* try again at the next call */

	/* dlsym on a handle also searches its dependencies (libcrypto). */
	tg_real.SSL_get_servername = helper(h, "SSL_get_servername");
	tg_real.SSL_get0_alpn_selected = helper(h, "SSL_get0_alpn_selected");
	tg_real.SSL_get_fd = helper(h, "SSL_get_fd");
	tg_real.SSL_is_server = helper(h, "SSL_is_server");
	tg_real.SSL_get_error = helper(h, "SSL_get_error");
	tg_real.SSL_ctrl = helper(h, "SSL_ctrl");
	tg_real.SSL_shutdown = helper(h, "SSL_shutdown");
	tg_real.SSL_get_shutdown = helper(h, "SSL_get_shutdown");
	tg_real.SSL_set_shutdown = helper(h, "SSL_set_shutdown");
	tg_real.ERR_set_mark = helper(h, "ERR_set_mark");
	tg_real.ERR_pop_to_mark = helper(h, "ERR_pop_to_mark");
	/* The handle stays open on purpose: the helpers live in that object. */
	int ok = tg_real.SSL_get_servername && tg_real.SSL_get0_alpn_selected &&
	         tg_real.SSL_get_fd && tg_real.SSL_is_server && tg_real.SSL_get_error &&
	         tg_real.SSL_ctrl && tg_real.SSL_shutdown && tg_real.SSL_get_shutdown &&
	         tg_real.SSL_set_shutdown && tg_real.ERR_set_mark &&
	         tg_real.ERR_pop_to_mark;
	atomic_store(&state, ok ? 1 : -1);
	return ok;
}

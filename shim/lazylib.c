/* lazylib.c - see lazylib.h. */
#include "lazylib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static void give_up(struct tg_lazylib *lib, const char *why)
{
	memset(lib->fns, 0, (size_t)lib->nfns * sizeof lib->fns[0]);
	if (lib->consequence)
		tg_warn("cannot load %s (%.200s): %s", lib->soname, why, lib->consequence);
	else
		tg_debug("cannot load %s (%.200s)", lib->soname, why);
}

void tg_lazylib_load(struct tg_lazylib *lib)
{
	/* RTLD_LOCAL: the program's own symbol lookups never see it.  The
	 * handle is kept for the life of the process (lazylib.h). */
	void *h = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char *err = dlerror();
		give_up(lib, err ? err : "dlopen failed");
		return;
	}
	for (int i = 0; i < lib->nfns; i++) {
		lib->fns[i] = dlsym(h, lib->names[i]);
		if (!lib->fns[i]) {
			char why[160];
			snprintf(why, sizeof why, "it has no %s", lib->names[i]);
			give_up(lib, why);
			return;
		}
	}
	lib->ok = 1;
	tg_debug("loaded %s", lib->soname);
}

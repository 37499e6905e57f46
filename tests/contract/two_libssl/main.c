/* main.c - loads two plugins, each bound to its own copy of libssl,
 * RTLD_LOCAL (as CPython loads _ssl next to a wheel that bundles libssl),
 * and makes one exchange through each.  Exit 0 when both succeed. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: two-libssl PLUGIN_A PLUGIN_B\n");
		return 2;
	}
	for (int i = 1; i <= 2; i++) {
		void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
		int (*run)(const char *, int) = h ? (int (*)(const char *, int))dlsym(h, "plugin_exchange") : NULL;
		if (!run) {
			fprintf(stderr, "two-libssl: %s\n", dlerror());
			return 2;
		}
		int rc = run("api.openai.com", 100 * i);
		printf("plugin %d: %s\n", i, rc == 0 ? "exchange done" : "exchange failed");
		if (rc != 0)
			return 1;
	}
	return 0;
}

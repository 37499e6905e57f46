/* test_launcher.c - the launcher's pure parts: the ELF reader (elf_scan.h)
 * on ELF files built here byte by byte (both classes, both byte orders,
 * cut at every length) and on this test binary, and the LD_PRELOAD and
 * TOKENGUARD_TAGS merges (preload.h). */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/elf_scan.h"
#include "../../tools/preload.h"

#define VBASE 0x400000u

struct img {
	unsigned char b[1024];
	int wide, big;
};

static void put(struct img *m, size_t off, uint64_t v, int len)
{
	for (int i = 0; i < len; i++)
		m->b[off + (m->big ? len - 1 - i : i)] = (unsigned char)(v >> (8 * i));
}

/* An ELF with one PT_LOAD over the whole file, a PT_DYNAMIC naming the
 * needed libraries, optionally a PT_INTERP, and extra bytes at the end. */
static size_t build(struct img *m, int wide, int big, const char *const *needed, int nneeded,
                    int interp, const char *extra)
{
	int a = wide ? 8 : 4, ehsz = wide ? 64 : 52, phsz = wide ? 56 : 32, dynsz = 2 * a;
	size_t ph = ehsz, nph = 3, dyn = ph + nph * phsz, ndyn = nneeded + 3;
	size_t str = dyn + ndyn * dynsz, at = str + 1, end;

	memset(m, 0, sizeof *m);
	m->wide = wide;
	m->big = big;
	memcpy(m->b, ELFMAG, SELFMAG);
	m->b[EI_CLASS] = wide ? ELFCLASS64 : ELFCLASS32;
	m->b[EI_DATA] = big ? ELFDATA2MSB : ELFDATA2LSB;
	m->b[EI_VERSION] = EV_CURRENT;
	put(m, 16, ET_DYN, 2);
	put(m, wide ? 32 : 28, ph, a);           /* e_phoff */
	put(m, wide ? 54 : 42, phsz, 2);         /* e_phentsize */
	put(m, wide ? 56 : 44, nph, 2);          /* e_phnum */
	/* dynamic entries: DT_NEEDED..., DT_STRTAB, DT_STRSZ, DT_NULL */
	for (int i = 0; i < nneeded; i++) {
		put(m, dyn + i * dynsz, DT_NEEDED, a);
		put(m, dyn + i * dynsz + a, at - str, a);
		strcpy((char *)m->b + at, needed[i]);
		at += strlen(needed[i]) + 1;
	}
	put(m, dyn + nneeded * dynsz, DT_STRTAB, a);
	put(m, dyn + nneeded * dynsz + a, VBASE + str, a);
	put(m, dyn + (nneeded + 1) * dynsz, DT_STRSZ, a);
	put(m, dyn + (nneeded + 1) * dynsz + a, at - str, a);
	end = at;
	if (extra) {
		memcpy(m->b + end, extra, strlen(extra) + 1);  /* a string in a binary ends in NUL */
		end += strlen(extra) + 1;
	}
	/* PT_LOAD, PT_DYNAMIC, PT_INTERP or PT_NULL */
	for (size_t i = 0; i < nph; i++) {
		size_t p = ph + i * phsz;
		uint32_t type = i == 0 ? PT_LOAD : i == 1 ? PT_DYNAMIC : interp ? PT_INTERP : PT_NULL;
		uint64_t off = i == 0 ? 0 : dyn, sz = i == 0 ? end : ndyn * dynsz;

		put(m, p, type, 4);
		put(m, p + (wide ? 8 : 4), off, a);              /* p_offset */
		put(m, p + (wide ? 16 : 8), VBASE + off, a);     /* p_vaddr */
		put(m, p + (wide ? 32 : 16), sz, a);             /* p_filesz */
	}
	return end;
}

static const char *const needs[] = { "libcurl.so.4", "libssl.so.3", "libc.so.6" };

Test(elf_scan, reads_needed_in_both_classes_and_byte_orders)
{
	for (int wide = 0; wide < 2; wide++)
		for (int big = 0; big < 2; big++) {
			struct img m;
			struct tg_elf_info e;
			size_t n = build(&m, wide, big, needs, 3, 1, NULL);

			cr_assert_eq(tg_elf_scan(m.b, n, &e), 0, "wide %d big %d", wide, big);
			cr_assert(e.is_elf && e.dynamic && e.interp);
			cr_assert_eq(e.nneeded, 3);
			cr_assert_str_eq(e.needed[0], "libcurl.so.4");
			cr_assert_str_eq(e.needed[1], "libssl.so.3");
			cr_assert_str_eq(e.needed[2], "libc.so.6");
			cr_assert(tg_elf_needs(&e, "libssl.so"));
			cr_assert(!tg_elf_needs(&e, "libgnutls.so"));
			cr_assert_eq(e.marks, 0u);
		}
}

Test(elf_scan, finds_the_marks_of_static_tls_stacks)
{
	static const struct { const char *bytes; unsigned mark; } cases[] = {
		{ "\xff Go buildinf:", TG_ELF_GO },
		{ "/cargo/registry/src/rustls-0.23.5/src/lib.rs", TG_ELF_RUSTLS },
		{ "BoringSSL", TG_ELF_BORINGSSL },
		{ "BoringSSL is linked in", 0 },     /* a message naming it is no version */
		{ "rustls is linked in", 0 },
		{ "OpenSSL 3.0.13 30 Jan 2024", TG_ELF_OPENSSL },
		{ "OpenSSL 1.1.1w  11 Sep 2023", TG_ELF_OPENSSL },
		{ "OpenSSL/%s", 0 },  /* a format naming OpenSSL is no version */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct img m;
		struct tg_elf_info e;
		size_t n = build(&m, 1, 0, needs + 2, 1, 1, cases[i].bytes);

		cr_assert_eq(tg_elf_scan(m.b, n, &e), 0);
		cr_assert_eq(e.marks, cases[i].mark, "%s", cases[i].bytes);
		cr_assert(!tg_elf_needs(&e, "libssl.so"));
	}
}

Test(elf_scan, tells_a_static_program_and_rejects_what_is_not_elf)
{
	struct img m;
	struct tg_elf_info e;
	size_t n = build(&m, 1, 0, needs, 0, 0, NULL);

	put(&m, 64, PT_LOAD + 0, 4);
	put(&m, 64 + 56, PT_NULL, 4);  /* the PT_DYNAMIC becomes nothing */
	cr_assert_eq(tg_elf_scan(m.b, n, &e), 0);
	cr_assert(e.is_elf && !e.dynamic && !e.interp && e.nneeded == 0);
	cr_assert_eq(tg_elf_scan((const unsigned char *)"#!/bin/sh\n", 10, &e), -1);
	cr_assert(!e.is_elf);
	m.b[EI_CLASS] = 7;
	cr_assert_eq(tg_elf_scan(m.b, n, &e), -1);
	cr_assert(e.is_elf);
}

/* Cut at every length: never reads past the end, never names a library
 * whose name the cut file does not hold whole. */
Test(elf_scan, survives_every_truncation)
{
	struct img m;
	size_t n = build(&m, 1, 1, needs, 3, 1, "BoringSSL");

	for (size_t cut = 0; cut <= n; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		struct tg_elf_info e;

		memcpy(copy, m.b, cut);
		tg_elf_scan(copy, cut, &e);
		for (int i = 0; i < e.nneeded; i++)
			cr_assert(!strcmp(e.needed[i], needs[i]), "cut %zu", cut);
		if (cut == n)
			cr_assert(e.nneeded == 3 && (e.marks & TG_ELF_BORINGSSL));
		free(copy);
	}
}

Test(elf_scan, reads_this_test_binary)
{
	struct tg_elf_info e;

	cr_assert_eq(tg_elf_scan_file("/proc/self/exe", &e), 0);
	cr_assert(e.dynamic && e.interp);
	cr_assert(tg_elf_needs(&e, "libcriterion.so"));
	cr_assert(tg_elf_needs(&e, "libc.so"));
	cr_assert_eq(tg_elf_scan_file("/nonexistent/x", &e), -2);
}

static void append(const char *existing, const char *want, int rc)
{
	char buf[256];

	cr_assert_eq(tg_preload_append(existing, "/opt/tg/lib/libtokenguard.so", buf, sizeof buf),
	             rc, "%s", existing ? existing : "(null)");
	cr_assert_str_eq(buf, want);
}

Test(preload, appends_after_what_is_there_once)
{
	append(NULL, "/opt/tg/lib/libtokenguard.so", 1);
	append("", "/opt/tg/lib/libtokenguard.so", 1);
	append("  ", "/opt/tg/lib/libtokenguard.so", 1);
	append("/usr/lib/libasan.so.8", "/usr/lib/libasan.so.8:/opt/tg/lib/libtokenguard.so", 1);
	append("a.so b.so", "a.so b.so:/opt/tg/lib/libtokenguard.so", 1);
	append(":a.so", "a.so:/opt/tg/lib/libtokenguard.so", 1);
	/* already there, by any path: left as it is */
	append("/build/libtokenguard.so", "/build/libtokenguard.so", 0);
	append("a.so /x/libtokenguard.so:b.so", "a.so /x/libtokenguard.so:b.so", 0);
	append("libtokenguard.so", "libtokenguard.so", 0);
	/* a name that only ends like it is another library */
	append("/x/mylibtokenguard.so", "/x/mylibtokenguard.so:/opt/tg/lib/libtokenguard.so", 1);
}

Test(preload, says_when_the_buffer_is_too_small)
{
	char buf[16];

	cr_assert_eq(tg_preload_append("/usr/lib/libasan.so.8", "/x/libtokenguard.so", buf,
	                               sizeof buf), -1);
}

Test(preload, merges_tags_a_given_key_winning)
{
	const char *tags[] = { "team=search", "tokenguard_run=1-2" };
	char buf[128];

	cr_assert_eq(tg_tags_merge(NULL, tags, 2, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "team=search,tokenguard_run=1-2");
	cr_assert_eq(tg_tags_merge("team=ads,feature=x", tags, 1, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "feature=x,team=search");
	cr_assert_eq(tg_tags_merge("feature=x,,teamx=1", tags, 1, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "feature=x,teamx=1,team=search");
	cr_assert_eq(tg_tags_merge("feature=x", tags, 0, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "feature=x");
	cr_assert_eq(tg_tags_merge("feature=x", tags, 2, buf, 12), -1);
}

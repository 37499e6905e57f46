/* elf_scan.h - what an ELF file says about the TLS stack it will use: its
 * dynamic dependencies (DT_NEEDED), whether it is statically linked, and
 * the marks a TLS stack linked into it leaves (Go's build info, rustls,
 * BoringSSL, OpenSSL's version string).  Read with <elf.h> from a bounded
 * buffer, every offset checked: the file may be anything.
 *
 * Owns: the ELF reading and the marks.  What the findings mean for the
 * shim is tools/seen.c's. */
#ifndef TG_ELF_SCAN_H
#define TG_ELF_SCAN_H

#include <stddef.h>

#define TG_ELF_NEEDED_MAX 64
#define TG_ELF_NAME_MAX 128

/* Marks of TLS stacks found in the file's bytes. */
#define TG_ELF_GO        0x1u  /* a .go.buildinfo section or its "\xff Go buildinf:" header */
#define TG_ELF_RUSTLS    0x2u  /* the rustls crate's path ("/rustls-0.23.5/src/...") */
#define TG_ELF_BORINGSSL 0x4u  /* the version string "BoringSSL" */
#define TG_ELF_OPENSSL   0x8u  /* "OpenSSL 1." or "OpenSSL 3." version text */

struct tg_elf_info {
	int is_elf;
	int dynamic;          /* has a PT_DYNAMIC segment (needs the dynamic loader) */
	int interp;           /* has a PT_INTERP segment */
	int nneeded;
	char needed[TG_ELF_NEEDED_MAX][TG_ELF_NAME_MAX];
	unsigned marks;       /* TG_ELF_* */
};

/* Reads the n bytes at buf (a whole file).  Returns 0, or -1 when buf is
 * not a 64-bit or 32-bit little/big-endian ELF file it can read (is_elf
 * then says whether the magic was there). */
int tg_elf_scan(const unsigned char *buf, size_t n, struct tg_elf_info *out);

/* tg_elf_scan() of the file at path (read up to 512 MiB).  Returns 0,
 * -1 when it is not ELF, -2 when it cannot be read (errno set). */
int tg_elf_scan_file(const char *path, struct tg_elf_info *out);

/* 1 when out needs a library whose name starts with prefix ("libssl.so"). */
int tg_elf_needs(const struct tg_elf_info *out, const char *prefix);

#endif

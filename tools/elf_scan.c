/* elf_scan.c - DT_NEEDED, linking kind and TLS stack marks of an ELF file
 * (elf_scan.h).  Only the headers, the dynamic segment and its string
 * table are parsed; the marks are byte searches over the whole file,
 * which is what survives stripping (a Go binary keeps its build info, a
 * Rust one its crate paths, OpenSSL its version text). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_scan.h"

/* A file's own byte order and class, read field by field. */
struct reader {
	const unsigned char *b;
	size_t n;
	int big, wide;
};

static int in(const struct reader *r, uint64_t off, uint64_t len)
{
	return off <= r->n && len <= r->n - off;
}

static uint64_t get(const struct reader *r, uint64_t off, int len)
{
	uint64_t v = 0;

	for (int i = 0; i < len; i++)
		v |= (uint64_t)r->b[off + (r->big ? len - 1 - i : i)] << (8 * i);
	return v;
}

/* Field offsets of the two classes, in one place. */
struct layout {
	int phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx;
	int p_type, p_offset, p_vaddr, p_filesz, addr;
	int sh_name, sh_offset, sh_size;
	int dyn_size, dyn_val;
};

static const struct layout L64 = { 32, 54, 56, 40, 58, 60, 62, 0, 8, 16, 32, 8, 0, 24, 32, 16, 8 };
static const struct layout L32 = { 28, 42, 44, 32, 46, 48, 50, 0, 4, 8, 16, 4, 0, 16, 20, 8, 4 };

/* The file offset of virtual address va, through the PT_LOAD segments. */
static int vaddr_to_off(const struct reader *r, const struct layout *l, uint64_t phoff,
                        unsigned phent, unsigned phnum, uint64_t va, uint64_t *off)
{
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t p = phoff + (uint64_t)i * phent;
		uint64_t vaddr = get(r, p + l->p_vaddr, l->addr);
		uint64_t filesz = get(r, p + l->p_filesz, l->addr);

		if (get(r, p + l->p_type, 4) == PT_LOAD && va >= vaddr && va - vaddr < filesz) {
			*off = get(r, p + l->p_offset, l->addr) + (va - vaddr);
			return 0;
		}
	}
	return -1;
}

static void read_needed(const struct reader *r, const struct layout *l, uint64_t phoff,
                        unsigned phent, unsigned phnum, uint64_t dyn, uint64_t dynsz,
                        struct tg_elf_info *out)
{
	uint64_t strtab_va = 0, strsz = 0, stroff;
	int have_strtab = 0;

	for (uint64_t d = dyn; d + l->dyn_size <= dyn + dynsz; d += l->dyn_size) {
		uint64_t tag = get(r, d, l->addr), val = get(r, d + l->dyn_val, l->addr);

		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB) {
			strtab_va = val;
			have_strtab = 1;
		} else if (tag == DT_STRSZ) {
			strsz = val;
		}
	}
	if (!have_strtab || vaddr_to_off(r, l, phoff, phent, phnum, strtab_va, &stroff) ||
	    !in(r, stroff, strsz))
		return;
	for (uint64_t d = dyn; d + l->dyn_size <= dyn + dynsz; d += l->dyn_size) {
		uint64_t tag = get(r, d, l->addr), val = get(r, d + l->dyn_val, l->addr);
		const char *s;
		size_t max;

		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED || val >= strsz || out->nneeded == TG_ELF_NEEDED_MAX)
			continue;
		s = (const char *)r->b + stroff + val;
		max = strsz - val;
		if (strnlen(s, max) == max || strlen(s) >= TG_ELF_NAME_MAX)
			continue;
		strcpy(out->needed[out->nneeded++], s);
	}
}

static int has_section(const struct reader *r, const struct layout *l, const char *want)
{
	uint64_t shoff = get(r, l->shoff, l->addr);
	unsigned shent = get(r, l->shentsize, 2), shnum = get(r, l->shnum, 2);
	unsigned shstrndx = get(r, l->shstrndx, 2);
	uint64_t strs, strsz, sh;

	if (!shoff || shstrndx >= shnum || !in(r, shoff, (uint64_t)shent * shnum) || shent < 40)
		return 0;
	sh = shoff + (uint64_t)shstrndx * shent;
	strs = get(r, sh + l->sh_offset, l->addr);
	strsz = get(r, sh + l->sh_size, l->addr);
	if (!in(r, strs, strsz))
		return 0;
	for (unsigned i = 0; i < shnum; i++) {
		uint64_t name = get(r, shoff + (uint64_t)i * shent + l->sh_name, 4);

		if (name < strsz && !strncmp((const char *)r->b + strs + name, want, strsz - name))
			return 1;
	}
	return 0;
}

/* The marks, each byte XORed with MASK: a program holding this scanner
 * (tokenguard, tokenguard-report) must not carry the marks it looks for,
 * or it would find them in itself.  The key is read through a volatile so
 * the compiler cannot fold the plain text back in.  Each needle is the
 * form the stack leaves in a binary, not just its name (which messages
 * may hold): Go's build info header, rustls's crate path in panic
 * locations ("/rustls-0.23.5/src/..."), BoringSSL's version string
 * (NUL-terminated, what OpenSSL_version returns there), OpenSSL's version
 * text ("OpenSSL 3.0.13 30 Jan 2024"). */
#define MASK 0x55
static volatile unsigned char mask = MASK;
static const struct { const char *x; size_t len; unsigned mark; } needles[] = {
	{ "\xaa\x75\x12\x3a\x75\x37\x20\x3c\x39\x31\x3c\x3b\x33\x6f", 14, TG_ELF_GO },
	{ "\x7a\x27\x20\x26\x21\x39\x26\x78", 8, TG_ELF_RUSTLS },
	{ "\x17\x3a\x27\x3c\x3b\x32\x06\x06\x19\x55", 10, TG_ELF_BORINGSSL },
	{ "\x1a\x25\x30\x3b\x06\x06\x19\x75\x66\x7b", 10, TG_ELF_OPENSSL },
	{ "\x1a\x25\x30\x3b\x06\x06\x19\x75\x64\x7b", 10, TG_ELF_OPENSSL },
};

static int contains(const unsigned char *b, size_t n, const char *x, size_t len)
{
	char plain[32];

	for (size_t i = 0; i < len && i < sizeof plain; i++)
		plain[i] = (char)((unsigned char)x[i] ^ mask);
	return memmem(b, n, plain, len) != NULL;
}

int tg_elf_scan(const unsigned char *buf, size_t n, struct tg_elf_info *out)
{
	struct reader r = { buf, n, 0, 0 };
	const struct layout *l;
	uint64_t phoff;
	unsigned phent, phnum;

	memset(out, 0, sizeof *out);
	if (n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return -1;
	out->is_elf = 1;
	if ((buf[EI_CLASS] != ELFCLASS64 && buf[EI_CLASS] != ELFCLASS32) ||
	    (buf[EI_DATA] != ELFDATA2LSB && buf[EI_DATA] != ELFDATA2MSB))
		return -1;
	r.wide = buf[EI_CLASS] == ELFCLASS64;
	r.big = buf[EI_DATA] == ELFDATA2MSB;
	l = r.wide ? &L64 : &L32;
	if (!in(&r, 0, r.wide ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return -1;
	phoff = get(&r, l->phoff, l->addr);
	phent = get(&r, l->phentsize, 2);
	phnum = get(&r, l->phnum, 2);
	if (phent < (unsigned)(r.wide ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
	    !in(&r, phoff, (uint64_t)phent * phnum))
		phnum = 0;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t p = phoff + (uint64_t)i * phent;
		uint32_t type = get(&r, p + l->p_type, 4);
		uint64_t off = get(&r, p + l->p_offset, l->addr);
		uint64_t sz = get(&r, p + l->p_filesz, l->addr);

		if (type == PT_INTERP)
			out->interp = 1;
		if (type == PT_DYNAMIC && in(&r, off, sz)) {
			out->dynamic = 1;
			read_needed(&r, l, phoff, phent, phnum, off, sz, out);
		}
	}
	if (has_section(&r, l, ".go.buildinfo"))
		out->marks |= TG_ELF_GO;
	for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
		if (!(out->marks & needles[i].mark) && contains(buf, n, needles[i].x, needles[i].len))
			out->marks |= needles[i].mark;
	return 0;
}

int tg_elf_scan_file(const char *path, struct tg_elf_info *out)
{
	struct stat st;
	void *map;
	int fd, rc, e;

	memset(out, 0, sizeof *out);
	errno = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -2;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		e = errno ? errno : EINVAL;
		close(fd);
		errno = e;
		return -2;
	}
	if (st.st_size == 0 || st.st_size > ((off_t)512 << 20)) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	e = errno;
	close(fd);
	if (map == MAP_FAILED) {
		errno = e;
		return -2;
	}
	rc = tg_elf_scan(map, st.st_size, out);
	munmap(map, st.st_size);
	return rc;
}

int tg_elf_needs(const struct tg_elf_info *out, const char *prefix)
{
	for (int i = 0; i < out->nneeded; i++)
		if (!strncmp(out->needed[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

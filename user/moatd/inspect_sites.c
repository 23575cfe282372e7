// SPDX-License-Identifier: GPL-2.0
/*
 * Where the inspector's probes go in the library (SPEC §6), chosen from its
 * ELF when moatd starts: never a hard-coded offset, since offsets change
 * with every build of libssl.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "insp.h"

/* vaddr -> file offset through the PT_LOAD that holds it; exec: only an executable one. */
static int vaddr_to_off(Elf *e, GElf_Addr va, bool exec, size_t *off)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (exec && !(ph.p_flags & PF_X))
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* A dynamic symbol's address; 0 when absent. */
static GElf_Addr dynsym(Elf *e, const char *name)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *s;

			if (!gelf_getsym(data, i, &sym) || !sym.st_value)
				continue;
			s = elf_strptr(e, sh.sh_link, sym.st_name);
			if (s && !strcmp(s, name) && GELF_ST_TYPE(sym.st_info) == STT_FUNC)
				return sym.st_value;
		}
	}
	return 0;
}

#define SCAN_BYTES	64

/* The targets of the first `call rel32` bytes (e8) in a function's first SCAN_BYTES. */
static size_t call_targets(int fd, Elf *e, GElf_Addr fn, GElf_Addr *out, size_t max)
{
	unsigned char b[SCAN_BYTES];
	size_t off, n = 0;

	if (vaddr_to_off(e, fn, true, &off) || pread(fd, b, sizeof(b), off) != sizeof(b))
		return 0;
	for (size_t i = 0; i + 5 <= sizeof(b) && n < max; i++) {
		int32_t rel;

		if (b[i] != 0xe8)
			continue;
		memcpy(&rel, b + i + 1, 4);
		out[n++] = fn + i + 5 + rel;
	}
	return n;
}

/* Whether the instruction at va is a push of a register, which uprobes emulate. */
static bool starts_with_push(int fd, Elf *e, GElf_Addr va)
{
	unsigned char b[2];
	size_t off;

	if (vaddr_to_off(e, va, true, &off) || pread(fd, b, 2, off) != 2)
		return false;
	return (b[0] >= 0x50 && b[0] <= 0x57) || (b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57);
}

/*
 * SSL_read and SSL_read_ex start with an instruction the kernel
 * single-steps (~11 µs a call here, PLATFORM.md). Both call libssl's
 * internal read (s, buf, num, &readbytes) near their start, and that one
 * starts with a push, which the kernel emulates (~1 µs). It has no symbol:
 * it is the target of a call found in the first bytes of both exported
 * functions, in executable code, starting with a push. Any doubt and the
 * exported functions are probed instead, with a warning.
 */
int insp_pick_sites(const char *lib, struct insp_sites *s)
{
	GElf_Addr set_fd, free_, rd, rd_ex, t1[8], t2[8], internal = 0;
	size_t n1, n2;
	int fd, err = 0;
	Elf *e;

	memset(s, 0, sizeof(*s));
	elf_version(EV_CURRENT);
	fd = open(lib, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		close(fd);
		return -EINVAL;
	}
	set_fd = dynsym(e, "SSL_set_fd");
	free_ = dynsym(e, "SSL_free");
	rd = dynsym(e, "SSL_read");
	rd_ex = dynsym(e, "SSL_read_ex");
	if (!set_fd || !free_ || !rd || vaddr_to_off(e, set_fd, true, &s->set_fd) ||
	    vaddr_to_off(e, free_, true, &s->free) || vaddr_to_off(e, rd, true, &s->ssl_read)) {
		err = -ENOENT;
		goto out;
	}
	if (rd_ex && vaddr_to_off(e, rd_ex, true, &s->ssl_read_ex))
		s->ssl_read_ex = 0;
	if (rd_ex) {
		n1 = call_targets(fd, e, rd, t1, 8);
		n2 = call_targets(fd, e, rd_ex, t2, 8);
		for (size_t i = 0; i < n1 && !internal; i++)
			for (size_t j = 0; j < n2 && !internal; j++)
				if (t1[i] == t2[j] && starts_with_push(fd, e, t1[i]))
					internal = t1[i];
	}
	if (!internal || vaddr_to_off(e, internal, true, &s->read))
		s->read = 0;
out:
	elf_end(e);
	close(fd);
	return err;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Which processes carry the inspector's probes: those whose executable is
 * in inspector.processes, attached per process (pid), never host-wide
 * (every other libssl user would pay the probe cost, PLATFORM.md).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "insp.h"
#include "inspect.skel.h"
#include "lib/log.h"

static bool wanted_exe(const struct moatd_inspector *in, pid_t pid)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (size_t i = 0; i < in->n_processes; i++)
		if (!strcmp(exe, in->processes[i]))
			return true;
	return false;
}

static void detach(struct moatd_inspector *in, struct insp_proc *p)
{
	for (size_t i = 0; i < sizeof(p->links) / sizeof(p->links[0]); i++)
		bpf_link__destroy(p->links[i]);
	memset(p, 0, sizeof(*p));
}

static struct bpf_link *probe(struct moatd_inspector *in, struct bpf_program *prog, bool ret,
			      pid_t pid, size_t off)
{
	struct bpf_link *l = bpf_program__attach_uprobe(prog, ret, pid, in->library, off);

	return l;	/* NULL: errno set by libbpf */
}

static int attach(struct moatd_inspector *in, pid_t pid, struct insp_proc *p)
{
	typeof(in->skel->progs) *pr = &in->skel->progs;
	const struct insp_sites *s = &in->sites;
	size_t n = 0;

	p->pid = pid;
	p->links[n++] = probe(in, pr->conn_open, false, pid, s->set_fd);
	p->links[n++] = probe(in, pr->conn_close, false, pid, s->free);
	if (s->read) {
		p->links[n++] = probe(in, pr->read_enter, false, pid, s->read);
		p->links[n++] = probe(in, pr->read_ret_ex, true, pid, s->read);
	} else {
		p->links[n++] = probe(in, pr->read_enter, false, pid, s->ssl_read);
		p->links[n++] = probe(in, pr->read_ret_n, true, pid, s->ssl_read);
		if (s->ssl_read_ex) {
			p->links[n++] = probe(in, pr->read_enter, false, pid, s->ssl_read_ex);
			p->links[n++] = probe(in, pr->read_ret_ex, true, pid, s->ssl_read_ex);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!p->links[i]) {
			int err = -errno;

			detach(in, p);
			return err;
		}
	}
	return 0;
}

/* Attaches to new matching processes, lets go of those gone. */
void insp_rescan(struct moatd_inspector *in)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	size_t i;

	if (!d)
		return;
	for (i = 0; i < in->n_procs; i++)
		in->procs[i].seen = false;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct insp_proc *p = NULL;
		int err;

		if (*end || pid <= 0 || !wanted_exe(in, pid))
			continue;
		for (i = 0; i < in->n_procs && !p; i++)
			if (in->procs[i].pid == pid)
				p = &in->procs[i];
		if (p) {
			p->seen = true;
			continue;
		}
		if (in->n_procs == INSP_MAX_PROCS) {
			moat_warn("inspector: more than %d processes to inspect; pid %ld is not",
				  INSP_MAX_PROCS, pid);
			continue;
		}
		p = &in->procs[in->n_procs];
		err = attach(in, pid, p);
		if (err) {
			moat_warn("inspector: couldn't attach to pid %ld: %s", pid, strerror(-err));
			continue;
		}
		p->seen = true;
		in->n_procs++;
		moat_info("inspector: attached to pid %ld", pid);
	}
	closedir(d);
	for (i = 0; i < in->n_procs;) {
		if (in->procs[i].seen) {
			i++;
			continue;
		}
		detach(in, &in->procs[i]);
		in->procs[i] = in->procs[--in->n_procs];
		memset(&in->procs[in->n_procs], 0, sizeof(in->procs[0]));
	}
	in->attached = in->n_procs;
}

void insp_detach_all(struct moatd_inspector *in)
{
	for (size_t i = 0; i < in->n_procs; i++)
		detach(in, &in->procs[i]);
	in->n_procs = 0;
	in->attached = 0;
}

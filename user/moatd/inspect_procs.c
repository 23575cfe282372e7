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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
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

static struct insp_proc *find(struct moatd_inspector *in, pid_t pid)
{
	for (size_t i = 0; i < in->n_procs; i++)
		if (in->procs[i].pid == pid)
			return &in->procs[i];
	return NULL;
}

/* The kernel side stops counting pid's socket reads as unseen (sys_read). */
static void mark_probed(struct moatd_inspector *in, pid_t pid)
{
	__u32 tgid = pid;
	__u8 probed = MOAT_INSP_PROBED;

	bpf_map_update_elem(bpf_map__fd(in->skel->maps.insp_tgids), &tgid, &probed, BPF_ANY);
}

/* Probes on pid unless it has them; how says who found it, for the log. */
static struct insp_proc *add(struct moatd_inspector *in, pid_t pid, const char *how)
{
	struct insp_proc *p = find(in, pid);
	int err;

	if (p)
		return p;
	if (in->n_procs == INSP_MAX_PROCS) {
		moat_warn("inspector: more than %d processes to inspect; pid %d is not",
			  INSP_MAX_PROCS, (int)pid);
		return NULL;
	}
	p = &in->procs[in->n_procs];
	err = attach(in, pid, p);
	if (err) {
		/* Gone already (an exec'd helper that exited at once) is no news. */
		if (err != -ESRCH)
			moat_warn("inspector: couldn't attach to pid %d: %s", (int)pid,
				  strerror(-err));
		return NULL;
	}
	in->n_procs++;
	in->attached = in->n_procs;
	mark_probed(in, pid);
	moat_info("inspector: attached to pid %d (%s)", (int)pid, how);
	return p;
}

static void drop(struct moatd_inspector *in, struct insp_proc *p)
{
	size_t i = p - in->procs;

	detach(in, p);
	in->procs[i] = in->procs[--in->n_procs];
	memset(&in->procs[in->n_procs], 0, sizeof(in->procs[0]));
	in->attached = in->n_procs;
}

/*
 * The safety net behind the kernel's exec/fork/exit events: /proc, by
 * executable path. It finds what was running before moatd (and marks it
 * tracked in the kernel, so its forks are reported), and anything an event
 * lost to a full ring would have told.
 */
void insp_rescan(struct moatd_inspector *in)
{
	int tgids = bpf_map__fd(in->skel->maps.insp_tgids);
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
		__u32 tgid = pid;
		__u8 one = MOAT_INSP_TRACKED;
		struct insp_proc *p;

		if (*end || pid <= 0 || !wanted_exe(in, pid))
			continue;
		/* Tracked now if it was not (probed ones stay probed). */
		bpf_map_update_elem(tgids, &tgid, &one, BPF_NOEXIST);
		p = add(in, pid, "found in /proc");
		if (p)
			p->seen = true;
	}
	closedir(d);
	for (i = 0; i < in->n_procs;) {
		if (in->procs[i].seen) {
			i++;
			continue;
		}
		moat_info("inspector: pid %d is gone", (int)in->procs[i].pid);
		drop(in, &in->procs[i]);
	}
}

/* One event from the kernel's exec/fork/exit tracking (the proc_events ring). */
int insp_on_proc_event(void *ctx, void *data, size_t size)
{
	struct moatd_inspector *in = ctx;
	const struct moat_insp_proc_ev *e = data;
	struct insp_proc *p;

	if (size < sizeof(*e))
		return 0;
	if (e->type == MOAT_INSP_PROC_START) {
		add(in, e->tgid, "exec or fork");
	} else if (e->type == MOAT_INSP_PROC_EXIT && (p = find(in, e->tgid))) {
		moat_info("inspector: pid %d is gone", (int)e->tgid);
		drop(in, p);
	}
	return 0;
}

/* The configured executables as the kernel names them (device, inode). */
static void fill_exes(struct moatd_inspector *in)
{
	int fd = bpf_map__fd(in->skel->maps.insp_exes);

	for (size_t i = 0; i < in->n_processes; i++) {
		struct moat_insp_exe k = {};
		struct stat st;
		__u8 one = 1;

		if (stat(in->processes[i], &st)) {
			moat_warn("inspector: %s: %s (processes started from it later are found "
				  "by the slow /proc scan only)", in->processes[i], strerror(errno));
			continue;
		}
		k.ino = st.st_ino;
		k.dev = (__u32)major(st.st_dev) << 20 | minor(st.st_dev);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			moat_warn("inspector: %s: couldn't track it: %s", in->processes[i],
				  strerror(errno));
	}
}

int insp_procs_start(struct moatd_inspector *in)
{
	struct bpf_program *progs[] = {
		in->skel->progs.proc_exec, in->skel->progs.proc_fork, in->skel->progs.proc_exit,
		in->skel->progs.sys_read,
	};
	_Static_assert(sizeof(progs) / sizeof(progs[0]) <= sizeof(in->tracks) / sizeof(in->tracks[0]),
		       "room for the tracepoint links");

	fill_exes(in);
	/* Events first, then /proc: a process is seen by one or the other, or both. */
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		in->tracks[i] = bpf_program__attach(progs[i]);
		if (!in->tracks[i]) {
			int err = -errno;

			moat_err("inspector: couldn't attach %s: %s", bpf_program__section_name(progs[i]),
				 strerror(-err));
			return err;
		}
	}
	insp_rescan(in);
	return 0;
}

void insp_retarget(struct moatd_inspector *in)
{
	int exes = bpf_map__fd(in->skel->maps.insp_exes), tgids = bpf_map__fd(in->skel->maps.insp_tgids);
	struct moat_insp_exe ek;
	__u32 tk;

	for (size_t i = 0; i < in->n_procs; i++)
		detach(in, &in->procs[i]);
	in->n_procs = 0;
	in->attached = 0;
	while (!bpf_map_get_next_key(exes, NULL, &ek))
		bpf_map_delete_elem(exes, &ek);
	while (!bpf_map_get_next_key(tgids, NULL, &tk))
		bpf_map_delete_elem(tgids, &tk);
	fill_exes(in);
	insp_rescan(in);
}

void insp_detach_all(struct moatd_inspector *in)
{
	for (size_t i = 0; i < sizeof(in->tracks) / sizeof(in->tracks[0]); i++) {
		bpf_link__destroy(in->tracks[i]);
		in->tracks[i] = NULL;
	}
	for (size_t i = 0; i < in->n_procs; i++)
		detach(in, &in->procs[i]);
	in->n_procs = 0;
	in->attached = 0;
}

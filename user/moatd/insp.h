/* SPDX-License-Identifier: GPL-2.0 */
/*
 * moatd's inspector, inside moatd only: the state its four files share.
 *   inspect_sites.c  where the probes go in the library (from its ELF)
 *   inspect_procs.c  which processes carry them: attach, detach, exec/exit
 *   inspect_verdict.c what a verdict does: counters, JSON line, event, ban
 *   inspect.c        the thread: ring buffer, worker, start/stop/reload
 */
#ifndef MOATD_INSP_H
#define MOATD_INSP_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "moatd.h"
#include "moat/inspect.h"
#include "lib/config.h"

#define INSP_MAX_PROCS	256
#define INSP_GAPS	256	/* connections whose next record must say "gap" */

/* Where the probes go in the library, as file offsets. */
struct insp_sites {
	size_t set_fd, free;
	size_t read;		/* the internal read both SSL_read and SSL_read_ex call; 0: none */
	size_t ssl_read, ssl_read_ex;	/* fallback, each single-stepped at entry */
};

struct insp_proc {
	pid_t pid;
	struct bpf_link *links[6];
	bool seen;		/* in the last scan */
};

struct moatd_inspector {
	struct moatd *d;
	struct inspect_bpf *skel;
	struct ring_buffer *rb;
	struct insp_sites sites;
	char library[PATH_MAX];
	char (*processes)[PATH_MAX];
	size_t n_processes;
	char rules[PATH_MAX];
	int paranoia;
	uint64_t max_body;
	bool ban_enabled;
	uint64_t ban_ttl;
	struct moat_cidr *exempt;
	size_t n_exempt;
	char pin_dir[PATH_MAX];
	char state_dir[PATH_MAX];

	struct insp_proc procs[INSP_MAX_PROCS];
	size_t n_procs;
	struct bpf_link *tracks[4];	/* exec, fork, exit, sys_enter: host-wide */

	pid_t worker;
	int sock;
	uint64_t gaps[INSP_GAPS];	/* conn ids, 0 = free slot */
	struct moat_insp_rec gap_rec;	/* a record marked as following a gap */

	pthread_t thread;
	/* Held by the thread while it works (not while it polls), and by a
	 * reload while it changes settings, processes or the worker. */
	pthread_mutex_t lock;
	atomic_bool stop;
	/* Read by the metrics thread. */
	_Atomic uint64_t requests[MOAT_INSP_N_RESULTS];
	_Atomic uint64_t detections[MOAT_INSP_N_CATEGORIES];
	_Atomic uint64_t lost_local;	/* records the worker could not take */
	_Atomic uint64_t attached;
	_Atomic uint64_t restarts;
	_Atomic uint64_t latency[MOAT_INSP_N_LATENCY + 1];
	_Atomic uint64_t latency_sum_ns;
};

/* inspect_reload.c: takes cfg's inspector settings (all but pin and state
 * folders); on reload (non-NULL flags) says whether the processes must be
 * attached again and the worker replaced. -errno: nothing taken. */
int insp_settings_take(struct moatd_inspector *in, const struct moat_config *cfg, bool *retarget,
		       bool *new_worker);

/* inspect.c: a new worker with the settings now in force (not counted as a restart). */
void insp_replace_worker(struct moatd_inspector *in);

/* inspect_sites.c: the probe sites in lib; -errno when it has no SSL_set_fd/SSL_free/SSL_read. */
int insp_pick_sites(const char *lib, struct insp_sites *s);

/* inspect_procs.c */
/* Tracks exec/fork/exit in the kernel and attaches to what runs now; -errno. */
int insp_procs_start(struct moatd_inspector *in);
/* The slow safety net: attaches to matching processes in /proc, lets go of those gone. */
void insp_rescan(struct moatd_inspector *in);
/* ring_buffer callback for the proc_events ring. */
int insp_on_proc_event(void *ctx, void *data, size_t size);
/* Lets go of every process and attaches again with the processes and sites now set. */
void insp_retarget(struct moatd_inspector *in);
/* Lets go of every process and of the tracking. */
void insp_detach_all(struct moatd_inspector *in);

/* inspect_verdict.c: what one verdict from the worker does. */
void insp_on_verdict(struct moatd_inspector *in, struct moat_insp_verdict *v);

#endif /* MOATD_INSP_H */

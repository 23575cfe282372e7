// SPDX-License-Identifier: GPL-2.0
/*
 * moatd's half of the inspector (SPEC §6): the probes of bpf/inspect.bpf.c
 * attached to the configured processes, the ring-buffer reader, the
 * socketpair to the worker (moat-inspect, which parses and evaluates), and
 * what a detection does: a JSON line, counters, a ban at XDP. Everything
 * runs on one thread of its own; the packet path never waits for it.
 *
 * Probe sites come from the library's ELF at start (inspect_sites.c).
 * Processes are found in /proc at start, then from the kernel's exec, fork
 * and exit events as they happen (inspect_procs.c): a new nginx, or workers
 * replacing each other on 'nginx -s reload', are attached within the ring's
 * poll period (1 ms) plus the attach itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "insp.h"
#include "inspect.skel.h"
#include "lib/log.h"
#include "lib/metrics.h"

/* exec/fork/exit come from the kernel as they happen; /proc is read this
 * often only to catch what a full ring lost. */
#define RESCAN_MS	30000
#define RING_POLL_MS	1	/* records are submitted without wake-ups */

/* ---- the worker ---- */

static int spawn_worker(struct moatd_inspector *in)
{
	char self[PATH_MAX], worker[PATH_MAX + 32], pl[16], mb[32], *slash;
	int sv[2], sndbuf = 4 << 20;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid, parent;

	if (n <= 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(worker, sizeof(worker), "%s/moat-inspect", self);
	snprintf(pl, sizeof(pl), "%d", in->paranoia);
	snprintf(mb, sizeof(mb), "%llu", (unsigned long long)in->max_body);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	/* Room for bursts: the reader never blocks on the worker, what does
	 * not fit is counted as shed. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;

		/* moatd alone stops the worker: a SIGTERM to the whole service
		 * must not read as a crash, and moatd dying takes it along. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execl(worker, "moat-inspect", "--rules", in->rules, "--paranoia", pl,
		      "--max-body", mb, (char *)NULL);
		fprintf(stderr, "moatd: error: inspector: couldn't run %s: %s\n", worker,
			strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	in->sock = sv[0];
	in->worker = pid;
	memset(in->gaps, 0, sizeof(in->gaps));
	return 0;
}

/* The worker is gone (or must go): reap it, start another, count it. */
static void restart_worker(struct moatd_inspector *in, const char *why)
{
	int status = 0, err;

	if (in->sock >= 0)
		close(in->sock);
	in->sock = -1;
	if (in->worker > 0) {
		kill(in->worker, SIGKILL);
		waitpid(in->worker, &status, 0);
		if (WIFSIGNALED(status))
			moat_warn("inspector: worker pid %d %s (signal %d): restarting it", in->worker,
				  why, WTERMSIG(status));
		else
			moat_warn("inspector: worker pid %d %s (exit %d): restarting it", in->worker,
				  why, WEXITSTATUS(status));
	}
	in->worker = 0;
	in->restarts++;
	err = spawn_worker(in);
	if (err)
		moat_err("inspector: couldn't start the worker: %s", strerror(-err));
}

void insp_replace_worker(struct moatd_inspector *in)
{
	int err;

	if (in->sock >= 0)
		close(in->sock);
	in->sock = -1;
	if (in->worker > 0) {
		kill(in->worker, SIGKILL);
		waitpid(in->worker, NULL, 0);
	}
	in->worker = 0;
	err = spawn_worker(in);
	if (err)
		moat_err("inspector: couldn't start the worker: %s", strerror(-err));
	else
		moat_info("inspector: worker pid %d runs the new settings", (int)in->worker);
}

/* ---- records in, verdicts out ---- */

/*
 * A connection's slot. Connection ids carry the CPU in their low 8 bits
 * (bpf/inspect.bpf.c): conn % INSP_GAPS would be the CPU, so every
 * connection opened on one CPU shared a slot, and a second one shed
 * erased the first one's mark (its next record went on without "gap").
 */
static uint64_t *gap_slot(struct moatd_inspector *in, uint64_t conn)
{
	return &in->gaps[((conn >> 8) ^ conn) % INSP_GAPS];
}

static bool gap_take(struct moatd_inspector *in, uint64_t conn)
{
	uint64_t *g = gap_slot(in, conn);

	if (*g != conn)
		return false;
	*g = 0;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct moatd_inspector *in = ctx;
	const struct moat_insp_rec *r = data;
	size_t len;

	if (size < MOAT_INSP_REC_HDR || r->len > MOAT_INSP_CHUNK)
		return 0;
	len = MOAT_INSP_REC_HDR + r->len;
	if (gap_take(in, r->conn)) {
		/* The ring is mapped read-only here: the flag goes on a copy. */
		memcpy(&in->gap_rec, r, len);
		in->gap_rec.flags |= MOAT_INSP_F_GAP;
		r = &in->gap_rec;
	}
	if (in->sock < 0 || send(in->sock, r, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* The worker is behind or gone: this connection's stream has a
		 * hole; its next record says so and the worker gives it up. */
		if (r->type == MOAT_INSP_DATA) {
			*gap_slot(in, r->conn) = r->conn;
			in->requests[MOAT_INSP_SHED]++;
		}
	}
	return 0;
}

/* Reads every verdict waiting; false when the worker is gone. */
static bool drain_verdicts(struct moatd_inspector *in)
{
	struct moat_insp_verdict v;
	ssize_t n;

	for (;;) {
		n = recv(in->sock, &v, sizeof(v), MSG_DONTWAIT);
		if (n == sizeof(v)) {
			insp_on_verdict(in, &v);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		return false;	/* 0: closed; a short message: not our worker */
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Records are submitted without wake-ups (a wake-up costs nginx 4-7 µs a
 * read), so epoll never says the ring has data: it is consumed every
 * RING_POLL_MS, while waiting that long for verdicts.
 */
static void *run(void *arg)
{
	struct moatd_inspector *in = arg;
	uint64_t next_scan = now_ms() + RESCAN_MS, next_restart = 0, t;

	while (!in->stop) {
		struct pollfd pfd = { .fd = in->sock, .events = POLLIN };
		bool gone;

		if (in->sock < 0) {
			gone = true;
			usleep(RING_POLL_MS * 1000);
		} else {
			gone = poll(&pfd, 1, RING_POLL_MS) < 0 && errno != EINTR;
		}
		pthread_mutex_lock(&in->lock);	/* settings stay still (reload) */
		/* A reload may have replaced the worker while this thread polled. */
		if (pfd.fd != in->sock)
			gone = in->sock < 0;
		else if (!gone && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			gone = !drain_verdicts(in);
		t = now_ms();
		/* At most one start a second: a worker that cannot start must
		 * not take a core with it. */
		if (gone && !in->stop && t >= next_restart) {
			restart_worker(in, "exited");
			next_restart = t + 1000;
		}
		ring_buffer__consume(in->rb);
		if (t >= next_scan) {
			insp_rescan(in);
			next_scan = t + RESCAN_MS;
		}
		pthread_mutex_unlock(&in->lock);
	}
	return NULL;
}

/* ---- start, stop, counters ---- */

/* The probes, with detections going into the pinned drop-events ring. */
static int load(struct moatd_inspector *in)
{
	char path[PATH_MAX];
	int fd, err;

	in->skel = inspect_bpf__open();
	if (!in->skel)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", in->pin_dir, MOAT_PIN_EVENTS);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		/* Detections stay in the log; moatctl events will not show them. */
		moat_warn("inspector: %s: %s: detections will not show in moatctl events", path,
			  strerror(errno));
	} else {
		err = bpf_map__reuse_fd(in->skel->maps.drop_events, fd);
		close(fd);
		if (err)
			return err;
	}
	return inspect_bpf__load(in->skel) ? -errno : 0;
}

void moatd_inspector_counts(struct moatd_inspector *in, struct moat_insp_counts *c)
{
	uint64_t probe[MOAT_INSP_N_COUNTERS] = {};
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	memset(c, 0, sizeof(*c));
	if (!in)
		return;
	for (int i = 0; i < MOAT_INSP_N_RESULTS; i++)
		c->requests[i] = in->requests[i];
	for (int i = 0; i < MOAT_INSP_N_CATEGORIES; i++)
		c->detections[i] = in->detections[i];
	c->attached = in->attached;
	c->worker_restarts = in->restarts;
	for (int i = 0; i <= MOAT_INSP_N_LATENCY; i++)
		c->latency[i] = in->latency[i];
	c->latency_sum_ns = in->latency_sum_ns;
	c->events_lost = in->lost_local;
	v = ncpu > 0 ? calloc(ncpu, sizeof(*v)) : NULL;
	for (__u32 k = 0; v && k < MOAT_INSP_N_COUNTERS; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(in->skel->maps.insp_counters), &k, v))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++)
			probe[k] += v[cpu];
		c->events_lost += probe[k];
	}
	free(v);
}

/* Everything start took, in any state it left: probes, worker, ring, memory. */
static void release(struct moatd_inspector *in)
{
	insp_detach_all(in);
	if (in->sock >= 0)
		close(in->sock);
	if (in->worker > 0) {
		kill(in->worker, SIGKILL);
		waitpid(in->worker, NULL, 0);
	}
	ring_buffer__free(in->rb);
	inspect_bpf__destroy(in->skel);
	free(in->processes);
	free(in->exempt);
	free(in);
}

void moatd_inspector_stop(struct moatd_inspector *in)
{
	if (!in)
		return;
	in->stop = true;
	pthread_join(in->thread, NULL);
	release(in);
}

int moatd_inspector_start(struct moatd *d, struct moatd_inspector **out)
{
	const struct moat_config *cfg = &d->cfg;
	struct moatd_inspector *in = calloc(1, sizeof(*in));
	int err;

	*out = NULL;
	if (!in)
		return -ENOMEM;
	in->d = d;
	in->sock = -1;
	snprintf(in->pin_dir, sizeof(in->pin_dir), "%s", cfg->pin_dir);
	snprintf(in->state_dir, sizeof(in->state_dir), "%s", cfg->state_dir);
	pthread_mutex_init(&in->lock, NULL);
	err = insp_settings_take(in, cfg, NULL, NULL);
	if (err)
		goto fail;
	err = load(in);
	if (err) {
		moat_err("inspector: couldn't load its probes: %s", strerror(-err));
		goto fail;
	}
	in->rb = ring_buffer__new(bpf_map__fd(in->skel->maps.events), on_record, in, NULL);
	if (!in->rb) {
		err = -errno;
		moat_err("inspector: couldn't open the ring buffer: %s", strerror(-err));
		goto fail;
	}
	err = spawn_worker(in);
	if (err) {
		moat_err("inspector: couldn't start the worker: %s", strerror(-err));
		goto fail;
	}
	err = ring_buffer__add(in->rb, bpf_map__fd(in->skel->maps.proc_events),
			       insp_on_proc_event, in);
	if (err) {
		moat_err("inspector: couldn't open the process ring: %s", strerror(-err));
		goto fail;
	}
	err = insp_procs_start(in);
	if (err)
		goto fail;
	err = -pthread_create(&in->thread, NULL, run, in);
	if (err) {
		moat_err("inspector: couldn't start its thread: %s", strerror(-err));
		goto fail;
	}
	*out = in;
	return 0;
fail:
	release(in);
	return err;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * moatd's half of the inspector (SPEC §6): the probes of bpf/inspect.bpf.c
 * attached to the configured processes, the ring-buffer reader, the
 * socketpair to the worker (moat-inspect, which parses and evaluates), and
 * what a detection does: a JSON line, counters, a ban at XDP. Everything
 * runs on one thread of its own; the packet path never waits for it.
 *
 * Probe sites come from the library's ELF at start (see pick_sites()).
 * Processes are found by scanning /proc at start and every second after:
 * a new nginx, or workers replacing each other on 'nginx -s reload', are
 * attached within a second (their reads before that are not seen).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "moatd.h"
#include "inspect.skel.h"
#include "moat/inspect.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/state.h"
#include "lib/table.h"

#define MAX_PROCS	256
#define RESCAN_MS	1000
#define RING_POLL_MS	1	/* records are submitted without wake-ups */
#define GAPS		256	/* connections whose next record must say "gap" */

/* Where the probes go in the library, as file offsets. */
struct sites {
	size_t set_fd, free;
	size_t read;		/* the internal read both SSL_read and SSL_read_ex call; 0: none */
	size_t ssl_read, ssl_read_ex;	/* fallback, each single-stepped at entry */
};

struct proc {
	pid_t pid;
	struct bpf_link *links[6];
	bool seen;		/* in the last scan */
};

struct moatd_inspector {
	struct moatd *d;
	struct inspect_bpf *skel;
	struct ring_buffer *rb;
	struct sites sites;
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

	struct proc procs[MAX_PROCS];
	size_t n_procs;

	pid_t worker;
	int sock;
	uint64_t gaps[GAPS];	/* conn ids, 0 = free slot */

	pthread_t thread;
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

#define INSP_NAME(e, name) [e] = name,
static const char *const category_names[] = { MOAT_INSP_CATEGORIES(INSP_NAME) };
#undef INSP_NAME

/* ---- probe sites ---- */

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
static int pick_sites(const char *lib, struct sites *s)
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

/* ---- processes ---- */

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

static void detach(struct moatd_inspector *in, struct proc *p)
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

static int attach(struct moatd_inspector *in, pid_t pid, struct proc *p)
{
	typeof(in->skel->progs) *pr = &in->skel->progs;
	const struct sites *s = &in->sites;
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
static void rescan(struct moatd_inspector *in)
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
		struct proc *p = NULL;
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
		if (in->n_procs == MAX_PROCS) {
			moat_warn("inspector: more than %d processes to inspect; pid %ld is not",
				  MAX_PROCS, pid);
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

/* ---- records in, verdicts out ---- */

static bool gap_take(struct moatd_inspector *in, uint64_t conn)
{
	uint64_t *g = &in->gaps[conn % GAPS];

	if (*g != conn)
		return false;
	*g = 0;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct moatd_inspector *in = ctx;
	struct moat_insp_rec *r = data;
	size_t len;

	if (size < MOAT_INSP_REC_HDR || r->len > MOAT_INSP_CHUNK)
		return 0;
	len = MOAT_INSP_REC_HDR + r->len;
	if (gap_take(in, r->conn))
		r->flags |= MOAT_INSP_F_GAP;
	if (in->sock < 0 || send(in->sock, r, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* The worker is behind or gone: this connection's stream has a
		 * hole; its next record says so and the worker gives it up. */
		if (r->type == MOAT_INSP_DATA) {
			in->gaps[r->conn % GAPS] = r->conn;
			in->requests[MOAT_INSP_SHED]++;
		}
	}
	return 0;
}

static bool cidr_has(const struct moat_cidr *c, const struct moat_addr *a, bool v4)
{
	unsigned int bits = c->prefixlen;

	if ((c->family == AF_INET) != v4)
		return false;
	for (int i = 0; i < 4 && bits; i++) {
		uint32_t mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);

		if ((ntohl(a->a[i]) & mask) != (ntohl(c->addr.a[i]) & mask))
			return false;
		bits = bits >= 32 ? bits - 32 : 0;
	}
	return true;
}

/* Whether a is in the devops table in force (config and runtime entries), unexpired. */
static bool is_devops(const struct moat_pins *p, const struct moat_addr *a, bool v4)
{
	struct moat_table t = moat_pins_devops(p);
	struct moat_lpm_key k = { .prefixlen = 128, .addr = *a };
	struct moat_entry e;
	struct timespec now;
	uint64_t ns;

	clock_gettime(CLOCK_BOOTTIME, &now);
	ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	if (!bpf_map_lookup_elem(t.exact, a, &e) && (!e.expires_ns || e.expires_ns > ns))
		return true;
	if (!bpf_map_lookup_elem(t.prefix, &k, &e) && (!e.expires_ns || e.expires_ns > ns) &&
	    (!e.family || (e.family == MOAT_FAMILY_V4) == v4))
		return true;
	return false;
}

/* "banned", or why not. */
static const char *ban(struct moatd_inspector *in, const struct moat_addr *a, bool v4,
		       const char *client)
{
	struct moat_cidr c = { .family = v4 ? AF_INET : AF_INET6, .addr = *a, .prefixlen = 128 };
	struct moat_entry e = { .origin = MOAT_ORIGIN_INSPECTOR };
	struct moat_pins p;
	const char *what = "banned";
	int err;

	if (!in->ban_enabled)
		return "ban disabled";
	for (size_t i = 0; i < in->n_exempt; i++)
		if (cidr_has(&in->exempt[i], a, v4))
			return "exempt";
	if (moat_pins_open(in->pin_dir, &p))
		return "pins unavailable";
	if (is_devops(&p, a, v4)) {
		what = "devops";
		goto out;
	}
	snprintf(e.name, sizeof(e.name), "%s", client);
	e.expires_ns = moat_boot_ns_from_unix(time(NULL) + in->ban_ttl);
	if ((err = moat_pins_lock(&p))) {
		what = "pins locked";
		goto out;
	}
	err = moat_table_put(moat_pins_ban(&p), &c, &e);
	if (!err)
		err = moat_state_save(in->state_dir, moat_pins_devops(&p), moat_pins_ban(&p));
	moat_pins_unlock(&p);
	if (err) {
		moat_err("inspector: couldn't ban %s: %s", client, strerror(-err));
		what = "ban failed";
	}
out:
	moat_pins_close(&p);
	return what;
}

/* One JSON line: time, client, method, path, rule ids, category, action. */
static void log_detection(const struct moat_insp_verdict *v, const char *client, const char *action)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char when[32];

	moat_format_time(time(NULL), when, sizeof(when));
	for (uint32_t i = 0; i < v->n_rules && i < MOAT_INSP_MAX_RULES; i++)
		json_object_array_add(ids, json_object_new_int64(v->rules[i]));
	json_object_object_add(o, "event", json_object_new_string("detection"));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "client", json_object_new_string(client));
	json_object_object_add(o, "method", json_object_new_string(v->method));
	json_object_object_add(o, "path", json_object_new_string(v->path));
	json_object_object_add(o, "rules", ids);
	json_object_object_add(o, "category", json_object_new_string(
		v->category < MOAT_INSP_N_CATEGORIES ? category_names[v->category] : "other"));
	json_object_object_add(o, "action", json_object_new_string(action));
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* read_ns is the probe's bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
static void observe_latency(struct moatd_inspector *in, uint64_t read_ns)
{
	static const double le[] = MOAT_INSP_LATENCY_BOUNDS;
	struct timespec ts;
	uint64_t now, d;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	d = now > read_ns ? now - read_ns : 0;
	for (i = 0; i < MOAT_INSP_N_LATENCY && (double)d / 1e9 > le[i]; i++)
		;
	in->latency[i]++;
	in->latency_sum_ns += d;
}

static void on_verdict(struct moatd_inspector *in, struct moat_insp_verdict *v)
{
	struct in6_addr a;
	char client[INET6_ADDRSTRLEN];
	bool v4;

	if (v->result >= MOAT_INSP_N_RESULTS)
		return;
	in->requests[v->result]++;
	if (v->read_ns && v->result != MOAT_INSP_UNPARSED)
		observe_latency(in, v->read_ns);
	if (v->result != MOAT_INSP_DETECTED)
		return;
	if (v->category >= MOAT_INSP_N_CATEGORIES)
		v->category = MOAT_INSP_OTHER;
	in->detections[v->category]++;
	/* Whatever the worker wrote, these are strings from here on. */
	v->method[sizeof(v->method) - 1] = '\0';
	v->path[sizeof(v->path) - 1] = '\0';
	memcpy(&a, &v->client, sizeof(a));
	v4 = IN6_IS_ADDR_V4MAPPED(&a);
	if (v4)
		inet_ntop(AF_INET, &a.s6_addr[12], client, sizeof(client));
	else
		inet_ntop(AF_INET6, &a, client, sizeof(client));
	log_detection(v, client, ban(in, &v->client, v4, client));
}

/* Reads every verdict waiting; false when the worker is gone. */
static bool drain_verdicts(struct moatd_inspector *in)
{
	struct moat_insp_verdict v;
	ssize_t n;

	for (;;) {
		n = recv(in->sock, &v, sizeof(v), MSG_DONTWAIT);
		if (n == sizeof(v)) {
			on_verdict(in, &v);
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
	uint64_t next_scan = 0, next_restart = 0, t;

	while (!in->stop) {
		struct pollfd pfd = { .fd = in->sock, .events = POLLIN };
		bool gone;

		if (in->sock < 0) {
			gone = true;
			usleep(RING_POLL_MS * 1000);
		} else {
			gone = poll(&pfd, 1, RING_POLL_MS) < 0 && errno != EINTR;
			if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
				gone |= !drain_verdicts(in);
		}
		t = now_ms();
		/* At most one start a second: a worker that cannot start must
		 * not take a core with it. */
		if (gone && !in->stop && t >= next_restart) {
			restart_worker(in, "exited");
			next_restart = t + 1000;
		}
		ring_buffer__consume(in->rb);
		if (t >= next_scan) {
			rescan(in);
			next_scan = t + RESCAN_MS;
		}
	}
	return NULL;
}

/* ---- start, stop, counters ---- */

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

void moatd_inspector_stop(struct moatd_inspector *in)
{
	if (!in)
		return;
	in->stop = true;
	pthread_join(in->thread, NULL);
	for (size_t i = 0; i < in->n_procs; i++)
		detach(in, &in->procs[i]);
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
	snprintf(in->library, sizeof(in->library), "%s", cfg->inspector.library);
	snprintf(in->rules, sizeof(in->rules), "%s", cfg->inspector.crs_rules);
	snprintf(in->pin_dir, sizeof(in->pin_dir), "%s", cfg->pin_dir);
	snprintf(in->state_dir, sizeof(in->state_dir), "%s", cfg->state_dir);
	in->paranoia = cfg->inspector.paranoia;
	in->max_body = cfg->inspector.max_body;
	in->ban_enabled = cfg->inspector.ban_enabled;
	in->ban_ttl = cfg->inspector.ban_ttl;
	in->processes = calloc(cfg->inspector.n_processes + 1, sizeof(*in->processes));
	in->exempt = calloc(cfg->inspector.n_ban_exempt + 1, sizeof(*in->exempt));
	if (!in->processes || !in->exempt) {
		err = -ENOMEM;
		goto fail;
	}
	memcpy(in->processes, cfg->inspector.processes,
	       cfg->inspector.n_processes * sizeof(*in->processes));
	in->n_processes = cfg->inspector.n_processes;
	memcpy(in->exempt, cfg->inspector.ban_exempt,
	       cfg->inspector.n_ban_exempt * sizeof(*in->exempt));
	in->n_exempt = cfg->inspector.n_ban_exempt;

	err = pick_sites(in->library, &in->sites);
	if (err) {
		moat_err("inspector: %s: no SSL_set_fd/SSL_free/SSL_read to probe: %s", in->library,
			 strerror(-err));
		goto fail;
	}
	if (in->sites.read)
		moat_info("inspector: %s: reads probed at libssl's internal read (file offset "
			  "0x%zx), whose first instruction is emulated", in->library, in->sites.read);
	else
		moat_warn("inspector: %s: no cheap probe site found; probing SSL_read and "
			  "SSL_read_ex at entry, which the kernel single-steps (~11 µs a read)",
			  in->library);

	in->skel = inspect_bpf__open_and_load();
	if (!in->skel) {
		err = -errno;
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
	rescan(in);
	err = -pthread_create(&in->thread, NULL, run, in);
	if (err) {
		moat_err("inspector: couldn't start its thread: %s", strerror(-err));
		goto fail;
	}
	*out = in;
	return 0;
fail:
	for (size_t i = 0; i < in->n_procs; i++)
		detach(in, &in->procs[i]);
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
	return err;
}

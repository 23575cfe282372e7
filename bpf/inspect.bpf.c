// SPDX-License-Identifier: GPL-2.0
/*
 * The inspector's probes (SPEC §6): the bytes the configured processes read
 * through libssl, attributed to the client, into a ring buffer for moatd.
 *
 * Attached per process by moatd (user/moatd/inspect*.c), at sites chosen from
 * the library's ELF at load time:
 *   conn_open   SSL_set_fd(ssl, fd): a new connection on this SSL* (an SSL*
 *               is reused by later connections); the client's address is read
 *               from the socket behind fd, once.
 *   read_enter  the read function's entry: (ssl, buf, num, readbytes)
 *   read_ret_n  its return when it returns the byte count (SSL_read)
 *   read_ret_ex its return when it returns 1 and the count in *readbytes
 *               (SSL_read_ex, and libssl's internal read both call)
 *   conn_close  SSL_free(ssl)
 * and, attached once for the whole host:
 *   sys_read    tp_btf/sys_enter: a read/recvfrom made inside a probed read
 *               on an SSL* no SSL_set_fd was seen for (a connection accepted
 *               before moatd started) names the socket, hence the client;
 *               a socket read by a process to inspect not probed yet is
 *               counted as lost
 *   proc_*      tp_btf on exec, fork and exit: which processes carry the
 *               probes (moatd attaches to each one it is told of)
 * Nothing here decides anything: the worker parses, moatd bans.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "moat/shared.h"
#include "moat/inspect.h"

#define AF_INET_	2
#define AF_INET6_	10
#define S_IFMT_		0170000
#define S_IFSOCK_	0140000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_INSP_RING_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_INSP_N_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} insp_counters SEC(".maps");

/* Per connection: who the client is. Keyed by process and SSL*. */
struct conn_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct conn_val {
	__u64 conn;
	struct moat_addr client;
	__be16 port;
	__u16 gap;		/* a record was lost: the next one says so */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_val);
} insp_conns SEC(".maps");

/*
 * Processes to inspect: by exec of a configured executable, or fork of one.
 * MOAT_INSP_TRACKED until moatd has attached the probes (MOAT_INSP_PROBED).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_INSP_MAX_TRACKED);
	__type(key, __u32);
	__type(value, __u8);
} insp_tgids SEC(".maps");

/* A read in flight, by thread: what the return probe needs. */
struct read_args {
	__u64 ssl;
	__u64 buf;
	__u64 readbytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct read_args);
} reads SEC(".maps");

/* Connection ids: this CPU's number in the low bits, a per-CPU sequence above. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_seq SEC(".maps");

static __always_inline void count(__u32 which, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&insp_counters, &which);

	if (c)
		*c += n;
}

/* Fills client and port from the socket behind fd; false if fd is no inet socket. */
static __always_inline bool peer_of_fd(int fd, struct conn_val *v)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds;
	struct file *file;
	struct socket *sock;
	struct sock *sk;
	unsigned int max;
	__u16 family, mode;

	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return false;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return false;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT_) != S_IFSOCK_)
		return false;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET_) {
		v->client.a[0] = 0;
		v->client.a[1] = 0;
		v->client.a[2] = bpf_htonl(0xffff);
		v->client.a[3] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	} else if (family == AF_INET6_) {
		BPF_CORE_READ_INTO(&v->client, sk, __sk_common.skc_v6_daddr);
	} else {
		return false;
	}
	v->port = BPF_CORE_READ(sk, __sk_common.skc_dport);
	return true;
}

/* A header-only record (OPEN, CLOSE): the data part is not reserved. */
static __always_inline void emit(const struct conn_val *v, __u32 tgid, __u16 type)
{
	struct moat_insp_rec *r = bpf_ringbuf_reserve(&events, MOAT_INSP_REC_HDR, 0);

	if (!r) {
		count(MOAT_INSP_LOST_RING, 1);
		return;
	}
	r->conn = v->conn;
	r->tgid = tgid;
	r->type = type;
	r->len = 0;
	r->client = v->client;
	r->port = v->port;
	r->flags = 0;
	r->pad = 0;
	r->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* A new connection on k.ssl, on the socket fd; false if fd is no inet socket. */
static __always_inline bool open_conn(struct conn_key *k, int fd)
{
	struct conn_val v = {};
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&conn_seq, &zero);

	if (!seq || !peer_of_fd(fd, &v))
		return false;
	*seq += 1;
	v.conn = (*seq << 8) | bpf_get_smp_processor_id();
	bpf_map_update_elem(&insp_conns, k, &v, BPF_ANY);
	emit(&v, k->tgid, MOAT_INSP_OPEN);
	return true;
}

SEC("uprobe")
int BPF_KPROBE(conn_open, void *ssl, int fd)
{
	struct conn_key k = { .ssl = (__u64)ssl, .tgid = bpf_get_current_pid_tgid() >> 32 };

	/* Not a socket we can name: forget the SSL*, its reads count as unattributed. */
	if (!open_conn(&k, fd))
		bpf_map_delete_elem(&insp_conns, &k);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(conn_close, void *ssl)
{
	struct conn_key k = { .ssl = (__u64)ssl, .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct conn_val *v = bpf_map_lookup_elem(&insp_conns, &k);

	if (!v)
		return 0;
	emit(v, k.tgid, MOAT_INSP_CLOSE);
	bpf_map_delete_elem(&insp_conns, &k);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(read_enter, void *ssl, void *buf, __u64 num, void *readbytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct read_args a = { (__u64)ssl, (__u64)buf, (__u64)readbytes };

	bpf_map_update_elem(&reads, &id, &a, BPF_ANY);
	return 0;
}

/* Copies len bytes at buf into records of conn v. */
static __always_inline void copy_out(struct conn_val *v, __u32 tgid, __u64 buf, __u64 len)
{
	__u64 off = 0;

	for (int i = 0; i < MOAT_INSP_MAX_CHUNKS; i++) {
		struct moat_insp_rec *r;
		__u32 n;

		if (off >= len)
			return;
		n = len - off > MOAT_INSP_CHUNK ? MOAT_INSP_CHUNK : len - off;
		r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		if (!r) {
			count(MOAT_INSP_LOST_RING, 1);
			v->gap = 1;
			return;
		}
		/* n is 1..CHUNK; the mask restates it for the verifier. */
		n &= 2 * MOAT_INSP_CHUNK - 1;
		if (n > MOAT_INSP_CHUNK)
			n = MOAT_INSP_CHUNK;
		if (bpf_probe_read_user(r->data, n, (void *)(buf + off))) {
			bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
			count(MOAT_INSP_LOST_RING, 1);
			v->gap = 1;
			return;
		}
		r->conn = v->conn;
		r->tgid = tgid;
		r->type = MOAT_INSP_DATA;
		r->len = n;
		r->client = v->client;
		r->port = v->port;
		r->flags = v->gap ? MOAT_INSP_F_GAP : 0;
		r->pad = 0;
		r->ts_ns = bpf_ktime_get_ns();
		v->gap = 0;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		off += n;
	}
	count(MOAT_INSP_LOST_TOO_BIG, 1);
	v->gap = 1;
}

static __always_inline int read_done(int ret, bool count_in_ret)
{
	__u64 id = bpf_get_current_pid_tgid(), len = 0;
	struct read_args *a = bpf_map_lookup_elem(&reads, &id);
	struct conn_key k = { .tgid = id >> 32 };
	struct conn_val *v;

	if (!a)
		return 0;
	k.ssl = a->ssl;
	if (count_in_ret) {
		len = ret > 0 ? ret : 0;
	} else if (ret > 0 && a->readbytes) {
		bpf_probe_read_user(&len, sizeof(len), (void *)a->readbytes);
	}
	if (len) {
		v = bpf_map_lookup_elem(&insp_conns, &k);
		if (v)
			copy_out(v, k.tgid, a->buf, len);
		else
			count(MOAT_INSP_LOST_UNATTRIBUTED, 1);
	}
	bpf_map_delete_elem(&reads, &id);
	return 0;
}

/* Both return int: the upper half of rax is whatever was there before. */
SEC("uretprobe")
int BPF_KRETPROBE(read_ret_n, int ret)
{
	return read_done(ret, true);
}

SEC("uretprobe")
int BPF_KRETPROBE(read_ret_ex, int ret)
{
	return read_done(ret, false);
}

/*
 * The syscall path: a connection moatd saw no SSL_set_fd for (accepted
 * before it started) is named by the socket of the read the library makes
 * inside the probed read. Runs on every syscall of the host: the syscall
 * number is checked first, then the thread must be inside a probed read.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_READ_	0
#define NR_RECVFROM_	45
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ_	63
#define NR_RECVFROM_	207
#endif

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_read, struct pt_regs *regs, long id)
{
	__u64 pid_tgid;
	struct read_args *a;
	struct conn_key k;

	if (id != NR_READ_ && id != NR_RECVFROM_)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	a = bpf_map_lookup_elem(&reads, &pid_tgid);
	if (!a) {
		/*
		 * A process to inspect whose probes are not in yet (a worker
		 * forked a moment ago): what it reads from a client goes by
		 * unseen. Counted, not skipped silently.
		 */
		__u32 tgid = pid_tgid >> 32;
		__u8 *t = bpf_map_lookup_elem(&insp_tgids, &tgid);
		struct conn_val v = {};

		if (t && *t == MOAT_INSP_TRACKED && peer_of_fd((int)BPF_CORE_READ(regs, di), &v))
			count(MOAT_INSP_LOST_UNATTACHED, 1);
		return 0;
	}
	k.ssl = a->ssl;
	k.tgid = pid_tgid >> 32;
	k.pad = 0;
	if (bpf_map_lookup_elem(&insp_conns, &k))
		return 0;
	/* Not a socket (a BIO of another kind): the read stays unattributed. */
	open_conn(&k, (int)BPF_CORE_READ(regs, di));
	return 0;
}

/* ---- which processes carry the probes ---- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_INSP_PROC_RING_BYTES);
} proc_events SEC(".maps");

/* The configured executables, by device and inode (filled by moatd). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct moat_insp_exe);
	__type(value, __u8);
} insp_exes SEC(".maps");


static __always_inline void proc_event(__u32 tgid, __u32 type)
{
	struct moat_insp_proc_ev *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		count(MOAT_INSP_LOST_PROC, 1);
		return;
	}
	e->tgid = tgid;
	e->type = type;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
	struct moat_insp_exe k = {
		.ino = BPF_CORE_READ(ino, i_ino),
		.dev = BPF_CORE_READ(ino, i_sb, s_dev),
	};
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u8 one = MOAT_INSP_TRACKED;

	if (bpf_map_lookup_elem(&insp_exes, &k)) {
		bpf_map_update_elem(&insp_tgids, &tgid, &one, BPF_ANY);
		proc_event(tgid, MOAT_INSP_PROC_START);
	} else if (!bpf_map_delete_elem(&insp_tgids, &tgid)) {
		proc_event(tgid, MOAT_INSP_PROC_EXIT);	/* it runs something else now */
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = MOAT_INSP_TRACKED;

	/* A new thread is no new process; a process not forked from a tracked one is not ours. */
	if (ptgid == ctgid || !bpf_map_lookup_elem(&insp_tgids, &ptgid))
		return 0;
	if (bpf_map_update_elem(&insp_tgids, &ctgid, &one, BPF_ANY))
		count(MOAT_INSP_LOST_PROC, 1);
	proc_event(ctgid, MOAT_INSP_PROC_START);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* The last thread of a tracked process. */
	if (group_dead && !bpf_map_delete_elem(&insp_tgids, &tgid))
		proc_event(tgid, MOAT_INSP_PROC_EXIT);
	return 0;
}

/* ---- detections into moatctl events ---- */

/* moatd points this at the pinned drop-events ring (moat.bpf.c's) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_EVENTS_BYTES);
} drop_events SEC(".maps");

/* Run by moatd (BPF_PROG_TEST_RUN) with one struct moat_insp_event as context. */
SEC("syscall")
int detection_out(struct moat_insp_event *ev)
{
	struct moat_insp_event *r = bpf_ringbuf_reserve(&drop_events, sizeof(*r), 0);

	if (!r)
		return 1;	/* full: nobody reads it */
	/* The context cannot be a helper's memory argument: copy it. */
	if (bpf_probe_read_kernel(r, sizeof(*r), ev)) {
		bpf_ringbuf_discard(r, 0);
		return 1;
	}
	/* Detections are rare and a reader waits for them: wake it now. */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

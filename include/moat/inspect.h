/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the inspector's three pieces pass each other: the probes
 * (bpf/inspect.bpf.c) write struct moat_insp_rec into a ring buffer; moatd
 * forwards each record unchanged, as one datagram, to the worker
 * (user/inspect/) over a SOCK_SEQPACKET socketpair; the worker answers one
 * struct moat_insp_verdict per request. Defines and structs only, like
 * shared.h: it compiles after vmlinux.h and after <linux/types.h> alike.
 */
#ifndef MOAT_INSPECT_H
#define MOAT_INSPECT_H

/* Bytes of one read per record: larger reads are split over records. */
#define MOAT_INSP_CHUNK		4096
/* Records one read may fill (SSL_read returns at most a TLS record, 16 KiB;
 * a caller's larger buffer may take several): beyond, counted as lost. */
#define MOAT_INSP_MAX_CHUNKS	16
#define MOAT_INSP_RING_BYTES	(8U << 20)

enum moat_insp_rec_type {
	MOAT_INSP_OPEN = 1,	/* SSL_set_fd: a new connection on this SSL* */
	MOAT_INSP_DATA = 2,	/* bytes a read returned */
	MOAT_INSP_CLOSE = 3,	/* SSL_free */
};

/* rec.flags */
#define MOAT_INSP_F_GAP		1	/* records of this connection were lost before this one */

struct moat_insp_rec {
	__u64 conn;		/* connection id, unique while moatd's probes are loaded */
	__u32 tgid;
	__u16 type;		/* enum moat_insp_rec_type */
	__u16 len;		/* bytes of data that are valid */
	struct moat_addr client;	/* IPv4 as IPv4-mapped IPv6 */
	__be16 port;
	__u16 flags;
	__u32 pad;
	__u64 ts_ns;		/* CLOCK_MONOTONIC when the read returned */
	__u8 data[MOAT_INSP_CHUNK];
};
_Static_assert(sizeof(struct moat_insp_rec) == 48 + MOAT_INSP_CHUNK, "moat_insp_rec size");
#define MOAT_INSP_REC_HDR	48	/* the record without data */

/* Probe-side counters (per-CPU array, index = enum). */
enum moat_insp_counter {
	MOAT_INSP_LOST_RING = 0,	/* ring buffer full */
	MOAT_INSP_LOST_UNATTRIBUTED,	/* a read on an SSL* no SSL_set_fd was seen for */
	MOAT_INSP_LOST_TOO_BIG,		/* bytes beyond MOAT_INSP_MAX_CHUNKS records */
	MOAT_INSP_LOST_PROC,		/* process events (exec/fork/exit) the ring could not take */
	MOAT_INSP_LOST_UNATTACHED,	/* socket reads of a process to inspect before its probes were in */
	MOAT_INSP_N_COUNTERS,
};

/*
 * Which processes to inspect, tracked in the kernel (tp_btf on exec, fork,
 * exit): a process whose executable is one of inspector.processes (by
 * device and inode, filled by moatd), and every process forked from one.
 * Each change is one struct moat_insp_proc_ev in a ring of its own, so a
 * flood of read records never pushes one out.
 */
struct moat_insp_exe {
	__u64 ino;
	__u32 dev;		/* the kernel's dev_t: major << 20 | minor */
	__u32 pad;
};
_Static_assert(sizeof(struct moat_insp_exe) == 16, "moat_insp_exe size");

enum moat_insp_proc_type {
	MOAT_INSP_PROC_START = 1,	/* exec of a configured executable, or fork of a tracked process */
	MOAT_INSP_PROC_EXIT = 2,	/* a tracked process is gone (or exec'd something else) */
};

struct moat_insp_proc_ev {
	__u32 tgid;
	__u32 type;		/* enum moat_insp_proc_type */
};
_Static_assert(sizeof(struct moat_insp_proc_ev) == 8, "moat_insp_proc_ev size");
#define MOAT_INSP_MAX_TRACKED	4096
/* Values in the tracked-process map: found (exec, fork, /proc), then probed (moatd attached). */
#define MOAT_INSP_TRACKED	1
#define MOAT_INSP_PROBED	2
#define MOAT_INSP_PROC_RING_BYTES	(64U << 10)

/* Request results: X(enum, metric label). */
#define MOAT_INSP_RESULTS(X)		\
	X(MOAT_INSP_CLEAN, "clean")	\
	X(MOAT_INSP_DETECTED, "detected")	\
	X(MOAT_INSP_UNPARSED, "unparsed")	\
	X(MOAT_INSP_TRUNCATED, "truncated")	\
	X(MOAT_INSP_SHED, "shed")

/* Detection categories, from the CRS rule file a rule id belongs to. */
#define MOAT_INSP_CATEGORIES(X)		\
	X(MOAT_INSP_XSS, "xss")		\
	X(MOAT_INSP_RCE, "rce")		\
	X(MOAT_INSP_PHP, "php")		\
	X(MOAT_INSP_NODEJS, "nodejs")	\
	X(MOAT_INSP_OTHER, "other")

#define MOAT_INSP_ENUM(e, name) e,
enum moat_insp_result { MOAT_INSP_RESULTS(MOAT_INSP_ENUM) MOAT_INSP_N_RESULTS };
enum moat_insp_category { MOAT_INSP_CATEGORIES(MOAT_INSP_ENUM) MOAT_INSP_N_CATEGORIES };
#undef MOAT_INSP_ENUM

#define MOAT_INSP_MAX_RULES	8
#define MOAT_INSP_METHOD_LEN	16
#define MOAT_INSP_PATH_LEN	256

/* Worker -> moatd, one per request (or per connection given up as unparsed). */
struct moat_insp_verdict {
	__u64 conn;
	struct moat_addr client;
	__be16 port;
	__u16 pad;
	__u32 result;		/* enum moat_insp_result */
	__u32 category;		/* enum moat_insp_category, when detected */
	__u32 n_rules;
	__u32 rules[MOAT_INSP_MAX_RULES];	/* matched CRS rule ids */
	char method[MOAT_INSP_METHOD_LEN];
	char path[MOAT_INSP_PATH_LEN];	/* without the query; NUL-terminated */
	__u64 read_ns;		/* ts_ns of the record that completed the request; 0: none */
};
_Static_assert(sizeof(struct moat_insp_verdict) == 352, "moat_insp_verdict size");

/*
 * A detection as moatctl events shows it (moatd's log line, as a record):
 * moatd writes it into the pinned drop-events ring through a BPF "syscall"
 * program (user space cannot write a ring buffer), where moatctl tells it
 * from a struct moat_event by its size. No request value, header or body.
 */
#define MOAT_INSP_ACTION_LEN	24
struct moat_insp_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC, like moat_event's */
	__s64 time;		/* unix seconds, as in the log line */
	struct moat_addr client;	/* IPv4 as IPv4-mapped IPv6 */
	__u32 category;		/* enum moat_insp_category */
	__u32 n_rules;
	__u32 rules[MOAT_INSP_MAX_RULES];
	char method[MOAT_INSP_METHOD_LEN];
	char path[MOAT_INSP_PATH_LEN];
	char action[MOAT_INSP_ACTION_LEN];	/* banned, devops, exempt, ban disabled, ... */
};
_Static_assert(sizeof(struct moat_insp_event) == 368, "moat_insp_event size");

/* Detection latency (request read -> verdict in moatd) histogram bounds, seconds. */
#define MOAT_INSP_LATENCY_BOUNDS { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 }
#define MOAT_INSP_N_LATENCY	11

#endif /* MOAT_INSPECT_H */

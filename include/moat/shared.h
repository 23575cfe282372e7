/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that crosses the BPF <-> user space boundary: map keys and
 * values, limits, pin names. Defines and structs only; includes nothing, so
 * it compiles after vmlinux.h and after <linux/types.h> alike. Every key and
 * value has explicit padding and a size assertion.
 */
#ifndef MOAT_SHARED_H
#define MOAT_SHARED_H

#define MOAT_MAX_IFACES		16	/* interfaces one moatd enforces on */
#define MOAT_MAX_PORTS		8	/* per TLS and SSH port list */
#define MOAT_MAX_ETHERTYPES	8	/* pass_ethertypes */
#define MOAT_MAX_EXT_HDRS	6	/* IPv6 extension headers, more is malformed */
#define MOAT_IFNAMSIZ		16
#define MOAT_NAME_LEN		32	/* devops entry names */

/* Address tables (devops, deny, bans) hold up to this many entries each. */
#define MOAT_MAX_EXACT		(1U << 21)	/* /32 and /128 entries: hash */
#define MOAT_MAX_PREFIX		16384		/* shorter prefixes: LPM trie */
/*
 * The filter in front of each host hash: a blocked Bloom filter kept as
 * 64-bit words in an ARRAY map (lookups the verifier inlines; a BLOOM_FILTER
 * map costs a helper call per packet). An address sets MOAT_FILTER_HASHES
 * bits of one word, so a packet reads one word per table. The words are
 * split in regions of 2^10, 2^12 ... 2^18 words (region k: words 2^k to
 * 2^(k+1)-1); every address is set in every region, and the program reads
 * the smallest one that holds the table's hosts at about one a word (the
 * largest from 64k hosts on: 1M in it, 0.5% false "maybe"). A small table is
 * read from a small region, which stays in cache under a flood of random
 * sources. Positions: include/moat/hash.h. The first 1024 words, below
 * every region, are the prefix bitmap: bit i set when a prefix of the
 * table may hold sources whose first 16 bits (IPv4: of the IPv4 address)
 * are i; a source whose bit is clear skips the trie lookup.
 */
#define MOAT_FILTER_HASHES	3
#define MOAT_FILTER_BITS_LOG	25			/* 4 MiB of bits per table */
#define MOAT_FILTER_REGION_MIN	10
#define MOAT_FILTER_REGION_MAX	(MOAT_FILTER_BITS_LOG - 7)
#define MOAT_FILTER_PFX_WORDS	(65536 / 64)
#define MOAT_FILTER_WORDS	(1U << (MOAT_FILTER_BITS_LOG - 6))

/* Port classes, indexed by destination port in the program's .rodata. */
enum moat_port_class {
	MOAT_PORT_NONE = 0,
	MOAT_PORT_TLS = 1,
	MOAT_PORT_SSH = 2,
};

/* Where an allowlist/deny/ban entry came from (SPEC §4 listings). */
enum moat_origin {
	MOAT_ORIGIN_CONFIG = 0,
	MOAT_ORIGIN_RUNTIME = 1,
	MOAT_ORIGIN_INSPECTOR = 2,
};

/*
 * Addresses are IPv6 or IPv4-mapped IPv6 (::ffff:a.b.c.d), network order,
 * so one table serves both families.
 */
struct moat_addr {
	__u32 a[4];
};
_Static_assert(sizeof(struct moat_addr) == 16, "moat_addr size");

/* LPM key: prefixlen counts over the 128-bit (mapped) address. */
struct moat_lpm_key {
	__u32 prefixlen;
	struct moat_addr addr;
};
_Static_assert(sizeof(struct moat_lpm_key) == 20, "moat_lpm_key size");

/* Value of every address table. */
struct moat_entry {
	__u64 expires_ns;	/* CLOCK_BOOTTIME ns; 0 = never */
	__u32 origin;		/* enum moat_origin */
	__u8 family;		/* MOAT_FAMILY_*: an IPv6 prefix never matches IPv4 */
	__u8 prefixlen;		/* of the key (the trie answers longest matches) */
	__u16 _pad;
	char name[MOAT_NAME_LEN];
};
/* IPv4 is kept as IPv4-mapped IPv6, so ::/0 or ::/1 would cover it: the
 * entry says which family it was written for, and its own prefix length
 * (both 0: written before moat kept them; it matches as it always did). */
#define MOAT_FAMILY_V4		4
#define MOAT_FAMILY_V6		6
_Static_assert(sizeof(struct moat_entry) == 48, "moat_entry size");

/*
 * Entry counts of one address table (single-entry array beside it), so the
 * program skips empty tables: an empty deny or ban list must cost nothing on
 * the TLS path. Kept by whoever writes the table (moatd, moatctl), under the
 * pin-dir lock; a count may only be zero when the table is empty.
 */
struct moat_table_count {
	__u32 exact;		/* entries in the hash (hosts) */
	__u32 prefix;		/* entries in the LPM trie (networks) */
};
_Static_assert(sizeof(struct moat_table_count) == 8, "moat_table_count size");

/*
 * A flow in the direction the XDP program sees it: remote = the packet's
 * source. Used for flows the host opened (flows map, written on egress,
 * matched on ingress: replies) and for inbound connections whose first
 * payload is validated (conns, conn_pending, conn_syn).
 */
struct moat_flow_key {
	struct moat_addr remote;
	struct moat_addr local;
	__be16 remote_port;	/* ICMP echo: the identifier */
	__be16 local_port;	/* ICMP echo: the identifier */
	__u8 proto;
	__u8 _pad[3];
};
_Static_assert(sizeof(struct moat_flow_key) == 40, "moat_flow_key size");

struct moat_flow {
	__u64 last_seen_ns;	/* monotonic, tick resolution (bpf/lib/flows.h) */
	__u32 closing;		/* MOAT_FLOW_F_*: FIN seen, rcv_nxt known */
	__u32 rcv_nxt;		/* TCP: the host's last ACK, host order */
};
_Static_assert(sizeof(struct moat_flow) == 16, "moat_flow size");
#define MOAT_FLOW_F_CLOSING	1	/* short timeout from now on */
#define MOAT_FLOW_F_RCV_NXT	2	/* rcv_nxt holds the host's last ACK */

/* Idle timeouts of host-opened flows, seconds. */
#define MOAT_FLOW_TCP_TIMEOUT		7200
#define MOAT_FLOW_TCP_CLOSING_TIMEOUT	30
#define MOAT_FLOW_UDP_TIMEOUT		120
#define MOAT_FLOW_ICMP_TIMEOUT		30

/*
 * Inbound connections on validated ports (README "Connection state").
 * Every change is made on evidence a blind attacker cannot forge:
 *  - the host's SYN-ACK (egress) creates an AWAIT entry in conn_pending,
 *    an LRU hash: the client's ISN + 1 (first_seq) and the host's ISN;
 *  - a client ACK of the host's ISN moves it to conns, a hash nothing
 *    evicts: only a peer that saw the SYN-ACK gets there;
 *  - the first bytes of the payload (head) are judged in every segment
 *    that carries any of them, and kept; a later segment must agree;
 *  - the host's ACK covering the whole head (egress) makes it OK.
 * An entry goes when the host resets the connection, when the host's
 * SYN-ACK starts a new connection on the same tuple, or when moatd finds
 * no socket for it any more.
 */
enum moat_conn_state {
	MOAT_CONN_NONE = 0,
	MOAT_CONN_AWAIT = 1,	/* first payload not confirmed yet */
	MOAT_CONN_OK = 2,	/* the host took a head that is the port's protocol */
	MOAT_CONN_BAD = 3,	/* the client sent something else: drop the rest */
};
#define MOAT_CONN_HEAD		12	/* bytes kept; TLS needs 11, SSH 8 */
#define MOAT_CONN_F_SEEDED	1	/* predates moat: from the host's socket table */
#define MOAT_CONN_ACK_WINDOW	65536	/* client ACKs accepted above the host's ISN */
#define MOAT_MAX_CONNS		(1U << 20)	/* conns */
#define MOAT_MAX_PENDING	(1U << 18)	/* conn_pending */
#define MOAT_MAX_SYN_DATA	16384		/* conn_syn: TCP Fast Open payloads */

/*
 * The fast path of confirmed connections: conn_ok is an array of slots,
 * slot (h % MOAT_CONN_SLOTS) holding h, the keyed 64-bit hash of the
 * connection's tuple (moat_conn_hash). Confirming a connection writes it;
 * a data segment whose hash is in its slot passes without a conns lookup.
 * A slot overwritten by another connection only sends that one back to
 * conns. Cleared before its conns entry goes, and by the SYN-ACK of any new
 * connection on the tuple; a false match needs a 64-bit collision under a
 * secret key (meta.conn_key).
 */
#define MOAT_CONN_SLOTS		(1U << 20)

/* Value of conn_pending; conns holds it with a lock (moat_conn_locked). */
struct moat_conn {
	__u64 created_ns;	/* CLOCK_MONOTONIC: SYN-ACK, then entry into conns */
	__u8 state;		/* enum moat_conn_state */
	__u8 reason;		/* BAD: why */
	__u8 have;		/* bytes of head known */
	__u8 flags;		/* MOAT_CONN_F_* */
	__u32 first_seq;	/* the client's ISN + 1, host order */
	__u32 srv_isn;		/* the host's ISN, host order */
	__u8 head[MOAT_CONN_HEAD];
};
_Static_assert(sizeof(struct moat_conn) == 32, "moat_conn size");

#ifdef __bpf__
#define MOAT_SPIN_LOCK struct bpf_spin_lock
#else
#define MOAT_SPIN_LOCK __u32	/* same size; user space never takes it */
#endif

/* Value of conns: head and have change under the lock (an LRU hash, as
 * conn_pending is, cannot hold one). */
struct moat_conn_locked {
	struct moat_conn c;
	MOAT_SPIN_LOCK lock;
	__u32 _pad;
};
_Static_assert(sizeof(struct moat_conn_locked) == 40, "moat_conn_locked size");

/* A TCP Fast Open SYN's payload, until the host's SYN-ACK says what it took. */
struct moat_syn_data {
	__u32 isn;
	__u8 len;		/* bytes in head (at most MOAT_CONN_HEAD) */
	__u8 _pad;
	__u16 datalen;		/* bytes of payload the SYN carried */
	__u8 head[MOAT_CONN_HEAD];
};
_Static_assert(sizeof(struct moat_syn_data) == 20, "moat_syn_data size");

/* Pressure on the connection tables (per-CPU array, index = event). */
enum moat_conn_event {
	MOAT_CONN_EV_TABLE_FULL = 0,	/* conns full: the connection stays in conn_pending */
	MOAT_CONN_EV_UNTRACKED = 1,	/* payload with no state: dropped */
	MOAT_CONN_EV_NR
};

/* Local ports with host-opened flows, one bit each, TCP then UDP. */
#define MOAT_LOCAL_PORT_WORDS	(2 * 65536 / 64)

/*
 * moatctl check runs packets through the loaded program with this in the
 * XDP metadata area: the program then writes nothing (no counter, flow or
 * connection) and reports its verdict and reason here instead.
 */
#define MOAT_DRYRUN_MAGIC	0x4d4f4154	/* "MOAT" */
struct moat_dryrun {
	__u32 magic;
	__u8 verdict;
	__u8 reason;
	__u8 _pad[2];
};
_Static_assert(sizeof(struct moat_dryrun) == 8, "moat_dryrun size");

/* Drops per source, for moatctl top (per-CPU LRU: bounded, never on a metric). */
struct moat_src_stat {
	__u64 packets;
	__u64 bytes;
	__u32 last_reason;	/* enum moat_reason */
	__u32 _pad;
};
_Static_assert(sizeof(struct moat_src_stat) == 24, "moat_src_stat size");
#define MOAT_MAX_TOP_SOURCES	16384
#define MOAT_TOP_SAMPLE		16	/* one drop in 16 is attributed, weighted x16 */

/*
 * A sampled drop, for moatctl events (ring buffer; never logged or exported:
 * it names the source). Written on the same 1-in-MOAT_TOP_SAMPLE path as
 * top_sources.
 */
struct moat_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	struct moat_addr src;
	struct moat_addr dst;
	__u16 sport;		/* host order; 0 when not TCP/UDP */
	__u16 dport;
	__u8 proto;
	__u8 verdict;		/* enum moat_verdict */
	__u8 reason;		/* enum moat_reason */
	__u8 slot;		/* interface slot */
	__u32 len;		/* frame bytes */
	__u32 _pad;
};
_Static_assert(sizeof(struct moat_event) == 56, "moat_event size");
#define MOAT_EVENTS_BYTES	(256 * 1024)

/* Packet and byte counter; the stats map is per-CPU, summed in user space. */
struct moat_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct moat_counter) == 16, "moat_counter size");

/* Stats index: one counter per interface slot, verdict and reason. */
#define MOAT_STATS_IDX(slot, verdict, reason) \
	(((slot) * MOAT_NR_VERDICTS + (verdict)) * MOAT_NR_REASONS + (reason))
#define MOAT_STATS_ENTRIES (MOAT_MAX_IFACES * MOAT_NR_VERDICTS * MOAT_NR_REASONS)

enum moat_xdp_attach {
	MOAT_XDP_NATIVE = 1,
	MOAT_XDP_GENERIC = 2,
};

/* ifaces map: slot -> interface, so counters keep their name across restarts. */
struct moat_iface {
	__u32 ifindex;		/* 0 = slot free */
	__u32 xdp_mode;		/* enum moat_xdp_attach */
	char name[MOAT_IFNAMSIZ];
};
_Static_assert(sizeof(struct moat_iface) == 24, "moat_iface size");

/*
 * The pinned layout this build writes: bumped whenever a pinned map changes
 * type, key or value. A moatd that finds another one adopts what it can
 * (same layout, map by map) and replaces the rest, saying which (loader.c).
 * Layout 1 (before the stamp) kept a random 32-bit key here. Layout 3: the
 * filters set their bits in one word per address, and have twice the words
 * (a filter of layout 2 would answer wrongly: its size tells it apart).
 */
#define MOAT_LAYOUT		0x4d4c0003	/* "ML", 3 */

/* meta map (one entry): what moatctl needs to know about the running policy. */
struct moat_meta {
	__u64 generation;		/* bumped by every applied (re)load */
	__u64 loaded_at;		/* unix seconds of the last successful load */
	__u64 reload_failed_at;		/* unix seconds of the last refused reload; 0 = none since */
	__u32 mode;			/* 0 enforce, 1 monitor */
	__u32 layout;			/* MOAT_LAYOUT of the moat that last wrote the pins */
	__u64 confirm_deadline;		/* unix s: roll back then unless confirmed; 0 = none */
	__u32 moatd_pid;		/* the moatd in charge, for moatctl reload */
	__u32 reloads;			/* reload attempts answered, applied or not */
	char state_dir[192];
	__u64 confirm_within;		/* s: the deadline counts from the policy in force */
	__u64 conn_key;			/* key of the conn_ok slots; made once, kept (0: none) */
};
_Static_assert(sizeof(struct moat_meta) == 256, "moat_meta size");

/*
 * Pin names under pin_dir. "Persistent" maps outlive reloads and restarts;
 * "generation" maps are rebuilt by every (re)load and swapped in with the
 * program, so no packet meets a half-applied policy.
 */
#define MOAT_PIN_STATS		"stats"		/* persistent */
#define MOAT_PIN_IFACES		"ifaces"	/* persistent */
#define MOAT_PIN_META		"meta"		/* persistent */
#define MOAT_PIN_BAN		"ban"		/* persistent: exact */
#define MOAT_PIN_BAN_PFX	"ban_prefix"	/* persistent: LPM */
#define MOAT_PIN_BAN_CNT	"ban_count"	/* persistent */
#define MOAT_PIN_BAN_BLOOM	"ban_bloom"	/* persistent */
#define MOAT_PIN_FLOWS		"flows"		/* persistent */
#define MOAT_PIN_CONNS		"conns"		/* persistent */
#define MOAT_PIN_CONN_PENDING	"conn_pending"	/* persistent */
#define MOAT_PIN_CONN_SYN	"conn_syn"	/* persistent */
#define MOAT_PIN_CONN_EVENTS	"conn_events"	/* persistent */
#define MOAT_PIN_CONN_OK	"conn_ok"	/* persistent */
#define MOAT_PIN_LOCAL_PORTS	"local_ports"	/* persistent */
#define MOAT_PIN_TOP_SOURCES	"top_sources"	/* persistent */
#define MOAT_PIN_EVENTS		"events"	/* persistent */
#define MOAT_PIN_DEVOPS		"devops"	/* generation */
#define MOAT_PIN_DEVOPS_PFX	"devops_prefix"	/* generation */
#define MOAT_PIN_DEVOPS_CNT	"devops_count"	/* generation */
#define MOAT_PIN_DEVOPS_BLOOM	"devops_bloom"	/* generation */
#define MOAT_PIN_DENY		"deny"		/* generation */
#define MOAT_PIN_DENY_PFX	"deny_prefix"	/* generation */
#define MOAT_PIN_DENY_CNT	"deny_count"	/* generation */
#define MOAT_PIN_DENY_BLOOM	"deny_bloom"	/* generation */
#define MOAT_PIN_LINK_PREFIX	"link_"		/* + interface name: XDP bpf_link */
#define MOAT_PIN_TCX_PREFIX	"tcx_"		/* + interface name: TC egress bpf_link */

#endif /* MOAT_SHARED_H */

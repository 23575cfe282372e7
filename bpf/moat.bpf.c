// SPDX-License-Identifier: GPL-2.0
/*
 * moat's packet policy (SPEC §2): the XDP ingress judge and the TC egress
 * recorder of flows the host opens.
 *
 * One instance of this object is loaded per interface and per policy
 * generation: what never changes between reloads lives in .rodata, what
 * moatctl edits at run time lives in maps. A reload builds a whole new
 * generation (programs and the devops/deny tables) and swaps it in with one
 * bpf_link update per interface, so no packet meets a half-applied policy.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "moat/hash.h"
#include "lib/parse.h"

#define NSEC_PER_SEC	1000000000ULL
#define TC_ACT_UNSPEC_	(-1)	/* tcx: no opinion, next program or pass */
#define EEXIST_		17	/* errno: a map update found the key there */

/* Set by the loader before load (user/lib/loader.c). */
const volatile __u32 if_slot;
const volatile __u32 monitor;
const volatile __u32 icmp_echo;
const volatile __u32 tls_validate;
const volatile __u32 tls_min_version;	/* wire value, 0x0303 = TLS 1.2 */
const volatile __u32 tls_quic;
const volatile __u32 ssh_validate;
const volatile __u32 outbound_track;	/* record host-opened flows (egress) */
const volatile __u64 conn_key;		/* secret: conn_ok slots (shared.h) */
const volatile __u32 n_pass_ethertypes;
const volatile __u16 pass_ethertypes[MOAT_MAX_ETHERTYPES];	/* host order */
const volatile __u8 port_class[65536];				/* enum moat_port_class */

/* Persistent: survive reloads and restarts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct moat_counter);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct moat_iface);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct moat_meta);
} meta SEC(".maps");

/* Flows the host opened; max_entries set from outbound.max_flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);	/* per-CPU lists: no shared lock */
	__type(key, struct moat_flow_key);
	__type(value, struct moat_flow);
} flows SEC(".maps");

/* Inbound connections on validated ports (shared.h: struct moat_conn). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_conn_locked);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_PENDING);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_conn);
} conn_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_SYN_DATA);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_syn_data);
} conn_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_CONN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} conn_ok SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_CONN_EV_NR);
	__type(key, __u32);
	__type(value, __u64);
} conn_events SEC(".maps");

/*
 * Local ports that have (or had) a host-opened flow: a reply lookup in the
 * hash is only worth it for those. Bits are never cleared, so this only
 * ever errs towards one lookup too many.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_LOCAL_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} local_ports SEC(".maps");

/* Drops per source for moatctl top; only the drop path writes it, and only
 * one drop in MOAT_TOP_SAMPLE, so a flood costs a counter increment. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MOAT_MAX_TOP_SOURCES);
	__type(key, struct moat_addr);
	__type(value, struct moat_src_stat);
} top_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} top_sample SEC(".maps");

/* Sampled drops for moatctl events; full when nobody reads: nothing waits. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MOAT_EVENTS_BYTES);
} events SEC(".maps");

/*
 * An address table: exact hosts in a hash, networks in a small LPM trie, and
 * a Bloom filter of the hosts in front of the hash. With a million random
 * sources the hash costs two cache misses per packet; the filter (2 MiB of
 * bits, an ARRAY the verifier inlines: no helper call) answers "not there"
 * for most of them without touching it. Deleted hosts stay in the filter
 * until the table is rebuilt: a stale "maybe" only costs the hash lookup it
 * would have cost anyway.
 */
#define ADDR_TABLE(name)						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_HASH);			\
		__uint(max_entries, MOAT_MAX_EXACT);			\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__type(key, struct moat_addr);				\
		__type(value, struct moat_entry);			\
	} name SEC(".maps");						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);			\
		__uint(max_entries, MOAT_MAX_PREFIX);			\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__type(key, struct moat_lpm_key);			\
		__type(value, struct moat_entry);			\
	} name##_prefix SEC(".maps");					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, struct moat_table_count);			\
	} name##_count SEC(".maps");					\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, MOAT_FILTER_WORDS);			\
		__type(key, __u32);					\
		__type(value, __u64);					\
	} name##_bloom SEC(".maps")

ADDR_TABLE(ban);	/* persistent */
ADDR_TABLE(devops);	/* generation */
ADDR_TABLE(deny);	/* generation */

static __always_inline int entry_live(const struct moat_entry *e)
{
	return e->expires_ns == 0 || bpf_ktime_get_boot_ns() < e->expires_ns;
}

/* Whether the filter may hold src (0: it surely does not). */
static __always_inline int filter_maybe(void *bits, const struct moat_addr *src)
{
	__u64 h1, h2, *w;
	__u32 pos, idx;

	moat_filter_hash(src, &h1, &h2);
#pragma unroll
	for (__u32 i = 0; i < MOAT_FILTER_HASHES; i++) {
		pos = moat_filter_pos(h1, h2, i);
		idx = pos >> 6;
		w = bpf_map_lookup_elem(bits, &idx);
		if (!w || !(*w & (1ULL << (pos & 63))))
			return 0;
	}
	return 1;
}

/*
 * Whether src matches a live entry of a table. Empty halves are skipped
 * without touching the hash or the trie: the count lookup is an array
 * access the verifier inlines.
 */
static __always_inline int table_match(void *exact, void *bloom, void *prefix, void *count,
				       const struct moat_addr *src)
{
	struct moat_table_count *n;
	struct moat_entry *e;
	__u32 zero = 0;

	n = bpf_map_lookup_elem(count, &zero);
	if (!n)
		return 0;
	if (n->exact && filter_maybe(bloom, src)) {
		e = bpf_map_lookup_elem(exact, src);
		if (e && entry_live(e))
			return 1;
	}
	if (n->prefix) {
		struct moat_lpm_key key = { .prefixlen = 128, .addr = *src };

		e = bpf_map_lookup_elem(prefix, &key);
		if (e && entry_live(e))
			return 1;
	}
	return 0;
}

#define TABLE_MATCH(t, src) table_match(&t, &t##_bloom, &t##_prefix, &t##_count, src)

/* The dry-run record moatctl check put before the packet, or NULL. */
static __always_inline struct moat_dryrun *dryrun(struct xdp_md *ctx)
{
	struct moat_dryrun *d = (void *)(long)ctx->data_meta;

	if ((void *)(d + 1) > (void *)(long)ctx->data)
		return NULL;
	return d->magic == MOAT_DRYRUN_MAGIC ? d : NULL;
}

/*
 * One drop in MOAT_TOP_SAMPLE: its source into top_sources (weighted) and
 * the drop itself into the events ring. Out of line: it sits behind every
 * drop site, and only sampled drops pay for the call.
 */
static __noinline void sample_drop(const struct pkt *p, __u32 v, __u32 reason)
{
	struct moat_src_stat fresh = {
		.packets = MOAT_TOP_SAMPLE, .bytes = p->len * MOAT_TOP_SAMPLE, .last_reason = reason,
	};
	struct moat_event ev = {
		.src = p->src, .dst = p->dst, .sport = p->sport, .dport = p->dport,
		.proto = p->l4proto, .verdict = v, .reason = reason, .slot = if_slot, .len = p->len,
	};
	struct moat_src_stat *st;

	st = bpf_map_lookup_elem(&top_sources, &p->src);
	if (!st) {
		bpf_map_update_elem(&top_sources, &p->src, &fresh, BPF_ANY);
	} else {
		st->packets += MOAT_TOP_SAMPLE;
		st->bytes += p->len * MOAT_TOP_SAMPLE;
		st->last_reason = reason;
	}
	ev.ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
}

/* Counts the packet under its verdict and reason, returns the XDP action. */
static __always_inline int verdict(const struct pkt *p, __u32 v, __u32 reason)
{
	struct moat_counter *c;
	__u32 idx;

	if (v == MOAT_V_DROP && monitor)
		v = MOAT_V_MONITOR_DROP;
	if (p->dry) {
		p->dry->verdict = v;
		p->dry->reason = reason;
	} else {
		idx = MOAT_STATS_IDX(if_slot, v, reason);
		c = bpf_map_lookup_elem(&stats, &idx);
		if (c) {
			c->packets++;
			c->bytes += p->len;
		}
		/* a drop with a source address, one in MOAT_TOP_SAMPLE */
		if (v != MOAT_V_PASS && p->l3_end) {
			__u32 zero = 0, *n = bpf_map_lookup_elem(&top_sample, &zero);

			if (n && !(++*n % MOAT_TOP_SAMPLE))
				sample_drop(p, v, reason);
		}
	}
	return v == MOAT_V_DROP ? XDP_DROP : XDP_PASS;
}

/* Every function that judges has the packet as p. */
#define PASS(r) verdict(p, MOAT_V_PASS, MOAT_R_##r)
#define DROP(r) verdict(p, MOAT_V_DROP, MOAT_R_##r)

static __always_inline int ethertype_listed(__u16 proto)
{
#pragma unroll
	for (int i = 0; i < MOAT_MAX_ETHERTYPES; i++)
		if (i < n_pass_ethertypes && pass_ethertypes[i] == proto)
			return 1;
	return 0;
}

static __always_inline __u32 port_word(__u8 proto, __u16 port)
{
	return (proto == IPPROTO_UDP ? 65536 / 64 : 0) + port / 64;
}

static __always_inline int local_port_used(__u8 proto, __u16 port)
{
	__u32 w = port_word(proto, port);
	__u64 *bits = bpf_map_lookup_elem(&local_ports, &w);

	return bits && (*bits & (1ULL << (port % 64)));
}

static __always_inline __u64 flow_timeout(__u8 proto, const struct moat_flow *f)
{
	if (proto == IPPROTO_TCP)
		return (f->closing & MOAT_FLOW_F_CLOSING ? MOAT_FLOW_TCP_CLOSING_TIMEOUT : MOAT_FLOW_TCP_TIMEOUT) *
		       NSEC_PER_SEC;
	if (proto == IPPROTO_UDP)
		return MOAT_FLOW_UDP_TIMEOUT * NSEC_PER_SEC;
	return MOAT_FLOW_ICMP_TIMEOUT * NSEC_PER_SEC;
}

/*
 * 5. Whether the packet answers a flow the host opened: the exact reversed
 * 5-tuple was recorded on egress. A RST or FIN ends the flow only when it
 * sits exactly at the host's last ACK (RFC 5961: what the kernel itself
 * takes); a blind attacker cannot guess it. Not in a dry run.
 */
static __always_inline int is_reply(const struct pkt *p, __be16 sport, __be16 dport,
				    const struct tcphdr *th)
{
	struct moat_flow_key key = {
		.remote = p->src, .local = p->dst,
		.remote_port = sport, .local_port = dport, .proto = p->l4proto,
	};
	struct moat_flow *f = bpf_map_lookup_elem(&flows, &key);
	__u64 now;

	if (!f)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - f->last_seen_ns > flow_timeout(p->l4proto, f))
		return 0;
	if (p->dry || !th || !(th->rst || th->fin))
		return 1;
	if ((f->closing & MOAT_FLOW_F_RCV_NXT) && bpf_ntohl(th->seq) == f->rcv_nxt) {
		if (th->rst)
			bpf_map_delete_elem(&flows, &key);
		else
			f->closing |= MOAT_FLOW_F_CLOSING;
	}
	return 1;
}

/*
 * 7./8. with validation (README "Connection state"; shared.h moat_conn).
 * Every segment that carries any of the first head_len() bytes of a
 * connection is judged, alone and together with what is known of the
 * bytes before it; once the host has acknowledged them all, the rest of
 * the connection passes. Only the host's own packets (egress) create an
 * entry or confirm it, only a peer that saw the host's SYN-ACK can make
 * it unevictable or mark it BAD, and nothing on ingress deletes one.
 */
static __always_inline __u32 head_len(__u8 class)
{
	return class == MOAT_PORT_SSH ? 8 : 11;
}

/*
 * 0 when the n first bytes of a stream (n <= head_len) can start the
 * port's protocol, else the reason to drop. TLS: record type 22, version
 * 3.1-3.4, a length from the handshake header to 2^14; handshake type 1
 * (ClientHello) whose length fills the record at least (a ClientHello is
 * at least 41 bytes), client_version 3.x and >= tls.min_version. SSLv2
 * hellos are tls_version. SSH: "SSH-2.0-".
 */
static __always_inline int head_reason(const __u8 *b, __u32 n, __u8 class)
{
	__u32 rec, hs;

	if (class == MOAT_PORT_SSH) {
		const char ssh[8] = "SSH-2.0-";

#pragma unroll
		for (int i = 0; i < 8; i++)
			if (i < n && b[i] != (__u8)ssh[i])
				return MOAT_R_NOT_SSH;
		return 0;
	}
	if (n >= 3 && (b[0] & 0x80) && b[2] == 1)
		return MOAT_R_TLS_VERSION;	/* SSLv2: no TLS >= 1.0 client needs it */
	if (n >= 1 && b[0] != 22)
		return MOAT_R_NOT_TLS;
	if (n >= 2 && b[1] != 3)
		return MOAT_R_NOT_TLS;
	if (n >= 3 && (b[2] < 1 || b[2] > 4))
		return MOAT_R_NOT_TLS;
	if (n >= 4 && b[3] > 0x40)
		return MOAT_R_NOT_TLS;
	rec = (__u32)b[3] << 8 | b[4];
	if (n >= 5 && (rec < 4 || rec > 16384))
		return MOAT_R_NOT_TLS;
	if (n >= 6 && b[5] != 1)
		return MOAT_R_NOT_TLS;
	hs = (__u32)b[6] << 16 | (__u32)b[7] << 8 | b[8];
	if (n >= 9 && (hs < 41 || hs + 4 < rec))
		return MOAT_R_NOT_TLS;
	if (n >= 10 && b[9] != 3)
		return MOAT_R_NOT_TLS;
	if (n >= 11 && ((__u32)b[9] << 8 | b[10]) < tls_min_version)
		return MOAT_R_TLS_VERSION;
	return 0;
}

static __always_inline int not_proto(__u8 class)
{
	return class == MOAT_PORT_SSH ? MOAT_R_NOT_SSH : MOAT_R_NOT_TLS;
}

/* The conn_ok slot of a tuple whose keyed hash is h. */
static __always_inline __u64 *ok_slot(__u64 h)
{
	__u32 idx = h % MOAT_CONN_SLOTS;

	return bpf_map_lookup_elem(&conn_ok, &idx);
}

static __always_inline void conn_event(__u32 ev)
{
	__u64 *n = bpf_map_lookup_elem(&conn_events, &ev);

	if (n)
		++*n;
}

#define HEAD_BUF	32	/* stack copies of the head: room for the verifier's bounds */

/*
 * The part of a segment that falls in the head, copied to the same place
 * in buf (buf[0] = the byte at first_seq); returns how many bytes (0:
 * none) and where they start (*at). rel is the segment's sequence number
 * relative to first_seq.
 */
static __always_inline __u32 head_bytes(const struct pkt *p, __u32 payload_off, __u32 len,
					__s32 rel, __u32 need, __u8 *buf, __u32 *at)
{
	__u32 skip = rel < 0 ? -rel : 0, k;
	__u64 n, o;

	*at = rel < 0 ? 0 : rel;
	if (len <= skip || *at >= need)
		return 0;
	k = len - skip;
	if (k > need - *at)
		k = need - *at;
	if (!k || k > MOAT_CONN_HEAD)
		return 0;
	/* The bounds above, redone on the registers the helper gets: clang
	 * checks 32-bit copies otherwise, and the verifier wants these. */
	n = k - 1;
	o = *at;
	asm volatile("%[n] &= 15" : [n] "+r"(n));
	asm volatile("%[o] &= 15" : [o] "+r"(o));
	if (bpf_xdp_load_bytes(p->ctx, payload_off + skip, buf + o, n + 1))
		return 0;
	return k;
}

/* Whether the segment acknowledges the host's SYN-ACK: its sender saw it. */
static __always_inline int acks_host(const struct tcphdr *th, __u32 srv_isn)
{
	return th->ack && bpf_ntohl(th->ack_seq) - (srv_isn + 1) < MOAT_CONN_ACK_WINDOW;
}

/* A connection in conns: the head judged and kept under the entry's lock. */
static __always_inline int judge_tracked(const struct pkt *p, const struct tcphdr *th,
					 struct moat_conn_locked *e, __u32 payload_off, __u32 len,
					 __u8 class, __u32 pass_reason)
{
	__u8 seg[HEAD_BUF] = {}, cand[MOAT_CONN_HEAD] = {};
	__u32 need = head_len(class), at = 0, k, n, have;
	struct moat_conn *c = &e->c;
	int r = 0, keep;

	if (c->state == MOAT_CONN_OK)
		return verdict(p, MOAT_V_PASS, pass_reason);
	if (c->state == MOAT_CONN_BAD)
		return verdict(p, MOAT_V_DROP, c->reason);
	/* Urgent data: the kernel takes the marked byte out of the stream,
	 * so the application would not read what was judged. Before the head
	 * is confirmed, no segment may mark one. */
	if (th->urg)
		return verdict(p, MOAT_V_DROP, not_proto(class));
	k = head_bytes(p, payload_off, len, bpf_ntohl(th->seq) - c->first_seq, need, seg, &at);
	if (!k)		/* nothing of the head: before it (keep-alive) or after it */
		return verdict(p, MOAT_V_PASS, pass_reason);
	keep = !p->dry && acks_host(th, c->srv_isn);

	bpf_spin_lock(&e->lock);
	have = c->have;
	if (at > have || have > MOAT_CONN_HEAD) {
		r = -1;		/* a hole before it: it would be judged out of context */
		goto unlock;
	}
	n = at + k > have ? at + k : have;
#pragma unroll
	for (__u32 i = 0; i < MOAT_CONN_HEAD; i++) {
		int mine = i >= at && i < at + k;

		if (i < have) {
			cand[i] = c->head[i];
			if (mine && seg[i] != cand[i])
				r = -1;	/* disagrees with what the host may hold */
		} else {
			cand[i] = seg[i];
		}
	}
	if (r)
		goto unlock;
	r = head_reason(cand, n, class);
	if (keep) {
		if (r) {
			c->state = MOAT_CONN_BAD;
			c->reason = r;
		} else {
#pragma unroll
			for (__u32 i = 0; i < MOAT_CONN_HEAD; i++)
				c->head[i] = cand[i];
			c->have = n;
		}
	}
unlock:
	bpf_spin_unlock(&e->lock);
	if (r < 0)
		return verdict(p, MOAT_V_DROP, not_proto(class));
	return r ? verdict(p, MOAT_V_DROP, r) : verdict(p, MOAT_V_PASS, pass_reason);
}

/*
 * Judged on its own bytes: a connection in conn_pending (keeps nothing: the
 * head must come whole, from the first byte) or none at all (rel 0: the
 * segment is taken as the first one of a new connection).
 */
static __always_inline int judge_alone(const struct pkt *p, __u32 payload_off, __u32 len,
				       __s32 rel, int whole, __u8 class, __u32 pass_reason)
{
	__u8 seg[HEAD_BUF] = {};
	__u32 need = head_len(class), at = 0, k;
	int r;

	k = head_bytes(p, payload_off, len, rel, need, seg, &at);
	if (!k)
		return verdict(p, MOAT_V_PASS, pass_reason);
	if (at || (whole && k < need))
		return verdict(p, MOAT_V_DROP, not_proto(class));
	r = head_reason(seg, k, class);
	return r ? verdict(p, MOAT_V_DROP, r) : verdict(p, MOAT_V_PASS, pass_reason);
}

/*
 * A connection with no state that the host knows: its request socket (a
 * SYN-ACK whose entry a flood pushed out of conn_pending), a valid SYN
 * cookie (the host kept nothing), or an established socket that has taken
 * no byte yet (one that was mid-handshake when moat took over). The host's
 * own state says where the stream starts: an entry goes into conns, as if
 * the client's ACK had moved it from conn_pending. 1 when it did.
 */
static __always_inline int conn_from_host(const struct pkt *p, const struct tcphdr *th,
					  const struct moat_flow_key *key)
{
	struct moat_conn_locked fresh = { .c = { .state = MOAT_CONN_AWAIT } };
	struct bpf_sock_tuple t = {};
	struct tcp_request_sock *rsk;
	struct bpf_sock *skc;
	struct tcp_sock *tp;
	__u32 ack = bpf_ntohl(th->ack_seq), size;
	int found = 0;

	if (!th->ack || th->syn || th->rst || th->fin)
		return 0;
	if (p->v6) {
		__builtin_memcpy(t.ipv6.saddr, &p->src, 16);
		__builtin_memcpy(t.ipv6.daddr, &p->dst, 16);
		t.ipv6.sport = th->source;
		t.ipv6.dport = th->dest;
		size = sizeof(t.ipv6);
	} else {
		t.ipv4.saddr = p->src.a[3];
		t.ipv4.daddr = p->dst.a[3];
		t.ipv4.sport = th->source;
		t.ipv4.dport = th->dest;
		size = sizeof(t.ipv4);
	}
	skc = bpf_skc_lookup_tcp(p->ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!skc)
		return 0;
	if (skc->state == BPF_TCP_LISTEN) {
		/* The host answered with a SYN cookie: the ACK carries it.
		 * (Bounds again: the verifier does not tie p->l3 to p->v6.) */
		void *end = (void *)(long)((struct xdp_md *)p->ctx)->data_end;
		long bad = 1;

		if (p->v6 && p->l3 + sizeof(struct ipv6hdr) <= end &&
		    (void *)th + sizeof(*th) <= end)
			bad = bpf_tcp_raw_check_syncookie_ipv6(p->l3, (void *)th);
		else if (!p->v6 && p->l3 + sizeof(struct iphdr) <= end &&
			 (void *)th + sizeof(*th) <= end)
			bad = bpf_tcp_raw_check_syncookie_ipv4(p->l3, (void *)th);
		if (!bad) {
			fresh.c.first_seq = bpf_ntohl(th->seq);
			fresh.c.srv_isn = ack - 1;
			found = 1;
		}
	} else if (skc->state == BPF_TCP_NEW_SYN_RECV) {
		rsk = bpf_skc_to_tcp_request_sock(skc);
		if (rsk && ack == rsk->snt_isn + 1) {
			fresh.c.first_seq = rsk->rcv_isn + 1;
			fresh.c.srv_isn = rsk->snt_isn;
			found = 1;
		}
	} else {
		tp = bpf_skc_to_tcp_sock(skc);
		if (tp && tp->bytes_received == 0) {
			fresh.c.first_seq = tp->rcv_nxt;
			fresh.c.srv_isn = tp->snd_una - 1;
			found = 1;
		}
	}
	bpf_sk_release(skc);
	if (!found)
		return 0;
	fresh.c.created_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&conns, key, &fresh, BPF_NOEXIST)) {
		conn_event(MOAT_CONN_EV_TABLE_FULL);
		return 0;
	}
	return 1;
}

static __always_inline int judge_conn(const struct pkt *p, const struct tcphdr *th,
				      void *payload, __u8 class, __u32 pass_reason)
{
	struct moat_flow_key key = {
		.remote = p->src, .local = p->dst,
		.remote_port = th->source, .local_port = th->dest, .proto = IPPROTO_TCP,
	};
	__u32 len = p->l3_end - payload, off = payload - p->data;
	struct moat_conn_locked *e, moved = {};
	struct moat_conn *pc;
	__u64 h, *ok;
	int r;

	if (th->syn && !th->ack) {
		/* Whatever state the tuple has, the host decides what a SYN
		 * means (a challenge ACK, or a SYN-ACK for a new connection),
		 * and its answer is what changes the state. With TCP Fast Open
		 * the SYN's own payload is the first: judged, and kept aside
		 * until the SYN-ACK says whether the host took it. */
		struct moat_syn_data sd = { .isn = bpf_ntohl(th->seq), .datalen = len };
		__u8 seg[HEAD_BUF] = {};
		__u32 at;

		if (!len)
			return verdict(p, MOAT_V_PASS, pass_reason);
		sd.len = head_bytes(p, off, len, 0, head_len(class), seg, &at);
		__builtin_memcpy(sd.head, seg, sizeof(sd.head));
		r = head_reason(seg, sd.len, class);
		if (r)
			return verdict(p, MOAT_V_DROP, r);
		if (!p->dry && sd.len)
			bpf_map_update_elem(&conn_syn, &key, &sd, BPF_ANY);
		return verdict(p, MOAT_V_PASS, pass_reason);
	}

	/* Confirmed: the fast path (shared.h: conn_ok). */
	h = moat_conn_hash(conn_key, &key);
	ok = ok_slot(h);
	if (ok && *ok == h)
		return verdict(p, MOAT_V_PASS, pass_reason);

	e = bpf_map_lookup_elem(&conns, &key);
	if (e)
		return judge_tracked(p, th, e, off, len, class, pass_reason);

	pc = bpf_map_lookup_elem(&conn_pending, &key);
	if (pc) {
		__s32 rel = bpf_ntohl(th->seq) - pc->first_seq;

		if (pc->state == MOAT_CONN_OK)
			return verdict(p, MOAT_V_PASS, pass_reason);
		if (th->urg)	/* see judge_tracked */
			return verdict(p, MOAT_V_DROP, not_proto(class));
		/* Only the exact ACK the host's request socket wants moves it:
		 * one the kernel refuses is answered with a RST. */
		if (p->dry || !th->ack || bpf_ntohl(th->ack_seq) != pc->srv_isn + 1)
			return judge_alone(p, off, len, rel, 1, class, pass_reason);
		/* The peer saw the host's SYN-ACK: a real connection, out of
		 * reach of eviction from now on. */
		moved.c = *pc;
		moved.c.created_ns = bpf_ktime_get_ns();
		r = bpf_map_update_elem(&conns, &key, &moved, BPF_NOEXIST);
		if (r && r != -EEXIST_) {	/* another CPU moved it */
			conn_event(MOAT_CONN_EV_TABLE_FULL);
			return judge_alone(p, off, len, rel, 1, class, pass_reason);
		}
		bpf_map_delete_elem(&conn_pending, &key);
		e = bpf_map_lookup_elem(&conns, &key);
		if (!e)
			return verdict(p, MOAT_V_DROP, not_proto(class));
		return judge_tracked(p, th, e, off, len, class, pass_reason);
	}

	/*
	 * No state: a connection moat never saw the host accept (those that
	 * predate moat were seeded into conns), unless the host itself knows
	 * it (conn_from_host). Without its first sequence number, its bytes
	 * cannot be judged where the kernel will put them: it fails closed,
	 * whatever it carries. moatctl check asks what the first bytes of a
	 * new connection would get: judged from the start.
	 */
	if (p->dry)
		return judge_alone(p, off, len, 0, 0, class, pass_reason);
	if (conn_from_host(p, th, &key)) {
		e = bpf_map_lookup_elem(&conns, &key);
		if (e)
			return judge_tracked(p, th, e, off, len, class, pass_reason);
	}
	if (!len && !th->urg)
		return verdict(p, MOAT_V_PASS, pass_reason);
	conn_event(MOAT_CONN_EV_UNTRACKED);
	return verdict(p, MOAT_V_DROP, not_proto(class));
}

static __always_inline int judge_icmp(struct cursor *c, struct pkt *p)
{
	struct icmphdr *ih = parse_icmp(c);

	if (!ih || c->pos > p->l3_end)
		return DROP(MALFORMED);
	/* 5. echo replies to the host's own pings: keyed by identifier */
	if ((!p->v6 && ih->type == 0) || (p->v6 && ih->type == 129)) {
		if (is_reply(p, ih->un.echo.id, ih->un.echo.id, NULL))
			return PASS(REPLY);
		return DROP(ICMP);
	}
	if (!p->v6) {
		switch (ih->type) {
		case 3:		/* destination unreachable, incl. frag needed (PMTUD) */
		case 11:	/* time exceeded */
		case 12:	/* parameter problem */
			return PASS(ICMP);
		case 8:		/* echo request */
			return icmp_echo ? PASS(ICMP) : DROP(ICMP);
		}
		return DROP(ICMP);
	}
	switch (ih->type) {
	case 1 ... 4:		/* unreachable, packet too big (PMTUD), time, param */
		return PASS(ICMP);
	case 128:		/* echo request */
		return icmp_echo ? PASS(ICMP) : DROP(ICMP);
	case 133 ... 137:	/* RS, RA, NS, NA, redirect: on-link only */
		if (p->hop_limit == 255)
			return PASS(NDP);
		return DROP(ICMP);
	}
	return DROP(ICMP);
}

SEC("xdp")
int moat_xdp(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct pkt pk = {}, *p = &pk;
	struct tcphdr *th;
	struct udphdr *uh;
	int proto;
	__u8 class;

	p->dry = dryrun(ctx);
	p->ctx = ctx;
	p->data = c.pos;
	p->len = c.end - c.pos;

	/* 1. frames */
	proto = parse_eth(&c);
	if (proto < 0)
		return DROP(MALFORMED);
	if (proto == ETH_P_ARP)
		return PASS(ARP);

	/* 2. IP */
	if (proto == ETH_P_IP)
		proto = parse_ipv4(&c, p);
	else if (proto == ETH_P_IPV6)
		proto = parse_ipv6(&c, p);
	else
		return ethertype_listed(proto) ? PASS(ETHERTYPE) : DROP(ETHERTYPE);
	if (proto < 0)
		return DROP(MALFORMED);

	/* 3. deny and bans, before anything can pass */
	if (TABLE_MATCH(deny, &p->src))
		return DROP(DENIED);
	if (TABLE_MATCH(ban, &p->src))
		return DROP(BANNED);

	/* 4. fragments: only the first carries the L4 header we judge */
	if (p->nonfirst_frag)
		return DROP(FRAGMENT);

	/* 5. replies and 6. ICMP */
	if ((!p->v6 && proto == IPPROTO_ICMP) || (p->v6 && proto == IPPROTO_ICMPV6_))
		return judge_icmp(&c, p);

	if (proto == IPPROTO_TCP) {
		th = parse_tcp(&c);
		/* Bounds come from the frame (the verifier tracks those); a
		 * header running into L2 padding is still malformed. */
		if (!th || c.pos > p->l3_end)
			return DROP(MALFORMED);
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		if (local_port_used(IPPROTO_TCP, bpf_ntohs(th->dest)) &&
		    is_reply(p, th->source, th->dest, th))
			return PASS(REPLY);

		/* 7. TLS, 8. SSH, 9. the rest */
		class = port_class[bpf_ntohs(th->dest)];
		if (class == MOAT_PORT_TLS)
			return tls_validate ? judge_conn(p, th, c.pos, class, MOAT_R_TLS)
					    : PASS(TLS);
		if (class == MOAT_PORT_SSH) {
			if (!TABLE_MATCH(devops, &p->src))
				return DROP(SSH_SOURCE);
			return ssh_validate ? judge_conn(p, th, c.pos, class, MOAT_R_SSH)
					    : PASS(SSH);
		}
		return DROP(PORT);
	}
	if (proto == IPPROTO_UDP) {
		uh = parse_udp(&c);
		if (!uh || c.pos > p->l3_end)
			return DROP(MALFORMED);
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		if (local_port_used(IPPROTO_UDP, bpf_ntohs(uh->dest)) &&
		    is_reply(p, uh->source, uh->dest, NULL))
			return PASS(REPLY);
		if (port_class[bpf_ntohs(uh->dest)] == MOAT_PORT_TLS && tls_quic) {
			__u8 *b = c.pos;

			/* QUIC long header: header form and fixed bits set. */
			if ((void *)(b + 1) <= c.end && c.pos < p->l3_end && (b[0] & 0xc0) == 0xc0)
				return PASS(TLS);
			return DROP(NOT_TLS);
		}
	}
	return DROP(PORT);
}

/*
 * Egress, inbound connections on validated ports (judge_conn): the host's
 * SYN-ACK starts a connection's state, its ACK of the whole head confirms
 * it, its RST ends it. These are the host's own packets: no one else can
 * make them.
 */
static __always_inline void track_inbound(const struct pkt *p, const struct tcphdr *th,
					  __u8 class)
{
	struct moat_flow_key key = {
		.remote = p->dst, .local = p->src,
		.remote_port = th->dest, .local_port = th->source, .proto = IPPROTO_TCP,
	};
	__u32 seq = bpf_ntohl(th->seq), ack = bpf_ntohl(th->ack_seq), need = head_len(class);
	struct moat_conn fresh = { .state = MOAT_CONN_AWAIT };
	__u64 h = moat_conn_hash(conn_key, &key), *ok = ok_slot(h);
	struct moat_conn_locked *e;
	struct moat_syn_data *sd;
	struct moat_conn *pc;
	int confirmed = 0;

	if (th->syn) {
		if (!th->ack)
			return;
		pc = bpf_map_lookup_elem(&conn_pending, &key);
		if (pc && pc->srv_isn == seq)
			return;		/* a retransmission: same connection */
		e = bpf_map_lookup_elem(&conns, &key);
		if (e && e->c.srv_isn == seq)
			return;
		/* The host takes a new connection on this tuple (an old one
		 * is over): judged afresh. */
		if (ok && *ok == h)
			*ok = 0;
		if (e)
			bpf_map_delete_elem(&conns, &key);
		fresh.created_ns = bpf_ktime_get_ns();
		fresh.first_seq = ack;
		fresh.srv_isn = seq;
		sd = bpf_map_lookup_elem(&conn_syn, &key);
		if (sd) {
			/* A Fast Open SYN: its payload starts the stream whether
			 * the host took it (ack past it) or not (sent again). */
			if (ack == sd->isn + 1 || ack == sd->isn + 1 + sd->datalen) {
				fresh.first_seq = sd->isn + 1;
				__builtin_memcpy(fresh.head, sd->head, sizeof(fresh.head));
				fresh.have = sd->len;
				if (fresh.have >= need && ack - fresh.first_seq >= need) {
					fresh.state = MOAT_CONN_OK;
					confirmed = 1;
				}
			}
			bpf_map_delete_elem(&conn_syn, &key);
		}
		bpf_map_update_elem(&conn_pending, &key, &fresh, BPF_ANY);
		if (confirmed && ok)
			*ok = h;
		return;
	}
	/* Nothing ends here: a host RST may answer a packet the kernel
	 * refused (a bad ACK in SYN_RECV) while the connection lives on.
	 * moatd's sweep removes entries whose socket is gone; the SYN-ACK of
	 * a new connection on the tuple resets them. */
	if (th->rst || !th->ack || (ok && *ok == h))
		return;		/* confirmed already: nothing to learn */
	e = bpf_map_lookup_elem(&conns, &key);
	if (e) {
		if (e->c.state == MOAT_CONN_AWAIT && (__s32)(ack - (e->c.first_seq + need)) >= 0) {
			bpf_spin_lock(&e->lock);
			if (e->c.state == MOAT_CONN_AWAIT && e->c.have >= need) {
				e->c.state = MOAT_CONN_OK;
				confirmed = 1;
			}
			bpf_spin_unlock(&e->lock);
		}
	} else {
		/* conns was full: the head was judged whole in every segment. */
		pc = bpf_map_lookup_elem(&conn_pending, &key);
		if (pc && pc->state == MOAT_CONN_AWAIT &&
		    (__s32)(ack - (pc->first_seq + need)) >= 0) {
			pc->state = MOAT_CONN_OK;
			confirmed = 1;
		}
	}
	if (confirmed && ok)
		*ok = h;
}

static __always_inline int validated(__u8 class)
{
	return (class == MOAT_PORT_TLS && tls_validate) || (class == MOAT_PORT_SSH && ssh_validate);
}

/*
 * Egress: record the flows the host opens, so their replies pass. Only a
 * TCP SYN opens a TCP flow (answers to inbound connections open nothing);
 * any UDP datagram and ICMP echo request opens or refreshes one. The
 * host's answers on validated ports go to track_inbound.
 */
SEC("tc")
int moat_egress(struct __sk_buff *skb)
{
	struct cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	struct moat_flow_key key = {};
	struct moat_flow fl = {}, *f;
	struct pkt p = {};
	struct tcphdr *th = NULL;
	struct udphdr *uh;
	struct icmphdr *ih;
	int proto, opens = 0, fin = 0, rst = 0;
	__u16 lport = 0;
	__u8 class;

	proto = parse_eth(&c);
	if (proto == ETH_P_IP)
		proto = parse_ipv4(&c, &p);
	else if (proto == ETH_P_IPV6)
		proto = parse_ipv6(&c, &p);
	else
		return TC_ACT_UNSPEC_;
	if (proto < 0 || p.nonfirst_frag)
		return TC_ACT_UNSPEC_;

	/* Outbound: local = the packet's source. */
	key.remote = p.dst;
	key.local = p.src;
	key.proto = proto;
	if (proto == IPPROTO_TCP) {
		th = parse_tcp(&c);
		if (!th)
			return TC_ACT_UNSPEC_;
		class = port_class[bpf_ntohs(th->source)];
		if (class != MOAT_PORT_NONE && validated(class))
			track_inbound(&p, th, class);
		key.remote_port = th->dest;
		key.local_port = th->source;
		lport = bpf_ntohs(th->source);
		opens = th->syn && !th->ack;
		fin = th->fin;
		rst = th->rst;
	} else if (proto == IPPROTO_UDP) {
		uh = parse_udp(&c);
		if (!uh)
			return TC_ACT_UNSPEC_;
		key.remote_port = uh->dest;
		key.local_port = uh->source;
		lport = bpf_ntohs(uh->source);
		opens = 1;
	} else if ((!p.v6 && proto == IPPROTO_ICMP) || (p.v6 && proto == IPPROTO_ICMPV6_)) {
		ih = parse_icmp(&c);
		if (!ih || ih->type != (p.v6 ? 128 : 8))
			return TC_ACT_UNSPEC_;
		key.remote_port = key.local_port = ih->un.echo.id;
		opens = 1;
	} else {
		return TC_ACT_UNSPEC_;
	}
	if (!outbound_track)
		return TC_ACT_UNSPEC_;

	f = bpf_map_lookup_elem(&flows, &key);
	if (rst) {
		if (f)
			bpf_map_delete_elem(&flows, &key);
		return TC_ACT_UNSPEC_;
	}
	if (f) {
		f->last_seen_ns = bpf_ktime_get_ns();
		/* Where an in-window RST or FIN from the peer must sit. */
		if (th && th->ack && f->rcv_nxt != bpf_ntohl(th->ack_seq)) {
			f->rcv_nxt = bpf_ntohl(th->ack_seq);
			f->closing |= MOAT_FLOW_F_RCV_NXT;
		}
		if (fin && !(f->closing & MOAT_FLOW_F_CLOSING))
			f->closing |= MOAT_FLOW_F_CLOSING;
		return TC_ACT_UNSPEC_;
	}
	if (!opens)
		return TC_ACT_UNSPEC_;
	fl.last_seen_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&flows, &key, &fl, BPF_ANY);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return TC_ACT_UNSPEC_;

	__u32 w = port_word(proto, lport);
	__u64 *bits = bpf_map_lookup_elem(&local_ports, &w);

	if (bits && !(*bits & (1ULL << (lport % 64))))
		__sync_fetch_and_or(bits, 1ULL << (lport % 64));
	return TC_ACT_UNSPEC_;
}

char LICENSE[] SEC("license") = "GPL";

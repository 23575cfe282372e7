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
#include "lib/parse.h"

#define NSEC_PER_SEC	1000000000ULL
#define TC_ACT_UNSPEC_	(-1)	/* tcx: no opinion, next program or pass */

/* Set by the loader before load (user/lib/loader.c). */
const volatile __u32 if_slot;
const volatile __u32 monitor;
const volatile __u32 icmp_echo;
const volatile __u32 tls_validate;
const volatile __u32 tls_min_version;	/* wire value, 0x0303 = TLS 1.2 */
const volatile __u32 tls_quic;
const volatile __u32 ssh_validate;
const volatile __u64 conn_seed;		/* secret: colliding on purpose is guesswork */
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

/* Inbound connections on validated ports (shared.h: MOAT_CONN_WORD). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_CONN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} conns SEC(".maps");

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
 * sources the hash costs two cache misses per packet; the filter (1 MiB of
 * bits) answers "not there" for most of them without touching it. Deleted
 * hosts stay in the filter until the table is rebuilt: a stale "maybe"
 * only costs the hash lookup it would have cost anyway.
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
		__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);		\
		__uint(max_entries, MOAT_MAX_EXACT);			\
		__uint(map_extra, MOAT_BLOOM_HASHES);			\
		__type(value, struct moat_addr);			\
	} name##_bloom SEC(".maps")

ADDR_TABLE(ban);	/* persistent */
ADDR_TABLE(devops);	/* generation */
ADDR_TABLE(deny);	/* generation */

static __always_inline int entry_live(const struct moat_entry *e)
{
	return e->expires_ns == 0 || bpf_ktime_get_boot_ns() < e->expires_ns;
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
	if (n->exact && bpf_map_peek_elem(bloom, (void *)src) == 0) {
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
		return (f->closing ? MOAT_FLOW_TCP_CLOSING_TIMEOUT : MOAT_FLOW_TCP_TIMEOUT) *
		       NSEC_PER_SEC;
	if (proto == IPPROTO_UDP)
		return MOAT_FLOW_UDP_TIMEOUT * NSEC_PER_SEC;
	return MOAT_FLOW_ICMP_TIMEOUT * NSEC_PER_SEC;
}

/*
 * 5. Whether the packet answers a flow the host opened: the exact reversed
 * 5-tuple was recorded on egress. fin/rst end the flow (not in a dry run).
 */
static __always_inline int is_reply(const struct pkt *p, __be16 sport,
				    __be16 dport, int fin, int rst)
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
	if (p->dry)
		return 1;
	if (rst)
		bpf_map_delete_elem(&flows, &key);
	else if (fin)
		f->closing = 1;
	return 1;
}

/*
 * The first client payload of a connection: 0 when it is what the port
 * expects, else the reason to drop it. Only the first bytes matter: a
 * ClientHello spanning several segments is judged by its first.
 */
static __always_inline int first_payload_reason(const __u8 *b, const void *end, __u32 len,
						__u8 class)
{
	if (class == MOAT_PORT_SSH) {
		/* "SSH-2.0-" */
		if (len < 8 || (void *)(b + 8) > end)
			return MOAT_R_NOT_SSH;
		if (b[0] != 'S' || b[1] != 'S' || b[2] != 'H' || b[3] != '-' ||
		    b[4] != '2' || b[5] != '.' || b[6] != '0' || b[7] != '-')
			return MOAT_R_NOT_SSH;
		return 0;
	}
	if (len < 3 || (void *)(b + 3) > end)
		return MOAT_R_NOT_TLS;
	/* SSLv2-format ClientHello: 2-byte length with the top bit set, then
	 * message type 1. No TLS >= 1.0 client needs it. */
	if ((b[0] & 0x80) && b[2] == 1)
		return MOAT_R_TLS_VERSION;
	/* record: type 22 (handshake), version 3.x, length; handshake: type 1
	 * (ClientHello), 3-byte length, then client_version. */
	if (len < 11 || (void *)(b + 11) > end)
		return MOAT_R_NOT_TLS;
	if (b[0] != 22 || b[1] != 3 || b[5] != 1)
		return MOAT_R_NOT_TLS;
	if (((__u32)b[9] << 8 | b[10]) < tls_min_version)
		return MOAT_R_TLS_VERSION;
	return 0;
}

/* Keyed 64-bit hash of a flow key (five 64-bit words). */
static __always_inline __u64 conn_hash(const struct moat_flow_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = conn_seed;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 8); i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

/*
 * 7./8. with validation: the first payload of each inbound connection must
 * be the port's protocol, else that packet and the rest of the connection
 * drop. Packets of connections with no state (opened before moat) pass: the
 * kernel resets what it does not know.
 */
static __always_inline int judge_conn(const struct pkt *p,
				      const struct tcphdr *th, const __u8 *payload,
				      const void *end, __u8 class, __u32 pass_reason)
{
	struct moat_flow_key key = {
		.remote = p->src, .local = p->dst,
		.remote_port = th->source, .local_port = th->dest, .proto = IPPROTO_TCP,
	};
	__u32 len = p->l3_end - (void *)payload;
	int dry = p->dry != NULL;
	__u64 h = conn_hash(&key), w, *slot;
	__u32 idx = h & (MOAT_CONN_SLOTS - 1), tag = h >> 40;
	int r;

	slot = bpf_map_lookup_elem(&conns, &idx);
	if (!slot)	/* cannot happen: idx is masked; for the verifier */
		return verdict(p, MOAT_V_PASS, pass_reason);

	if (th->syn && !th->ack) {
		/* TCP Fast Open: the SYN's own payload is the first. */
		r = len ? first_payload_reason(payload, end, len, class) : 0;
		if (!dry)
			*slot = MOAT_CONN_WORD(tag, r ? MOAT_CONN_BAD : len ? MOAT_CONN_OK
									   : MOAT_CONN_AWAIT,
					       r, bpf_ntohl(th->seq) + 1);
		return r ? verdict(p, MOAT_V_DROP, r) : verdict(p, MOAT_V_PASS, pass_reason);
	}

	w = *slot;	/* one load: another CPU may rewrite the slot */
	if (MOAT_CONN_TAG(w) != tag || MOAT_CONN_STATE(w) == MOAT_CONN_NONE) {
		/* moatctl check asks about a new connection's first bytes. */
		if (dry && len && (r = first_payload_reason(payload, end, len, class)))
			return verdict(p, MOAT_V_DROP, r);
		return verdict(p, MOAT_V_PASS, pass_reason);
	}
	if (th->rst && !dry)
		*slot = 0;
	if (MOAT_CONN_STATE(w) == MOAT_CONN_BAD)
		return verdict(p, MOAT_V_DROP, MOAT_CONN_REASON(w));
	if (MOAT_CONN_STATE(w) == MOAT_CONN_OK || !len)
		return verdict(p, MOAT_V_PASS, pass_reason);
	/* Awaiting: only the segment that starts exactly at the first byte is
	 * judged. Any other one is dropped without deciding: one from before
	 * would be trimmed by the kernel to smuggle bytes in at the start, one
	 * from further on (reordering) is sent again once the first passed. */
	if (bpf_ntohl(th->seq) != MOAT_CONN_SEQ(w))
		return verdict(p, MOAT_V_DROP, class == MOAT_PORT_SSH ? MOAT_R_NOT_SSH
								 : MOAT_R_NOT_TLS);
	r = first_payload_reason(payload, end, len, class);
	if (!dry)
		*slot = MOAT_CONN_WORD(tag, r ? MOAT_CONN_BAD : MOAT_CONN_OK, r, MOAT_CONN_SEQ(w));
	return r ? verdict(p, MOAT_V_DROP, r) : verdict(p, MOAT_V_PASS, pass_reason);
}

static __always_inline int judge_icmp(struct cursor *c, struct pkt *p)
{
	struct icmphdr *ih = parse_icmp(c);

	if (!ih || c->pos > p->l3_end)
		return DROP(MALFORMED);
	/* 5. echo replies to the host's own pings: keyed by identifier */
	if ((!p->v6 && ih->type == 0) || (p->v6 && ih->type == 129)) {
		if (is_reply(p, ih->un.echo.id, ih->un.echo.id, 0, 0))
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
		    is_reply(p, th->source, th->dest, th->fin, th->rst))
			return PASS(REPLY);

		/* 7. TLS, 8. SSH, 9. the rest */
		class = port_class[bpf_ntohs(th->dest)];
		if (class == MOAT_PORT_TLS)
			return tls_validate ? judge_conn(p, th, c.pos, c.end, class, MOAT_R_TLS)
					    : PASS(TLS);
		if (class == MOAT_PORT_SSH) {
			if (!TABLE_MATCH(devops, &p->src))
				return DROP(SSH_SOURCE);
			return ssh_validate ? judge_conn(p, th, c.pos, c.end, class, MOAT_R_SSH)
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
		    is_reply(p, uh->source, uh->dest, 0, 0))
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
 * Egress: record the flows the host opens, so their replies pass. Only a
 * TCP SYN opens a TCP flow (answers to inbound connections open nothing);
 * any UDP datagram and ICMP echo request opens or refreshes one.
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
	struct tcphdr *th;
	struct udphdr *uh;
	struct icmphdr *ih;
	int proto, opens = 0, fin = 0, rst = 0;
	__u16 lport = 0;

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

	f = bpf_map_lookup_elem(&flows, &key);
	if (rst) {
		if (f)
			bpf_map_delete_elem(&flows, &key);
		return TC_ACT_UNSPEC_;
	}
	if (f) {
		f->last_seen_ns = bpf_ktime_get_ns();
		if (fin)
			f->closing = 1;
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

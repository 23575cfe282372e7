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
 *
 * This file reads as SPEC §2 top to bottom (moat_xdp) plus the egress
 * recorder (moat_egress); each concern lives in a header of bpf/lib/ with
 * the maps its code reads: stats.h (counters, sampling), table.h (devops,
 * deny, bans), flows.h (host-opened flows), conn.h (connection state). It
 * stays one object with one .rodata, because ingress and egress share the
 * flow and connection maps and a generation must see one copy of each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "moat/hash.h"
#include "lib/parse.h"

#define TC_ACT_UNSPEC_	(-1)	/* tcx: no opinion, next program or pass */

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

/* The rest of the policy, one concern a header, each with its maps. */
#include "lib/stats.h"
#include "lib/table.h"
#include "lib/flows.h"
#include "lib/conn.h"

/* The dry-run record moatctl check put before the packet, or NULL. */
static __always_inline struct moat_dryrun *dryrun(struct xdp_md *ctx)
{
	struct moat_dryrun *d = (void *)(long)ctx->data_meta;

	if ((void *)(d + 1) > (void *)(long)ctx->data)
		return NULL;
	return d->magic == MOAT_DRYRUN_MAGIC ? d : NULL;
}

static __always_inline int ethertype_listed(__u16 proto)
{
#pragma unroll
	for (int i = 0; i < MOAT_MAX_ETHERTYPES; i++)
		if (i < n_pass_ethertypes && pass_ethertypes[i] == proto)
			return 1;
	return 0;
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

/* SPEC §2, in its order: the packet's verdict and reason (VR). */
static __always_inline int judge(struct xdp_md *ctx, struct pkt *p)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct tcphdr *th;
	struct udphdr *uh;
	int proto, r;
	__u32 pass, ulen;
	void *dgram_end;
	__u8 class;

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
	if (TABLE_MATCH(deny))
		return DROP(DENIED);
	if (TABLE_MATCH(ban))
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
		if (class == MOAT_PORT_NONE)
			return DROP(PORT);
		if (class == MOAT_PORT_SSH && !TABLE_MATCH(devops))
			return DROP(SSH_SOURCE);
		pass = class == MOAT_PORT_TLS ? MOAT_R_TLS : MOAT_R_SSH;
		/* One call site: the judge is inlined once for both ports. */
		if ((class == MOAT_PORT_TLS ? tls_validate : ssh_validate) &&
		    (r = judge_conn(p, th, c.pos, class)))
			return VR(MOAT_V_DROP, r);
		return VR(MOAT_V_PASS, pass);
	}
	if (proto == IPPROTO_UDP) {
		uh = parse_udp(&c);
		if (!uh || c.pos > p->l3_end)
			return DROP(MALFORMED);
		/* The datagram as UDP says it is: inside the IP one (a first
		 * fragment holds only its start), and what the kernel trims
		 * after it is no part of it. */
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || (!p->more_frags && (void *)uh + ulen > p->l3_end))
			return DROP(MALFORMED);
		dgram_end = (void *)uh + ulen < p->l3_end ? (void *)uh + ulen : p->l3_end;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		if (local_port_used(IPPROTO_UDP, bpf_ntohs(uh->dest)) &&
		    is_reply(p, uh->source, uh->dest, NULL))
			return PASS(REPLY);
		if (port_class[bpf_ntohs(uh->dest)] == MOAT_PORT_TLS && tls_quic) {
			__u8 *b = c.pos;

			/* QUIC long header: header form and fixed bits set,
			 * then a 4-byte version. */
			if ((void *)(b + 5) <= c.end && (void *)(b + 5) <= dgram_end &&
			    (b[0] & 0xc0) == 0xc0)
				return PASS(TLS);
			return DROP(NOT_TLS);
		}
	}
	return DROP(PORT);
}

SEC("xdp")
int moat_xdp(struct xdp_md *ctx)
{
	struct pkt pk = {
		.dry = dryrun(ctx),
		.ctx = ctx,
		.data = (void *)(long)ctx->data,
		.len = ctx->data_end - ctx->data,
	};
	int vr = judge(ctx, &pk);

	return verdict(&pk, VR_VERDICT(vr), VR_REASON(vr));
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
		__u64 now = flow_now();

		if (f->last_seen_ns != now)	/* once a tick: the line stays clean */
			f->last_seen_ns = now;
		/* Where an in-window RST or FIN from the peer must sit. */
		if (th && th->ack && (f->rcv_nxt != bpf_ntohl(th->ack_seq) ||
				      !(f->closing & MOAT_FLOW_F_RCV_NXT))) {
			f->rcv_nxt = bpf_ntohl(th->ack_seq);
			f->closing |= MOAT_FLOW_F_RCV_NXT;
		}
		if (fin && !(f->closing & MOAT_FLOW_F_CLOSING))
			f->closing |= MOAT_FLOW_F_CLOSING;
		return TC_ACT_UNSPEC_;
	}
	if (!opens)
		return TC_ACT_UNSPEC_;
	fl.last_seen_ns = flow_now();
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

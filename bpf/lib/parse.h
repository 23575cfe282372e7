/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounds-checked header parsers over a cursor. Each parse_* checks that its
 * header lies inside the packet, advances the cursor past it and returns the
 * next protocol, or -1 when the packet is truncated or inconsistent.
 */
#ifndef MOAT_BPF_PARSE_H
#define MOAT_BPF_PARSE_H

#include "pkt.h"

#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define ETH_P_IPV6	0x86DD

#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_DSTOPTS_	60
#define IPPROTO_ICMPV6_		58

struct cursor {
	void *pos;
	void *end;
};

struct moat_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* Ethernet and up to two VLAN tags; returns the inner ethertype (host order). */
static __always_inline int parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct moat_vlan_hdr *vh;
	__u16 proto;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		c->pos = vh + 1;
		proto = bpf_ntohs(vh->encap_proto);
	}
	/* A third tag is not something we parse: the caller sees 0x8100 and
	 * treats it as a non-IP ethertype. */
	return proto;
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot;

	if ((void *)(iph + 1) > c->end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	/* The datagram may be shorter than the frame (L2 padding), never longer. */
	if (tot < hlen || c->pos + tot > c->end)
		return -1;
	if (c->pos + hlen > c->end)	/* implied by the above; for the verifier */
		return -1;

	p->src.a[0] = 0;
	p->src.a[1] = 0;
	p->src.a[2] = bpf_htonl(0x0000ffff);
	p->src.a[3] = iph->saddr;
	p->dst.a[0] = 0;
	p->dst.a[1] = 0;
	p->dst.a[2] = bpf_htonl(0x0000ffff);
	p->dst.a[3] = iph->daddr;
	p->nonfirst_frag = (bpf_ntohs(iph->frag_off) & 0x1fff) != 0;
	p->more_frags = (bpf_ntohs(iph->frag_off) & 0x2000) != 0;
	p->l4proto = iph->protocol;
	p->l3 = iph;
	p->l3_end = c->pos + tot;
	c->pos += hlen;
	p->l4 = c->pos;
	return iph->protocol;
}

/* IPv6 and up to MOAT_MAX_EXT_HDRS extension headers; more is malformed. */
static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6h = c->pos;
	struct ipv6_opt_hdr *opt;
	struct frag_hdr *fh;
	__u8 next;

	if ((void *)(ip6h + 1) > c->end)
		return -1;
	if (ip6h->version != 6)
		return -1;
	if ((void *)(ip6h + 1) + bpf_ntohs(ip6h->payload_len) > c->end)
		return -1;

	__builtin_memcpy(&p->src, &ip6h->saddr, sizeof(p->src));
	/* ::ffff:a.b.c.d never appears on the wire (RFC 4291 2.5.5.2), and
	 * our tables keep IPv4 entries in that form: refuse it as a source. */
	if (p->src.a[0] == 0 && p->src.a[1] == 0 && p->src.a[2] == bpf_htonl(0x0000ffff))
		return -1;
	__builtin_memcpy(&p->dst, &ip6h->daddr, sizeof(p->dst));
	p->hop_limit = ip6h->hop_limit;
	p->v6 = 1;
	p->l3 = ip6h;
	p->l3_end = (void *)(ip6h + 1) + bpf_ntohs(ip6h->payload_len);
	next = ip6h->nexthdr;
	c->pos = ip6h + 1;

	/* Bounded by the limit, not by the packet: the verifier needs a
	 * constant trip count, and a 7th header is malformed anyway. */
#pragma unroll
	for (int i = 0; i <= MOAT_MAX_EXT_HDRS; i++) {
		if (next != IPPROTO_HOPOPTS_ && next != IPPROTO_ROUTING_ &&
		    next != IPPROTO_DSTOPTS_ && next != IPPROTO_FRAGMENT_)
			break;
		if (i == MOAT_MAX_EXT_HDRS)
			return -1;
		if (next == IPPROTO_FRAGMENT_) {
			fh = c->pos;
			if ((void *)(fh + 1) > c->end)
				return -1;
			next = fh->nexthdr;
			c->pos = fh + 1;
			if (bpf_ntohs(fh->frag_off) & 1)
				p->more_frags = 1;
			if (bpf_ntohs(fh->frag_off) & 0xfff8) {
				/* what follows is fragment data, not headers */
				p->nonfirst_frag = 1;
				break;
			}
		} else {
			opt = c->pos;
			if ((void *)(opt + 1) > c->end)
				return -1;
			next = opt->nexthdr;
			c->pos += (opt->hdrlen + 1) * 8;
		}
	}
	/* Every header inside the datagram, none in the L2 padding. */
	if (c->pos > c->end || c->pos > p->l3_end)
		return -1;
	p->l4proto = next;
	p->l4 = c->pos;
	return next;
}

/* TCP header with its options; returns the header or NULL. */
static __always_inline struct tcphdr *parse_tcp(struct cursor *c)
{
	struct tcphdr *th = c->pos;

	if ((void *)(th + 1) > c->end)
		return NULL;
	if (th->doff < 5 || c->pos + th->doff * 4 > c->end)
		return NULL;
	c->pos += th->doff * 4;
	return th;
}

static __always_inline struct udphdr *parse_udp(struct cursor *c)
{
	struct udphdr *uh = c->pos;

	if ((void *)(uh + 1) > c->end)
		return NULL;
	c->pos = uh + 1;
	return uh;
}

/* ICMP and ICMPv6 share the first 8 bytes' layout: type, code, csum, rest. */
static __always_inline struct icmphdr *parse_icmp(struct cursor *c)
{
	struct icmphdr *ih = c->pos;

	if ((void *)(ih + 1) > c->end)
		return NULL;
	c->pos = ih + 1;
	return ih;
}

#endif /* MOAT_BPF_PARSE_H */

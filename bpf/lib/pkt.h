/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct pkt: what the policy knows about the packet it judges. The parsers
 * (parse.h) fill the addresses and offsets; the judges add the rest.
 */
#ifndef MOAT_BPF_PKT_H
#define MOAT_BPF_PKT_H

/* What the policy needs to know about a packet, filled by the parsers. */
struct pkt {
	struct moat_addr src;	/* IPv6 or IPv4-mapped */
	struct moat_addr dst;
	void *l3;		/* start of the IP header */
	void *l4;		/* start of the L4 header */
	void *l3_end;		/* end of the IP datagram (excludes L2 padding) */
	struct moat_dryrun *dry; /* moatctl check's record, NULL for real packets */
	void *ctx;		/* the program's context (XDP: for bpf_xdp_load_bytes) */
	void *data;		/* start of the frame */
	__u64 fhash, fmask;	/* the source's filter hash and bits; 0 until computed */
	__u32 len;		/* frame length, for the byte counters */
	__u16 sport, dport;	/* host order, once the L4 header is parsed */
	__u8 l4proto;
	__u8 v6;
	__u8 nonfirst_frag;
	__u8 more_frags;	/* a first fragment: the datagram goes on */
	__u8 hop_limit;
};

#endif /* MOAT_BPF_PKT_H */

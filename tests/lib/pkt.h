/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet builder for the test_run tables and the bench. A struct pkt_spec
 * says what a frame holds (VLAN tags, IPv4 options, IPv6 extension headers,
 * an L4 header, payload); pkt_build() writes it with consistent lengths
 * (tot_len, payload_len, UDP length) and records where every header starts,
 * so a row can cut or bend exactly one header. Checksums are left zero: XDP
 * never looks at them.
 *
 * Header only (static inline): the prog tests, the differential fuzzer and
 * the bench include it.
 */
#ifndef MOAT_TEST_PKT_H
#define MOAT_TEST_PKT_H

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define PKT_MAX_LEN	2048
#define PKT_MAX_TAGS	3	/* moat parses two; a third is a row of its own */
#define PKT_MAX_EXT	8	/* moat parses six; seven is a row of its own */

#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_VLAN	0x8100	/* 802.1Q */
#define ETHERTYPE_QINQ	0x88a8	/* 802.1ad */
#define ETHERTYPE_IPV6	0x86dd

#define TCPF_FIN	0x01
#define TCPF_SYN	0x02
#define TCPF_RST	0x04
#define TCPF_PSH	0x08
#define TCPF_ACK	0x10
#define TCPF_URG	0x20

#define IPV4_MF		0x2000	/* IPv4 frag_off field: more fragments */
#define IPV4_DF		0x4000
#define IPV6_FRAG_M	0x0001	/* IPv6 fragment header: more fragments */

/*
 * Headers whose start pkt_build() records, for cutting the frame inside
 * one of them. PKT_TAG0 is the outer VLAN tag; a tag here is the 4 bytes
 * (TCI, next ethertype) after the TPID, as moat's parser sees it.
 */
enum pkt_hdr {
	PKT_NO_CUT = 0,
	PKT_ETH,
	PKT_TAG0,
	PKT_TAG_LAST = PKT_TAG0 + PKT_MAX_TAGS - 1,
	PKT_L3,
	PKT_EXT0,
	PKT_EXT_LAST = PKT_EXT0 + PKT_MAX_EXT - 1,
	PKT_L4,
	PKT_DATA,	/* the payload after the L4 header */
	PKT_NR_HDRS
};
#define PKT_TAG(i)	(PKT_TAG0 + (i))
#define PKT_EXT(i)	(PKT_EXT0 + (i))
#define PKT_ABSENT	0xffff

struct pkt_buf;

struct pkt_spec {
	/* L2: tags[] are TPIDs outermost first, 0 ends the list. */
	uint16_t tags[PKT_MAX_TAGS];
	uint16_t ethertype;	/* innermost; 0: from .ip */

	/* L3: .ip 4 or 6; 0 writes .payload bytes after the ethertype. */
	uint8_t ip;
	const char *src, *dst;	/* NULL: PKT_SRC4/6, PKT_DST4/6 */
	uint8_t ip_opts;	/* IPv4 option bytes (NOPs, then EOL), multiple of 4 */
	uint16_t frag;		/* IPv4 frag_off / IPv6 fragment header field, host order */
	uint8_t ext[PKT_MAX_EXT];	/* IPv6 extension headers in order */
	uint8_t n_ext;
	uint8_t hlim;		/* TTL / hop limit; 0 = 64 */

	/* L4: TCP, UDP, ICMP, ICMPv6 get a header; other protocols none. */
	uint8_t proto;
	uint16_t sport, dport;	/* sport 0: the caller's default */
	uint8_t flags;		/* TCP */
	uint8_t tcp_opts;	/* TCP option bytes (NOPs), multiple of 4 */
	uint32_t seq;
	uint32_t ack;		/* 0: 1 when the ACK flag is set */
	uint8_t type, code;	/* ICMP, ICMPv6 */
	uint16_t icmp_id;	/* echo identifier */
	uint16_t payload;	/* bytes after the L4 header */
	const void *data;	/* payload contents; NULL: zeros */

	/* Damage, applied in this order after a consistent build. */
	uint8_t cut_hdr;	/* enum pkt_hdr: end the frame .cut_keep bytes into it; */
	uint16_t cut_keep;	/*   the IP length fields then end there too */
	int16_t len_adj;	/* added to tot_len / payload_len (> 0: claims more) */
	uint16_t pad_to;	/* zero-pad the frame to this length (L2 padding) */
	void (*mangle)(struct pkt_buf *f);	/* anything else */
};

struct pkt_buf {
	uint8_t buf[PKT_MAX_LEN];
	uint32_t len;
	uint16_t off[PKT_NR_HDRS];	/* start of each header, PKT_ABSENT if none */
};

#define PKT_SRC4	"192.0.2.1"
#define PKT_DST4	"198.18.0.1"
#define PKT_SRC6	"2001:db8:ffff::1"
#define PKT_DST6	"2001:db8::1"

/* Bytes pkt_build() gives each IPv6 extension header (varied on purpose,
 * so a parser that gets the length arithmetic wrong misreads the ports). */
static inline unsigned int pkt_ext_len(uint8_t type)
{
	switch (type) {
	case IPPROTO_ROUTING:
		return 24;
	case IPPROTO_DSTOPTS:
		return 16;
	default:
		return 8;	/* hop-by-hop, fragment, anything else */
	}
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, v >> 16);
	pkt_put16(p + 2, v);
}

/* Writes the IP length field(s) so that the datagram ends at end (+ adj). */
static inline void pkt_set_ip_len(struct pkt_buf *f, const struct pkt_spec *s, uint32_t end,
				  int adj)
{
	uint32_t l3 = f->off[PKT_L3];
	int v;

	if (l3 == PKT_ABSENT)
		return;
	if (s->ip == 4) {
		v = (int)(end - l3) + adj;
		pkt_put16(f->buf + l3 + 2, v < 0 ? 0 : v);
	} else {
		v = (int)end - (int)l3 - 40 + adj;
		pkt_put16(f->buf + l3 + 4, v < 0 ? 0 : v);
	}
}

static inline void pkt_write_ext(uint8_t *b, uint8_t type, uint8_t next, uint16_t frag)
{
	unsigned int len = pkt_ext_len(type);

	memset(b, 0, len);
	b[0] = next;
	if (type == IPPROTO_FRAGMENT) {
		pkt_put16(b + 2, frag);
		pkt_put32(b + 4, 0x12345678);	/* identification */
		return;
	}
	b[1] = len / 8 - 1;
	if (type == IPPROTO_ROUTING)
		return;		/* type 0, segments left 0: nothing to route */
	b[2] = 1;		/* PadN over the rest of the header */
	b[3] = len - 4;
}

/* Builds the frame; 0, or -1 when the spec cannot be built. */
static inline int pkt_build(const struct pkt_spec *s, struct pkt_buf *f)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	uint8_t *b = f->buf;
	uint16_t ethertype = s->ethertype;
	uint32_t o, n_tags = 0, end;
	unsigned int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < PKT_NR_HDRS; i++)
		f->off[i] = PKT_ABSENT;
	if (!ethertype)
		ethertype = s->ip == 4 ? ETHERTYPE_IPV4 : s->ip == 6 ? ETHERTYPE_IPV6 : 0;
	if (!ethertype || s->n_ext > PKT_MAX_EXT || s->ip_opts > 40 || s->ip_opts % 4 ||
	    s->tcp_opts > 40 || s->tcp_opts % 4)
		return -1;

	/* Ethernet and tags: each TPID sits in the type field before it. */
	f->off[PKT_ETH] = 0;
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	while (n_tags < PKT_MAX_TAGS && s->tags[n_tags])
		n_tags++;
	pkt_put16(b + 12, n_tags ? s->tags[0] : ethertype);
	o = 14;
	for (i = 0; i < n_tags; i++) {
		f->off[PKT_TAG(i)] = o;
		pkt_put16(b + o, 100 + i);	/* VID */
		pkt_put16(b + o + 2, i + 1 < n_tags ? s->tags[i + 1] : ethertype);
		o += 4;
	}

	if (s->ip == 4) {
		uint32_t hlen = 20 + s->ip_opts;

		f->off[PKT_L3] = o;
		b[o] = 0x40 | hlen / 4;
		pkt_put16(b + o + 4, 0x1234);	/* id */
		pkt_put16(b + o + 6, s->frag);
		b[o + 8] = s->hlim ? s->hlim : 64;
		b[o + 9] = s->proto;
		if (inet_pton(AF_INET, s->src ? s->src : PKT_SRC4, b + o + 12) != 1 ||
		    inet_pton(AF_INET, s->dst ? s->dst : PKT_DST4, b + o + 16) != 1)
			return -1;
		memset(b + o + 20, 1, s->ip_opts);	/* NOP */
		if (s->ip_opts)
			b[o + hlen - 1] = 0;		/* EOL */
		o += hlen;
	} else if (s->ip == 6) {
		f->off[PKT_L3] = o;
		b[o] = 0x60;
		b[o + 6] = s->n_ext ? s->ext[0] : s->proto;
		b[o + 7] = s->hlim ? s->hlim : 64;
		if (inet_pton(AF_INET6, s->src ? s->src : PKT_SRC6, b + o + 8) != 1 ||
		    inet_pton(AF_INET6, s->dst ? s->dst : PKT_DST6, b + o + 24) != 1)
			return -1;
		o += 40;
		for (i = 0; i < s->n_ext; i++) {
			f->off[PKT_EXT(i)] = o;
			pkt_write_ext(b + o, s->ext[i], i + 1 < s->n_ext ? s->ext[i + 1] : s->proto,
				      s->frag);
			o += pkt_ext_len(s->ext[i]);
		}
	}

	if (s->ip) {
		f->off[PKT_L4] = o;
		switch (s->proto) {
		case IPPROTO_TCP:
			pkt_put16(b + o, s->sport);
			pkt_put16(b + o + 2, s->dport);
			pkt_put32(b + o + 4, s->seq);
			pkt_put32(b + o + 8, s->ack ? s->ack : s->flags & TCPF_ACK ? 1 : 0);
			b[o + 12] = (20 + s->tcp_opts) / 4 << 4;
			b[o + 13] = s->flags;
			pkt_put16(b + o + 14, 65535);	/* window */
			memset(b + o + 20, 1, s->tcp_opts);	/* NOP */
			o += 20 + s->tcp_opts;
			break;
		case IPPROTO_UDP:
			pkt_put16(b + o, s->sport);
			pkt_put16(b + o + 2, s->dport);
			pkt_put16(b + o + 4, 8 + s->payload);
			o += 8;
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			b[o] = s->type;
			b[o + 1] = s->code;
			pkt_put16(b + o + 4, s->icmp_id);
			pkt_put16(b + o + 6, 1);	/* sequence */
			o += 8;
			break;
		default:
			f->off[PKT_L4] = PKT_ABSENT;	/* GRE, SCTP...: payload only */
			break;
		}
	}
	f->off[PKT_DATA] = o;
	if (o + s->payload > PKT_MAX_LEN)
		return -1;
	if (s->data)
		memcpy(b + o, s->data, s->payload);
	else if (ethertype == ETHERTYPE_ARP && s->payload >= 8)
		memcpy(b + o, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);	/* Ethernet/IPv4 request */
	o += s->payload;
	f->len = o;
	pkt_set_ip_len(f, s, o, 0);

	if (s->cut_hdr) {
		if (s->cut_hdr >= PKT_NR_HDRS || f->off[s->cut_hdr] == PKT_ABSENT)
			return -1;
		end = f->off[s->cut_hdr] + s->cut_keep;
		if (end > f->len)
			return -1;
		f->len = end;
		pkt_set_ip_len(f, s, end, 0);
	}
	if (s->len_adj)
		pkt_set_ip_len(f, s, f->len, s->len_adj);
	if (s->pad_to > f->len) {
		if (s->pad_to > PKT_MAX_LEN)
			return -1;
		memset(b + f->len, 0, s->pad_to - f->len);
		f->len = s->pad_to;
	}
	if (s->mangle)
		s->mangle(f);
	return 0;
}

#endif /* MOAT_TEST_PKT_H */

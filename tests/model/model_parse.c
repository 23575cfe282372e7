// SPDX-License-Identifier: GPL-2.0
/*
 * The reference model's parser: a frame into what the policy looks at
 * (SPEC §2 steps 1-2), written from the text; where the text leaves a
 * choice, the comment says which reading was taken.
 */
#include <stdlib.h>
#include <string.h>
#include "moat/reasons.h"
#include "model_int.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* SPEC §2 steps 1-2: frames, VLAN tags, IPv4 options, IPv6 extension headers. */
enum parse_result model_parse(const uint8_t *b, size_t len, struct pkt *p)
{
	size_t off = 14;
	uint16_t type;
	int tags = 0;

	memset(p, 0, sizeof(*p));
	if (len < 14)
		return PARSE_MALFORMED;
	type = be16(b + 12);
	while ((type == ETH_8021Q || type == ETH_8021AD) && tags < MAX_VLAN) {
		if (off + 4 > len)
			return PARSE_MALFORMED;
		type = be16(b + off + 2);
		off += 4;
		tags++;
	}
	p->ethertype = type;
	if (type == ETH_ARP)
		return PARSE_ARP;
	if (type == ETH_IPV4) {
		const uint8_t *ip = b + off;
		unsigned int hl, tot, frag;

		if (off + 20 > len || ip[0] >> 4 != 4)
			return PARSE_MALFORMED;
		hl = (ip[0] & 0xf) * 4;
		tot = be16(ip + 2);
		if (hl < 20 || tot < hl || off + tot > len)
			return PARSE_MALFORMED;
		frag = be16(ip + 6);
		p->frag_later = (frag & 0x1fff) != 0;
		p->frag_first = !p->frag_later && (frag & 0x2000);
		p->hlim = ip[8];
		p->proto = ip[9];
		memcpy(p->src, v4_mapped, 12);
		memcpy(p->src + 12, ip + 12, 4);
		memcpy(p->dst, v4_mapped, 12);
		memcpy(p->dst + 12, ip + 16, 4);
		p->l4 = ip + hl;
		p->l4_len = tot - hl;
		return PARSE_IP;
	}
	if (type == ETH_IPV6) {
		const uint8_t *ip = b + off;
		unsigned int end, cur = 40, n = 0;
		uint8_t nh;

		if (off + 40 > len || ip[0] >> 4 != 6)
			return PARSE_MALFORMED;
		end = 40 + be16(ip + 4);
		if (off + end > len)
			return PARSE_MALFORMED;
		p->v6 = true;
		p->hlim = ip[7];
		memcpy(p->src, ip + 8, 16);
		memcpy(p->dst, ip + 24, 16);
		/* A v6 packet claiming a v4-mapped source would match the v4
		 * entries of the tables: inconsistent. */
		if (!memcmp(p->src, v4_mapped, 12))
			return PARSE_MALFORMED;
		nh = ip[6];
		while (nh == P_HOPOPTS || nh == P_ROUTING || nh == P_DSTOPTS || nh == P_FRAGMENT) {
			unsigned int hlen;

			if (n++ == MAX_EXT)
				return PARSE_MALFORMED;
			if (nh == P_FRAGMENT) {
				uint16_t fo;

				if (cur + 8 > end) {
					if (off + cur + 8 <= len)
						model_note(MODEL_NOTE_EXT_PAST_PLEN);
					return PARSE_MALFORMED;
				}
				fo = be16(ip + cur + 2);
				nh = ip[cur];
				cur += 8;
				if (fo >> 3) {
					/* what follows is fragment data, not headers */
					p->frag_later = true;
					if (nh == P_HOPOPTS || nh == P_ROUTING || nh == P_DSTOPTS ||
					    nh == P_FRAGMENT)
						model_note(MODEL_NOTE_AFTER_FRAG);
					break;
				}
				if (fo & 1)
					p->frag_first = true;
				continue;
			}
			if (cur + 2 > end) {
				if (off + cur + 2 <= len)
					model_note(MODEL_NOTE_EXT_PAST_PLEN);
				return PARSE_MALFORMED;
			}
			hlen = (ip[cur + 1] + 1) * 8;
			if (cur + hlen > end) {
				if (off + cur + hlen <= len)
					model_note(MODEL_NOTE_EXT_PAST_PLEN);
				return PARSE_MALFORMED;
			}
			nh = ip[cur];
			cur += hlen;
		}
		p->proto = nh;
		p->l4 = ip + cur;
		p->l4_len = end - cur;
		return PARSE_IP;
	}
	return PARSE_ETHERTYPE;
}

bool model_is_icmp(const struct pkt *p)
{
	return p->proto == (p->v6 ? P_ICMPV6 : P_ICMP);
}

/* false: truncated or inconsistent (malformed). */
bool model_parse_l4(const struct pkt *p, struct l4 *l)
{
	const uint8_t *h = p->l4;

	memset(l, 0, sizeof(*l));
	if (p->proto == P_TCP) {
		unsigned int doff;

		if (p->l4_len < 20)
			return false;
		doff = (h[12] >> 4) * 4;
		if (doff < 20 || doff > p->l4_len)
			return false;
		l->sport = be16(h);
		l->dport = be16(h + 2);
		l->seq = be32(h + 4);
		l->ack = be32(h + 8);
		l->flags = h[13];
		l->data = h + doff;
		l->data_len = p->l4_len - doff;
		return true;
	}
	if (p->proto == P_UDP) {
		unsigned int ulen;

		if (p->l4_len < 8)
			return false;
		ulen = be16(h + 4);
		/* a UDP length beyond the datagram is inconsistent, but for a
		 * first fragment, which holds only the datagram's start */
		if (ulen < 8 || (ulen > p->l4_len && !p->frag_first)) {
			model_note(MODEL_NOTE_UDP_LEN);
			return false;
		}
		if (ulen > p->l4_len)
			ulen = p->l4_len;
		l->sport = be16(h);
		l->dport = be16(h + 2);
		l->data = h + 8;
		l->data_len = ulen - 8;
		return true;
	}
	if (model_is_icmp(p)) {
		if (p->l4_len < 8)
			return false;
		l->type = h[0];
		l->code = h[1];
		l->sport = l->dport = be16(h + 4);
		l->data = h + 8;
		l->data_len = p->l4_len - 8;
		return true;
	}
	return true;	/* GRE, SCTP...: no header moat looks at */
}


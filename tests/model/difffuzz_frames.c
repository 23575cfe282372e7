// SPDX-License-Identifier: GPL-2.0
/*
 * The differential fuzzer's frame generator: sources from the classes the
 * policy tells apart, first payloads, noise (tags, options, extension
 * headers), damage (truncation, lengths, flags) and bent header fields.
 */
#include "difffuzz.h"

/* ---- the generator ---- */

static char addr_buf[8][INET6_ADDRSTRLEN];
static unsigned int addr_next;

static const char *fmt_addr(const char *fmt, unsigned int a, unsigned int b)
{
	char *s = addr_buf[addr_next++ % ARRAY_SIZE(addr_buf)];

	snprintf(s, INET6_ADDRSTRLEN, fmt, a, b);
	return s;
}

/* A source from the classes the policy tells apart. */
const char *pick_source(bool v6, bool ssh)
{
	unsigned int c = rnd(100);

	if (ssh && c < 50)
		c = 100;	/* SSH sequences mostly from devops sources */
	if (!v6) {
		if (c < 35)
			return fmt_addr("192.0.2.%u", rnd(256), 0);	/* strangers, some denied/banned */
		if (c < 45)
			return fmt_addr("198.18.%u.%u", 1 + rnd(200), 1 + rnd(254));
		if (c < 50)
			return "192.0.2.66";	/* denied */
		if (c < 55)
			return "192.0.2.77";	/* banned */
		if (c < 58)
			return "192.0.2.88";	/* ban expired */
		if (c < 62)
			return fmt_addr("198.51.100.%u", 5 + rnd(20), 0);	/* around devops */
		if (c < 65)
			return fmt_addr("203.0.%u.%u", 112 + rnd(3), rnd(256));	/* /24 edges */
		if (c < 80)
			return DEVOPS4;
		return fmt_addr("203.0.113.%u", rnd(256), 0);
	}
	if (c < 35)
		return fmt_addr("2001:db8:ffff::%x", rnd(0x10000), 0);
	if (c < 45)
		return fmt_addr("2001:db8:%x::%x", rnd(0x10000), 1 + rnd(100));
	if (c < 50)
		return fmt_addr("2001:db8:bad::%x", rnd(0x10000), 0);
	if (c < 55)
		return fmt_addr("2001:db8:beef:%x::%x", rnd(2), rnd(0x10000));
	if (c < 58)
		return fmt_addr("2001:db8:ee::%x", rnd(0x10000), 0);
	if (c < 62)
		return fmt_addr("2001:db8:1::%x", 5 + rnd(5), 0);
	if (c < 65)
		return fmt_addr("2001:db8:%x::%x", 0xff + rnd(3), 1 + rnd(100));
	if (c < 80)
		return DEVOPS6;
	return fmt_addr("2001:db8:100:%x::%x", rnd(0x10000), 1 + rnd(0x10000));
}


void fill_random(uint8_t *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		b[i] = rnd64();
}

static void make_hello(struct payload *p, uint8_t rec_minor, uint16_t client_version,
		       unsigned int body)
{
	unsigned int hs = body, rec = hs + 4;

	p->len = 5 + (rec < sizeof(p->b) - 5 ? rec : sizeof(p->b) - 5);
	fill_random(p->b, p->len);
	p->b[0] = 0x16;
	p->b[1] = 0x03;
	p->b[2] = rec_minor;
	p->b[3] = rec >> 8;
	p->b[4] = rec;
	p->b[5] = 0x01;
	p->b[6] = hs >> 16;
	p->b[7] = hs >> 8;
	p->b[8] = hs;
	p->b[9] = client_version >> 8;
	p->b[10] = client_version;
}

void make_payload(enum payload_kind k, struct payload *p)
{
	static const char *bad_ssh[] = { "SSH-1.99-x\r\n", "SSH-2.0_x\r\n", "ssh-2.0-x\r\n",
					 "SSH-2.", "SSH-2.0-" };

	switch (k) {
	case PL_TLS12:
		make_hello(p, 1, 0x0303, 41 + rnd(200));
		break;
	case PL_TLS13:
		make_hello(p, chance(50) ? 1 : 3, 0x0303, 200 + rnd(300));
		break;
	case PL_TLS10:
		make_hello(p, 1, 0x0301, 41 + rnd(200));
		break;
	case PL_TLS11:
		make_hello(p, 2, 0x0302, 41 + rnd(200));
		break;
	case PL_BIG:
		make_hello(p, 1, 0x0303, 1716);	/* the record goes on past what we send */
		break;
	case PL_SSLV2:
		p->len = 11 + rnd(40);
		fill_random(p->b, p->len);
		memcpy(p->b, "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11);
		break;
	case PL_HTTP:
		p->len = sprintf((char *)p->b, "GET /%u HTTP/1.1\r\nHost: gw\r\n\r\n", rnd(1000));
		break;
	case PL_SSH:
		p->len = sprintf((char *)p->b, "SSH-2.0-OpenSSH_9.%u\r\n", rnd(10));
		break;
	case PL_SSH_BAD:
		p->len = sprintf((char *)p->b, "%s", bad_ssh[rnd(ARRAY_SIZE(bad_ssh))]);
		break;
	case PL_MAGIC:
		p->len = 11 + rnd(20);
		fill_random(p->b, p->len);
		memcpy(p->b, "\x16\x03\x01\x00\x00\x01\x00\x00\x00\x03\x03", 11);
		break;
	case PL_SHORT_REC:	/* a record or handshake length at an edge */
		make_hello(p, 1, 0x0303, 41);
		switch (rnd(5)) {
		case 0: p->b[8] = 40; p->b[4] = 44; break;
		case 1: p->b[3] = 0x40; p->b[4] = 0x01; break;	/* 16385 */
		case 2: p->b[3] = 0x40; p->b[4] = 0x00; p->b[6] = 0; p->b[7] = 0x3f;
			p->b[8] = 0xfc; break;			/* 16384, filled */
		case 3: p->b[4] = 3; break;
		default: p->b[8] = 42; break;			/* does not fill */
		}
		break;
	case PL_RANDOM:
		p->len = 1 + rnd(64);
		fill_random(p->b, p->len);
		break;
	case PL_MUTATED:
	default:
		make_hello(p, 1, 0x0303, 41 + rnd(100));
		p->b[rnd(11)] ^= 1 << rnd(8);
		break;
	}
}

enum payload_kind pick_kind(bool ssh)
{
	if (ssh) {
		static const enum payload_kind k[] = { PL_SSH, PL_SSH, PL_SSH, PL_SSH, PL_SSH_BAD,
						       PL_HTTP, PL_TLS12, PL_RANDOM };
		return k[rnd(ARRAY_SIZE(k))];
	}
	if (chance(45))
		return chance(70) ? PL_TLS12 : PL_TLS13;
	return rnd(PL_NR);
}

/* Structural noise around an ingress packet: tags, options, extension
 * headers, first fragments. Leaves the L4 header and payload alone. */
static void add_noise(struct pkt_spec *s)
{
	static const uint16_t tpid[] = { ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_VLAN,
					 ETHERTYPE_QINQ, 0x9100 /* not a TPID moat knows */ };
	static const uint8_t ext[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
				       IPPROTO_FRAGMENT };
	unsigned int n;

	if (chance(40)) {
		n = rnd(100) < 75 ? 1 : rnd(100) < 85 ? 2 : 3;
		for (unsigned int i = 0; i < n; i++)
			s->tags[i] = tpid[rnd(chance(10) ? 5 : 4)];
	}
	if (s->ip == 4 && chance(40))
		s->ip_opts = 4 * (1 + rnd(10));
	if (s->ip == 6 && chance(50)) {
		n = 1 + rnd(7);
		for (unsigned int i = 0; i < n; i++)
			s->ext[i] = ext[rnd(chance(20) ? 4 : 3)];
		s->n_ext = n;
	}
	if (chance(15)) {
		if (s->ip == 4)
			s->frag = chance(50) ? IPV4_MF : IPV4_DF;
		else if (s->n_ext < PKT_MAX_EXT) {
			s->ext[s->n_ext++] = IPPROTO_FRAGMENT;
			s->frag = chance(50) ? IPV6_FRAG_M : 0;
		}
	}
}

/* Damage: cut inside or at the end of a header, lengths that lie, bent fields. */
static void add_damage(struct pkt_spec *s, struct pkt_buf *probe)
{
	unsigned int h, tries;

	switch (rnd(5)) {
	case 0:
	case 1:
		for (tries = 0; tries < 8; tries++) {
			h = 1 + rnd(PKT_NR_HDRS - 1);
			if (probe->off[h] == PKT_ABSENT)
				continue;
			s->cut_hdr = h;
			s->cut_keep = rnd(h == PKT_DATA ? 16 : 41);
			if (probe->off[h] + s->cut_keep > probe->len)
				s->cut_keep = probe->len - probe->off[h];
			if (probe->off[h] + s->cut_keep < 14)
				s->cut_keep = 14 - probe->off[h];
			return;
		}
		return;
	case 2:
		s->len_adj = (int)rnd(48) - 40;
		return;
	case 3:
		s->len_adj = 1 + rnd(8);
		return;
	default:
		s->pad_to = probe->len + 1 + rnd(40);
		if (chance(50))
			s->len_adj = -(int)rnd(12);
		return;
	}
}


static void bend_frame(struct pkt_buf *pb, const struct pkt_spec *s, const struct bend *b)
{
	uint8_t *l4 = pb->off[PKT_L4] != PKT_ABSENT ? pb->buf + pb->off[PKT_L4] : NULL;
	uint8_t *l3 = pb->off[PKT_L3] != PKT_ABSENT ? pb->buf + pb->off[PKT_L3] : NULL;

	if (l4 && s->proto == IPPROTO_TCP) {
		if (b->set_ack)
			pkt_put32(l4 + 8, b->ack);
		pkt_put16(l4 + 18, b->urg_ptr);
		if (b->doff >= 0)
			l4[12] = b->doff << 4;
	}
	if (l4 && s->proto == IPPROTO_UDP && b->udp_len >= 0)
		pkt_put16(l4 + 4, b->udp_len);
	if (l3 && b->ihl >= 0 && s->ip == 4)
		l3[0] = (l3[0] & 0xf0) | b->ihl;
	if (l3 && b->version >= 0)
		l3[0] = (l3[0] & 0x0f) | b->version << 4;
}


/* Builds and runs one ingress packet, with noise at the given odds. */
int send_in(struct run *r, struct pkt_spec *s, const struct bend *b, unsigned int noise,
	    unsigned int damage)
{
	struct pkt_buf pb;

	if (chance(noise))
		add_noise(s);
	if (chance(damage) && !pkt_build(s, &pb))
		add_damage(s, &pb);
	if (pkt_build(s, &pb)) {
		s->cut_hdr = 0;
		s->len_adj = 0;
		s->pad_to = 0;
		if (pkt_build(s, &pb))
			return 0;	/* not buildable: nothing sent */
	}
	if (pb.len < 14)
		return 0;	/* test_run refuses frames without an Ethernet header */
	if (b)
		bend_frame(&pb, s, b);
	/* a bit flipped anywhere in the headers (lengths, next headers, types) */
	if (chance(damage) && pb.off[PKT_DATA] > 12 && pb.off[PKT_DATA] != PKT_ABSENT) {
		uint32_t at = 12 + rnd(pb.off[PKT_DATA] - 12);

		if (at < pb.len)
			pb.buf[at] ^= 1 << rnd(8);
	}
	return run_frame(r, false, &pb);
}

int send_out(struct run *r, struct pkt_spec *s, const struct bend *b)
{
	struct bend zero_ack = NO_BEND;
	struct pkt_buf pb;

	/* what a VLAN device or the host's own extension headers add */
	if (chance(10) && !s->n_ext) {
		if (chance(50))
			s->tags[0] = ETHERTYPE_VLAN;
		else if (s->ip == 6)
			s->ext[s->n_ext++] = chance(50) ? IPPROTO_HOPOPTS : IPPROTO_DSTOPTS;
		else
			s->ip_opts = 4 * (1 + rnd(10));
	}
	/* pkt_build() writes ACK 1 for .ack 0: an ACK of 0 is bent in */
	if (!b && s->proto == IPPROTO_TCP && (s->flags & TCPF_ACK) && !s->ack) {
		zero_ack.set_ack = true;
		b = &zero_ack;
	}
	if (pkt_build(s, &pb))
		return 0;
	if (b)
		bend_frame(&pb, s, b);
	return run_frame(r, true, &pb);
}

void set_key(struct moat_flow_key *k, bool v6, const char *remote, const char *local,
	     uint16_t rport, uint16_t lport, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	if (v6) {
		inet_pton(AF_INET6, remote, &k->remote);
		inet_pton(AF_INET6, local, &k->local);
	} else {
		k->remote.a[2] = k->local.a[2] = htonl(0xffff);
		inet_pton(AF_INET, remote, &k->remote.a[3]);
		inet_pton(AF_INET, local, &k->local.a[3]);
	}
	k->remote_port = htons(rport);
	k->local_port = htons(lport);
	k->proto = proto;
}

uint16_t pick_dport(void)
{
	static const uint16_t p[] = { 443, 8443, 22, 2222, 80, 53, 123, 444, 0, 65535 };

	return chance(85) ? p[rnd(ARRAY_SIZE(p))] : rnd(65536);
}

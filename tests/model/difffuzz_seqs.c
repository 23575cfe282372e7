// SPDX-License-Identifier: GPL-2.0
/*
 * The differential fuzzer's scenarios: one random packet, an inbound
 * connection on a validated port, a flow the host opens; each a sequence
 * of frames on one tuple, from a seed of its own.
 */
#include "difffuzz.h"

/* One packet, anything the generator knows how to make. */
int one_random(struct run *r)
{
	static const uint16_t l2[] = { ETHERTYPE_ARP, 0x88cc, 0x88b5, 0x8847, 0x002e,
				       ETHERTYPE_VLAN, ETHERTYPE_QINQ };
	static const uint8_t icmp4[] = { 0, 3, 4, 5, 8, 11, 12, 13, 14, 17 };
	static const uint8_t icmp6[] = { 0, 1, 2, 3, 4, 5, 127, 128, 129, 130, 132, 133, 134,
					 135, 136, 137, 138, 143 };
	static const uint8_t hlims[] = { 64, 255, 255, 254, 1 };
	struct pkt_spec s = {};
	struct bend b = NO_BEND;
	struct payload pl;
	unsigned int c = rnd(100);

	r->scenario = "one packet";
	if (c < 8) {
		s.ethertype = l2[rnd(ARRAY_SIZE(l2))];
		if (chance(5))
			s.ethertype = rnd(65536);
		s.payload = rnd(64);
		return send_in(r, &s, NULL, 40, 20);
	}
	s.ip = c < 54 ? 4 : 6;
	s.src = chance(3) && s.ip == 6 ? "::ffff:192.0.2.9" : pick_source(s.ip == 6, false);
	s.hlim = hlims[rnd(ARRAY_SIZE(hlims))];
	c = rnd(100);
	if (c < 50) {
		s.proto = IPPROTO_TCP;
		s.dport = pick_dport();
		s.sport = chance(80) ? 1024 + rnd(64512) : pick_dport();
		s.flags = chance(60) ? (uint8_t[]){ TCPF_SYN, TCPF_ACK, TCPF_ACK | TCPF_PSH,
			  TCPF_RST, TCPF_FIN | TCPF_ACK, TCPF_SYN | TCPF_ACK }[rnd(6)] : rnd(256);
		s.seq = rnd64();
		b.set_ack = true;
		b.ack = rnd64();
		if (s.flags & TCPF_URG)
			b.urg_ptr = rnd(3) ? rnd(65536) : 0;
		if (chance(20))
			s.tcp_opts = 4 * rnd(11);
		if (chance(50)) {
			make_payload(pick_kind(s.dport == 22 || s.dport == 2222), &pl);
			s.data = pl.b;
			s.payload = pl.len > 1400 ? 1400 : pl.len;
		}
		if (chance(3))
			b.doff = rnd(16);
	} else if (c < 70) {
		s.proto = IPPROTO_UDP;
		s.dport = pick_dport();
		s.sport = 1024 + rnd(64512);
		switch (rnd(4)) {
		case 0:
			memcpy(pl.b, "\xc3\x00\x00\x00\x01\x08", 6);
			fill_random(pl.b + 6, 100);
			s.payload = rnd(3) ? 106 : rnd(7);
			break;
		case 1:
			fill_random(pl.b, 60);
			pl.b[0] &= 0x7f;
			s.payload = 1 + rnd(60);
			break;
		case 2:
			fill_random(pl.b, 60);
			s.payload = rnd(60);
			break;
		default:
			s.payload = 0;
			break;
		}
		s.data = pl.b;
		if (chance(5))
			b.udp_len = rnd(3) ? rnd(8) : 8 + s.payload + 1 + rnd(4);
	} else if (c < 92) {
		s.proto = s.ip == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s.type = s.ip == 4 ? icmp4[rnd(ARRAY_SIZE(icmp4))] : icmp6[rnd(ARRAY_SIZE(icmp6))];
		if (chance(5))
			s.type = rnd(256);
		s.code = rnd(5);
		s.icmp_id = rnd(65536);
		s.payload = rnd(64);
	} else {
		static const uint8_t other[] = { IPPROTO_GRE, IPPROTO_SCTP, IPPROTO_NONE,
						 IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_ESP, 51 };

		s.proto = other[rnd(ARRAY_SIZE(other))];
		s.payload = rnd(40);
	}
	if (chance(10)) {
		if (s.ip == 4)
			s.frag = chance(50) ? 1 + rnd(0x1fff) : IPV4_MF | rnd(0x2000);
		else {
			s.ext[s.n_ext++] = IPPROTO_FRAGMENT;
			s.frag = (rnd(0x2000) << 3) | rnd(2);
		}
	}
	if (chance(3))
		b.version = rnd(16);
	if (chance(3) && s.ip == 4)
		b.ihl = rnd(16);
	return send_in(r, &s, &b, 50, 25);
}

/* An inbound connection on a validated port: handshake, head segments,
 * the host's ACKs, resets, and everything in between out of order. */
enum in_ev { IN_SYN, IN_SYNACK, IN_ACK, IN_DATA, IN_HOSTACK, IN_HOSTRST, IN_RST, IN_FIN, IN_URG,
	     IN_AFTER, IN_SEED, IN_NR };

int seq_inbound(struct run *r)
{
	static const enum in_ev natural[] = { IN_SYN, IN_SYNACK, IN_ACK, IN_DATA, IN_DATA,
					      IN_HOSTACK, IN_DATA, IN_AFTER, IN_HOSTACK, IN_DATA };
	static const uint16_t ports[] = { 443, 8443, 443, 22, 2222 };
	uint16_t dport = ports[rnd(ARRAY_SIZE(ports))];
	bool ssh = dport == 22 || dport == 2222, v6 = chance(50);
	const char *src = pick_source(v6, ssh), *host = v6 ? HOST6 : HOST4;
	uint16_t sport = 30000 + rnd(256);
	uint32_t cisn = rnd64(), sisn = rnd64(), tfo = 0;
	unsigned int steps = 3 + rnd(14), sent = 0, need = ssh ? 8 : 11;
	struct payload pl;

	r->scenario = ssh ? "inbound SSH connection" : "inbound TLS connection";
	make_payload(pick_kind(ssh), &pl);
	set_key(&r->conn_key, v6, src, host, sport, dport, IPPROTO_TCP);
	r->has_conn = true;
	forget(r->f, &r->conn_key);
	/* a connection that predates moat: seeded from the socket table */
	if (chance(3)) {
		struct moat_conn_locked v = { .c = { .state = MOAT_CONN_OK,
						     .flags = MOAT_CONN_F_SEEDED } };
		struct model_tuple t;

		if (!bpf_map_update_elem(r->f->maps.conns, &r->conn_key, &v, BPF_ANY)) {
			key_to_tuple(&r->conn_key, &t);
			model_seed(r->f->ms, &t);
			r->seeded = true;
		}
	}

	for (unsigned int i = 0; i < steps; i++) {
		enum in_ev ev = i < ARRAY_SIZE(natural) && chance(65) ? natural[i] : rnd(IN_SEED);
		struct pkt_spec s = { .ip = v6 ? 6 : 4, .src = src, .dst = host,
				      .proto = IPPROTO_TCP, .sport = sport, .dport = dport };
		struct pkt_spec h = { .ip = v6 ? 6 : 4, .src = host, .dst = src,
				      .proto = IPPROTO_TCP, .sport = dport, .dport = sport };
		struct bend b = NO_BEND;
		uint8_t seg[600];
		int ret = 0;

		b.set_ack = true;
		b.ack = sisn + 1;
		switch (ev) {
		case IN_SYN:
			if (chance(40))
				cisn = rnd64();
			s.flags = TCPF_SYN;
			s.seq = cisn;
			b.set_ack = false;
			tfo = 0;
			if (chance(30)) {
				tfo = 1 + rnd(pl.len < 40 ? pl.len : 40);
				s.data = pl.b;
				s.payload = tfo;
			}
			ret = send_in(r, &s, &b, 10, 2);
			break;
		case IN_SYNACK:
			if (chance(25))
				sisn = rnd64();
			h.flags = TCPF_SYN | TCPF_ACK;
			h.seq = sisn;
			h.ack = cisn + 1 + (tfo && chance(70) ? tfo : 0);
			if (chance(10))
				h.ack += rnd(3) - 1;
			ret = send_out(r, &h, NULL);
			break;
		case IN_ACK:
			s.flags = TCPF_ACK;
			s.seq = cisn + 1;
			b.ack = chance(60) ? sisn + 1 : (uint32_t[]){ sisn, sisn + 2, rnd64(),
								     sisn + 65536 }[rnd(4)];
			ret = send_in(r, &s, &b, 10, 2);
			break;
		case IN_DATA:
		case IN_URG: {
			int off;
			unsigned int len;

			switch (rnd(8)) {
			case 0: case 1: case 2: off = sent; break;
			case 3: off = 0; break;
			case 4: off = rnd(need + 2); break;
			case 5: off = -(int)(1 + rnd(6)); break;
			case 6: off = need + rnd(100); break;
			default: off = (int)rnd64(); break;
			}
			len = 1 + rnd(chance(50) ? 12 : 80);
			for (unsigned int j = 0; j < len; j++) {
				long p = (long)off + j;

				seg[j] = p >= 0 && p < pl.len ? pl.b[p] : 'x';
			}
			if (chance(8))
				seg[rnd(len)] ^= 1 << rnd(8);
			if (off == (int)sent && off >= 0)
				sent += len;
			s.seq = cisn + 1 + off;
			s.data = seg;
			s.payload = len;
			s.flags = ev == IN_URG ? TCPF_ACK | TCPF_URG | TCPF_PSH :
				  chance(75) ? TCPF_ACK | TCPF_PSH :
				  (uint8_t[]){ TCPF_ACK, TCPF_PSH, TCPF_ACK | TCPF_FIN | TCPF_PSH,
					       TCPF_RST | TCPF_ACK, TCPF_ACK | TCPF_URG,
					       (uint8_t)rnd(256) }[rnd(6)];
			if (s.flags & TCPF_URG)
				b.urg_ptr = rnd(2) ? 1 + rnd(20) : 0;
			if (chance(30))
				b.ack = (uint32_t[]){ sisn + 1 + 1 + rnd(100), sisn + 65536,
						      sisn + 65537, sisn, rnd64(), 0 }[rnd(6)];
			ret = send_in(r, &s, &b, 12, 3);
			break;
		}
		case IN_AFTER:
			s.flags = TCPF_ACK | TCPF_PSH;
			s.seq = cisn + 1 + need + rnd(2000);
			s.payload = 1 + rnd(100);
			ret = send_in(r, &s, &b, 10, 2);
			break;
		case IN_HOSTACK:
			h.flags = TCPF_ACK;
			h.seq = sisn + 1;
			h.ack = cisn + 1 + (uint32_t[]){ 0, 5, need - 1, need, sent, pl.len,
							 (uint32_t)rnd64() }[rnd(7)];
			ret = send_out(r, &h, NULL);
			break;
		case IN_HOSTRST:
			h.flags = chance(50) ? TCPF_RST : TCPF_RST | TCPF_ACK;
			h.seq = sisn + 1;
			h.ack = cisn + 1;
			ret = send_out(r, &h, NULL);
			break;
		case IN_RST:
		case IN_FIN:
			s.flags = ev == IN_RST ? (chance(50) ? TCPF_RST : TCPF_RST | TCPF_ACK) :
				  TCPF_FIN | TCPF_ACK;
			s.seq = chance(50) ? cisn + 1 + sent : rnd64();
			ret = send_in(r, &s, &b, 5, 2);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* A flow the host opens (TCP, UDP, ICMP echo) and what comes back, exact or not. */
int seq_outbound(struct run *r)
{
	static const uint16_t rports[] = { 443, 80, 53, 123, 22, 8443, 5353 };
	bool v6 = chance(50);
	const char *remote = pick_source(v6, false), *host = v6 ? HOST6 : HOST4;
	uint16_t lport = chance(95) ? 47000 + rnd(64) : (uint16_t[]){ 443, 22 }[rnd(2)];
	uint16_t rport = rports[rnd(ARRAY_SIZE(rports))];
	unsigned int c = rnd(100), steps = 2 + rnd(12);
	uint8_t proto = c < 60 ? IPPROTO_TCP : c < 85 ? IPPROTO_UDP :
			v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	uint32_t hisn = rnd64(), risn = chance(2) ? 0xffffffff : rnd64(), rcv = 0;
	bool icmp = proto != IPPROTO_TCP && proto != IPPROTO_UDP;

	r->scenario = proto == IPPROTO_TCP ? "host-opened TCP flow" :
		      proto == IPPROTO_UDP ? "host-opened UDP flow" : "host's ping";
	if (icmp)
		rport = lport;	/* the echo identifier, both ways */
	set_key(&r->flow_key, v6, remote, host, rport, lport, proto);
	r->has_flow = true;
	forget(r->f, &r->flow_key);

	for (unsigned int i = 0; i < steps; i++) {
		struct pkt_spec o = { .ip = v6 ? 6 : 4, .src = host, .dst = remote, .proto = proto,
				      .sport = lport, .dport = rport };
		struct pkt_spec in = { .ip = v6 ? 6 : 4, .src = remote, .dst = host,
				       .proto = proto, .sport = rport, .dport = lport };
		struct bend b = NO_BEND;
		unsigned int ev = i == 0 && chance(80) ? 0 : rnd(11);
		int ret = 0;

		if (chance(8))
			in.sport += 1;		/* a spoofed or stray source port */
		if (chance(4))
			in.src = pick_source(v6, false);
		if (icmp) {
			o.icmp_id = in.icmp_id = lport;
			o.type = v6 ? 128 : 8;
			in.type = ev < 6 ? (v6 ? 129 : 0) : ev < 8 ? (v6 ? 128 : 8) :
				  (v6 ? 1 : 3);
			if (chance(10))
				in.icmp_id++;
			o.payload = in.payload = 56;
			ret = ev == 0 || ev == 5 ? send_out(r, &o, NULL) :
			      send_in(r, &in, NULL, 10, 3);
		} else if (proto == IPPROTO_UDP) {
			o.payload = in.payload = 20 + rnd(100);
			ret = ev == 0 || ev == 5 ? send_out(r, &o, NULL) :
			      send_in(r, &in, NULL, 10, 3);
		} else {
			b.set_ack = true;
			switch (ev) {
			case 0:		/* the host's SYN */
				if (chance(30))
					hisn = rnd64();
				o.flags = TCPF_SYN;
				o.seq = hisn;
				ret = send_out(r, &o, NULL);
				break;
			case 1:		/* the answer */
				in.flags = TCPF_SYN | TCPF_ACK;
				in.seq = risn;
				b.ack = hisn + 1;
				ret = send_in(r, &in, &b, 10, 3);
				break;
			case 2:		/* the host ACKs */
			case 3:
				o.flags = TCPF_ACK | (chance(20) ? TCPF_PSH : 0);
				o.seq = hisn + 1;
				rcv = risn + 1 + (chance(50) ? rnd(3000) : 0);
				o.ack = rcv;
				ret = send_out(r, &o, NULL);
				break;
			case 4:		/* a RST, at the host's last ACK or not */
			case 5:
				in.flags = chance(70) ? TCPF_RST : TCPF_RST | TCPF_ACK;
				in.seq = chance(50) ? rcv : (uint32_t[]){ rcv + 1, rcv - 1,
					 (uint32_t)rnd64(), risn }[rnd(4)];
				b.ack = hisn + 1;
				ret = send_in(r, &in, &b, 5, 2);
				break;
			case 6:		/* a FIN */
				in.flags = TCPF_FIN | TCPF_ACK;
				in.seq = chance(60) ? rcv : rcv + 1;
				b.ack = hisn + 1;
				ret = send_in(r, &in, &b, 5, 2);
				break;
			case 10:	/* the host ends it: RST, or FIN */
				o.flags = chance(50) ? TCPF_RST | TCPF_ACK : TCPF_FIN | TCPF_ACK;
				o.seq = hisn + 1;
				o.ack = rcv ? rcv : risn + 1;
				ret = send_out(r, &o, NULL);
				break;
			case 7:		/* a SYN to the host's port */
				in.flags = TCPF_SYN;
				in.seq = rnd64();
				b.set_ack = false;
				ret = send_in(r, &in, &b, 5, 2);
				break;
			default:	/* data */
				in.flags = TCPF_ACK | TCPF_PSH | (chance(5) ? TCPF_URG : 0);
				in.seq = rcv + rnd(3);
				in.payload = 1 + rnd(200);
				b.ack = hisn + 1;
				ret = send_in(r, &in, &b, 10, 3);
				break;
			}
		}
		if (ret)
			return ret;
	}
	return 0;
}


// SPDX-License-Identifier: GPL-2.0
/*
 * The reference model's judge: SPEC §2 step by step, from a parsed frame
 * (model_parse.c) to a verdict and reason, with the connection state of
 * README "Connection state" kept in model_state.c. Written from the text; where the text leaves
 * a choice, the comment says which reading was taken.
 */
#include <stdlib.h>
#include <string.h>
#include "moat/reasons.h"
#include "model_int.h"

/* ---- the policy ---- */

static bool cidr_match(const struct model_cidr *c, const uint8_t *a, bool v6)
{
	unsigned int full = c->plen / 8, rest = c->plen % 8;

	/* ::/0 is no IPv4 entry, though IPv4 is kept as ::ffff:a.b.c.d */
	if (c->v6 != v6)
		return false;
	if (memcmp(c->addr, a, full))
		return false;
	if (!rest)
		return true;
	return !((c->addr[full] ^ a[full]) & (0xff << (8 - rest)));
}

static bool in_list(const struct model_cidr *l, unsigned int n, const struct pkt *p,
		    bool live_only)
{
	for (unsigned int i = 0; i < n; i++)
		if ((!live_only || l[i].live) && cidr_match(&l[i], p->src, p->v6))
			return true;
	return false;
}

static bool port_in(const uint16_t *ports, unsigned int n, uint16_t port)
{
	for (unsigned int i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}


enum port_class model_port_class(const struct model_config *cfg, uint16_t port)
{
	if (port_in(cfg->tls_ports, cfg->n_tls_ports, port))
		return PC_TLS;
	if (port_in(cfg->ssh_ports, cfg->n_ssh_ports, port))
		return PC_SSH;
	return PC_NONE;
}

/* A validated port: its connections carry state. */
bool model_validated(const struct model_config *cfg, enum port_class pc)
{
	return (pc == PC_TLS && cfg->tls_validate) || (pc == PC_SSH && cfg->ssh_validate);
}

unsigned int model_head_need(enum port_class pc)
{
	return pc == PC_TLS ? TLS_HEAD : SSH_HEAD;
}

static uint8_t reason_bad(enum port_class pc)
{
	return pc == PC_TLS ? MOAT_R_NOT_TLS : MOAT_R_NOT_SSH;
}

/*
 * The first n bytes of a connection (n <= the head): 0 while they may still
 * be the port's protocol, else the drop reason. Judged on what is there: a
 * field counts once all its bytes are (README: "a 5-byte first segment
 * passes").
 */
static uint8_t judge(const struct model_config *cfg, enum port_class pc, const uint8_t *b,
		     unsigned int n)
{
	if (!n)
		return 0;
	if (pc == PC_SSH)
		return memcmp(b, "SSH-2.0-", n < SSH_HEAD ? n : SSH_HEAD) ? MOAT_R_NOT_SSH : 0;

	/* SSLv2 format: a 2-byte length with the top bit, then type 1 */
	if (n >= 3 && (b[0] & 0x80) && b[2] == 1)
		return MOAT_R_TLS_VERSION;
	if (b[0] != 0x16)
		return MOAT_R_NOT_TLS;
	if (n >= 2 && b[1] != 0x03)
		return MOAT_R_NOT_TLS;
	if (n >= 3 && (b[2] < 0x01 || b[2] > 0x04))
		return MOAT_R_NOT_TLS;
	/* the record length's high byte alone can already exceed 2^14 */
	if (n >= 4 && b[3] > 0x40)
		return MOAT_R_NOT_TLS;
	if (n >= 5) {
		unsigned int rec = be16(b + 3);

		if (rec < 4 || rec > 16384)
			return MOAT_R_NOT_TLS;
	}
	if (n >= 6 && b[5] != 0x01)
		return MOAT_R_NOT_TLS;
	/* a ClientHello is at least 41 bytes and fills its record (a long
	 * one goes on in the next records) */
	if (n >= 9) {
		unsigned int hs = (unsigned int)b[6] << 16 | b[7] << 8 | b[8];

		if (hs < 41 || hs + 4 < be16(b + 3))
			return MOAT_R_NOT_TLS;
	}
	/* client_version: below min_version is tls_version (SPEC §2.7); a
	 * major version above 3 names no TLS version at all */
	if (n >= 10 && b[9] < 0x03) {
		model_note(MODEL_NOTE_VERSION_MAJOR);
		return MOAT_R_TLS_VERSION;
	}
	if (n >= 10 && b[9] > 0x03)
		return MOAT_R_NOT_TLS;
	if (n >= 11 && be16(b + 9) < cfg->tls_min_version)
		return MOAT_R_TLS_VERSION;
	return 0;
}

static struct model_result res(uint8_t verdict, uint8_t reason)
{
	return (struct model_result){ verdict, reason };
}

#define PASS(r)	res(MOAT_V_PASS, MOAT_R_##r)
#define DROP(r)	res(MOAT_V_DROP, MOAT_R_##r)

static struct model_tuple tuple_in(const struct pkt *p, const struct l4 *l)
{
	struct model_tuple t;

	memset(&t, 0, sizeof(t));
	memcpy(t.remote, p->src, 16);
	memcpy(t.local, p->dst, 16);
	t.remote_port = l->sport;
	t.local_port = l->dport;
	t.proto = p->proto;
	return t;
}

/* Step 5: replies to flows the host opened; a RST or FIN exactly at the
 * host's last ACK ends the flow (README "Connection state", last lines). */
static bool reply(struct model_state *st, const struct pkt *p, const struct l4 *l)
{
	struct model_tuple t = tuple_in(p, l);
	struct entry *e;

	if (model_is_icmp(p) && l->type != (p->v6 ? 129 : 0))
		return false;
	if (p->proto != P_TCP && p->proto != P_UDP && !model_is_icmp(p))
		return false;
	e = model_find(st, T_FLOW, &t);
	if (!e)
		return false;
	if (p->proto == P_TCP && e->v.flow.rcv_nxt_known && l->seq == e->v.flow.rcv_nxt) {
		if (!l->seq && (l->flags & (F_RST | F_FIN)))
			model_note(MODEL_NOTE_ACK_ZERO);
		if (l->flags & F_RST)
			model_del(st, T_FLOW, &t);
		else if (l->flags & F_FIN)
			e->v.flow.closing = true;
	}
	return true;
}

/* Step 6. */
static struct model_result icmp(const struct model_config *cfg, const struct pkt *p,
				const struct l4 *l)
{
	if (!p->v6) {
		if (l->type == 3 || l->type == 11 || l->type == 12)
			return PASS(ICMP);
		if (l->type == 8 && cfg->icmp_echo)
			return PASS(ICMP);
		return DROP(ICMP);
	}
	if (l->type >= 1 && l->type <= 4)
		return PASS(ICMP);
	if (l->type >= 133 && l->type <= 137)
		return p->hlim == 255 ? PASS(NDP) : DROP(ICMP);
	if (l->type == 128 && cfg->icmp_echo)
		return PASS(ICMP);
	return DROP(ICMP);
}

/*
 * Steps 7-8 with validation: a TCP segment to a validated port, judged
 * against the connection's state (README "Connection state").
 */
static struct model_result validate(struct model_state *st, const struct model_config *cfg,
				    enum port_class pc, const struct pkt *p, const struct l4 *l)
{
	struct model_result ok = pc == PC_TLS ? PASS(TLS) : PASS(SSH);
	struct model_result bad = res(MOAT_V_DROP, reason_bad(pc));
	struct model_tuple t = tuple_in(p, l);
	unsigned int need = model_head_need(pc), n, have;
	struct entry *e;
	struct conn *c;
	uint8_t head[HEAD_MAX], r;
	bool keep;
	int32_t o;

	/* A SYN starts a new connection: whatever state the tuple has, its
	 * payload (Fast Open) is the first payload, judged alone, and kept
	 * aside until the host's SYN-ACK says whether it was taken. */
	if ((l->flags & (F_SYN | F_ACK)) == F_SYN) {
		struct entry *s;

		if (!l->data_len)
			return ok;
		if (l->flags & F_URG) {
			model_note(MODEL_NOTE_SYN_URG);
			return bad;	/* an urgent pointer into the first bytes */
		}
		n = l->data_len < need ? l->data_len : need;
		r = judge(cfg, pc, l->data, n);
		if (r)
			return res(MOAT_V_DROP, r);
		if ((s = model_get(st, T_SYN, &t))) {
			s->v.syn.isn = l->seq;
			s->v.syn.datalen = l->data_len;
			s->v.syn.len = n;
			memcpy(s->v.syn.head, l->data, n);
		}
		return ok;
	}

	e = model_find(st, T_CONN, &t);
	c = e ? &e->v.conn : NULL;
	if (c && c->state == MODEL_CONN_OK)
		return ok;
	if (c && c->state == MODEL_CONN_BAD)
		return res(MOAT_V_DROP, c->reason);
	/* before confirmation the kernel would take the urgent byte out of
	 * the stream the application reads */
	if (l->flags & F_URG)
		return bad;
	if (!c)
		return l->data_len ? bad : ok;	/* no state: fail closed */

	/* the exact ACK the host's request socket wants: the client saw
	 * the SYN-ACK */
	if (!c->proven && (l->flags & F_ACK) && l->ack == c->srv_isn + 1)
		c->proven = true;
	o = (int32_t)(l->seq - c->first_seq);
	if (!l->data_len || o >= (int32_t)need || o + (int64_t)l->data_len <= 0)
		return ok;	/* none of the head: the kernel holds or trims it */

	/* Not proven yet: nothing is kept, and the head must come whole from
	 * the first byte (the kernel's request socket refuses the segment
	 * anyway). */
	if (!c->proven) {
		if (o > 0 || o + (int64_t)l->data_len < need)
			return bad;
		r = judge(cfg, pc, l->data - o, need);
		return r ? res(MOAT_V_DROP, r) : ok;
	}

	/* only a segment that acknowledges the host's data keeps bytes or
	 * marks the connection bad: a blind sender would have to guess */
	keep = (l->flags & F_ACK) && l->ack - (c->srv_isn + 1) < ACK_WINDOW;
	have = c->have;
	if (o > (int32_t)have)
		return bad;	/* starts in a hole: undecided, the client resends */

	/* must repeat the kept bytes where it overlaps them */
	memcpy(head, c->head, have);
	for (int64_t i = o < 0 ? 0 : o; i < have && i < o + (int64_t)l->data_len; i++)
		if (l->data[i - o] != c->head[i])
			return bad;
	n = have;
	for (int64_t i = have; i < need && i < o + (int64_t)l->data_len; i++)
		head[n++] = l->data[i - o];
	r = judge(cfg, pc, head, n);
	if (r) {
		if (keep) {
			c->state = MODEL_CONN_BAD;
			c->reason = r;
		}
		return res(MOAT_V_DROP, r);
	}
	if (keep) {
		memcpy(c->head, head, n);
		c->have = n;
	}
	return ok;
}

static struct model_result judge_ip(struct model_state *st, const struct model_config *cfg,
				    const struct pkt *p)
{
	enum port_class pc;
	struct l4 l;

	/* 3. */
	if (in_list(cfg->deny, cfg->n_deny, p, false))
		return DROP(DENIED);
	if (in_list(cfg->bans, cfg->n_bans, p, true))
		return DROP(BANNED);
	/* 4. tracking fragments is optional: the model tracks none */
	if (p->frag_later)
		return DROP(FRAGMENT);
	if (!model_parse_l4(p, &l))
		return DROP(MALFORMED);
	if (p->proto == P_TCP || p->proto == P_UDP || model_is_icmp(p)) {
		st->last = tuple_in(p, &l);
		st->has_last = true;
	}
	/* 5. */
	if (reply(st, p, &l))
		return PASS(REPLY);
	/* 6. */
	if (model_is_icmp(p))
		return icmp(cfg, p, &l);
	if (p->proto != P_TCP && p->proto != P_UDP)
		return DROP(PORT);
	pc = model_port_class(cfg, l.dport);
	/* 7. */
	if (pc == PC_TLS && p->proto == P_UDP) {
		if (!cfg->quic)
			return DROP(PORT);
		/* bytes after the UDP length are no part of the datagram */
		if (l.data_len < p->l4_len - 8)
			model_note(MODEL_NOTE_QUIC_BEYOND);
		/* a QUIC long header: form and fixed bits, then a version */
		if (l.data_len >= 5 && (l.data[0] & 0xc0) == 0xc0)
			return PASS(TLS);
		if (l.data_len && (l.data[0] & 0xc0) == 0xc0)
			model_note(MODEL_NOTE_QUIC_SHORT);
		return DROP(NOT_TLS);
	}
	if (pc == PC_TLS)
		return cfg->tls_validate ? validate(st, cfg, pc, p, &l) : PASS(TLS);
	/* 8. */
	if (pc == PC_SSH && p->proto == P_TCP) {
		if (!in_list(cfg->devops, cfg->n_devops, p, true))
			return DROP(SSH_SOURCE);
		return cfg->ssh_validate ? validate(st, cfg, pc, p, &l) : PASS(SSH);
	}
	/* 9. */
	return DROP(PORT);
}

struct model_result model_xdp(struct model_state *st, const struct model_config *cfg,
			      const uint8_t *frame, size_t len)
{
	struct model_result r;
	struct pkt p;

	st->notes = 0;
	st->has_last = false;
	model_noting = st;
	switch (model_parse(frame, len, &p)) {
	case PARSE_ARP:
		r = PASS(ARP);
		break;
	case PARSE_ETHERTYPE:
		r = port_in(cfg->pass_ethertypes, cfg->n_pass_ethertypes, p.ethertype) ?
		    PASS(ETHERTYPE) : DROP(ETHERTYPE);
		break;
	case PARSE_MALFORMED:
		r = DROP(MALFORMED);
		break;
	default:
		r = judge_ip(st, cfg, &p);
		break;
	}
	model_noting = NULL;
	if (cfg->monitor && r.verdict == MOAT_V_DROP)
		r.verdict = MOAT_V_MONITOR_DROP;
	return r;
}


// SPDX-License-Identifier: GPL-2.0
/*
 * The reference model: SPEC §2 step by step, then the connection state of
 * README "Connection state". Written from the text; where the text leaves
 * a choice, the comment says which reading was taken.
 */
#include <stdlib.h>
#include <string.h>
#include "moat/reasons.h"
#include "model.h"

#define ETH_ARP		0x0806
#define ETH_IPV4	0x0800
#define ETH_IPV6	0x86dd
#define ETH_8021Q	0x8100
#define ETH_8021AD	0x88a8

#define P_HOPOPTS	0
#define P_ICMP		1
#define P_TCP		6
#define P_UDP		17
#define P_ROUTING	43
#define P_FRAGMENT	44
#define P_ICMPV6	58
#define P_DSTOPTS	60

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_ACK	0x10
#define F_URG	0x20

#define MAX_VLAN	2
#define MAX_EXT		6
#define HEAD_MAX	12	/* bytes of a connection's head the model keeps */
#define TLS_HEAD	11	/* record header, handshake header, client_version */
#define SSH_HEAD	8	/* "SSH-2.0-" */
#define ACK_WINDOW	65536	/* client ACKs that acknowledge the host's data */

/* ---- state: three small chained hash tables keyed by tuple ---- */

struct flow {
	bool rcv_nxt_known;	/* the host has ACKed something */
	uint32_t rcv_nxt;	/* its last ACK */
	bool closing;
};

struct conn {
	enum model_conn_state state;
	uint8_t reason;
	uint8_t have;
	bool proven;		/* a client ACKed exactly the host's ISN + 1 */
	uint32_t first_seq;	/* the client's first payload byte */
	uint32_t srv_isn;
	uint8_t head[HEAD_MAX];
};

struct syn_data {
	uint32_t isn;
	uint32_t datalen;
	uint8_t len;
	uint8_t head[HEAD_MAX];
};

enum { T_FLOW, T_CONN, T_SYN, T_NR };

struct entry {
	struct entry *next;
	struct model_tuple key;
	union {
		struct flow flow;
		struct conn conn;
		struct syn_data syn;
	} v;
};

#define BUCKETS 4096

struct model_state {
	struct entry *tab[T_NR][BUCKETS];
	unsigned int notes;	/* enum model_note, of the last model_xdp() */
	bool has_last;		/* last: the tuple of the last model_xdp() */
	struct model_tuple last;
};

/* The model is one state per configuration; judge() and parse_l4() note
 * into the state being judged. */
static struct model_state *noting;

static void note(unsigned int n)
{
	if (noting)
		noting->notes |= n;
}

unsigned int model_last_notes(const struct model_state *st)
{
	return st->notes;
}

bool model_last_tuple(const struct model_state *st, struct model_tuple *t)
{
	if (st->has_last)
		*t = st->last;
	return st->has_last;
}

static unsigned int tuple_hash(const struct model_tuple *t)
{
	uint32_t h = 2166136261u;
	const uint8_t *p;
	size_t i;

	for (p = t->remote, i = 0; i < 16; i++)
		h = (h ^ p[i]) * 16777619u;
	for (p = t->local, i = 0; i < 16; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ t->remote_port) * 16777619u;
	h = (h ^ t->local_port) * 16777619u;
	h = (h ^ t->proto) * 16777619u;
	return h % BUCKETS;
}

static bool tuple_eq(const struct model_tuple *a, const struct model_tuple *b)
{
	return !memcmp(a->remote, b->remote, 16) && !memcmp(a->local, b->local, 16) &&
	       a->remote_port == b->remote_port && a->local_port == b->local_port &&
	       a->proto == b->proto;
}

static struct entry *find(const struct model_state *st, int t, const struct model_tuple *k)
{
	struct entry *e;

	for (e = st->tab[t][tuple_hash(k)]; e; e = e->next)
		if (tuple_eq(&e->key, k))
			return e;
	return NULL;
}

/* The entry for k, created zeroed when absent (NULL only when out of memory). */
static struct entry *get(struct model_state *st, int t, const struct model_tuple *k)
{
	struct entry *e = find(st, t, k);
	unsigned int b;

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	b = tuple_hash(k);
	e->key = *k;
	e->next = st->tab[t][b];
	st->tab[t][b] = e;
	return e;
}

static void del(struct model_state *st, int t, const struct model_tuple *k)
{
	struct entry **pp, *e;

	for (pp = &st->tab[t][tuple_hash(k)]; (e = *pp); pp = &e->next) {
		if (tuple_eq(&e->key, k)) {
			*pp = e->next;
			free(e);
			return;
		}
	}
}

struct model_state *model_new(void)
{
	return calloc(1, sizeof(struct model_state));
}

void model_reset(struct model_state *st)
{
	for (int t = 0; t < T_NR; t++) {
		for (int b = 0; b < BUCKETS; b++) {
			struct entry *e = st->tab[t][b], *n;

			for (; e; e = n) {
				n = e->next;
				free(e);
			}
			st->tab[t][b] = NULL;
		}
	}
}

void model_free(struct model_state *st)
{
	if (!st)
		return;
	model_reset(st);
	free(st);
}

void model_forget(struct model_state *st, const struct model_tuple *t)
{
	for (int i = 0; i < T_NR; i++)
		del(st, i, t);
}

struct model_flow_view model_flow(const struct model_state *st, const struct model_tuple *t)
{
	const struct entry *e = find(st, T_FLOW, t);

	if (!e)
		return (struct model_flow_view){ .exists = false };
	return (struct model_flow_view){ true, e->v.flow.rcv_nxt_known, e->v.flow.rcv_nxt,
					 e->v.flow.closing };
}

struct model_conn_view model_conn(const struct model_state *st, const struct model_tuple *t)
{
	const struct entry *e = find(st, T_CONN, t);

	struct model_conn_view v = { MODEL_CONN_NONE, 0, 0, 0, { 0 } };

	if (!e)
		return v;
	v.state = e->v.conn.state;
	v.reason = e->v.conn.reason;
	v.have = e->v.conn.have;
	v.first_seq = e->v.conn.first_seq;
	memcpy(v.head, e->v.conn.head, sizeof(v.head));
	return v;
}

void model_seed(struct model_state *st, const struct model_tuple *t)
{
	struct entry *e = get(st, T_CONN, t);

	if (e)
		e->v.conn = (struct conn){ .state = MODEL_CONN_OK, .proven = true };
}

/* ---- parsing: one frame into what the policy looks at ---- */

static uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

enum parse_result {
	PARSE_IP,		/* an IP packet: see struct pkt */
	PARSE_ARP,
	PARSE_ETHERTYPE,	/* another ethertype (in ethertype) */
	PARSE_MALFORMED,
};

struct pkt {
	uint16_t ethertype;
	bool v6;
	uint8_t src[16], dst[16];
	uint8_t hlim;
	uint8_t proto;
	bool frag_later;	/* not the first fragment: no L4 header */
	bool frag_first;	/* first fragment of several */
	const uint8_t *l4;	/* the rest of the datagram */
	uint32_t l4_len;
};

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* SPEC §2 steps 1-2: frames, VLAN tags, IPv4 options, IPv6 extension headers. */
static enum parse_result parse(const uint8_t *b, size_t len, struct pkt *p)
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
						note(MODEL_NOTE_EXT_PAST_PLEN);
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
						note(MODEL_NOTE_AFTER_FRAG);
					break;
				}
				if (fo & 1)
					p->frag_first = true;
				continue;
			}
			if (cur + 2 > end) {
				if (off + cur + 2 <= len)
					note(MODEL_NOTE_EXT_PAST_PLEN);
				return PARSE_MALFORMED;
			}
			hlen = (ip[cur + 1] + 1) * 8;
			if (cur + hlen > end) {
				if (off + cur + hlen <= len)
					note(MODEL_NOTE_EXT_PAST_PLEN);
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

/* The L4 header of a TCP, UDP or ICMP packet, checked against the datagram. */
struct l4 {
	uint16_t sport, dport;	/* ICMP echo: the identifier in both */
	uint8_t flags;
	uint32_t seq, ack;
	uint8_t type, code;	/* ICMP */
	const uint8_t *data;
	uint32_t data_len;
};

static bool is_icmp(const struct pkt *p)
{
	return p->proto == (p->v6 ? P_ICMPV6 : P_ICMP);
}

/* false: truncated or inconsistent (malformed). */
static bool parse_l4(const struct pkt *p, struct l4 *l)
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
			note(MODEL_NOTE_UDP_LEN);
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
	if (is_icmp(p)) {
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

enum port_class { PC_NONE, PC_TLS, PC_SSH };

static enum port_class port_class(const struct model_config *cfg, uint16_t port)
{
	if (port_in(cfg->tls_ports, cfg->n_tls_ports, port))
		return PC_TLS;
	if (port_in(cfg->ssh_ports, cfg->n_ssh_ports, port))
		return PC_SSH;
	return PC_NONE;
}

/* A validated port: its connections carry state. */
static bool validated(const struct model_config *cfg, enum port_class pc)
{
	return (pc == PC_TLS && cfg->tls_validate) || (pc == PC_SSH && cfg->ssh_validate);
}

static unsigned int head_need(enum port_class pc)
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
		note(MODEL_NOTE_VERSION_MAJOR);
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

	if (is_icmp(p) && l->type != (p->v6 ? 129 : 0))
		return false;
	if (p->proto != P_TCP && p->proto != P_UDP && !is_icmp(p))
		return false;
	e = find(st, T_FLOW, &t);
	if (!e)
		return false;
	if (p->proto == P_TCP && e->v.flow.rcv_nxt_known && l->seq == e->v.flow.rcv_nxt) {
		if (!l->seq && (l->flags & (F_RST | F_FIN)))
			note(MODEL_NOTE_ACK_ZERO);
		if (l->flags & F_RST)
			del(st, T_FLOW, &t);
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
	unsigned int need = head_need(pc), n, have;
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
			note(MODEL_NOTE_SYN_URG);
			return bad;	/* an urgent pointer into the first bytes */
		}
		n = l->data_len < need ? l->data_len : need;
		r = judge(cfg, pc, l->data, n);
		if (r)
			return res(MOAT_V_DROP, r);
		if ((s = get(st, T_SYN, &t))) {
			s->v.syn.isn = l->seq;
			s->v.syn.datalen = l->data_len;
			s->v.syn.len = n;
			memcpy(s->v.syn.head, l->data, n);
		}
		return ok;
	}

	e = find(st, T_CONN, &t);
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
	if (!parse_l4(p, &l))
		return DROP(MALFORMED);
	if (p->proto == P_TCP || p->proto == P_UDP || is_icmp(p)) {
		st->last = tuple_in(p, &l);
		st->has_last = true;
	}
	/* 5. */
	if (reply(st, p, &l))
		return PASS(REPLY);
	/* 6. */
	if (is_icmp(p))
		return icmp(cfg, p, &l);
	if (p->proto != P_TCP && p->proto != P_UDP)
		return DROP(PORT);
	pc = port_class(cfg, l.dport);
	/* 7. */
	if (pc == PC_TLS && p->proto == P_UDP) {
		if (!cfg->quic)
			return DROP(PORT);
		/* bytes after the UDP length are no part of the datagram */
		if (l.data_len < p->l4_len - 8)
			note(MODEL_NOTE_QUIC_BEYOND);
		/* a QUIC long header: form and fixed bits, then a version */
		if (l.data_len >= 5 && (l.data[0] & 0xc0) == 0xc0)
			return PASS(TLS);
		if (l.data_len && (l.data[0] & 0xc0) == 0xc0)
			note(MODEL_NOTE_QUIC_SHORT);
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
	noting = st;
	switch (parse(frame, len, &p)) {
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
	noting = NULL;
	if (cfg->monitor && r.verdict == MOAT_V_DROP)
		r.verdict = MOAT_V_MONITOR_DROP;
	return r;
}

/* ---- egress: what the host sends ---- */

/* The host's SYN-ACK on a validated port: a new connection, its first byte
 * the SYN-ACK's ACK number, or the Fast Open SYN's payload if it took it. */
static void host_synack(struct model_state *st, enum port_class pc, const struct model_tuple *t,
			const struct l4 *l)
{
	struct entry *s = find(st, T_SYN, t), *e = find(st, T_CONN, t);
	unsigned int need = head_need(pc);
	struct conn *c;

	/* a retransmission of the SYN-ACK that made the entry starts nothing */
	if (e && e->v.conn.srv_isn == l->seq)
		return;
	e = get(st, T_CONN, t);
	if (!e)
		return;
	c = &e->v.conn;
	*c = (struct conn){ .state = MODEL_CONN_AWAIT, .first_seq = l->ack, .srv_isn = l->seq };
	if (s) {
		struct syn_data *d = &s->v.syn;

		/* The Fast Open SYN's payload starts the stream whether the
		 * host took it (its ACK is past it) or not (the client sends
		 * the same bytes again). */
		if (l->ack == d->isn + 1 || l->ack == d->isn + 1 + d->datalen) {
			c->first_seq = d->isn + 1;
			memcpy(c->head, d->head, d->len);
			c->have = d->len;
			if (d->len >= need && l->ack - c->first_seq >= need)
				c->state = MODEL_CONN_OK;	/* the host took the head */
		}
		del(st, T_SYN, t);
	}
}

void model_egress(struct model_state *st, const struct model_config *cfg,
		  const uint8_t *frame, size_t len)
{
	struct model_tuple t;
	struct entry *e;
	struct pkt p;
	struct l4 l;

	st->notes = 0;
	if (parse(frame, len, &p) != PARSE_IP || p.frag_later || !parse_l4(&p, &l))
		return;
	/* in the XDP program's direction: remote = where the host sends to */
	memset(&t, 0, sizeof(t));
	memcpy(t.remote, p.dst, 16);
	memcpy(t.local, p.src, 16);
	t.remote_port = l.dport;
	t.local_port = l.sport;
	t.proto = p.proto;

	if (p.proto == P_UDP) {
		if ((e = get(st, T_FLOW, &t)))
			e->v.flow = (struct flow){ 0 };
		return;
	}
	if (is_icmp(&p)) {
		if (l.type == (p.v6 ? 128 : 8) && (e = get(st, T_FLOW, &t)))
			e->v.flow = (struct flow){ 0 };
		return;
	}
	if (p.proto != P_TCP)
		return;

	/* the host's SYN opens a flow; its RST ends it; its ACKs say where
	 * the peer's RST or FIN must sit (a new SYN on the flow changes
	 * nothing of that: the host's last ACK is still its last ACK) */
	e = find(st, T_FLOW, &t);
	if (e && (l.flags & F_RST)) {
		del(st, T_FLOW, &t);
	} else if (e) {
		if (l.flags & F_ACK) {
			e->v.flow.rcv_nxt_known = true;
			e->v.flow.rcv_nxt = l.ack;
			if (!l.ack)
				st->notes |= MODEL_NOTE_ACK_ZERO;
		}
		if (l.flags & F_FIN)
			e->v.flow.closing = true;	/* short timeout from now on */
	} else if ((l.flags & (F_SYN | F_ACK | F_RST)) == F_SYN && (e = get(st, T_FLOW, &t))) {
		e->v.flow = (struct flow){ 0 };
	}

	{
		enum port_class pc = port_class(cfg, l.sport);
		struct conn *c;

		if (!validated(cfg, pc))
			return;
		if ((l.flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
			host_synack(st, pc, &t, &l);
			return;
		}
		e = find(st, T_CONN, &t);
		if (!e || !(l.flags & F_ACK) || (l.flags & (F_SYN | F_RST)))
			return;
		c = &e->v.conn;
		/* The host's ACK covering the whole head confirms it, once the
		 * head is known whole. An entry that was never proven judged
		 * every head segment whole, from the first byte. */
		if (c->state == MODEL_CONN_AWAIT &&
		    (int32_t)(l.ack - c->first_seq) >= (int32_t)head_need(pc) &&
		    (!c->proven || c->have >= head_need(pc)))
			c->state = MODEL_CONN_OK;
	}
}

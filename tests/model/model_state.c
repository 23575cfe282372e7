// SPDX-License-Identifier: GPL-2.0
/*
 * The reference model's state (README "Connection state"): flows the host
 * opened, inbound connections on validated ports and Fast Open SYN
 * payloads, in three small tables keyed by tuple; and the egress side,
 * which is all about that state.
 */
#include <stdlib.h>
#include <string.h>
#include "moat/reasons.h"
#include "model_int.h"

/* The model is one state per configuration; judge() and model_parse_l4() note
 * into the state being judged. */
struct model_state *model_noting;

void model_note(unsigned int n)
{
	if (model_noting)
		model_noting->notes |= n;
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

struct entry *model_find(const struct model_state *st, int t, const struct model_tuple *k)
{
	struct entry *e;

	for (e = st->tab[t][tuple_hash(k)]; e; e = e->next)
		if (tuple_eq(&e->key, k))
			return e;
	return NULL;
}

/* The entry for k, created zeroed when absent (NULL only when out of memory). */
struct entry *model_get(struct model_state *st, int t, const struct model_tuple *k)
{
	struct entry *e = model_find(st, t, k);
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

void model_del(struct model_state *st, int t, const struct model_tuple *k)
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
		model_del(st, i, t);
}

struct model_flow_view model_flow(const struct model_state *st, const struct model_tuple *t)
{
	const struct entry *e = model_find(st, T_FLOW, t);

	if (!e)
		return (struct model_flow_view){ .exists = false };
	return (struct model_flow_view){ true, e->v.flow.rcv_nxt_known, e->v.flow.rcv_nxt,
					 e->v.flow.closing };
}

struct model_conn_view model_conn(const struct model_state *st, const struct model_tuple *t)
{
	const struct entry *e = model_find(st, T_CONN, t);

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
	struct entry *e = model_get(st, T_CONN, t);

	if (e)
		e->v.conn = (struct conn){ .state = MODEL_CONN_OK, .proven = true };
}


/* ---- egress: what the host sends ---- */

/* The host's SYN-ACK on a validated port: a new connection, its first byte
 * the SYN-ACK's ACK number, or the Fast Open SYN's payload if it took it. */
static void host_synack(struct model_state *st, enum port_class pc, const struct model_tuple *t,
			const struct l4 *l)
{
	struct entry *s = model_find(st, T_SYN, t), *e = model_find(st, T_CONN, t);
	unsigned int need = model_head_need(pc);
	struct conn *c;

	/* a retransmission of the SYN-ACK that made the entry starts nothing */
	if (e && e->v.conn.srv_isn == l->seq)
		return;
	e = model_get(st, T_CONN, t);
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
		model_del(st, T_SYN, t);
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
	if (model_parse(frame, len, &p) != PARSE_IP || p.frag_later || !model_parse_l4(&p, &l))
		return;
	/* in the XDP program's direction: remote = where the host sends to */
	memset(&t, 0, sizeof(t));
	memcpy(t.remote, p.dst, 16);
	memcpy(t.local, p.src, 16);
	t.remote_port = l.dport;
	t.local_port = l.sport;
	t.proto = p.proto;

	if (p.proto == P_UDP) {
		if ((e = model_get(st, T_FLOW, &t)))
			e->v.flow = (struct flow){ 0 };
		return;
	}
	if (model_is_icmp(&p)) {
		if (l.type == (p.v6 ? 128 : 8) && (e = model_get(st, T_FLOW, &t)))
			e->v.flow = (struct flow){ 0 };
		return;
	}
	if (p.proto != P_TCP)
		return;

	/* the host's SYN opens a flow; its RST ends it; its ACKs say where
	 * the peer's RST or FIN must sit (a new SYN on the flow changes
	 * nothing of that: the host's last ACK is still its last ACK) */
	e = model_find(st, T_FLOW, &t);
	if (e && (l.flags & F_RST)) {
		model_del(st, T_FLOW, &t);
	} else if (e) {
		if (l.flags & F_ACK) {
			e->v.flow.rcv_nxt_known = true;
			e->v.flow.rcv_nxt = l.ack;
			if (!l.ack)
				st->notes |= MODEL_NOTE_ACK_ZERO;
		}
		if (l.flags & F_FIN)
			e->v.flow.closing = true;	/* short timeout from now on */
	} else if ((l.flags & (F_SYN | F_ACK | F_RST)) == F_SYN && (e = model_get(st, T_FLOW, &t))) {
		e->v.flow = (struct flow){ 0 };
	}

	{
		enum port_class pc = model_port_class(cfg, l.sport);
		struct conn *c;

		if (!model_validated(cfg, pc))
			return;
		if ((l.flags & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
			host_synack(st, pc, &t, &l);
			return;
		}
		e = model_find(st, T_CONN, &t);
		if (!e || !(l.flags & F_ACK) || (l.flags & (F_SYN | F_RST)))
			return;
		c = &e->v.conn;
		/* The host's ACK covering the whole head confirms it, once the
		 * head is known whole. An entry that was never proven judged
		 * every head segment whole, from the first byte. */
		if (c->state == MODEL_CONN_AWAIT &&
		    (int32_t)(l.ack - c->first_seq) >= (int32_t)model_head_need(pc) &&
		    (!c->proven || c->have >= model_head_need(pc)))
			c->state = MODEL_CONN_OK;
	}
}

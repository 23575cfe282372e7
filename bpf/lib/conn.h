/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inbound connections on validated ports (SPEC §2 steps 7-8, README
 * "Connection state"): the first bytes judged at ingress, the state made
 * and confirmed from the host's own packets at egress.
 *
 * Part of bpf/moat.bpf.c, included after its .rodata (reads tls_validate,
 * ssh_validate, tls_min_version, conn_key). One
 * object, because ingress and egress share these maps: every program of
 * a generation must see one copy of them (bpf/moat.bpf.c says more).
 */
#ifndef MOAT_BPF_CONN_H
#define MOAT_BPF_CONN_H

#define EEXIST_		17	/* errno: a map update found the key there */

/* Inbound connections on validated ports (shared.h: struct moat_conn). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOAT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_conn_locked);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_PENDING);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_conn);
} conn_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOAT_MAX_SYN_DATA);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct moat_flow_key);
	__type(value, struct moat_syn_data);
} conn_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOAT_CONN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} conn_ok SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MOAT_CONN_EV_NR);
	__type(key, __u32);
	__type(value, __u64);
} conn_events SEC(".maps");


/*
 * 7./8. with validation (README "Connection state"; shared.h moat_conn).
 * Every segment that carries any of the first head_len() bytes of a
 * connection is judged, alone and together with what is known of the
 * bytes before it; once the host has acknowledged them all, the rest of
 * the connection passes. Only the host's own packets (egress) create an
 * entry or confirm it, only a peer that saw the host's SYN-ACK can make
 * it unevictable or mark it BAD, and nothing on ingress deletes one.
 */
static __always_inline __u32 head_len(__u8 class)
{
	return class == MOAT_PORT_SSH ? 8 : 11;
}

/*
 * 0 when the n first bytes of a stream (n <= head_len) can start the
 * port's protocol, else the reason to drop. TLS: record type 22, version
 * 3.1-3.4, a length from the handshake header to 2^14; handshake type 1
 * (ClientHello) whose length fills the record at least (a ClientHello is
 * at least 41 bytes), client_version 3.x and >= tls.min_version. SSLv2
 * hellos are tls_version. SSH: "SSH-2.0-".
 */
/* Stack copies of the head: room for the verifier's bounds. */
#define HEAD_BUF	32

struct head {
	__u8 b[HEAD_BUF];
};

/*
 * A global function: the verifier checks it once, not at each of its call
 * sites, and it has many branches.
 */
__noinline int head_reason(const struct head *h, __u32 n, __u32 class)
{
	const __u8 *b;
	__u32 rec, hs;

	if (!h)
		return MOAT_R_NOT_TLS;
	b = h->b;

	if (class == MOAT_PORT_SSH) {
		const char ssh[8] = "SSH-2.0-";

#pragma unroll
		for (int i = 0; i < 8; i++)
			if (i < n && b[i] != (__u8)ssh[i])
				return MOAT_R_NOT_SSH;
		return 0;
	}
	if (n >= 3 && (b[0] & 0x80) && b[2] == 1)
		return MOAT_R_TLS_VERSION;	/* SSLv2: no TLS >= 1.0 client needs it */
	if (n >= 1 && b[0] != 22)
		return MOAT_R_NOT_TLS;
	if (n >= 2 && b[1] != 3)
		return MOAT_R_NOT_TLS;
	if (n >= 3 && (b[2] < 1 || b[2] > 4))
		return MOAT_R_NOT_TLS;
	if (n >= 4 && b[3] > 0x40)
		return MOAT_R_NOT_TLS;
	rec = (__u32)b[3] << 8 | b[4];
	if (n >= 5 && (rec < 4 || rec > 16384))
		return MOAT_R_NOT_TLS;
	if (n >= 6 && b[5] != 1)
		return MOAT_R_NOT_TLS;
	hs = (__u32)b[6] << 16 | (__u32)b[7] << 8 | b[8];
	if (n >= 9 && (hs < 41 || hs + 4 < rec))
		return MOAT_R_NOT_TLS;
	if (n >= 10 && b[9] != 3)
		return MOAT_R_NOT_TLS;
	if (n >= 11 && ((__u32)b[9] << 8 | b[10]) < tls_min_version)
		return MOAT_R_TLS_VERSION;
	return 0;
}

static __always_inline int not_proto(__u8 class)
{
	return class == MOAT_PORT_SSH ? MOAT_R_NOT_SSH : MOAT_R_NOT_TLS;
}

/* The conn_ok slot of a tuple whose keyed hash is h. */
static __always_inline __u64 *ok_slot(__u64 h)
{
	__u32 idx = h % MOAT_CONN_SLOTS;

	return bpf_map_lookup_elem(&conn_ok, &idx);
}

static __always_inline void conn_event(__u32 ev)
{
	__u64 *n = bpf_map_lookup_elem(&conn_events, &ev);

	if (n)
		++*n;
}


/*
 * The part of a segment that falls in the head, copied to the same place
 * in buf (buf[0] = the byte at first_seq); returns how many bytes (0:
 * none) and where they start (*at). rel is the segment's sequence number
 * relative to first_seq.
 */
static __always_inline __u32 head_bytes(const struct pkt *p, __u32 payload_off, __u32 len,
					__s32 rel, __u32 need, __u8 *buf, __u32 *at)
{
	__u32 skip = rel < 0 ? -rel : 0, k;
	__u64 n, o;

	*at = rel < 0 ? 0 : rel;
	if (len <= skip || *at >= need)
		return 0;
	k = len - skip;
	if (k > need - *at)
		k = need - *at;
	if (!k || k > MOAT_CONN_HEAD)
		return 0;
	/* The bounds above, redone on the registers the helper gets: clang
	 * checks 32-bit copies otherwise, and the verifier wants these. */
	n = k - 1;
	o = *at;
	asm volatile("%[n] &= 15" : [n] "+r"(n));
	asm volatile("%[o] &= 15" : [o] "+r"(o));
	if (bpf_xdp_load_bytes(p->ctx, payload_off + skip, buf + o, n + 1))
		return 0;
	return k;
}

/* Whether the segment acknowledges the host's SYN-ACK: its sender saw it. */
static __always_inline int acks_host(const struct tcphdr *th, __u32 srv_isn)
{
	return th->ack && bpf_ntohl(th->ack_seq) - (srv_isn + 1) < MOAT_CONN_ACK_WINDOW;
}

/* A connection in conns: the head judged and kept under the entry's lock.
 * Like every judge here: 0 when the segment passes, else the drop reason. */
static __always_inline int judge_tracked(const struct pkt *p, const struct tcphdr *th,
					 struct moat_conn_locked *e, __u32 payload_off, __u32 len,
					 __u8 class)
{
	struct head seg = {}, cand = {};
	__u32 need = head_len(class), at = 0, k, n, have;
	struct moat_conn *c = &e->c;
	int r = 0, keep;

	if (c->state == MOAT_CONN_OK)
		return 0;
	if (c->state == MOAT_CONN_BAD)
		return c->reason;
	/* Urgent data: the kernel takes the marked byte out of the stream,
	 * so the application would not read what was judged. Before the head
	 * is confirmed, no segment may mark one. */
	if (th->urg)
		return not_proto(class);
	k = head_bytes(p, payload_off, len, bpf_ntohl(th->seq) - c->first_seq, need, seg.b, &at);
	if (!k)		/* nothing of the head: before it (keep-alive) or after it */
		return 0;
	keep = !p->dry && acks_host(th, c->srv_isn);

	bpf_spin_lock(&e->lock);
	have = c->have;
	if (at > have || have > MOAT_CONN_HEAD) {
		r = -1;		/* a hole before it: it would be judged out of context */
		goto unlock;
	}
	n = at + k > have ? at + k : have;
#pragma unroll
	for (__u32 i = 0; i < MOAT_CONN_HEAD; i++) {
		int mine = i >= at && i < at + k;

		if (i < have) {
			cand.b[i] = c->head[i];
			if (mine && seg.b[i] != cand.b[i])
				r = -1;	/* disagrees with what the host may hold */
		} else {
			cand.b[i] = seg.b[i];
		}
	}
	if (r)
		goto unlock;
	/* No call under a lock: judged outside it, kept only if nothing
	 * changed meanwhile (else dropped undecided, and sent again). */
	bpf_spin_unlock(&e->lock);
	r = head_reason(&cand, n, class);
	bpf_spin_lock(&e->lock);
	if (c->have != have || c->state != MOAT_CONN_AWAIT) {
		r = -1;
		goto unlock;
	}
	if (keep) {
		if (r) {
			c->state = MOAT_CONN_BAD;
			c->reason = r;
		} else {
#pragma unroll
			for (__u32 i = 0; i < MOAT_CONN_HEAD; i++)
				c->head[i] = cand.b[i];
			c->have = n;
		}
	}
unlock:
	bpf_spin_unlock(&e->lock);
	return r < 0 ? not_proto(class) : r;
}

/*
 * Judged on its own bytes: a connection in conn_pending (keeps nothing: the
 * head must come whole, from the first byte) or none at all (rel 0: the
 * segment is taken as the first one of a new connection).
 */
static __always_inline int judge_alone(const struct pkt *p, __u32 payload_off, __u32 len,
				       __s32 rel, int whole, __u8 class)
{
	struct head seg = {};
	__u32 need = head_len(class), at = 0, k;

	k = head_bytes(p, payload_off, len, rel, need, seg.b, &at);
	if (!k)
		return 0;
	if (at || (whole && k < need))
		return not_proto(class);
	return head_reason(&seg, k, class);
}

/*
 * A connection with no state that the host knows: its request socket (a
 * SYN-ACK whose entry a flood pushed out of conn_pending), a valid SYN
 * cookie (the host kept nothing), or an established socket that has taken
 * no byte yet (one that was mid-handshake when moat took over). The host's
 * own state says where the stream starts: an entry goes into conns, as if
 * the client's ACK had moved it from conn_pending. 1 when it did.
 */
static __always_inline int conn_from_host(const struct pkt *p, const struct tcphdr *th,
					  const struct moat_flow_key *key)
{
	struct moat_conn_locked fresh = { .c = { .state = MOAT_CONN_AWAIT } };
	struct bpf_sock_tuple t = {};
	struct tcp_request_sock *rsk;
	struct bpf_sock *skc;
	struct tcp_sock *tp;
	__u32 ack = bpf_ntohl(th->ack_seq), size;
	int found = 0;

	if (!th->ack || th->syn || th->rst || th->fin)
		return 0;
	if (p->v6) {
		__builtin_memcpy(t.ipv6.saddr, &p->src, 16);
		__builtin_memcpy(t.ipv6.daddr, &p->dst, 16);
		t.ipv6.sport = th->source;
		t.ipv6.dport = th->dest;
		size = sizeof(t.ipv6);
	} else {
		t.ipv4.saddr = p->src.a[3];
		t.ipv4.daddr = p->dst.a[3];
		t.ipv4.sport = th->source;
		t.ipv4.dport = th->dest;
		size = sizeof(t.ipv4);
	}
	skc = bpf_skc_lookup_tcp(p->ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!skc)
		return 0;
	if (skc->state == BPF_TCP_LISTEN) {
		/* The host answered with a SYN cookie: the ACK carries it.
		 * (Bounds again: the verifier does not tie p->l3 to p->v6.) */
		void *end = (void *)(long)((struct xdp_md *)p->ctx)->data_end;
		long bad = 1;

		if (p->v6 && p->l3 + sizeof(struct ipv6hdr) <= end &&
		    (void *)th + sizeof(*th) <= end)
			bad = bpf_tcp_raw_check_syncookie_ipv6(p->l3, (void *)th);
		else if (!p->v6 && p->l3 + sizeof(struct iphdr) <= end &&
			 (void *)th + sizeof(*th) <= end)
			bad = bpf_tcp_raw_check_syncookie_ipv4(p->l3, (void *)th);
		if (!bad) {
			fresh.c.first_seq = bpf_ntohl(th->seq);
			fresh.c.srv_isn = ack - 1;
			found = 1;
		}
	} else if (skc->state == BPF_TCP_NEW_SYN_RECV) {
		rsk = bpf_skc_to_tcp_request_sock(skc);
		if (rsk && ack == rsk->snt_isn + 1) {
			fresh.c.first_seq = rsk->rcv_isn + 1;
			fresh.c.srv_isn = rsk->snt_isn;
			found = 1;
		}
	} else {
		tp = bpf_skc_to_tcp_sock(skc);
		if (tp && tp->bytes_received == 0) {
			fresh.c.first_seq = tp->rcv_nxt;
			fresh.c.srv_isn = tp->snd_una - 1;
			found = 1;
		}
	}
	bpf_sk_release(skc);
	if (!found)
		return 0;
	fresh.c.created_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&conns, key, &fresh, BPF_NOEXIST)) {
		conn_event(MOAT_CONN_EV_TABLE_FULL);
		return 0;
	}
	return 1;
}

static __always_inline int judge_conn(const struct pkt *p, const struct tcphdr *th,
				      void *payload, __u8 class)
{
	struct moat_flow_key key = {
		.remote = p->src, .local = p->dst,
		.remote_port = th->source, .local_port = th->dest, .proto = IPPROTO_TCP,
	};
	__u32 len = p->l3_end - payload, off = payload - p->data;
	struct moat_conn_locked *e, moved = {};
	struct moat_conn *pc;
	__u64 h, *ok;
	int r;

	if (th->syn && !th->ack) {
		/* Whatever state the tuple has, the host decides what a SYN
		 * means (a challenge ACK, or a SYN-ACK for a new connection),
		 * and its answer is what changes the state. With TCP Fast Open
		 * the SYN's own payload is the first: judged, and kept aside
		 * until the SYN-ACK says whether the host took it. */
		struct moat_syn_data sd = { .isn = bpf_ntohl(th->seq), .datalen = len };
		struct head seg = {};
		__u32 at;

		if (!len)
			return 0;
		sd.len = head_bytes(p, off, len, 0, head_len(class), seg.b, &at);
		__builtin_memcpy(sd.head, seg.b, sizeof(sd.head));
		r = head_reason(&seg, sd.len, class);
		if (!r && !p->dry && sd.len)
			bpf_map_update_elem(&conn_syn, &key, &sd, BPF_ANY);
		return r;
	}

	/* Confirmed: the fast path (shared.h: conn_ok). */
	h = moat_conn_hash(conn_key, &key);
	ok = ok_slot(h);
	if (ok && *ok == h)
		return 0;

	e = bpf_map_lookup_elem(&conns, &key);
	if (!e && (pc = bpf_map_lookup_elem(&conn_pending, &key))) {
		__s32 rel = bpf_ntohl(th->seq) - pc->first_seq;

		if (pc->state == MOAT_CONN_OK)
			return 0;
		if (th->urg)	/* see judge_tracked */
			return not_proto(class);
		/* Only the exact ACK the host's request socket wants moves it:
		 * one the kernel refuses is answered with a RST. */
		if (p->dry || !th->ack || bpf_ntohl(th->ack_seq) != pc->srv_isn + 1)
			return judge_alone(p, off, len, rel, 1, class);
		/* The peer saw the host's SYN-ACK: a real connection, out of
		 * reach of eviction from now on. */
		moved.c = *pc;
		moved.c.created_ns = bpf_ktime_get_ns();
		r = bpf_map_update_elem(&conns, &key, &moved, BPF_NOEXIST);
		if (r && r != -EEXIST_) {	/* -EEXIST: another CPU moved it */
			conn_event(MOAT_CONN_EV_TABLE_FULL);
			return judge_alone(p, off, len, rel, 1, class);
		}
		bpf_map_delete_elem(&conn_pending, &key);
		e = bpf_map_lookup_elem(&conns, &key);
		if (!e)
			return not_proto(class);
	} else if (!e) {
		/*
		 * No state: a connection moat never saw the host accept (those
		 * that predate moat were seeded into conns), unless the host
		 * itself knows it (conn_from_host). Without its first sequence
		 * number, its bytes cannot be judged where the kernel will put
		 * them: it fails closed, whatever it carries. moatctl check asks
		 * what the first bytes of a new connection would get: judged
		 * from the start.
		 */
		if (p->dry)
			return judge_alone(p, off, len, 0, 0, class);
		if (conn_from_host(p, th, &key))
			e = bpf_map_lookup_elem(&conns, &key);
		if (!e) {
			if (!len && !th->urg)
				return 0;
			conn_event(MOAT_CONN_EV_UNTRACKED);
			return not_proto(class);
		}
	}
	return judge_tracked(p, th, e, off, len, class);
}


/*
 * Egress, inbound connections on validated ports (judge_conn): the host's
 * SYN-ACK starts a connection's state, its ACK of the whole head confirms
 * it, its RST ends it. These are the host's own packets: no one else can
 * make them.
 */
static __always_inline void track_inbound(const struct pkt *p, const struct tcphdr *th,
					  __u8 class)
{
	struct moat_flow_key key = {
		.remote = p->dst, .local = p->src,
		.remote_port = th->dest, .local_port = th->source, .proto = IPPROTO_TCP,
	};
	__u32 seq = bpf_ntohl(th->seq), ack = bpf_ntohl(th->ack_seq), need = head_len(class);
	struct moat_conn fresh = { .state = MOAT_CONN_AWAIT };
	__u64 h = moat_conn_hash(conn_key, &key), *ok = ok_slot(h);
	struct moat_conn_locked *e;
	struct moat_syn_data *sd;
	struct moat_conn *pc;
	int confirmed = 0;

	if (th->syn) {
		if (!th->ack)
			return;
		pc = bpf_map_lookup_elem(&conn_pending, &key);
		if (pc && pc->srv_isn == seq)
			return;		/* a retransmission: same connection */
		e = bpf_map_lookup_elem(&conns, &key);
		if (e && e->c.srv_isn == seq)
			return;
		/* The host takes a new connection on this tuple (an old one
		 * is over): judged afresh. */
		if (ok && *ok == h)
			*ok = 0;
		if (e)
			bpf_map_delete_elem(&conns, &key);
		fresh.created_ns = bpf_ktime_get_ns();
		fresh.first_seq = ack;
		fresh.srv_isn = seq;
		sd = bpf_map_lookup_elem(&conn_syn, &key);
		if (sd) {
			/* A Fast Open SYN: its payload starts the stream whether
			 * the host took it (ack past it) or not (sent again). */
			if (ack == sd->isn + 1 || ack == sd->isn + 1 + sd->datalen) {
				fresh.first_seq = sd->isn + 1;
				__builtin_memcpy(fresh.head, sd->head, sizeof(fresh.head));
				fresh.have = sd->len;
				if (fresh.have >= need && ack - fresh.first_seq >= need) {
					fresh.state = MOAT_CONN_OK;
					confirmed = 1;
				}
			}
			bpf_map_delete_elem(&conn_syn, &key);
		}
		bpf_map_update_elem(&conn_pending, &key, &fresh, BPF_ANY);
		if (confirmed && ok)
			*ok = h;
		return;
	}
	/* Nothing ends here: a host RST may answer a packet the kernel
	 * refused (a bad ACK in SYN_RECV) while the connection lives on.
	 * moatd's sweep removes entries whose socket is gone; the SYN-ACK of
	 * a new connection on the tuple resets them. */
	if (th->rst || !th->ack || (ok && *ok == h))
		return;		/* confirmed already: nothing to learn */
	e = bpf_map_lookup_elem(&conns, &key);
	if (e) {
		if (e->c.state == MOAT_CONN_AWAIT && (__s32)(ack - (e->c.first_seq + need)) >= 0) {
			bpf_spin_lock(&e->lock);
			if (e->c.state == MOAT_CONN_AWAIT && e->c.have >= need) {
				e->c.state = MOAT_CONN_OK;
				confirmed = 1;
			}
			bpf_spin_unlock(&e->lock);
		}
	} else {
		/* conns was full: the head was judged whole in every segment. */
		pc = bpf_map_lookup_elem(&conn_pending, &key);
		if (pc && pc->state == MOAT_CONN_AWAIT &&
		    (__s32)(ack - (pc->first_seq + need)) >= 0) {
			pc->state = MOAT_CONN_OK;
			confirmed = 1;
		}
	}
	if (confirmed && ok)
		*ok = h;
}

static __always_inline int validated(__u8 class)
{
	return (class == MOAT_PORT_TLS && tls_validate) || (class == MOAT_PORT_SSH && ssh_validate);
}

#endif /* MOAT_BPF_CONN_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table's two ends in user space (README "Connection
 * state"): connections that predate moat are seeded from the host's socket
 * table, so that they are the only ones that pass without having been
 * judged; and entries whose socket is gone are swept, so that conns, which
 * nothing evicts, does not fill up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "moatd.h"
#include "moat/hash.h"
#include "lib/log.h"
#include "lib/socktab.h"

#define SWEEP_GRACE_NS	2000000000ULL

static bool validated(const struct moat_config *cfg, unsigned int port)
{
	for (size_t i = 0; cfg && cfg->tls.validate && i < cfg->tls.ports.n; i++)
		if (cfg->tls.ports.port[i] == port)
			return true;
	for (size_t i = 0; cfg && cfg->ssh.validate && i < cfg->ssh.ports.n; i++)
		if (cfg->ssh.ports.port[i] == port)
			return true;
	return false;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* As the XDP program sees an inbound packet of that socket. */
static void sock_key(const struct moat_sock *s, struct moat_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->remote = s->remote.addr;
	k->local = s->local.addr;
	k->remote_port = htons(s->rport);
	k->local_port = htons(s->lport);
	k->proto = IPPROTO_TCP;
}

struct seed {
	const struct moat_config *old, *cfg;
	bool all;
	int conns, pending, ok;
	__u64 key;
	unsigned int n;
};

/* The connection's conn_ok slot (shared.h): set to h, or cleared if it holds h. */
static void ok_slot(int fd, __u64 key, const struct moat_flow_key *k, bool set)
{
	__u64 h = moat_conn_hash(key, k), v = 0;
	__u32 idx = h % MOAT_CONN_SLOTS;

	if (set) {
		bpf_map_update_elem(fd, &idx, &h, BPF_ANY);
	} else if (!bpf_map_lookup_elem(fd, &idx, &v) && v == h) {
		v = 0;
		bpf_map_update_elem(fd, &idx, &v, BPF_ANY);
	}
}

static __u64 meta_conn_key(int meta_fd)
{
	struct moat_meta meta = {};

	moat_meta_read(meta_fd, &meta);
	return meta.conn_key;
}

static int seed_one(const struct moat_sock *s, void *ctx)
{
	struct seed *sd = ctx;
	struct moat_conn_locked v = {
		.c = { .state = MOAT_CONN_OK, .flags = MOAT_CONN_F_SEEDED, .created_ns = now_ns() },
	};
	struct moat_conn pending;
	struct moat_flow_key k;

	if (s->state == MOAT_TCP_LISTEN || s->state == MOAT_TCP_SYN_RECV ||
	    !validated(sd->cfg, s->lport) || (!sd->all && validated(sd->old, s->lport)))
		return 0;
	sock_key(s, &k);
	/* Started under moat: its state is the one that counts. */
	if (sd->pending >= 0 && !bpf_map_lookup_elem(sd->pending, &k, &pending))
		return 0;
	if (!bpf_map_update_elem(sd->conns, &k, &v, BPF_NOEXIST)) {
		if (sd->key)
			ok_slot(sd->ok, sd->key, &k, true);
		sd->n++;
	}
	return 0;
}

int moatd_seed_conns(const struct moat_config *old, const struct moat_config *cfg, bool all,
		     const struct moat_pins *m)
{
	struct seed sd = { old, cfg, all, m->conns, m->conn_pending, m->conn_ok,
			   meta_conn_key(m->meta), 0 };
	int ret;

	if (!all && !old)
		return 0;	/* adopted: the program in force kept track */
	ret = moat_socktab_foreach(seed_one, &sd);
	if (sd.n)
		moat_info("%u connection(s) that predate moat on validated ports pass as they are",
			  sd.n);
	return ret;
}

/* Sockets the host has, sorted, for the sweep's lookups. */
struct sockset {
	struct moat_flow_key *k;
	size_t n, cap;
};

static int push(struct sockset *set, const struct moat_flow_key *k)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 1024;
		void *a = realloc(set->k, cap * sizeof(*set->k));

		if (!a)
			return -ENOMEM;
		set->k = a;
		set->cap = cap;
	}
	set->k[set->n++] = *k;
	return 0;
}

static int add_sock(const struct moat_sock *s, void *ctx)
{
	struct moat_flow_key k;

	if (s->state == MOAT_TCP_LISTEN)
		return 0;
	sock_key(s, &k);
	return push(ctx, &k);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct moat_flow_key));
}

int moatd_sweep_conns(const struct moat_pins *p)
{
	int conns_fd = p->conns;
	__u64 ckey = meta_conn_key(p->meta);
	struct moat_flow_key key, prev;
	struct sockset set = {}, dead = {};
	struct moat_conn_locked v;
	/* A connection enters conns on the client's ACK, just before the
	 * kernel makes its socket: give that a moment. */
	__u64 start = now_ns() - SWEEP_GRACE_NS;
	int ret, gone = 0;

	ret = moat_socktab_foreach(add_sock, &set);
	if (ret)
		goto out;
	qsort(set.k, set.n, sizeof(*set.k), key_cmp);
	/* Entries made after the socket table was read may have a socket it
	 * does not show yet: they stay. Deleted after the walk, which a
	 * deletion would send back to the start. */
	for (bool first = true; !bpf_map_get_next_key(conns_fd, first ? NULL : &prev, &key);
	     first = false) {
		prev = key;
		if (bpf_map_lookup_elem(conns_fd, &key, &v) || v.c.created_ns >= start ||
		    bsearch(&key, set.k, set.n, sizeof(*set.k), key_cmp))
			continue;
		if ((ret = push(&dead, &key)))
			goto out;
	}
	for (size_t i = 0; i < dead.n; i++) {
		if (ckey)	/* first: never a fast path without its entry */
			ok_slot(p->conn_ok, ckey, &dead.k[i], false);
		gone += !bpf_map_delete_elem(conns_fd, &dead.k[i]);
	}
	ret = gone;
out:
	free(set.k);
	free(dead.k);
	return ret;
}

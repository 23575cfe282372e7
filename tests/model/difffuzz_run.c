// SPDX-License-Identifier: GPL-2.0
/*
 * The differential fuzzer's judge: one frame through the loaded program
 * (BPF_PROG_TEST_RUN) and through the model, verdict, reason and state
 * compared; known discrepancies allowlisted by name.
 */
#include "difffuzz.h"

uint64_t total_packets;
uint64_t seen[MOAT_NR_VERDICTS][MOAT_NR_REASONS];	/* coverage, by the model */

void key_to_tuple(const struct moat_flow_key *k, struct model_tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->remote, &k->remote, 16);
	memcpy(t->local, &k->local, 16);
	t->remote_port = ntohs(k->remote_port);
	t->local_port = ntohs(k->local_port);
	t->proto = k->proto;
}

/*
 * Known discrepancies: the program reads the SPEC otherwise than the model
 * here, and the model follows the SPEC (see the report in the commit that
 * added each). A packet that meets one ends its sequence (the two states
 * may part from there), counted by name; anything else is a failure.
 */
struct known known[] = {
	/* None: the eight the model found (UDP length, client_version 2.x,
	 * URG on a Fast Open SYN, short and trimmed QUIC datagrams, extension
	 * headers in the padding, headers after a non-first fragment, the
	 * host's last ACK 0) were fixed in the program. A next one goes here,
	 * named, with the SPEC's words beside it. */
	{ 0, NULL, 0 },	/* the end */
};

static int known_discrepancy(struct run *r)
{
	unsigned int notes = model_last_notes(r->f->ms);
	struct moat_flow_key k = {};
	struct model_tuple t;

	for (size_t i = 0; known[i].name; i++) {
		if (!(notes & known[i].note))
			continue;
		/* the first one of each is shown, for whoever fixes it */
		if (!known[i].n++) {
			printf("# known discrepancy '%s', first seen (generation '%s', sequence "
			       "seed 0x%016llx):\n", known[i].name, r->f->label,
			       (unsigned long long)r->seed);
			print_frame("=>", &seq_log[seq_n - 1]);
		}
		/* the frame's own tuple may be another than the sequence's
		 * (a flipped port): its state may part too */
		if (model_last_tuple(r->f->ms, &t)) {
			memcpy(&k.remote, t.remote, 16);
			memcpy(&k.local, t.local, 16);
			k.remote_port = htons(t.remote_port);
			k.local_port = htons(t.local_port);
			k.proto = t.proto;
			forget(r->f, &k);
		}
		return 1;
	}
	return 0;
}

/* Kernel view of a connection: conns, else conn_pending. */
static struct model_conn_view kernel_conn(struct fgen *f, const struct moat_flow_key *k)
{
	struct moat_conn_locked cl;
	struct moat_conn c;

	struct model_conn_view v = { MODEL_CONN_NONE, 0, 0, 0, { 0 } };
	const struct moat_conn *src = NULL;

	if (!bpf_map_lookup_elem(f->maps.conns, k, &cl))
		src = &cl.c;
	else if (!bpf_map_lookup_elem(f->maps.conn_pending, k, &c))
		src = &c;
	if (!src)
		return v;
	v.state = src->state;
	v.reason = src->reason;
	v.have = src->have;
	v.first_seq = src->first_seq;
	memcpy(v.head, src->head, sizeof(v.head));
	return v;
}

static const char *conn_state_name(int s)
{
	static const char *n[] = { "none", "await", "ok", "bad" };

	return s >= 0 && s < 4 ? n[s] : "?";
}

/* The sequence's state on both sides; 0, or -1 after reporting a difference. */
static int compare_state(struct run *r)
{
	struct logent *e = &seq_log[seq_n - 1];
	struct fgen *f = r->f;
	struct model_tuple t;
	char what[256];

	e->state[0] = '\0';
	if (r->has_flow) {
		struct moat_flow v = {};
		struct model_flow_view mod;
		bool kern, kknown, same;

		key_to_tuple(&r->flow_key, &t);
		kern = !bpf_map_lookup_elem(f->maps.flows, &r->flow_key, &v);
		kknown = v.closing & MOAT_FLOW_F_RCV_NXT;
		mod = model_flow(f->ms, &t);
		snprintf(e->state, sizeof(e->state),
			 "flow: model %s rcv_nxt %s%u%s, program %s rcv_nxt %s%u%s",
			 mod.exists ? "yes" : "no", mod.rcv_nxt_known ? "" : "?", mod.rcv_nxt,
			 mod.closing ? " closing" : "", kern ? "yes" : "no", kknown ? "" : "?",
			 v.rcv_nxt, v.closing & MOAT_FLOW_F_CLOSING ? " closing" : "");
		same = kern == mod.exists;
		if (same && kern)
			same = kknown == mod.rcv_nxt_known &&
			       (!kknown || v.rcv_nxt == mod.rcv_nxt) &&
			       !!(v.closing & MOAT_FLOW_F_CLOSING) == mod.closing;
		if (!same) {
			if (model_last_notes(f->ms) & MODEL_NOTE_ACK_ZERO)
				return known_discrepancy(r);
			report_diff(r, "flow state");
			return -1;
		}
	}
	if (r->has_conn) {
		struct model_conn_view kern = kernel_conn(f, &r->conn_key), mod;

		key_to_tuple(&r->conn_key, &t);
		mod = model_conn(f->ms, &t);
		snprintf(e->state, sizeof(e->state), "conn: model %s/%u, program %s/%u",
			 conn_state_name(mod.state), mod.have, conn_state_name(kern.state),
			 kern.have);
		if (kern.state != mod.state ||
		    (mod.state == MODEL_CONN_AWAIT &&
		     (kern.have != mod.have || kern.first_seq != mod.first_seq ||
		      memcmp(kern.head, mod.head, mod.have)))) {
			snprintf(what, sizeof(what),
				 "connection state: model %s (have %u), program %s (have %u)",
				 conn_state_name(mod.state), mod.have, conn_state_name(kern.state),
				 kern.have);
			report_diff(r, what);
			return -1;
		}
	}
	return 0;
}

/* Runs a built frame; 0, 1 when it met a known discrepancy (the sequence
 * ends), or -1 after a difference was reported. */
int run_frame(struct run *r, bool egress, const struct pkt_buf *pb)
{
	static struct moat_counter after[MOAT_NR_VERDICTS * MOAT_NR_REASONS];
	struct fgen *f = r->f;
	struct logent *e;
	char what[256];
	int moved = 0, err;
	__u32 idx = 0, retval;

	if (seq_n == LOG_MAX) {
		memmove(seq_log, seq_log + 1, sizeof(seq_log[0]) * (LOG_MAX - 1));
		seq_n--;
	}
	e = &seq_log[seq_n++];
	e->egress = egress;
	e->f = *pb;
	e->judged = false;
	e->state[0] = '\0';
	total_packets++;
	f->packets++;

	if (egress) {
		model_egress(f->ms, &f->mc, pb->buf, pb->len);
		err = test_run_frame(f->egress_fd, pb->buf, pb->len, &retval);
		if (err) {
			snprintf(what, sizeof(what), "test_run (egress) failed: %s", strerror(-err));
			report_diff(r, what);
			return -1;
		}
		if (retval != TC_ACT_OK && retval != (__u32)-1) {	/* TCX_NEXT */
			snprintf(what, sizeof(what), "egress program returned %u", retval);
			report_diff(r, what);
			return -1;
		}
		return compare_state(r);
	}

	e->want = model_xdp(f->ms, &f->mc, pb->buf, pb->len);
	seen[e->want.verdict][e->want.reason]++;
	err = test_run_frame(f->xdp_fd, pb->buf, pb->len, &retval);
	if (err) {
		snprintf(what, sizeof(what), "test_run (XDP) failed: %s", strerror(-err));
		report_diff(r, what);
		return -1;
	}
	err = stats_read(f, after);
	if (err) {
		snprintf(what, sizeof(what), "stats read failed: %s", strerror(-err));
		report_diff(r, what);
		return -1;
	}
	for (__u32 k = 0; k < ARRAY_SIZE(after); k++) {
		__u64 dp = after[k].packets - f->stats[k].packets;
		__u64 db = after[k].bytes - f->stats[k].bytes;

		if (!dp && !db)
			continue;
		moved += dp == 1 && db == pb->len ? 1 : 100;
		idx = k;
	}
	memcpy(f->stats, after, sizeof(after));
	if (moved != 1) {
		report_diff(r, "the stats map did not move by exactly one counter, one packet");
		return -1;
	}
	e->got.verdict = idx / MOAT_NR_REASONS;
	e->got.reason = idx % MOAT_NR_REASONS;
	e->judged = true;
	if (e->got.verdict != e->want.verdict || e->got.reason != e->want.reason) {
		if (known_discrepancy(r))
			return 1;
		report_diff(r, "verdict or reason");
		return -1;
	}
	if (retval != (e->got.verdict == MOAT_V_DROP ? XDP_DROP : XDP_PASS)) {
		snprintf(what, sizeof(what), "XDP action %u does not match the verdict counted",
			 retval);
		report_diff(r, what);
		return -1;
	}
	return compare_state(r);
}


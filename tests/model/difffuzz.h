/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the differential fuzzer (difffuzz.c has the overview and main):
 * difffuzz_gen.c loads the generations under test and keeps both sides'
 * state in step, difffuzz_frames.c makes frames, difffuzz_seqs.c makes
 * sequences of them, difffuzz_run.c runs each on both sides and compares,
 * difffuzz_report.c prints a difference.
 */
#ifndef MOAT_DIFFFUZZ_H
#define MOAT_DIFFFUZZ_H

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moat/reasons.h"
#include "moat/shared.h"
#include "moat/hash.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/table.h"
#include "../lib/gen.h"
#include "../lib/pkt.h"
#include "model.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The configuration's addresses (as in tests/prog). */
#define DEVOPS4		"198.51.100.7"
#define DEVOPS6		"2001:db8:1::7"
#define HOST4		PKT_DST4
#define HOST6		PKT_DST6

/* ---- PRNG (splitmix64): one seed reproduces the run ---- */
extern uint64_t rng_state;

static inline uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t rnd(uint32_t n)	/* 0..n-1 */
{
	return n ? rnd64() % n : 0;
}

static inline bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}


/* ---- generations under test ---- */
struct fgen {
	const char *label;
	const char *mode, *quic, *validate, *echo;
	struct moat_gen g;
	struct moat_pins maps;
	int xdp_fd, egress_fd;
	__u64 conn_key;
	struct model_config mc;
	struct model_state *ms;
	struct moat_counter stats[MOAT_NR_VERDICTS * MOAT_NR_REASONS];	/* slot 0 */
	uint64_t packets, sequences;
};


/* ---- running one frame on both sides ---- */

struct run {
	struct fgen *f;
	const char *scenario;
	uint64_t seed;			/* of this sequence */
	/* the sequence's tuples, in the XDP program's direction */
	bool has_conn, has_flow;
	bool seeded;			/* the connection predates moat */
	struct moat_flow_key conn_key, flow_key;
	int diffs;
};


#define LOG_MAX 48

struct logent {
	bool egress;
	struct pkt_buf f;
	struct model_result want, got;
	bool judged;		/* ingress: both verdicts known */
	char state[96];		/* the tuple's state after it, both sides */
};

extern struct logent seq_log[LOG_MAX];
extern unsigned int seq_n;

/* -k: differences by kind, each reported in full once, for triage. */
struct kind {
	char name[160];
	uint64_t n;
};
extern bool keep_going;
extern struct kind kinds[256];
extern unsigned int n_kinds;

/* Known discrepancies (difffuzz_run.c): counted by name, never failed. */
struct known {
	unsigned int note;		/* enum model_note */
	const char *name;
	uint64_t n;
};
extern struct known known[];	/* closed by a NULL name */
extern uint64_t total_packets;
extern uint64_t seen[MOAT_NR_VERDICTS][MOAT_NR_REASONS];	/* coverage, by the model */

/* First client payloads: the messages the policy tells apart. */
enum payload_kind { PL_TLS12, PL_TLS13, PL_TLS10, PL_TLS11, PL_BIG, PL_SSLV2, PL_HTTP, PL_SSH,
		    PL_SSH_BAD, PL_MAGIC, PL_SHORT_REC, PL_RANDOM, PL_MUTATED, PL_NR };

struct payload {
	uint8_t b[600];
	unsigned int len;
};

/* Bent header fields no pkt_spec knob reaches, applied after the build. */
struct bend {
	bool set_ack;
	uint32_t ack;
	uint16_t urg_ptr;
	int ihl, doff, version;		/* -1: leave */
	int udp_len;			/* -1: leave */
};

#define NO_BEND { .ihl = -1, .doff = -1, .version = -1, .udp_len = -1 }

/* difffuzz_gen.c */
int stats_read(struct fgen *f, struct moat_counter *out);
int gen_setup(struct fgen *f, char *err, size_t errlen);
void state_reset(struct fgen *f);
void forget(struct fgen *f, const struct moat_flow_key *k);

/* difffuzz_report.c */
void print_frame(const char *what, const struct logent *e);
void report_diff(struct run *r, const char *what);

/* difffuzz_run.c */
void key_to_tuple(const struct moat_flow_key *k, struct model_tuple *t);
int run_frame(struct run *r, bool egress, const struct pkt_buf *pb);

/* difffuzz_frames.c */
const char *pick_source(bool v6, bool ssh);
void fill_random(uint8_t *b, unsigned int n);
void make_payload(enum payload_kind k, struct payload *p);
enum payload_kind pick_kind(bool ssh);
int send_in(struct run *r, struct pkt_spec *s, const struct bend *b, unsigned int noise,
	    unsigned int damage);
int send_out(struct run *r, struct pkt_spec *s, const struct bend *b);
void set_key(struct moat_flow_key *k, bool v6, const char *remote, const char *local,
	     uint16_t rport, uint16_t lport, uint8_t proto);
uint16_t pick_dport(void);

/* difffuzz_seqs.c */
int one_random(struct run *r);
int seq_inbound(struct run *r);
int seq_outbound(struct run *r);

#endif /* MOAT_DIFFFUZZ_H */

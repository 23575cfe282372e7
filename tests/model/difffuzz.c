// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzer: a structure-aware generator makes frames and
 * sequences of frames on one tuple (ingress and the host's egress), runs
 * each through the loaded programs (BPF_PROG_TEST_RUN) and through the
 * reference model (model.c), and fails on the first difference in verdict,
 * reason or state, printing the packet as hex and as scapy, and the
 * sequence that led there.
 *
 *   difffuzz [-n PACKETS] [-s SEED] [-r SEQUENCE_SEED] [-k]
 *
 * -r replays the one sequence a report names (each sequence starts from no
 * state on its tuples, so its seed reproduces it); -k keeps going after a
 * difference and counts differences by kind, for triage. TAP output, one
 * test per generation (configuration) and one for the run. Differences the
 * allowlist (known[]) names end their sequence and are counted, not failed.
 */
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
#include "../prog/pkt.h"
#include "model.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The configuration's addresses (as in tests/prog). */
#define DEVOPS4		"198.51.100.7"
#define DEVOPS6		"2001:db8:1::7"
#define HOST4		PKT_DST4
#define HOST6		PKT_DST6

static const char yaml_fmt[] =
	"interfaces: [lo]\n"
	"mode: %s\n"
	"tls: { ports: [443, 8443], quic: %s, validate: %s }\n"
	"ssh:\n"
	"  ports: [22, 2222]\n"
	"  validate: %s\n"
	"  devops:\n"
	"    - { cidr: " DEVOPS4 "/32, name: alice }\n"
	"    - { cidr: 203.0.113.0/24, name: lab }\n"
	"    - { cidr: " DEVOPS6 "/128, name: bob }\n"
	"    - { cidr: 2001:db8:100::/48, name: ops-vpn }\n"
	"    - { cidr: 198.51.100.8/32, name: later, expires: 2099-01-01T00:00:00Z }\n"
	"    - { cidr: 198.51.100.9/32, name: gone, expires: 2020-01-01T00:00:00Z }\n"
	"    - { cidr: 198.51.100.20/32, name: mallory }\n"
	"deny: [192.0.2.66, 203.0.113.66, \"2001:db8:bad::/48\"]\n"
	"icmp: { echo: %s }\n"
	"pass_ethertypes: [0x88cc]\n"
	"outbound: { track: true, max_flows: 65536 }\n";

/* Added at run time, as moatctl and the inspector would. */
struct rt_entry {
	bool ban;		/* else devops */
	const char *cidr;
	bool expired;
};
static const struct rt_entry rt_entries[] = {
	{ true, "192.0.2.77", false },
	{ true, "2001:db8:beef::/64", false },
	{ true, "198.51.100.20", false },	/* a devops host, banned */
	{ true, "192.0.2.66", false },		/* denied and banned: deny first */
	{ true, "192.0.2.88", true },		/* a ban that expired */
	{ false, "198.51.100.10", true },
	{ false, "2001:db8:ee::/48", true },
	/* IPv6 entries covering ::ffff:0:0/96, where IPv4 is kept: they must
	 * match no IPv4 source (and none of the generator's IPv6 ones) */
	{ false, "::/8", false },
	{ true, "::/8", false },
};

/* ---- PRNG (splitmix64): one seed reproduces the run ---- */
static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)	/* 0..n-1 */
{
	return n ? rnd64() % n : 0;
}

static bool chance(unsigned int pct)
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

static int ncpus;

static void model_cidr_from(const struct moat_cidr *c, bool live, struct model_cidr *out)
{
	memcpy(out->addr, &c->addr, 16);
	out->plen = c->prefixlen;
	out->v6 = c->family == AF_INET6;
	out->live = live;
}

static int add_rt(struct fgen *f, const struct rt_entry *r)
{
	struct moat_entry e = { .expires_ns = r->expired ? 1 : 0, .origin = MOAT_ORIGIN_RUNTIME };
	struct model_config *mc = &f->mc;
	struct moat_cidr c;

	if (moat_parse_cidr(r->cidr, &c))
		return -EINVAL;
	snprintf(e.name, sizeof(e.name), "difffuzz");
	if (r->ban)
		model_cidr_from(&c, !r->expired, &mc->bans[mc->n_bans++]);
	else
		model_cidr_from(&c, !r->expired, &mc->devops[mc->n_devops++]);
	return moat_table_put(r->ban ? moat_pins_ban(&f->maps) : moat_pins_devops(&f->maps),
			      &c, &e);
}

/* The model's view of the same configuration. */
static void model_config_from(const struct moat_config *cfg, struct model_config *mc)
{
	time_t now = time(NULL);
	size_t i;

	memset(mc, 0, sizeof(*mc));
	mc->monitor = cfg->mode == MOAT_MODE_MONITOR;
	for (i = 0; i < cfg->tls.ports.n; i++)
		mc->tls_ports[mc->n_tls_ports++] = cfg->tls.ports.port[i];
	mc->tls_validate = cfg->tls.validate;
	mc->tls_min_version = cfg->tls.min_version;
	mc->quic = cfg->tls.quic;
	for (i = 0; i < cfg->ssh.ports.n; i++)
		mc->ssh_ports[mc->n_ssh_ports++] = cfg->ssh.ports.port[i];
	mc->ssh_validate = cfg->ssh.validate;
	for (i = 0; i < cfg->ssh.n_devops; i++) {
		const struct moat_devops *d = &cfg->ssh.devops[i];

		model_cidr_from(&d->cidr, !d->expires || d->expires > now,
				&mc->devops[mc->n_devops++]);
	}
	for (i = 0; i < cfg->n_deny; i++)
		model_cidr_from(&cfg->deny[i], true, &mc->deny[mc->n_deny++]);
	mc->icmp_echo = cfg->icmp.echo;
	for (i = 0; i < cfg->n_pass_ethertypes; i++)
		mc->pass_ethertypes[mc->n_pass_ethertypes++] = cfg->pass_ethertypes[i];
}

static int stats_read(struct fgen *f, struct moat_counter *out)
{
	static struct moat_counter vals[MOAT_NR_VERDICTS * MOAT_NR_REASONS * 256];
	__u32 keys[MOAT_NR_VERDICTS * MOAT_NR_REASONS], out_batch = 0;
	__u32 count = ARRAY_SIZE(keys);
	int err;

	if ((size_t)ncpus > 256)
		return -E2BIG;
	err = bpf_map_lookup_batch(f->maps.stats, NULL, &out_batch, keys, vals, &count, NULL);
	if (err && errno != ENOENT)
		return -errno;
	if (count != ARRAY_SIZE(keys))
		return -EIO;
	for (__u32 k = 0; k < count; k++) {
		out[k] = (struct moat_counter){};
		for (int cpu = 0; cpu < ncpus; cpu++) {
			out[k].packets += vals[k * ncpus + cpu].packets;
			out[k].bytes += vals[k * ncpus + cpu].bytes;
		}
	}
	return 0;
}

static int gen_setup(struct fgen *f, char *err, size_t errlen)
{
	struct moat_config cfg;
	struct moat_meta meta = {};
	char yaml[4096];
	__u32 slot = 0, zero = 0;
	int ret;

	snprintf(yaml, sizeof(yaml), yaml_fmt, f->mode, f->quic, f->validate, f->validate,
		 f->echo);
	ret = moat_config_parse("difffuzz.yaml", yaml, strlen(yaml), &cfg, err, errlen);
	if (ret)
		return ret;
	model_config_from(&cfg, &f->mc);
	ret = moat_gen_load(&f->g, &cfg, &slot, 1, NULL, err, errlen);
	if (!ret)
		ret = moat_gen_fill(&f->g, &cfg, err, errlen);
	moat_config_free(&cfg);
	if (ret)
		return ret;
	moat_gen_maps(&f->g, &f->maps);
	f->xdp_fd = moat_gen_prog_fd(&f->g, 0);
	f->egress_fd = moat_gen_egress_fd(&f->g, 0);
	if (f->egress_fd < 0) {
		snprintf(err, errlen, "no egress program");
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rt_entries); i++) {
		ret = add_rt(f, &rt_entries[i]);
		if (ret) {
			snprintf(err, errlen, "couldn't add %s: %s", rt_entries[i].cidr,
				 strerror(-ret));
			return ret;
		}
	}
	bpf_map_lookup_elem(f->maps.meta, &zero, &meta);
	f->conn_key = meta.conn_key;
	f->ms = model_new();
	if (!f->ms)
		return -ENOMEM;
	ret = stats_read(f, f->stats);
	if (ret)
		snprintf(err, errlen, "couldn't read the stats map: %s", strerror(-ret));
	return ret;
}

/* The tuple's conn_ok slot, cleared if it holds the tuple (as moatd's
 * sweep does before it deletes a connection). */
static void clear_slot(struct fgen *f, const struct moat_flow_key *k)
{
	__u64 h = moat_conn_hash(f->conn_key, k), v = 0;
	__u32 idx = h % MOAT_CONN_SLOTS;

	if (!bpf_map_lookup_elem(f->maps.conn_ok, &idx, &v) && v == h) {
		v = 0;
		bpf_map_update_elem(f->maps.conn_ok, &idx, &v, BPF_ANY);
	}
}

/* Empties the state tables on both sides, so that nothing times out or is
 * evicted: connections (in conns or conn_pending) lose their slot first. */
static void state_reset(struct fgen *f)
{
	int fds[] = { f->maps.conns, f->maps.conn_pending, f->maps.conn_syn, f->maps.flows };
	struct moat_flow_key k;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		while (!bpf_map_get_next_key(fds[i], NULL, &k)) {
			if (i < 2)
				clear_slot(f, &k);
			if (bpf_map_delete_elem(fds[i], &k))
				break;
		}
	}
	model_reset(f->ms);
}

/* Forgets one tuple on both sides, so that a sequence starts from nothing
 * and its seed alone reproduces it. */
static void forget(struct fgen *f, const struct moat_flow_key *k)
{
	struct model_tuple t;

	clear_slot(f, k);
	bpf_map_delete_elem(f->maps.conns, k);
	bpf_map_delete_elem(f->maps.conn_pending, k);
	bpf_map_delete_elem(f->maps.conn_syn, k);
	bpf_map_delete_elem(f->maps.flows, k);
	memset(&t, 0, sizeof(t));
	memcpy(t.remote, &k->remote, 16);
	memcpy(t.local, &k->local, 16);
	t.remote_port = ntohs(k->remote_port);
	t.local_port = ntohs(k->local_port);
	t.proto = k->proto;
	model_forget(f->ms, &t);
}

/* ---- what one frame was, for the report ---- */

#define LOG_MAX 48

struct logent {
	bool egress;
	struct pkt_buf f;
	struct model_result want, got;
	bool judged;		/* ingress: both verdicts known */
	char state[96];		/* the tuple's state after it, both sides */
};

static struct logent seq_log[LOG_MAX];
static unsigned int seq_n;

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static const char *tcp_flags(uint8_t fl, char *buf)
{
	static const char names[] = "FSRPAUEC";
	char *p = buf;

	for (int i = 0; i < 8; i++)
		if (fl & (1 << i))
			*p++ = names[i];
	*p = '\0';
	return buf;
}

/* A scapy expression of the frame, layer by layer while the headers are
 * whole; the exact bytes follow it in the report either way. */
static void scapy(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	static char hx[2 * PKT_MAX_LEN + 1];
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], fl[9];
	size_t o = 14, n = 0, end = len;
	uint16_t type;
	uint8_t proto;
	int tags = 0;

#define OUT(...) (n += snprintf(out + n, n < outlen ? outlen - n : 0, __VA_ARGS__))
	if (len < 14) {
		hex(b, len, hx);
		OUT("Ether(bytes.fromhex('%s'))", hx);
		return;
	}
	type = b[12] << 8 | b[13];
	OUT("Ether(type=0x%04x)", type);
	while ((type == 0x8100 || type == 0x88a8) && o + 4 <= len && tags++ < 3) {
		type = b[o + 2] << 8 | b[o + 3];
		OUT("/Dot1Q(vlan=%u,type=0x%04x)", (b[o] << 8 | b[o + 1]) & 0xfff, type);
		o += 4;
	}
	if (type == 0x0800 && o + 20 <= len && b[o] >> 4 == 4) {
		const uint8_t *ip = b + o;
		unsigned int hl = (ip[0] & 15) * 4, tot = ip[2] << 8 | ip[3];

		inet_ntop(AF_INET, ip + 12, a, sizeof(a));
		inet_ntop(AF_INET, ip + 16, c, sizeof(c));
		OUT("/IP(src='%s',dst='%s',ihl=%u,len=%u,flags=%u,frag=%u,ttl=%u,proto=%u",
		    a, c, hl / 4, tot, ip[6] >> 5, (ip[6] << 8 | ip[7]) & 0x1fff, ip[8], ip[9]);
		if (hl > 20 && o + hl <= len) {
			hex(ip + 20, hl - 20, hx);
			OUT(",options=[IPOption(bytes.fromhex('%s'))]", hx);
		}
		OUT(")");
		proto = ip[9];
		if (hl < 20 || o + hl > len || ((ip[6] << 8 | ip[7]) & 0x1fff))
			goto raw;
		if (o + tot <= len && tot >= hl)
			end = o + tot;
		o += hl;
	} else if (type == 0x86dd && o + 40 <= len && b[o] >> 4 == 6) {
		const uint8_t *ip = b + o;
		int next = ip[6];

		inet_ntop(AF_INET6, ip + 8, a, sizeof(a));
		inet_ntop(AF_INET6, ip + 24, c, sizeof(c));
		OUT("/IPv6(src='%s',dst='%s',plen=%u,hlim=%u,nh=%u)", a, c, ip[4] << 8 | ip[5],
		    ip[7], next);
		if (o + 40 + (ip[4] << 8 | ip[5]) <= len)
			end = o + 40 + (ip[4] << 8 | ip[5]);
		o += 40;
		while ((next == 0 || next == 43 || next == 60 || next == 44) && o + 8 <= end) {
			unsigned int hlen = next == 44 ? 8 : (b[o + 1] + 1) * 8;

			if (o + hlen > end)
				break;
			if (next == 44) {
				OUT("/IPv6ExtHdrFragment(nh=%u,offset=%u,m=%u,id=0x%08x)", b[o],
				    (b[o + 2] << 8 | b[o + 3]) >> 3, b[o + 3] & 1,
				    b[o + 4] << 24 | b[o + 5] << 16 | b[o + 6] << 8 | b[o + 7]);
				if ((b[o + 2] << 8 | b[o + 3]) >> 3) {
					o += hlen;
					goto raw;
				}
			} else {
				hex(b + o + 2, hlen - 2, hx);
				OUT("/%s(nh=%u,len=%u,options=Raw(bytes.fromhex('%s')))",
				    next == 0 ? "IPv6ExtHdrHopByHop" : next == 43 ?
				    "IPv6ExtHdrRouting" : "IPv6ExtHdrDestOpt", b[o], b[o + 1], hx);
			}
			next = b[o];
			o += hlen;
		}
		proto = next;
	} else {
		goto raw;
	}
	if (proto == 6 && o + 20 <= end) {
		const uint8_t *t = b + o;
		unsigned int doff = (t[12] >> 4) * 4;

		OUT("/TCP(sport=%u,dport=%u,seq=%u,ack=%u,dataofs=%u,flags='%s',window=%u,urgptr=%u",
		    t[0] << 8 | t[1], t[2] << 8 | t[3],
		    (unsigned int)t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7],
		    (unsigned int)t[8] << 24 | t[9] << 16 | t[10] << 8 | t[11], doff / 4,
		    tcp_flags(t[13], fl), t[14] << 8 | t[15], t[18] << 8 | t[19]);
		if (doff > 20 && o + doff <= end) {
			hex(t + 20, doff - 20, hx);
			OUT(",options=Raw(bytes.fromhex('%s'))", hx);
		}
		OUT(")");
		if (doff >= 20 && o + doff <= end)
			o += doff;
		else
			o += 20;
	} else if (proto == 17 && o + 8 <= end) {
		OUT("/UDP(sport=%u,dport=%u,len=%u)", b[o] << 8 | b[o + 1], b[o + 2] << 8 | b[o + 3],
		    b[o + 4] << 8 | b[o + 5]);
		o += 8;
	} else if ((proto == 1 || proto == 58) && o + 8 <= end) {
		OUT("/%s(type=%u,code=%u,id=%u,seq=%u)", proto == 1 ? "ICMP" : "ICMPv6Unknown",
		    b[o], b[o + 1], b[o + 4] << 8 | b[o + 5], b[o + 6] << 8 | b[o + 7]);
		o += 8;
	}
raw:
	if (o < end) {
		hex(b + o, end - o, hx);
		OUT("/Raw(bytes.fromhex('%s'))", hx);
	}
	if (end < len) {
		hex(b + end, len - end, hx);
		OUT("/Padding(bytes.fromhex('%s'))", hx);
	}
#undef OUT
}

static void print_frame(const char *what, const struct logent *e)
{
	static char hx[2 * PKT_MAX_LEN + 1], sc[8 * PKT_MAX_LEN];

	hex(e->f.buf, e->f.len, hx);
	scapy(e->f.buf, e->f.len, sc, sizeof(sc));
	printf("#   %s %s (%u bytes)", what, e->egress ? "egress" : "XDP", e->f.len);
	if (e->judged)
		printf(": model %s/%s, program %s/%s", moat_verdict_name(e->want.verdict),
		       moat_reason_name(e->want.reason), moat_verdict_name(e->got.verdict),
		       moat_reason_name(e->got.reason));
	printf("\n#     hex:   %s\n#     scapy: %s\n", hx, sc);
	if (e->state[0])
		printf("#     after: %s\n", e->state);
}

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

static uint64_t total_packets;
static uint64_t seen[MOAT_NR_VERDICTS][MOAT_NR_REASONS];	/* coverage, by the model */

static void key_to_tuple(const struct moat_flow_key *k, struct model_tuple *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->remote, &k->remote, 16);
	memcpy(t->local, &k->local, 16);
	t->remote_port = ntohs(k->remote_port);
	t->local_port = ntohs(k->local_port);
	t->proto = k->proto;
}

/* -k: differences by kind, each reported in full once, for triage. */
static bool keep_going;
static struct kind {
	char name[160];
	uint64_t n;
} kinds[256];
static unsigned int n_kinds;

static bool first_of_kind(struct run *r, const char *what)
{
	const struct logent *e = &seq_log[seq_n - 1];
	char name[160];
	unsigned int i;

	snprintf(name, sizeof(name), "%s | %s | %s/%s vs %s/%s", r->scenario, what,
		 e->judged ? moat_verdict_name(e->want.verdict) : "-",
		 e->judged ? moat_reason_name(e->want.reason) : "-",
		 e->judged ? moat_verdict_name(e->got.verdict) : "-",
		 e->judged ? moat_reason_name(e->got.reason) : "-");
	for (i = 0; i < n_kinds; i++)
		if (!strcmp(kinds[i].name, name))
			return !kinds[i].n++;
	if (n_kinds == ARRAY_SIZE(kinds))
		return false;
	snprintf(kinds[n_kinds].name, sizeof(kinds[0].name), "%s", name);
	kinds[n_kinds++].n = 1;
	return true;
}

static void report_diff(struct run *r, const char *what)
{
	r->diffs++;
	if (keep_going && !first_of_kind(r, what))
		return;
	printf("# DIFFERENCE in generation '%s', scenario '%s' (sequence seed 0x%016llx): %s\n",
	       r->f->label, r->scenario, (unsigned long long)r->seed, what);
	printf("# the sequence on this tuple, oldest first%s:\n",
	       r->seeded ? " (seeded into conns before it, as predating moat)" : "");
	for (unsigned int i = 0; i < seq_n; i++)
		print_frame(i + 1 == seq_n ? "=>" : "  ", &seq_log[i]);
}

/*
 * Known discrepancies: the program reads the SPEC otherwise than the model
 * here, and the model follows the SPEC (see the report in the commit that
 * added each). A packet that meets one ends its sequence (the two states
 * may part from there), counted by name; anything else is a failure.
 */
static const struct known {
	unsigned int note;		/* enum model_note */
	const char *name;
	uint64_t n;
} known_init[] = {
	/* None: the eight the model found (UDP length, client_version 2.x,
	 * URG on a Fast Open SYN, short and trimmed QUIC datagrams, extension
	 * headers in the padding, headers after a non-first fragment, the
	 * host's last ACK 0) were fixed in the program. A next one goes here,
	 * named, with the SPEC's words beside it. */
	{ 0, NULL, 0 },	/* the end */
};
static struct known known[ARRAY_SIZE(known_init)];

static void forget(struct fgen *f, const struct moat_flow_key *k);

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
static int run_frame(struct run *r, bool egress, const struct pkt_buf *pb)
{
	static struct moat_counter after[MOAT_NR_VERDICTS * MOAT_NR_REASONS];
	struct fgen *f = r->f;
	struct logent *e;
	char what[256];
	int moved = 0, err;
	__u32 idx = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = pb->buf,
		.data_size_in = pb->len,
		.repeat = 1,
	);

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
		if (bpf_prog_test_run_opts(f->egress_fd, &opts)) {
			snprintf(what, sizeof(what), "test_run (egress) failed: %s", strerror(errno));
			report_diff(r, what);
			return -1;
		}
		if (opts.retval != TC_ACT_OK && opts.retval != (__u32)-1) {	/* TCX_NEXT */
			snprintf(what, sizeof(what), "egress program returned %u", opts.retval);
			report_diff(r, what);
			return -1;
		}
		return compare_state(r);
	}

	e->want = model_xdp(f->ms, &f->mc, pb->buf, pb->len);
	seen[e->want.verdict][e->want.reason]++;
	if (bpf_prog_test_run_opts(f->xdp_fd, &opts)) {
		snprintf(what, sizeof(what), "test_run (XDP) failed: %s", strerror(errno));
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
	if (opts.retval != (e->got.verdict == MOAT_V_DROP ? XDP_DROP : XDP_PASS)) {
		snprintf(what, sizeof(what), "XDP action %u does not match the verdict counted",
			 opts.retval);
		report_diff(r, what);
		return -1;
	}
	return compare_state(r);
}

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
static const char *pick_source(bool v6, bool ssh)
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

/* First client payloads: the messages the policy tells apart. */
enum payload_kind { PL_TLS12, PL_TLS13, PL_TLS10, PL_TLS11, PL_BIG, PL_SSLV2, PL_HTTP, PL_SSH,
		    PL_SSH_BAD, PL_MAGIC, PL_SHORT_REC, PL_RANDOM, PL_MUTATED, PL_NR };

struct payload {
	uint8_t b[600];
	unsigned int len;
};

static void fill_random(uint8_t *b, unsigned int n)
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

static void make_payload(enum payload_kind k, struct payload *p)
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

static enum payload_kind pick_kind(bool ssh)
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

/* Bent header fields no pkt_spec knob reaches, applied after the build. */
struct bend {
	bool set_ack;
	uint32_t ack;
	uint16_t urg_ptr;
	int ihl, doff, version;		/* -1: leave */
	int udp_len;			/* -1: leave */
};

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

#define NO_BEND { .ihl = -1, .doff = -1, .version = -1, .udp_len = -1 }

/* Builds and runs one ingress packet, with noise at the given odds. */
static int send_in(struct run *r, struct pkt_spec *s, const struct bend *b, unsigned int noise,
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

static int send_out(struct run *r, struct pkt_spec *s, const struct bend *b)
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

static void set_key(struct moat_flow_key *k, bool v6, const char *remote, const char *local,
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

static uint16_t pick_dport(void)
{
	static const uint16_t p[] = { 443, 8443, 22, 2222, 80, 53, 123, 444, 0, 65535 };

	return chance(85) ? p[rnd(ARRAY_SIZE(p))] : rnd(65536);
}

/* One packet, anything the generator knows how to make. */
static int one_random(struct run *r)
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

static int seq_inbound(struct run *r)
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
static int seq_outbound(struct run *r)
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

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out, "usage: difffuzz [-n PACKETS] [-s SEED] [-r SEQUENCE_SEED]\n"
		     "  -r runs the one sequence a difference report names, and prints it\n");
}

int main(int argc, char **argv)
{
	struct fgen gens[] = {
		{ .label = "enforce", .mode = "enforce", .quic = "false", .validate = "true",
		  .echo = "false" },
		{ .label = "echo+quic", .mode = "enforce", .quic = "true", .validate = "true",
		  .echo = "true" },
		{ .label = "monitor", .mode = "monitor", .quic = "false", .validate = "true",
		  .echo = "false" },
		{ .label = "no-validate", .mode = "enforce", .quic = "true", .validate = "false",
		  .echo = "false" },
	};
	uint64_t want = 100000, seed, sequences = 0, replay = 0;
	struct timespec t0, t1;
	int opt, failed = 0, test = 0, ret = 0;
	double secs;

	clock_gettime(CLOCK_REALTIME, &t0);
	seed = (uint64_t)t0.tv_sec * 1000003 ^ t0.tv_nsec;
	while ((opt = getopt(argc, argv, "n:s:r:kh")) != -1) {
		switch (opt) {
		case 'n':
			want = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			replay = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			keep_going = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	moat_libbpf_logging(false);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1) {
		fprintf(stderr, "Error: couldn't count CPUs: %s\n", strerror(-ncpus));
		return 1;
	}
	printf("1..%zu\n", ARRAY_SIZE(gens) + 1);
	printf("# difffuzz -n %llu -s 0x%016llx\n", (unsigned long long)want,
	       (unsigned long long)seed);
	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		char err[MOAT_ERR_LEN] = "";

		if (gen_setup(&gens[i], err, sizeof(err))) {
			printf("not ok %d - %s: setup: %s\n", ++test, gens[i].label, err);
			return 1;
		}
	}

	memcpy(known, known_init, sizeof(known));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rng_state = seed;
	while (total_packets < want && !ret) {
		struct run r = {};
		uint64_t sseed = rnd64(), keep = rng_state;
		bool was_known;
		unsigned int c;

		/* each sequence from a seed of its own, printed with a difference */
		if (replay)
			sseed = replay;
		rng_state = sseed;
		r.seed = sseed;
		r.f = &gens[rnd(ARRAY_SIZE(gens))];
		seq_n = 0;
		c = rnd(100);
		ret = c < 35 ? one_random(&r) : c < 75 ? seq_inbound(&r) : seq_outbound(&r);
		rng_state = keep ^ sseed;
		r.f->sequences++;
		sequences++;
		was_known = ret > 0;
		if (ret > 0 || (ret && keep_going)) {
			/* the two sides' states parted: start the tuple afresh */
			if (r.has_conn)
				forget(r.f, &r.conn_key);
			if (r.has_flow)
				forget(r.f, &r.flow_key);
			ret = 0;
		}
		if (ret)
			r.f->packets |= 1ULL << 63;	/* marks the generation that failed */
		if (replay) {
			if (!ret) {
				r.diffs = 0;
				report_diff(&r, was_known ? "a known discrepancy (replayed)" :
							    "none (replayed)");
			}
			break;
		}
		/* empty the tables now and then: nothing ages out or is evicted */
		if (sequences % 4000 == 0)
			for (size_t i = 0; i < ARRAY_SIZE(gens); i++)
				state_reset(&gens[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		bool bad = gens[i].packets >> 63;

		printf("%s %d - %s: %llu packets in %llu sequences, model and program %s\n",
		       bad ? "not ok" : "ok", ++test, gens[i].label,
		       (unsigned long long)(gens[i].packets & ~(1ULL << 63)),
		       (unsigned long long)gens[i].sequences, bad ? "differ" : "agree");
		failed += bad;
	}
	printf("%s %d - difffuzz: %llu packets, %llu sequences, seed 0x%016llx, %.1f s\n",
	       failed ? "not ok" : "ok", ++test, (unsigned long long)total_packets,
	       (unsigned long long)sequences, (unsigned long long)seed, secs);
	printf("# verdicts covered:");
	for (unsigned int v = 0; v < MOAT_NR_VERDICTS; v++)
		for (unsigned int k = 0; k < MOAT_NR_REASONS; k++)
			if (seen[v][k])
				printf(" %s/%s %llu", moat_verdict_name(v), moat_reason_name(k),
				       (unsigned long long)seen[v][k]);
	printf("\n");
	for (size_t i = 0; known[i].name; i++)
		printf("# known discrepancy, allowlisted: %llu x %s\n",
		       (unsigned long long)known[i].n, known[i].name);
	for (unsigned int i = 0; i < n_kinds; i++)
		printf("# %8llu x %s\n", (unsigned long long)kinds[i].n, kinds[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(gens); i++) {
		model_free(gens[i].ms);
		moat_gen_destroy(&gens[i].g);
	}
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tier for the address tables' filters (shared.h: the
 * blocked Bloom filter of hosts, the prefix bitmap in front of each trie).
 * A false "not there" is a hole: a denied or banned source passing, a
 * devops source refused. Every table is filled the three ways moat fills
 * it: run time (moatctl, the inspector: moat_table_put), config
 * (moat_table_fill) and adoption (moat_table_refilter over an empty
 * filter), and judged by the real program at each network's first and
 * last address and just outside; host counts cross every region boundary
 * on the way up and down. TAP output; exit 1 when a test failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "moat/shared.h"
#include "moat/hash.h"
#include "lib/config.h"
#include "lib/loader.h"
#include "lib/parse.h"
#include "lib/table.h"
#include "../lib/gen.h"
#include "../lib/pkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char yaml[] =
	"interfaces: [lo]\n"
	"tls: { ports: [443] }\n"
	"ssh: { ports: [22], devops: [] }\n";

typedef unsigned __int128 u128;

static int test_no, failures;
static struct moat_gen gen;
static struct moat_pins maps;
static int xdp_fd;

static void report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures += !ok;
}

/* A source: IPv4 (low 32 bits of a) or IPv6. */
struct src {
	bool v6;
	u128 a;
};

static void src_str(const struct src *s, char *buf, size_t len)
{
	if (!s->v6) {
		struct in_addr in = { htonl((__u32)s->a) };

		inet_ntop(AF_INET, &in, buf, len);
		return;
	}
	unsigned char b[16];

	for (int i = 0; i < 16; i++)
		b[i] = (unsigned char)(s->a >> (8 * (15 - i)));
	inet_ntop(AF_INET6, b, buf, len);
}

/* The table under test and what its match does to a SYN. */
struct tbl {
	const char *name;
	struct moat_table (*get)(const struct moat_pins *);
	__u16 port;		/* devops: 22 (passes in it); deny, ban: 443 (drops in it) */
};

static const struct tbl tables[] = {
	{ "devops", moat_pins_devops, 22 },
	{ "deny", moat_pins_deny, 443 },
	{ "ban", moat_pins_ban, 443 },
};

/* Whether the program judges s as matching table t (-1: couldn't run). */
static int matches(const struct tbl *t, const struct src *s)
{
	char a[INET6_ADDRSTRLEN];
	struct pkt_spec spec = { .ip = s->v6 ? 6 : 4, .src = a, .proto = IPPROTO_TCP,
				 .dport = t->port, .sport = 40000, .flags = TCPF_SYN };
	struct pkt_buf f;
	__u32 ret;

	src_str(s, a, sizeof(a));
	if (pkt_build(&spec, &f) || test_run_frame(xdp_fd, f.buf, f.len, &ret))
		return -1;
	return t->port == 22 ? ret == XDP_PASS : ret == XDP_DROP;
}

/* A fresh filter, as a new generation or a new pinned map has. */
static int filter_clear(int fd)
{
	__u32 n = MOAT_FILTER_WORDS, *keys = calloc(n, sizeof(*keys));
	__u64 *zero = calloc(n, sizeof(*zero));
	int err = keys && zero ? 0 : -ENOMEM;

	for (__u32 i = 0; !err && i < n; i++)
		keys[i] = i;
	if (!err && bpf_map_update_batch(fd, keys, zero, &n, NULL))
		err = -errno;
	free(keys);
	free(zero);
	return err;
}

/* The words of the filter c can have set (its prefix bitmap, a host's
 * word in each region) back to 0: filter_clear for one entry, cheaper. */
static int filter_clear_for(int fd, const struct moat_cidr *c)
{
	__u32 n = MOAT_FILTER_PFX_WORDS, keys[MOAT_FILTER_PFX_WORDS];
	__u64 zero[MOAT_FILTER_PFX_WORDS] = {}, hash, mask;

	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, zero, &n, NULL))
		return -errno;
	if (!moat_cidr_is_host(c))
		return 0;
	moat_filter_hash(&c->addr, &hash, &mask);
	for (__u32 k = MOAT_FILTER_REGION_MIN; k <= MOAT_FILTER_REGION_MAX; k += 2) {
		__u32 w = moat_filter_word(hash, k);

		if (bpf_map_update_elem(fd, &w, zero, BPF_ANY))
			return -errno;
	}
	return 0;
}

enum path { P_PUT, P_FILL, P_REFILTER };
static const char *const path_names[] = { "run time", "config", "adopted" };

/* Puts c into t the way path does; the filter starts empty. */
static int table_add(struct moat_table t, const struct moat_cidr *c, __u64 expires_ns,
		     enum path path)
{
	struct moat_entry e = { .expires_ns = expires_ns, .origin = MOAT_ORIGIN_RUNTIME };
	int err;

	snprintf(e.name, sizeof(e.name), "ng");
	if (path == P_FILL)
		return moat_table_fill(t, c, &e, 1);
	err = moat_table_put(t, c, &e);
	if (!err && path == P_REFILTER)
		err = filter_clear_for(t.bloom, c) ?: moat_table_refilter(t);
	return err;
}

/* The network a CIDR covers, in the family its sources come in. */
static void cidr_span(const struct moat_cidr *c, bool *v6, u128 *first, u128 *last)
{
	u128 a = 0;
	unsigned int bits = 128, plen = c->prefixlen;

	for (int i = 0; i < 4; i++)
		a = a << 32 | ntohl(c->addr.a[i]);
	*v6 = !(c->addr.a[0] == 0 && c->addr.a[1] == 0 && c->addr.a[2] == htonl(0xffff) &&
		plen >= 96);
	if (!*v6) {
		a &= 0xffffffff;
		bits = 32;
		plen -= 96;
	}
	u128 host = plen == bits ? 0 : ((u128)1 << (bits - plen)) - 1;
	if (bits == 32 && plen == 0)
		host = 0xffffffff;
	if (bits == 128 && plen == 0)
		host = ~(u128)0;
	*first = a & ~host;
	*last = *first | host;
}

/* A v6 source that moat takes as one (not ::, not IPv4-mapped). */
static bool v6_usable(u128 a)
{
	return a && (a >> 32) != 0xffff;
}

/*
 * cidr into one table by one path: its first and last address match, the
 * ones just outside do not, nor a source of the other family (an IPv6
 * prefix never holds IPv4: README). Taken out again afterwards.
 */
static void network_case(const struct tbl *t, const char *cidr, enum path path)
{
	struct moat_table tb = t->get(&maps);
	struct moat_cidr c;
	struct src probe[6];
	bool want[6], v6, ok = true;
	size_t n = 0;
	u128 first, last, max;
	char diag[512] = "", a[INET6_ADDRSTRLEN];
	int err;

	if (moat_parse_cidr(cidr, &c)) {
		report(false, "%s %s (%s): doesn't parse", t->name, cidr, path_names[path]);
		return;
	}
	cidr_span(&c, &v6, &first, &last);
	max = v6 ? ~(u128)0 : 0xffffffff;
	probe[n] = (struct src){ v6, first }, want[n++] = true;
	probe[n] = (struct src){ v6, last }, want[n++] = true;
	if (first)
		probe[n] = (struct src){ v6, first - 1 }, want[n++] = false;
	if (last != max)
		probe[n] = (struct src){ v6, last + 1 }, want[n++] = false;
	/* the other family: 198.18.0.5 / 2001:db8::5 */
	probe[n] = v6 ? (struct src){ false, 0xc6120005 } :
			(struct src){ true, (u128)0x20010db8 << 96 | 5 };
	want[n++] = false;

	err = table_add(tb, &c, 0, path);
	for (size_t i = 0; !err && i < n; i++) {
		int m;

		if (probe[i].v6 && !v6_usable(probe[i].a))
			continue;
		m = matches(t, &probe[i]);
		src_str(&probe[i], a, sizeof(a));
		if (m != want[i]) {
			ok = false;
			snprintf(diag + strlen(diag), sizeof(diag) - strlen(diag), " %s %s;", a,
				 m < 0 ? "couldn't run" : m ? "matched" : "missed");
		}
	}
	if (err)
		snprintf(diag, sizeof(diag), " couldn't add: %s", strerror(-err));
	err = moat_table_del(tb, &c) ?: filter_clear_for(tb.bloom, &c);
	if (err) {
		ok = false;
		snprintf(diag + strlen(diag), sizeof(diag) - strlen(diag), " couldn't clean up: %s",
			 strerror(-err));
	}
	report(ok, "%s %s (%s): first and last in, neighbours and the other family out%s%s",
	       t->name, cidr, path_names[path], ok ? "" : " #", diag);
}

/* Networks of every length, at addresses whose /16 is the first, the last
 * and one in between (adopted: the one in between; a rebuild reads and
 * writes all 4 MiB); IPv4-mapped space written as IPv6 is IPv4. */
static void networks(void)
{
	static const unsigned int len4[] = { 0, 1, 7, 8, 15, 16, 17, 31, 32 };
	static const unsigned int len6[] = { 0, 3, 15, 16, 17, 64, 127, 128 };
	static const char *const base4[] = { "198.18.200.9", "255.255.255.254", "0.0.0.1" };
	static const char *const base6[] = { "2001:db8:ff00::1:9", "fe80::9",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe" };
	static const char *const mapped[] = { "::ffff:0:0/96", "::ffff:198.18.0.0/111",
		"::ffff:198.18.200.0/120", "::ffff:198.18.200.9" };
	char cidr[128];

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		for (enum path p = P_PUT; p <= P_REFILTER; p++) {
			size_t nb = p == P_REFILTER ? 1 : ARRAY_SIZE(base4);

			for (size_t b = 0; b < nb; b++) {
				for (size_t l = 0; l < ARRAY_SIZE(len4); l++) {
					struct in_addr in;
					__u32 m = len4[l] ? ~0U << (32 - len4[l]) : 0;

					inet_pton(AF_INET, base4[b], &in);
					in.s_addr = htonl(ntohl(in.s_addr) & m);
					inet_ntop(AF_INET, &in, cidr, sizeof(cidr));
					snprintf(cidr + strlen(cidr), 8, "/%u", len4[l]);
					network_case(&tables[t], cidr, p);
				}
			}
			for (size_t b = 0; b < nb; b++) {
				for (size_t l = 0; l < ARRAY_SIZE(len6); l++) {
					unsigned char a[16];

					inet_pton(AF_INET6, base6[b], a);
					for (unsigned int i = len6[l]; i < 128; i++)
						a[i / 8] &= ~(0x80 >> (i % 8));
					inet_ntop(AF_INET6, a, cidr, sizeof(cidr));
					snprintf(cidr + strlen(cidr), 8, "/%u", len6[l]);
					network_case(&tables[t], cidr, p);
				}
			}
			for (size_t i = 0; i < ARRAY_SIZE(mapped); i++)
				network_case(&tables[t], mapped[i], p);
		}
	}
}

/*
 * One table holding an IPv4 network and, written as IPv6, a longer block
 * inside it: the trie answers the longer one, which must not hide the
 * IPv4 network from IPv4 sources (nor match none itself).
 */
static void shadow(void)
{
	static const char *const cidrs[] = { "198.18.0.0/15", "::ffff:198.18.200.0/120" };
	static const struct src in[] = { { false, 0xc6120505 }, { false, 0xc612c801 } };

	for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
		for (enum path p = P_PUT; p <= P_REFILTER; p++) {
			struct moat_table tb = tables[t].get(&maps);
			struct moat_cidr c[2];
			int err = 0, m[2] = { -1, -1 };

			for (size_t i = 0; !err && i < 2; i++)
				err = moat_parse_cidr(cidrs[i], &c[i]) ? -EINVAL :
				      table_add(tb, &c[i], 0, p);
			for (size_t i = 0; !err && i < 2; i++)
				m[i] = matches(&tables[t], &in[i]);
			report(!err && m[0] == 1 && m[1] == 1,
			       "%s %s and %s (%s): 198.18.5.5 %s, 198.18.200.1 %s", tables[t].name,
			       cidrs[0], cidrs[1], path_names[p], m[0] == 1 ? "in" : "MISSED",
			       m[1] == 1 ? "in" : "MISSED");
			for (size_t i = 0; i < 2; i++)
				moat_table_del(tb, &c[i]);
			filter_clear_for(tb.bloom, &c[0]);
		}
	}
}

static struct src host_n(__u32 i)
{
	/* 198.18.0.0 up, then 2001:db8:f17e::/64 for every other one */
	return i & 1 ? (struct src){ true, (u128)0x20010db8f17e0000ULL << 64 | i } :
		       (struct src){ false, 0xc6120000 + i };
}

static void host_cidr(__u32 i, struct moat_cidr *c)
{
	struct src s = host_n(i);

	memset(c, 0, sizeof(*c));
	c->prefixlen = 128;
	if (!s.v6) {
		c->family = AF_INET;
		c->addr.a[2] = htonl(0xffff);
		c->addr.a[3] = htonl((__u32)s.a);
		return;
	}
	c->family = AF_INET6;
	for (int w = 0; w < 4; w++)
		c->addr.a[w] = htonl((__u32)(s.a >> (32 * (3 - w))));
}

/* Whether hosts [from, to) all match t, and one past them does not. */
static bool hosts_match(const struct tbl *t, __u32 from, __u32 to, char *why, size_t len)
{
	for (__u32 i = from; i < to; i++) {
		struct src s = host_n(i);

		if (matches(t, &s) != 1) {
			snprintf(why, len, "host %u of %u missed", i, to);
			return false;
		}
	}
	for (__u32 i = to; i < to + 64; i++) {
		struct src s = host_n(i + 1000000);

		if (matches(t, &s) != 0) {
			snprintf(why, len, "a stranger matched");
			return false;
		}
	}
	return true;
}

static __u32 table_hosts(struct moat_table tb)
{
	struct moat_table_count n = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(tb.count, &zero, &n);
	return n.exact;
}

/*
 * Host counts across every region boundary (hash.h: moat_filter_region):
 * every listed host matches at each step on the way up (one by one at run
 * time, in batches from the config), on the way down (deletes), and once
 * the filter is rebuilt over the table as an adopting moatd does.
 */
static void host_counts(const struct tbl *t, enum path path)
{
	static const __u32 steps[] = { 1, 1024, 1025, 4096, 4097, 16384, 16385, 65536, 65537 };
	struct moat_table tb = t->get(&maps);
	struct moat_cidr *c = calloc(65537, sizeof(*c));
	struct moat_entry *e = calloc(65537, sizeof(*e));
	__u32 have = 0;
	char why[128] = "";
	bool ok;
	int err = c && e ? 0 : -ENOMEM;

	for (__u32 i = 0; c && i < 65537; i++)
		host_cidr(i, &c[i]);
	for (size_t s = 0; !err && s < ARRAY_SIZE(steps); s++) {
		if (path == P_FILL) {
			err = moat_table_fill(tb, c + have, e + have, steps[s] - have);
		} else {
			for (__u32 i = have; !err && i < steps[s]; i++)
				err = moat_table_put(tb, &c[i], &e[i]);
		}
		have = steps[s];
		ok = !err && table_hosts(tb) == have && hosts_match(t, 0, have, why, sizeof(why));
		report(ok, "%s, %u hosts (%s): every one matches, strangers don't%s%s", t->name,
		       have, path_names[path], ok ? "" : " # ", err ? strerror(-err) : why);
	}
	if (!err && path == P_PUT) {
		err = filter_clear(tb.bloom) ?: moat_table_refilter(tb);
		ok = !err && hosts_match(t, 0, have, why, sizeof(why));
		report(ok, "%s, %u hosts: rebuilt over an empty filter, every one matches%s%s",
		       t->name, have, ok ? "" : " # ", err ? strerror(-err) : why);
	}
	/* down again: the oldest go first, the rest must still match */
	for (size_t s = ARRAY_SIZE(steps) - 1; !err && s-- > 0;) {
		__u32 gone = have - steps[s];

		for (__u32 i = 0; !err && i < gone; i++)
			err = moat_table_del(tb, &c[65537 - have + i]);
		have = steps[s];
		ok = !err && table_hosts(tb) == have &&
		     hosts_match(t, 65537 - have, 65537, why, sizeof(why));
		report(ok, "%s, down to %u hosts (%s): the rest match%s%s", t->name, have,
		       path_names[path], ok ? "" : " # ", err ? strerror(-err) : why);
	}
	for (__u32 i = 65537 - have; i < 65537; i++)
		moat_table_del(tb, &c[i]);
	filter_clear(tb.bloom);
	free(c);
	free(e);
}

/* Two IPv4 hosts from 198.18.0.0/15 in one word of the smallest region. */
static void word_pair(__u32 *a, __u32 *b)
{
	static __u32 owner[1024];
	struct moat_addr x = { { 0, 0, htonl(0xffff) } };
	__u64 h, m;

	memset(owner, 0, sizeof(owner));
	for (__u32 i = 1;; i++) {
		__u32 w;

		x.a[3] = htonl(0xc6120000 + i);
		moat_filter_hash(&x, &h, &m);
		w = moat_filter_word(h, MOAT_FILTER_REGION_MIN) - (1U << MOAT_FILTER_REGION_MIN);
		if (owner[w]) {
			*a = owner[w];
			*b = 0xc6120000 + i;
			return;
		}
		owner[w] = 0xc6120000 + i;
	}
}

/* Two hosts sharing a filter word: one expired, one live; then one deleted. */
static void shared_word(const struct tbl *t)
{
	struct moat_table tb = t->get(&maps);
	struct moat_cidr ca = { AF_INET, { { 0, 0, htonl(0xffff) } }, 128 }, cb = ca;
	struct moat_entry live = { .origin = MOAT_ORIGIN_RUNTIME }, dead = live;
	struct src sa = { false }, sb = { false };
	__u32 a, b;
	int err, m1, m2, m3, m4;

	word_pair(&a, &b);
	sa.a = a, sb.a = b;
	ca.addr.a[3] = htonl(a);
	cb.addr.a[3] = htonl(b);
	dead.expires_ns = 1;	/* the earliest instant: long past */
	err = moat_table_put(tb, &ca, &live) ?: moat_table_put(tb, &cb, &dead);
	m1 = err ? -1 : matches(t, &sa);
	m2 = err ? -1 : matches(t, &sb);
	err = err ?: moat_table_del(tb, &cb);
	m3 = err ? -1 : matches(t, &sa);
	err = err ?: moat_table_put(tb, &cb, &live) ?: moat_table_del(tb, &ca);
	m4 = err ? -1 : matches(t, &sb);
	report(!err && m1 == 1 && m2 == 0 && m3 == 1 && m4 == 1,
	       "%s: two hosts in one filter word: live in (%d), expired out (%d), live in after "
	       "the other's delete (%d), and the other way round (%d)", t->name, m1, m2, m3, m4);
	moat_table_del(tb, &cb);
	filter_clear_for(tb.bloom, &ca);
	filter_clear_for(tb.bloom, &cb);
}

/*
 * Bans pinned by a moat whose ban filter is not there (one from before
 * the filters, or whose pin was lost): the new generation's filter is new
 * and empty, so it must be refilled (ban_filter_new) before the program
 * judges; else every ban is missed.
 */
static void adopt_without_filter(void)
{
	static const char *const bans[] = { "198.18.9.9", "198.18.64.0/18", "2001:db8:b0::/48" };
	static const struct src in[] = { { false, 0xc6120909 }, { false, 0xc6124001 },
		{ true, (u128)0x20010db800b00000ULL << 64 | 7 } };
	struct moat_pins prev = maps;
	struct moat_gen g2 = {};
	struct moat_config cfg;
	char err[MOAT_ERR_LEN] = "";
	__u32 slot = 0;
	int ret, m[3] = { -1, -1, -1 }, fd2;

	for (size_t i = 0; i < ARRAY_SIZE(bans); i++)
		test_table_add(moat_pins_ban(&maps), bans[i], 0, MOAT_ORIGIN_RUNTIME, "ng");
	prev.ban_bloom = -1;	/* no such pin */
	ret = moat_config_parse("filter_test.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (!ret)
		ret = moat_gen_load(&g2, &cfg, &slot, 1, &prev, err, sizeof(err));
	if (!ret) {
		struct moat_pins m2;

		moat_gen_maps(&g2, &m2);
		/* what moatd does after loading (user/moatd/apply.c: build) */
		if (g2.ban_filter_new)
			ret = moat_table_refilter(moat_pins_ban(&m2));
		fd2 = moat_gen_prog_fd(&g2, 0);
		for (size_t i = 0; !ret && i < ARRAY_SIZE(in); i++) {
			int keep = xdp_fd;

			xdp_fd = fd2;
			m[i] = matches(&tables[2], &in[i]);
			xdp_fd = keep;
		}
		moat_gen_destroy(&g2);
	}
	if (!ret)
		moat_config_free(&cfg);
	report(!ret && m[0] == 1 && m[1] == 1 && m[2] == 1,
	       "ban table adopted without its filter: the host, v4 and v6 network bans hold "
	       "(%d %d %d)%s%s", m[0], m[1], m[2], ret ? " # " : "", ret ? err : "");
	for (size_t i = 0; i < ARRAY_SIZE(bans); i++) {
		struct moat_cidr c;

		if (!moat_parse_cidr(bans[i], &c))
			moat_table_del(moat_pins_ban(&maps), &c);
	}
	filter_clear(maps.ban_bloom);
}

/*
 * A ban an older moat kept for ::ffff:198.18.0.0/111 as IPv6 (written so),
 * adopted: moatd marks it IPv4 (moat_table_refamily) and IPv4 sources in
 * it drop; an IPv6 ban of IPv4-mapped space (::/8) stays IPv6.
 */
static void adopt_old_family(void)
{
	struct moat_table tb = moat_pins_ban(&maps);
	struct moat_cidr c4, c6;
	struct moat_entry e4 = { .origin = MOAT_ORIGIN_RUNTIME, .family = MOAT_FAMILY_V6,
				 .prefixlen = 111 }, e6 = e4;
	struct moat_lpm_key k4, k6;
	struct src in = { false, 0xc6130101 };
	int err, n = -1, m = -1;

	e6.prefixlen = 8;
	err = moat_parse_cidr("::ffff:198.18.0.0/111", &c4) || moat_parse_cidr("::/8", &c6);
	k4 = (struct moat_lpm_key){ c4.prefixlen, c4.addr };
	k6 = (struct moat_lpm_key){ c6.prefixlen, c6.addr };
	/* as the older moat left them: entry, bitmap and count */
	err = err ? -EINVAL : moat_table_put(tb, &c4, &e4) ?: moat_table_put(tb, &c6, &e6);
	err = err ?: bpf_map_update_elem(tb.prefix, &k4, &e4, BPF_EXIST) ?:
	      bpf_map_update_elem(tb.prefix, &k6, &e6, BPF_EXIST);
	if (!err && (n = moat_table_refamily(tb)) < 0)
		err = n;
	if (!err)
		m = matches(&tables[2], &in);
	report(!err && n == 1 && m == 1,
	       "ban ::ffff:198.18.0.0/111 kept as IPv6 by an older moat, adopted: 1 entry "
	       "marked IPv4 (%d), 198.19.1.1 drops (%d)%s%s", n, m, err ? " # " : "",
	       err ? strerror(err < 0 ? -err : EINVAL) : "");
	moat_table_del(tb, &c4);
	moat_table_del(tb, &c6);
	filter_clear_for(tb.bloom, &c4);
}

int main(void)
{
	char err[MOAT_ERR_LEN] = "";
	__u32 slot = 0;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	moat_libbpf_logging(false);
	ret = test_gen_load(&gen, "filter_test.yaml", yaml, &slot, 1, NULL, err, sizeof(err));
	if (ret) {
		printf("not ok 1 - load a generation: %s\n1..1\n", err);
		return 1;
	}
	moat_gen_maps(&gen, &maps);
	xdp_fd = moat_gen_prog_fd(&gen, 0);
	networks();
	shadow();
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		shared_word(&tables[t]);
	adopt_without_filter();
	adopt_old_family();
	host_counts(&tables[2], P_PUT);
	host_counts(&tables[0], P_FILL);
	moat_gen_destroy(&gen);
	printf("1..%d\n", test_no);
	return failures ? 1 : 0;
}

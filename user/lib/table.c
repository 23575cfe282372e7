// SPDX-License-Identifier: GPL-2.0
/* Address tables: hash of hosts + LPM of networks + counts (see table.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "table.h"
#include "moat/hash.h"

static const char *const origin_names[] = {
	[MOAT_ORIGIN_CONFIG] = "config",
	[MOAT_ORIGIN_RUNTIME] = "runtime",
	[MOAT_ORIGIN_INSPECTOR] = "inspector",
};

const char *moat_origin_name(uint32_t origin)
{
	return origin <= MOAT_ORIGIN_INSPECTOR ? origin_names[origin] : "unknown";
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * In 128 bits: nothing wraps whatever the inputs. Callers refuse unix times
 * past MOAT_TIME_MAX; one that slips through is clamped, never wrapped.
 */
uint64_t moat_boot_ns_from_unix(time_t t)
{
	__int128 ns;

	if (!t)
		return 0;
	if (t > MOAT_TIME_MAX)
		t = MOAT_TIME_MAX;
	ns = (__int128)t * 1000000000 - clock_ns(CLOCK_REALTIME) + clock_ns(CLOCK_BOOTTIME);
	/* Already past: the earliest non-zero instant, so it reads as expired. */
	return ns <= 0 ? 1 : (uint64_t)ns;
}

time_t moat_unix_from_boot_ns(uint64_t ns)
{
	if (!ns)
		return 0;
	return (time_t)(((__int128)ns - clock_ns(CLOCK_BOOTTIME) + clock_ns(CLOCK_REALTIME)) /
			1000000000);
}

void moat_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool addr_is_v4mapped(const struct moat_addr *a)
{
	return a->a[0] == 0 && a->a[1] == 0 && a->a[2] == htonl(0xffff);
}

/*
 * The family an entry matches: IPv4 for every block inside ::ffff:0:0/96,
 * however written (192.0.2.0/24 and ::ffff:192.0.2.0/120 are one entry:
 * config_values.c, and moatctl prints both as IPv4). So an IPv6 entry that
 * holds IPv4-mapped space is shorter than /96, shorter than every IPv4 one:
 * the trie's longest match never hides an IPv4 entry behind it.
 */
static __u8 entry_family(const struct moat_cidr *c)
{
	return addr_is_v4mapped(&c->addr) && c->prefixlen >= 96 ? MOAT_FAMILY_V4 :
								   MOAT_FAMILY_V6;
}

static void cidr_from(struct moat_cidr *c, const struct moat_addr *a, unsigned int plen)
{
	c->addr = *a;
	c->prefixlen = plen;
	c->family = addr_is_v4mapped(a) && plen >= 96 ? AF_INET : AF_INET6;
}

static int count_add(struct moat_table t, const struct moat_cidr *c, int delta)
{
	struct moat_table_count n = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(t.count, &zero, &n))
		return -errno;
	if (moat_cidr_is_host(c))
		n.exact += delta;
	else
		n.prefix += delta;
	return bpf_map_update_elem(t.count, &zero, &n, BPF_ANY) ? -errno : 0;
}

int moat_table_get(struct moat_table t, const struct moat_cidr *c, struct moat_entry *e)
{
	struct moat_lpm_key k = { .prefixlen = c->prefixlen, .addr = c->addr }, next;
	int err;

	if (moat_cidr_is_host(c))
		return bpf_map_lookup_elem(t.exact, &c->addr, e) ? -errno : 0;
	/* An LPM lookup answers the longest match no longer than the key: the
	 * key itself when the match says it has the key's length. */
	if (bpf_map_lookup_elem(t.prefix, &k, e))
		return -ENOENT;
	if (e->prefixlen == k.prefixlen)
		return 0;
	if (e->prefixlen)
		return -ENOENT;
	/* An entry from before moat kept its length: walk the keys. */
	err = bpf_map_get_next_key(t.prefix, NULL, &next);
	while (!err) {
		if (next.prefixlen == k.prefixlen && !memcmp(&next.addr, &k.addr, sizeof(k.addr)))
			return bpf_map_lookup_elem(t.prefix, &next, e) ? -errno : 0;
		err = bpf_map_get_next_key(t.prefix, &next, &next);
	}
	return -ENOENT;
}

/* Sets the address in every region of the filter (shared.h): whatever the
 * table's size, the region the program reads holds it. */
int moat_filter_add(int bits_fd, const struct moat_addr *a)
{
	__u64 hash, mask, w;

	moat_filter_hash(a, &hash, &mask);
	for (__u32 k = MOAT_FILTER_REGION_MIN; k <= MOAT_FILTER_REGION_MAX; k += 2) {
		__u32 idx = moat_filter_word(hash, k);

		if (bpf_map_lookup_elem(bits_fd, &idx, &w))
			return -errno;
		if ((w & mask) == mask)
			continue;
		w |= mask;
		if (bpf_map_update_elem(bits_fd, &idx, &w, BPF_ANY))
			return -errno;
	}
	return 0;
}

int moat_filter_add_many(int bits_fd, const struct moat_addr *a, size_t n)
{
	__u32 words = MOAT_FILTER_WORDS, count, next, *keys = malloc(words * sizeof(*keys));
	__u64 *bits = calloc(words, sizeof(*bits)), hash, mask;
	int err = 0;

	if (!keys || !bits) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < words; i++)
		keys[i] = i;
	/* Read, set, write back whole: a few syscalls for any n. */
	count = words;
	if (bpf_map_lookup_batch(bits_fd, NULL, &next, keys, bits, &count, NULL) &&
	    (errno != ENOENT || count != words)) {
		err = -errno;
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		moat_filter_hash(&a[j], &hash, &mask);
		for (__u32 k = MOAT_FILTER_REGION_MIN; k <= MOAT_FILTER_REGION_MAX; k += 2)
			bits[moat_filter_word(hash, k)] |= mask;
	}
	count = words;
	if (bpf_map_update_batch(bits_fd, keys, bits, &count, NULL))
		err = -errno;
out:
	free(keys);
	free(bits);
	return err;
}

/*
 * The prefix bitmap (shared.h): the /16s whose sources a prefix may hold,
 * as IPv6 (the address's first 16 bits) and, written or stored as IPv4,
 * as IPv4 (its first 16 bits). Set from both readings where they could
 * apply: a bit too many only costs the trie lookup it stands in front of.
 */
static void pfx_bits(const struct moat_cidr *c, __u64 *map)
{
	unsigned int plen = c->prefixlen;
	__u32 top, span;

	top = ntohl(c->addr.a[0]) >> 16;
	span = plen >= 16 ? 1 : 1U << (16 - plen);
	for (__u32 i = top & ~(span - 1), e = i + span; i < e; i++)
		map[i >> 6] |= 1ULL << (i & 63);
	if (!addr_is_v4mapped(&c->addr) || plen < 96)
		return;
	top = ntohl(c->addr.a[3]) >> 16;
	span = plen - 96 >= 16 ? 1 : 1U << (16 - (plen - 96));
	for (__u32 i = top & ~(span - 1), e = i + span; i < e; i++)
		map[i >> 6] |= 1ULL << (i & 63);
}

/* ORs a prefix bitmap into the filter's first MOAT_FILTER_PFX_WORDS words. */
static int pfx_merge(int bits_fd, const __u64 *map)
{
	__u64 w;

	for (__u32 i = 0; i < MOAT_FILTER_PFX_WORDS; i++) {
		if (!map[i])
			continue;
		if (bpf_map_lookup_elem(bits_fd, &i, &w))
			return -errno;
		if ((w & map[i]) == map[i])
			continue;
		w |= map[i];
		if (bpf_map_update_elem(bits_fd, &i, &w, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int pfx_add(int bits_fd, const struct moat_cidr *c)
{
	__u64 map[MOAT_FILTER_PFX_WORDS] = {};

	pfx_bits(c, map);
	return pfx_merge(bits_fd, map);
}

struct hosts {
	struct moat_addr *a;
	size_t n, cap;
	__u64 *pfx;	/* the prefix bitmap, MOAT_FILTER_PFX_WORDS words */
};

static int collect_host(const struct moat_cidr *c, const struct moat_entry *e, void *ctx)
{
	struct hosts *h = ctx;

	if (!moat_cidr_is_host(c)) {
		pfx_bits(c, h->pfx);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 4096;
		void *a = realloc(h->a, cap * sizeof(*h->a));

		if (!a)
			return -ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	h->a[h->n++] = c->addr;
	return 0;
}

/* Sets every entry of the table in its filter again: hosts and prefixes. */
int moat_table_refilter(struct moat_table t)
{
	struct hosts h = {};
	int err = -ENOMEM;

	h.pfx = calloc(MOAT_FILTER_PFX_WORDS, sizeof(*h.pfx));
	if (h.pfx)
		err = moat_table_foreach(t, collect_host, &h);
	if (!err)
		err = moat_filter_add_many(t.bloom, h.a, h.n);
	if (!err)
		err = pfx_merge(t.bloom, h.pfx);
	free(h.a);
	free(h.pfx);
	return err;
}

/* Entries an older moat wrote as IPv6 for IPv4-mapped blocks: IPv4 now. */
int moat_table_refamily(struct moat_table t)
{
	struct moat_lpm_key k, *prev = NULL;
	struct moat_cidr c;
	struct moat_entry e;
	int n = 0;

	while (!bpf_map_get_next_key(t.prefix, prev, &k)) {
		prev = &k;
		c = (struct moat_cidr){ .addr = k.addr, .prefixlen = k.prefixlen };
		if (bpf_map_lookup_elem(t.prefix, &k, &e) || e.family != MOAT_FAMILY_V6 ||
		    entry_family(&c) == MOAT_FAMILY_V6)
			continue;
		e.family = MOAT_FAMILY_V4;
		if (bpf_map_update_elem(t.prefix, &k, &e, BPF_EXIST) && errno != ENOENT)
			return -errno;
		n++;
	}
	return n;
}

int moat_table_put(struct moat_table t, const struct moat_cidr *c, const struct moat_entry *e)
{
	int err;

	/* Filter first, entry second, count last: the program never misses
	 * a live entry on the way in. */
	if (moat_cidr_is_host(c) && (err = moat_filter_add(t.bloom, &c->addr)))
		return err;
	return moat_table_put_filtered(t, c, e);
}

int moat_table_put_filtered(struct moat_table t, const struct moat_cidr *c,
			    const struct moat_entry *e)
{
	struct moat_lpm_key k = { .prefixlen = c->prefixlen, .addr = c->addr };
	struct moat_entry old, v = *e;
	bool existed = moat_table_get(t, c, &old) == 0;
	int err;

	v.family = entry_family(c);
	v.prefixlen = c->prefixlen;
	if (moat_cidr_is_host(c))
		err = bpf_map_update_elem(t.exact, &c->addr, &v, BPF_ANY);
	else	/* its bitmap first, as hosts their filter (moat_table_put) */
		err = pfx_add(t.bloom, c) ?: bpf_map_update_elem(t.prefix, &k, &v, BPF_ANY);
	if (err)
		return -errno;
	return existed ? 0 : count_add(t, c, 1);
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct moat_cidr *x = a, *y = b;

	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

/* Sorting order: the CIDR, then (carried in .family) its place in the list. */
static int cidr_at_cmp(const void *a, const void *b)
{
	const struct moat_cidr *x = a, *y = b;

	return cidr_cmp(a, b) ?: (x->family > y->family) - (x->family < y->family);
}

int moat_table_fill(struct moat_table t, const struct moat_cidr *cidrs,
		    const struct moat_entry *entries, size_t n)
{
	struct moat_cidr *c = malloc((n ? n : 1) * sizeof(*c));
	struct moat_addr *hosts = malloc((n ? n : 1) * sizeof(*hosts));
	struct moat_lpm_key *pfx = malloc((n ? n : 1) * sizeof(*pfx));
	struct moat_entry *hv = malloc((n ? n : 1) * sizeof(*hv)), *pv = malloc((n ? n : 1) * sizeof(*pv));
	__u64 *pmap = calloc(MOAT_FILTER_PFX_WORDS, sizeof(*pmap));
	struct moat_table_count cnt = {}, old;
	__u32 zero = 0, k;
	int err = 0;

	if (!c || !hosts || !pfx || !hv || !pv || !pmap) {
		err = -ENOMEM;
		goto out;
	}
	/* Sorted, the first of equal CIDRs kept: the config's order decides. */
	for (size_t i = 0; i < n; i++) {
		c[i] = cidrs[i];
		c[i].family = (int)i;	/* carry the index through the sort */
	}
	qsort(c, n, sizeof(*c), cidr_at_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t at = (size_t)c[i].family;
		struct moat_entry v;

		if (i && !cidr_cmp(&c[i - 1], &c[i]))
			continue;
		v = entries[at];
		v.family = entry_family(&cidrs[at]);
		v.prefixlen = cidrs[at].prefixlen;
		if (moat_cidr_is_host(&cidrs[at])) {
			hosts[cnt.exact] = cidrs[at].addr;
			hv[cnt.exact++] = v;
		} else {
			pfx[cnt.prefix] = (struct moat_lpm_key){ .prefixlen = cidrs[at].prefixlen,
							       .addr = cidrs[at].addr };
			pfx_bits(&cidrs[at], pmap);
			pv[cnt.prefix++] = v;
		}
	}
	/* Filter first, entries second, counts last, as moat_table_put. */
	if (cnt.exact && (err = moat_filter_add_many(t.bloom, hosts, cnt.exact)))
		goto out;
	k = cnt.exact;
	if (k && bpf_map_update_batch(t.exact, hosts, hv, &k, NULL)) {
		err = -errno;
		goto out;
	}
	if (cnt.prefix && (err = pfx_merge(t.bloom, pmap)))
		goto out;
	/* The trie takes no batch: one update each, O(prefix length). */
	for (size_t i = 0; i < cnt.prefix; i++) {
		if (bpf_map_update_elem(t.prefix, &pfx[i], &pv[i], BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	if (bpf_map_lookup_elem(t.count, &zero, &old)) {
		err = -errno;
		goto out;
	}
	cnt.exact += old.exact;
	cnt.prefix += old.prefix;
	if (bpf_map_update_elem(t.count, &zero, &cnt, BPF_ANY))
		err = -errno;
out:
	free(c);
	free(hosts);
	free(pfx);
	free(hv);
	free(pv);
	free(pmap);
	return err;
}

int moat_table_del(struct moat_table t, const struct moat_cidr *c)
{
	struct moat_lpm_key k = { .prefixlen = c->prefixlen, .addr = c->addr };
	struct moat_entry old;
	int err;

	if (moat_table_get(t, c, &old))
		return -ENOENT;
	if (moat_cidr_is_host(c))
		err = bpf_map_delete_elem(t.exact, &c->addr);
	else
		err = bpf_map_delete_elem(t.prefix, &k);
	if (err)
		return -errno;
	return count_add(t, c, -1);
}

int moat_table_foreach(struct moat_table t, moat_table_cb cb, void *ctx)
{
	struct moat_lpm_key pk, *pprev = NULL;
	struct moat_addr hk, *hprev = NULL;
	struct moat_cidr c;
	struct moat_entry e;
	int err;

	while (!bpf_map_get_next_key(t.exact, hprev, &hk)) {
		hprev = &hk;
		if (bpf_map_lookup_elem(t.exact, &hk, &e))
			continue;	/* deleted under us */
		cidr_from(&c, &hk, 128);
		err = cb(&c, &e, ctx);
		if (err)
			return err;
	}
	while (!bpf_map_get_next_key(t.prefix, pprev, &pk)) {
		pprev = &pk;
		if (bpf_map_lookup_elem(t.prefix, &pk, &e))
			continue;
		cidr_from(&c, &pk.addr, pk.prefixlen);
		err = cb(&c, &e, ctx);
		if (err)
			return err;
	}
	return 0;
}

struct sweep {
	struct moat_cidr *dead;
	size_t n, cap;
	uint64_t now;
};

static int collect_expired(const struct moat_cidr *c, const struct moat_entry *e, void *ctx)
{
	struct sweep *s = ctx;

	if (!e->expires_ns || e->expires_ns > s->now)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct moat_cidr *d = realloc(s->dead, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		s->dead = d;
		s->cap = cap;
	}
	s->dead[s->n++] = *c;
	return 0;
}

int moat_table_sweep(struct moat_table t)
{
	struct sweep s = { .now = clock_ns(CLOCK_BOOTTIME) };
	int err;

	/* Collect first: deleting while walking next_key restarts hash walks. */
	err = moat_table_foreach(t, collect_expired, &s);
	for (size_t i = 0; !err && i < s.n; i++) {
		err = moat_table_del(t, &s.dead[i]);
		if (err == -ENOENT)
			err = 0;
	}
	free(s.dead);
	return err ? err : (int)s.n;
}

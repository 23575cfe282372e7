// SPDX-License-Identifier: GPL-2.0
/*
 * Value parsers of user/lib/parse.c: CIDR, port, host:port, duration, size,
 * RFC 3339 time, TLS version.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "lib/config.h"
#include "lib/table.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct cidr_ok {
	const char *in;
	int family;
	const char *addr;	/* expected 128-bit address, as IPv6 text */
	unsigned int prefixlen;
	const char *formatted;
};

static void test_cidr_valid(void **state)
{
	static const struct cidr_ok cases[] = {
		{ "198.51.100.7", AF_INET, "::ffff:198.51.100.7", 128, "198.51.100.7" },
		{ "198.51.100.7/32", AF_INET, "::ffff:198.51.100.7", 128, "198.51.100.7" },
		{ "198.51.100.0/24", AF_INET, "::ffff:198.51.100.0", 120, "198.51.100.0/24" },
		{ "203.0.113.0/28", AF_INET, "::ffff:203.0.113.0", 124, "203.0.113.0/28" },
		{ "10.0.0.0/8", AF_INET, "::ffff:10.0.0.0", 104, "10.0.0.0/8" },
		{ "0.0.0.0/0", AF_INET, "::ffff:0.0.0.0", 96, "0.0.0.0/0" },
		{ "255.255.255.255/32", AF_INET, "::ffff:255.255.255.255", 128, "255.255.255.255" },
		{ "2001:db8::1", AF_INET6, "2001:db8::1", 128, "2001:db8::1" },
		{ "2001:db8::1/128", AF_INET6, "2001:db8::1", 128, "2001:db8::1" },
		{ "2001:db8:100::/48", AF_INET6, "2001:db8:100::", 48, "2001:db8:100::/48" },
		{ "2001:DB8::/32", AF_INET6, "2001:db8::", 32, "2001:db8::/32" },
		{ "::/0", AF_INET6, "::", 0, "::/0" },
		{ "::1", AF_INET6, "::1", 128, "::1" },
		{ "fe80::/10", AF_INET6, "fe80::", 10, "fe80::/10" },
		/* IPv4-mapped written as IPv6: same entry, printed as IPv4 */
		{ "::ffff:198.51.100.7", AF_INET6, "::ffff:198.51.100.7", 128, "198.51.100.7" },
		{ "::ffff:198.51.100.0/120", AF_INET6, "::ffff:198.51.100.0", 120, "198.51.100.0/24" },
		{ "::ffff:0:0/96", AF_INET6, "::ffff:0.0.0.0", 96, "0.0.0.0/0" },
		/* shorter than the mapped prefix: no longer IPv4 */
		{ "::fffe:0:0/95", AF_INET6, "::fffe:0:0", 95, "::fffe:0:0/95" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct cidr_ok *t = &cases[i];
		struct moat_cidr c;
		struct in6_addr want;
		const char *why = "unset";
		char buf[64];
		int err;

		err = moat_parse_cidr_err(t->in, &c, &why);
		if (err)
			fail_msg("'%s': %d (%s)", t->in, err, why);
		assert_null(why);
		assert_int_equal(inet_pton(AF_INET6, t->addr, &want), 1);
		if (c.family != t->family || c.prefixlen != t->prefixlen ||
		    memcmp(&c.addr, &want, 16))
			fail_msg("'%s': family %d prefixlen %u", t->in, c.family, c.prefixlen);
		assert_int_equal(moat_format_cidr(&c, buf, sizeof(buf)), 0);
		if (strcmp(buf, t->formatted))
			fail_msg("'%s' formatted as '%s', want '%s'", t->in, buf, t->formatted);
		assert_int_equal(moat_cidr_is_host(&c), t->prefixlen == 128);
	}
}

static void test_cidr_invalid(void **state)
{
	static const struct { const char *in, *why; } cases[] = {
		{ "", "not an IP address" },
		{ "garbage", "not an IP address" },
		{ "/24", "not an IP address" },
		{ "198.51.100", "not an IP address" },
		{ "198.51.100.256", "not an IP address" },
		{ "010.1.1.1", "not an IP address" },
		{ " 198.51.100.0/24", "not an IP address" },
		{ "198.51.100.0 /24", "not an IP address" },
		{ "198.51.100.0/24 ", "prefix length is not a number" },
		{ "198.51.100.0/24x", "prefix length is not a number" },
		{ "198.51.100.0/", "prefix length is not a number" },
		{ "198.51.100.0/+24", "prefix length is not a number" },
		{ "198.51.100.0/-1", "prefix length is not a number" },
		{ "198.51.100.0/024", "prefix length is not a number" },
		{ "1.2.3.4/24/8", "prefix length is not a number" },
		{ "198.51.100.7/33", "prefix length above 32" },
		{ "198.51.100.0/99999999999999999999999", "prefix length above 32" },
		{ "2001:db8::/129", "prefix length above 128" },
		{ "2001:db8:::1", "not an IP address" },
		{ "fe80::1%eth0", "not an IP address" },
		{ "2001:db8::g", "not an IP address" },
		{ "1:2:3:4:5:6:7:8:9", "not an IP address" },
		{ "0000:0000:0000:0000:0000:0000:0000:0000:0000/0", "not an IP address" },
		{ "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/0", "not an IP address" },
		{ "::ffff:0:0/95", "host bits set" },
		{ "198.51.100.7/24", "host bits set" },
		{ "0.0.0.1/0", "host bits set" },
		{ "2001:db8::1/64", "host bits set" },
		{ "::1/0", "host bits set" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct moat_cidr c, sentinel;
		const char *why = NULL;

		memset(&sentinel, 0xa5, sizeof(sentinel));
		c = sentinel;
		if (moat_parse_cidr(cases[i].in, &c) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].in);
		/* a refused CIDR must not leak into the caller's entry */
		if (memcmp(&c, &sentinel, sizeof(c)))
			fail_msg("'%s' changed *out", cases[i].in);
		if (moat_parse_cidr_err(cases[i].in, &c, &why) != -EINVAL || !why ||
		    strcmp(why, cases[i].why))
			fail_msg("'%s': why '%s', want '%s'", cases[i].in, why ? why : "(null)",
				 cases[i].why);
	}
}

/* With host bits set, the _err variant hands back the network to suggest. */
static void test_cidr_host_bits_network(void **state)
{
	struct moat_cidr c;
	const char *why;
	char buf[64];

	assert_int_equal(moat_parse_cidr_err("198.51.100.7/24", &c, &why), -EINVAL);
	assert_string_equal(why, "host bits set");
	assert_int_equal(moat_format_cidr(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.51.100.0/24");
	assert_int_equal(c.prefixlen, 120);

	assert_int_equal(moat_parse_cidr_err("2001:db8:100::1/48", &c, &why), -EINVAL);
	assert_int_equal(moat_format_cidr(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2001:db8:100::/48");
	/* why may be NULL */
	assert_int_equal(moat_parse_cidr_err("junk", &c, NULL), -EINVAL);
}

static void test_format_cidr_limits(void **state)
{
	struct moat_cidr c;
	char buf[64];

	assert_int_equal(moat_parse_cidr("198.51.100.0/24", &c), 0);
	/* "198.51.100.0/24" is 15 characters: 16 bytes fit, 15 do not */
	assert_int_equal(moat_format_cidr(&c, buf, 16), 0);
	assert_string_equal(buf, "198.51.100.0/24");
	assert_int_equal(moat_format_cidr(&c, buf, 15), -ENOSPC);
	c.prefixlen = 129;
	assert_int_equal(moat_format_cidr(&c, buf, sizeof(buf)), -EINVAL);
}

static void test_port(void **state)
{
	static const struct { const char *in; int err; uint16_t want; } cases[] = {
		{ "1", 0, 1 }, { "22", 0, 22 }, { "443", 0, 443 }, { "65535", 0, 65535 },
		{ "0", -EINVAL, 0 }, { "65536", -EINVAL, 0 }, { "70000", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "22 ", -EINVAL, 0 },
		{ " 22", -EINVAL, 0 }, { "+22", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "0443", -EINVAL, 0 }, { "22a", -EINVAL, 0 }, { "0x16", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint16_t p = 7;
		int err = moat_parse_port(cases[i].in, &p);

		if (err != cases[i].err || (!err && p != cases[i].want) || (err && p != 7))
			fail_msg("'%s': err %d port %u", cases[i].in, err, p);
	}
}

static void test_uint(void **state)
{
	static const struct { const char *in; uint64_t max; int err; uint64_t want; } cases[] = {
		{ "0", 10, 0, 0 },
		{ "10", 10, 0, 10 },
		{ "11", 10, -ERANGE, 0 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999x", UINT64_MAX, -EINVAL, 0 },
		{ "00", UINT64_MAX, -EINVAL, 0 },
		{ "010", UINT64_MAX, -EINVAL, 0 },
		{ "", UINT64_MAX, -EINVAL, 0 },
		{ "1e3", UINT64_MAX, -EINVAL, 0 },
		{ "-0", UINT64_MAX, -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 0;
		int err = moat_parse_uint(cases[i].in, cases[i].max, &v);

		if (err != cases[i].err || (!err && v != cases[i].want))
			fail_msg("'%s': err %d value %llu", cases[i].in, err, (unsigned long long)v);
	}
}

static void test_duration(void **state)
{
	static const struct { const char *in; uint64_t want; } ok[] = {
		{ "1s", 1 }, { "90s", 90 }, { "10m", 600 }, { "1h", 3600 }, { "1h30m", 5400 },
		{ "2d", 172800 }, { "1w", 604800 }, { "1w2d3h4m5s", 788645 }, { "0h30m", 1800 },
		{ "36h", 129600 }, { "600s", 600 },
		/* the longest that still fits a __u64 of nanoseconds */
		{ "18446744073s", 18446744073ULL }, { "30500w", 30500ULL * 604800 },
	};
	static const char *const bad[] = {
		"", "10", "0", "0s", "0m0s", "1h1h", "30m1h", "10ms", "1x", "h", "s1", "1h ",
		" 1h", "1H", "-1s", "+1s", "1.5h", "1h-30m", "18446744074s", "30501w",
		"99999999999999999999s", "99999999999999999999999999999999w",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 0;

		if (moat_parse_duration(ok[i].in, &v) || v != ok[i].want)
			fail_msg("'%s': got %llu, want %llu", ok[i].in, (unsigned long long)v,
				 (unsigned long long)ok[i].want);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 7;

		if (moat_parse_duration(bad[i], &v) != -EINVAL || v != 7)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void test_time(void **state)
{
	/* expected values from `date -u -d ... +%s` */
	static const struct { const char *in; time_t want; } ok[] = {
		{ "2026-12-31T23:00:00Z", 1798758000 },
		{ "2026-12-31t23:00:00z", 1798758000 },
		{ "2026-12-31 23:00:00Z", 1798758000 },
		{ "2026-12-31T23:00:00.123456Z", 1798758000 },
		{ "2026-12-31T23:00:00+00:00", 1798758000 },
		{ "2026-12-31T23:00:00-00:00", 1798758000 },
		{ "2027-01-01T00:00:00+01:00", 1798758000 },
		{ "2026-06-01T10:00:00+02:00", 1780300800 },
		{ "2026-06-01T10:00:00-05:30", 1780327800 },
		{ "2024-02-29T12:00:00Z", 1709208000 },
		{ "2000-02-29T00:00:00Z", 951782400 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1970-01-01T00:00:00+01:00", -3600 },
	};
	static const char *const bad[] = {
		"", "2026-12-31", "2026-12-31T23:00:00", "2026-12-31T23:00Z",
		"2026-12-31T23:00:00+02", "2026-12-31T23:00:00+2:00", "2026-12-31T23:00:00+0200",
		"2026-12-31T23:00:00Zjunk", " 2026-12-31T23:00:00Z", "2026-12-31T23:00:00Z ",
		"26-12-31T23:00:00Z", "2026/12/31T23:00:00Z", "2026-12-31X23:00:00Z",
		"2026-12-31T23:00:00.Z", "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-04-00T00:00:00Z", "2026-12-31T24:00:00Z", "2026-12-31T23:60:00Z",
		"2026-12-31T23:00:61Z", "2026-12-31T23:00:00+24:00", "2026-12-31T23:00:00+01:60",
		"1798758000",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		time_t t = 1;

		if (moat_parse_time(ok[i].in, &t) || t != ok[i].want)
			fail_msg("'%s': got %lld, want %lld", ok[i].in, (long long)t,
				 (long long)ok[i].want);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		time_t t = 1;

		if (moat_parse_time(bad[i], &t) != -EINVAL || t != 1)
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* The last representable expiry (issue 8, item 6): now + ttl past it is refused. */
static void test_expiry_edges(void **state)
{
	time_t now = 1798758000, t = 1;	/* 2026-12-31T23:00:00Z */
	uint64_t ttl;

	assert_int_equal(moat_parse_time(MOAT_TIME_MAX_TEXT, &t), 0);
	assert_int_equal(t, MOAT_TIME_MAX);
	assert_int_equal(moat_expiry_after(now, 3600, &t), 0);
	assert_int_equal(t, now + 3600);
	/* 30000w and 100000d parse as durations but end after 2262 */
	assert_int_equal(moat_parse_duration("30000w", &ttl), 0);
	assert_int_equal(moat_expiry_after(now, ttl, &t), -ERANGE);
	assert_int_equal(moat_parse_duration("100000d", &ttl), 0);
	assert_int_equal(moat_expiry_after(now, ttl, &t), -ERANGE);
	/* 12000w (230 years) ends in 2256: representable */
	assert_int_equal(moat_parse_duration("12000w", &ttl), 0);
	assert_int_equal(moat_expiry_after(now, ttl, &t), 0);
	assert_int_equal(t, now + 12000 * 7 * 86400LL);
	/* the edge itself, and one second after it */
	assert_int_equal(moat_expiry_after(MOAT_TIME_MAX - 10, 10, &t), 0);
	assert_int_equal(t, MOAT_TIME_MAX);
	t = 1;
	assert_int_equal(moat_expiry_after(MOAT_TIME_MAX - 10, 11, &t), -ERANGE);
	assert_int_equal(moat_expiry_after(0, UINT64_MAX, &t), -ERANGE);
	assert_int_equal(t, 1);
}

/* Entry names: what the config accepts, moatctl --name and runtime.json accept. */
static void test_name(void **state)
{
	static const char *const ok[] = { "alice", "ops-vpn (backup)", "é", "0123456789012345678901234567890" };
	static const struct { const char *in, *why; } bad[] = {
		{ "", "must not be empty" },
		{ "01234567890123456789012345678901", "longer than 31 characters" },
		{ "a\nb", "contains a control character" },
		{ "a\rb", "contains a control character" },
		{ "\033[31mred", "contains a control character" },
		{ "tab\there", "contains a control character" },
		{ "del\x7f", "contains a control character" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (moat_name_problem(ok[i]))
			fail_msg("'%s' refused: %s", ok[i], moat_name_problem(ok[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *why = moat_name_problem(bad[i].in);

		if (!why || strcmp(why, bad[i].why))
			fail_msg("case %zu: got '%s', want '%s'", i, why ? why : "(accepted)", bad[i].why);
	}
}

/* Unix time <-> boot-time ns: round trips to the edge, nothing wraps. */
static void test_boot_ns(void **state)
{
	time_t now = time(NULL);
	static const int64_t offsets[] = { 60, 86400, 100LL * 365 * 86400 };

	for (size_t i = 0; i < ARRAY_SIZE(offsets); i++) {
		time_t back = moat_unix_from_boot_ns(moat_boot_ns_from_unix(now + offsets[i]));

		assert_in_range(back, now + offsets[i] - 1, now + offsets[i] + 1);
	}
	assert_in_range(moat_unix_from_boot_ns(moat_boot_ns_from_unix(MOAT_TIME_MAX)),
			MOAT_TIME_MAX - 1, MOAT_TIME_MAX);
	/* later is clamped to the edge, never wrapped into the past (the two
	 * calls read the clocks a few ns apart: 1 ms of slack) */
	assert_in_range(moat_boot_ns_from_unix(MOAT_TIME_MAX + 1000),
			moat_boot_ns_from_unix(MOAT_TIME_MAX) - 1000000,
			moat_boot_ns_from_unix(MOAT_TIME_MAX) + 1000000);
	assert_true(moat_boot_ns_from_unix(MOAT_TIME_MAX) > moat_boot_ns_from_unix(now + 86400));
	/* the past reads as expired, 0 stays "never" */
	assert_int_equal(moat_boot_ns_from_unix(1), 1);
	assert_int_equal(moat_boot_ns_from_unix(0), 0);
	assert_int_equal(moat_unix_from_boot_ns(0), 0);
	assert_true(moat_unix_from_boot_ns(UINT64_MAX) > MOAT_TIME_MAX);
}

static void test_tls_version(void **state)
{
	static const char *const bad[] = { "", "1", "1.4", "0.9", "1.2.0", "TLS1.2", " 1.2",
					   "1.2 ", "1.20", "2.0" };
	uint16_t v = 0;
	size_t i;

	assert_int_equal(moat_parse_tls_version("1.0", &v), 0);
	assert_int_equal(v, 0x0301);
	assert_int_equal(moat_parse_tls_version("1.1", &v), 0);
	assert_int_equal(v, 0x0302);
	assert_int_equal(moat_parse_tls_version("1.2", &v), 0);
	assert_int_equal(v, 0x0303);
	assert_int_equal(moat_parse_tls_version("1.3", &v), 0);
	assert_int_equal(v, 0x0304);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (moat_parse_tls_version(bad[i], &v) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void test_hostport(void **state)
{
	static const struct { const char *in, *host; uint16_t port; } good[] = {
		{ "127.0.0.1:9477", "127.0.0.1", 9477 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "[::1]:9477", "::1", 9477 },
		{ "[::]:65535", "::", 65535 },
		{ "localhost:80", "localhost", 80 },
		{ "metrics.example-1.net:443", "metrics.example-1.net", 443 },
	};
	static const struct { const char *in, *why; } bad[] = {
		{ "127.0.0.1", "missing ':PORT'" },
		{ ":9477", "missing host (use 0.0.0.0 or [::] for every address)" },
		{ "::1:9477", "an IPv6 host must be in brackets, e.g. [::1]:9477" },
		{ "[::1:9477", "missing ']' after the IPv6 address" },
		{ "[::1]9477", "expected ':PORT' after ']'" },
		{ "[1.2.3.4]:80", "not an IPv6 address inside [ ]" },
		{ "1.2.3:80", "not an IPv4 address" },
		{ "256.0.0.1:80", "not an IPv4 address" },
		{ "host_name:80", "host is not an IPv4 address or host name" },
		{ "127.0.0.1:0", "port must be 1..65535" },
		{ "127.0.0.1:65536", "port must be 1..65535" },
		{ "127.0.0.1:", "port must be 1..65535" },
		{ "[::1]:", "port must be 1..65535" },
	};
	char host[16];
	uint16_t port;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		char big[64];
		const char *why = moat_parse_hostport(good[i].in, big, sizeof(big), &port);

		if (why)
			fail_msg("'%s' refused: %s", good[i].in, why);
		assert_string_equal(big, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *why = moat_parse_hostport(bad[i].in, host, sizeof(host), &port);

		if (!why)
			fail_msg("'%s' accepted", bad[i].in);
		assert_string_equal(why, bad[i].why);
	}
	/* the host must fit the buffer it is written to, brackets or not */
	assert_string_equal(moat_parse_hostport("abcdefghijklmnop:1", host, sizeof(host), &port),
			    "host is too long");
	assert_string_equal(moat_parse_hostport("[2001:db8::1:2:3:4]:1", host, sizeof(host), &port),
			    "host is too long");
	assert_null(moat_parse_hostport("abcdefghijklmno:1", host, sizeof(host), &port));
}

static void test_size(void **state)
{
	static const struct { const char *in; uint64_t bytes; } good[] = {
		{ "0", 0 }, { "65536", 65536 }, { "65536B", 65536 }, { "64KiB", 65536 },
		{ "1MiB", 1048576 }, { "16MiB", 16777216 },
		{ "18446744073709551615", UINT64_MAX }, { "17592186044415MiB", 17592186044415ull << 20 },
	};
	static const char *const bad[] = {
		"", "B", "KiB", "MiB", "64K", "64kib", "64 KiB", "-1", "0x10", "064", "1.5MiB",
		"64iB", "18446744073709551616", "17592186044416MiB", "18014398509481984KiB",
		"123456789012345678901234567890123KiB",
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		if (moat_parse_size(good[i].in, &v))
			fail_msg("'%s' refused", good[i].in);
		assert_int_equal(v, good[i].bytes);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (moat_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_valid),
		cmocka_unit_test(test_cidr_invalid),
		cmocka_unit_test(test_cidr_host_bits_network),
		cmocka_unit_test(test_format_cidr_limits),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_tls_version),
		cmocka_unit_test(test_expiry_edges),
		cmocka_unit_test(test_boot_ns),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}

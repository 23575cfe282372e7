// SPDX-License-Identifier: GPL-2.0
/* Value parsers shared by the config file, the state file and moatctl arguments. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "lib/parse.h"

_Static_assert(MOAT_NAME_LEN == 32, "moat_name_problem() says 31 characters");

/* Longest duration whose value in nanoseconds still fits a __u64 (~584 years). */
#define MOAT_DURATION_MAX	(UINT64_MAX / 1000000000ULL)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int moat_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!is_digit(*s))
		return -EINVAL;
	/* "010" is octal to YAML 1.1 readers and to strtoul(.., 0): refuse the doubt */
	if (s[0] == '0' && s[1])
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
			/* keep scanning: trailing junk is a worse error than size */
			while (is_digit(*s))
				s++;
			return *s ? -EINVAL : -ERANGE;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int moat_parse_port(const char *s, uint16_t *out)
{
	uint64_t v;

	if (moat_parse_uint(s, 65535, &v) || v == 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static bool addr_is_v4_mapped(const struct moat_addr *a)
{
	return a->a[0] == 0 && a->a[1] == 0 && a->a[2] == htonl(0xffff);
}

int moat_parse_cidr_err(const char *s, struct moat_cidr *out, const char **why)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char text[INET6_ADDRSTRLEN];
	struct moat_addr addr = {};
	unsigned int max, plen, i;
	uint8_t *b = (uint8_t *)addr.a;
	const char *dummy;
	bool host_bits = false;
	int family;

	if (!why)
		why = &dummy;
	*why = "not an IP address";
	if (alen == 0 || alen >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, alen);
	text[alen] = '\0';

	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, &addr) != 1)
			return -EINVAL;
		family = AF_INET6;
		max = 128;
	} else {
		/* inet_pton, unlike inet_aton, takes only the four-part dotted form */
		if (inet_pton(AF_INET, text, &addr.a[3]) != 1)
			return -EINVAL;
		addr.a[2] = htonl(0xffff);
		family = AF_INET;
		max = 32;
	}

	plen = max;
	if (slash) {
		uint64_t v;
		int err = moat_parse_uint(slash + 1, max, &v);

		if (err) {
			*why = err == -ERANGE ? (max == 32 ? "prefix length above 32" :
						 "prefix length above 128") :
			       "prefix length is not a number";
			return -EINVAL;
		}
		plen = (unsigned int)v;
	}
	if (family == AF_INET)
		plen += 96;

	for (i = plen; i < 128; i++) {
		uint8_t bit = 0x80 >> (i % 8);

		if (b[i / 8] & bit) {
			host_bits = true;
			b[i / 8] &= ~bit;
		}
	}

	out->family = family;
	out->addr = addr;
	out->prefixlen = plen;
	if (host_bits) {
		*why = "host bits set";
		return -EINVAL;
	}
	*why = NULL;
	return 0;
}

int moat_parse_cidr(const char *s, struct moat_cidr *out)
{
	struct moat_cidr c;

	/* a temporary, so a refused network never reaches *out */
	if (moat_parse_cidr_err(s, &c, NULL))
		return -EINVAL;
	*out = c;
	return 0;
}

int moat_format_cidr(const struct moat_cidr *c, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	unsigned int plen = c->prefixlen;
	bool v4 = addr_is_v4_mapped(&c->addr) && plen >= 96;
	int n;

	if (plen > 128)
		return -EINVAL;
	if (v4) {
		inet_ntop(AF_INET, &c->addr.a[3], text, sizeof(text));
		plen -= 96;
	} else {
		inet_ntop(AF_INET6, &c->addr, text, sizeof(text));
	}
	if (c->prefixlen == 128)
		n = snprintf(buf, len, "%s", text);
	else
		n = snprintf(buf, len, "%s/%u", text, plen);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

const char *moat_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *after, *p;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return "missing ']' after the IPv6 address";
		hlen = (size_t)(end - s - 1);
		if (hlen >= hostlen)
			return "host is too long";
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &(struct in6_addr){}) != 1)
			return "not an IPv6 address inside [ ]";
		if (end[1] != ':')
			return "expected ':PORT' after ']'";
		after = end + 2;
	} else {
		const char *colon = strrchr(s, ':');
		bool numeric = true;

		if (!colon)
			return "missing ':PORT'";
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return "an IPv6 host must be in brackets, e.g. [::1]:9477";
		if (hlen == 0)
			return "missing host (use 0.0.0.0 or [::] for every address)";
		if (hlen >= hostlen)
			return "host is too long";
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		for (p = host; *p; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      is_digit(*p) || *p == '-' || *p == '.'))
				return "host is not an IPv4 address or host name";
			if (!(*p == '.' || is_digit(*p)))
				numeric = false;
		}
		if (numeric && inet_pton(AF_INET, host, &(struct in_addr){}) != 1)
			return "not an IPv4 address";
		after = colon + 1;
	}
	if (moat_parse_port(after, port))
		return "port must be 1..65535";
	return NULL;
}

int moat_parse_duration(const char *s, uint64_t *seconds)
{
	/* largest unit first; each at most once, in this order */
	static const struct { char unit; uint64_t mult; } units[] = {
		{ 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t next = 0, i;
	uint64_t total = 0;

	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0;

		if (!is_digit(*s))
			return -EINVAL;
		for (; is_digit(*s); s++) {
			if (v > (MOAT_DURATION_MAX - (uint64_t)(*s - '0')) / 10)
				return -EINVAL;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		/* a bare number is refused: "10" could mean seconds or minutes */
		for (i = next; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == *s)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (v > (MOAT_DURATION_MAX - total) / units[i].mult)
			return -EINVAL;
		total += v * units[i].mult;
		next = i + 1;
		s++;
	}
	if (total == 0)
		return -EINVAL;
	*seconds = total;
	return 0;
}

int moat_parse_size(const char *s, uint64_t *bytes)
{
	/* tried in this order: "64KiB" must not be read as 64Ki bytes */
	static const struct { const char *suffix; uint64_t mult; } units[] = {
		{ "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "B", 1 }, { "", 1 },
	};
	size_t len = strlen(s);
	char num[32];
	uint64_t v;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);

		if (len <= sl || len - sl >= sizeof(num) || strcmp(s + len - sl, units[i].suffix))
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (moat_parse_uint(num, UINT64_MAX / units[i].mult, &v))
			return -EINVAL;
		*bytes = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

/* Exactly n digits at *p. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (!is_digit(**p))
			return -EINVAL;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

static int take_char(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return -EINVAL;
	(*p)++;
	return 0;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int moat_parse_time(const char *s, time_t *out)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	struct tm tm = {};
	const char *p = s;
	time_t t;

	/* full-date "T" full-time (RFC 3339 §5.6); "t" and " " are allowed there too */
	if (take_digits(&p, 4, &year) || take_char(&p, "-") ||
	    take_digits(&p, 2, &mon) || take_char(&p, "-") ||
	    take_digits(&p, 2, &day) || take_char(&p, "Tt ") ||
	    take_digits(&p, 2, &hour) || take_char(&p, ":") ||
	    take_digits(&p, 2, &min) || take_char(&p, ":") ||
	    take_digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		/* fractions are allowed, and below what expiry needs */
		p++;
		if (!is_digit(*p))
			return -EINVAL;
		while (is_digit(*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (take_digits(&p, 2, &oh) || take_char(&p, ":") || take_digits(&p, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;

	if (mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] + (mon == 2 && is_leap(year)) ||
	    hour > 23 || min > 59 || sec > 60 || oh > 23 || om > 59)
		return -EINVAL;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;	/* a leap second 60 rolls into the next minute */
	t = timegm(&tm);
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return 0;
}

const char *moat_name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "must not be empty";
	if (n >= MOAT_NAME_LEN)
		return "longer than 31 characters";
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "contains a control character";
	return NULL;
}

int moat_expiry_after(time_t now, uint64_t ttl, time_t *out)
{
	if (now < 0 || now > MOAT_TIME_MAX || ttl > (uint64_t)(MOAT_TIME_MAX - now))
		return -ERANGE;
	*out = now + (time_t)ttl;
	return 0;
}

int moat_parse_tls_version(const char *s, uint16_t *out)
{
	static const char *const names[] = { "1.0", "1.1", "1.2", "1.3" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (uint16_t)(0x0301 + i);
			return 0;
		}
	}
	return -EINVAL;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Value parsers (user/lib/parse.c): the grammar of each value moat reads
 * from a config file, a state file or a moatctl argument, written once.
 * Each returns 0 or -EINVAL unless it says otherwise.
 */
#ifndef MOAT_PARSE_H
#define MOAT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <linux/types.h>
#include "moat/shared.h"

/*
 * The latest expiry moat can hold: expiries become CLOCK_BOOTTIME
 * nanoseconds in signed 64-bit arithmetic, which ends at
 * 2262-04-11T23:47:16Z. Later ones are refused, never wrapped.
 */
#define MOAT_TIME_MAX		((time_t)(INT64_MAX / 1000000000LL))
#define MOAT_TIME_MAX_TEXT	"2262-04-11T23:47:16Z"

/* An address block; addr is IPv6 or IPv4-mapped, prefixlen over 128 bits. */
struct moat_cidr {
	int family;			/* AF_INET or AF_INET6 (as written) */
	struct moat_addr addr;		/* host bits are zero */
	unsigned int prefixlen;		/* 0..128 (v4: 96 + written length) */
};

int moat_parse_cidr(const char *s, struct moat_cidr *out);	/* bare address = /32 or /128 */
/*
 * Same, and on error points *why at the cause ("host bits set", ...). With
 * host bits set, *out still holds the network, so callers can suggest it.
 */
int moat_parse_cidr_err(const char *s, struct moat_cidr *out, const char **why);
/* "198.51.100.0/24", "2001:db8::/48"; /32 and /128 printed without suffix. */
int moat_format_cidr(const struct moat_cidr *c, char *buf, size_t len);
/* Whether the cidr is one host (exact-table entry). */
static inline bool moat_cidr_is_host(const struct moat_cidr *c) { return c->prefixlen == 128; }

/* Decimal, no sign, no leading zero: 0, -EINVAL (not a number) or -ERANGE (> max). */
int moat_parse_uint(const char *s, uint64_t max, uint64_t *out);
int moat_parse_port(const char *s, uint16_t *out);		/* 1..65535 */
/*
 * "host:port" or "[v6]:port" (a listen address): the host (brackets
 * dropped) into host, the port into *port. Returns NULL, or why s is not
 * one ("missing ':PORT'", ...).
 */
const char *moat_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);
int moat_parse_duration(const char *s, uint64_t *seconds);	/* "90s", "10m", "1h30m", "2d", "1w" */
/* A byte count: "65536", "65536B", "64KiB", "1MiB" (one that overflows is -EINVAL too). */
int moat_parse_size(const char *s, uint64_t *bytes);
int moat_parse_time(const char *s, time_t *out);		/* RFC 3339: 2026-12-31T23:00:00Z, +01:00 */
/* now + ttl into *out; -ERANGE when that is after MOAT_TIME_MAX. */
int moat_expiry_after(time_t now, uint64_t ttl, time_t *out);
/* Why s cannot name a devops entry (empty, too long, a control character), or NULL. */
const char *moat_name_problem(const char *s);
int moat_parse_tls_version(const char *s, uint16_t *out);	/* "1.0".."1.3" -> 0x0301..0x0304 */

#endif /* MOAT_PARSE_H */

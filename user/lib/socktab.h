/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's TCP socket table (/proc/net/tcp and tcp6), one socket at a
 * time: what the lockout guard probes, and what moatd seeds connection
 * state from and sweeps it against.
 */
#ifndef MOAT_SOCKTAB_H
#define MOAT_SOCKTAB_H

#include <stdbool.h>
#include "table.h"

/* TCP states as the kernel numbers them in /proc/net/tcp. */
#define MOAT_TCP_ESTABLISHED	1
#define MOAT_TCP_SYN_RECV	3
#define MOAT_TCP_LISTEN		10

struct moat_sock {
	struct moat_cidr local, remote;		/* /32 or /128, v4 as mapped */
	unsigned int lport, rport;		/* host order */
	unsigned int state;			/* MOAT_TCP_* */
};

/* Calls fn for every socket; stops at and returns fn's first non-zero. A
 * missing tcp6 (no IPv6) is no error. */
int moat_socktab_foreach(int (*fn)(const struct moat_sock *s, void *ctx), void *ctx);

#endif /* MOAT_SOCKTAB_H */

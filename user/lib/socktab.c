// SPDX-License-Identifier: GPL-2.0
/* The host's TCP socket table (see socktab.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "socktab.h"

/* "0100007F:0016" (v4) or 32 hex digits (v6), words in host order. */
static int parse_addr(const char *s, bool v6, struct moat_cidr *c, unsigned int *port)
{
	char word[9] = "";

	memset(c, 0, sizeof(*c));
	c->prefixlen = 128;
	c->family = v6 ? AF_INET6 : AF_INET;
	if (!v6) {
		c->addr.a[2] = htonl(0xffff);
		memcpy(word, s, 8);
		c->addr.a[3] = strtoul(word, NULL, 16);
		s += 8;
	} else {
		for (int i = 0; i < 4; i++, s += 8) {
			memcpy(word, s, 8);
			c->addr.a[i] = strtoul(word, NULL, 16);
		}
	}
	if (*s != ':')
		return -EINVAL;
	*port = strtoul(s + 1, NULL, 16);
	return 0;
}

static int walk(const char *path, bool v6, int (*fn)(const struct moat_sock *, void *),
		void *ctx)
{
	char line[512], local[64], remote[64];
	struct moat_sock s;
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %63s %63s %x", local, remote, &s.state) != 3 ||
		    strlen(local) != (v6 ? 37 : 13) || strlen(remote) != (v6 ? 37 : 13))
			continue;	/* the header line */
		if (parse_addr(local, v6, &s.local, &s.lport) ||
		    parse_addr(remote, v6, &s.remote, &s.rport))
			continue;
		ret = fn(&s, ctx);
	}
	fclose(f);
	return ret;
}

int moat_socktab_foreach(int (*fn)(const struct moat_sock *s, void *ctx), void *ctx)
{
	int ret = walk("/proc/net/tcp", false, fn, ctx);

	return ret ? ret : walk("/proc/net/tcp6", true, fn, ctx);
}

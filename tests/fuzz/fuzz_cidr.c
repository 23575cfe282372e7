// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the CIDR parser and printer (user/lib/parse.c):
 * what is accepted has no host bits and prints as text that parses back to
 * the same network; a refusal for host bits still leaves the network, which
 * is accepted in turn; moat_parse_cidr agrees with moat_parse_cidr_err.
 */
#include <sys/socket.h>
#include "lib/parse.h"
#include "fuzz.h"

static int host_bits(const struct moat_cidr *c)
{
	const uint8_t *b = (const uint8_t *)&c->addr;

	for (unsigned int i = c->prefixlen; i < 128; i++)
		if (b[i / 8] & (0x80 >> (i % 8)))
			return 1;
	return 0;
}

static void round_trip(const struct moat_cidr *c)
{
	struct moat_cidr back;
	char text[64];

	fuzz_assert(c->prefixlen <= 128 && !host_bits(c));
	fuzz_assert(c->family == AF_INET ? c->prefixlen >= 96 : c->family == AF_INET6);
	fuzz_assert(moat_format_cidr(c, text, sizeof(text)) == 0);
	fuzz_assert(moat_parse_cidr(text, &back) == 0);
	fuzz_assert(!memcmp(&back.addr, &c->addr, sizeof(c->addr)) &&
		    back.prefixlen == c->prefixlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct moat_cidr c, plain;
	const char *why = "unset";
	int err = moat_parse_cidr_err(s, &c, &why), err2 = moat_parse_cidr(s, &plain);

	fuzz_assert((err == 0) == (err2 == 0));
	if (!err) {
		fuzz_assert(why == NULL);
		fuzz_assert(!memcmp(&c, &plain, sizeof(c)));
		round_trip(&c);
	} else {
		fuzz_assert(err == -EINVAL && why && *why);
		if (!strcmp(why, "host bits set"))
			round_trip(&c);
	}
	free(s);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * moat.yaml (SPEC §3) -> struct moat_config. libyaml builds the document
 * tree; this file walks it against a fixed schema. Every key is known,
 * every value typed, and the first problem is reported as
 * "FILE:LINE:COL: path: cause" at the node that caused it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <yaml.h>
#include "lib/config.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* Room for ~2M devops hosts; beyond that it is not a config file. */
#define MAX_FILE_SIZE	(256U << 20)
/*
 * Flow collections ([ { ) nested deeper than this are refused before
 * libyaml sees them: its scanner is quadratic in that depth (200k levels,
 * 400 KB, took it 68 s). The schema needs 3.
 */
#define MAX_FLOW_DEPTH	32

struct ctx {
	const char *name;		/* FILE in messages */
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	struct moat_config *cfg;
	char path[256];			/* "ssh.devops[2].cidr" of the node at hand */
	size_t plen;
	char shown[2][80];		/* user text quoted into messages */
	int next_shown;
	/* where each port came from, to place a TLS/SSH overlap error */
	yaml_node_t *tls_port_node[MOAT_MAX_PORTS];
	yaml_node_t *ssh_port_node[MOAT_MAX_PORTS];
};

static void vreport(struct ctx *c, size_t line, size_t col, const char *fmt, va_list ap)
{
	int n;

	if (!c->err || !c->errlen)
		return;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, line, col);
	if (n >= 0 && (size_t)n < c->errlen && c->plen)
		n += snprintf(c->err + n, c->errlen - n, "%s: ", c->path);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
}

/* Reports at node n (NULL: start of file), prefixed with the current path. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* User text for a message: bounded, control characters masked. */
static const char *show(struct ctx *c, const char *s)
{
	char *out = c->shown[c->next_shown];
	size_t i, max = sizeof(c->shown[0]) - 4;

	c->next_shown = !c->next_shown;
	for (i = 0; s[i] && i < max; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + i, s[i] ? "..." : "");
	return out;
}

static size_t path_push(struct ctx *c, const char *key)
{
	size_t old = c->plen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", key);

	if (n > 0)
		c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static size_t path_index(struct ctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);

	if (n > 0)
		c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static void path_pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

static yaml_node_t *node(struct ctx *c, yaml_node_item_t i)
{
	return yaml_document_get_node(c->doc, i);
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct ctx *c, const yaml_node_t *n, size_t i)
{
	return node(c, n->data.sequence.items.start[i]);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* ~, null and the empty plain scalar: "key:" with nothing after it. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(sval(n), nulls[i]))
			return true;
	return false;
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		if (is_null(n))
			return "nothing";
		return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ?
		       "a scalar" : "a quoted string";
	}
}

static int type_error(struct ctx *c, const yaml_node_t *n, const char *want)
{
	return fail(c, n, "expected %s, got %s", want, kind(n));
}

/* A non-null scalar's text, or NULL after reporting. */
static const char *scalar(struct ctx *c, const yaml_node_t *n, const char *want)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		type_error(c, n, want);
		return NULL;
	}
	if (strlen(sval(n)) != n->data.scalar.length) {
		fail(c, n, "contains a NUL character");
		return NULL;
	}
	return sval(n);
}

/* Numbers and booleans must be plain: "443" in quotes is a string. */
static const char *plain(struct ctx *c, const yaml_node_t *n, const char *want)
{
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		type_error(c, n, want);
		return NULL;
	}
	return scalar(c, n, want);
}

/* A list's length into *len; null ("deny:" alone) is an empty list. */
static int sequence(struct ctx *c, const yaml_node_t *n, size_t *len)
{
	*len = 0;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return type_error(c, n, "a list");
	*len = seq_len(n);
	return 0;
}

static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int row[32], i, j, diag, up;
	size_t la = strlen(a), lb = strlen(b);

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * Collects the values of a mapping into vals[] by key index (NULL when
 * absent). Unknown, duplicate and non-scalar keys are errors; a null
 * mapping ("tls:" alone) is an empty one.
 */
static int mapping(struct ctx *c, const yaml_node_t *map, const char *const *keys,
		   size_t nkeys, yaml_node_t **vals)
{
	yaml_node_pair_t *pair;
	size_t i;

	for (i = 0; i < nkeys; i++)
		vals[i] = NULL;
	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return type_error(c, map, "a mapping");

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(c, pair->key);
		const char *best = NULL;
		unsigned int best_d = 3;

		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, "a key must be a name, got %s", kind(k));
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i]) == k->data.scalar.length && !strcmp(sval(k), keys[i]))
				break;
		if (i < nkeys) {
			if (vals[i])
				return fail(c, k, "duplicate key '%s'", keys[i]);
			vals[i] = node(c, pair->value);
			continue;
		}
		/* a typo is the likeliest unknown key: name the nearest real one */
		for (i = 0; i < nkeys; i++) {
			unsigned int d = edit_distance(sval(k), keys[i]);

			if (d < best_d) {
				best_d = d;
				best = keys[i];
			}
		}
		if (best)
			return fail(c, k, "unknown key '%s' (did you mean '%s'?)", show(c, sval(k)), best);
		return fail(c, k, "unknown key '%s'", show(c, sval(k)));
	}
	return 0;
}

/* Reports a missing required key at the mapping that lacks it. */
static int required(struct ctx *c, const yaml_node_t *map, const char *key)
{
	path_push(c, key);
	return fail(c, map, "required");
}

typedef int (*value_fn)(struct ctx *c, const yaml_node_t *n, void *dst);

/* Runs fn on a present value with the key appended to the path. */
static int field(struct ctx *c, const char *key, const yaml_node_t *n, value_fn fn, void *dst)
{
	size_t old;
	int err;

	if (!n)
		return 0;
	old = path_push(c, key);
	err = fn(c, n, dst);
	if (!err)
		path_pop(c, old);
	return err;
}

/* ---- scalar values ---- */

static int get_bool(struct ctx *c, const yaml_node_t *n, void *dst)
{
	/* the YAML 1.2 core schema; 1.1's yes/no/on/off are too easy to misread */
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	const char *s = plain(c, n, "true or false");
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*(bool *)dst = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return fail(c, n, "expected true or false, got '%s'", show(c, s));
}

/* A plain decimal integer in min..max; label names it in the range error. */
static int get_uint(struct ctx *c, const yaml_node_t *n, const char *want, const char *label,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = plain(c, n, want);
	uint64_t v;
	int err;

	if (!s)
		return -EINVAL;
	err = moat_parse_uint(s, UINT64_MAX, &v);
	if (err == -EINVAL)
		return fail(c, n, "expected %s, got '%s'", want, show(c, s));
	if (err || v < min || v > max)
		return fail(c, n, "%s%s%s out of range %llu..%llu", label ? label : "",
			    label ? " " : "", show(c, s), (unsigned long long)min,
			    (unsigned long long)max);
	*out = v;
	return 0;
}

static int get_port(struct ctx *c, const yaml_node_t *n, uint16_t *out)
{
	uint64_t v = 0;
	int err = get_uint(c, n, "a port number", "port", 1, 65535, &v);

	if (!err)
		*out = (uint16_t)v;
	return err;
}

static int get_string(struct ctx *c, const yaml_node_t *n, char *dst, size_t size)
{
	const char *s = scalar(c, n, "a string");

	if (!s)
		return -EINVAL;
	if (strlen(s) >= size)
		return fail(c, n, "'%s' is longer than %zu characters", show(c, s), size - 1);
	strcpy(dst, s);
	return 0;
}

/* dst is char[PATH_MAX] */
static int get_abspath(struct ctx *c, const yaml_node_t *n, void *dst)
{
	const char *s = scalar(c, n, "an absolute path");

	if (!s)
		return -EINVAL;
	if (s[0] != '/')
		return fail(c, n, "'%s' is not an absolute path", show(c, s));
	return get_string(c, n, dst, PATH_MAX);
}

/* certificate: a path, or null for none */
static int get_optpath(struct ctx *c, const yaml_node_t *n, void *dst)
{
	if (is_null(n)) {
		*(char *)dst = '\0';
		return 0;
	}
	return get_abspath(c, n, dst);
}

static int get_mode(struct ctx *c, const yaml_node_t *n, void *dst)
{
	const char *s = scalar(c, n, "enforce or monitor");

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "enforce"))
		*(enum moat_mode *)dst = MOAT_MODE_ENFORCE;
	else if (!strcmp(s, "monitor"))
		*(enum moat_mode *)dst = MOAT_MODE_MONITOR;
	else
		return fail(c, n, "expected enforce or monitor, got '%s'", show(c, s));
	return 0;
}

static int get_xdp_mode(struct ctx *c, const yaml_node_t *n, void *dst)
{
	const char *s = scalar(c, n, "native, generic or auto");

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*(enum moat_xdp_mode *)dst = MOAT_XDP_MODE_AUTO;
	else if (!strcmp(s, "native"))
		*(enum moat_xdp_mode *)dst = MOAT_XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*(enum moat_xdp_mode *)dst = MOAT_XDP_MODE_GENERIC;
	else
		return fail(c, n, "expected native, generic or auto, got '%s'", show(c, s));
	return 0;
}

static int get_tls_version(struct ctx *c, const yaml_node_t *n, void *dst)
{
	/* 1.2 unquoted is a float to YAML, but its text is what counts here */
	const char *s = scalar(c, n, "a TLS version");

	if (!s)
		return -EINVAL;
	if (moat_parse_tls_version(s, dst))
		return fail(c, n, "expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\", got '%s'",
			    show(c, s));
	return 0;
}

static int get_duration(struct ctx *c, const yaml_node_t *n, void *dst)
{
	const char *s = scalar(c, n, "a duration");

	uint64_t *ttl = dst;
	time_t until;

	if (!s)
		return -EINVAL;
	if (!moat_parse_duration(s, ttl)) {
		/* a ban for that long must still be representable when it starts */
		if (moat_expiry_after(time(NULL), *ttl, &until))
			return fail(c, n, "duration '%s' ends after " MOAT_TIME_MAX_TEXT
				    ", the latest time moat can represent", show(c, s));
		return 0;
	}
	if (moat_parse_uint(s, UINT64_MAX, &(uint64_t){ 0 }) != -EINVAL)
		return fail(c, n, "duration '%s' needs a unit: s, m, h, d or w (e.g. 10m)",
			    show(c, s));
	return fail(c, n, "invalid duration '%s': want a positive amount in w, d, h, m, s, "
		    "largest first (e.g. 90s, 10m, 1h30m, 2d)", show(c, s));
}

static int get_paranoia(struct ctx *c, const yaml_node_t *n, void *dst)
{
	uint64_t v = 0;
	int err = get_uint(c, n, "an integer", "paranoia level", 1, 4, &v);

	if (!err)
		*(int *)dst = (int)v;
	return err;
}

/* A byte count: 65536, 64KiB, 1MiB (SPEC §3 inspector.max_body); 1 B..16 MiB. */
static int get_max_body(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const struct { const char *suffix; uint64_t mult; } units[] = {
		{ "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "B", 1 }, { "", 1 },
	};
	const char *s = scalar(c, n, "a size (64KiB, 1MiB, bytes)");
	char num[32];
	uint64_t v;

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t len = strlen(s), sl = strlen(units[i].suffix);

		if (len <= sl || len - sl >= sizeof(num) || strcmp(s + len - sl, units[i].suffix))
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (moat_parse_uint(num, UINT64_MAX / units[i].mult, &v))
			break;
		v *= units[i].mult;
		if (v < 1 || v > 16 * 1024 * 1024)
			return fail(c, n, "max_body '%s' out of range 1B..16MiB", show(c, s));
		*(uint64_t *)dst = v;
		return 0;
	}
	return fail(c, n, "expected a size (64KiB, 1MiB, bytes), got '%s'", show(c, s));
}

static int get_max_flows(struct ctx *c, const yaml_node_t *n, void *dst)
{
	uint64_t v = 0;
	int err = get_uint(c, n, "an integer", NULL, 1024, 16777216, &v);

	if (!err)
		*(uint32_t *)dst = (uint32_t)v;
	return err;
}

/* Why a "host:port" / "[v6]:port" listen address is wrong, or NULL. */
static const char *listen_problem(const char *s)
{
	char host[128];
	const char *port, *p;
	uint16_t pn;
	size_t hlen;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return "missing ']' after the IPv6 address";
		hlen = (size_t)(end - s - 1);
		if (hlen >= sizeof(host))
			return "host is too long";
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &(struct in6_addr){}) != 1)
			return "not an IPv6 address inside [ ]";
		if (end[1] != ':')
			return "expected ':PORT' after ']'";
		port = end + 2;
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
		if (hlen >= sizeof(host))
			return "host is too long";
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		for (p = host; *p; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return "host is not an IPv4 address or host name";
			if (!(*p == '.' || (*p >= '0' && *p <= '9')))
				numeric = false;
		}
		if (numeric && inet_pton(AF_INET, host, &(struct in_addr){}) != 1)
			return "not an IPv4 address";
		port = colon + 1;
	}
	if (moat_parse_port(port, &pn))
		return "port must be 1..65535";
	return NULL;
}

static int get_listen(struct ctx *c, const yaml_node_t *n, void *dst)
{
	const char *s = scalar(c, n, "\"host:port\"");
	const char *why;

	if (!s)
		return -EINVAL;
	why = listen_problem(s);
	if (why)
		return fail(c, n, "'%s': %s", show(c, s), why);
	return get_string(c, n, dst, sizeof(c->cfg->metrics.listen));
}

/* ---- lists ---- */

static int get_interfaces(struct ctx *c, const yaml_node_t *n, void *dst)
{
	struct moat_config *cfg = dst;
	size_t len, i, j;
	int err;

	if (sequence(c, n, &len))
		return -EINVAL;
	if (len == 0)
		return fail(c, n, "must list at least one interface");
	if (len > MOAT_MAX_IFACES)
		return fail(c, n, "%zu interfaces, at most %d", len, MOAT_MAX_IFACES);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		char *name = cfg->interfaces[i];
		size_t old = path_index(c, i);
		const char *s = scalar(c, item, "an interface name");

		if (!s)
			return -EINVAL;
		if (!*s)
			return fail(c, item, "must not be empty");
		/* what the kernel's dev_valid_name() accepts */
		if (strlen(s) >= MOAT_IFNAMSIZ)
			return fail(c, item, "'%s' is longer than %d characters", show(c, s),
				    MOAT_IFNAMSIZ - 1);
		if (!strcmp(s, ".") || !strcmp(s, "..") || strpbrk(s, "/: \t\n\r\v\f"))
			return fail(c, item, "'%s' is not a valid interface name", show(c, s));
		err = get_string(c, item, name, MOAT_IFNAMSIZ);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->interfaces[j], name))
				return fail(c, item, "'%s' listed twice", show(c, name));
		path_pop(c, old);
	}
	cfg->n_interfaces = len;
	return 0;
}

static int get_ports(struct ctx *c, const yaml_node_t *n, struct moat_ports *ports,
		     yaml_node_t **nodes)
{
	size_t len, i, j;
	int err;

	if (sequence(c, n, &len))
		return -EINVAL;
	/* a service with no port would silently drop all of its traffic */
	if (len == 0)
		return fail(c, n, "must list at least one port");
	if (len > MOAT_MAX_PORTS)
		return fail(c, n, "%zu ports, at most %d", len, MOAT_MAX_PORTS);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		size_t old = path_index(c, i);

		err = get_port(c, item, &ports->port[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (ports->port[j] == ports->port[i])
				return fail(c, item, "port %u listed twice", ports->port[i]);
		nodes[i] = item;
		path_pop(c, old);
	}
	ports->n = len;
	return 0;
}

static int get_tls_ports(struct ctx *c, const yaml_node_t *n, void *dst)
{
	return get_ports(c, n, dst, c->tls_port_node);
}

static int get_ssh_ports(struct ctx *c, const yaml_node_t *n, void *dst)
{
	return get_ports(c, n, dst, c->ssh_port_node);
}

static int get_ethertypes(struct ctx *c, const yaml_node_t *n, void *dst)
{
	struct moat_config *cfg = dst;
	size_t len, i, j;

	if (sequence(c, n, &len))
		return -EINVAL;
	if (len > MOAT_MAX_ETHERTYPES)
		return fail(c, n, "%zu ethertypes, at most %d", len, MOAT_MAX_ETHERTYPES);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		size_t old = path_index(c, i);
		const char *s = plain(c, item, "an ethertype (e.g. 0x88cc)");
		unsigned long v;
		char *end;

		if (!s)
			return -EINVAL;
		/* 0x hex or decimal; strtoul alone would also take signs and spaces */
		if (!((s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) ||
		      (s[0] >= '1' && s[0] <= '9')))
			return fail(c, item, "expected an ethertype (e.g. 0x88cc), got '%s'",
				    show(c, s));
		errno = 0;
		v = strtoul(s, &end, s[1] == 'x' || s[1] == 'X' ? 16 : 10);
		if (*end)
			return fail(c, item, "expected an ethertype (e.g. 0x88cc), got '%s'",
				    show(c, s));
		if (errno || v > 0xffff)
			return fail(c, item, "ethertype '%s' out of range 0x0600..0xffff", show(c, s));
		if (v < 0x0600)
			return fail(c, item, "0x%04lx is an 802.3 length, not an ethertype (>= 0x0600)",
				    v);
		if (v == 0x0800 || v == 0x86dd || v == 0x0806)
			return fail(c, item, "0x%04lx (%s) is always handled by the policy", v,
				    v == 0x0800 ? "IPv4" : v == 0x86dd ? "IPv6" : "ARP");
		cfg->pass_ethertypes[i] = (uint16_t)v;
		for (j = 0; j < i; j++)
			if (cfg->pass_ethertypes[j] == v)
				return fail(c, item, "ethertype 0x%04lx listed twice", v);
		path_pop(c, old);
	}
	cfg->n_pass_ethertypes = len;
	return 0;
}

static int get_cidr(struct ctx *c, const yaml_node_t *n, struct moat_cidr *out)
{
	const char *s = scalar(c, n, "a CIDR");
	const char *why;
	char net[64];

	if (!s)
		return -EINVAL;
	if (!moat_parse_cidr_err(s, out, &why))
		return 0;
	if (!strcmp(why, "host bits set") && !moat_format_cidr(out, net, sizeof(net)))
		return fail(c, n, "'%s' has host bits set (the network is %s)", show(c, s), net);
	return fail(c, n, "'%s' is not a valid CIDR: %s", show(c, s), why);
}

struct cidr_ref {
	struct moat_cidr cidr;
	size_t idx;
};

/* The family is left out: 192.0.2.1 and ::ffff:192.0.2.1 are one entry. */
static int cidr_cmp(const struct moat_cidr *a, const struct moat_cidr *b)
{
	int d = memcmp(&a->addr, &b->addr, sizeof(a->addr));

	if (d)
		return d;
	return a->prefixlen < b->prefixlen ? -1 : a->prefixlen > b->prefixlen;
}

static int cidr_ref_cmp(const void *pa, const void *pb)
{
	const struct cidr_ref *a = pa, *b = pb;

	return cidr_cmp(&a->cidr, &b->cidr) ?: (a->idx < b->idx ? -1 : a->idx > b->idx);
}

/*
 * Finds the first entry (in file order) that repeats an earlier one; v is
 * an array of n structs stride bytes apart, each holding a moat_cidr at v.
 * Sorting keeps this n log n for allowlists of a million hosts. Returns
 * -ENOMEM, 0, or 1 with dup and orig set.
 */
static int find_dup(const struct moat_cidr *v, size_t stride, size_t n, size_t *dup, size_t *orig)
{
	struct cidr_ref *refs;
	size_t i, first = 0;
	int found = 0;

	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		refs[i].cidr = *(const struct moat_cidr *)((const char *)v + i * stride);
		refs[i].idx = i;
	}
	qsort(refs, n, sizeof(*refs), cidr_ref_cmp);
	for (i = 1; i < n; i++) {
		if (cidr_cmp(&refs[i].cidr, &refs[first].cidr)) {
			first = i;
			continue;
		}
		if (!found || refs[i].idx < *dup) {
			*dup = refs[i].idx;
			*orig = refs[first].idx;
			found = 1;
		}
	}
	free(refs);
	return found;
}

/* Hosts go to a hash, networks to an LPM trie: each has its own size. */
static int check_table_size(struct ctx *c, const yaml_node_t *n, const struct moat_cidr *v,
			    size_t stride, size_t len)
{
	size_t i, hosts = 0;

	for (i = 0; i < len; i++)
		hosts += moat_cidr_is_host((const struct moat_cidr *)((const char *)v + i * stride));
	if (hosts > MOAT_MAX_EXACT)
		return fail(c, n, "%zu host entries, at most %u", hosts, MOAT_MAX_EXACT);
	if (len - hosts > MOAT_MAX_PREFIX)
		return fail(c, n, "%zu network entries, at most %d", len - hosts, MOAT_MAX_PREFIX);
	return 0;
}

static int dup_error(struct ctx *c, const yaml_node_t *n, const char *text, size_t orig)
{
	char first[sizeof(c->path) + 24];
	size_t base = c->plen;

	/* the path of the earlier entry: the list's path plus its index */
	while (base && c->path[base - 1] != ']')
		base--;
	while (base && c->path[base - 1] != '[')
		base--;
	snprintf(first, sizeof(first), "%.*s%zu]", (int)base, c->path, orig);
	return fail(c, n, "'%s' duplicates %s", show(c, text), first);
}

struct cidr_list {
	struct moat_cidr **v;
	size_t *n;
};

static int get_cidr_list(struct ctx *c, const yaml_node_t *n, void *dst)
{
	struct cidr_list *out = dst;
	size_t len, i, dup = 0, orig = 0;
	int err;

	if (sequence(c, n, &len))
		return -EINVAL;
	if (!len)
		return 0;
	*out->v = calloc(len, sizeof(**out->v));
	if (!*out->v)
		return -ENOMEM;
	*out->n = len;
	for (i = 0; i < len; i++) {
		size_t old = path_index(c, i);

		err = get_cidr(c, seq_item(c, n, i), &(*out->v)[i]);
		if (err)
			return err;
		path_pop(c, old);
	}
	err = find_dup(*out->v, sizeof(**out->v), len, &dup, &orig);
	if (err < 0)
		return err;
	if (err) {
		path_index(c, dup);
		return dup_error(c, seq_item(c, n, dup), sval(seq_item(c, n, dup)), orig);
	}
	return check_table_size(c, n, *out->v, sizeof(**out->v), len);
}

static int get_devops_entry(struct ctx *c, const yaml_node_t *n, struct moat_devops *d,
			    yaml_node_t **cidr_node)
{
	enum { K_CIDR, K_NAME, K_EXPIRES, K_N };
	static const char *const keys[K_N] = {
		[K_CIDR] = "cidr", [K_NAME] = "name", [K_EXPIRES] = "expires",
	};
	yaml_node_t *v[K_N];
	size_t old;
	int err;

	if (n->type != YAML_MAPPING_NODE)
		return type_error(c, n, "a mapping with cidr, name, expires");
	err = mapping(c, n, keys, K_N, v);
	if (err)
		return err;
	if (!v[K_CIDR])
		return required(c, n, "cidr");

	old = path_push(c, "cidr");
	err = get_cidr(c, v[K_CIDR], &d->cidr);
	if (err)
		return err;
	path_pop(c, old);
	*cidr_node = v[K_CIDR];

	if (v[K_NAME]) {
		const char *s;
		size_t i;

		old = path_push(c, "name");
		s = scalar(c, v[K_NAME], "a name");
		if (!s)
			return -EINVAL;
		if (!*s)
			return fail(c, v[K_NAME], "must not be empty");
		for (i = 0; s[i]; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return fail(c, v[K_NAME], "contains a control character");
		if (strlen(s) >= MOAT_NAME_LEN)
			return fail(c, v[K_NAME], "'%s' is %zu characters, at most %d",
				    show(c, s), strlen(s), MOAT_NAME_LEN - 1);
		strcpy(d->name, s);
		path_pop(c, old);
	} else {
		/* the cidr as written; the canonical form when that is too long */
		const char *s = sval(v[K_CIDR]);

		if (strlen(s) < sizeof(d->name))
			strcpy(d->name, s);
		else
			moat_format_cidr(&d->cidr, d->name, sizeof(d->name));
	}

	if (v[K_EXPIRES]) {
		const char *s;

		old = path_push(c, "expires");
		s = scalar(c, v[K_EXPIRES], "an RFC 3339 time");
		if (!s)
			return -EINVAL;
		if (moat_parse_time(s, &d->expires))
			return fail(c, v[K_EXPIRES],
				    "'%s' is not an RFC 3339 time (e.g. 2026-12-31T23:00:00Z)",
				    show(c, s));
		/* 0 means "never": a time that early is a mistake, not a wish */
		if (d->expires <= 0)
			return fail(c, v[K_EXPIRES], "'%s' is before 1970", show(c, s));
		/* past 2262 the boot-time nanoseconds would wrap: refused, never
		 * loaded already expired */
		if (d->expires > MOAT_TIME_MAX)
			return fail(c, v[K_EXPIRES], "'%s' is after " MOAT_TIME_MAX_TEXT
				    ", the latest expiry moat can represent; omit expires "
				    "for never", show(c, s));
		path_pop(c, old);
	}
	return 0;
}

static int get_devops(struct ctx *c, const yaml_node_t *n, void *dst)
{
	struct moat_config *cfg = dst;
	yaml_node_t **cidr_nodes;
	size_t len, i, dup = 0, orig = 0;
	int err;

	if (sequence(c, n, &len))
		return -EINVAL;
	if (!len)
		return 0;
	cfg->ssh.devops = calloc(len, sizeof(*cfg->ssh.devops));
	cidr_nodes = calloc(len, sizeof(*cidr_nodes));
	if (!cfg->ssh.devops || !cidr_nodes) {
		free(cidr_nodes);
		return -ENOMEM;
	}
	cfg->ssh.n_devops = len;
	for (i = 0; i < len; i++) {
		size_t old = path_index(c, i);

		err = get_devops_entry(c, seq_item(c, n, i), &cfg->ssh.devops[i], &cidr_nodes[i]);
		if (err)
			goto out;
		path_pop(c, old);
	}
	err = find_dup(&cfg->ssh.devops[0].cidr, sizeof(*cfg->ssh.devops), len, &dup, &orig);
	if (err > 0) {
		path_index(c, dup);
		path_push(c, "cidr");
		err = dup_error(c, cidr_nodes[dup], sval(cidr_nodes[dup]), orig);
		goto out;
	}
	if (!err)
		err = check_table_size(c, n, &cfg->ssh.devops[0].cidr, sizeof(*cfg->ssh.devops),
				       len);
out:
	free(cidr_nodes);
	return err;
}

static int get_processes(struct ctx *c, const yaml_node_t *n, void *dst)
{
	struct moat_config *cfg = dst;
	size_t len, i, j;
	int err;

	if (sequence(c, n, &len))
		return -EINVAL;
	if (!len)
		return 0;
	cfg->inspector.processes = calloc(len, sizeof(*cfg->inspector.processes));
	if (!cfg->inspector.processes)
		return -ENOMEM;
	cfg->inspector.n_processes = len;
	for (i = 0; i < len; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		size_t old = path_index(c, i);

		err = get_abspath(c, item, cfg->inspector.processes[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->inspector.processes[j], cfg->inspector.processes[i]))
				return fail(c, item, "'%s' listed twice", show(c, sval(item)));
		path_pop(c, old);
	}
	return 0;
}

/* ---- sections ---- */

static int get_tls(struct ctx *c, const yaml_node_t *n, void *dst)
{
	enum { K_PORTS, K_VALIDATE, K_MIN_VERSION, K_QUIC, K_N };
	static const char *const keys[K_N] = {
		[K_PORTS] = "ports", [K_VALIDATE] = "validate",
		[K_MIN_VERSION] = "min_version", [K_QUIC] = "quic",
	};
	struct moat_config *cfg = dst;
	yaml_node_t *v[K_N];

	return mapping(c, n, keys, K_N, v) ?:
	       field(c, "ports", v[K_PORTS], get_tls_ports, &cfg->tls.ports) ?:
	       field(c, "validate", v[K_VALIDATE], get_bool, &cfg->tls.validate) ?:
	       field(c, "min_version", v[K_MIN_VERSION], get_tls_version, &cfg->tls.min_version) ?:
	       field(c, "quic", v[K_QUIC], get_bool, &cfg->tls.quic);
}

static int get_ssh(struct ctx *c, const yaml_node_t *n, void *dst)
{
	enum { K_PORTS, K_VALIDATE, K_DEVOPS, K_N };
	static const char *const keys[K_N] = {
		[K_PORTS] = "ports", [K_VALIDATE] = "validate", [K_DEVOPS] = "devops",
	};
	struct moat_config *cfg = dst;
	yaml_node_t *v[K_N];

	return mapping(c, n, keys, K_N, v) ?:
	       field(c, "ports", v[K_PORTS], get_ssh_ports, &cfg->ssh.ports) ?:
	       field(c, "validate", v[K_VALIDATE], get_bool, &cfg->ssh.validate) ?:
	       field(c, "devops", v[K_DEVOPS], get_devops, cfg);
}

static int get_icmp(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const char *const keys[] = { "echo" };
	struct moat_config *cfg = dst;
	yaml_node_t *v[1];

	return mapping(c, n, keys, 1, v) ?:
	       field(c, "echo", v[0], get_bool, &cfg->icmp.echo);
}

static int get_outbound(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const char *const keys[] = { "track", "max_flows" };
	struct moat_config *cfg = dst;
	yaml_node_t *v[2];

	return mapping(c, n, keys, 2, v) ?:
	       field(c, "track", v[0], get_bool, &cfg->outbound.track) ?:
	       field(c, "max_flows", v[1], get_max_flows, &cfg->outbound.max_flows);
}

static int get_crs(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const char *const keys[] = { "rules", "paranoia" };
	struct moat_config *cfg = dst;
	yaml_node_t *v[2];

	return mapping(c, n, keys, 2, v) ?:
	       field(c, "rules", v[0], get_abspath, cfg->inspector.crs_rules) ?:
	       field(c, "paranoia", v[1], get_paranoia, &cfg->inspector.paranoia);
}

static int get_ban(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const char *const keys[] = { "enabled", "ttl", "exempt" };
	struct moat_config *cfg = dst;
	struct cidr_list exempt = { &cfg->inspector.ban_exempt, &cfg->inspector.n_ban_exempt };
	yaml_node_t *v[3];

	return mapping(c, n, keys, 3, v) ?:
	       field(c, "enabled", v[0], get_bool, &cfg->inspector.ban_enabled) ?:
	       field(c, "ttl", v[1], get_duration, &cfg->inspector.ban_ttl) ?:
	       field(c, "exempt", v[2], get_cidr_list, &exempt);
}

static int get_inspector(struct ctx *c, const yaml_node_t *n, void *dst)
{
	enum { K_ENABLED, K_LIBRARY, K_PROCESSES, K_MAX_BODY, K_CRS, K_BAN, K_CERTIFICATE, K_N };
	static const char *const keys[K_N] = {
		[K_ENABLED] = "enabled", [K_LIBRARY] = "library", [K_PROCESSES] = "processes",
		[K_MAX_BODY] = "max_body", [K_CRS] = "crs", [K_BAN] = "ban",
		[K_CERTIFICATE] = "certificate",
	};
	struct moat_config *cfg = dst;
	yaml_node_t *v[K_N];
	int err;

	err = mapping(c, n, keys, K_N, v) ?:
	      field(c, "enabled", v[K_ENABLED], get_bool, &cfg->inspector.enabled) ?:
	      field(c, "library", v[K_LIBRARY], get_abspath, cfg->inspector.library) ?:
	      field(c, "processes", v[K_PROCESSES], get_processes, cfg) ?:
	      field(c, "max_body", v[K_MAX_BODY], get_max_body, &cfg->inspector.max_body) ?:
	      field(c, "crs", v[K_CRS], get_crs, cfg) ?:
	      field(c, "ban", v[K_BAN], get_ban, cfg) ?:
	      field(c, "certificate", v[K_CERTIFICATE], get_optpath, cfg->inspector.certificate);
	if (err)
		return err;
	/* SPEC §6 inspects the configured processes only: none is a mistake */
	if (cfg->inspector.enabled && !cfg->inspector.n_processes) {
		path_push(c, "processes");
		return fail(c, v[K_PROCESSES] ?: n, "required when the inspector is enabled");
	}
	return 0;
}

static int get_metrics(struct ctx *c, const yaml_node_t *n, void *dst)
{
	static const char *const keys[] = { "listen" };
	struct moat_config *cfg = dst;
	yaml_node_t *v[1];

	return mapping(c, n, keys, 1, v) ?:
	       field(c, "listen", v[0], get_listen, cfg->metrics.listen);
}

/* A port may be TLS or SSH, not both: the program keeps one class per port. */
static int check_port_overlap(struct ctx *c)
{
	const struct moat_config *cfg = c->cfg;
	size_t i, j;

	for (i = 0; i < cfg->ssh.ports.n; i++) {
		for (j = 0; j < cfg->tls.ports.n; j++) {
			uint16_t p = cfg->ssh.ports.port[i];

			if (p != cfg->tls.ports.port[j])
				continue;
			/* blame a list the file wrote, not a default */
			if (c->ssh_port_node[i]) {
				path_push(c, "ssh.ports");
				path_index(c, i);
				return fail(c, c->ssh_port_node[i], "port %u is also a TLS port", p);
			}
			path_push(c, "tls.ports");
			path_index(c, j);
			return fail(c, c->tls_port_node[j], "port %u is also an SSH port", p);
		}
	}
	return 0;
}

static int get_root(struct ctx *c, const yaml_node_t *root)
{
	enum {
		K_INTERFACES, K_MODE, K_XDP_MODE, K_PIN_DIR, K_STATE_DIR, K_TLS, K_SSH,
		K_DENY, K_ICMP, K_PASS_ETHERTYPES, K_OUTBOUND, K_LOCKOUT_GUARD,
		K_INSPECTOR, K_METRICS, K_N
	};
	static const char *const keys[K_N] = {
		[K_INTERFACES] = "interfaces", [K_MODE] = "mode", [K_XDP_MODE] = "xdp_mode",
		[K_PIN_DIR] = "pin_dir", [K_STATE_DIR] = "state_dir", [K_TLS] = "tls",
		[K_SSH] = "ssh", [K_DENY] = "deny", [K_ICMP] = "icmp",
		[K_PASS_ETHERTYPES] = "pass_ethertypes", [K_OUTBOUND] = "outbound",
		[K_LOCKOUT_GUARD] = "lockout_guard", [K_INSPECTOR] = "inspector",
		[K_METRICS] = "metrics",
	};
	struct moat_config *cfg = c->cfg;
	struct cidr_list deny = { &cfg->deny, &cfg->n_deny };
	yaml_node_t *v[K_N];
	int err;

	if (!root)	/* an empty file */
		return required(c, NULL, "interfaces");
	if (root->type != YAML_MAPPING_NODE && !is_null(root))
		return fail(c, root, "expected a mapping of settings, got %s", kind(root));
	err = mapping(c, root, keys, K_N, v);
	if (err)
		return err;
	if (!v[K_INTERFACES])
		return required(c, root, "interfaces");

	return field(c, "interfaces", v[K_INTERFACES], get_interfaces, cfg) ?:
	       field(c, "mode", v[K_MODE], get_mode, &cfg->mode) ?:
	       field(c, "xdp_mode", v[K_XDP_MODE], get_xdp_mode, &cfg->xdp_mode) ?:
	       field(c, "pin_dir", v[K_PIN_DIR], get_abspath, cfg->pin_dir) ?:
	       field(c, "state_dir", v[K_STATE_DIR], get_abspath, cfg->state_dir) ?:
	       field(c, "tls", v[K_TLS], get_tls, cfg) ?:
	       field(c, "ssh", v[K_SSH], get_ssh, cfg) ?:
	       check_port_overlap(c) ?:
	       field(c, "deny", v[K_DENY], get_cidr_list, &deny) ?:
	       field(c, "icmp", v[K_ICMP], get_icmp, cfg) ?:
	       field(c, "pass_ethertypes", v[K_PASS_ETHERTYPES], get_ethertypes, cfg) ?:
	       field(c, "outbound", v[K_OUTBOUND], get_outbound, cfg) ?:
	       field(c, "lockout_guard", v[K_LOCKOUT_GUARD], get_bool, &cfg->lockout_guard) ?:
	       field(c, "inspector", v[K_INSPECTOR], get_inspector, cfg) ?:
	       field(c, "metrics", v[K_METRICS], get_metrics, cfg);
}

static int report_yaml_error(struct ctx *c, const yaml_parser_t *p)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	c->plen = 0;
	if (p->error == YAML_READER_ERROR) {
		/* the reader knows a byte offset only; count columns as libyaml does, in characters */
		size_t i, off = p->problem_offset < c->len ? p->problem_offset : c->len;

		line = 1;
		col = 1;
		for (i = 0; i < off; i++) {
			if (c->buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)c->buf[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen, "%s:%zu:%zu: invalid text: %s", c->name,
				 line, col, problem);
		return -EINVAL;
	}
	if (c->err && c->errlen) {
		if (p->context)
			snprintf(c->err, c->errlen, "%s:%zu:%zu: syntax error: %s (%s at %zu:%zu)",
				 c->name, line, col, problem, p->context,
				 p->context_mark.line + 1, p->context_mark.column + 1);
		else
			snprintf(c->err, c->errlen, "%s:%zu:%zu: syntax error: %s", c->name,
				 line, col, problem);
	}
	return -EINVAL;
}

void moat_config_defaults(struct moat_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MOAT_MODE_ENFORCE;
	cfg->xdp_mode = MOAT_XDP_MODE_AUTO;
	strcpy(cfg->pin_dir, MOAT_DEFAULT_PIN_DIR);
	strcpy(cfg->state_dir, MOAT_DEFAULT_STATE_DIR);
	cfg->tls.ports.port[0] = 443;
	cfg->tls.ports.n = 1;
	cfg->tls.validate = true;
	cfg->tls.min_version = 0x0303;
	cfg->tls.quic = false;
	cfg->ssh.ports.port[0] = 22;
	cfg->ssh.ports.n = 1;
	cfg->ssh.validate = true;
	cfg->icmp.echo = false;
	cfg->outbound.track = true;
	cfg->outbound.max_flows = 262144;
	cfg->lockout_guard = true;
	cfg->inspector.enabled = false;
	strcpy(cfg->inspector.library, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	strcpy(cfg->inspector.crs_rules, "/usr/share/modsecurity-crs/rules");
	cfg->inspector.paranoia = 1;
	cfg->inspector.max_body = 64 * 1024;
	cfg->inspector.ban_enabled = true;
	cfg->inspector.ban_ttl = 600;
	strcpy(cfg->metrics.listen, "127.0.0.1:9477");
}

void moat_config_free(struct moat_config *cfg)
{
	free(cfg->ssh.devops);
	cfg->ssh.devops = NULL;
	cfg->ssh.n_devops = 0;
	free(cfg->deny);
	cfg->deny = NULL;
	cfg->n_deny = 0;
	free(cfg->inspector.processes);
	cfg->inspector.processes = NULL;
	cfg->inspector.n_processes = 0;
	free(cfg->inspector.ban_exempt);
	cfg->inspector.ban_exempt = NULL;
	cfg->inspector.n_ban_exempt = 0;
}

/*
 * Counts flow nesting over the raw text, skipping comments and quoted
 * scalars, and refuses what is too deep at the bracket that goes too far.
 * A bracket inside a plain scalar ("a[1]") counts too: an overestimate
 * only ever refuses text no moat.yaml holds.
 */
static int check_depth(struct ctx *c)
{
	size_t line = 1, col = 0, depth = 0;
	char quote = 0, prev = '\n';

	for (size_t i = 0; i < c->len; i++) {
		char ch = c->buf[i];

		col++;
		if (ch == '\n') {
			line++;
			col = 0;
		}
		if (quote) {
			if (quote == '"' && ch == '\\' && i + 1 < c->len)
				i++, col++;	/* an escaped character, maybe a quote */
			else if (ch == quote)
				quote = 0;	/* '' inside '...' closes and reopens: same count */
		} else if (ch == '#' && strchr(" \t\n", prev)) {
			while (i + 1 < c->len && c->buf[i + 1] != '\n')
				i++;
		} else if ((ch == '"' || ch == '\'') && strchr(" \t\n[{,:", prev)) {
			quote = ch;
		} else if (ch == '[' || ch == '{') {
			if (++depth > MAX_FLOW_DEPTH) {
				if (c->err && c->errlen)
					snprintf(c->err, c->errlen, "%s:%zu:%zu: nesting deeper than %d levels "
						 "of [ ] and { }", c->name, line, col, MAX_FLOW_DEPTH);
				return -EINVAL;
			}
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
		prev = ch ? ch : ' ';
	}
	return 0;
}

int moat_config_parse(const char *name, const char *buf, size_t len,
		      struct moat_config *cfg, char *err, size_t errlen)
{
	struct ctx c = {
		.name = name, .buf = buf, .len = len, .err = err, .errlen = errlen, .cfg = cfg,
	};
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	int ret;

	moat_config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	/* Limits first: refusing takes milliseconds, parsing might not. */
	if (len > MAX_FILE_SIZE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %zu bytes, more than the %u MiB a config may hold",
				 name, len, MAX_FILE_SIZE >> 20);
		return -EFBIG;
	}
	if (check_depth(&c))
		return -EINVAL;
	if (!yaml_parser_initialize(&parser)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = report_yaml_error(&c, &parser);
		goto out_parser;
	}
	/* the rest of the stream must be valid too, and hold no second document */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = report_yaml_error(&c, &parser);
		goto out_doc;
	}
	if (yaml_document_get_root_node(&extra)) {
		c.doc = &extra;
		ret = fail(&c, yaml_document_get_root_node(&extra),
			   "a second YAML document; the file must hold one");
		yaml_document_delete(&extra);
		goto out_doc;
	}
	yaml_document_delete(&extra);

	c.doc = &doc;
	ret = get_root(&c, yaml_document_get_root_node(&doc));
	if (ret == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", name);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	if (ret)
		moat_config_free(cfg);
	return ret;
}

/* Whether the file behind fd is no longer what st described. */
static bool changed_since(int fd, const struct stat *st, size_t len)
{
	struct stat now;

	if (!S_ISREG(st->st_mode))
		return false;	/* no size to compare: a pipe, a /proc file */
	return fstat(fd, &now) || now.st_size != st->st_size || (size_t)now.st_size != len ||
	       now.st_mtim.tv_sec != st->st_mtim.tv_sec || now.st_mtim.tv_nsec != st->st_mtim.tv_nsec;
}

int moat_config_load(const char *path, struct moat_config *cfg, char *err, size_t errlen)
{
	struct stat st = {};
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, ret;

	moat_config_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st))
		st.st_mode = 0;	/* compared with nothing below */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > MAX_FILE_SIZE) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %lld bytes, more than the %u MiB a config may hold",
				 path, (long long)st.st_size, MAX_FILE_SIZE >> 20);
		close(fd);
		return -EFBIG;
	}
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap >= MAX_FILE_SIZE) {
				ret = -EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/*
	 * Read once, whole, and only a file that held still meanwhile: one
	 * rewritten in place as it is read would be applied torn. (A write
	 * that keeps the size within the same clock tick cannot be seen:
	 * write the new file next to it and rename it over, as editors do.)
	 */
	if (changed_since(fd, &st, len)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: changed while it was read (rewritten in place?): "
				 "nothing applied; write the new version next to it and rename it "
				 "over %s", path, path);
		close(fd);
		free(buf);
		return -EAGAIN;
	}
	close(fd);
	ret = moat_config_parse(path, buf, len, cfg, err, errlen);
	free(buf);
	return ret;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
	close(fd);
	free(buf);
	return ret;
}

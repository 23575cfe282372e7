// SPDX-License-Identifier: GPL-2.0
/*
 * The values moat.yaml holds (SPEC §3), each read from its YAML node into
 * its member of struct moat_config with a message at the node when it is
 * wrong. The grammar of each value is in parse.c; which key holds which
 * value is in config.c's tables.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lib/config_values.h"

_Static_assert(MOAT_MODE_ENFORCE == 0 && MOAT_MODE_MONITOR == 1, "cfg_mode names[]");
_Static_assert(MOAT_XDP_MODE_AUTO == 0 && MOAT_XDP_MODE_NATIVE == 1 &&
	       MOAT_XDP_MODE_GENERIC == 2, "cfg_xdp_mode names[]");

static int get_port(struct yml *y, const yaml_node_t *n, uint16_t *out)
{
	uint64_t v = 0;
	int err = yml_uint(y, n, "a port number", "port", 1, 65535, &v);

	if (!err)
		*out = (uint16_t)v;
	return err;
}

int cfg_mode(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	/* indexed by enum moat_mode */
	static const char *const names[] = { "enforce", "monitor" };
	int i = yml_choice(y, n, "enforce or monitor", names, ARRAY_SIZE(names));

	if (i < 0)
		return i;
	*(enum moat_mode *)dst = i;
	return 0;
}

int cfg_xdp_mode(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	/* indexed by enum moat_xdp_mode */
	static const char *const names[] = { "auto", "native", "generic" };
	int i = yml_choice(y, n, "native, generic or auto", names, ARRAY_SIZE(names));

	if (i < 0)
		return i;
	*(enum moat_xdp_mode *)dst = i;
	return 0;
}

int cfg_tls_version(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	/* 1.2 unquoted is a float to YAML, but its text is what counts here */
	const char *s = yml_scalar(y, n, "a TLS version");

	if (!s)
		return -EINVAL;
	if (moat_parse_tls_version(s, dst))
		return yml_fail(y, n, "expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\", got '%s'",
				yml_show(y, s));
	return 0;
}

int cfg_duration(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "a duration");

	uint64_t *ttl = dst;
	time_t until;

	if (!s)
		return -EINVAL;
	if (!moat_parse_duration(s, ttl)) {
		/* a ban for that long must still be representable when it starts */
		if (moat_expiry_after(time(NULL), *ttl, &until))
			return yml_fail(y, n, "duration '%s' ends after " MOAT_TIME_MAX_TEXT
					", the latest time moat can represent", yml_show(y, s));
		return 0;
	}
	if (moat_parse_uint(s, UINT64_MAX, &(uint64_t){ 0 }) != -EINVAL)
		return yml_fail(y, n, "duration '%s' needs a unit: s, m, h, d or w (e.g. 10m)",
				yml_show(y, s));
	return yml_fail(y, n, "invalid duration '%s': want a positive amount in w, d, h, m, s, "
			"largest first (e.g. 90s, 10m, 1h30m, 2d)", yml_show(y, s));
}

int cfg_paranoia(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	uint64_t v = 0;
	int err = yml_uint(y, n, "an integer", "paranoia level", 1, 4, &v);

	if (!err)
		*(int *)dst = (int)v;
	return err;
}

/* SPEC §3 inspector.max_body: 1 B..16 MiB */
int cfg_max_body(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "a size (64KiB, 1MiB, bytes)");
	uint64_t v;

	if (!s)
		return -EINVAL;
	if (moat_parse_size(s, &v))
		return yml_fail(y, n, "expected a size (64KiB, 1MiB, bytes), got '%s'", yml_show(y, s));
	if (v < 1 || v > 16 * 1024 * 1024)
		return yml_fail(y, n, "max_body '%s' out of range 1B..16MiB", yml_show(y, s));
	*(uint64_t *)dst = v;
	return 0;
}

int cfg_max_flows(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	uint64_t v = 0;
	int err = yml_uint(y, n, "an integer", NULL, 1024, 16777216, &v);

	if (!err)
		*(uint32_t *)dst = (uint32_t)v;
	return err;
}

int cfg_listen(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "\"host:port\"");
	const char *why;
	char host[128];
	uint16_t port;

	if (!s)
		return -EINVAL;
	why = moat_parse_hostport(s, host, sizeof(host), &port);
	if (why)
		return yml_fail(y, n, "'%s': %s", yml_show(y, s), why);
	return yml_string(y, n, dst, sizeof(((struct moat_config *)0)->metrics.listen));
}

/* ---- lists ---- */

int cfg_interfaces(struct yml *y, const yaml_node_t *n, void *dst, size_t *count)
{
	char (*names)[MOAT_IFNAMSIZ] = dst;
	size_t len, i, j;
	int err;

	if (yml_sequence(y, n, &len))
		return -EINVAL;
	if (len == 0)
		return yml_fail(y, n, "must list at least one interface");
	if (len > MOAT_MAX_IFACES)
		return yml_fail(y, n, "%zu interfaces, at most %d", len, MOAT_MAX_IFACES);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yml_item(y, n, i);
		char *name = names[i];
		size_t old = yml_push_index(y, i);
		const char *s = yml_scalar(y, item, "an interface name");

		if (!s)
			return -EINVAL;
		if (!*s)
			return yml_fail(y, item, "must not be empty");
		/* what the kernel's dev_valid_name() accepts */
		if (strlen(s) >= MOAT_IFNAMSIZ)
			return yml_fail(y, item, "'%s' is longer than %d characters", yml_show(y, s),
					MOAT_IFNAMSIZ - 1);
		if (!strcmp(s, ".") || !strcmp(s, "..") || strpbrk(s, "/: \t\n\r\v\f"))
			return yml_fail(y, item, "'%s' is not a valid interface name", yml_show(y, s));
		err = yml_string(y, item, name, MOAT_IFNAMSIZ);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!strcmp(names[j], name))
				return yml_fail(y, item, "'%s' listed twice", yml_show(y, name));
		yml_pop(y, old);
	}
	*count = len;
	return 0;
}

static int get_ports(struct yml *y, const yaml_node_t *n, struct moat_ports *ports,
		     yaml_node_t **nodes)
{
	size_t len, i, j;
	int err;

	if (yml_sequence(y, n, &len))
		return -EINVAL;
	/* a service with no port would silently drop all of its traffic */
	if (len == 0)
		return yml_fail(y, n, "must list at least one port");
	if (len > MOAT_MAX_PORTS)
		return yml_fail(y, n, "%zu ports, at most %d", len, MOAT_MAX_PORTS);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yml_item(y, n, i);
		size_t old = yml_push_index(y, i);

		err = get_port(y, item, &ports->port[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (ports->port[j] == ports->port[i])
				return yml_fail(y, item, "port %u listed twice", ports->port[i]);
		nodes[i] = item;
		yml_pop(y, old);
	}
	ports->n = len;
	return 0;
}

int cfg_tls_ports(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	return get_ports(y, n, dst, cfg_ctx(y)->tls_port_node);
}

int cfg_ssh_ports(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	return get_ports(y, n, dst, cfg_ctx(y)->ssh_port_node);
}

int cfg_ethertypes(struct yml *y, const yaml_node_t *n, void *dst, size_t *count)
{
	uint16_t *types = dst;
	size_t len, i, j;

	if (yml_sequence(y, n, &len))
		return -EINVAL;
	if (len > MOAT_MAX_ETHERTYPES)
		return yml_fail(y, n, "%zu ethertypes, at most %d", len, MOAT_MAX_ETHERTYPES);
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yml_item(y, n, i);
		size_t old = yml_push_index(y, i);
		const char *s = yml_plain(y, item, "an ethertype (e.g. 0x88cc)");
		unsigned long v;
		char *end;

		if (!s)
			return -EINVAL;
		/* 0x hex or decimal; strtoul alone would also take signs and spaces */
		if (!((s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) ||
		      (s[0] >= '1' && s[0] <= '9')))
			return yml_fail(y, item, "expected an ethertype (e.g. 0x88cc), got '%s'",
					yml_show(y, s));
		errno = 0;
		v = strtoul(s, &end, s[1] == 'x' || s[1] == 'X' ? 16 : 10);
		if (*end)
			return yml_fail(y, item, "expected an ethertype (e.g. 0x88cc), got '%s'",
					yml_show(y, s));
		if (errno || v > 0xffff)
			return yml_fail(y, item, "ethertype '%s' out of range 0x0600..0xffff", yml_show(y, s));
		if (v < 0x0600)
			return yml_fail(y, item, "0x%04lx is an 802.3 length, not an ethertype (>= 0x0600)",
					v);
		if (v == 0x0800 || v == 0x86dd || v == 0x0806)
			return yml_fail(y, item, "0x%04lx (%s) is always handled by the policy", v,
					v == 0x0800 ? "IPv4" : v == 0x86dd ? "IPv6" : "ARP");
		types[i] = (uint16_t)v;
		for (j = 0; j < i; j++)
			if (types[j] == v)
				return yml_fail(y, item, "ethertype 0x%04lx listed twice", v);
		yml_pop(y, old);
	}
	*count = len;
	return 0;
}

int cfg_cidr(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	struct moat_cidr *out = dst;
	const char *s = yml_scalar(y, n, "a CIDR");
	const char *why;
	char net[64];

	if (!s)
		return -EINVAL;
	if (!moat_parse_cidr_err(s, out, &why))
		return 0;
	if (!strcmp(why, "host bits set") && !moat_format_cidr(out, net, sizeof(net)))
		return yml_fail(y, n, "'%s' has host bits set (the network is %s)", yml_show(y, s), net);
	return yml_fail(y, n, "'%s' is not a valid CIDR: %s", yml_show(y, s), why);
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
static int check_table_size(struct yml *y, const yaml_node_t *n, const struct moat_cidr *v,
			    size_t stride, size_t len)
{
	size_t i, hosts = 0;

	for (i = 0; i < len; i++)
		hosts += moat_cidr_is_host((const struct moat_cidr *)((const char *)v + i * stride));
	if (hosts > MOAT_MAX_EXACT)
		return yml_fail(y, n, "%zu host entries, at most %u", hosts, MOAT_MAX_EXACT);
	if (len - hosts > MOAT_MAX_PREFIX)
		return yml_fail(y, n, "%zu network entries, at most %d", len - hosts, MOAT_MAX_PREFIX);
	return 0;
}

static int dup_error(struct yml *y, const yaml_node_t *n, const char *text, size_t orig)
{
	char first[sizeof(y->path) + 24];
	size_t base = y->plen;

	/* the path of the earlier entry: the list's path plus its index */
	while (base && y->path[base - 1] != ']')
		base--;
	while (base && y->path[base - 1] != '[')
		base--;
	snprintf(first, sizeof(first), "%.*s%zu]", (int)base, y->path, orig);
	return yml_fail(y, n, "'%s' duplicates %s", yml_show(y, text), first);
}

/*
 * A list of address entries: each item read by item() into an array of
 * structs elem bytes apart, each starting with its moat_cidr; then no entry
 * may repeat another and the table sizes hold. key names the item's member
 * holding the cidr (for the path of a duplicate), NULL for a bare cidr.
 */
static int cidr_table(struct yml *y, const yaml_node_t *n, void *dst, size_t *count,
		      size_t elem, yml_fn item, const char *key)
{
	char **v = dst;
	size_t len, i, dup = 0, orig = 0;
	yaml_node_t *at;
	int err;

	if (yml_sequence(y, n, &len))
		return -EINVAL;
	if (!len)
		return 0;
	*v = calloc(len, elem);
	if (!*v)
		return -ENOMEM;
	*count = len;
	for (i = 0; i < len; i++) {
		size_t old = yml_push_index(y, i);

		err = item(y, yml_item(y, n, i), *v + i * elem, NULL);
		if (err)
			return err;
		yml_pop(y, old);
	}
	err = find_dup((struct moat_cidr *)*v, elem, len, &dup, &orig);
	if (err < 0)
		return err;
	if (err) {
		yml_push_index(y, dup);
		at = yml_item(y, n, dup);
		if (key) {
			yml_push(y, key);
			at = yml_lookup(y, at, key);
		}
		return dup_error(y, at, yml_text(at), orig);
	}
	return check_table_size(y, n, (struct moat_cidr *)*v, elem, len);
}

int cfg_cidr_list(struct yml *y, const yaml_node_t *n, void *dst, size_t *count)
{
	return cidr_table(y, n, dst, count, sizeof(struct moat_cidr), cfg_cidr, NULL);
}

int cfg_devops_name(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "a name");
	size_t i;

	if (!s)
		return -EINVAL;
	if (!*s)
		return yml_fail(y, n, "must not be empty");
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return yml_fail(y, n, "contains a control character");
	if (strlen(s) >= MOAT_NAME_LEN)
		return yml_fail(y, n, "'%s' is %zu characters, at most %d", yml_show(y, s),
				strlen(s), MOAT_NAME_LEN - 1);
	strcpy(dst, s);
	return 0;
}

int cfg_expires(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "an RFC 3339 time");
	time_t *t = dst;

	if (!s)
		return -EINVAL;
	if (moat_parse_time(s, t))
		return yml_fail(y, n, "'%s' is not an RFC 3339 time (e.g. 2026-12-31T23:00:00Z)",
				yml_show(y, s));
	/* 0 means "never": a time that early is a mistake, not a wish */
	if (*t <= 0)
		return yml_fail(y, n, "'%s' is before 1970", yml_show(y, s));
	/* past 2262 the boot-time nanoseconds would wrap: refused, never
	 * loaded already expired */
	if (*t > MOAT_TIME_MAX)
		return yml_fail(y, n, "'%s' is after " MOAT_TIME_MAX_TEXT ", the latest expiry "
				"moat can represent; omit expires for never", yml_show(y, s));
	return 0;
}

/* An entry is a mapping walked against cfg_devops_entry (config.c). */
static int devops_entry(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	if (n->type != YAML_MAPPING_NODE)
		return yml_type_error(y, n, "a mapping with cidr, name, expires");
	return yml_walk(y, n, &cfg_devops_entry, dst);
}

_Static_assert(offsetof(struct moat_devops, cidr) == 0, "cidr_table() reads cidrs at 0");

int cfg_devops(struct yml *y, const yaml_node_t *n, void *dst, size_t *count)
{
	return cidr_table(y, n, dst, count, sizeof(struct moat_devops), devops_entry, "cidr");
}

/* A devops entry without a name is named by its cidr. */
int cfg_devops_default_name(struct yml *y, const yaml_node_t *map, yaml_node_t *const *v,
			    void *base)
{
	struct moat_devops *d = base;
	const char *s = yml_text(yml_lookup(y, map, "cidr"));

	if (d->name[0])
		return 0;
	/* the cidr as written; the canonical form when that is too long */
	if (strlen(s) < sizeof(d->name))
		strcpy(d->name, s);
	else
		moat_format_cidr(&d->cidr, d->name, sizeof(d->name));
	return 0;
}

int cfg_processes(struct yml *y, const yaml_node_t *n, void *dst, size_t *count)
{
	char (**v)[PATH_MAX] = dst;
	size_t len, i, j;
	int err;

	if (yml_sequence(y, n, &len))
		return -EINVAL;
	if (!len)
		return 0;
	*v = calloc(len, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	*count = len;
	for (i = 0; i < len; i++) {
		yaml_node_t *item = yml_item(y, n, i);
		size_t old = yml_push_index(y, i);

		err = yml_abspath(y, item, (*v)[i], NULL);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!strcmp((*v)[j], (*v)[i]))
				return yml_fail(y, item, "'%s' listed twice", yml_show(y, yml_text(item)));
		yml_pop(y, old);
	}
	return 0;
}


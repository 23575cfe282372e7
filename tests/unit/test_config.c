// SPDX-License-Identifier: GPL-2.0
/*
 * moat.yaml parsing (user/lib/config.c): the SPEC §3 example, every key set
 * away from its default in block and flow style, defaults, and a table of
 * refused files, each pinned to the exact line:col of its message.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include "lib/config.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* the one required key, for cases about something else */
#define IFACES		"interfaces: [eth0]\n"

static int parse(const char *yaml, struct moat_config *cfg, char *err)
{
	return moat_config_parse("moat.yaml", yaml, strlen(yaml), cfg, err, MOAT_ERR_LEN);
}

static void parse_ok(const char *yaml, struct moat_config *cfg)
{
	char err[MOAT_ERR_LEN];

	if (parse(yaml, cfg, err))
		fail_msg("refused: %s", err);
	assert_string_equal(err, "");
}

static void assert_cidr(const struct moat_cidr *c, const char *text, int family,
			unsigned int prefixlen)
{
	char buf[64];

	assert_int_equal(moat_format_cidr(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, text);
	assert_int_equal(c->family, family);
	assert_int_equal(c->prefixlen, prefixlen);
}

/* SPEC §3 verbatim. */
static const char spec_example[] =
	"interfaces: [eth0]              # required\n"
	"mode: enforce                   # enforce | monitor\n"
	"xdp_mode: auto                  # native | generic | auto (native, else generic with a warning)\n"
	"pin_dir: /sys/fs/bpf/moat\n"
	"state_dir: /var/lib/moat        # runtime allowlist entries and bans, kept across restarts\n"
	"tls:   { ports: [443], validate: true, min_version: \"1.2\", quic: false }\n"
	"ssh:\n"
	"  ports: [22]\n"
	"  validate: true\n"
	"  devops:\n"
	"    - { cidr: 198.51.100.7/32, name: alice }\n"
	"    - { cidr: 2001:db8:100::/48, name: ops-vpn }\n"
	"    - { cidr: 203.0.113.0/28, name: backup, expires: 2026-12-31T23:00:00Z }\n"
	"deny: []                        # CIDRs always dropped\n"
	"icmp: { echo: false }\n"
	"pass_ethertypes: []             # e.g. [0x88cc] for LLDP\n"
	"outbound: { track: true, max_flows: 262144 }\n"
	"lockout_guard: true             # refuse a policy that would cut an established SSH session\n"
	"inspector:\n"
	"  enabled: true\n"
	"  library: /usr/lib/x86_64-linux-gnu/libssl.so.3\n"
	"  processes: [/usr/sbin/nginx]  # executables whose TLS reads are inspected\n"
	"  crs: { rules: /usr/share/modsecurity-crs/rules, paranoia: 1 }\n"
	"  ban: { enabled: true, ttl: 10m, exempt: [] }\n"
	"  certificate: /etc/ssl/certs/gateway.pem   # optional: expiry exported as a metric\n"
	"metrics: { listen: \"127.0.0.1:9477\" }\n";

static void test_spec_example(void **state)
{
	struct moat_config cfg;

	parse_ok(spec_example, &cfg);
	assert_int_equal(cfg.n_interfaces, 1);
	assert_string_equal(cfg.interfaces[0], "eth0");
	assert_int_equal(cfg.mode, MOAT_MODE_ENFORCE);
	assert_int_equal(cfg.xdp_mode, MOAT_XDP_MODE_AUTO);
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/moat");
	assert_string_equal(cfg.state_dir, "/var/lib/moat");

	assert_int_equal(cfg.tls.ports.n, 1);
	assert_int_equal(cfg.tls.ports.port[0], 443);
	assert_true(cfg.tls.validate);
	assert_int_equal(cfg.tls.min_version, 0x0303);
	assert_false(cfg.tls.quic);

	assert_int_equal(cfg.ssh.ports.n, 1);
	assert_int_equal(cfg.ssh.ports.port[0], 22);
	assert_true(cfg.ssh.validate);
	assert_int_equal(cfg.ssh.n_devops, 3);
	assert_cidr(&cfg.ssh.devops[0].cidr, "198.51.100.7", AF_INET, 128);
	assert_string_equal(cfg.ssh.devops[0].name, "alice");
	assert_int_equal(cfg.ssh.devops[0].expires, 0);
	assert_cidr(&cfg.ssh.devops[1].cidr, "2001:db8:100::/48", AF_INET6, 48);
	assert_string_equal(cfg.ssh.devops[1].name, "ops-vpn");
	assert_int_equal(cfg.ssh.devops[1].expires, 0);
	assert_cidr(&cfg.ssh.devops[2].cidr, "203.0.113.0/28", AF_INET, 124);
	assert_string_equal(cfg.ssh.devops[2].name, "backup");
	assert_int_equal(cfg.ssh.devops[2].expires, 1798758000);

	assert_int_equal(cfg.n_deny, 0);
	assert_null(cfg.deny);
	assert_false(cfg.icmp.echo);
	assert_int_equal(cfg.n_pass_ethertypes, 0);
	assert_true(cfg.outbound.track);
	assert_int_equal(cfg.outbound.max_flows, 262144);
	assert_true(cfg.lockout_guard);

	assert_true(cfg.inspector.enabled);
	assert_string_equal(cfg.inspector.library, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	assert_int_equal(cfg.inspector.n_processes, 1);
	assert_string_equal(cfg.inspector.processes[0], "/usr/sbin/nginx");
	assert_string_equal(cfg.inspector.crs_rules, "/usr/share/modsecurity-crs/rules");
	assert_int_equal(cfg.inspector.paranoia, 1);
	assert_int_equal(cfg.inspector.max_body, 64 * 1024);
	assert_true(cfg.inspector.ban_enabled);
	assert_int_equal(cfg.inspector.ban_ttl, 600);
	assert_int_equal(cfg.inspector.n_ban_exempt, 0);
	assert_null(cfg.inspector.ban_exempt);
	assert_string_equal(cfg.inspector.certificate, "/etc/ssl/certs/gateway.pem");
	assert_string_equal(cfg.metrics.listen, "127.0.0.1:9477");
	moat_config_free(&cfg);
}

/* Every key away from its default, so each assertion proves the key was read. */
static const char all_block[] =
	"# every key, none at its default\n"
	"interfaces:\n"
	"  - eth0\n"
	"  - ens1f0.100\n"
	"mode: monitor\n"
	"xdp_mode: native\n"
	"pin_dir: /sys/fs/bpf/moat-test\n"
	"state_dir: /var/lib/moat-test\n"
	"tls:\n"
	"  ports: [443, 8443]\n"
	"  validate: false\n"
	"  min_version: 1.3\n"
	"  quic: true\n"
	"ssh:\n"
	"  ports:\n"
	"    - 2222\n"
	"  validate: false\n"
	"  devops:\n"
	"    - cidr: 198.51.100.0/24\n"
	"      name: office\n"
	"      expires: 2026-06-01T10:00:00+02:00\n"
	"    - cidr: 2001:db8::7\n"
	"deny:\n"
	"  - 192.0.2.0/24\n"
	"  - 2001:db8:dead::/48\n"
	"icmp:\n"
	"  echo: true\n"
	"pass_ethertypes: [0x88cc, 35063]   # LLDP, PTP (0x88f7)\n"
	"outbound:\n"
	"  track: false\n"
	"  max_flows: 1024\n"
	"lockout_guard: false\n"
	"inspector:\n"
	"  enabled: true\n"
	"  library: /opt/ssl/lib/libssl.so.3\n"
	"  processes:\n"
	"    - /usr/sbin/nginx\n"
	"    - /usr/bin/haproxy\n"
	"  max_body: 1MiB\n"
	"  crs:\n"
	"    rules: /etc/moat/crs\n"
	"    paranoia: 4\n"
	"  ban:\n"
	"    enabled: false\n"
	"    ttl: 1h30m\n"
	"    exempt: [198.18.0.0/15]\n"
	"  certificate: /etc/ssl/certs/gw.pem\n"
	"metrics:\n"
	"  listen: \"[::1]:9100\"\n";

static const char all_flow[] =
	"{ interfaces: [eth0, ens1f0.100], mode: monitor, xdp_mode: native,\n"
	"  pin_dir: /sys/fs/bpf/moat-test, state_dir: /var/lib/moat-test,\n"
	"  tls: { ports: [443, 8443], validate: false, min_version: \"1.3\", quic: true },\n"
	"  ssh: { ports: [2222], validate: false, devops: [\n"
	"    { cidr: 198.51.100.0/24, name: office, expires: \"2026-06-01T10:00:00+02:00\" },\n"
	"    { cidr: \"2001:db8::7\" } ] },\n"
	"  deny: [192.0.2.0/24, \"2001:db8:dead::/48\"], icmp: { echo: true },\n"
	"  pass_ethertypes: [0x88cc, 35063], outbound: { track: false, max_flows: 1024 },\n"
	"  lockout_guard: false,\n"
	"  inspector: { enabled: true, library: /opt/ssl/lib/libssl.so.3,\n"
	"    processes: [/usr/sbin/nginx, /usr/bin/haproxy], max_body: 1MiB,\n"
	"    crs: { rules: /etc/moat/crs, paranoia: 4 },\n"
	"    ban: { enabled: false, ttl: 1h30m, exempt: [198.18.0.0/15] },\n"
	"    certificate: /etc/ssl/certs/gw.pem },\n"
	"  metrics: { listen: \"[::1]:9100\" } }\n";

static void assert_all_non_default(const struct moat_config *cfg)
{
	assert_int_equal(cfg->n_interfaces, 2);
	assert_string_equal(cfg->interfaces[0], "eth0");
	assert_string_equal(cfg->interfaces[1], "ens1f0.100");
	assert_int_equal(cfg->mode, MOAT_MODE_MONITOR);
	assert_int_equal(cfg->xdp_mode, MOAT_XDP_MODE_NATIVE);
	assert_string_equal(cfg->pin_dir, "/sys/fs/bpf/moat-test");
	assert_string_equal(cfg->state_dir, "/var/lib/moat-test");

	assert_int_equal(cfg->tls.ports.n, 2);
	assert_int_equal(cfg->tls.ports.port[0], 443);
	assert_int_equal(cfg->tls.ports.port[1], 8443);
	assert_false(cfg->tls.validate);
	assert_int_equal(cfg->tls.min_version, 0x0304);
	assert_true(cfg->tls.quic);

	assert_int_equal(cfg->ssh.ports.n, 1);
	assert_int_equal(cfg->ssh.ports.port[0], 2222);
	assert_false(cfg->ssh.validate);
	assert_int_equal(cfg->ssh.n_devops, 2);
	assert_cidr(&cfg->ssh.devops[0].cidr, "198.51.100.0/24", AF_INET, 120);
	assert_string_equal(cfg->ssh.devops[0].name, "office");
	assert_int_equal(cfg->ssh.devops[0].expires, 1780300800);
	assert_cidr(&cfg->ssh.devops[1].cidr, "2001:db8::7", AF_INET6, 128);
	/* no name: the cidr as written */
	assert_string_equal(cfg->ssh.devops[1].name, "2001:db8::7");
	assert_int_equal(cfg->ssh.devops[1].expires, 0);

	assert_int_equal(cfg->n_deny, 2);
	assert_cidr(&cfg->deny[0], "192.0.2.0/24", AF_INET, 120);
	assert_cidr(&cfg->deny[1], "2001:db8:dead::/48", AF_INET6, 48);
	assert_true(cfg->icmp.echo);
	assert_int_equal(cfg->n_pass_ethertypes, 2);
	assert_int_equal(cfg->pass_ethertypes[0], 0x88cc);
	assert_int_equal(cfg->pass_ethertypes[1], 0x88f7);
	assert_false(cfg->outbound.track);
	assert_int_equal(cfg->outbound.max_flows, 1024);
	assert_false(cfg->lockout_guard);

	assert_true(cfg->inspector.enabled);
	assert_string_equal(cfg->inspector.library, "/opt/ssl/lib/libssl.so.3");
	assert_int_equal(cfg->inspector.n_processes, 2);
	assert_string_equal(cfg->inspector.processes[0], "/usr/sbin/nginx");
	assert_string_equal(cfg->inspector.processes[1], "/usr/bin/haproxy");
	assert_string_equal(cfg->inspector.crs_rules, "/etc/moat/crs");
	assert_int_equal(cfg->inspector.paranoia, 4);
	assert_int_equal(cfg->inspector.max_body, 1024 * 1024);
	assert_false(cfg->inspector.ban_enabled);
	assert_int_equal(cfg->inspector.ban_ttl, 5400);
	assert_int_equal(cfg->inspector.n_ban_exempt, 1);
	assert_cidr(&cfg->inspector.ban_exempt[0], "198.18.0.0/15", AF_INET, 111);
	assert_string_equal(cfg->inspector.certificate, "/etc/ssl/certs/gw.pem");
	assert_string_equal(cfg->metrics.listen, "[::1]:9100");
}

static void test_all_keys_block(void **state)
{
	struct moat_config cfg;

	parse_ok(all_block, &cfg);
	assert_all_non_default(&cfg);
	moat_config_free(&cfg);
}

static void test_all_keys_flow(void **state)
{
	struct moat_config cfg;

	parse_ok(all_flow, &cfg);
	assert_all_non_default(&cfg);
	moat_config_free(&cfg);
}

static void assert_defaults(const struct moat_config *cfg)
{
	assert_int_equal(cfg->mode, MOAT_MODE_ENFORCE);
	assert_int_equal(cfg->xdp_mode, MOAT_XDP_MODE_AUTO);
	assert_string_equal(cfg->pin_dir, MOAT_DEFAULT_PIN_DIR);
	assert_string_equal(cfg->state_dir, MOAT_DEFAULT_STATE_DIR);
	assert_int_equal(cfg->tls.ports.n, 1);
	assert_int_equal(cfg->tls.ports.port[0], 443);
	assert_true(cfg->tls.validate);
	assert_int_equal(cfg->tls.min_version, 0x0303);
	assert_false(cfg->tls.quic);
	assert_int_equal(cfg->ssh.ports.n, 1);
	assert_int_equal(cfg->ssh.ports.port[0], 22);
	assert_true(cfg->ssh.validate);
	assert_int_equal(cfg->ssh.n_devops, 0);
	assert_null(cfg->ssh.devops);
	assert_int_equal(cfg->n_deny, 0);
	assert_null(cfg->deny);
	assert_false(cfg->icmp.echo);
	assert_int_equal(cfg->n_pass_ethertypes, 0);
	assert_true(cfg->outbound.track);
	assert_int_equal(cfg->outbound.max_flows, 262144);
	assert_true(cfg->lockout_guard);
	assert_false(cfg->inspector.enabled);
	assert_string_equal(cfg->inspector.library, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	assert_int_equal(cfg->inspector.n_processes, 0);
	assert_null(cfg->inspector.processes);
	assert_string_equal(cfg->inspector.crs_rules, "/usr/share/modsecurity-crs/rules");
	assert_int_equal(cfg->inspector.paranoia, 1);
	assert_true(cfg->inspector.ban_enabled);
	assert_int_equal(cfg->inspector.ban_ttl, 600);
	assert_int_equal(cfg->inspector.n_ban_exempt, 0);
	assert_null(cfg->inspector.ban_exempt);
	assert_string_equal(cfg->inspector.certificate, "");
	assert_string_equal(cfg->metrics.listen, "127.0.0.1:9477");
}

static void test_minimal_defaults(void **state)
{
	struct moat_config cfg;

	parse_ok("interfaces: [eth0]\n", &cfg);
	assert_int_equal(cfg.n_interfaces, 1);
	assert_string_equal(cfg.interfaces[0], "eth0");
	assert_defaults(&cfg);
	moat_config_free(&cfg);

	moat_config_defaults(&cfg);
	assert_int_equal(cfg.n_interfaces, 0);
	assert_defaults(&cfg);
}

/* "key:" with nothing after it leaves a section, list or certificate at its default. */
static void test_null_values(void **state)
{
	struct moat_config cfg;

	parse_ok("interfaces: [eth0]\n"
		 "tls:\n"
		 "ssh: { devops: }\n"
		 "deny:\n"
		 "pass_ethertypes: ~\n"
		 "icmp: null\n"
		 "outbound: {}\n"
		 "inspector:\n"
		 "  processes: []\n"
		 "  ban: { exempt: NULL }\n"
		 "  certificate:\n"
		 "metrics: {}\n", &cfg);
	assert_defaults(&cfg);
	moat_config_free(&cfg);
}

static void test_scalar_forms(void **state)
{
	struct moat_config cfg;

	/* quoted strings, plain 1.2, decimal ethertype, bool spellings, anchors */
	parse_ok("interfaces: ['eth0', \"eth1\"]\n"
		 "tls: { ports: &tp [443], min_version: 1.2, validate: False }\n"
		 "ssh: { validate: TRUE, devops: [\n"
		 "  { cidr: \"2001:0db8:0000:0000:0000:0000:0000:0001\" },\n"
		 "  { cidr: 198.51.100.7, name: \"carol (laptop)\", expires: 2026-12-31t23:00:00z },\n"
		 "  { cidr: \"::ffff:198.51.100.8\" } ] }\n"
		 "pass_ethertypes: [35020, 0X88F7]\n"
		 "metrics: { listen: localhost:9477 }\n"
		 "deny:\n  - 0.0.0.0/0\n  - ::/0\n", &cfg);
	assert_int_equal(cfg.n_interfaces, 2);
	assert_string_equal(cfg.interfaces[1], "eth1");
	assert_int_equal(cfg.tls.min_version, 0x0303);
	assert_false(cfg.tls.validate);
	assert_true(cfg.ssh.validate);
	assert_int_equal(cfg.ssh.n_devops, 3);
	/* the written text is 39 characters: the default name falls back to canonical */
	assert_string_equal(cfg.ssh.devops[0].name, "2001:db8::1");
	assert_string_equal(cfg.ssh.devops[1].name, "carol (laptop)");
	assert_int_equal(cfg.ssh.devops[1].expires, 1798758000);
	assert_int_equal(cfg.ssh.devops[2].cidr.family, AF_INET6);
	assert_cidr(&cfg.ssh.devops[2].cidr, "198.51.100.8", AF_INET6, 128);
	assert_int_equal(cfg.pass_ethertypes[0], 0x88cc);
	assert_int_equal(cfg.pass_ethertypes[1], 0x88f7);
	assert_string_equal(cfg.metrics.listen, "localhost:9477");
	assert_cidr(&cfg.deny[0], "0.0.0.0/0", AF_INET, 96);
	assert_cidr(&cfg.deny[1], "::/0", AF_INET6, 0);
	moat_config_free(&cfg);

	parse_ok(IFACES "tls: { min_version: \"1.0\" }\nmetrics: { listen: \"[::]:1\" }\n", &cfg);
	assert_int_equal(cfg.tls.min_version, 0x0301);
	moat_config_free(&cfg);
	parse_ok(IFACES "metrics: { listen: 0.0.0.0:65535 }\n", &cfg);
	moat_config_free(&cfg);
}

static void test_interface_limits(void **state)
{
	char yaml[1024];
	struct moat_config cfg;
	char err[MOAT_ERR_LEN];
	int i, n;

	/* 16 interfaces of the longest name fit */
	n = snprintf(yaml, sizeof(yaml), "interfaces: [");
	for (i = 0; i < MOAT_MAX_IFACES; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n, "%sveth0123456789%c", i ? ", " : "",
			      'a' + i);
	snprintf(yaml + n, sizeof(yaml) - n, "]\n");
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.n_interfaces, MOAT_MAX_IFACES);
	assert_string_equal(cfg.interfaces[15], "veth0123456789p");
	moat_config_free(&cfg);

	/* a 17th does not */
	snprintf(yaml + n, sizeof(yaml) - n, ", eth9]\n");
	assert_int_equal(parse(yaml, &cfg, err), -EINVAL);
	assert_string_equal(err, "moat.yaml:1:13: interfaces: 17 interfaces, at most 16");
}

/* Networks share one LPM trie of MOAT_MAX_PREFIX entries per table. */
static void test_table_limits(void **state)
{
	size_t cap = 64 + (MOAT_MAX_PREFIX + 1) * 20, n, i;
	char *yaml = malloc(cap);
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;

	assert_non_null(yaml);
	n = (size_t)snprintf(yaml, cap, IFACES "deny:\n");
	for (i = 0; i < MOAT_MAX_PREFIX; i++)
		n += (size_t)snprintf(yaml + n, cap - n, "  - 10.%zu.%zu.0/24\n", i / 256, i % 256);
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.n_deny, MOAT_MAX_PREFIX);
	moat_config_free(&cfg);

	snprintf(yaml + n, cap - n, "  - 192.0.2.0/24\n");
	assert_int_equal(parse(yaml, &cfg, err), -EINVAL);
	assert_string_equal(err, "moat.yaml:3:3: deny: 16385 network entries, at most 16384");
	free(yaml);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/moat-test-config.XXXXXX";
	char err[MOAT_ERR_LEN], want[MOAT_ERR_LEN];
	struct moat_config cfg;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, spec_example, strlen(spec_example)),
			 (ssize_t)strlen(spec_example));
	close(fd);
	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ssh.n_devops, 3);
	moat_config_free(&cfg);

	/* messages name the file as given */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mode: monitor\n", 14), 14);
	close(fd);
	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:1:1: interfaces: required", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);

	assert_int_equal(moat_config_load("/tmp", &cfg, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/tmp: cannot read: Is a directory");
}

static void test_error_buffer(void **state)
{
	struct moat_config cfg;
	char err[16];

	/* truncated, terminated, and the return value unchanged */
	memset(err, 'x', sizeof(err));
	assert_int_equal(moat_config_parse("moat.yaml", "mode: x\n", 8, &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "moat.yaml:1:1: ");
	/* no buffer at all */
	assert_int_equal(moat_config_parse("moat.yaml", "mode: x\n", 8, &cfg, NULL, 0), -EINVAL);
	/* not NUL-terminated input: only len bytes are read */
	assert_int_equal(moat_config_parse("moat.yaml", "interfaces: [eth0]garbage", 18, &cfg,
					   err, sizeof(err)), 0);
	moat_config_free(&cfg);
	/* freeing twice is harmless */
	moat_config_free(&cfg);
}

struct bad {
	const char *name;
	const char *yaml;
	const char *at;		/* "LINE:COL" */
	const char *cause;	/* substring of the message after the position */
};

static const struct bad bad_cases[] = {
	/* YAML itself */
	{ "syntax: mapping in scalar", IFACES "mode: enforce: x\n", "2:14",
	  "syntax error: mapping values are not allowed" },
	{ "syntax: unclosed flow list", "interfaces: [eth0\nmode: enforce\n", "2:5",
	  "syntax error: did not find expected ',' or ']' (while parsing a flow sequence at 1:13)" },
	{ "syntax: tab indent", "interfaces:\n\t- eth0\n", "2:1",
	  "syntax error: found character that cannot start any token" },
	{ "syntax: bad UTF-8", IFACES "mode: \xff\n", "2:7", "invalid leading UTF-8 octet" },
	{ "syntax: bad UTF-8 after a multibyte name", IFACES "# \xc3\xa9t\xc3\xa9\nmode: \xc3\xa9\xff\n",
	  "3:8", "invalid leading UTF-8 octet" },
	{ "syntax: undefined alias", "interfaces: *ifs\n", "1:13", "found undefined alias" },
	{ "two documents", IFACES "---\nmode: monitor\n", "3:1", "second YAML document" },
	{ "top level is a scalar", "eth0\n", "1:1", "expected a mapping of settings, got a scalar" },
	{ "top level is a list", "- interfaces: [eth0]\n", "1:1", "got a list" },
	{ "complex key", IFACES "? [a, b]\n: c\n", "2:3", "a key must be a name, got a list" },
	/* unknown and duplicate keys */
	{ "unknown key", IFACES "mode: enforce\ninterfaec: x\n", "3:1", "unknown key 'interfaec'" },
	{ "unknown key: suggestion", IFACES "xdp_mod: auto\n", "2:1",
	  "unknown key 'xdp_mod' (did you mean 'xdp_mode'?)" },
	{ "unknown key: nested", IFACES "tls:\n  ports: [443]\n  valdate: true\n", "4:3",
	  "tls: unknown key 'valdate' (did you mean 'validate'?)" },
	{ "unknown key: nested flow", IFACES "inspector: { ban: { ttl: 10m, exmpt: [] } }\n",
	  "2:31", "inspector.ban: unknown key 'exmpt'" },
	{ "unknown key: devops entry", IFACES "ssh:\n  devops:\n    - { cidr: 10.0.0.0/8, nmae: x }\n",
	  "4:27", "ssh.devops[0]: unknown key 'nmae' (did you mean 'name'?)" },
	{ "duplicate key", IFACES "mode: enforce\nmode: monitor\n", "3:1", "duplicate key 'mode'" },
	{ "duplicate key: nested", IFACES "tls: { quic: true, quic: false }\n", "2:20",
	  "tls: duplicate key 'quic'" },
	/* types */
	{ "type: list for scalar", IFACES "mode: [enforce]\n", "2:7",
	  "mode: expected enforce or monitor, got a list" },
	{ "type: scalar for list", "interfaces: eth0\n", "1:13",
	  "interfaces: expected a list, got a scalar" },
	{ "type: scalar for map", IFACES "tls: 443\n", "2:6",
	  "tls: expected a mapping, got a scalar" },
	{ "type: map for scalar", IFACES "lockout_guard: { a: 1 }\n", "2:16",
	  "lockout_guard: expected true or false, got a mapping" },
	{ "type: map for list", IFACES "deny: { a: 1 }\n", "2:7",
	  "deny: expected a list, got a mapping" },
	{ "type: quoted bool", IFACES "icmp: { echo: \"true\" }\n", "2:15",
	  "icmp.echo: expected true or false, got a quoted string" },
	{ "type: yes is not a bool", IFACES "icmp: { echo: yes }\n", "2:15",
	  "icmp.echo: expected true or false, got 'yes'" },
	{ "type: null scalar", IFACES "mode:\nxdp_mode: auto\n", "2:6",
	  "mode: expected enforce or monitor, got nothing" },
	/* interfaces */
	{ "interfaces: missing", "mode: enforce\n", "1:1", "interfaces: required" },
	{ "interfaces: missing after comments", "# moat\n\nmode: monitor\n", "3:1",
	  "interfaces: required" },
	{ "interfaces: empty file", "", "1:1", "interfaces: required" },
	{ "interfaces: comments only", "# nothing yet\n", "1:1", "interfaces: required" },
	{ "interfaces: empty", "interfaces: []\n", "1:13",
	  "interfaces: must list at least one interface" },
	{ "interfaces: name too long", "interfaces: [eth0, abcdefghijklmnop]\n", "1:20",
	  "interfaces[1]: 'abcdefghijklmnop' is longer than 15 characters" },
	{ "interfaces: empty name", "interfaces: [\"\"]\n", "1:14",
	  "interfaces[0]: must not be empty" },
	{ "interfaces: bad name", "interfaces: [eth0/1]\n", "1:14",
	  "interfaces[0]: 'eth0/1' is not a valid interface name" },
	{ "interfaces: duplicate", "interfaces:\n  - eth0\n  - eth0\n", "3:5",
	  "interfaces[1]: 'eth0' listed twice" },
	/* mode, xdp_mode, paths */
	{ "mode: bad", IFACES "mode: block\n", "2:7",
	  "mode: expected enforce or monitor, got 'block'" },
	{ "xdp_mode: bad", IFACES "xdp_mode: offload\n", "2:11",
	  "xdp_mode: expected native, generic or auto, got 'offload'" },
	{ "pin_dir: relative", IFACES "pin_dir: sys/fs/bpf/moat\n", "2:10",
	  "pin_dir: 'sys/fs/bpf/moat' is not an absolute path" },
	{ "state_dir: list", IFACES "state_dir: [/var]\n", "2:12",
	  "state_dir: expected an absolute path, got a list" },
	/* ports */
	{ "port 0", IFACES "tls: { ports: [0] }\n", "2:16",
	  "tls.ports[0]: port 0 out of range 1..65535" },
	{ "port 70000", IFACES "ssh:\n  ports:\n    - 22\n    - 70000\n", "5:7",
	  "ssh.ports[1]: port 70000 out of range 1..65535" },
	{ "port abc", IFACES "ssh: { ports: [abc] }\n", "2:16",
	  "ssh.ports[0]: expected a port number, got 'abc'" },
	{ "port quoted", IFACES "ssh: { ports: [\"22\"] }\n", "2:16",
	  "ssh.ports[0]: expected a port number, got a quoted string" },
	{ "port negative", IFACES "ssh: { ports: [-22] }\n", "2:16",
	  "ssh.ports[0]: expected a port number, got '-22'" },
	{ "port duplicate", IFACES "tls: { ports: [443, 8443, 443] }\n", "2:27",
	  "tls.ports[2]: port 443 listed twice" },
	{ "port list empty", IFACES "tls: { ports: [] }\n", "2:15",
	  "tls.ports: must list at least one port" },
	{ "port list too long", IFACES "ssh: { ports: [1, 2, 3, 4, 5, 6, 7, 8, 9] }\n", "2:15",
	  "ssh.ports: 9 ports, at most 8" },
	{ "port overlap: TLS list has the SSH default", IFACES "tls: { ports: [443, 22] }\n",
	  "2:21", "tls.ports[1]: port 22 is also an SSH port" },
	{ "port overlap: both written", IFACES "tls: { ports: [443] }\nssh: { ports: [2222, 443] }\n",
	  "3:22", "ssh.ports[1]: port 443 is also a TLS port" },
	/* tls */
	{ "min_version 1.4", IFACES "tls: { min_version: \"1.4\" }\n", "2:21",
	  "tls.min_version: expected \"1.0\", \"1.1\", \"1.2\" or \"1.3\", got '1.4'" },
	{ "min_version 1.20", IFACES "tls: { min_version: 1.20 }\n", "2:21",
	  "tls.min_version: expected \"1.0\"" },
	/* CIDRs */
	{ "cidr: not an address", IFACES "deny: [10.0.0.0/8, 300.1.1.1]\n", "2:20",
	  "deny[1]: '300.1.1.1' is not a valid CIDR: not an IP address" },
	{ "cidr: prefix too long", IFACES "ssh: { devops: [{ cidr: 10.0.0.0/33 }] }\n", "2:25",
	  "ssh.devops[0].cidr: '10.0.0.0/33' is not a valid CIDR: prefix length above 32" },
	{ "cidr: trailing junk", IFACES "inspector: { ban: { exempt: [10.0.0.0/8x] } }\n", "2:30",
	  "inspector.ban.exempt[0]: '10.0.0.0/8x' is not a valid CIDR" },
	{ "cidr: host bits", IFACES "ssh:\n  devops:\n    - cidr: 198.51.100.7/24\n      name: bob\n",
	  "4:13", "ssh.devops[0].cidr: '198.51.100.7/24' has host bits set (the network is 198.51.100.0/24)" },
	{ "cidr: host bits v6", IFACES "deny: [\"2001:db8::1/64\"]\n", "2:8",
	  "deny[0]: '2001:db8::1/64' has host bits set (the network is 2001:db8::/64)" },
	{ "cidr: duplicate deny", IFACES "deny: [192.0.2.0/24, 10.0.0.0/8, 192.0.2.0/24]\n", "2:34",
	  "deny[2]: '192.0.2.0/24' duplicates deny[0]" },
	{ "cidr: first duplicate in file order", IFACES
	  "deny: [192.0.2.0/24, 10.0.0.0/8, 10.0.0.0/8, 192.0.2.0/24]\n", "2:34",
	  "deny[2]: '10.0.0.0/8' duplicates deny[1]" },
	/* devops */
	{ "devops: duplicate", IFACES "ssh:\n  devops:\n"
	  "    - { cidr: 198.51.100.7/32, name: a }\n    - { cidr: 198.51.100.7, name: b }\n",
	  "5:15", "ssh.devops[1].cidr: '198.51.100.7' duplicates ssh.devops[0]" },
	{ "devops: duplicate as mapped v6", IFACES "ssh:\n  devops:\n"
	  "    - { cidr: 10.0.0.0/8 }\n    - { cidr: 198.51.100.7 }\n"
	  "    - { cidr: \"::ffff:198.51.100.7\" }\n",
	  "6:15", "ssh.devops[2].cidr: '::ffff:198.51.100.7' duplicates ssh.devops[1]" },
	{ "devops: no cidr", IFACES "ssh:\n  devops:\n    - { name: x }\n", "4:7",
	  "ssh.devops[0].cidr: required" },
	{ "devops: scalar entry", IFACES "ssh:\n  devops:\n    - 10.0.0.0/8\n", "4:7",
	  "ssh.devops[0]: expected a mapping with cidr, name, expires, got a scalar" },
	{ "devops: name too long", IFACES "ssh:\n  devops:\n"
	  "    - { cidr: 10.0.0.0/8, name: abcdefghijklmnopqrstuvwxyz012345 }\n", "4:33",
	  "ssh.devops[0].name: 'abcdefghijklmnopqrstuvwxyz012345' is 32 characters, at most 31" },
	{ "devops: empty name", IFACES "ssh: { devops: [{ cidr: 10.0.0.0/8, name: '' }] }\n", "2:43",
	  "ssh.devops[0].name: must not be empty" },
	{ "devops: bad expires", IFACES "ssh:\n  devops:\n"
	  "    - { cidr: 203.0.113.0/28, expires: 2026-12-31 }\n", "4:40",
	  "ssh.devops[0].expires: '2026-12-31' is not an RFC 3339 time" },
	{ "devops: expires Feb 30", IFACES "ssh: { devops: [{ cidr: 10.0.0.0/8, expires: 2026-02-30T00:00:00Z }] }\n",
	  "2:46", "ssh.devops[0].expires: '2026-02-30T00:00:00Z' is not an RFC 3339 time" },
	/* past 2262 boot-time nanoseconds wrap: refused, never loaded already expired */
	{ "devops: expires 9999", IFACES "ssh: { devops: [{ cidr: 10.0.0.0/8, expires: 9999-12-31T23:59:59Z }] }\n",
	  "2:46", "ssh.devops[0].expires: '9999-12-31T23:59:59Z' is after 2262-04-11T23:47:16Z, "
	  "the latest expiry moat can represent; omit expires for never" },
	{ "devops: expires a second after the 2262 edge",
	  IFACES "ssh: { devops: [{ cidr: 10.0.0.0/8, expires: 2262-04-11T23:47:17Z }] }\n",
	  "2:46", "ssh.devops[0].expires: '2262-04-11T23:47:17Z' is after" },
	{ "ban ttl: 30000w", IFACES "inspector: { ban: { ttl: 30000w } }\n", "2:26",
	  "inspector.ban.ttl: duration '30000w' ends after 2262-04-11T23:47:16Z, the latest time moat can represent" },
	{ "ban ttl: 100000d", IFACES "inspector: { ban: { ttl: 100000d } }\n", "2:26",
	  "inspector.ban.ttl: duration '100000d' ends after" },
	{ "devops: not a list", IFACES "ssh: { devops: { cidr: 10.0.0.0/8 } }\n", "2:16",
	  "ssh.devops: expected a list, got a mapping" },
	/* ethertypes */
	{ "ethertype: IPv4", IFACES "pass_ethertypes: [0x88cc, 0x0800]\n", "2:27",
	  "pass_ethertypes[1]: 0x0800 (IPv4) is always handled by the policy" },
	{ "ethertype: ARP decimal", IFACES "pass_ethertypes: [2054]\n", "2:19",
	  "pass_ethertypes[0]: 0x0806 (ARP) is always handled" },
	{ "ethertype: length", IFACES "pass_ethertypes: [0x05dc]\n", "2:19",
	  "0x05dc is an 802.3 length, not an ethertype" },
	{ "ethertype: too big", IFACES "pass_ethertypes: [0x10000]\n", "2:19",
	  "ethertype '0x10000' out of range 0x0600..0xffff" },
	{ "ethertype: word", IFACES "pass_ethertypes: [lldp]\n", "2:19",
	  "expected an ethertype (e.g. 0x88cc), got 'lldp'" },
	{ "ethertype: duplicate", IFACES "pass_ethertypes: [0x88cc, 35020]\n", "2:27",
	  "ethertype 0x88cc listed twice" },
	/* outbound, inspector */
	{ "max_flows: too small", IFACES "outbound: { max_flows: 100 }\n", "2:24",
	  "outbound.max_flows: 100 out of range 1024..16777216" },
	{ "max_flows: too big", IFACES "outbound: { max_flows: 16777217 }\n", "2:24",
	  "out of range 1024..16777216" },
	{ "max_body 0", IFACES "inspector: { max_body: 0 }\n", "2:24",
	  "inspector.max_body: max_body '0' out of range 1B..16MiB" },
	{ "max_body 17MiB", IFACES "inspector: { max_body: 17MiB }\n", "2:24",
	  "inspector.max_body: max_body '17MiB' out of range 1B..16MiB" },
	{ "max_body unit", IFACES "inspector: { max_body: 64kb }\n", "2:24",
	  "inspector.max_body: expected a size (64KiB, 1MiB, bytes), got '64kb'" },
	{ "paranoia 5", IFACES "inspector: { crs: { paranoia: 5 } }\n", "2:31",
	  "inspector.crs.paranoia: paranoia level 5 out of range 1..4" },
	{ "duration: bare number", IFACES "inspector:\n  ban:\n    ttl: 10\n", "4:10",
	  "inspector.ban.ttl: duration '10' needs a unit" },
	{ "duration: zero", IFACES "inspector: { ban: { ttl: 0s } }\n", "2:26",
	  "inspector.ban.ttl: invalid duration '0s'" },
	{ "duration: bad unit", IFACES "inspector: { ban: { ttl: 10y } }\n", "2:26",
	  "invalid duration '10y'" },
	{ "inspector: no processes", IFACES "inspector: { enabled: true }\n", "2:12",
	  "inspector.processes: required when the inspector is enabled" },
	{ "inspector: relative process", IFACES "inspector: { processes: [nginx] }\n", "2:26",
	  "inspector.processes[0]: 'nginx' is not an absolute path" },
	{ "inspector: duplicate process", IFACES "inspector: { processes: [/a, /a] }\n", "2:30",
	  "inspector.processes[1]: '/a' listed twice" },
	{ "inspector: relative certificate", IFACES "inspector:\n  certificate: gw.pem\n", "3:16",
	  "inspector.certificate: 'gw.pem' is not an absolute path" },
	/* metrics */
	{ "listen: bad port", IFACES "metrics: { listen: \"127.0.0.1:99999\" }\n", "2:20",
	  "metrics.listen: '127.0.0.1:99999': port must be 1..65535" },
	{ "listen: no port", IFACES "metrics: { listen: localhost }\n", "2:20",
	  "metrics.listen: 'localhost': missing ':PORT'" },
	{ "listen: v6 without brackets", IFACES "metrics: { listen: \"::1:9477\" }\n", "2:20",
	  "an IPv6 host must be in brackets" },
	{ "listen: bad v6", IFACES "metrics: { listen: \"[::g]:9477\" }\n", "2:20",
	  "not an IPv6 address inside [ ]" },
	{ "listen: bad v4", IFACES "metrics: { listen: 127.0.0.256:9477 }\n", "2:20",
	  "'127.0.0.256:9477': not an IPv4 address" },
};

static void test_bad(void **state)
{
	const struct bad *t = *state;
	char err[MOAT_ERR_LEN], prefix[64];
	struct moat_config cfg;
	int ret;

	ret = parse(t->yaml, &cfg, err);
	if (ret != -EINVAL)
		fail_msg("returned %d, want -EINVAL (message '%s')", ret, err);
	snprintf(prefix, sizeof(prefix), "moat.yaml:%s: ", t->at);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err + strlen(prefix), t->cause))
		fail_msg("got '%s', want '%s...%s'", err, prefix, t->cause);
	/* refused as a whole: nothing left allocated */
	assert_null(cfg.ssh.devops);
	assert_null(cfg.deny);
	assert_null(cfg.inspector.processes);
	assert_null(cfg.inspector.ban_exempt);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Issue 8, item 11: 200k levels (400 KB) kept libyaml busy for 68 s. */
static void test_deep_nesting(void **state)
{
	static const char *const opens[] = { "[", "{a: " };
	size_t depth = 200000;

	for (size_t k = 0; k < ARRAY_SIZE(opens); k++) {
		size_t olen = strlen(opens[k]), n = 0;
		char *yaml = malloc(16 + depth * (olen + 1)), err[MOAT_ERR_LEN];
		struct moat_config cfg;
		struct timespec t0;
		char want[64];

		assert_non_null(yaml);
		n += sprintf(yaml, "interfaces: ");
		for (size_t i = 0; i < depth; i++, n += olen)
			memcpy(yaml + n, opens[k], olen);
		memset(yaml + n, k ? '}' : ']', depth);
		n += depth;
		yaml[n] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(parse(yaml, &cfg, err), -EINVAL);
		if (seconds_since(&t0) > 0.1)
			fail_msg("took %.3f s to refuse", seconds_since(&t0));
		/* the 33rd opening bracket, on line 1 */
		snprintf(want, sizeof(want), "moat.yaml:1:%zu: nesting deeper than 32 levels",
			 13 + 32 * olen);
		if (strncmp(err, want, strlen(want)))
			fail_msg("got '%s', want '%s...'", err, want);
		free(yaml);
	}
}

/* Brackets in comments and quoted scalars are not nesting; 32 levels are fine. */
static void test_nesting_not_counted(void **state)
{
	char yaml[512], err[MOAT_ERR_LEN];
	struct moat_config cfg;
	int n;

	n = sprintf(yaml, "interfaces: [eth0] # %s\n"
		    "ssh: { devops: [{ cidr: 10.0.0.0/8, name: \"%s\" }, "
		    "{ cidr: 10.1.0.0/16, name: '%s' }] }\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		    "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	assert_true(n > 0);
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.ssh.n_devops, 2);
	assert_string_equal(cfg.ssh.devops[0].name, "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{");
	moat_config_free(&cfg);

	/* 32 levels reach the schema (and fail there), 33 do not */
	n = sprintf(yaml, "deny: %.32s%.32s\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	assert_int_equal(parse(yaml, &cfg, err), -EINVAL);
	assert_null(strstr(err, "nesting"));
}

/*
 * Every read() of this program comes through here. Armed with a file, the
 * first read of it rewrites it in place, as a careless save would while
 * moatd reads it.
 */
static ino_t rewrite_ino;
static const char *rewrite_path, *rewrite_text;

ssize_t read(int fd, void *buf, size_t count)
{
	ssize_t n = syscall(SYS_read, fd, buf, count);
	struct stat st;
	int w;

	if (rewrite_ino && n > 0 && !fstat(fd, &st) && st.st_ino == rewrite_ino) {
		rewrite_ino = 0;
		w = open(rewrite_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (w >= 0) {
			if (write(w, rewrite_text, strlen(rewrite_text)) < 0)
				rewrite_path = NULL;	/* the test sees it */
			close(w);
		}
	}
	return n;
}

/*
 * n devops hosts 10.NET.x.y, 32 bytes a line after a 64-byte head, so that
 * the loader's first 16 KiB read ends on a line: a torn read is valid YAML.
 */
static char *devops_file(int net, size_t n)
{
	static const char head[] = "interfaces: [eth0]\nssh:\n  devops:\n"
				   "# saved over while being read\n";
	char *text = malloc(sizeof(head) + n * 32), *p;

	assert_non_null(text);
	_Static_assert(sizeof(head) - 1 == 64, "64-byte head");
	p = text + sprintf(text, "%s", head);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%-31s\n", "");	/* 31 columns, filled below */
	for (size_t i = 0; i < n; i++) {
		char line[40];
		int len = sprintf(line, "    - { cidr: 10.%d.%zu.%zu/32 }", net, i / 256, i % 256);

		memcpy(text + 64 + i * 32, line, (size_t)len);
	}
	return text;
}

static char rewritten_path[] = "/tmp/m8-config.XXXXXX";

/* Runs however the test ends. */
static int remove_rewritten(void **state)
{
	if (strcmp(rewritten_path + 15, "XXXXXX"))
		unlink(rewritten_path);
	return 0;
}

/* Issue 8, item 14: a config rewritten in place while read is refused, not applied torn. */
static void test_rewritten_while_read(void **state)
{
	char *path = rewritten_path, err[MOAT_ERR_LEN];
	char *before = devops_file(0, 600), *after = devops_file(1, 601);
	struct moat_config cfg;
	struct stat st;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, before, strlen(before)), (ssize_t)strlen(before));
	close(fd);
	assert_true(strlen(before) > 16384);

	/* held still: read whole */
	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ssh.n_devops, 600);
	moat_config_free(&cfg);

	/* saved over while read: refused, nothing half old, half new */
	assert_int_equal(stat(path, &st), 0);
	rewrite_path = path;
	rewrite_text = after;
	rewrite_ino = st.st_ino;
	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), -EAGAIN);
	assert_int_equal(rewrite_ino, 0);	/* the save did happen */
	assert_non_null(rewrite_path);
	assert_non_null(strstr(err, ": changed while it was read (rewritten in place?): nothing "
				    "applied; write the new version next to it and rename it over"));
	assert_null(cfg.ssh.devops);

	/* and the saved version loads whole afterwards */
	assert_int_equal(moat_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ssh.n_devops, 601);
	moat_config_free(&cfg);
	free(before);
	free(after);
}

/* The listen forms the README gives are the ones the parser takes. */
static void test_listen_forms(void **state)
{
	static const char *const ok[] = { "127.0.0.1:9477", "[::1]:9477", "0.0.0.0:9477", "[::]:9477" };
	char yaml[128], err[MOAT_ERR_LEN];
	struct moat_config cfg;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(yaml, sizeof(yaml), IFACES "metrics: { listen: \"%s\" }\n", ok[i]);
		parse_ok(yaml, &cfg);
		assert_string_equal(cfg.metrics.listen, ok[i]);
		moat_config_free(&cfg);
	}
	assert_int_equal(parse(IFACES "metrics: { listen: \":9477\" }\n", &cfg, err), -EINVAL);
	assert_string_equal(err, "moat.yaml:2:20: metrics.listen: ':9477': missing host "
				 "(use 0.0.0.0 or [::] for every address)");
}

/* The size limit is checked before a byte is read. */
static void test_size_limit(void **state)
{
	char err[MOAT_ERR_LEN];
	struct moat_config cfg;

	assert_int_equal(moat_config_parse("moat.yaml", IFACES, (256U << 20) + 1, &cfg, err,
					   sizeof(err)), -EFBIG);
	assert_string_equal(err, "moat.yaml: 268435457 bytes, more than the 256 MiB a config may hold");
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_nesting_not_counted),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test_teardown(test_rewritten_while_read, remove_rewritten),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_all_keys_block),
		cmocka_unit_test(test_all_keys_flow),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_scalar_forms),
		cmocka_unit_test(test_interface_limits),
		cmocka_unit_test(test_table_limits),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_error_buffer),
	};
	struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(bad_cases)];
	char names[ARRAY_SIZE(bad_cases)][96];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	/* one TAP line per refused file, named after the case */
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "refuse %s", bad_cases[i].name);
		tests[n++] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_bad,
			.initial_state = (void *)&bad_cases[i],
		};
	}
	return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}

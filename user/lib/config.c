// SPDX-License-Identifier: GPL-2.0
/*
 * moat.yaml (SPEC §3) -> struct moat_config: the schema. Each section of
 * the file is a table below, one row per key naming its parser
 * (config_values.c) and its member; yaml.c walks the tables over the
 * document libyaml built. Every key is known, every value typed, and the
 * first problem is reported as "FILE:LINE:COL: path: cause" at the node
 * that caused it. A new key is a row here, its default in
 * moat_config_defaults() and, for a new kind of value, a parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/config_values.h"

/* Room for ~2M devops hosts; beyond that it is not a config file. */
#define MAX_FILE_SIZE	(256U << 20)

#define KEY(key, fn, member)		YML_KEY(struct moat_config, key, fn, member)
#define LIST(key, fn, member, count)	YML_LIST(struct moat_config, key, fn, member, count)

/* A port may be TLS or SSH, not both: the program keeps one class per port. */
static int check_port_overlap(struct yml *y)
{
	struct cfg_ctx *c = cfg_ctx(y);
	const struct moat_config *cfg = c->cfg;
	size_t i, j;

	for (i = 0; i < cfg->ssh.ports.n; i++) {
		for (j = 0; j < cfg->tls.ports.n; j++) {
			uint16_t p = cfg->ssh.ports.port[i];

			if (p != cfg->tls.ports.port[j])
				continue;
			/* blame a list the file wrote, not a default */
			if (c->ssh_port_node[i]) {
				yml_push(y, "ssh.ports");
				yml_push_index(y, i);
				return yml_fail(y, c->ssh_port_node[i], "port %u is also a TLS port", p);
			}
			yml_push(y, "tls.ports");
			yml_push_index(y, j);
			return yml_fail(y, c->tls_port_node[j], "port %u is also an SSH port", p);
		}
	}
	return 0;
}

static const struct yml_key tls_keys[] = {
	KEY("ports", cfg_tls_ports, tls.ports),
	KEY("validate", yml_bool, tls.validate),
	KEY("min_version", cfg_tls_version, tls.min_version),
	KEY("quic", yml_bool, tls.quic),
};
static const struct yml_section tls = YML_TABLE(tls_keys);

static const struct yml_key devops_keys[] = {
	{ .name = "cidr", .parse = cfg_cidr, .off = offsetof(struct moat_devops, cidr),
	  .required = true },
	YML_KEY(struct moat_devops, "name", cfg_devops_name, name),
	YML_KEY(struct moat_devops, "expires", cfg_expires, expires),
};
const struct yml_section cfg_devops_entry = {
	.keys = devops_keys, .n = ARRAY_SIZE(devops_keys), .check = cfg_devops_default_name,
};

static const struct yml_key ssh_keys[] = {
	KEY("ports", cfg_ssh_ports, ssh.ports),
	KEY("validate", yml_bool, ssh.validate),
	LIST("devops", cfg_devops, ssh.devops, ssh.n_devops),
};
static const struct yml_section ssh = YML_TABLE(ssh_keys);

static const struct yml_key icmp_keys[] = {
	KEY("echo", yml_bool, icmp.echo),
};
static const struct yml_section icmp = YML_TABLE(icmp_keys);

static const struct yml_key outbound_keys[] = {
	KEY("track", yml_bool, outbound.track),
	KEY("max_flows", cfg_max_flows, outbound.max_flows),
};
static const struct yml_section outbound = YML_TABLE(outbound_keys);

static const struct yml_key crs_keys[] = {
	KEY("rules", yml_abspath, inspector.crs_rules),
	KEY("paranoia", cfg_paranoia, inspector.paranoia),
};
static const struct yml_section crs = YML_TABLE(crs_keys);

static const struct yml_key ban_keys[] = {
	KEY("enabled", yml_bool, inspector.ban_enabled),
	KEY("ttl", cfg_duration, inspector.ban_ttl),
	LIST("exempt", cfg_cidr_list, inspector.ban_exempt, inspector.n_ban_exempt),
};
static const struct yml_section ban = YML_TABLE(ban_keys);

static const struct yml_key inspector_keys[] = {
	KEY("enabled", yml_bool, inspector.enabled),
	KEY("library", yml_abspath, inspector.library),
	LIST("processes", cfg_processes, inspector.processes, inspector.n_processes),
	KEY("max_body", cfg_max_body, inspector.max_body),
	YML_SECTION("crs", &crs),
	YML_SECTION("ban", &ban),
	KEY("certificate", yml_optpath, inspector.certificate),
};

/* SPEC §6 inspects the configured processes only: none is a mistake */
static int check_inspector(struct yml *y, const yaml_node_t *map, yaml_node_t *const *v,
			   void *base)
{
	const struct moat_config *cfg = base;

	if (!cfg->inspector.enabled || cfg->inspector.n_processes)
		return 0;
	yml_push(y, "processes");
	return yml_fail(y, yml_lookup(y, map, "processes") ?: map,
			"required when the inspector is enabled");
}
static const struct yml_section inspector = {
	.keys = inspector_keys, .n = ARRAY_SIZE(inspector_keys), .check = check_inspector,
};

static const struct yml_key metrics_keys[] = {
	KEY("listen", cfg_listen, metrics.listen),
};

static const struct yml_section metrics = YML_TABLE(metrics_keys);

static const struct yml_key root_keys[] = {
	{ .name = "interfaces", .parse = cfg_interfaces,
	  .off = offsetof(struct moat_config, interfaces),
	  .len_off = offsetof(struct moat_config, n_interfaces), .required = true },
	KEY("mode", cfg_mode, mode),
	KEY("xdp_mode", cfg_xdp_mode, xdp_mode),
	KEY("pin_dir", yml_abspath, pin_dir),
	KEY("state_dir", yml_abspath, state_dir),
	YML_SECTION("tls", &tls),
	{ .name = "ssh", .section = &ssh, .then = check_port_overlap },
	LIST("deny", cfg_cidr_list, deny, n_deny),
	YML_SECTION("icmp", &icmp),
	LIST("pass_ethertypes", cfg_ethertypes, pass_ethertypes, n_pass_ethertypes),
	YML_SECTION("outbound", &outbound),
	KEY("lockout_guard", yml_bool, lockout_guard),
	YML_SECTION("inspector", &inspector),
	YML_SECTION("metrics", &metrics),
};
static const struct yml_section root = YML_TABLE(root_keys);

static int get_root(struct yml *y, const yaml_node_t *n)
{
	if (!n)		/* an empty file */
		return yml_required(y, NULL, "interfaces");
	if (n->type != YAML_MAPPING_NODE && !yml_is_null(n))
		return yml_fail(y, n, "expected a mapping of settings, got %s", yml_kind(n));
	return yml_walk(y, n, &root, cfg_ctx(y)->cfg);
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

int moat_config_parse(const char *name, const char *buf, size_t len,
		      struct moat_config *cfg, char *err, size_t errlen)
{
	struct cfg_ctx c = {
		.y = { .name = name, .buf = buf, .len = len, .err = err, .errlen = errlen },
		.cfg = cfg,
	};
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
	ret = yml_parse(&c.y, get_root);
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

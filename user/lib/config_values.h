/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to the config loader: the walk's state and the parser of each
 * kind of value (config_values.c) that config.c's tables name.
 */
#ifndef MOAT_CONFIG_VALUES_H
#define MOAT_CONFIG_VALUES_H

#include "lib/config.h"
#include "lib/yaml.h"

struct cfg_ctx {
	struct yml y;
	struct moat_config *cfg;
	/* where each port came from, to place a TLS/SSH overlap error */
	yaml_node_t *tls_port_node[MOAT_MAX_PORTS];
	yaml_node_t *ssh_port_node[MOAT_MAX_PORTS];
};

static inline struct cfg_ctx *cfg_ctx(struct yml *y)
{
	return (struct cfg_ctx *)((char *)y - offsetof(struct cfg_ctx, y));
}

/* The keys of one devops entry (config.c). */
extern const struct yml_section cfg_devops_entry;

/* Each one a yml_fn: (y, node, member, count or NULL). */
int cfg_mode(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_xdp_mode(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_tls_version(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_duration(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_paranoia(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_max_body(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_max_flows(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_listen(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_cidr(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_devops_name(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_expires(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
/* lists */
int cfg_interfaces(struct yml *y, const yaml_node_t *n, void *dst, size_t *count);
int cfg_tls_ports(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_ssh_ports(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);
int cfg_ethertypes(struct yml *y, const yaml_node_t *n, void *dst, size_t *count);
int cfg_cidr_list(struct yml *y, const yaml_node_t *n, void *dst, size_t *count);
int cfg_devops(struct yml *y, const yaml_node_t *n, void *dst, size_t *count);
int cfg_processes(struct yml *y, const yaml_node_t *n, void *dst, size_t *count);
/* cfg_devops_entry's check: an entry without a name is named by its cidr */
int cfg_devops_default_name(struct yml *y, const yaml_node_t *map, yaml_node_t *const *v,
			    void *base);

#endif /* MOAT_CONFIG_VALUES_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A libyaml document walked against a schema of tables (user/lib/yaml.c).
 * A schema is a struct yml_section per mapping: one struct yml_key per key,
 * naming the parser of its value and where in the target struct the value
 * goes (the manner of xdp-tools' DEFINE_OPTION). The walker refuses unknown
 * keys (naming the nearest known one), duplicates and missing required
 * keys, and every refusal is one line "FILE:LINE:COL: path: cause" at the
 * node that caused it.
 */
#ifndef MOAT_YAML_H
#define MOAT_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The state of one walk; a schema's own state may embed it (container_of). */
struct yml {
	const char *name;		/* FILE in messages */
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	char path[256];			/* "ssh.devops[2].cidr" of the node at hand */
	size_t plen;
	char shown[2][80];		/* user text quoted into messages */
	int next_shown;
};

/*
 * A value's parser: n is the value's node, dst the member the key names,
 * len its count for a list (NULL otherwise). 0 or -errno, having reported.
 */
typedef int (*yml_fn)(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);

struct yml_section;

struct yml_key {
	const char *name;
	yml_fn parse;			/* a value; NULL for a nested section */
	const struct yml_section *section;
	size_t off;			/* the member, from the walk's base */
	size_t len_off;			/* its count (lists), or 0 */
	bool required;
	/* runs after this key, present or not: a check across keys */
	int (*then)(struct yml *y);
};

struct yml_section {
	const struct yml_key *keys;
	size_t n;
	/* runs once every key is read; v[] holds each key's value node or NULL */
	int (*check)(struct yml *y, const yaml_node_t *map, yaml_node_t *const *v, void *base);
};

#define YML_MAX_KEYS	16

/*
 * Table rows: KEY(type, "name", parser, member), LIST(... member, count),
 * SECTION("name", &table). The key is spelled once, as YAML writes it.
 */
#define YML_KEY(type, key, fn, member) \
	{ .name = key, .parse = fn, .off = offsetof(type, member) }
#define YML_LIST(type, key, fn, member, count) \
	{ .name = key, .parse = fn, .off = offsetof(type, member), \
	  .len_off = offsetof(type, count) }
#define YML_SECTION(key, sect)	{ .name = key, .section = sect }
#define YML_TABLE(rows)		{ .keys = rows, .n = ARRAY_SIZE(rows) }

/*
 * Parses buf (refusing flow nesting too deep for libyaml and a second
 * document) and calls root with the root node (NULL for an empty file).
 * 0 or -errno, with err written.
 */
int yml_parse(struct yml *y, int (*root)(struct yml *y, const yaml_node_t *n));

/* Walks a mapping (null is an empty one) against s, members from base. */
int yml_walk(struct yml *y, const yaml_node_t *map, const struct yml_section *s, void *base);

/* Reports at node n (NULL: start of file), prefixed with the path; -EINVAL. */
__attribute__((format(printf, 3, 4)))
int yml_fail(struct yml *y, const yaml_node_t *n, const char *fmt, ...);
/* "expected WANT, got a list"; -EINVAL. */
int yml_type_error(struct yml *y, const yaml_node_t *n, const char *want);
/* Reports a missing required key at the mapping that lacks it. */
int yml_required(struct yml *y, const yaml_node_t *map, const char *key);
/* User text for a message: bounded, control characters masked. */
const char *yml_show(struct yml *y, const char *s);
/* "a list", "a mapping", "nothing", "a scalar", "a quoted string". */
const char *yml_kind(const yaml_node_t *n);

/* Path of the node at hand: push a key or an index, pop to what push returned. */
size_t yml_push(struct yml *y, const char *key);
size_t yml_push_index(struct yml *y, size_t i);
void yml_pop(struct yml *y, size_t old);

yaml_node_t *yml_item(struct yml *y, const yaml_node_t *seq, size_t i);
/* The value of key in a mapping, or NULL. */
yaml_node_t *yml_lookup(struct yml *y, const yaml_node_t *map, const char *key);
static inline const char *yml_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}
/* ~, null and the empty plain scalar: "key:" with nothing after it. */
bool yml_is_null(const yaml_node_t *n);

/* A non-null scalar's text, or NULL after reporting "expected WANT". */
const char *yml_scalar(struct yml *y, const yaml_node_t *n, const char *want);
/* The same, plain only: numbers and booleans in quotes are strings. */
const char *yml_plain(struct yml *y, const yaml_node_t *n, const char *want);
/* A list's length into *len; null ("deny:" alone) is an empty list. */
int yml_sequence(struct yml *y, const yaml_node_t *n, size_t *len);

/* Typed scalars. */
int yml_bool(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);	/* bool */
/* A plain decimal in min..max; label names it in the range error. */
int yml_uint(struct yml *y, const yaml_node_t *n, const char *want, const char *label,
	     uint64_t min, uint64_t max, uint64_t *out);
/* One of names[] (a keyword): its index, or -EINVAL after "expected WANT". */
int yml_choice(struct yml *y, const yaml_node_t *n, const char *want,
	       const char *const *names, size_t n_names);
int yml_string(struct yml *y, const yaml_node_t *n, char *dst, size_t size);
int yml_abspath(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);	/* char[PATH_MAX] */
/* An absolute path, or null for none (""). */
int yml_optpath(struct yml *y, const yaml_node_t *n, void *dst, size_t *len);

#endif /* MOAT_YAML_H */

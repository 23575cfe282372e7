// SPDX-License-Identifier: GPL-2.0
/*
 * A libyaml document walked against tables of keys (yaml.h): the generic
 * half of the config loader. Nothing here knows moat.yaml; config.c holds
 * the schema.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/parse.h"
#include "lib/yaml.h"

/*
 * Flow collections ([ { ) nested deeper than this are refused before
 * libyaml sees them: its scanner is quadratic in that depth (200k levels,
 * 400 KB, took it 68 s). The schema needs 3.
 */
#define MAX_FLOW_DEPTH	32

static void vreport(struct yml *y, size_t line, size_t col, const char *fmt, va_list ap)
{
	int n;

	if (!y->err || !y->errlen)
		return;
	n = snprintf(y->err, y->errlen, "%s:%zu:%zu: ", y->name, line, col);
	if (n >= 0 && (size_t)n < y->errlen && y->plen)
		n += snprintf(y->err + n, y->errlen - n, "%s: ", y->path);
	if (n >= 0 && (size_t)n < y->errlen)
		vsnprintf(y->err + n, y->errlen - n, fmt, ap);
}

int yml_fail(struct yml *y, const yaml_node_t *n, const char *fmt, ...)
	     {
	     va_list ap;

	va_start(ap, fmt);
	vreport(y, n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* User text for a message: bounded, control characters masked. */
const char *yml_show(struct yml *y, const char *s)
{
	char *out = y->shown[y->next_shown];
	size_t i, max = sizeof(y->shown[0]) - 4;

	y->next_shown = !y->next_shown;
	for (i = 0; s[i] && i < max; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + i, s[i] ? "..." : "");
	return out;
}

size_t yml_push(struct yml *y, const char *key)
{
	size_t old = y->plen;
	int n = snprintf(y->path + old, sizeof(y->path) - old, "%s%s", old ? "." : "", key);

	if (n > 0)
		y->plen = old + (size_t)n < sizeof(y->path) ? old + (size_t)n : sizeof(y->path) - 1;
	return old;
}

size_t yml_push_index(struct yml *y, size_t i)
{
	size_t old = y->plen;
	int n = snprintf(y->path + old, sizeof(y->path) - old, "[%zu]", i);

	if (n > 0)
		y->plen = old + (size_t)n < sizeof(y->path) ? old + (size_t)n : sizeof(y->path) - 1;
	return old;
}

void yml_pop(struct yml *y, size_t old)
{
	y->plen = old;
	y->path[old] = '\0';
}

static yaml_node_t *node(struct yml *y, yaml_node_item_t i)
{
	return yaml_document_get_node(y->doc, i);
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *yml_item(struct yml *y, const yaml_node_t *n, size_t i)
{
	return node(y, n->data.sequence.items.start[i]);
}

/* ~, null and the empty plain scalar: "key:" with nothing after it. */
bool yml_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(yml_text(n), nulls[i]))
			return true;
	return false;
}

const char *yml_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		if (yml_is_null(n))
			return "nothing";
		return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ?
		       "a scalar" : "a quoted string";
	}
}

int yml_type_error(struct yml *y, const yaml_node_t *n, const char *want)
		   {
		   return yml_fail(y, n, "expected %s, got %s", want, yml_kind(n));
}

/* A non-null scalar's text, or NULL after reporting. */
const char *yml_scalar(struct yml *y, const yaml_node_t *n, const char *want)
{
	if (n->type != YAML_SCALAR_NODE || yml_is_null(n)) {
		yml_type_error(y, n, want);
		return NULL;
	}
	if (strlen(yml_text(n)) != n->data.scalar.length) {
		yml_fail(y, n, "contains a NUL character");
		return NULL;
	}
	return yml_text(n);
}

/* Numbers and booleans must be plain: "443" in quotes is a string. */
const char *yml_plain(struct yml *y, const yaml_node_t *n, const char *want)
{
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		yml_type_error(y, n, want);
		return NULL;
	}
	return yml_scalar(y, n, want);
}

/* A list's length into *len; null ("deny:" alone) is an empty list. */
int yml_sequence(struct yml *y, const yaml_node_t *n, size_t *len)
{
	*len = 0;
	if (yml_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return yml_type_error(y, n, "a list");
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
static int mapping(struct yml *y, const yaml_node_t *map, const struct yml_key *keys,
		   size_t nkeys, yaml_node_t **vals)
{
	yaml_node_pair_t *pair;
	size_t i;

	for (i = 0; i < nkeys; i++)
		vals[i] = NULL;
	if (yml_is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return yml_type_error(y, map, "a mapping");

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(y, pair->key);
		const char *best = NULL;
		unsigned int best_d = 3;

		if (k->type != YAML_SCALAR_NODE)
			return yml_fail(y, k, "a key must be a name, got %s", yml_kind(k));
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i].name) == k->data.scalar.length &&
			    !strcmp(yml_text(k), keys[i].name))
				break;
		if (i < nkeys) {
			if (vals[i])
				return yml_fail(y, k, "duplicate key '%s'", keys[i].name);
			vals[i] = node(y, pair->value);
			continue;
		}
		/* a typo is the likeliest unknown key: name the nearest real one */
		for (i = 0; i < nkeys; i++) {
			unsigned int d = edit_distance(yml_text(k), keys[i].name);

			if (d < best_d) {
				best_d = d;
				best = keys[i].name;
			}
		}
		if (best)
			return yml_fail(y, k, "unknown key '%s' (did you mean '%s'?)",
					yml_show(y, yml_text(k)), best);
		return yml_fail(y, k, "unknown key '%s'", yml_show(y, yml_text(k)));
	}
	return 0;
}

int yml_required(struct yml *y, const yaml_node_t *map, const char *key)
{
	yml_push(y, key);
	return yml_fail(y, map, "required");
}

yaml_node_t *yml_lookup(struct yml *y, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node(y, pair->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(yml_text(k), key))
			return node(y, pair->value);
	}
	return NULL;
}

/* One key's value (nothing when absent), with the key appended to the path. */
static int field(struct yml *y, const struct yml_key *k, const yaml_node_t *n, void *base)
{
	size_t old;
	int err;

	if (!n)
		return 0;
	old = yml_push(y, k->name);
	if (k->section)
		err = yml_walk(y, n, k->section, base);
	else
		err = k->parse(y, n, (char *)base + k->off,
			       k->len_off ? (size_t *)((char *)base + k->len_off) : NULL);
	if (!err)
		yml_pop(y, old);
	return err;
}

int yml_walk(struct yml *y, const yaml_node_t *map, const struct yml_section *s, void *base)
{
	yaml_node_t *v[YML_MAX_KEYS];
	size_t i;
	int err;

	if (s->n > YML_MAX_KEYS)
		return -E2BIG;	/* a schema bug, not the file's */
	err = mapping(y, map, s->keys, s->n, v);
	if (err)
		return err;
	for (i = 0; i < s->n; i++)
		if (s->keys[i].required && !v[i])
			return yml_required(y, map, s->keys[i].name);
	/* in table order, so the first problem reported is the same each time */
	for (i = 0; i < s->n; i++) {
		err = field(y, &s->keys[i], v[i], base);
		if (!err && s->keys[i].then)
			err = s->keys[i].then(y);
		if (err)
			return err;
	}
	return s->check ? s->check(y, map, v, base) : 0;
}

/* ---- typed scalars ---- */

int yml_bool(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	/* the YAML 1.2 core schema; 1.1's yes/no/on/off are too easy to misread */
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	const char *s = yml_plain(y, n, "true or false");
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*(bool *)dst = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return yml_fail(y, n, "expected true or false, got '%s'", yml_show(y, s));
}

int yml_uint(struct yml *y, const yaml_node_t *n, const char *want, const char *label,
	     uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = yml_plain(y, n, want);
	uint64_t v;
	int err;

	if (!s)
		return -EINVAL;
	err = moat_parse_uint(s, UINT64_MAX, &v);
	if (err == -EINVAL)
		return yml_fail(y, n, "expected %s, got '%s'", want, yml_show(y, s));
	if (err || v < min || v > max)
		return yml_fail(y, n, "%s%s%s out of range %llu..%llu", label ? label : "",
				label ? " " : "", yml_show(y, s), (unsigned long long)min,
				(unsigned long long)max);
	*out = v;
	return 0;
}

int yml_choice(struct yml *y, const yaml_node_t *n, const char *want,
	       const char *const *names, size_t n_names)
{
	const char *s = yml_scalar(y, n, want);

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n_names; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return yml_fail(y, n, "expected %s, got '%s'", want, yml_show(y, s));
}

int yml_string(struct yml *y, const yaml_node_t *n, char *dst, size_t size)
{
	const char *s = yml_scalar(y, n, "a string");

	if (!s)
		return -EINVAL;
	if (strlen(s) >= size)
		return yml_fail(y, n, "'%s' is longer than %zu characters", yml_show(y, s),
				size - 1);
	strcpy(dst, s);
	return 0;
}

int yml_abspath(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	const char *s = yml_scalar(y, n, "an absolute path");

	if (!s)
		return -EINVAL;
	if (s[0] != '/')
		return yml_fail(y, n, "'%s' is not an absolute path", yml_show(y, s));
	return yml_string(y, n, dst, PATH_MAX);
}

int yml_optpath(struct yml *y, const yaml_node_t *n, void *dst, size_t *len)
{
	if (yml_is_null(n)) {
		*(char *)dst = '\0';
		return 0;
	}
	return yml_abspath(y, n, dst, len);
}

/* ---- the document ---- */

static int report_yaml_error(struct yml *y, const yaml_parser_t *p)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		if (y->err && y->errlen)
			snprintf(y->err, y->errlen, "%s: out of memory", y->name);
		return -ENOMEM;
	}
	y->plen = 0;
	if (p->error == YAML_READER_ERROR) {
		/* the reader knows a byte offset only; count columns as libyaml does, in characters */
		size_t i, off = p->problem_offset < y->len ? p->problem_offset : y->len;

		line = 1;
		col = 1;
		for (i = 0; i < off; i++) {
			if (y->buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)y->buf[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (y->err && y->errlen)
			snprintf(y->err, y->errlen, "%s:%zu:%zu: invalid text: %s", y->name,
				 line, col, problem);
		return -EINVAL;
	}
	if (y->err && y->errlen) {
		if (p->context)
			snprintf(y->err, y->errlen, "%s:%zu:%zu: syntax error: %s (%s at %zu:%zu)",
				 y->name, line, col, problem, p->context,
				 p->context_mark.line + 1, p->context_mark.column + 1);
		else
			snprintf(y->err, y->errlen, "%s:%zu:%zu: syntax error: %s", y->name,
				 line, col, problem);
	}
	return -EINVAL;
}

/*
 * Counts flow nesting over the raw text, skipping comments and quoted
 * scalars, and refuses what is too deep at the bracket that goes too far.
 * A bracket inside a plain scalar ("a[1]") counts too: an overestimate
 * only ever refuses text no moat.yaml holds.
 */
static int check_depth(struct yml *y)
{
	size_t line = 1, col = 0, depth = 0;
	char quote = 0, prev = '\n';

	for (size_t i = 0; i < y->len; i++) {
		char ch = y->buf[i];

		col++;
		if (ch == '\n') {
			line++;
			col = 0;
		}
		if (quote) {
			if (quote == '"' && ch == '\\' && i + 1 < y->len)
				i++, col++;	/* an escaped character, maybe a quote */
			else if (ch == quote)
				quote = 0;	/* '' inside '...' closes and reopens: same count */
		} else if (ch == '#' && strchr(" \t\n", prev)) {
			while (i + 1 < y->len && y->buf[i + 1] != '\n')
				i++;
		} else if ((ch == '"' || ch == '\'') && strchr(" \t\n[{,:", prev)) {
			quote = ch;
		} else if (ch == '[' || ch == '{') {
			if (++depth > MAX_FLOW_DEPTH) {
				if (y->err && y->errlen)
					snprintf(y->err, y->errlen, "%s:%zu:%zu: nesting deeper than %d levels "
						 "of [ ] and { }", y->name, line, col, MAX_FLOW_DEPTH);
				return -EINVAL;
			}
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
		prev = ch ? ch : ' ';
	}
	return 0;
}

int yml_parse(struct yml *y, int (*root)(struct yml *y, const yaml_node_t *n))
{
	yaml_document_t doc, extra;
	yaml_parser_t parser;
	int ret;

	if (check_depth(y))
		return -EINVAL;
	if (!yaml_parser_initialize(&parser)) {
		if (y->err && y->errlen)
			snprintf(y->err, y->errlen, "%s: out of memory", y->name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)y->buf, y->len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = report_yaml_error(y, &parser);
		goto out_parser;
	}
	/* the rest of the stream must be valid too, and hold no second document */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = report_yaml_error(y, &parser);
		goto out_doc;
	}
	if (yaml_document_get_root_node(&extra)) {
		y->doc = &extra;
		ret = yml_fail(y, yaml_document_get_root_node(&extra),
			       "a second YAML document; the file must hold one");
		yaml_document_delete(&extra);
		goto out_doc;
	}
	yaml_document_delete(&extra);

	y->doc = &doc;
	ret = root(y, yaml_document_get_root_node(&doc));
	if (ret == -ENOMEM && y->err && y->errlen)
		snprintf(y->err, y->errlen, "%s: out of memory", y->name);
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	return ret;
}

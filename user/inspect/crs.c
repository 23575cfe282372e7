// SPDX-License-Identifier: GPL-2.0
/* CRS evaluation of one request (see crs.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <modsecurity/intervention.h>
#include "crs.h"

/* user/inspect/crs-base.conf and crs-tuning.conf, shipped inside the
 * binary (NUL-terminated). */
__asm__(".section .rodata\n"
	".global moat_crs_base\n"
	"moat_crs_base:\n"
	".incbin \"user/inspect/crs-base.conf\"\n"
	".byte 0\n"
	".global moat_crs_tuning\n"
	"moat_crs_tuning:\n"
	".incbin \"user/inspect/crs-tuning.conf\"\n"
	".byte 0\n"
	".previous\n");
extern const char moat_crs_base[], moat_crs_tuning[];

/* The rule files SPEC §6 scopes the inspector to, in load order. */
static const char *const scoped[] = { "901", "932", "933", "934", "941", "949" };

struct crs {
	ModSecurity *ms;
	RulesSet *rules;
};

/* Rule ids out of a match message; the message itself (it quotes the
 * matched data, that is request bytes) goes nowhere else. */
static void on_match(void *data, const void *msg)
{
	struct moat_insp_verdict *v = data;
	const char *p = msg;

	if (!v || !p)
		return;
	while ((p = strstr(p, "[id \""))) {
		unsigned long id = strtoul(p + 5, NULL, 10);

		p += 5;
		if (id && v->n_rules < MOAT_INSP_MAX_RULES)
			v->rules[v->n_rules++] = id;
	}
}

static int add_file(struct crs *c, const char *dir, const char *num, char *err, size_t errlen)
{
	char prefix[32], path[4096];
	const char *error = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = -1;

	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "REQUEST-%s-", num);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len < 5 ||
		    strcmp(de->d_name + len - 5, ".conf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = msc_rules_add_file(c->rules, path, &error);
		if (n < 0)
			snprintf(err, errlen, "%s: %s", path, error ? error : "refused");
		break;
	}
	closedir(d);
	free((void *)error);
	if (n < 0 && !error && !de)
		snprintf(err, errlen, "%s: no %s*.conf", dir, prefix);
	return n < 0 ? -1 : 0;
}

struct crs *crs_load(const char *rules_dir, int paranoia, char *err, size_t errlen)
{
	struct crs *c = calloc(1, sizeof(*c));
	const char *error = NULL;
	char pl[256];

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ms = msc_init();
	c->rules = msc_create_rules_set();
	msc_set_connector_info(c->ms, "moat-inspect");
	msc_set_log_cb(c->ms, on_match);
	if (msc_rules_add(c->rules, moat_crs_base, &error) < 0) {
		snprintf(err, errlen, "base configuration: %s", error ? error : "refused");
		goto fail;
	}
	if (msc_rules_add(c->rules, moat_crs_tuning, &error) < 0) {
		snprintf(err, errlen, "tuning: %s", error ? error : "refused");
		goto fail;
	}
	snprintf(pl, sizeof(pl), "SecAction \"id:900000,phase:1,nolog,pass,t:none,"
		 "setvar:tx.paranoia_level=%d\"", paranoia);
	if (msc_rules_add(c->rules, pl, &error) < 0) {
		snprintf(err, errlen, "paranoia: %s", error ? error : "refused");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(scoped) / sizeof(scoped[0]); i++)
		if (add_file(c, rules_dir, scoped[i], err, errlen))
			goto fail;
	return c;
fail:
	free((void *)error);
	crs_free(c);
	return NULL;
}

static enum moat_insp_category category_of(__u32 id)
{
	switch (id / 1000) {
	case 941: return MOAT_INSP_XSS;
	case 932: return MOAT_INSP_RCE;
	case 933: return MOAT_INSP_PHP;
	case 934: return MOAT_INSP_NODEJS;
	default: return MOAT_INSP_OTHER;
	}
}

/*
 * The category most matched rules belong to (949's verdict is none). On a
 * tie the narrower class wins: Node.js and PHP payloads also set off the
 * generic function-call and shell rules, the reverse is rare.
 */
static enum moat_insp_category category(const struct moat_insp_verdict *v)
{
	static const enum moat_insp_category by_priority[] = {
		MOAT_INSP_NODEJS, MOAT_INSP_PHP, MOAT_INSP_XSS, MOAT_INSP_RCE,
	};
	unsigned int n[MOAT_INSP_N_CATEGORIES] = {}, best = MOAT_INSP_OTHER;

	for (__u32 i = 0; i < v->n_rules; i++)
		if (v->rules[i] / 1000 != 949 && v->rules[i] / 1000 != 901)
			n[category_of(v->rules[i])]++;
	for (unsigned int i = 0; i < sizeof(by_priority) / sizeof(by_priority[0]); i++) {
		enum moat_insp_category k = by_priority[i];

		if (n[k] > n[best] || (best == MOAT_INSP_OTHER && n[k]))
			best = k;
	}
	return best;
}

void crs_describe(const struct h1_request *r, struct moat_insp_verdict *v)
{
	size_t plen;

	snprintf(v->method, sizeof(v->method), "%s", r->method);
	plen = strcspn(r->url, "?#");
	if (plen >= sizeof(v->path))
		plen = sizeof(v->path) - 1;
	memcpy(v->path, r->url, plen);
	v->path[plen] = '\0';
}

int crs_eval(struct crs *c, const struct h1_request *r, const char *client, int port,
	     struct moat_insp_verdict *v)
{
	ModSecurityIntervention it = { .status = 200 };
	const char *h = r->headers;
	Transaction *t;

	crs_describe(r, v);
	v->n_rules = 0;

	t = msc_new_transaction(c->ms, c->rules, v);
	if (!t) {
		v->result = MOAT_INSP_UNPARSED;
		return -1;
	}
	msc_process_connection(t, client, port, "0.0.0.0", 443);
	/* "1.1", not "HTTP/1.1": the latter makes every request match 920430. */
	msc_process_uri(t, r->url, r->method, "1.1");
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *name = h, *value = h + strlen(h) + 1;

		msc_add_n_request_header(t, (const unsigned char *)name, strlen(name),
					 (const unsigned char *)value, strlen(value));
		h = value + strlen(value) + 1;
	}
	msc_process_request_headers(t);
	if (r->body_len)
		msc_append_request_body(t, (const unsigned char *)r->body, r->body_len);
	/* Always, even without a body: the blocking evaluation runs here. */
	msc_process_request_body(t);
	msc_intervention(t, &it);
	free(it.url);
	free(it.log);
	msc_transaction_cleanup(t);

	if (it.disruptive) {
		v->result = MOAT_INSP_DETECTED;
		v->category = category(v);
	} else {
		v->result = r->truncated ? MOAT_INSP_TRUNCATED : MOAT_INSP_CLEAN;
	}
	return 0;
}

void crs_free(struct crs *c)
{
	if (!c)
		return;
	if (c->rules)
		msc_rules_cleanup(c->rules);
	if (c->ms)
		msc_cleanup(c->ms);
	free(c);
}

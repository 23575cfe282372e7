/* SPDX-License-Identifier: GPL-2.0 */
/* libmodsecurity 3 with the OWASP CRS, scoped as SPEC §6 says. */
#ifndef MOAT_CRS_H
#define MOAT_CRS_H

#include <stddef.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "moat/inspect.h"
#include "http1.h"

struct crs;

/*
 * Loads the shipped base configuration, the paranoia level, then the scoped
 * rule files from rules_dir one by one. NULL on error, with err saying which
 * file and why.
 */
struct crs *crs_load(const char *rules_dir, int paranoia, char *err, size_t errlen);
/*
 * Evaluates one request from client; fills v's result (clean or detected),
 * category, rules, method and path (query cut off). 0, or -1 when
 * libmodsecurity failed (v->result unparsed). One struct crs may be used
 * by several threads at once: each call is its own transaction.
 */
int crs_eval(struct crs *c, const struct h1_request *r, const char *client, int port,
	     struct moat_insp_verdict *v);
/* Fills v's method and path (query cut off) from r, as crs_eval does. */
void crs_describe(const struct h1_request *r, struct moat_insp_verdict *v);
void crs_free(struct crs *c);

#endif /* MOAT_CRS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cheap, sound pre-filter: a request none of the scoped CRS rules
 * (SPEC §6: 901, 932, 933, 934, 941, 949 at paranoia 1) could match is clean
 * without running them. The argument is in prefilter.c, rule by rule; at a
 * paranoia above 1 it is not made and every request goes to the CRS.
 */
#ifndef MOAT_PREFILTER_H
#define MOAT_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "http1.h"

struct prefilter;

/* Reads the keyword list 933150 matches REQUEST_FILENAME with from rules_dir. */
struct prefilter *prefilter_load(const char *rules_dir, int paranoia, char *err, size_t errlen);
/* true: no scoped rule can match r, it is clean; false: it goes to the CRS. */
bool prefilter_plain(const struct prefilter *pf, const struct h1_request *r);
void prefilter_free(struct prefilter *pf);

#endif /* MOAT_PREFILTER_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* One-line diagnostics on stderr, prefixed with the program's name. */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <stdbool.h>

extern const char *moat_prog;
extern bool moat_verbose;

void moat_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void moat_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void moat_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MOAT_LOG_H */

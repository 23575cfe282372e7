/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runtime entries (devops added by moatctl, bans by moatctl or the
 * inspector) kept in state_dir/runtime.json so they survive reboots, when
 * pins are gone. Pinned maps are the truth while the host is up; the file is
 * rewritten from them after each change.
 */
#ifndef MOAT_STATE_H
#define MOAT_STATE_H

#include "pins.h"

#define MOAT_STATE_FILE "runtime.json"

/* Writes every non-config entry of devops and ban atomically (tmp + rename). */
int moat_state_save(const char *state_dir, struct moat_table devops, struct moat_table ban);
/* Loads unexpired entries from the file into the tables; a missing file is
 * not an error. err gets a message naming the file on failure. */
int moat_state_load(const char *state_dir, struct moat_table devops, struct moat_table ban,
		    char *err, size_t errlen);

#endif /* MOAT_STATE_H */

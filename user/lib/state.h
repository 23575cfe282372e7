/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runtime entries (devops added by moatctl, bans by moatctl or the
 * inspector) kept in state_dir/runtime.json so they survive reboots, when
 * pins are gone. Pinned maps are the truth while the host is up; the file is
 * rewritten from them after each change.
 */
#ifndef MOAT_STATE_H
#define MOAT_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "config.h"
#include "pins.h"

#define MOAT_STATE_FILE "runtime.json"
/* Far above 2M hosts plus 16k networks in both tables (~110 bytes each). */
#define MOAT_STATE_MAX_SIZE (512U << 20)

enum moat_state_list { MOAT_STATE_DEVOPS, MOAT_STATE_BAN };

/* One well-formed entry of the file. */
struct moat_state_entry {
	enum moat_state_list list;
	struct moat_cidr cidr;
	char name[MOAT_NAME_LEN];
	uint32_t origin;		/* MOAT_ORIGIN_RUNTIME or MOAT_ORIGIN_INSPECTOR */
	time_t expires;			/* unix seconds, 0..MOAT_TIME_MAX; 0 = never */
};

struct moat_state_sink {
	/* Each well-formed entry, in file order; non-zero stops the parse. */
	int (*entry)(void *ctx, const struct moat_state_entry *e);
	/* One line per thing refused: "FILE: devops[3].cidr: ...; entry skipped". */
	void (*problem)(void *ctx, const char *msg);
	void *ctx;
};

/*
 * Reads the text of a runtime.json; name is FILE in messages. Never trusts
 * the text: a file that is not a version-1 object is refused whole, a list
 * or an entry of the wrong shape is refused alone and the rest is read.
 * Returns how many things were refused (0: the file is clean), or the
 * entry callback's non-zero return.
 */
int moat_state_parse(const char *name, const char *buf, size_t len,
		     const struct moat_state_sink *sink);

/* Writes every non-config entry of devops and ban atomically (tmp + rename). */
int moat_state_save(const char *state_dir, struct moat_table devops, struct moat_table ban);
/* Writes text as state_dir/runtime.json: mode 0600 whatever the umask, tmp + rename. */
int moat_state_write(const char *state_dir, const char *text);

/*
 * After a reboot (no pins): puts the unexpired entries of runtime.json into
 * the tables, logging what it restores and every entry it refuses. A file
 * with anything refused or not restored is set aside as
 * runtime.json.bad-<unix time> and rewritten from the tables, so the next
 * save cannot erase what it held.
 * Nothing here stops moatd: the config's policy is loaded regardless.
 * Returns how many entries were refused or could not be restored.
 */
int moat_state_restore(const char *state_dir, struct moat_table devops, struct moat_table ban);

#endif /* MOAT_STATE_H */

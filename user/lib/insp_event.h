/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MOAT_LIB_INSP_EVENT_H
#define MOAT_LIB_INSP_EVENT_H

#include <stddef.h>
#include <json-c/json.h>
#include <linux/types.h>
#include "moat/shared.h"
#include "moat/inspect.h"

/* "198.18.1.2" or "2001:db8::1": the client of a detection. */
void moat_insp_client_text(const struct moat_addr *a, char *buf, size_t len);

/*
 * A detection as one JSON object, the same for moatd's log line and
 * moatctl events: event, time, client, method, path, rules, category,
 * action. The caller puts it.
 */
json_object *moat_insp_event_json(const struct moat_insp_event *e);

#endif /* MOAT_LIB_INSP_EVENT_H */

// SPDX-License-Identifier: GPL-2.0
/* One text for a detection, shared by moatd's log and moatctl events. */
#include <string.h>
#include <arpa/inet.h>
#include "lib/insp_event.h"
#include "lib/table.h"

#define INSP_NAME(e, name) [e] = name,
static const char *const category_names[] = { MOAT_INSP_CATEGORIES(INSP_NAME) };
#undef INSP_NAME

void moat_insp_client_text(const struct moat_addr *a, char *buf, size_t len)
{
	struct in6_addr in;

	memcpy(&in, a, sizeof(in));
	if (IN6_IS_ADDR_V4MAPPED(&in))
		inet_ntop(AF_INET, &in.s6_addr[12], buf, len);
	else
		inet_ntop(AF_INET6, &in, buf, len);
}

/* A fixed-size field of the record as a string, whatever its bytes. */
static json_object *field(const char *s, size_t size)
{
	return json_object_new_string_len(s, strnlen(s, size));
}

json_object *moat_insp_event_json(const struct moat_insp_event *e)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char when[32], client[64];

	moat_format_time(e->time, when, sizeof(when));
	moat_insp_client_text(&e->client, client, sizeof(client));
	for (__u32 i = 0; i < e->n_rules && i < MOAT_INSP_MAX_RULES; i++)
		json_object_array_add(ids, json_object_new_int64(e->rules[i]));
	json_object_object_add(o, "event", json_object_new_string("detection"));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "client", json_object_new_string(client));
	json_object_object_add(o, "method", field(e->method, sizeof(e->method)));
	json_object_object_add(o, "path", field(e->path, sizeof(e->path)));
	json_object_object_add(o, "rules", ids);
	json_object_object_add(o, "category", json_object_new_string(
		e->category < MOAT_INSP_N_CATEGORIES ? category_names[e->category] : "other"));
	json_object_object_add(o, "action", field(e->action, sizeof(e->action)));
	return o;
}

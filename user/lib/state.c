// SPDX-License-Identifier: GPL-2.0
/* runtime.json: runtime allowlist entries and bans across reboots. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "state.h"
#include "table.h"

static int dump_entry(const struct moat_cidr *c, const struct moat_entry *e, void *ctx)
{
	json_object *arr = ctx, *o;
	char buf[64];

	if (e->origin == MOAT_ORIGIN_CONFIG)
		return 0;
	if (e->expires_ns && moat_unix_from_boot_ns(e->expires_ns) <= time(NULL))
		return 0;
	o = json_object_new_object();
	moat_format_cidr(c, buf, sizeof(buf));
	json_object_object_add(o, "cidr", json_object_new_string(buf));
	json_object_object_add(o, "name", json_object_new_string_len(e->name, strnlen(e->name, sizeof(e->name))));
	json_object_object_add(o, "origin", json_object_new_string(moat_origin_name(e->origin)));
	json_object_object_add(o, "expires", json_object_new_int64(moat_unix_from_boot_ns(e->expires_ns)));
	json_object_array_add(arr, o);
	return 0;
}

int moat_state_save(const char *state_dir, struct moat_table devops, struct moat_table ban)
{
	json_object *root = json_object_new_object();
	json_object *d = json_object_new_array(), *b = json_object_new_array();
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int err = 0;
	FILE *f;

	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "devops", d);
	json_object_object_add(root, "ban", b);
	if ((err = moat_table_foreach(devops, dump_entry, d)) ||
	    (err = moat_table_foreach(ban, dump_entry, b)))
		goto out;

	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, MOAT_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		err = -errno;
		goto out;
	}
	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY), f);
	fputc('\n', f);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	json_object_put(root);
	return err;
}

static int load_list(json_object *arr, struct moat_table t, const char *path,
		     char *err, size_t errlen)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		struct moat_entry e = { .origin = MOAT_ORIGIN_RUNTIME };
		struct moat_cidr c;
		time_t expires = 0;
		int ret;

		if (!json_object_object_get_ex(o, "cidr", &v) ||
		    moat_parse_cidr(json_object_get_string(v), &c)) {
			snprintf(err, errlen, "%s: entry %zu: bad or missing cidr", path, i);
			return -EINVAL;
		}
		if (json_object_object_get_ex(o, "name", &v))
			snprintf(e.name, sizeof(e.name), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(o, "origin", &v) &&
		    !strcmp(json_object_get_string(v), "inspector"))
			e.origin = MOAT_ORIGIN_INSPECTOR;
		if (json_object_object_get_ex(o, "expires", &v))
			expires = json_object_get_int64(v);
		if (expires && expires <= now)
			continue;
		e.expires_ns = moat_boot_ns_from_unix(expires);
		ret = moat_table_put(t, &c, &e);
		if (ret) {
			snprintf(err, errlen, "%s: entry %zu: %s", path, i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int moat_state_load(const char *state_dir, struct moat_table devops, struct moat_table ban,
		    char *err, size_t errlen)
{
	json_object *root, *d = NULL, *b = NULL;
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", state_dir, MOAT_STATE_FILE);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	root = json_object_from_file(path);
	if (!root) {
		snprintf(err, errlen, "%s: unreadable: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	json_object_object_get_ex(root, "devops", &d);
	json_object_object_get_ex(root, "ban", &b);
	ret = load_list(d, devops, path, err, errlen);
	if (!ret)
		ret = load_list(b, ban, path, err, errlen);
	json_object_put(root);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/* runtime.json: runtime allowlist entries and bans across reboots. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "log.h"
#include "state.h"
#include "table.h"

#define STATE_VERSION	1
/* root -> list -> entry -> value: anything deeper is not ours. */
#define STATE_DEPTH	4

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

int moat_state_write(const char *state_dir, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len = strlen(text);
	int fd, err = 0;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", state_dir, MOAT_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* The umask may have taken bits away, and a stale tmp may have others. */
	if (fchmod(fd, 0600))
		err = -errno;
	for (size_t off = 0; !err && off < len;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		else
			off += (size_t)n;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int moat_state_save(const char *state_dir, struct moat_table devops, struct moat_table ban)
{
	json_object *root = json_object_new_object();
	json_object *d = json_object_new_array(), *b = json_object_new_array();
	char *text = NULL;
	int err;

	json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(root, "devops", d);
	json_object_object_add(root, "ban", b);
	if ((err = moat_table_foreach(devops, dump_entry, d)) ||
	    (err = moat_table_foreach(ban, dump_entry, b)))
		goto out;
	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY)) < 0) {
		text = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = moat_state_write(state_dir, text);
out:
	free(text);
	json_object_put(root);
	return err;
}

/* ---- reading: every value is checked before it is used ---- */

struct reader {
	const char *name;
	const struct moat_state_sink *sink;
	int problems;
	char shown[80];
};

__attribute__((format(printf, 2, 3)))
static void problem(struct reader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	r->problems++;
	n = snprintf(msg, sizeof(msg), "%s: ", r->name);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (r->sink->problem)
		r->sink->problem(r->sink->ctx, msg);
}

/* File text for a message: bounded, control characters masked. */
static const char *show(struct reader *r, const char *s)
{
	size_t i, max = sizeof(r->shown) - 4;

	for (i = 0; s[i] && i < max; i++)
		r->shown[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(r->shown + i, s[i] ? "..." : "");
	return r->shown;
}

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* A string member without NUL inside, or NULL (absent: *present false). */
static const char *string_member(json_object *o, const char *key, bool *present, bool *bad)
{
	json_object *v;
	const char *s;

	*present = json_object_object_get_ex(o, key, &v);
	*bad = false;
	if (!*present)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = true;
		return NULL;
	}
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		*bad = true;
		return NULL;
	}
	return s;
}

static const char *const list_names[] = {
	[MOAT_STATE_DEVOPS] = "devops",
	[MOAT_STATE_BAN] = "ban",
};

/* 0: e filled; 1: refused (reported). */
static int read_entry(struct reader *r, enum moat_state_list list, size_t i, json_object *o,
		      struct moat_state_entry *e)
{
	const char *where = list_names[list], *s, *why;
	bool present, bad;
	json_object *v;

	memset(e, 0, sizeof(*e));
	e->list = list;
	e->origin = MOAT_ORIGIN_RUNTIME;
	if (!json_object_is_type(o, json_type_object)) {
		problem(r, "%s[%zu]: expected an object, got %s; entry skipped", where, i,
			type_name(o));
		return 1;
	}

	s = string_member(o, "cidr", &present, &bad);
	if (!s) {
		problem(r, "%s[%zu].cidr: %s; entry skipped", where, i,
			present ? "not a string" : "missing");
		return 1;
	}
	if (moat_parse_cidr_err(s, &e->cidr, &why)) {
		problem(r, "%s[%zu].cidr: '%s': %s; entry skipped", where, i, show(r, s), why);
		return 1;
	}

	s = string_member(o, "name", &present, &bad);
	if (bad) {
		problem(r, "%s[%zu].name: not a string; entry skipped", where, i);
		return 1;
	}
	if (s) {
		if ((why = moat_name_problem(s))) {
			problem(r, "%s[%zu].name: '%s': %s; entry skipped", where, i, show(r, s), why);
			return 1;
		}
		strcpy(e->name, s);
	} else {
		moat_format_cidr(&e->cidr, e->name, sizeof(e->name));
	}

	s = string_member(o, "origin", &present, &bad);
	if (bad) {
		problem(r, "%s[%zu].origin: not a string; entry skipped", where, i);
		return 1;
	}
	if (s && !strcmp(s, "inspector")) {
		e->origin = MOAT_ORIGIN_INSPECTOR;
	} else if (s && strcmp(s, "runtime")) {
		/* config entries are never written: the config file has them */
		problem(r, "%s[%zu].origin: '%s': want runtime or inspector; entry skipped",
			where, i, show(r, s));
		return 1;
	}

	if (json_object_object_get_ex(o, "expires", &v)) {
		int64_t t;

		if (!json_object_is_type(v, json_type_int)) {
			problem(r, "%s[%zu].expires: expected unix seconds, got %s; entry skipped",
				where, i, type_name(v));
			return 1;
		}
		/* json-c saturates what int64 cannot hold: still out of range */
		t = json_object_get_int64(v);
		if (t < 0 || t > MOAT_TIME_MAX) {
			problem(r, "%s[%zu].expires: %s: not between 0 (never) and %lld (%s); "
				"entry skipped", where, i, show(r, json_object_get_string(v)),
				(long long)MOAT_TIME_MAX, MOAT_TIME_MAX_TEXT);
			return 1;
		}
		e->expires = (time_t)t;
	}
	return 0;
}

static int read_list(struct reader *r, json_object *root, enum moat_state_list list)
{
	const char *where = list_names[list];
	struct moat_state_entry e;
	json_object *arr;
	size_t n;
	int ret;

	if (!json_object_object_get_ex(root, where, &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		problem(r, "%s: expected an array, got %s; none of its entries restored", where,
			type_name(arr));
		return 0;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		if (read_entry(r, list, i, json_object_array_get_idx(arr, i), &e))
			continue;
		if (r->sink->entry && (ret = r->sink->entry(r->sink->ctx, &e)))
			return ret;
	}
	return 0;
}

int moat_state_parse(const char *name, const char *buf, size_t len,
		     const struct moat_state_sink *sink)
{
	struct reader r = { .name = name, .sink = sink };
	enum json_tokener_error jerr;
	json_object *root = NULL, *v;
	json_tokener *tok;
	bool ended_early = false;
	size_t end;
	int ret = 0;

	if (len > INT32_MAX) {	/* json-c takes an int length */
		problem(&r, "larger than %d bytes; nothing restored", INT32_MAX);
		return r.problems;
	}
	tok = json_tokener_new_ex(STATE_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!root && jerr == json_tokener_continue) {
		/* A number at the very end waits for more: a NUL ends it. */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		ended_early = !root;
		end = len;
	}
	if (!root || jerr != json_tokener_success) {
		problem(&r, "not JSON (at byte %zu: %s); nothing restored", end,
			ended_early ? "the text ends early"
						     : json_tokener_error_desc(jerr));
		goto out;
	}
	/* Strict mode refuses text after the value, but not after a NUL. */
	for (; end < len; end++) {
		if (buf[end] != ' ' && buf[end] != '\t' && buf[end] != '\r' && buf[end] != '\n') {
			problem(&r, "text after the JSON value (at byte %zu); nothing restored", end);
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		problem(&r, "expected an object, got %s; nothing restored", type_name(root));
		goto out;
	}
	if (!json_object_object_get_ex(root, "version", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != STATE_VERSION) {
		problem(&r, "version: %s, this moat reads version %d; nothing restored",
			v ? show(&r, json_object_get_string(v)) : "missing", STATE_VERSION);
		goto out;
	}
	ret = read_list(&r, root, MOAT_STATE_DEVOPS);
	if (!ret)
		ret = read_list(&r, root, MOAT_STATE_BAN);
out:
	json_object_put(root);
	json_tokener_free(tok);
	return ret ? ret : r.problems;
}

/* ---- restoring after a reboot ---- */

struct restore {
	struct moat_table devops, ban;
	time_t now;
	size_t restored[2], expired, failed;
};

static int restore_entry(void *ctx, const struct moat_state_entry *se)
{
	struct restore *r = ctx;
	struct moat_entry e = { .origin = se->origin };
	char buf[64];
	int err;

	if (se->expires && se->expires <= r->now) {
		r->expired++;
		return 0;
	}
	memcpy(e.name, se->name, sizeof(e.name));
	e.expires_ns = moat_boot_ns_from_unix(se->expires);
	err = moat_table_put(se->list == MOAT_STATE_BAN ? r->ban : r->devops, &se->cidr, &e);
	if (err) {
		moat_format_cidr(&se->cidr, buf, sizeof(buf));
		moat_err("%s: %s %s not restored: %s", MOAT_STATE_FILE, list_names[se->list], buf,
			 strerror(-err));
		r->failed++;
		return 0;
	}
	r->restored[se->list]++;
	return 0;
}

static void log_problem(void *ctx, const char *msg)
{
	moat_err("%s", msg);
}

/* The whole file, or -errno; *len its size. */
static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > MOAT_STATE_MAX_SIZE) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* shrank under us: parse what is there */
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
out:
	close(fd);
	return err;
}

/* runtime.json -> runtime.json.bad-<unix time>, never over an older one. */
static void set_aside(const char *path, char *to, size_t tolen)
{
	long now = (long)time(NULL);

	snprintf(to, tolen, "%s.bad-%ld", path, now);
	for (int i = 1; i < 100 && access(to, F_OK) == 0; i++)
		snprintf(to, tolen, "%s.bad-%ld-%d", path, now, i);
	if (rename(path, to)) {
		moat_err("%s: couldn't set it aside as %s: %s", path, to, strerror(errno));
		snprintf(to, tolen, "%s", path);
	}
}

int moat_state_restore(const char *state_dir, struct moat_table devops, struct moat_table ban)
{
	struct restore r = { .devops = devops, .ban = ban, .now = time(NULL) };
	struct moat_state_sink sink = { restore_entry, log_problem, &r };
	char path[PATH_MAX], aside[PATH_MAX + 40];
	size_t len = 0;
	char *buf = NULL;
	int refused, err;

	if (snprintf(path, sizeof(path), "%s/%s", state_dir, MOAT_STATE_FILE) >= (int)sizeof(path))
		return 0;
	err = read_file(path, &buf, &len);
	if (err == -ENOENT)
		return 0;
	if (err == -EFBIG || err == -EINVAL) {
		moat_err("%s: %s; nothing restored", path, err == -EFBIG ?
			 "larger than 512 MiB" : "not a regular file");
		refused = 1;
	} else if (err) {
		/* Unreadable now is not damaged: leave it for a later start. */
		moat_err("%s: couldn't read it: %s; runtime entries not restored", path,
			 strerror(-err));
		return 1;
	} else {
		refused = moat_state_parse(path, buf, len, &sink);
		free(buf);
		if (refused < 0) {
			moat_err("%s: %s; runtime entries not restored", path, strerror(-refused));
			refused = 1;
		}
	}
	if (r.restored[MOAT_STATE_DEVOPS] || r.restored[MOAT_STATE_BAN] || r.expired)
		moat_info("%s: restored %zu devops entr%s and %zu ban(s); %zu expired", path,
			  r.restored[MOAT_STATE_DEVOPS],
			  r.restored[MOAT_STATE_DEVOPS] == 1 ? "y" : "ies",
			  r.restored[MOAT_STATE_BAN], r.expired);
	if (!refused && !r.failed)
		return 0;
	/* Kept whole: it holds what could not be restored. What was goes
	 * back into a clean file, so the next save cannot erase the rest. */
	set_aside(path, aside, sizeof(aside));
	err = moat_state_save(state_dir, devops, ban);
	moat_err("%s: %d thing(s) refused, %zu entr%s not restored; the file is kept as %s; %s%s",
		 path, refused, r.failed, r.failed == 1 ? "y" : "ies", aside,
		 err ? "couldn't rewrite it: " : "rewritten from what was restored",
		 err ? strerror(-err) : "");
	return refused + (int)r.failed;
}

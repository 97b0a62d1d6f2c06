/*
 * oci-state.c - what the runtime prints and takes on its command line,
 * byte for byte as runc (docs/architecture.md §24.3): container ids, the
 * state JSON of `state` and `list`, the `--log-format json` records and
 * `kill`'s signal argument.
 *
 * Owns nothing but the strings it returns.  Uses base's signame only.
 *
 *     struct oci_state st = {.id = "c1", .status = "created", .pid = 42,
 *                            .bundle = b, .rootfs = r, .created = ts};
 *     char *s = oci_state_format(&st);   // printed as is, no newline
 *
 * Key order is runc's containerState struct: ociVersion, id, pid, status,
 * bundle, rootfs, created, annotations (omitted when empty), owner.
 *
 * Times: `created` is Go's RFC3339Nano (UTC, trailing zeros of the
 * fraction cut, no fraction when it is 0); log records use RFC 3339 to
 * the second, UTC ("Z").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "oci-internal.h"
#include "signame.h"

bool oci_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > OCI_ID_MAX || streq(id, ".") || streq(id, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Go's time.RFC3339Nano in UTC: "2024-05-01T18:04:11.2851Z". */
static void rfc3339_nano(char out[40], struct timespec ts)
{
	struct tm tm;
	char frac[12] = "";
	size_t n;

	gmtime_r(&ts.tv_sec, &tm);
	if (ts.tv_nsec > 0 && ts.tv_nsec < 1000000000) {
		snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
		for (n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static int add_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v ? v : ""));
}

json_t *oci_state_json(const struct oci_state *st)
{
	_cleanup_json_ json_t *o = json_object();
	char created[40];
	int r;

	if (!o)
		return NULL;
	rfc3339_nano(created, st->created);
	r = add_str(o, "ociVersion", OCI_VERSION) | add_str(o, "id", st->id) |
	    json_object_set_new(o, "pid", json_integer(st->pid)) |
	    add_str(o, "status", st->status) | add_str(o, "bundle", st->bundle) |
	    add_str(o, "rootfs", st->rootfs) | add_str(o, "created", created);
	if (st->annotations && json_object_size(st->annotations) > 0)
		r |= json_object_set_new(o, "annotations", json_deep_copy(st->annotations));
	r |= add_str(o, "owner", st->owner);
	return r ? NULL : TAKE_PTR(o);
}

char *oci_state_format(const struct oci_state *st)
{
	_cleanup_json_ json_t *o = oci_state_json(st);

	return o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
}

char *oci_state_list_format(const struct oci_state *v, size_t n)
{
	_cleanup_json_ json_t *a = n ? json_array() : NULL;
	_cleanup_free_ char *s = NULL;
	char *line = NULL;

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, oci_state_json(&v[i])) < 0)
			return NULL;
	if (n && !a)
		return NULL;
	s = n ? json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("null");
	if (!s || asprintf(&line, "%s\n", s) < 0)
		return NULL;
	return line;
}

char *oci_log_json(const char *level, const char *msg, time_t when)
{
	_cleanup_json_ json_t *o = json_object();
	_cleanup_free_ char *s = NULL;
	char t[40];
	char *line = NULL;

	if (!o)
		return NULL;
	rfc3339_nano(t, (struct timespec){when, 0});
	if (add_str(o, "level", level) | add_str(o, "msg", msg) | add_str(o, "time", t))
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s || asprintf(&line, "%s\n", s) < 0)
		return NULL;
	return line;
}

int oci_signal_parse(const char *s, int *sig, struct zh_error *err)
{
	if (!s || signame_parse(s, sig) < 0)
		return zh_error_set(err, EINVAL, "signal", "unknown signal \"%s\"", s ? s : "");
	return 0;
}

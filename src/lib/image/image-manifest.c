/*
 * image-manifest.c - SmartOS image manifest v2 checks (reference §4.2).
 *
 * Owns: nothing at run time.  Pure functions over a jansson object: no file,
 * no pool, so the unit tests and the fuzzer (tests/fuzz/fuzz-manifest.c)
 * drive it directly.  Kept in its own object file so that they link it
 * without the pool and VM store.
 *
 *     json_t *m = NULL;
 *     if (image_manifest_parse(text, len, &m, &err) < 0)
 *             ... err.prop == "files[0].sha1", err.msg ==
 *                 manifest: "files[0].sha1" must be 40 hex digits
 *
 * Rules: every required field present with the right type; strings bounded
 * (name 512, version 128, description 512, homepage/eula 128); enumerations
 * (state, type, os, compression) closed; uuids in SmartOS's lowercase form;
 * an "origin" other than the image's own uuid.
 * The first offending field wins; err->prop names it.
 */
#include <ctype.h>
#include <string.h>

#include "image.h"
#include "jsonutil.h"
#include "util.h"

#define FILE_SIZE_MAX (20ULL << 30) /* IMGAPI: files[0].size <= 20 GiB */

static const char *const states[] = {"active",	 "unactivated", "disabled",
				     "creating", "failed",	NULL};
static const char *const types[] = {"zone-dataset", "lx-dataset", "zvol", "docker",
				    "lxd",	    "other",	  NULL};
static const char *const oses[] = {"smartos", "linux", "windows", "bsd", "illumos", "other", NULL};
static const char *const compressions[] = {"none", "gzip", "bzip2", "xz", "zstd", NULL};

static int bad(struct zh_error *err, const char *field, const char *why)
{
	return zh_error_set(err, EINVAL, field, "manifest: \"%s\" %s", field, why);
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (streq(s, *list))
			return true;
	return false;
}

static bool is_hex40(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == 40;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (fraction of 1-9 digits optional). */
bool image_timestamp_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	if (s[i] == '.') {
		size_t n = 0;

		while (isdigit((unsigned char)s[++i]))
			n++;
		if (n < 1 || n > 9)
			return false;
	}
	return s[i] == 'Z' && s[i + 1] == '\0';
}

/* A string field: required?, non-empty, at most max bytes (0 = no limit). */
static int check_str(const json_t *m, const char *key, bool required, size_t max, const char **out,
		     struct zh_error *err)
{
	const json_t *v = json_object_get(m, key);
	char why[64];

	*out = NULL;
	if (!v)
		return required ? bad(err, key, "is required") : 0;
	if (!json_is_string(v))
		return bad(err, key, "must be a string");
	if (json_string_length(v) == 0)
		return bad(err, key, "must not be empty");
	if (max && json_string_length(v) > max) {
		snprintf(why, sizeof(why), "must be at most %zu characters", max);
		return bad(err, key, why);
	}
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, key, "must not contain NUL characters");
	*out = json_string_value(v);
	return 0;
}

static int check_enum(const json_t *m, const char *key, bool required, const char *const *list,
		      struct zh_error *err)
{
	const char *s;
	int r = check_str(m, key, required, 64, &s, err);

	if (r < 0 || !s)
		return r;
	if (!in_list(s, list)) {
		char why[160];
		size_t n = (size_t)snprintf(why, sizeof(why), "must be one of");

		for (size_t i = 0; list[i] && n < sizeof(why); i++)
			n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s", i ? ", " : " ",
					      list[i]);
		return bad(err, key, why);
	}
	return 0;
}

static int check_uuid(const json_t *m, const char *key, bool required, struct zh_error *err)
{
	const char *s;
	int r = check_str(m, key, required, 64, &s, err);

	if (r < 0 || !s)
		return r;
	return util_is_uuid(s) ? 0 : bad(err, key, "must be a UUID");
}

static int check_bool(const json_t *m, const char *key, bool required, struct zh_error *err)
{
	const json_t *v = json_object_get(m, key);

	if (!v)
		return required ? bad(err, key, "is required") : 0;
	return json_is_boolean(v) ? 0 : bad(err, key, "must be true or false");
}

static int check_type(const json_t *m, const char *key, bool (*is)(const json_t *), const char *why,
		      struct zh_error *err)
{
	const json_t *v = json_object_get(m, key);

	return !v || is(v) ? 0 : bad(err, key, why);
}

static bool is_object(const json_t *v)
{
	return json_is_object(v);
}

static bool is_array(const json_t *v)
{
	return json_is_array(v);
}

static bool is_string_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach (v, i, e)
		if (!json_is_string(e))
			return false;
	return true;
}

static bool is_uuid_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach (v, i, e)
		if (!util_is_uuid(json_string_value(e)))
			return false;
	return true;
}

static int check_file0(const json_t *f, struct zh_error *err)
{
	const json_t *sha1 = json_object_get(f, "sha1");
	const json_t *size = json_object_get(f, "size");
	const json_t *comp = json_object_get(f, "compression");

	if (!json_is_object(f))
		return bad(err, "files[0]", "must be an object");
	if (!sha1)
		return bad(err, "files[0].sha1", "is required");
	if (!json_is_string(sha1) || !is_hex40(json_string_value(sha1)))
		return bad(err, "files[0].sha1", "must be 40 hex digits");
	if (!size)
		return bad(err, "files[0].size", "is required");
	if (!json_is_integer(size) || json_integer_value(size) < 0 ||
	    (unsigned long long)json_integer_value(size) > FILE_SIZE_MAX)
		return bad(err, "files[0].size", "must be a number of bytes from 0 to 21474836480");
	if (!comp)
		return bad(err, "files[0].compression", "is required");
	if (!json_is_string(comp) || !in_list(json_string_value(comp), compressions))
		return bad(err, "files[0].compression",
			   "must be one of none, gzip, bzip2, xz, zstd");
	return 0;
}

static int check_files(const json_t *m, struct zh_error *err)
{
	const json_t *files = json_object_get(m, "files");
	const char *state = jsonutil_str(m, "state");

	if (!files) {
		/* IMGAPI: required once the image is activated. */
		if (state && !streq(state, "active"))
			return 0;
		return bad(err, "files", "is required");
	}
	if (!json_is_array(files) || json_array_size(files) != 1)
		return bad(err, "files", "must be an array of exactly one file");
	return check_file0(json_array_get(files, 0), err);
}

static int check_identity(const json_t *m, struct zh_error *err)
{
	const json_t *v = json_object_get(m, "v");
	const char *s;
	int r;

	if (!v)
		return bad(err, "v", "is required");
	if (!json_is_integer(v) || json_integer_value(v) != 2)
		return bad(err, "v", "must be 2");
	if ((r = check_uuid(m, "uuid", true, err)) < 0 ||
	    (r = check_uuid(m, "owner", true, err)) < 0 ||
	    (r = check_str(m, "name", true, 512, &s, err)) < 0 ||
	    (r = check_str(m, "version", true, 128, &s, err)) < 0 ||
	    (r = check_enum(m, "state", true, states, err)) < 0 ||
	    (r = check_bool(m, "disabled", true, err)) < 0 ||
	    (r = check_bool(m, "public", true, err)) < 0 ||
	    (r = check_enum(m, "type", true, types, err)) < 0 ||
	    (r = check_enum(m, "os", true, oses, err)) < 0)
		return r;
	return 0;
}

static int check_published_at(const json_t *m, struct zh_error *err)
{
	const char *s;
	int r = check_str(m, "published_at", false, 64, &s, err);

	if (r < 0 || !s)
		return r;
	if (!image_timestamp_valid(s))
		return bad(err, "published_at",
			   "must be an ISO-8601 date like 2012-05-02T15:14:45.805Z");
	return 0;
}

static int check_optional(const json_t *m, struct zh_error *err)
{
	const char *s;
	int r;

	if ((r = check_str(m, "description", false, 512, &s, err)) < 0 ||
	    (r = check_str(m, "homepage", false, 128, &s, err)) < 0 ||
	    (r = check_str(m, "eula", false, 128, &s, err)) < 0 ||
	    (r = check_bool(m, "icon", false, err)) < 0 ||
	    (r = check_bool(m, "generate_passwords", false, err)) < 0 ||
	    (r = check_uuid(m, "origin", false, err)) < 0 || (r = check_published_at(m, err)) < 0 ||
	    (r = check_type(m, "error", is_object, "must be an object", err)) < 0 ||
	    (r = check_type(m, "requirements", is_object, "must be an object", err)) < 0 ||
	    (r = check_type(m, "traits", is_object, "must be an object", err)) < 0 ||
	    (r = check_type(m, "tags", is_object, "must be an object", err)) < 0 ||
	    (r = check_type(m, "users", is_array, "must be an array", err)) < 0 ||
	    (r = check_type(m, "acl", is_uuid_array, "must be an array of UUIDs", err)) < 0 ||
	    (r = check_type(m, "billing_tags", is_string_array, "must be an array of strings",
			    err)) < 0 ||
	    (r = check_type(m, "channels", is_string_array, "must be an array of strings", err)) <
		    0 ||
	    (r = check_type(m, "inherited_directories", is_string_array,
			    "must be an array of strings", err)) < 0)
		return r;
	return 0;
}

/* An incremental image cannot be its own origin (checked after both uuids are). */
static int check_origin(const json_t *m, struct zh_error *err)
{
	const char *o = jsonutil_str(m, "origin");

	if (o && streq(o, jsonutil_str(m, "uuid")))
		return bad(err, "origin", "must not be the image's own uuid");
	return 0;
}

int image_manifest_check(const json_t *manifest, struct zh_error *err)
{
	int r;

	if (!json_is_object(manifest))
		return zh_error_set(err, EINVAL, NULL, "manifest: not a JSON object");
	if ((r = check_identity(manifest, err)) < 0 || (r = check_files(manifest, err)) < 0 ||
	    (r = check_optional(manifest, err)) < 0 || (r = check_origin(manifest, err)) < 0)
		return r;
	return 0;
}

int image_manifest_parse(const char *text, size_t len, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *m = NULL;
	int r = jsonutil_parse(text, len, "manifest", &m, err);

	if (r < 0)
		return r;
	r = image_manifest_check(m, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(m);
	return 0;
}

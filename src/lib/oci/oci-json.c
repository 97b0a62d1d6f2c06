/*
 * oci-json.c - the typed, bounded getters every OCI parser uses
 * (docs/architecture.md §24.1).  See oci-internal.h.
 *
 * Owns nothing but the strings it returns.  The lowest module of the
 * folder: it calls no other.  Every message starts with the JSON path of
 * the offending value, which is also err->prop:
 *
 *     char *cwd = NULL;
 *     if (oci_get_str(proc, "process", "cwd", OCI_REQ | OCI_ABS, &cwd, err) < 0)
 *             return -EINVAL;   // "process.cwd: must be an absolute path"
 *
 * Bounds: strings OCI_STRING_MAX bytes (paths OCI_PATH_MAX), arrays and
 * objects OCI_ARRAY_MAX entries; no string may hold a NUL byte.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "oci-internal.h"

const char *oci_jpath(char buf[OCI_JPATH_MAX], const char *parent, const char *key)
{
	snprintf(buf, OCI_JPATH_MAX, "%s%s%s", parent, *parent ? "." : "", key);
	return buf;
}

const char *oci_jpath_idx(char buf[OCI_JPATH_MAX], const char *parent, size_t i)
{
	snprintf(buf, OCI_JPATH_MAX, "%s[%zu]", parent, i);
	return buf;
}

int oci_fail(struct zh_error *err, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (r < 0)
		return zh_error_oom(err);
	return zh_error_set(err, EINVAL, path, "%s: %s", path, m);
}

const json_t *oci_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

static int absent(unsigned int flags, const char *path, struct zh_error *err)
{
	return (flags & OCI_REQ) ? oci_fail(err, path, "required") : 0;
}

int oci_get_obj(const json_t *o, const char *parent, const char *key, unsigned int flags,
		const json_t **out, struct zh_error *err)
{
	const json_t *v = oci_member(o, key);
	char p[OCI_JPATH_MAX];

	if (!v)
		return absent(flags, oci_jpath(p, parent, key), err);
	if (!json_is_object(v))
		return oci_fail(err, oci_jpath(p, parent, key), "must be an object");
	if (json_object_size(v) > OCI_ARRAY_MAX)
		return oci_fail(err, oci_jpath(p, parent, key), "more than %d members",
				OCI_ARRAY_MAX);
	*out = v;
	return 0;
}

int oci_get_arr(const json_t *o, const char *parent, const char *key, unsigned int flags,
		const json_t **out, struct zh_error *err)
{
	const json_t *v = oci_member(o, key);
	char p[OCI_JPATH_MAX];

	if (!v)
		return absent(flags, oci_jpath(p, parent, key), err);
	if (!json_is_array(v) || ((flags & OCI_NONEMPTY) && json_array_size(v) == 0))
		return oci_fail(err, oci_jpath(p, parent, key), "must be a%s array",
				(flags & OCI_NONEMPTY) ? " non-empty" : "n");
	if (json_array_size(v) > OCI_ARRAY_MAX)
		return oci_fail(err, oci_jpath(p, parent, key), "more than %d entries",
				OCI_ARRAY_MAX);
	*out = v;
	return 0;
}

/* The reason a string value is refused, or NULL. */
static const char *bad_str(const json_t *v, unsigned int flags)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s)
		return (flags & OCI_ABS) ? "must be an absolute path" : "must be a string";
	if (memchr(s, '\0', len))
		return "must not contain a NUL byte";
	if ((flags & OCI_ABS) && s[0] != '/')
		return "must be an absolute path";
	if ((flags & OCI_ABS) && len >= OCI_PATH_MAX)
		return "path too long";
	if (len > OCI_STRING_MAX)
		return "string too long";
	if ((flags & OCI_NONEMPTY) && len == 0)
		return "must not be empty";
	return NULL;
}

int oci_check_str(const json_t *v, const char *path, unsigned int flags, char **out,
		  struct zh_error *err)
{
	const char *why = bad_str(v, flags);
	char *s;

	if (why)
		return oci_fail(err, path, "%s", why);
	s = strdup(json_string_value(v));
	if (!s)
		return zh_error_oom(err);
	free(*out);
	*out = s;
	return 0;
}

int oci_get_str(const json_t *o, const char *parent, const char *key, unsigned int flags,
		char **out, struct zh_error *err)
{
	const json_t *v = oci_member(o, key);
	char p[OCI_JPATH_MAX];

	oci_jpath(p, parent, key);
	if (!v)
		return absent(flags, p, err);
	return oci_check_str(v, p, flags, out, err);
}

int oci_get_bool(const json_t *o, const char *parent, const char *key, bool *out,
		 struct zh_error *err)
{
	const json_t *v = oci_member(o, key);
	char p[OCI_JPATH_MAX];

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return oci_fail(err, oci_jpath(p, parent, key), "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int oci_get_int(const json_t *o, const char *parent, const char *key, int64_t min, int64_t max,
		int64_t *out, bool *set, struct zh_error *err)
{
	const json_t *v = oci_member(o, key);
	char p[OCI_JPATH_MAX];
	json_int_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return oci_fail(err, oci_jpath(p, parent, key), "must be an integer");
	n = json_integer_value(v);
	if (n < min || n > max)
		return oci_fail(err, oci_jpath(p, parent, key), "%lld out of range (%lld to %lld)",
				(long long)n, (long long)min, (long long)max);
	*out = n;
	if (set)
		*set = true;
	return 0;
}

static int strv_fail(struct zh_error *err, const char *path, unsigned int flags)
{
	return oci_fail(err, path, "must be a%s array of strings",
			(flags & OCI_NONEMPTY) ? " non-empty" : "n");
}

int oci_get_strv(const json_t *o, const char *parent, const char *key, unsigned int flags,
		 char ***out, struct zh_error *err)
{
	const json_t *v = oci_member(o, key), *e;
	char p[OCI_JPATH_MAX];
	_cleanup_strv_ char **vec = NULL;
	size_t i;

	oci_jpath(p, parent, key);
	if (!v)
		return absent(flags, p, err);
	if (!json_is_array(v) || ((flags & OCI_NONEMPTY) && json_array_size(v) == 0))
		return strv_fail(err, p, flags);
	if (json_array_size(v) > OCI_ARRAY_MAX)
		return oci_fail(err, p, "more than %d entries", OCI_ARRAY_MAX);
	vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return zh_error_oom(err);
	json_array_foreach (v, i, e) {
		char q[OCI_JPATH_MAX];
		const char *why = bad_str(e, flags & OCI_ABS);

		if (!json_is_string(e))
			return strv_fail(err, p, flags);
		if (why)
			return oci_fail(err, oci_jpath_idx(q, p, i), "%s", why);
		vec[i] = strdup(json_string_value(e));
		if (!vec[i])
			return zh_error_oom(err);
	}
	strv_free(*out);
	*out = TAKE_PTR(vec);
	return 0;
}

int oci_get_strmap(const json_t *o, const char *parent, const char *key, json_t **out,
		   struct zh_error *err)
{
	const json_t *m = NULL, *v;
	char p[OCI_JPATH_MAX], q[OCI_JPATH_MAX];
	const char *k;
	int r = oci_get_obj(o, parent, key, 0, &m, err);

	if (r < 0 || !m)
		return r;
	oci_jpath(p, parent, key);
	json_object_foreach ((json_t *)m, k, v) {
		if (bad_str(v, 0))
			return oci_fail(err, oci_jpath(q, p, k), "must be a string");
	}
	json_decref(*out);
	*out = json_incref((json_t *)m);
	return 0;
}

#define U64_MAX_TEXT "18446744073709551615"

/* Is s[i..] the number 2^64-1 standing alone (not part of another number)? */
static bool u64_max_at(const char *s, size_t len, size_t i)
{
	size_t n = sizeof(U64_MAX_TEXT) - 1;

	if (i + n > len || memcmp(s + i, U64_MAX_TEXT, n) != 0)
		return false;
	if (i > 0 && strchr("0123456789.-+eE", s[i - 1]))
		return false;
	return i + n == len || !strchr("0123456789.eE", s[i + n]);
}

/*
 * Go writes RLIM_INFINITY (and any uint64 -1) as 18446744073709551615,
 * which jansson's int64 cannot hold: outside strings, that number becomes
 * -1 padded with spaces (same length, so error columns still match), and
 * the fields that take it read -1 as "unlimited".
 */
static void fold_u64_max(char *s, size_t len)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		if (in_str && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			in_str = !in_str;
		else if (!in_str && u64_max_at(s, len, i))
			memcpy(s + i, "-1                  ", sizeof(U64_MAX_TEXT) - 1);
	}
}

int oci_json_load(const char *text, size_t len, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *copy = NULL;

	if (len > OCI_CONFIG_MAX)
		return zh_error_set(err, EFBIG, NULL, "larger than %u bytes", OCI_CONFIG_MAX);
	if (memmem(text, len, U64_MAX_TEXT, sizeof(U64_MAX_TEXT) - 1)) {
		copy = malloc(len ? len : 1);
		if (!copy)
			return zh_error_oom(err);
		memcpy(copy, text, len);
		fold_u64_max(copy, len);
		text = copy;
	}
	return jsonutil_parse(text, len, "invalid JSON", out, err);
}

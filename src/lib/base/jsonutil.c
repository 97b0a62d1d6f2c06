/*
 * jsonutil.c - jansson helpers.  See jsonutil.h.
 */
#include <string.h>

#include "fsutil.h"
#include "jsonutil.h"

int jsonutil_parse(const char *text, size_t len, const char *what, json_t **out,
		   struct zh_error *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!j)
		return zh_error_set(err, EINVAL, NULL, "%s: %s at line %d, column %d", what,
				    je.text, je.line, je.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return zh_error_set(err, EINVAL, NULL, "%s: not a JSON object", what);
	}
	*out = j;
	return 0;
}

int jsonutil_load_file(const char *path, size_t max, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = fsutil_read_all(path, max, &buf, &len, err);

	if (r < 0)
		return r;
	return jsonutil_parse(buf, len, path, out, err);
}

int jsonutil_store_file(const char *path, const json_t *j, struct zh_error *err)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	_cleanup_free_ char *t = NULL;

	if (!s || asprintf(&t, "%s\n", s) < 0)
		return zh_error_oom(err);
	return fsutil_write_atomic(path, t, strlen(t), 0644, err);
}

const char *jsonutil_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

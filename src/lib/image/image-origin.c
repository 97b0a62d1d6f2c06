/*
 * image-origin.c - origin chains of installed images: which images have a
 * given origin and how deep a chain is.
 *
 * Owns: nothing; reads the image records (image-record.c).
 *
 *     size_t n = 0;
 *     if (image_children(p, uuid, &n, NULL, &err) == 0 && n > 0) ...  (keep it)
 *     unsigned depth;
 *     image_origin_depth(p, uuid, &depth, &err);          (1: no origin)
 *
 * Invariants: a chain is walked through records only, at most
 * IMAGE_ORIGIN_DEPTH_MAX + 1 steps, so a damaged record naming a cycle
 * cannot loop.  Lock order: callers hold the host lock when they act on
 * the answers.
 */
#include <string.h>

#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "util.h"

int image_children(const struct pool *p, const char *uuid, size_t *count, char **first,
		   struct zh_error *err)
{
	_cleanup_json_ json_t *uuids = json_array();
	json_t *u;
	size_t i, n = 0;
	int r;

	if (!uuids)
		return zh_error_oom(err);
	if ((r = image_record_uuids(p, uuids, err)) < 0)
		return r;
	json_array_foreach (uuids, i, u) {
		_cleanup_json_ json_t *rec = NULL;
		struct zh_error ignore = ZH_ERROR_INIT;
		const char *o;

		if (!util_is_uuid(json_string_value(u)) ||
		    image_record_load(p, json_string_value(u), &rec, &ignore) < 0) {
			zh_error_clear(&ignore); /* an unreadable record is nobody's child */
			continue;
		}
		o = image_origin_of(rec);
		if (!o || !streq(o, uuid))
			continue;
		if (n++ == 0 && first && !(*first = strdup(json_string_value(u))))
			return zh_error_oom(err);
	}
	*count = n;
	return 0;
}

int image_origin_depth(const struct pool *p, const char *uuid, unsigned *depth,
		       struct zh_error *err)
{
	_cleanup_json_ json_t *rec = NULL;
	unsigned n = 0;
	int r = image_record_load(p, uuid, &rec, err);

	if (r < 0)
		return r;
	for (n = 1;; n++) {
		const char *o = image_origin_of(rec);
		json_t *next = NULL;
		struct zh_error ignore = ZH_ERROR_INIT;

		if (n > IMAGE_ORIGIN_DEPTH_MAX)
			return zh_error_set(err, ELOOP, "origin",
					    "image %s: its origin chain is longer than %d images",
					    uuid, IMAGE_ORIGIN_DEPTH_MAX);
		if (!o || !util_is_uuid(o) || image_record_load(p, o, &next, &ignore) < 0) {
			zh_error_clear(&ignore);
			break;
		}
		json_decref(rec);
		rec = next;
	}
	*depth = n;
	return 0;
}

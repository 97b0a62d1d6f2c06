/*
 * image-vacuum.c - `imgadm vacuum`: which installed images can go, and in
 * which order (children before their origin; never one a VM uses or one
 * that is the origin of a kept image).
 *
 * Owns: nothing; reads the image list (image.c) and the chains
 * (image-origin.c).  Lock order: callers hold the host lock when they act
 * on the plan.
 */
#include <string.h>

#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "util.h"

/* ---- vacuum ---- */

static bool in_list(const json_t *arr, const json_t *rec)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v)
		if (v == rec)
			return true;
	return false;
}

/* Does an image that is not (yet) planned for deletion have uuid as origin? */
static bool has_kept_child(const json_t *imgs, const json_t *plan, const char *uuid)
{
	size_t i;
	json_t *rec;

	json_array_foreach (imgs, i, rec) {
		const char *o = image_origin_of(rec);

		if (o && streq(o, uuid) && !in_list(plan, rec))
			return true;
	}
	return false;
}

static bool can_go(const json_t *imgs, const json_t *plan, const json_t *rec)
{
	const char *uuid = jsonutil_str(json_object_get(rec, "manifest"), "uuid");

	return uuid && json_integer_value(json_object_get(rec, "clones")) == 0 &&
	       !in_list(plan, rec) && !has_kept_child(imgs, plan, uuid);
}

int image_vacuum_plan(const struct pool *p, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *imgs = NULL;
	_cleanup_json_ json_t *plan = json_array();
	bool more = true;
	size_t i;
	json_t *rec;
	int r;

	if (!plan)
		return zh_error_oom(err);
	if ((r = image_list(p, &imgs, err)) < 0)
		return r;
	/* Children first: an image goes once every image that has it as origin has gone. */
	while (more) {
		more = false;
		json_array_foreach (imgs, i, rec) {
			if (!can_go(imgs, plan, rec))
				continue;
			if (json_array_append(plan, rec) < 0)
				return zh_error_oom(err);
			more = true;
		}
	}
	*out = TAKE_PTR(plan);
	return 0;
}

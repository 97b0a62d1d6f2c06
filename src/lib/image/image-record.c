/*
 * image-record.c - the record that makes an image installed:
 * <mount>/.imgadm/<uuid>.json {"manifest","zpool","source"?}, and the
 * manifest files read with it.  See image.h.
 *
 * The lowest module of the image folder: image.c (install, get, list,
 * delete), image-origin.c (chains) and image-vacuum.c use it; it uses none
 * of them.  Records are read by path with a size bound; install writes
 * them (image.c) atomically.
 */
#include <dirent.h>
#include <string.h>

#include "fsutil.h"
#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "paths.h"
#include "util.h"

#define RECORD_DIR ".imgadm"
#define RECORD_MAX (2u << 20)

char *image_record_path(const struct pool *p, const char *uuid)
{
	char *s = NULL;

	if (asprintf(&s, "%s/" RECORD_DIR "/%s.json", p->mountpoint, uuid) < 0)
		return NULL;
	return s;
}

int image_manifest_load(const char *path, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = fsutil_read_all(path, IMAGE_MANIFEST_MAX, &text, &len, err);
	if (r < 0) {
		zh_error_set(err, -r, "-m", "-m %s: %s", path,
			     r == -EFBIG ? "manifest larger than 1 MiB" : strerror(-r));
		return r;
	}
	r = image_manifest_parse(text, len, out, err);
	if (r < 0)
		return zh_error_prefix(err, "-m %s", path);
	return 0;
}

int image_record_load(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = image_record_path(p, uuid);
	_cleanup_json_ json_t *rec = NULL;
	int r;

	if (!path)
		return zh_error_oom(err);
	if (!fsutil_exists(path))
		return zh_error_set(err, ENOENT, "uuid",
				    "image \"%s\" was not found on zpool \"%s\"", uuid, p->name);
	r = jsonutil_load_file(path, RECORD_MAX, &rec, err);
	if (r < 0)
		return r;
	if (!json_is_object(json_object_get(rec, "manifest")))
		return zh_error_set(err, EINVAL, NULL, "%s: no \"manifest\" object", path);
	*out = TAKE_PTR(rec);
	return 0;
}

/* Installed uuids: the records' names. */
int image_record_uuids(const struct pool *p, json_t *arr, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(p->mountpoint, RECORD_DIR);
	DIR *d;
	struct dirent *de;

	if (!dir)
		return zh_error_oom(err);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0
				       : zh_error_set(err, errno, NULL, "cannot read %s: %m", dir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *u = NULL;

		if (n != UTIL_UUID_LEN + 5 || !streq(de->d_name + UTIL_UUID_LEN, ".json"))
			continue;
		u = strndup(de->d_name, UTIL_UUID_LEN);
		if (!u || json_array_append_new(arr, json_string(u)) < 0) {
			closedir(d);
			return zh_error_oom(err);
		}
	}
	closedir(d);
	return 0;
}

const char *image_origin_of(const json_t *rec)
{
	return jsonutil_str(json_object_get(rec, "manifest"), "origin");
}

int image_record_write(const struct pool *p, const json_t *manifest, const char *source,
		       struct zh_error *err)
{
	const char *uuid = jsonutil_str(manifest, "uuid");
	_cleanup_free_ char *path = image_record_path(p, uuid);
	_cleanup_free_ char *dir = paths_join(p->mountpoint, RECORD_DIR);
	_cleanup_json_ json_t *m = json_deep_copy(manifest);
	_cleanup_json_ json_t *rec = json_object();
	char now[UTIL_TIMESTAMP_LEN + 1];
	int r;

	if (!path || !dir || !m || !rec)
		return zh_error_oom(err);
	if (!json_object_get(m, "published_at")) {
		util_timestamp_now(now);
		if (json_object_set_new(m, "published_at", json_string(now)) < 0)
			return zh_error_oom(err);
	}
	if (json_object_set(rec, "manifest", m) < 0 ||
	    json_object_set_new(rec, "zpool", json_string(p->name)) < 0 ||
	    (source && json_object_set_new(rec, "source", json_string(source)) < 0))
		return zh_error_oom(err);
	r = fsutil_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	return jsonutil_store_file(path, rec, err);
}

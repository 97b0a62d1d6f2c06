/*
 * image.c - the image store: install, get, list, delete (docs/architecture.md §18).
 *
 * Owns, in each pool:
 *     <mount>/<uuid>            read-only subvolume (mode 0700: its setuid
 *                               binaries and file capabilities, kept for
 *                               zones, are unreachable by host users; the
 *                               pool is nosuid too), the image's root in root/
 *     <mount>/<uuid>@final      read-only snapshot of it, what VMs clone
 *     (a zvol image: disk, one raw file, instead of root/; image-zvol.c)
 *     <mount>/.imgadm/<uuid>.json  the record {"manifest","zpool","source"?}
 * Does not own: the VMs cloned from an image (vmstore), the pool (pool).
 * An incremental image's <uuid> starts as a writable snapshot of its
 * origin's @final (image-apply.c writes the changes); image-origin.c
 * answers the questions about chains; image-record.c reads and names the
 * records; image-vacuum.c plans `imgadm vacuum`.
 *
 *     json_t *m = NULL;
 *     if (image_manifest_load("img.json", &m, &err) < 0) ...
 *     if (image_install_manifest(p, m, "img.tar.gz", NULL, &err) < 0) ...
 *     if (image_delete(p, uuid, &err) == -EBUSY) ...     (VMs use it)
 *
 * Invariants: the record is what makes an image installed.  Install writes
 * it last (after the subvolume is complete, read-only and snapshotted), so
 * a crash leaves at most unrecorded subvolumes, which the next install of
 * the same uuid removes; delete removes it first, so a half-deleted image
 * is never listed.  An install that fails removes every subvolume it made.
 * An image is installed only after its origin, and deleted only after
 * every image that has it as origin.
 * Lock order: callers hold the host lock for install and delete.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "crashpoint.h"
#include "fsutil.h"
#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "paths.h"
#include "util.h"
#include "vmstore.h"

/* ---- clones ---- */

static bool uses_image(const json_t *vm, const char *uuid)
{
	const char *img = jsonutil_str(vm, "image_uuid");
	json_t *disk;
	size_t i;

	if (img && streq(img, uuid))
		return true;
	json_array_foreach (json_object_get(vm, "disks"), i, disk) {
		img = jsonutil_str(disk, "image_uuid");
		if (img && streq(img, uuid))
			return true;
	}
	return false;
}

int image_clones(const struct pool *p, const char *uuid, size_t *count, char **first,
		 struct zh_error *err)
{
	_cleanup_json_ json_t *vms = NULL;
	json_t *vm;
	size_t i, n = 0;
	int r = vmstore_load_pool(p, &vms, err);

	if (r < 0)
		return r;
	json_array_foreach (vms, i, vm) {
		if (!uses_image(vm, uuid))
			continue;
		if (n++ == 0 && first) {
			const char *u = jsonutil_str(vm, "uuid");

			*first = strdup(u ? u : "?");
			if (!*first)
				return zh_error_oom(err);
		}
	}
	*count = n;
	return 0;
}

/* ---- install ---- */

static void undo_datasets(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *snap = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;

	if ((snap = paths_image_final(uuid)))
		pool_subvol_destroy(p, snap, &ignored);
	zh_error_clear(&ignored);
	pool_subvol_destroy(p, uuid, &ignored);
	zh_error_clear(&ignored);
}

/* A dataset named like the image but with no record: a crashed install's, unless it is a VM. */
static int clear_leftovers(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *cfg = vmstore_config_path(p, uuid);

	if (!cfg)
		return zh_error_oom(err);
	if (pool_dataset_exists(p, uuid) && fsutil_exists(cfg))
		return zh_error_set(err, EEXIST, "uuid",
				    "manifest: \"uuid\" %s is already used by a VM", uuid);
	undo_datasets(p, uuid);
	return 0;
}

static int supported_type(const json_t *m, struct zh_error *err)
{
	const char *type = jsonutil_str(m, "type");

	if (streq(type, "zone-dataset") || streq(type, "lx-dataset") || streq(type, "zvol") ||
	    streq(type, "docker"))
		return 0;
	return zh_error_set(err, EOPNOTSUPP, "type",
			    "manifest: \"type\" %s is not supported here "
			    "(zone-dataset, lx-dataset, zvol or docker)",
			    type);
}

/* The dataset to unpack into: an empty one with root/, or a snapshot of origin@final. */
static int start_tree(const struct pool *p, const char *uuid, const char *origin, const char *root,
		      struct zh_error *err)
{
	_cleanup_free_ char *snap = NULL;
	int r;

	if (origin) {
		if (!(snap = paths_image_final(origin)))
			return zh_error_oom(err);
		return pool_clone(p, snap, uuid, err);
	}
	r = pool_subvol_create(p, uuid, err);
	if (r < 0)
		return r;
	if (mkdir(root, 0755) < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", root);
	return 0;
}

static bool is_zvol(const json_t *manifest)
{
	const char *type = jsonutil_str(manifest, "type");

	return type && streq(type, "zvol");
}

/* A zvol image's dataset: one raw file, decompressed from fd (image-zvol.c). */
static int make_disk(const struct pool *p, const json_t *manifest, int fd, const char *label,
		     struct zh_error *err)
{
	const char *uuid = jsonutil_str(manifest, "uuid");
	_cleanup_close_ int dsfd = -EBADF;
	int r = pool_subvol_create(p, uuid, err);

	crashpoint("image.created");
	if (r < 0 || (r = pool_dataset_private(p, uuid, err)) < 0)
		return r;
	dsfd = pool_dataset_open(p, uuid, err);
	if (dsfd < 0)
		return dsfd;
	return image_zvol_write(fd, dsfd, manifest, label, err);
}

/*
 * A docker layer is unpacked with the layer rules even as the base of its
 * chain (whiteouts there delete nothing; an empty layer is fine).
 */
static int make_tree(const struct pool *p, const char *uuid, const char *origin, bool docker,
		     int fd, const char *file_path, struct zh_error *err)
{
	_cleanup_free_ char *ds = pool_dataset_path(p, uuid);
	_cleanup_free_ char *root = NULL;
	int r;

	if (!ds || !(root = paths_join(ds, PATHS_DS_ROOT)))
		return zh_error_oom(err);
	r = start_tree(p, uuid, origin, root, err);
	crashpoint("image.created");
	/* its setuid binaries and file capabilities: root's alone on the host */
	if (r < 0 || (r = pool_dataset_private(p, uuid, err)) < 0)
		return r;
	if (origin || docker)
		return image_unpack_layer(fd, root, file_path, err);
	return image_unpack(fd, root, file_path, err);
}

/* The image's data in place, then read-only and its @final. */
static int make_image(const struct pool *p, const json_t *manifest, int fd, const char *label,
		      struct zh_error *err)
{
	const char *uuid = jsonutil_str(manifest, "uuid");
	int r;

	if (is_zvol(manifest))
		r = make_disk(p, manifest, fd, label, err);
	else
		r = make_tree(p, uuid, jsonutil_str(manifest, "origin"),
			      streq(jsonutil_str(manifest, "type"), "docker"), fd, label, err);
	if (r < 0)
		return r;
	crashpoint("image.unpacked");
	r = pool_set_readonly(p, uuid, true, err);
	if (r < 0)
		return r;
	r = pool_snapshot_create(p, uuid, PATHS_IMAGE_SNAP, err);
	crashpoint("image.snapshot");
	return r;
}

/* An incremental image's origin must be installed (record and @final). */
static int check_origin(const struct pool *p, const char *uuid, const char *origin,
			struct zh_error *err)
{
	_cleanup_free_ char *rec = image_record_path(p, origin);
	_cleanup_free_ char *snap = NULL;

	if (!rec || !(snap = paths_image_final(origin)))
		return zh_error_oom(err);
	if (fsutil_exists(rec) && pool_dataset_exists(p, snap))
		return 0;
	return zh_error_set(err, ENOENT, "origin",
			    "image %s needs its origin image %s, which is not installed on "
			    "zpool \"%s\" (install or import the origin first)",
			    uuid, origin, p->name);
}

/* What is checked before the file is read: the manifest, not installed, its origin installed. */
static int install_check(const struct pool *p, const json_t *manifest, struct zh_error *err)
{
	const char *uuid = jsonutil_str(manifest, "uuid");
	const char *origin = jsonutil_str(manifest, "origin");
	_cleanup_free_ char *rec = NULL;
	int r;

	r = image_manifest_check(manifest, err);
	if (r < 0 || (r = supported_type(manifest, err)) < 0)
		return r;
	if (!json_object_get(manifest, "files"))
		return zh_error_set(err, EINVAL, "files", "manifest: \"files\" is required");
	rec = image_record_path(p, uuid);
	if (!rec)
		return zh_error_oom(err);
	if (fsutil_exists(rec))
		return zh_error_set(err, EEXIST, "uuid", "image %s is already installed", uuid);
	if (is_zvol(manifest))
		return image_zvol_check(p, manifest, err);
	if (origin && (r = check_origin(p, uuid, origin, err)) < 0)
		return r;
	return 0;
}

/* Unpack the verified file on fd into the image's datasets and record it; all or nothing. */
static int install_tree(const struct pool *p, const json_t *manifest, int fd, const char *label,
			const char *source, struct zh_error *err)
{
	const char *uuid = jsonutil_str(manifest, "uuid");
	int r = clear_leftovers(p, uuid, err);

	if (r < 0)
		return r;
	r = make_image(p, manifest, fd, label, err);
	if (r == 0)
		r = image_record_write(p, manifest, source, err);
	crashpoint("image.recorded");
	if (r < 0)
		undo_datasets(p, uuid);
	return r;
}

int image_install_manifest(const struct pool *p, const json_t *manifest, const char *file_path,
			   const char *source, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	int r = install_check(p, manifest, err);

	if (r < 0)
		return r;
	fd = image_file_verify(manifest, file_path, err);
	if (fd < 0)
		return fd;
	return install_tree(p, manifest, fd, file_path, source, err);
}

int image_install_verified(const struct pool *p, const json_t *manifest, int fd, const char *label,
			   const char *source, struct zh_error *err)
{
	int r = install_check(p, manifest, err);

	if (r < 0)
		return r;
	return install_tree(p, manifest, fd, label, source, err);
}

int image_install(const struct pool *p, const char *manifest_path, const char *file_path,
		  struct zh_error *err)
{
	_cleanup_json_ json_t *m = NULL;
	int r = image_manifest_load(manifest_path, &m, err);

	if (r < 0)
		return r;
	return image_install_manifest(p, m, file_path, NULL, err);
}

/* ---- get / list ---- */

static int add_clones(const struct pool *p, const char *uuid, json_t *rec, struct zh_error *err)
{
	size_t n = 0;
	int r = image_clones(p, uuid, &n, NULL, err);

	if (r < 0)
		return r;
	if (json_object_set_new(rec, "clones", json_integer((json_int_t)n)) < 0 ||
	    json_object_set_new(rec, "zpool", json_string(p->name)) < 0)
		return zh_error_oom(err);
	return 0;
}

int image_get(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *rec = NULL;
	int r;

	if (!util_is_uuid(uuid))
		return zh_error_set(err, ENOENT, "uuid",
				    "image \"%s\" was not found on zpool \"%s\"", uuid, p->name);
	r = image_record_load(p, uuid, &rec, err);
	if (r < 0 || (r = add_clones(p, uuid, rec, err)) < 0)
		return r;
	*out = TAKE_PTR(rec);
	return 0;
}

static const char *mfield(const json_t *rec, const char *key)
{
	const char *s = jsonutil_str(json_object_get(rec, "manifest"), key);

	return s ? s : "";
}

static int cmp_images(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(mfield(x, "published_at"), mfield(y, "published_at"));

	if (c == 0)
		c = strcmp(mfield(x, "name"), mfield(y, "name"));
	return c ? c : strcmp(mfield(x, "uuid"), mfield(y, "uuid"));
}

int image_list(const struct pool *p, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *uuids = json_array();
	_cleanup_json_ json_t *arr = json_array();
	_cleanup_free_ json_t **v = NULL;
	json_t *u;
	size_t i, n = 0;
	int r;

	if (!uuids || !arr)
		return zh_error_oom(err);
	r = image_record_uuids(p, uuids, err);
	if (r < 0)
		return r;
	v = calloc(json_array_size(uuids) + 1, sizeof(*v));
	if (!v)
		return zh_error_oom(err);
	json_array_foreach (uuids, i, u) {
		const char *s = json_string_value(u);

		if (!util_is_uuid(s))
			continue;
		r = image_get(p, s, &v[n], err);
		if (r < 0)
			goto fail;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_images);
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, TAKE_PTR(v[i])) < 0) {
			r = zh_error_oom(err);
			goto fail;
		}
	*out = TAKE_PTR(arr);
	return 0;
fail:
	for (i = 0; i < n; i++)
		json_decref(v[i]);
	return r;
}

/* ---- delete ---- */

static int refuse_if_used(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *first = NULL;
	size_t n = 0;
	int r = image_clones(p, uuid, &n, &first, err);

	if (r < 0)
		return r;
	if (n == 0)
		return 0;
	if (n == 1)
		return zh_error_set(err, EBUSY, "uuid", "image \"%s\" has dependent clones: %s",
				    uuid, first);
	return zh_error_set(err, EBUSY, "uuid",
			    "image \"%s\" has dependent clones: %s and %zu others...", uuid, first,
			    n - 1);
}

static int refuse_if_origin(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *first = NULL;
	size_t n = 0;
	int r = image_children(p, uuid, &n, &first, err);

	if (r < 0 || n == 0)
		return r;
	if (n == 1)
		return zh_error_set(err, EBUSY, "uuid",
				    "image \"%s\" is the origin of installed image %s "
				    "(delete that image first)",
				    uuid, first);
	return zh_error_set(err, EBUSY, "uuid",
			    "image \"%s\" is the origin of installed images %s and %zu others "
			    "(delete those images first)",
			    uuid, first, n - 1);
}

int image_delete(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_json_ json_t *rec = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *snap = NULL;
	int r;

	r = image_get(p, uuid, &rec, err);
	if (r < 0 || (r = refuse_if_used(p, uuid, err)) < 0 ||
	    (r = refuse_if_origin(p, uuid, err)) < 0)
		return r;
	path = image_record_path(p, uuid);
	if (!path || !(snap = paths_image_final(uuid)))
		return zh_error_oom(err);
	if (unlink(path) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", path);
	fsutil_fsync_parent(path);
	r = pool_subvol_destroy(p, snap, err);
	if (r == 0)
		r = pool_subvol_destroy(p, uuid, err);
	if (r < 0)
		return zh_error_prefix(err,
				       "image \"%s\" unrecorded, but its datasets "
				       "remain (the next install removes them)",
				       uuid);
	return 0;
}

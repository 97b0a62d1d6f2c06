/*
 * vm-disk.c - an HVM VM's disk files: create, update, quota.  See vm-disk.h.
 *
 * Owns: the files <zonepath>/disk<N> of HVM VMs (through pool-disk.c, by
 * the dataset's descriptor), root/ and root/tmp/ of a new HVM dataset,
 * the "path" of created disks and the "image_size" of image disks in the
 * config.  Does not own the dataset (vm.c), the validation of the disk
 * properties (vmcfg), the image (image.c).
 *
 *     vm_disks_create(p, vm, &err);                       in vm.c's build_vm
 *     vm_disks_update(p, old, nvm, &j, &err);             in vm.c's update
 *     vm_disk_journal_end(&j, saved);
 *
 * Invariants: a disk is a regular file named disk<N> at the top of the
 * VM's dataset; a path names it iff it is "<zonepath>/disk<N>".  An update
 * is all or nothing: a removed disk is first renamed to .disk<N>.removed,
 * a shrunk one first copied (reflink, O(1)) to .disk<N>.old, a grown one
 * truncated back, a created one unlinked; vm_disk_journal_end() finishes
 * or undoes.  Lock order: the caller holds the VM lock.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "jsonutil.h"
#include "paths.h"
#include "runstate.h"
#include "util.h"
#include "vm-disk.h"
#include "vmcfg-access.h"

#define DISK_NAME_MAX  24
#define DISK_INDEX_MAX 256 /* far beyond the PCI slots a guest has */

enum undo_op { UNDO_CREATED, UNDO_REMOVED, UNDO_GROWN, UNDO_SHRUNK, UNDO_COMPRESSION };

struct vm_disk_undo {
	enum undo_op op;
	char name[DISK_NAME_MAX];
	uint64_t size;	   /* UNDO_GROWN: the size before */
	char *compression; /* UNDO_COMPRESSION: the value before (NULL: off) */
};

/* The context of one create or update. */
struct disks_run {
	const struct pool *p;
	const char *uuid;
	char *zonepath;
	int dsfd;
	bool live;
	const json_t *old; /* update: the disks before */
	struct vm_disk_journal *j;
	struct zh_error *err;
};

/* ---- names ---- */

static bool is_created(const json_t *disk)
{
	const char *media = jsonutil_str(disk, "media");

	return !(media && streq(media, "cdrom")) &&
	       !json_is_true(json_object_get(disk, "nocreate"));
}

/* The disk<N> that path names inside zonepath, into name; false if it is none. */
static bool disk_name(const char *zonepath, const char *path, char name[DISK_NAME_MAX],
		      unsigned *index)
{
	size_t zl = strlen(zonepath);
	unsigned n;
	int end = 0;

	if (!path || strncmp(path, zonepath, zl) != 0 || path[zl] != '/')
		return false;
	if (sscanf(path + zl + 1, "disk%3u%n", &n, &end) != 1 || path[zl + 1 + end] != '\0' ||
	    n >= DISK_INDEX_MAX)
		return false;
	snprintf(name, DISK_NAME_MAX, "disk%u", n);
	if (!streq(name, path + zl + 1)) /* "disk007" is not disk7 */
		return false;
	if (index)
		*index = n;
	return true;
}

static json_t *find_path(const json_t *disks, const char *path)
{
	json_t *d;
	size_t i;

	json_array_foreach (disks, i, d)
		if (path && jsonutil_str(d, "path") && streq(jsonutil_str(d, "path"), path))
			return d;
	return NULL;
}

static int64_t mib_of(const json_t *disk, const char *key)
{
	const json_t *v = json_object_get(disk, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Refuse disks.<i>.<sub> with why. */
static int bad(struct disks_run *r, size_t i, const char *sub, const char *why)
{
	char prop[48];

	snprintf(prop, sizeof(prop), "disks.%zu.%s", i, sub);
	return zh_error_set(r->err, EINVAL, prop, "%s %s", prop, why);
}

/* ---- the journal ---- */

static int journal_add(struct disks_run *r, enum undo_op op, const char *name, uint64_t size,
		       const char *comp)
{
	struct vm_disk_journal *j = r->j;
	struct vm_disk_undo *u;

	if (!j)
		return 0;
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 8;
		struct vm_disk_undo *v = realloc(j->v, cap * sizeof(*v));

		if (!v)
			return zh_error_oom(r->err);
		j->v = v;
		j->cap = cap;
	}
	u = &j->v[j->n];
	*u = (struct vm_disk_undo){.op = op, .size = size};
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (comp && !(u->compression = strdup(comp)))
		return zh_error_oom(r->err);
	j->n++;
	return 0;
}

static void aside(char out[DISK_NAME_MAX + 16], const char *name, const char *suffix)
{
	snprintf(out, DISK_NAME_MAX + 16, ".%s.%s", name, suffix);
}

static void undo_one(int ds, const struct vm_disk_undo *u, struct zh_error *e)
{
	char tmp[DISK_NAME_MAX + 16];

	switch (u->op) {
	case UNDO_CREATED: pool_disk_remove(ds, u->name, e); break;
	case UNDO_REMOVED:
		aside(tmp, u->name, "removed");
		pool_disk_rename(ds, tmp, u->name, e);
		break;
	case UNDO_SHRUNK:
		aside(tmp, u->name, "old");
		pool_disk_rename(ds, tmp, u->name, e);
		break;
	case UNDO_GROWN: pool_disk_resize(ds, u->name, u->size, e); break;
	case UNDO_COMPRESSION: pool_disk_compression(ds, u->name, u->compression, e); break;
	}
	zh_error_clear(e);
}

static void finish_one(int ds, const struct vm_disk_undo *u, struct zh_error *e)
{
	char tmp[DISK_NAME_MAX + 16];

	if (u->op != UNDO_REMOVED && u->op != UNDO_SHRUNK)
		return;
	aside(tmp, u->name, u->op == UNDO_REMOVED ? "removed" : "old");
	pool_disk_remove(ds, tmp, e);
	zh_error_clear(e);
}

void vm_disk_journal_end(struct vm_disk_journal *j, bool ok)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	for (size_t i = j->n; i-- > 0;) {
		if (ok)
			finish_one(j->dsfd, &j->v[i], &ignored);
		else
			undo_one(j->dsfd, &j->v[i], &ignored);
		free(j->v[i].compression);
	}
	free(j->v);
	closep(&j->dsfd);
	*j = (struct vm_disk_journal)VM_DISK_JOURNAL_INIT;
}

/* ---- making one disk ---- */

/* The image's disk file (read-only) and its size in MiB. */
static int open_image_disk(struct disks_run *r, const char *img, size_t i, uint64_t *mib)
{
	_cleanup_free_ char *snap = paths_image_final(img);
	_cleanup_close_ int ds = -EBADF;
	struct stat st;
	int fd;

	if (!snap)
		return zh_error_oom(r->err);
	ds = pool_dataset_open(r->p, snap, r->err);
	fd = ds < 0 ? -1 : openat(ds, IMAGE_ZVOL_DISK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		zh_error_clear(r->err);
		return bad(r, i, "image_uuid", "is not an installed zvol image on this zpool");
	}
	*mib = (uint64_t)st.st_size >> 20;
	return fd;
}

/* size and image_size of an image disk: size defaults to the image's, never below it. */
static int image_sizes(struct disks_run *r, json_t *disk, size_t i, uint64_t img_mib,
		       uint64_t *size)
{
	int64_t isz = mib_of(disk, "image_size"), sz = mib_of(disk, "size");

	if (isz >= 0 && (uint64_t)isz != img_mib)
		return bad(r, i, "image_size", "differs from the image's image_size");
	if (sz >= 0 && (uint64_t)sz < img_mib)
		return bad(r, i, "size", "is smaller than the image's image_size");
	*size = sz >= 0 ? (uint64_t)sz : img_mib;
	if (json_object_set_new(disk, "image_size", json_integer((json_int_t)img_mib)) < 0 ||
	    json_object_set_new(disk, "size", json_integer((json_int_t)*size)) < 0)
		return zh_error_oom(r->err);
	return 0;
}

/* The source fd (or -EBADF) and the size in MiB of disk i. */
static int disk_source(struct disks_run *r, json_t *disk, size_t i, uint64_t *size)
{
	const char *img = jsonutil_str(disk, "image_uuid");
	const char *zpool = jsonutil_str(disk, "zpool");
	uint64_t img_mib = 0;
	int fd, ret;

	if (zpool && !streq(zpool, r->p->name))
		return bad(r, i, "zpool", "must be the VM's zpool here");
	if (!img) {
		if (mib_of(disk, "size") <= 0)
			return bad(r, i, "size", "is required (MiB) for a disk without image");
		*size = (uint64_t)mib_of(disk, "size");
		return -EBADF;
	}
	fd = open_image_disk(r, img, i, &img_mib);
	if (fd < 0)
		return fd;
	ret = image_sizes(r, disk, i, img_mib, size);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

static int set_compression(struct disks_run *r, const char *name, const json_t *disk,
			   const char *before)
{
	const char *c = jsonutil_str(disk, "compression");
	int ret;

	if (!c || (before ? streq(c, before) : streq(c, "off")))
		return 0;
	ret = pool_disk_compression(r->dsfd, name, c, r->err);
	if (ret < 0)
		return ret;
	return journal_add(r, UNDO_COMPRESSION, name, 0, before);
}

static int make_disk(struct disks_run *r, json_t *disk, size_t i, unsigned n)
{
	char name[DISK_NAME_MAX];
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int src = -EBADF;
	uint64_t size = 0;
	int ret;

	snprintf(name, sizeof(name), "disk%u", n);
	src = disk_source(r, disk, i, &size);
	if (src < 0 && src != -EBADF)
		return src;
	if (size > (UINT64_MAX >> 21))
		return bad(r, i, "size", "is too large");
	if ((ret = pool_disk_create(r->dsfd, name, src, size << 20, r->err)) < 0 ||
	    (ret = journal_add(r, UNDO_CREATED, name, 0, NULL)) < 0)
		return ret;
	if ((ret = set_compression(r, name, disk, NULL)) < 0)
		return ret;
	path = paths_join(r->zonepath, name);
	if (!path || json_object_set_new(disk, "path", json_string(path)) < 0)
		return zh_error_oom(r->err);
	return 0;
}

static void mark_used(const struct disks_run *r, const json_t *disks, bool used[DISK_INDEX_MAX])
{
	char name[DISK_NAME_MAX];
	json_t *d;
	size_t i;
	unsigned k;

	json_array_foreach (disks, i, d)
		if (disk_name(r->zonepath, jsonutil_str(d, "path"), name, &k))
			used[k] = true;
}

/* Create every created disk of disks that has no path yet, at the lowest free indexes. */
static int add_disks(struct disks_run *r, json_t *disks)
{
	bool used[DISK_INDEX_MAX] = {false};
	unsigned n = 0;
	json_t *d;
	size_t i;
	int ret;

	mark_used(r, disks, used);
	json_array_foreach (disks, i, d) {
		if (!is_created(d))
			continue;
		if (json_object_get(d, "path") && find_path(r->old, jsonutil_str(d, "path")))
			continue;
		if (json_object_get(d, "path"))
			return bad(r, i, "path", "may only be given for a cdrom or nocreate disk");
		if (r->live)
			return bad(r, i, "path", "cannot add a disk while the VM is running");
		while (n < DISK_INDEX_MAX && used[n])
			n++;
		if (n == DISK_INDEX_MAX)
			return bad(r, i, "path", "too many disks");
		if ((ret = make_disk(r, d, i, n)) < 0)
			return ret;
		used[n] = true;
	}
	return 0;
}

/* ---- create ---- */

static int make_jail_root(int ds, struct zh_error *err)
{
	_cleanup_close_ int root = -EBADF;

	if (mkdirat(ds, PATHS_DS_ROOT, 0755) < 0)
		return zh_error_set(err, errno, NULL, "cannot create the VM's root/: %m");
	root = openat(ds, PATHS_DS_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0 || mkdirat(root, "tmp", 0755) < 0 || fchmodat(root, "tmp", 01777, 0) < 0)
		return zh_error_set(err, errno, NULL, "cannot create the VM's root/tmp/: %m");
	return 0;
}

static int run_open(struct disks_run *r, const struct pool *p, const json_t *vm,
		    struct zh_error *err)
{
	*r = (struct disks_run){.p = p, .uuid = vmcfg_uuid(vm), .dsfd = -EBADF, .err = err};
	if (!(r->zonepath = pool_dataset_path(p, r->uuid)))
		return zh_error_oom(err);
	r->dsfd = pool_dataset_open(p, r->uuid, err);
	return r->dsfd < 0 ? r->dsfd : 0;
}

static void run_close(struct disks_run *r)
{
	free(r->zonepath);
	closep(&r->dsfd);
}

int vm_disks_create(const struct pool *p, json_t *vm, struct zh_error *err)
{
	struct disks_run r;
	int ret;

	if (!vmcfg_is_hvm(vm))
		return 0;
	ret = run_open(&r, p, vm, err);
	if (ret == 0)
		ret = make_jail_root(r.dsfd, err);
	if (ret == 0)
		ret = add_disks(&r, json_object_get(vm, "disks"));
	run_close(&r);
	return ret;
}

/* ---- update ---- */

static int remove_gone(struct disks_run *r, const json_t *old, const json_t *disks)
{
	char name[DISK_NAME_MAX], tmp[DISK_NAME_MAX + 16];
	json_t *d;
	size_t i;
	int ret;

	json_array_foreach (old, i, d) {
		const char *path = jsonutil_str(d, "path");

		if (!is_created(d) || find_path(disks, path) ||
		    !disk_name(r->zonepath, path, name, NULL))
			continue;
		if (r->live)
			return zh_error_set(r->err, EBUSY, "remove_disks",
					    "cannot remove disk %s while the VM is running", path);
		aside(tmp, name, "removed");
		if ((ret = pool_disk_rename(r->dsfd, name, tmp, r->err)) < 0 ||
		    (ret = journal_add(r, UNDO_REMOVED, name, 0, NULL)) < 0)
			return ret;
	}
	return 0;
}

static int shrink(struct disks_run *r, const char *name, uint64_t bytes)
{
	char tmp[DISK_NAME_MAX + 16];
	int ret;

	aside(tmp, name, "old");
	pool_disk_remove(r->dsfd, tmp, r->err); /* a killed update's */
	if ((ret = pool_disk_copy(r->dsfd, name, tmp, r->err)) < 0 ||
	    (ret = journal_add(r, UNDO_SHRUNK, name, 0, NULL)) < 0)
		return ret;
	return pool_disk_resize(r->dsfd, name, bytes, r->err);
}

/* A shrink reaching here was allowed: vmcfg-disk.c refuses one without dangerous_allow_shrink. */
static int resize(struct disks_run *r, const char *name, json_t *d, size_t i)
{
	int64_t want = mib_of(d, "size");
	uint64_t have = 0;
	int ret = pool_disk_size(r->dsfd, name, &have, r->err);

	if (ret < 0 || want < 0 || (uint64_t)want == have >> 20)
		return ret;
	if (r->live)
		return bad(r, i, "size", "cannot resize a disk while the VM is running");
	if ((uint64_t)want > (UINT64_MAX >> 21))
		return bad(r, i, "size", "is too large");
	if ((uint64_t)want << 20 > have) {
		if ((ret = pool_disk_resize(r->dsfd, name, (uint64_t)want << 20, r->err)) < 0)
			return ret;
		return journal_add(r, UNDO_GROWN, name, have, NULL);
	}
	return shrink(r, name, (uint64_t)want << 20);
}

static int change_kept(struct disks_run *r, const json_t *old, json_t *disks)
{
	char name[DISK_NAME_MAX];
	json_t *d, *o;
	size_t i;
	int ret;

	json_array_foreach (disks, i, d) {
		o = find_path(old, jsonutil_str(d, "path"));
		if (!o || !is_created(d) ||
		    !disk_name(r->zonepath, jsonutil_str(d, "path"), name, NULL))
			continue;
		if (!json_equal(json_object_get(o, "block_size"),
				json_object_get(d, "block_size")) &&
		    (json_object_get(o, "block_size") || json_object_get(d, "block_size")))
			return bad(r, i, "block_size",
				   "cannot change .block_size for a disk after creation");
		if ((ret = resize(r, name, d, i)) < 0 ||
		    (ret = set_compression(r, name, d, jsonutil_str(o, "compression"))) < 0)
			return ret;
	}
	return 0;
}

int vm_disks_update(const struct pool *p, const json_t *old, json_t *nvm, struct vm_disk_journal *j,
		    struct zh_error *err)
{
	const json_t *od = json_object_get(old, "disks");
	json_t *nd = json_object_get(nvm, "disks");
	struct disks_run r;
	int ret;

	if (!vmcfg_is_hvm(nvm) || json_equal(od, nd))
		return 0;
	ret = run_open(&r, p, nvm, err);
	r.j = j;
	r.old = od;
	r.live = runstate_is_live(r.uuid);
	j->dsfd = TAKE_FD(r.dsfd);
	r.dsfd = j->dsfd;
	if (ret == 0)
		ret = remove_gone(&r, od, nd);
	if (ret == 0)
		ret = change_kept(&r, od, nd);
	if (ret == 0)
		ret = add_disks(&r, nd);
	free(r.zonepath);
	if (ret < 0)
		vm_disk_journal_end(j, false);
	return ret;
}

/* ---- receive ---- */

/* The canonical "disk<N>" at the end of path, into name. */
static bool base_name(const char *path, char name[DISK_NAME_MAX])
{
	const char *b = path ? strrchr(path, '/') : NULL;
	unsigned n;
	int end = 0;

	if (!b || sscanf(b + 1, "disk%3u%n", &n, &end) != 1 || b[1 + end] != '\0')
		return false;
	snprintf(name, DISK_NAME_MAX, "disk%u", n);
	return streq(name, b + 1);
}

int vm_disks_relocate(const struct pool *p, json_t *vm, struct zh_error *err)
{
	_cleanup_free_ char *zonepath = pool_dataset_path(p, vmcfg_uuid(vm));
	char name[DISK_NAME_MAX];
	json_t *d;
	size_t i;

	if (!zonepath)
		return zh_error_oom(err);
	json_array_foreach (json_object_get(vm, "disks"), i, d) {
		_cleanup_free_ char *path = NULL;

		if (!is_created(d))
			continue;
		if (!base_name(jsonutil_str(d, "path"), name))
			return zh_error_set(err, EINVAL, "disks",
					    "disks.%zu.path of a created disk must end in disk<N>",
					    i);
		path = paths_join(zonepath, name);
		if (!path || json_object_set_new(d, "path", json_string(path)) < 0)
			return zh_error_oom(err);
	}
	return 0;
}

void vm_disks_drop_paths(json_t *vm)
{
	json_t *d;
	size_t i;

	json_array_foreach (json_object_get(vm, "disks"), i, d)
		if (is_created(d))
			json_object_del(d, "path");
}

/* ---- quota ---- */

uint64_t vm_disks_quota_extra(const json_t *vm)
{
	int64_t flex = mib_of(vm, "flexible_disk_size");
	uint64_t mib = 0;
	json_t *d;
	size_t i;

	if (!vmcfg_is_hvm(vm))
		return 0;
	if (flex > 0)
		return (uint64_t)flex << 20;
	json_array_foreach (json_object_get(vm, "disks"), i, d)
		if (is_created(d) && mib_of(d, "size") > 0)
			mib += (uint64_t)mib_of(d, "size");
	return mib << 20;
}

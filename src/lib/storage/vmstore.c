/*
 * vmstore.c - the stored configs of this host's VMs.  See vmstore.h.
 *
 * Design: a VM exists iff <pool mount>/.vmadm/<uuid>.json exists, its
 * config (the only truth about it, docs/architecture.md §14).  The config lives beside
 * the VM's dataset, not in it: outside the dataset's quota, so a tenant who
 * fills the quota never blocks the operator's changes, and out of the
 * tenant's data (a received stream, a rollback, a snapshot never carry or
 * replace it; `vmadm send` carries it in the stream's JSON chunk).  A pool
 * written by an older zonehost keeps it in <uuid>/config/vm.json: the
 * first read of a pool without .vmadm/ moves every such config out
 * (vmstore-read.c).  Every config written goes through the host index
 * first (vmstore-index.c), so create never reads every VM's.  Listing reads .vmadm/ and
 * each config once: no subprocess, no btrfs ioctl, so `vmadm list` stays
 * linear and cheap.  This module knows stored configs only; the derived
 * fields of `vmadm get` are added one layer up (vm/vm-view.c) and stripped
 * again by vmstore_save(), so they are never stored.
 *
 * Lock order: callers that write hold lock_vm(uuid); reads take no lock
 * (the config is replaced atomically, so a reader sees old or new).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "props.h"
#include "util.h"
#include "vmcfg-access.h"
#include "vmstore-internal.h"
#include "vmstore.h"

/* Move an older zonehost's configs into place; the host index is told. */
static int migrate_once(const struct pool *p, struct zh_error *err)
{
	int r = vmstore_migrate(p, err);

	if (r > 0) /* configs the host index has not seen */
		vmstore_index_invalidate();
	return r < 0 ? r : 0;
}

int vmstore_load_pool(const struct pool *p, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return zh_error_oom(err);
	r = migrate_once(p, err);
	if (r == 0)
		r = vmstore_read_pool(p, arr, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(arr);
	return 0;
}

static int no_such_vm(const char *uuid, struct zh_error *err)
{
	return zh_error_set(err, ENOENT, "uuid", "zoneadm: %s: No such zone configured", uuid);
}

int vmstore_find_pool(const char *uuid, struct pool **pool_out, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r;

	r = pool_list(&names, err);
	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_pool_ struct pool *p = NULL;

		r = pool_open(*n, &p, err);
		if (r < 0 || (r = migrate_once(p, err)) < 0)
			return r;
		if (!vmstore_has_config(p, uuid))
			continue;
		*pool_out = TAKE_PTR(p);
		return 0;
	}
	return no_such_vm(uuid, err);
}

int vmstore_load(const struct pool *p, const char *uuid, json_t **vm_out, struct zh_error *err)
{
	int r = vmstore_read_one(p, uuid, vm_out, err);

	if (r == -ENOENT) { /* deleted meanwhile */
		zh_error_clear(err);
		return no_such_vm(uuid, err);
	}
	return r;
}

int vmstore_find_stored(const char *uuid, struct pool **pool_out, json_t **vm_out,
			struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0 || (r = vmstore_load(p, uuid, vm_out, err)) < 0)
		return r;
	*pool_out = TAKE_PTR(p);
	return 0;
}

/* ---- save ---- */

/* The table decides: every PROPS_F_DERIVED field goes. */
void vmstore_strip_derived(json_t *vm)
{
	for (size_t i = 0; i < props_count(); i++)
		if (props_at(i)->flags & PROPS_F_DERIVED)
			json_object_del(vm, props_at(i)->name);
}

/*
 * The host index learns the config before it is written (so it never
 * lacks a slot or NIC key that a config holds); if it cannot, it is
 * invalidated after the write, so the next use rescans.
 */
static int save_indexed(const char *path, const json_t *vm, struct zh_error *err)
{
	struct zh_error e = ZH_ERROR_INIT;
	int ix = vmstore_index_add(vm, &e), r;

	zh_error_clear(&e);
	r = jsonutil_store_file(path, vm, err);
	if (ix < 0)
		vmstore_index_invalidate();
	return r;
}

int vmstore_save(const struct pool *p, const json_t *vm, struct zh_error *err)
{
	_cleanup_json_ json_t *copy = json_deep_copy(vm);
	_cleanup_free_ char *path = NULL, *dir = NULL;
	const char *uuid = vmcfg_uuid(vm);

	if (!uuid)
		return zh_error_set(err, EINVAL, "uuid", "VM config has no uuid");
	if (!copy || !(path = vmstore_config_path(p, uuid)) ||
	    !(dir = paths_vm_configs(p->mountpoint)))
		return zh_error_oom(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
	vmstore_strip_derived(copy);
	return save_indexed(path, copy, err);
}

int vmstore_remove(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);

	if (!path)
		return zh_error_oom(err);
	if (unlink(path) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", path);
	fsutil_fsync_parent(path);
	return 0;
}

/* ---- the marks of VMs being made ---- */

static char *mark_path(const struct pool *p, const char *uuid)
{
	return paths_new_mark(p->mountpoint, uuid);
}

int vmstore_mark_new(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = mark_path(p, uuid);
	_cleanup_free_ char *dir = paths_new_marks(p->mountpoint);
	_cleanup_close_ int fd = -EBADF;

	if (!path || !dir)
		return zh_error_oom(err);
	for (int i = 0; i < 3 && fd < 0; i++) { /* ENOENT: an unmark took the empty dir away */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != ENOENT)
			break;
	}
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", path);
	/* No fsync: the snapshot or subvolume made next commits the pool's
	 * transaction, and the mark with it. */
	return 0;
}

/* The marks' directory goes with its last mark: a pool looks as it did. */
void vmstore_unmark_new(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *path = mark_path(p, uuid);
	_cleanup_free_ char *dir = paths_new_marks(p->mountpoint);

	if (path) /* a mark that outlives a power cut, config saved, is only dropped */
		unlink(path);
	if (dir)
		rmdir(dir); /* ENOTEMPTY while another VM is being made */
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

int vmstore_marked_new(const struct pool *p, char ***out, struct zh_error *err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	_cleanup_free_ char *dir = paths_new_marks(p->mountpoint);
	size_t n = 0;
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (!v || !dir)
		return zh_error_oom(err);
	d = opendir(dir); /* only the marks: O(VMs being made), not O(VMs) */
	while (d && r == 0 && (de = readdir(d)))
		if (util_is_uuid(de->d_name))
			r = strv_push(&v, &n, de->d_name);
	if (d)
		closedir(d);
	if (r < 0)
		return zh_error_oom(err);
	*out = TAKE_PTR(v);
	return 0;
}

/*
 * vm-snapshot.c - VM snapshots: create, delete, list and rollback.
 *
 * Owns: the read-only subvolumes "<uuid>@vmsnap-<name>" beside a VM's
 * dataset, and the rollback transaction.  btrfs has no in-place rollback,
 * so a rollback clones the snapshot to "<uuid>-rollback" (the config lives
 * beside the dataset, vmstore.c, so it is never rolled back), exchanges
 * the two names atomically and drops the old dataset (and the
 * snapshots newer than the one rolled back to) into the pool's trash, which
 * a detached process destroys after the command returns (pool-trash.c:
 * destroying a subvolume prunes its cached files first).  Every step the
 * caller waits for is O(1) in the number of files.
 *
 *     vm_snapshot_create(uuid, "before-upgrade", &err);
 *     vm_snapshot_rollback(uuid, "before-upgrade", &err);
 *
 * Invariants: every change happens with the VM lock held (lock_vm());
 * vm_start runs after the lock is dropped, since it takes it itself.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "crashpoint.h"
#include "jsonutil.h"
#include "lock.h"
#include "macro.h"
#include "paths.h"
#include "pool.h"
#include "runstate.h"
#include "util.h"
#include "vm-view.h"
#include "vm.h"
#include "vmcfg-access.h"
#include "vmstore.h"

#define SNAP_NAME_MAX 64

bool vm_snapshot_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > SNAP_NAME_MAX)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_.:%") == n;
}

/* "<uuid>@vmsnap-<name>" */
static char *snap_ds(const char *uuid, const char *name)
{
	return paths_vmsnap(uuid, name);
}

static int check_name(const char *name, struct zh_error *err)
{
	if (vm_snapshot_name_valid(name))
		return 0;
	return zh_error_set(err, EINVAL, "snapshot",
			    "Invalid snapshot name \"%s\": 1-64 characters of [a-zA-Z0-9-_.:%%]",
			    name ? name : "");
}

/* Lock an existing VM; its pool in *p. */
static int lock_existing(const char *uuid, struct pool **p, struct zh_error *err)
{
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(uuid, p, &vm, err);

	if (r < 0)
		return r;
	return lock_vm(uuid, err);
}

/* ---- create / delete ---- */

/* SmartOS refuses snapshots of kvm VMs; bhyve's (disks in the dataset) are taken. */
static int refuse_kvm(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_load(p, uuid, &vm, err);
	const char *brand = r < 0 ? NULL : vmcfg_brand(vm);

	if (r < 0)
		return r;
	if (brand && streq(brand, "kvm"))
		return zh_error_set(err, ENOTSUP, "brand",
				    "snapshots for kvm VMs currently unsupported");
	return 0;
}

int vm_snapshot_create(const char *uuid, const char *name, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int vl = -EBADF;
	_cleanup_free_ char *ds = NULL;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	if ((vl = lock_existing(uuid, &p, err)) < 0)
		return vl;
	if ((r = refuse_kvm(p, uuid, err)) < 0)
		return r;
	if (!(ds = snap_ds(uuid, name)))
		return zh_error_oom(err);
	if (pool_dataset_exists(p, ds))
		return zh_error_set(err, EEXIST, "snapshot",
				    "snapshot with name \"%s\" already exists.", name);
	return pool_snapshot_create(p, uuid, strchr(ds, '@') + 1, err);
}

static int need_snapshot(const struct pool *p, const char *uuid, const char *name, char **ds,
			 struct zh_error *err)
{
	if (!(*ds = snap_ds(uuid, name)))
		return zh_error_oom(err);
	if (!pool_dataset_exists(p, *ds))
		return zh_error_set(err, ENOENT, "snapshot",
				    "snapshot with name \"%s\" does not exist for VM %s", name,
				    uuid);
	return 0;
}

int vm_snapshot_delete(const char *uuid, const char *name, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int vl = -EBADF;
	_cleanup_free_ char *ds = NULL;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	if ((vl = lock_existing(uuid, &p, err)) < 0)
		return vl;
	if ((r = need_snapshot(p, uuid, name, &ds, err)) < 0)
		return r;
	return pool_subvol_destroy(p, ds, err);
}

/* ---- rollback ---- */

static int quota_of(const char *uuid, uint64_t *bytes, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(uuid, &p, &vm, err);
	json_int_t q;

	if (r < 0)
		return r;
	q = vmcfg_quota(vm);
	*bytes = q > 0 ? (uint64_t)q << 30 : 0;
	return 0;
}

/* Clone snap, swap it in, drop the old dataset; undo on failure. */
static int swap_in(const struct pool *p, const char *uuid, const char *snap, uint64_t quota,
		   struct zh_error *err)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_free_ char *tmp = NULL;
	int r;

	if (asprintf(&tmp, "%s" PATHS_ROLLBACK_SUFFIX, uuid) < 0)
		return zh_error_oom(err);
	pool_subvol_destroy(p, tmp, &ignored); /* a leftover of a crash */
	zh_error_clear(&ignored);
	if ((r = pool_clone(p, snap, tmp, err)) < 0)
		return r;
	crashpoint("rollback.cloned");
	if ((quota && (r = pool_quota_set(p, tmp, quota, err)) < 0) ||
	    (r = pool_dataset_exchange(p, uuid, tmp, err)) < 0) {
		pool_subvol_destroy(p, tmp, &ignored);
		zh_error_clear(&ignored);
		return r;
	}
	crashpoint("rollback.swapped");
	r = pool_trash(p, tmp, err);
	crashpoint("rollback.trashed");
	return r;
}

/* Destroy the snapshots newer than ds (they come before it, newest first). */
static int destroy_newer(const struct pool *p, const char *uuid, const char *name,
			 struct zh_error *err)
{
	_cleanup_json_ json_t *snaps = NULL;
	json_t *s;
	size_t i;
	int r = vm_snapshot_list(p, uuid, &snaps, err);

	json_array_foreach (snaps, i, s) {
		const char *nm = jsonutil_str(s, "name");
		_cleanup_free_ char *ds = NULL;

		if (r < 0 || streq(nm, name))
			break;
		if (!(ds = snap_ds(uuid, nm)))
			r = zh_error_oom(err);
		else
			r = pool_trash(p, ds, err);
	}
	return r;
}

static int rollback_locked(const char *uuid, const char *name, bool *was_running,
			   struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int vl = lock_existing(uuid, &p, err);
	_cleanup_free_ char *ds = NULL;
	uint64_t quota = 0;
	int r;

	if (vl < 0)
		return vl;
	if ((r = need_snapshot(p, uuid, name, &ds, err)) < 0 ||
	    (r = quota_of(uuid, &quota, err)) < 0)
		return r;
	*was_running = runstate_is_live(uuid);
	if (*was_running && (r = vm_stop_locked(uuid, -1, false, err)) < 0 && r != -ENOTCONN)
		return r;
	zh_error_clear(err);
	crashpoint("rollback.stopped");
	if ((r = swap_in(p, uuid, ds, quota, err)) == 0)
		r = destroy_newer(p, uuid, name, err);
	pool_trash_empty_later(p); /* the old dataset and newer snapshots, after we return */
	return r;
}

int vm_snapshot_rollback(const char *uuid, const char *name, struct zh_error *err)
{
	bool was_running = false;
	int r = check_name(name, err);

	if (r < 0)
		return r;
	r = rollback_locked(uuid, name, &was_running, err);
	if (r < 0 || !was_running)
		return r;
	return vm_start(uuid, err);
}

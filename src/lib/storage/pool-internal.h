/*
 * pool-internal.h - what pool.c, pool-loop.c and pool-btrfs.c share.
 * Not part of the library's interface: only the pool module includes it.
 *
 *   pool.c        records, create/open/destroy/status (the transactions)
 *   pool-loop.c   loop devices behind file-backed pools
 *   pool-btrfs.c  mkfs, mounts, quota, subvolumes, snapshots, qgroups
 *   pool-trash.c  datasets destroyed after the command returns
 *   pool-stage.c  staging subvolumes for data not yet a dataset
 */
#ifndef ZH_POOL_INTERNAL_H
#define ZH_POOL_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

DEFINE_CLEANUP_FUNC(DIR, closedir)

#define SUBVOL_ROOT_INO 256 /* BTRFS_FIRST_FREE_OBJECTID: a subvolume's root */

/* btrfs cannot be made smaller than this (mkfs.btrfs refuses ~114 MiB). */
#define POOL_MIN_SIZE (128ULL << 20)

/*
 * Attach file to a free loop device with LO_FLAGS_AUTOCLEAR.  Returns an
 * open fd on the device (the device stays attached while it, or a mount
 * of it, is open: closing the fd without mounting detaches it) and its
 * path in *dev.  Retries the LOOP_CTL_GET_FREE / LOOP_CONFIGURE race.
 */
int pool_loop_attach(const char *file, char **dev, struct zh_error *err);

/* Wait (up to ~2 s) until no loop device is backed by file. */
int pool_loop_wait_detached(const char *file, struct zh_error *err);

/* true when btrfs is listed in /proc/filesystems. */
bool pool_btrfs_supported(void);

/* Run `mkfs.btrfs -q -f dev`; the error carries mkfs's last stderr line. */
int pool_btrfs_mkfs(const char *dev, struct zh_error *err);

/* Enable quota accounting (BTRFS_IOC_QUOTA_CTL) on the fs holding path. */
int pool_btrfs_quota_enable(const char *path, struct zh_error *err);

/* true if path is a directory on a btrfs file system. */
bool pool_btrfs_is_btrfs(const char *path);

/*
 * Look path up in /proc/self/mountinfo as a mount point; 1 if mounted
 * (fstype and source copied out when asked for), 0 if not, <0 on error.
 */
int pool_mountinfo_find(const char *path, char **fstype, char **source);

/*
 * Set the limit of qgroup 0/<id> (a subvolume of the pool mounted at
 * mountpoint) to bytes of referenced data; 0 = none.  name is for messages.
 */
int pool_btrfs_qgroup_limit(const char *mountpoint, uint64_t id, uint64_t bytes, const char *name,
			    struct zh_error *err);

/* Count the entries of pool_dataset_list() without keeping them. */
int pool_btrfs_dataset_count(const char *mountpoint);

/* The pool's top directory, opened (O_DIRECTORY); -errno with err set. */
int pool_btrfs_top(const struct pool *p, struct zh_error *err);

/*
 * Open entry name of directory dfd without following a link, as a
 * subvolume whose parent subvolume and directory are dfd's on the same
 * file system (so it is that entry, not a symlink nor a mount over it):
 * its fd in *fd and its id in *id (if id).  -ENOENT when there is no
 * entry, -ENOTDIR or -EXDEV when the entry is something else.
 */
int pool_btrfs_subvol_at(int dfd, const char *name, int *fd, uint64_t *id);

/*
 * Delete subvolume id and every subvolume nested in it (deepest first),
 * all by id: no path inside the subvolume is resolved.  anyfd is any fd
 * on the file system (the pool's top).  -errno.
 */
int pool_btrfs_destroy(int anyfd, uint64_t id);

#endif

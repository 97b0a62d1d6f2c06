/*
 * pool.h - the storage pool: a btrfs file system with quota accounting,
 * and the datasets (subvolumes) and snapshots inside it.
 *
 * Owns: the pool's configuration record (<config>/pools/<name>.json), its
 * mount, the loop device behind a file-backed pool (attached with
 * LO_FLAGS_AUTOCLEAR, so the mount is the loop device's only owner and
 * unmounting frees it), and every subvolume and snapshot in it.
 *
 * Naming (mirrors ZFS): dataset "<name>" is the subvolume
 * <mountpoint>/<name>; snapshot "<ds>@<snap>" is the read-only subvolume
 * <mountpoint>/<ds>@<snap>, a sibling of the dataset.  Images are
 * "<image-uuid>" with "<image-uuid>@final"; a VM is "<vm-uuid>".
 *
 *     struct pool *p = NULL;
 *     if (pool_open_default(&p, &err) < 0) ...       (creates "zones" if none)
 *     pool_clone(p, "<img>@final", "<vm>", &err);
 *     pool_quota_set(p, "<vm>", 10ULL << 30, &err);
 *     pool_free(p);
 *
 * Invariants: a dataset name never contains '/', and "@" only as the
 * snapshot separator; every function here is safe to call with the host
 * lock held; the only locks taken here are the leaf locks "pool-<name>"
 * (mount), "stage.<pool>" and "trash.<pool>" (docs/architecture.md §15).
 */
#ifndef ZH_POOL_H
#define ZH_POOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define POOL_DEFAULT_NAME "zones"
#define POOL_DEFAULT_SIZE (20ULL << 30)

enum pool_backing {
	POOL_BACKING_FILE,   /* sparse loop file (the embedded default) */
	POOL_BACKING_DEVICE, /* a block device we format */
	POOL_BACKING_MOUNT,  /* an existing btrfs mount we only use */
};

struct pool {
	char *name;
	char *mountpoint;
	enum pool_backing backing;
	char *source; /* file path, device path, or mount path */
};

struct pool_create_opts {
	const char *name; /* NULL: POOL_DEFAULT_NAME */
	enum pool_backing backing;
	const char *source; /* NULL for FILE: <state>/<name>.img */
	uint64_t size;	    /* FILE only; 0: POOL_DEFAULT_SIZE */
};

/* Pool names: [A-Za-z0-9_.-]{1,64}, not starting with '.' or '-'. */
bool pool_name_valid(const char *name);

/*
 * Create, format (FILE, DEVICE), mount and record a pool, with btrfs quota
 * accounting enabled.  -EEXIST when the name is taken.  On any failure,
 * every step already taken is undone (file removed, loop detached, ...).
 */
int pool_create(const struct pool_create_opts *o, struct pool **out, struct zh_error *err);

/* Open a recorded pool, mounting it (idempotently) if it is not mounted. -ENOENT if unknown. */
int pool_open(const char *name, struct pool **out, struct zh_error *err);

/*
 * The named pools opened (mounted), NULL-terminated, in the order given;
 * all or nothing.  pool_open_all: every pool of this host (pool_list).
 *
 *     _cleanup_pools_ struct pool **pools = NULL;
 *     if (pool_open_all(&pools, &err) < 0) ...
 *     for (struct pool **p = pools; *p; p++) ...
 */
int pool_open_names(char *const *names, struct pool ***out, struct zh_error *err);
int pool_open_all(struct pool ***out, struct zh_error *err);
void pool_free_all(struct pool **v);
DEFINE_CLEANUP_FUNC(struct pool *, pool_free_all)
#define _cleanup_pools_ _cleanup_(pool_free_allp)

/* pool_open(POOL_DEFAULT_NAME), creating the default file-backed pool when no pool exists at all.
 */
int pool_open_default(struct pool **out, struct zh_error *err);

/* Names of every recorded pool (NULL-terminated, sorted); empty vector if none. */
int pool_list(char ***names, struct zh_error *err);

/* stat(2) of pool name's record: its identity (a re-created pool gets a new one). */
struct stat;
int pool_record_stat(const char *name, struct stat *st);

/* Mount every recorded pool (host boot). Continues past failures, reports the first. */
int pool_mount_all(struct zh_error *err);

/*
 * JSON status: {"name","mountpoint","backing":"file|device|mount","source",
 * "size","used","free" (bytes),"datasets":N}.
 */
int pool_status(const struct pool *p, json_t **out, struct zh_error *err);

/*
 * Unmount (detaching the loop device), remove the backing file we made and
 * the record.  The caller decides whether images/VMs block it (see
 * zonehost pool destroy); with force, every dataset is deleted first.
 */
int pool_destroy(struct pool *p, bool force, struct zh_error *err);

/* Read a pool's record without mounting it (destroy of a broken pool). -ENOENT if unknown. */
int pool_load(const char *name, struct pool **out, struct zh_error *err);

/* true when a btrfs file system is mounted at p->mountpoint. */
bool pool_is_mounted(const struct pool *p);

/* "file", "device" or "mount". */
const char *pool_backing_name(enum pool_backing b);

void pool_free(struct pool *p);
DEFINE_CLEANUP_FUNC(struct pool, pool_free)
#define _cleanup_pool_ _cleanup_(pool_freep)

/* ---- datasets and snapshots ---- */

/* Newly allocated "<mountpoint>/<name>"; NULL on ENOMEM. */
char *pool_dataset_path(const struct pool *p, const char *name);
bool pool_dataset_exists(const struct pool *p, const char *name);

/*
 * An fd (O_DIRECTORY) on dataset or snapshot name, opened from the pool's
 * top without following links and checked to be that subvolume of this
 * pool; -ENOENT if absent, -ENOTDIR if the name is anything else.
 */
int pool_dataset_open(const struct pool *p, const char *name, struct zh_error *err);

/* Dataset name made mode 0700: its files are root's alone on the host. */
int pool_dataset_private(const struct pool *p, const char *name, struct zh_error *err);

int pool_subvol_create(const struct pool *p, const char *name, struct zh_error *err);

/* Writable snapshot of snapshot/dataset src as dataset dst (O(1)). */
int pool_clone(const struct pool *p, const char *src, const char *dst, struct zh_error *err);

/* Read-only snapshot "<ds>@<snap>" of ds. */
int pool_snapshot_create(const struct pool *p, const char *ds, const char *snap,
			 struct zh_error *err);

/* Delete a subvolume (dataset or "ds@snap"), including nested subvolumes. Missing is fine. */
int pool_subvol_destroy(const struct pool *p, const char *name, struct zh_error *err);

int pool_set_readonly(const struct pool *p, const char *name, bool ro, struct zh_error *err);

/* btrfs qgroup limit on the dataset's qgroup (referenced bytes); 0 = none. */
int pool_quota_set(const struct pool *p, const char *name, uint64_t bytes, struct zh_error *err);

/* Bytes the dataset's qgroup references (after a sync of the pool). */
int pool_quota_used(const struct pool *p, const char *name, uint64_t *bytes, struct zh_error *err);

/* Creation time of a subvolume (dataset or "ds@snap"), in ms since the epoch. */
int pool_subvol_otime(const struct pool *p, const char *name, int64_t *ms, struct zh_error *err);

/* Swap the names of two datasets atomically (renameat2 RENAME_EXCHANGE). */
int pool_dataset_exchange(const struct pool *p, const char *a, const char *b, struct zh_error *err);

/* Entry names directly under the mount point that are subvolumes (sorted). */
int pool_dataset_list(const struct pool *p, char ***names, struct zh_error *err);
/* The same, only the names starting with prefix: one readdir, no stat of the others. */
int pool_dataset_list_prefix(const struct pool *p, const char *prefix, char ***names,
			     struct zh_error *err);

/*
 * A received subvolume made a writable dataset: clear the read-only flag and
 * the received uuid (so its own snapshots are never taken for the sender's).
 */
int pool_dataset_adopt(const struct pool *p, const char *name, struct zh_error *err);

/* Commit the pool's file system: everything written so far is on disk. */
int pool_sync(const struct pool *p, struct zh_error *err);

/* ---- trash (pool-trash.c): datasets destroyed after the command returns ---- */

/* Rename dataset or snapshot name out of sight (O(1)); missing is fine. */
int pool_trash(const struct pool *p, const char *name, struct zh_error *err);

/* Destroy all trash now, waiting for any other emptier first. */
int pool_trash_empty(const struct pool *p, struct zh_error *err);

/* Destroy all trash in a detached process; returns at once. */
void pool_trash_empty_later(const struct pool *p);

/* pool_trash() then pool_trash_empty_later(); destroyed at once if it cannot be moved. */
void pool_drop(const struct pool *p, const char *name);

/*
 * ---- staging (pool-stage.c): private subvolumes for data that is not a
 * dataset yet (an image file while it downloads) ----
 */

/* A stage is refused unless this much of the pool stays free beside it. */
#define POOL_STAGE_RESERVE_PCT 5
/* Room for btrfs's own metadata in a stage's qgroup limit beside n bytes of data. */
#define POOL_STAGE_SLACK(n) ((1ULL << 20) + (n) / 64)

struct pool_stage {
	char *path; /* <mountpoint>/.stage-<random> */
	int fd;	    /* its directory, flock'ed while the owner lives */
};

#define POOL_STAGE_INIT      \
	{                    \
		.fd = -EBADF \
	}

/*
 * A new stage that can hold size bytes of files (its qgroup limit), made
 * only when the pool has size bytes free beyond POOL_STAGE_RESERVE_PCT
 * percent of its size (else -ENOSPC, naming the figures).  Stale stages
 * (their owner killed) are destroyed first.  Invisible to listings.
 */
int pool_stage_create(const struct pool *p, uint64_t size, struct pool_stage *s,
		      struct zh_error *err);

/* Destroy the stage and everything in it; idempotent. */
void pool_stage_destroy(struct pool_stage *s);

/*
 * Destroy every stage of the pool that no live owner holds (left by an
 * import that was killed).  Returns the number of stages still held.
 */
int pool_stage_sweep(const struct pool *p, struct zh_error *err);

/*
 * ---- receive inbox (pool-recv.c): the subvolume ".recv-<tag>" that
 * `btrfs receive` is confined to; see pool-recv.c ----
 */

struct pool_recv {
	int top;	  /* the pool's top directory */
	int fd;		  /* the inbox */
	uint64_t id;	  /* its subvolume id (0: not ours to destroy) */
	char *path;	  /* <mountpoint>/.recv-<tag> */
	char *base;	  /* dataset parked in the inbox, or NULL */
	uint64_t base_id; /* its subvolume id */
};

#define POOL_RECV_INIT                      \
	{                                   \
		.top = -EBADF, .fd = -EBADF \
	}

/*
 * A fresh, empty inbox for tag (a VM uuid), mode 0700.  What a crash left
 * there is removed first (a parked base put back in the pool).
 */
int pool_recv_open(const struct pool *p, const char *tag, struct pool_recv *in,
		   struct zh_error *err);

/* Move snapshot ds (read-only, kept so) into the inbox until pool_recv_close(). */
int pool_recv_park(struct pool_recv *in, const char *ds, struct zh_error *err);

/*
 * The inbox holds exactly the subvolumes names[0..n) (and the parked base,
 * untouched), nothing else: no file, link, directory or other subvolume.
 */
int pool_recv_check(const struct pool_recv *in, char *const *names, size_t n, struct zh_error *err);

/* Move received subvolume from (checked) into the pool as dataset to; read-only if ro. */
int pool_recv_take(struct pool_recv *in, const char *from, const char *to, bool ro,
		   struct zh_error *err);

/* Put the parked base back, destroy the inbox and all left in it; idempotent. */
void pool_recv_close(struct pool_recv *in);

/* At boot: every inbox a crash left, its parked base put back, destroyed. */
void pool_recv_recover(const struct pool *p);
/* Remove the inbox ".recv-<tag>" a killed receive left (its base put back); caller holds tag's
 * lock. */
int pool_recv_clear(const struct pool *p, const char *tag, struct zh_error *err);

#endif

/*
 * lock.h - per-VM and per-host advisory locks.
 *
 * Owns: lock files under <run dir>/locks/.  A lock is an open fd with an
 * flock(2) on it; it is released when the fd is closed, including when the
 * process dies, so a crashed vmadm never leaves a VM locked.
 *
 * Lock order (docs/architecture.md §15): the host lock (LOCK_HOST) before any VM lock; VM locks are
 * never nested.  Images take the host lock too, only to install or delete:
 * an import holds its image's "import.<uuid>" lock while it downloads
 * (no other lock held), then takes the host lock to install.  Leaf locks
 * ("pool-<name>", "stage.<pool>", "trash.<pool>", "nft", nic tags,
 * "index": the host index of stored VMs, vmstore.h, whose rebuild may
 * take "pool-<name>" to mount a pool) are taken last and held briefly.
 *
 *     _cleanup_close_ int l = -EBADF;
 *     if ((l = lock_vm(uuid, &err)) < 0) return l;
 */
#ifndef ZH_LOCK_H
#define ZH_LOCK_H

#include <signal.h>

#include "error.h"

/*
 * The lock names (each the file <run>/locks/<name>.lock, paths_lock()):
 * a VM's lock is its uuid; the others are these, or a prefix and a name.
 */
#define LOCK_HOST	   "host"
#define LOCK_NFT	   "nft"     /* the shared packet filter table */
#define LOCK_NICTAGS	   "nictags" /* <config>/nictags.json */
#define LOCK_INDEX	   "index"   /* <run>/index/, the host index of stored VMs */
#define LOCK_POOL_PREFIX   "pool-"   /* "pool-<name>": mounting a pool */
#define LOCK_STAGE_PREFIX  "stage."  /* "stage.<pool>": the pool's stages */
#define LOCK_TRASH_PREFIX  "trash."  /* "trash.<pool>": emptying its trash */
#define LOCK_IMPORT_PREFIX "import." /* "import.<uuid>": an image download */

/* Block until the named lock is held; returns the fd that holds it. */
int lock_take(const char *name, struct zh_error *err);

/*
 * lock_take(), but a signal that sets *stop while it waits (its handler
 * installed without SA_RESTART) ends the wait: -EINTR.
 */
int lock_take_until(const char *name, const volatile sig_atomic_t *stop, struct zh_error *err);

/* lock_take() without waiting: -EWOULDBLOCK (err untouched) if someone holds it. */
int lock_try(const char *name, struct zh_error *err);

/* Same as lock_take(uuid): serialises every change to one VM. */
int lock_vm(const char *uuid, struct zh_error *err);

/* Host-wide lock: pool changes, image installs, uuid allocation. */
int lock_host(struct zh_error *err);

#endif

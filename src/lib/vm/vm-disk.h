/*
 * vm-disk.h - an HVM VM's disks on the pool (docs/architecture.md §5, §13).
 *
 * Disk N of VM <u> is the raw file <zonepath>/disk<N> (N the lowest unused
 * index) in the VM's own dataset, so snapshots, rollback, send/receive and
 * delete of the dataset cover it.  cdrom and nocreate disks are the user's
 * files and are never created, resized or removed here.
 *
 *     create:  vm_disks_create(p, vm, &err)      (dataset made, VM lock held)
 *     update:  struct vm_disk_journal j = VM_DISK_JOURNAL_INIT;
 *              vm_disks_update(p, old, nvm, &j, &err)  ... vm_disk_journal_end(&j, ok);
 */
#ifndef ZH_VM_DISK_H
#define ZH_VM_DISK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

/*
 * In the new VM's dataset: root/ and root/tmp/ (QEMU's jail root and its
 * runtime files), then every disk of vm's "disks" that is created: a
 * reflink of its image's disk grown to "size" (image_size filled in, size
 * defaulting to it), or a sparse file of "size" MiB; its "path" is set in
 * vm and its compression applied.  The caller destroys the dataset on
 * failure.
 */
int vm_disks_create(const struct pool *p, json_t *vm, struct zh_error *err);

/* What vm_disks_update() changed, to undo (or to finish) it. */
struct vm_disk_journal {
	int dsfd;
	size_t n, cap;
	struct vm_disk_undo *v;
};
#define VM_DISK_JOURNAL_INIT   \
	{                      \
		.dsfd = -EBADF \
	}

/*
 * Make the disk files match nvm's "disks" after an update of old: disks
 * whose path is gone are removed, added ones (no path) created as at
 * create, a changed size grows the file (a smaller one only with
 * "dangerous_allow_shrink", which is not stored) and a changed compression
 * is applied; "block_size" cannot change.  Refused while the VM runs for
 * anything but compression and refreservation.  Every change is recorded
 * in j; on failure what was done is already undone.
 */
int vm_disks_update(const struct pool *p, const json_t *old, json_t *nvm, struct vm_disk_journal *j,
		    struct zh_error *err);

/* ok: drop what the journal kept to undo (removed files, shrunk copies); else undo it all. */
void vm_disk_journal_end(struct vm_disk_journal *j, bool ok);

/*
 * A received VM's created disks: "path" made <this pool's zonepath>/disk<N>
 * (the sender's pool was elsewhere); -EINVAL for a path that does not end
 * in a canonical disk<N> (a stream never names a host file as a disk).
 */
int vm_disks_relocate(const struct pool *p, json_t *vm, struct zh_error *err);

/* The "path" of vm's created disks removed (cdrom and nocreate disks keep theirs). */
void vm_disks_drop_paths(json_t *vm);

/*
 * What the dataset's qgroup limit adds to quota for vm's disks, in bytes
 * (docs/architecture.md §17): flexible_disk_size MiB when set, else the
 * sum of the created disks' sizes; 0 for a zone.
 */
uint64_t vm_disks_quota_extra(const json_t *vm);

#endif

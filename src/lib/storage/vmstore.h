/*
 * vmstore.h - the set of VMs on this host.
 *
 * Owns: reading and writing each VM's config, <pool>/.vmadm/<uuid>.json,
 * which is the only truth about a VM (docs/architecture.md §14): beside its dataset,
 * outside the dataset's quota and the tenant's data (see vmstore.c).
 * The read-only fields of `vmadm get` (state, zone_state, zonepath, ...)
 * are derived one layer up, in vm-view.h.
 *
 *     json_t *vms = NULL;
 *     if (vmstore_load_pool(p, &vms, &err) < 0) ...      (array, stored)
 *
 * Writes go through vmstore_save() (atomic: temp, fsync, rename, fsync dir)
 * and only with the VM's lock held (lock_vm()).
 */
#ifndef ZH_VMSTORE_H
#define ZH_VMSTORE_H

#include <jansson.h>

#include "error.h"
#include "pool.h"

/* "<pool mount>/.vmadm/<uuid>.json"; NULL on ENOMEM. */
char *vmstore_config_path(const struct pool *p, const char *uuid);

/* Stored (undecorated) configs of the VMs in one pool, as a JSON array. */
int vmstore_load_pool(const struct pool *p, json_t **out, struct zh_error *err);

/* Find one VM's stored config in any pool, and its pool. -ENOENT if absent. */
int vmstore_find_stored(const char *uuid, struct pool **pool_out, json_t **vm_out,
			struct zh_error *err);

/*
 * Remove the derived fields (PROPS_F_DERIVED in the property table), in
 * place: what is left is the stored config.
 */
void vmstore_strip_derived(json_t *vm);

/* Strip derived fields and write the config atomically. */
int vmstore_save(const struct pool *p, const json_t *vm, struct zh_error *err);

/* Remove VM uuid's config (it is no VM any more); missing is fine. */
int vmstore_remove(const struct pool *p, const char *uuid, struct zh_error *err);

/*
 * The mark of a VM being made (create, receive of a new VM): the file
 * <pool>/.new-<uuid>, made (committed with the dataset) before its first dataset and removed
 * once its config is saved.  A mark with no config left is a dataset that
 * a killed command left behind; vm_recover_new() removes it.
 */
int vmstore_mark_new(const struct pool *p, const char *uuid, struct zh_error *err);
void vmstore_unmark_new(const struct pool *p, const char *uuid);
/* The uuids marked in pool p (a NULL-terminated vector). */
int vmstore_marked_new(const struct pool *p, char ***out, struct zh_error *err);
/* Whether pool p holds uuid's config (a VM exists). */
bool vmstore_has_config(const struct pool *p, const char *uuid);

#endif

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
#include <stdint.h>

#include "error.h"
#include "pool.h"

/* "<pool mount>/.vmadm/<uuid>.json"; NULL on ENOMEM. */
char *vmstore_config_path(const struct pool *p, const char *uuid);

/* Stored (undecorated) configs of the VMs in one pool, as a JSON array. */
int vmstore_load_pool(const struct pool *p, json_t **out, struct zh_error *err);

/* Find one VM's stored config in any pool, and its pool. -ENOENT if absent. */
int vmstore_find_stored(const char *uuid, struct pool **pool_out, json_t **vm_out,
			struct zh_error *err);

/* The pool holding VM uuid's config, without reading it. -ENOENT if absent. */
int vmstore_find_pool(const char *uuid, struct pool **pool_out, struct zh_error *err);

/* VM uuid's stored config in pool p. -ENOENT (as above) if absent. */
int vmstore_load(const struct pool *p, const char *uuid, json_t **vm_out, struct zh_error *err);

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
 * <pool>/.new/<uuid>, made (committed with the dataset) before its first dataset and removed
 * once its config is saved.  A mark with no config left is a dataset that
 * a killed command left behind; vm_recover_new() removes it.
 */
int vmstore_mark_new(const struct pool *p, const char *uuid, struct zh_error *err);
void vmstore_unmark_new(const struct pool *p, const char *uuid);
/* The uuids marked in pool p (a NULL-terminated vector). */
int vmstore_marked_new(const struct pool *p, char ***out, struct zh_error *err);
/* Whether pool p holds uuid's config (a VM exists). */
bool vmstore_has_config(const struct pool *p, const char *uuid);

/*
 * The host index of stored VMs (vmstore-index.c; <run>/index/): what
 * create and update would otherwise learn by reading every config.
 * Rebuilt from the configs by itself when missing or stale; each call is
 * O(1) in the number of VMs otherwise.  vmstore_save() adds every config
 * it writes (before writing it).
 *
 * Id slots: a VM's uid/gid range is zonehost_id_base .. + 65536, on a
 * slot boundary, slots FIRST..LAST.  vmstore_index_id_alloc() takes the
 * lowest free slot for a new config (caller holds the host lock: it is
 * handed out once even if the config is never written); -ENOSPC
 * (prop "zonehost_id_base") when none is left.  vmstore_index_id_free()
 * gives one back once the config that held it is removed.
 *
 * vmstore_index_nic_vms(): the uuids of the VMs whose stored NICs may
 * share a MAC or an IP with one of nics (a superset: read their configs
 * to decide).  vmstore_index_invalidate(): configs were written behind
 * vmstore_save()'s back; the next use rescans.
 */
#define VMSTORE_ID_SLOT	      65536u
#define VMSTORE_ID_SLOT_FIRST 16u
#define VMSTORE_ID_SLOT_LAST  65534u

int vmstore_index_add(const json_t *vm, struct zh_error *err);
int vmstore_index_id_alloc(uint64_t *base, struct zh_error *err);
void vmstore_index_id_free(uint64_t base);
int vmstore_index_nic_vms(const json_t *nics, char ***out, struct zh_error *err);
void vmstore_index_invalidate(void);

#endif

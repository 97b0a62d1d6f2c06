/*
 * vm-view.h - VMs as `vmadm get`/`vmadm list` show them: the stored config
 * (vmstore.h) plus the derived read-only fields (state, zone_state,
 * zonepath, pid, snapshots, ...).  Which fields are derived is decided by
 * the property table (props.h); vmstore_save() strips them.
 *
 *     json_t *vms = NULL;
 *     if (vmview_load_all(&vms, &err) < 0) ...      (array, decorated)
 *     struct pool *p; json_t *vm;
 *     if (vmview_find(uuid, &p, &vm, &err) == -ENOENT) ...
 */
#ifndef ZH_VM_VIEW_H
#define ZH_VM_VIEW_H

#include <jansson.h>

#include "error.h"
#include "pool.h"

/* Decorated VM objects of every pool, as a JSON array. */
int vmview_load_all(json_t **out, struct zh_error *err);

/* Find one VM in any pool: decorated object (with snapshots) + its pool.
 * -ENOENT if absent. */
int vmview_find(const char *uuid, struct pool **pool_out, json_t **vm_out, struct zh_error *err);

/* Add the derived read-only fields to a stored config (in place). */
int vmview_decorate(const struct pool *p, json_t *vm, struct zh_error *err);

#endif

/*
 * vm.h - whole-VM transactions: create, update, delete.
 *
 * Owns: the order of steps and their undo.  Each function takes the VM's
 * lock, validates through vmcfg, changes the pool through pool, and stores
 * the config through vmstore.  Any failure undoes every step already taken
 * (DESIGN.md §2 "Flow of vmadm create"), so bad input leaves the host as it
 * was.
 *
 *     char uuid[37];
 *     if (vm_create(payload, warn_cb, NULL, uuid, &err) < 0) ...
 *
 * warn() receives each non-fatal warning (a stripped property) as one line.
 */
#ifndef ZH_VM_H
#define ZH_VM_H

#include <jansson.h>

#include "error.h"
#include "util.h"
#include "vmcfg.h"

typedef void (*vm_warn_fn)(void *ctx, const char *line);

int vm_create(json_t *payload, vm_warn_fn warn, void *ctx,
	      char uuid_out[UTIL_UUID_LEN + 1], struct zh_error *err);
int vm_update(const char *uuid, json_t *payload, vm_warn_fn warn, void *ctx,
	      struct zh_error *err);
int vm_delete(const char *uuid, struct zh_error *err);

/*
 * `vmadm validate`: vmcfg_validate() with this host's images, pools and
 * VMs behind the environment callbacks.  Same returns as vmcfg_validate().
 */
int vm_validate(const char *brand, enum vmcfg_action action,
		const json_t *payload, struct vmcfg_report *rep);

#endif

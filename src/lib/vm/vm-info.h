/*
 * vm-info.h - `vmadm info` and `vmadm sysrq` of a hardware VM (kvm,
 * bhyve): checked here against the VM's brand, then one ctl frame to its
 * zoneadmd (CTL_INFO, CTL_SYSRQ; docs/architecture.md §16), whose brand
 * asks QEMU over QMP.
 *
 *     _cleanup_json_ json_t *info = NULL;
 *     if (vm_info(uuid, types, &info, &err) < 0) ...
 *
 * vm_info: types (NULL-terminated; NULL or empty = "all") must be among the
 * brand's (kvm: all accel block blockstats chardev cpus kvm pci spice
 * status version vnc; bhyve: all accel vnc; accel is zonehost's own:
 * {"accelerator": "kvm"|"tcg", "reason"}), else -EINVAL (prop "types"); "all" is
 * expanded here.  An OS VM: -ENOTSUP; a VM not running: -ESRCH.
 * vm_sysrq: request "nmi" or "screenshot" (kvm only; bhyve: nmi), else
 * -EINVAL (prop "request"); the screenshot's path in *path_out.
 */
#ifndef ZH_VM_INFO_H
#define ZH_VM_INFO_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

int vm_info(const char *uuid, char *const *types, json_t **out, struct zh_error *err);
int vm_sysrq(const char *uuid, const char *request, char **path_out, struct zh_error *err);

/* Is s one of the brand's info types (or sysrq requests)?  Pure: unit-tested. */
bool vm_info_type_valid(const char *brand, const char *s);
bool vm_sysrq_valid(const char *brand, const char *s);

#endif

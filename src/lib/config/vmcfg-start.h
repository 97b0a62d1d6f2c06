/*
 * vmcfg-start.h - the one-boot extras of `vmadm start` for a hardware VM
 * (docs/man/vmadm.8, "start"):
 *
 *     order=<cdn>[,once=<cdn>]   boot order, and an order for this boot only
 *     cdrom=<path>,<model>       an ISO attached for this boot (repeatable)
 *     disk=<path>,<model>        a disk attached for this boot (repeatable)
 *
 * Paths are inside the VM's zone root (<zonepath>/root), absolute, with no
 * "." or ".." component: the brand opens them there without following
 * links.  Models are the brand's disk models (kvm: virtio ide scsi; bhyve:
 * virtio ahci nvme).  Pure: no I/O.
 *
 *     _cleanup_json_ json_t *opts = NULL;
 *     if (vmcfg_start_opts("kvm", argv + i, &opts, &err) < 0) ...
 *     -> {"order":"cd","once":"d","cdroms":[{"path":"/a.iso","model":"ide"}],"disks":[]}
 *
 * -EINVAL naming the argument and the reason; -ENOTSUP for an OS brand.
 */
#ifndef ZH_VMCFG_START_H
#define ZH_VMCFG_START_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

int vmcfg_start_opts(const char *brand, char *const *args, json_t **out, struct zh_error *err);

/* Is model a disk model of brand (kvm or bhyve)? */
bool vmcfg_disk_model_valid(const char *brand, const char *model);

#endif

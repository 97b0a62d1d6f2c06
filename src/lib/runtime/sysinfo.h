/*
 * sysinfo.h - facts about this host, in the shape of SmartOS's sysinfo(1M).
 *
 * Owns nothing.  Reads /proc, /sys and the pool records; never mounts,
 * creates or changes anything, and stays cheap (a few ms) because
 * vmadm reads it for server_uuid and platform_buildstamp.
 *
 *     _cleanup_json_ json_t *si = NULL;
 *     if (sysinfo_collect(&si, &err) < 0) ...
 *     json_string_value(json_object_get(si, "UUID"));
 *
 * The SmartOS keys ("UUID", "Hostname", "CPU Total Cores", "MiB of Memory",
 * "Zpool", "Boot Time", "Network Interfaces", ...) keep SmartOS's types
 * (e.g. "MiB of Memory" and "Boot Time" are strings).  What zonehost itself
 * detected is under "zonehost": cgroup_version, kvm_usable,
 * idmapped_mounts, version, kernel; the features a zone needs, each
 * present or not, under "Zone Features" (sysinfo-features.c).
 */
#ifndef ZH_SYSINFO_H
#define ZH_SYSINFO_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

int sysinfo_collect(json_t **out, struct zh_error *err);

/* 2 when /sys/fs/cgroup is a cgroup2 mount (unified), else 1 (v1 or hybrid). */
int sysinfo_cgroup_version(void);

/*
 * Whether KVM can run a stock guest kernel.  Conservative: /dev/kvm must
 * open and answer KVM_GET_API_VERSION with 12, the CPU must advertise
 * hardware virtualisation (vmx or svm in /proc/cpuinfo), and the kvm_pvm
 * module must be absent.  PVM offers /dev/kvm inside a guest without
 * hardware virtualisation and boots only PVM-aware kernels: a stock kernel
 * hangs early ("Probing EDD"), so there KVM is reported unusable and QEMU
 * uses TCG.  Booting a probe guest would be exact but costs seconds.
 */
bool sysinfo_kvm_usable(void);

/* open_tree + mount_setattr present and a kernel >= 5.15 (btrfs idmap support). */
bool sysinfo_idmapped_mounts(void);

/*
 * "Zone Features" (sysinfo-features.c): {"user_namespaces": true, ...,
 * "cgroup_version": 2}, each feature a zone may need, present or not.
 * NULL on allocation failure.
 */
json_t *sysinfo_zone_features(void);

/*
 * Before a zone starts: 0, or -ENOTSUP with a message naming the first
 * feature the VM needs that this host lacks.
 */
int sysinfo_zone_check(const json_t *vm, struct zh_error *err);

#endif

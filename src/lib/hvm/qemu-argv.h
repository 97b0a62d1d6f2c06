/*
 * qemu-argv.h - QEMU's command line for a kvm or bhyve VM, built from its
 * stored config and nothing else (pure: no file is touched).
 * docs/architecture.md §22 gives the options and why.
 *
 *     struct qemu_spec s = {.vm = vm, .kvm = false, .tap_fds = fds, .n_taps = 1};
 *     _cleanup_strv_ char **argv = NULL;
 *     if (qemu_argv_build(&s, &argv, &err) < 0) ...
 *
 * Every path in the argv is a path inside QEMU's jail (its root is
 * <zonepath>/root): the runtime files under QEMU_RUNDIR, disk i of the
 * config at QEMU_DISK_FMT, the start-time cdroms and disks at
 * QEMU_CDROM_FMT and QEMU_XDISK_FMT.
 */
#ifndef ZH_QEMU_ARGV_H
#define ZH_QEMU_ARGV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define QEMU_BINARY    "/usr/bin/qemu-system-x86_64"
#define QEMU_RUNDIR    "/tmp"	      /* vm.qmp vm.console vm.ttyb vm.vnc vm.pid */
#define QEMU_DISK_FMT  "/vm/disk%zu"  /* disk i (the config's order) in the jail */
#define QEMU_CDROM_FMT "/vm/cdrom%zu" /* `vmadm start cdrom=PATH,MODEL` number i */
#define QEMU_XDISK_FMT "/vm/xdisk%zu" /* `vmadm start disk=PATH,MODEL` number i */
#define QEMU_OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define QEMU_OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd" /* copied to QEMU_UEFI_VARS */
#define QEMU_UEFI_VARS QEMU_RUNDIR "/vm.uefivars"

struct qemu_spec {
	const json_t *vm;   /* the stored config */
	bool kvm;	    /* -accel kvm (else tcg) */
	const int *tap_fds; /* fd of nic i (the config's order); -1 or past n_taps: no nic */
	size_t n_taps;
	const json_t *start; /* `vmadm start` extras (vmcfg-start.h) for this boot; NULL none */
};

/* The argv (argv[0] = QEMU_BINARY), NULL-terminated; -EINVAL names the property. */
int qemu_argv_build(const struct qemu_spec *s, char ***argv, struct zh_error *err);

/* The device QEMU gets for a disk or nic model ("virtio" -> "virtio-blk-pci"); NULL unknown. */
const char *qemu_disk_device(const char *model, bool cdrom);
const char *qemu_nic_device(const char *model);

#endif

/*
 * jail.h - QEMU's jail (docs/architecture.md §22): a process in new
 * mount, PID, IPC, UTS and network namespaces, its root <zonepath>/root
 * with read-only binds of what QEMU needs, running as an unprivileged
 * uid with no capabilities (bounding set too), no_new_privs, only the
 * listed fds, in the VM's cgroup.
 *
 *     struct hvm_jail j = {.root = root, .argv = argv, .uid = base + 1000,
 *                          .disks = paths, .keep_fds = taps, .n_keep = 1,
 *                          .cgroup_fd = cgfd, .log_fd = logfd};
 *     if (hvm_jail_spawn(&j, &pid, &pidfd, &err) < 0) ...
 */
#ifndef ZH_HVM_JAIL_H
#define ZH_HVM_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define HVM_JAIL_UID_OFFSET 1000 /* QEMU's uid/gid: zonehost_id_base + this */

struct hvm_jail {
	const char *root;    /* <zonepath>/root: the jail's / (root/tmp: runtime files) */
	char *const *argv;   /* argv[0]: absolute path inside the jail */
	uid_t uid;	     /* uid = gid */
	char *const *disks;  /* host path of disk i, bound at QEMU_DISK_FMT; NULL-ended */
	char *const *cdroms; /* `vmadm start` cdroms: paths in root, bound ro at QEMU_CDROM_FMT */
	char *const *xdisks; /* `vmadm start` disks: paths in root, bound at QEMU_XDISK_FMT */
	bool kvm;	     /* /dev/kvm in the jail */
	const int *keep_fds; /* inherited at the same numbers; every other fd closed */
	size_t n_keep;
	int cgroup_fd;		 /* cgroup v2 directory to be born in; -1 none */
	const char *cgroup_uuid; /* else (v1): joined by uuid before exec; NULL none */
	int log_fd;		 /* QEMU's stdout and stderr; -1: /dev/null */
};

/* Start QEMU in its jail: *pid and *pidfd; fails (nothing left) with the child's reason. */
int hvm_jail_spawn(const struct hvm_jail *j, pid_t *pid, int *pidfd, struct zh_error *err);

#endif

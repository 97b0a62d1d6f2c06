/*
 * zone-seccomp-rules.h - the deny lists of the zone seccomp filter (the
 * policy and its reasons are in zone-seccomp.c's design comment).  Data
 * only: included by zone-seccomp.c (the runtime, for the lists it reports)
 * and by gen-seccomp.c (the build-time compiler of the BPF program), so the
 * two can never disagree.
 */
#ifndef ZH_ZONE_SECCOMP_RULES_H
#define ZH_ZONE_SECCOMP_RULES_H

#include <linux/btrfs.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>

static const char *const zone_denied_syscalls[] = {
	"init_module",
	"finit_module",
	"delete_module",
	"create_module",
	"query_module",
	"get_kernel_syms",
	"kexec_load",
	"kexec_file_load",
	"add_key",
	"keyctl",
	"request_key",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"open_by_handle_at",
	"name_to_handle_at",
	"swapon",
	"swapoff",
	"acct",
	"settimeofday",
	"clock_settime",
	"stime",
	"iopl",
	"ioperm",
	"quotactl",
	"quotactl_fd",
	"lookup_dcookie",
	"syslog",
	"uselib",
	"vm86",
	"vm86old",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	NULL,
};

/*
 * Answered ENOSYS, as a kernel without CONFIG_AIO answers: the kernel's
 * native AIO, whose host-wide pool (fs.aio-max-nr) no namespace or cgroup
 * partitions.  Software then falls back to threads (glibc's POSIX AIO
 * never used these calls).
 */
static const char *const zone_enosys_syscalls[] = {
	"io_setup",	 "io_destroy",		 "io_submit", "io_cancel", "io_getevents",
	"io_pgetevents", "io_pgetevents_time64", NULL,
};

static const unsigned long zone_denied_ioctls[] = {
	TIOCSTI,
	TIOCLINUX,
	BTRFS_IOC_SUBVOL_CREATE,
	BTRFS_IOC_SUBVOL_CREATE_V2,
	BTRFS_IOC_SNAP_CREATE,
	BTRFS_IOC_SNAP_CREATE_V2,
	BTRFS_IOC_SNAP_DESTROY,
	BTRFS_IOC_SNAP_DESTROY_V2,
	BTRFS_IOC_SUBVOL_SETFLAGS,
	BTRFS_IOC_DEFAULT_SUBVOL,
	BTRFS_IOC_SET_RECEIVED_SUBVOL,
	BTRFS_IOC_SEND,
	BTRFS_IOC_QUOTA_CTL,
	BTRFS_IOC_QGROUP_ASSIGN,
	BTRFS_IOC_QGROUP_CREATE,
	BTRFS_IOC_QGROUP_LIMIT,
	BTRFS_IOC_QUOTA_RESCAN,
	BTRFS_IOC_ADD_DEV,
	BTRFS_IOC_RM_DEV,
	BTRFS_IOC_RM_DEV_V2,
	BTRFS_IOC_RESIZE,
	BTRFS_IOC_BALANCE,
	BTRFS_IOC_BALANCE_V2,
	BTRFS_IOC_BALANCE_CTL,
	BTRFS_IOC_DEV_REPLACE,
	BTRFS_IOC_SCRUB,
	BTRFS_IOC_SET_FEATURES,
	BTRFS_IOC_SET_FSLABEL,
	BTRFS_IOC_SCAN_DEV,
	BTRFS_IOC_FORGET_DEV,
};

/* personality() flags refused (other personalities stay allowed). */
#define ZONE_DENIED_PERSONALITY (READ_IMPLIES_EXEC | MMAP_PAGE_ZERO)

#endif

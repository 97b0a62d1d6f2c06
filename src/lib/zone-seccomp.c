/*
 * zone-seccomp.c - the seccomp filter every zone process runs under.
 *
 * Owns: the filter's policy and, once built, its BPF program (cached in
 * this process, so a parent can build it with zone_seccomp_prepare() before
 * clone and the zone's first process only loads it: no allocation there).
 * Does not own capabilities (zone-caps.c); the two are loaded together,
 * capabilities first, just before exec of init (and in zlogin's child).
 *
 *     zone_seccomp_prepare(&err);          (optional, in the parent)
 *     ...                                  (child, still root in its userns)
 *     if (zone_caps_drop(&err) < 0 || zone_seccomp_load(&err) < 0)
 *             report through the error pipe, _exit
 *
 * Policy: default ALLOW; a short deny list answers EPERM.  A zone is a
 * whole system (systemd, mount, unshare, nested containers, ptrace, reboot
 * all work), so the filter does not re-implement what the user namespace
 * already guards; it removes what is host-wide or is attack surface the
 * namespace does not scope:
 *
 *   init_module finit_module delete_module (+ create_module query_module
 *     get_kernel_syms): the kernel's modules are the host's.
 *   kexec_load kexec_file_load: would replace the host kernel.
 *   add_key keyctl request_key: kernel keyrings are not namespaced.
 *   bpf: programs and maps are host-wide; a large verifier attack surface.
 *   perf_event_open: host-wide observation, side channels, exploit history.
 *   userfaultfd: lets a process stall the kernel inside copy_from_user, the
 *     classic primitive for winning kernel races.
 *   open_by_handle_at name_to_handle_at: file handles bypass path-based
 *     confinement (the "shocker" escape out of a bind mount).
 *   swapon swapoff: host swap.  acct: host process accounting file.
 *   settimeofday clock_settime stime: the wall clock is host-wide (a time
 *     namespace only offsets monotonic/boottime).  adjtimex and
 *     clock_adjtime stay allowed: their read-only use (modes 0) is common
 *     (timedatectl, chrony status) and any change needs CAP_SYS_TIME in the
 *     initial namespace, which a zone never has.
 *   iopl ioperm: raw port I/O.  quotactl quotactl_fd: host quotas.
 *   lookup_dcookie: oprofile, host-wide.  syslog: the host's kernel log.
 *   uselib: obsolete a.out loader.  vm86 vm86old: i386 virtual-8086 mode.
 *   io_uring_setup io_uring_enter io_uring_register: operations submitted
 *     through a ring bypass this filter, and io_uring has been the largest
 *     source of kernel privilege escalations (Docker and ChromeOS block it).
 *   personality with READ_IMPLIES_EXEC or MMAP_PAGE_ZERO: weakens W^X /
 *     maps page zero (aids NULL-dereference exploits); other personalities
 *     (linux32, uname26, ADDR_NO_RANDOMIZE for debuggers) stay allowed.
 *   ioctl TIOCSTI TIOCLINUX: typing into a terminal a host process may read.
 *   ioctl on btrfs subvolume, snapshot, send/receive and qgroup commands:
 *     a zone's root is a btrfs subvolume with a qgroup limit; a new
 *     subvolume or snapshot falls outside that qgroup (quota escape), and
 *     setflags/set_received/default_subvol would tamper with the host's
 *     datasets.  The device/balance/resize/label/features commands are
 *     capable()-gated already and denied too, as defence in depth.
 *     Matched on the low 32 bits of the request number (SCMP_CMP_MASKED_EQ),
 *     since glibc passes it as an int that may be sign-extended.
 *
 * Deliberately allowed: reboot (in a non-initial PID namespace the kernel
 * does not reboot the host: it ends the namespace's init with SIGHUP
 * (restart) or SIGINT (halt/power-off), which is how zoneadmd learns that
 * the zone asked for a reboot or halt); mount (a user namespace cannot
 * mount btrfs or block devices at all; it can mount tmpfs, proc, bind);
 * unshare/setns/clone3 (nested containers); kcmp and ptrace (ptrace-access
 * checked, scoped to the zone).
 *
 * Architectures: the native one plus its compat ABIs (x86_64: i386 and x32,
 * as crun and LXC do) get the same rules; any other audit arch kills the
 * process.  NO_NEW_PRIVS is not set: the zone's first process holds
 * CAP_SYS_ADMIN in its user namespace, which is enough to install a filter,
 * and NNP would break setuid programs (su, sudo, ping) inside the zone.
 * Hence load before dropping root in zlogin's child.
 */
#include <linux/btrfs.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zone.h"

static const char *const denied_syscalls[] = {
	"init_module", "finit_module", "delete_module", "create_module",
	"query_module", "get_kernel_syms",
	"kexec_load", "kexec_file_load",
	"add_key", "keyctl", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"open_by_handle_at", "name_to_handle_at",
	"swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "stime",
	"iopl", "ioperm", "quotactl", "quotactl_fd",
	"lookup_dcookie", "syslog", "uselib", "vm86", "vm86old",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	NULL,
};

static const unsigned long denied_ioctls[] = {
	TIOCSTI, TIOCLINUX,
	BTRFS_IOC_SUBVOL_CREATE, BTRFS_IOC_SUBVOL_CREATE_V2,
	BTRFS_IOC_SNAP_CREATE, BTRFS_IOC_SNAP_CREATE_V2,
	BTRFS_IOC_SNAP_DESTROY, BTRFS_IOC_SNAP_DESTROY_V2,
	BTRFS_IOC_SUBVOL_SETFLAGS, BTRFS_IOC_DEFAULT_SUBVOL,
	BTRFS_IOC_SET_RECEIVED_SUBVOL, BTRFS_IOC_SEND,
	BTRFS_IOC_QUOTA_CTL, BTRFS_IOC_QGROUP_ASSIGN, BTRFS_IOC_QGROUP_CREATE,
	BTRFS_IOC_QGROUP_LIMIT, BTRFS_IOC_QUOTA_RESCAN,
	BTRFS_IOC_ADD_DEV, BTRFS_IOC_RM_DEV, BTRFS_IOC_RM_DEV_V2,
	BTRFS_IOC_RESIZE, BTRFS_IOC_BALANCE, BTRFS_IOC_BALANCE_V2,
	BTRFS_IOC_BALANCE_CTL, BTRFS_IOC_DEV_REPLACE, BTRFS_IOC_SCRUB,
	BTRFS_IOC_SET_FEATURES, BTRFS_IOC_SET_FSLABEL, BTRFS_IOC_SCAN_DEV,
	BTRFS_IOC_FORGET_DEV,
};

/* The cached program (zone_seccomp_prepare). */
static struct sock_fprog prog;

const char *const *zone_seccomp_denied_syscalls(void)
{
	return denied_syscalls;
}

const unsigned long *zone_seccomp_denied_ioctls(size_t *n)
{
	*n = ARRAY_SIZE(denied_ioctls);
	return denied_ioctls;
}

static void ctx_releasep(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
	*c = NULL;
}

static int add_arches(scmp_filter_ctx ctx)
{
	int r = 0;

	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (r == 0 || r == -EEXIST)
			r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	} else if (seccomp_arch_native() == SCMP_ARCH_AARCH64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_ARM);
	}
	return r == -EEXIST ? 0 : r;
}

static int deny(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Unknown to libseccomp on every arch of the filter: nothing to deny. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

static int add_rules(scmp_filter_ctx ctx, const char **what)
{
	const uint64_t bad = READ_IMPLIES_EXEC | MMAP_PAGE_ZERO;
	int r = 0;

	for (const char *const *n = denied_syscalls; r == 0 && *n; n++)
		if ((r = deny(ctx, *n)) < 0)
			*what = *n;
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(denied_ioctls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl),
				     1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						denied_ioctls[i] & 0xffffffffu));
	/* Bit 31 excludes personality(0xffffffff), the query. */
	for (uint64_t f = 1; r == 0 && f <= bad; f <<= 1)
		if (f & bad)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
					     SCMP_SYS(personality), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ,
						     f | 0x80000000u, f));
	if (r < 0 && !*what)
		*what = "ioctl/personality";
	return r;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *out)
{
	_cleanup_close_ int fd = memfd_create("zh-seccomp", MFD_CLOEXEC);
	struct sock_filter *f;
	off_t len;
	int r;

	if (fd < 0)
		return -errno;
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		return r;
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;
	f = malloc((size_t)len);
	if (!f)
		return -ENOMEM;
	if (pread(fd, f, (size_t)len, 0) != len) {
		free(f);
		return -EIO;
	}
	out->filter = f;
	out->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}

int zone_seccomp_prepare(struct zh_error *err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	const char *what = NULL;
	int r;

	if (prog.filter)
		return 0;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return zh_error_set(err, ENOMEM, NULL, "seccomp_init failed");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r == 0)
		r = add_arches(ctx);
	if (r == 0)
		r = add_rules(ctx, &what);
	if (r == 0)
		r = export_bpf(ctx, &prog);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot build seccomp filter%s%s: %s",
				    what ? " at " : "", what ? what : "",
				    strerror(-r));
	return 0;
}

int zone_seccomp_load(struct zh_error *err)
{
	int r = zone_seccomp_prepare(err);

	if (r < 0)
		return r;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	r = errno;
	return zh_error_set(err, r, NULL, "cannot load seccomp filter: %s%s",
			    strerror(r),
			    r == EACCES ? " (needs CAP_SYS_ADMIN in the zone's "
					  "user namespace: load before dropping root)"
					: "");
}

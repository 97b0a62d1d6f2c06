/*
 * zone-seccomp.c - the seccomp filter every zone process runs under.
 *
 * Owns: the filter's policy (the lists are in zone-seccomp-rules.h) and
 * its BPF program, compiled at build time by gen-seccomp.c with libseccomp
 * into zone-seccomp-bpf.h: loading it is one seccomp(2) call, with no
 * allocation, so it runs safely in the zone's first process after fork.
 * Does not own capabilities (zone-caps.c); the two are loaded together,
 * capabilities first, just before exec of init (and in zlogin's child).
 *
 *     ...                                  (child, still root in its userns)
 *     if (zone_caps_drop(&err) < 0 || zone_seccomp_load(&err) < 0)
 *             report through the error pipe, _exit
 *
 * Policy: default ALLOW; a short deny list answers EPERM (native AIO:
 * ENOSYS, see below).  A zone is a
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
 *   io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents
 *     (answered ENOSYS, not EPERM, as on a kernel built without AIO, so
 *     software falls back to threads: MariaDB, libaio users, QEMU's
 *     aio=native): every native AIO context of every zone is counted in
 *     one host-wide total (fs.aio-nr, limit fs.aio-max-nr) that neither
 *     namespaces nor cgroups divide; one zone calling io_setup 64 times
 *     filled it, and the host and every other zone got EAGAIN.  No
 *     per-zone share of it can be enforced, so zones get no native AIO and
 *     the host keeps the whole pool.  glibc's POSIX AIO (aio_read ...)
 *     uses threads and works.
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
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zone-seccomp-bpf.h"
#include "zone-seccomp-rules.h"
#include "zone.h"

const char *const *zone_seccomp_denied_syscalls(void)
{
	return zone_denied_syscalls;
}

const char *const *zone_seccomp_enosys_syscalls(void)
{
	return zone_enosys_syscalls;
}

const unsigned long *zone_seccomp_denied_ioctls(size_t *n)
{
	*n = ARRAY_SIZE(zone_denied_ioctls);
	return zone_denied_ioctls;
}

int zone_seccomp_load(struct zh_error *err)
{
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(zone_seccomp_program),
		.filter = (struct sock_filter *)zone_seccomp_program,
	};
	int r;

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	r = errno;
	return zh_error_set(err, r, NULL, "cannot load seccomp filter: %s%s", strerror(r),
			    r == EACCES ? " (needs CAP_SYS_ADMIN in the zone's "
					  "user namespace: load before dropping root)"
					: "");
}

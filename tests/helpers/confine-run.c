/*
 * confine-run.c - try what a zone must not do, under the zone's confinement.
 *
 *   confine-run [--none] [--btrfs DIR]
 *
 * Unless --none, calls zone_caps_drop() and zone_seccomp_load() first, as
 * a zone's first process does before exec.  Then calls each denied syscall
 * with harmless, invalid arguments (so without the filter the kernel
 * answers EFAULT/EBADF/EINVAL ... and changes nothing) and prints
 * "<name>=<ERRNO>" or "<name>=0" per line; then a few things a zone must
 * still be able to do ("allow:<what>=0"), the capability sets, and with
 * --btrfs DIR (a btrfs directory holding a subvolume "src") the btrfs
 * subvolume/snapshot/qgroup ioctls for real.
 */
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zone.h"

static void report(const char *name, long r)
{
	const char *e = r < 0 ? strerrorname_np(errno) : NULL;

	printf("%s=%s\n", name, r < 0 ? (e ? e : "?") : "0");
}

#define TRY(name, ...) report(name, syscall(__VA_ARGS__))

static void denied_syscalls(void)
{
	TRY("init_module", SYS_init_module, NULL, 0, NULL);
	TRY("finit_module", SYS_finit_module, -1, "", 0);
	TRY("delete_module", SYS_delete_module, NULL, 0);
	TRY("kexec_load", SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
	TRY("kexec_file_load", SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL);
	TRY("add_key", SYS_add_key, NULL, NULL, NULL, 0, 0);
	TRY("keyctl", SYS_keyctl, 9999, 0, 0, 0, 0);
	TRY("request_key", SYS_request_key, NULL, NULL, NULL, 0);
	TRY("bpf", SYS_bpf, -1, NULL, 0);
	TRY("perf_event_open", SYS_perf_event_open, NULL, 0, -1, -1, 0);
	TRY("userfaultfd", SYS_userfaultfd, ~0);
	TRY("open_by_handle_at", SYS_open_by_handle_at, -1, NULL, 0);
	TRY("name_to_handle_at", SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0);
	TRY("swapon", SYS_swapon, NULL, 0);
	TRY("swapoff", SYS_swapoff, NULL);
	TRY("acct", SYS_acct, (char *)1);
	TRY("settimeofday", SYS_settimeofday, NULL, (void *)1);
	TRY("clock_settime", SYS_clock_settime, -1, NULL);
	TRY("iopl", SYS_iopl, 99);
	TRY("ioperm", SYS_ioperm, ~0UL, 1, 0);
	TRY("quotactl", SYS_quotactl, 0xffff, NULL, 0, NULL);
	TRY("lookup_dcookie", SYS_lookup_dcookie, 0, NULL, 0);
	TRY("syslog", SYS_syslog, 10, NULL, 0);
	TRY("uselib", SYS_uselib, NULL);
	TRY("io_uring_setup", SYS_io_uring_setup, 0, NULL);
	TRY("io_uring_enter", SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
	TRY("io_uring_register", SYS_io_uring_register, -1, 0, NULL, 0);
	TRY("io_setup", SYS_io_setup, 0, NULL);
	TRY("io_destroy", SYS_io_destroy, 0);
	TRY("io_submit", SYS_io_submit, 0, 0, NULL);
	TRY("io_cancel", SYS_io_cancel, 0, NULL, NULL);
	TRY("io_getevents", SYS_io_getevents, 0, 0, 0, NULL, NULL);
	TRY("io_pgetevents", SYS_io_pgetevents, 0, 0, 0, NULL, NULL, NULL);
	TRY("ioctl_TIOCSTI", SYS_ioctl, -1, TIOCSTI, NULL);
	TRY("ioctl_BTRFS_IOC_SNAP_CREATE_V2", SYS_ioctl, -1, BTRFS_IOC_SNAP_CREATE_V2, NULL);
	/* _IOR: bit 31 set; glibc's int argument arrives sign-extended. */
	TRY("ioctl_BTRFS_IOC_QGROUP_LIMIT_sext", SYS_ioctl, -1, (long)(int)BTRFS_IOC_QGROUP_LIMIT,
	    NULL);
}

/* The compat ABIs must meet the same rules (x86_64: i386 and x32). */
static long int80(long nr, long a, long b, long c)
{
	long r = nr;

#if defined(__x86_64__)
	__asm__ volatile("int $0x80"
			 : "+a"(r)
			 : "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
#endif
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/*
 * Some hypervisors (a PVM guest here) give int $0x80 a SIGSEGV although the
 * kernel has IA32 emulation: the i386 ABI is then unreachable.  Probe it in
 * a child and print "<name>=NOABI" when the child dies of a signal.
 */
static void report_int80(const char *name, long nr, bool positive_ok)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		long r;

		signal(SIGSEGV, SIG_DFL); /* not a sanitizer's report: just die */
		r = int80(nr, 0, 0, 0);

		if (positive_ok && r > 0)
			r = 0;
		report(name, r);
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("%s=NOABI\n", name);
}

static void compat_probes(void)
{
#if defined(__x86_64__)
	/* i386: add_key = 286, getpid = 20; x32: add_key = 248 | 0x40000000. */
	report_int80("i386_getpid", 20, true);
	report_int80("i386_add_key", 286, false);
	report("x32_add_key", syscall(0x40000000L | 248, NULL, NULL, NULL, 0, 0));
#endif
}

static void personality_probe(void)
{
	int old = personality(0xffffffff);

	report("personality_query", old);
	report("personality_READ_IMPLIES_EXEC", personality(PER_LINUX | READ_IMPLIES_EXEC));
	personality((unsigned long)old);
}

/* Run fn in a child; report its exit status (0 = it worked) or signal. */
static void in_child(const char *name, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		report(name, -1);
		return;
	}
	if (WIFSIGNALED(st))
		printf("%s=signal:%d\n", name, WTERMSIG(st));
	else
		printf("%s=%d\n", name, WEXITSTATUS(st));
}

static int do_nothing(void)
{
	return 0;
}

static int put_file(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	int r = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return r ? 0 : -1;
}

/* A user+mount namespace can still mount a tmpfs. */
static int userns_tmpfs(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 10;
	if (put_file("/proc/self/setgroups", "deny") < 0 ||
	    put_file("/proc/self/uid_map", "0 0 1") < 0 ||
	    put_file("/proc/self/gid_map", "0 0 1") < 0)
		return 11;
	if (mount("none", "/tmp", "tmpfs", 0, "size=1m") < 0)
		return 12;
	return 0;
}

/* reboot() as init of a PID namespace ends only that init (with SIGHUP). */
static int pidns_init_reboot(void)
{
	return getpid() == 1 ? (int)syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
					    LINUX_REBOOT_CMD_RESTART, NULL) +
				       100
			     : 99;
}

static int pidns_reboot(void)
{
	pid_t pid;
	int st;

	if (unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0)
		return 10;
	pid = fork();
	if (pid == 0)
		_exit(pidns_init_reboot());
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 11;
	/* 0 when init was ended by SIGHUP, as zoneadmd expects. */
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP ? 0 : 12;
}

static void allowed(void)
{
	in_child("allow:fork", do_nothing);
	in_child("allow:userns_tmpfs", userns_tmpfs);
	in_child("allow:pidns_reboot", pidns_reboot);
}

static void btrfs_probes(const char *dir)
{
	struct btrfs_ioctl_vol_args_v2 v2 = {0};
	struct btrfs_ioctl_vol_args v1 = {0};
	struct btrfs_ioctl_qgroup_limit_args ql = {0};
	struct btrfs_ioctl_get_subvol_info_args info;
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int src = openat(d, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (d < 0 || src < 0) {
		printf("btrfs_setup=%s\n", strerrorname_np(errno));
		return;
	}
	v2.fd = src;
	snprintf(v2.name, sizeof(v2.name), "snap-v2");
	report("btrfs_snap_create_v2", ioctl(d, BTRFS_IOC_SNAP_CREATE_V2, &v2));
	v1.fd = src;
	snprintf(v1.name, sizeof(v1.name), "snap-v1");
	report("btrfs_snap_create", ioctl(d, BTRFS_IOC_SNAP_CREATE, &v1));
	snprintf(v2.name, sizeof(v2.name), "newvol");
	v2.fd = 0;
	report("btrfs_subvol_create_v2", ioctl(d, BTRFS_IOC_SUBVOL_CREATE_V2, &v2));
	snprintf(v1.name, sizeof(v1.name), "src");
	report("btrfs_snap_destroy", ioctl(d, BTRFS_IOC_SNAP_DESTROY, &v1));
	ql.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	ql.lim.max_rfer = 1 << 30;
	report("btrfs_qgroup_limit", ioctl(src, BTRFS_IOC_QGROUP_LIMIT, &ql));
	report("btrfs_get_subvol_info", ioctl(src, BTRFS_IOC_GET_SUBVOL_INFO, &info));
	close(src);
	close(d);
}

static void caps(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3))
			fputs(line, stdout);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	bool confine = !(argc > 1 && streq(argv[1], "--none"));
	const char *btrfs = NULL;

	for (int i = 1; i < argc - 1; i++)
		if (streq(argv[i], "--btrfs"))
			btrfs = argv[i + 1];
	if (confine && (zone_caps_drop(&err) < 0 || zone_seccomp_load(&err) < 0)) {
		fprintf(stderr, "confine-run: %s\n", err.msg);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	denied_syscalls();
	personality_probe();
	compat_probes();
	allowed();
	if (btrfs)
		btrfs_probes(btrfs);
	caps();
	return 0;
}

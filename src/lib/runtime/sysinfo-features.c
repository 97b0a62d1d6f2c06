/*
 * sysinfo-features.c - the kernel and host features a zone needs, each
 * probed without changing anything: `zonehost sysinfo`'s "Zone Features"
 * and the check `vmadm start` makes before it changes anything.
 *
 * Owns nothing.  Every probe is a read of /proc or /sys, or a system call
 * made with arguments the kernel refuses before acting (ENOSYS means
 * absent, any other error present), so it is cheap and side-effect free.
 *
 *     _cleanup_json_ json_t *f = sysinfo_zone_features();
 *     if (sysinfo_zone_check(vm, &err) < 0) ...   names the first missing one
 *
 * The floor is a stock Debian 12 host (kernel 6.1): nothing zonehost needs
 * is newer than 5.15 (btrfs idmapped mounts); cgroup.kill (5.14) has a
 * fallback.  Key names are stable (docs/architecture.md, "Zone features").
 * $ZONEHOST_TEST_MISSING_FEATURE=<name> reports that one feature absent
 * (system tests of the refusal).
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "sysinfo.h"

/* Does the system call exist?  Called with arguments it refuses (EBADF, EINVAL, EFAULT). */
static bool has_syscall(long nr, long a, long b, long c, long d, long e)
{
	return syscall(nr, a, b, c, d, e) >= 0 || errno != ENOSYS;
}

static bool f_user_namespaces(void)
{
	char buf[32] = "";
	_cleanup_close_ int fd = open("/proc/sys/user/max_user_namespaces", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	return fsutil_exists("/proc/self/ns/user") && n > 0 && atol(buf) > 0;
}

static bool f_mount_api(void)
{
	return has_syscall(SYS_open_tree, -1, (long)"", 0, 0, 0) &&
	       has_syscall(SYS_move_mount, -1, (long)"", -1, (long)"", 0) &&
	       has_syscall(SYS_fsopen, 0, 0, 0, 0, 0) &&
	       has_syscall(SYS_mount_setattr, -1, (long)"", 0, 0, 0);
}

static bool f_clone3(void)
{
	/* clone3(NULL, 0) is EINVAL where it exists; CLONE_INTO_CGROUP came in 5.7. */
	struct utsname u;
	int a = 0, b = 0;

	if (!has_syscall(SYS_clone3, 0, 0, 0, 0, 0))
		return false;
	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a > 5 || (a == 5 && b >= 7));
}

static bool f_openat2(void)
{
	return has_syscall(SYS_openat2, -1, 0, 0, 0, 0);
}

static bool f_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close(fd);
	return has_syscall(SYS_pidfd_send_signal, -1, 0, 0, 0, 0);
}

static bool f_close_range(void)
{
	/* An empty range: 0 where CLOSE_RANGE_CLOEXEC (5.11) is known, else EINVAL/ENOSYS. */
	return syscall(SYS_close_range, ~0U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
}

static bool f_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
	       fsutil_exists("/proc/sys/kernel/seccomp/actions_avail");
}

/* A line "<name>\t<hierarchy>\t<num>\t1" of /proc/cgroups (v1 and v2 alike). */
static bool cgroup_enabled(const char *name)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cgroups", "re");
	char line[256], n[64];
	int h, c, en;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d %d %d", n, &h, &c, &en) == 4 && streq(n, name))
			return en == 1;
	return false;
}

/* v2: the root offers the controller; v1: the kernel has it enabled. */
static bool f_controller(const char *name)
{
	char buf[4096];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (cgroup_version() != 2)
		return cgroup_enabled(name);
	fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *s = NULL, *t = strtok_r(buf, " \n", &s); t; t = strtok_r(NULL, " \n", &s))
		if (streq(t, name))
			return true;
	return false;
}

/*
 * nf_tables answers: a NFT_MSG_GETGEN request (read-only) on a netfilter
 * netlink socket gets NEWGEN back where nf_tables is built in or loadable,
 * an error where it is not.
 */
static bool f_nftables(void)
{
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg nf;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
		       .nlmsg_flags = NLM_F_REQUEST,
		       .nlmsg_seq = 1},
		.nf = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0},
	};
	struct timeval tv = {.tv_sec = 2};
	char buf[4096] __attribute__((aligned(4)));
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
	ssize_t n;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return false;
	n = recv(fd, buf, sizeof(buf), 0);
	return n >= (ssize_t)sizeof(*nh) && NLMSG_OK(nh, (size_t)n) &&
	       nh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN);
}

static bool f_btrfs(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (fsutil_read_all("/proc/filesystems", 1 << 16, &buf, &len, NULL) == 0 &&
	    strstr(buf, "\tbtrfs\n"))
		return true;
	return fsutil_exists("/sys/module/btrfs");
}

struct feature {
	const char *name;
	const char *what; /* for the message when it is missing */
	bool (*probe)(void);
	int need; /* 0 always, 1 cgroup v2 only, 2 v1 only, 3 with nics, -1 never */
};

static bool p_memory(void)
{
	return f_controller("memory");
}
static bool p_pids(void)
{
	return f_controller("pids");
}
static bool p_cpu(void)
{
	return f_controller("cpu");
}
static bool p_freezer(void)
{
	return cgroup_version() == 2 || cgroup_enabled("freezer");
}
static bool p_systemd(void)
{
	return cgroup_systemd();
}

static const struct feature features[] = {
	{"user_namespaces", "user namespaces (user.max_user_namespaces > 0)", f_user_namespaces, 0},
	{"mount_api", "the new mount API (open_tree, move_mount, fsopen, mount_setattr; 5.12)",
	 f_mount_api, 0},
	{"idmapped_mounts", "idmapped mounts of btrfs (kernel 5.15)", sysinfo_idmapped_mounts, 0},
	{"openat2", "openat2 (kernel 5.6)", f_openat2, 0},
	{"pidfd", "pidfd_open and pidfd_send_signal (kernel 5.3)", f_pidfd, 0},
	{"close_range", "close_range with CLOSE_RANGE_CLOEXEC (kernel 5.11)", f_close_range, 0},
	{"seccomp", "seccomp filters", f_seccomp, 0},
	{"clone3_into_cgroup", "clone3 with CLONE_INTO_CGROUP (kernel 5.7)", f_clone3, 1},
	{"cgroup_memory", "the memory cgroup controller", p_memory, 0},
	{"cgroup_pids", "the pids cgroup controller", p_pids, 0},
	{"cgroup_cpu", "the cpu cgroup controller", p_cpu, 0},
	{"cgroup_freezer", "the freezer cgroup controller (cgroup v1)", p_freezer, 2},
	{"nftables", "nf_tables in the kernel (for nics)", f_nftables, 3},
	{"btrfs", "the btrfs file system", f_btrfs, 0},
	{"systemd_delegation", "", p_systemd, -1},
};

static bool probe(const struct feature *f)
{
	const char *miss = getenv("ZONEHOST_TEST_MISSING_FEATURE");

	if (miss && streq(miss, f->name))
		return false;
	return f->probe();
}

json_t *sysinfo_zone_features(void)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < ARRAY_SIZE(features); i++)
		json_object_set_new(o, features[i].name, json_boolean(probe(&features[i])));
	if (o)
		json_object_set_new(o, "cgroup_version", json_integer(cgroup_version()));
	return o;
}

static bool needed(const struct feature *f, const json_t *vm)
{
	switch (f->need) {
	case 0: return true;
	case 1: return cgroup_version() == 2;
	case 2: return cgroup_version() == 1;
	case 3: return json_array_size(json_object_get(vm, "nics")) > 0;
	default: return false;
	}
}

int sysinfo_zone_check(const json_t *vm, struct zh_error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++)
		if (needed(&features[i], vm) && !probe(&features[i]))
			return zh_error_set(err, ENOTSUP, NULL,
					    "this host lacks %s, which a zone needs (Zone Feature "
					    "\"%s\" in zonehost sysinfo)",
					    features[i].what, features[i].name);
	return 0;
}

static bool kernel_at_least(int maj, int min)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

bool sysinfo_idmapped_mounts(void)
{
#if defined(SYS_open_tree) && defined(SYS_mount_setattr)
	/* Bad arguments on purpose: ENOSYS means absent, anything else present. */
	if (syscall(SYS_open_tree, -1, "", 0) < 0 && errno == ENOSYS)
		return false;
	if (syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno == ENOSYS)
		return false;
	return kernel_at_least(5, 15);
#else
	return false;
#endif
}

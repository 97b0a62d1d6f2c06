/*
 * zone-enter-oci.c - what the OCI `exec` (zonehost-runc) adds to a
 * zone_enter() session: the caller's stdio and preserved fds of more
 * types than pipes, the capability masks, no_new_privs, an extra seccomp
 * filter, a cwd and the PATH of a given environment.
 *
 * Owns: the checks of those fds (in P, the caller) and their set-up in S,
 * and the session's capability sets beyond the zone's own policy.  Not:
 * that policy (zone-caps.c: the zone's kept set, applied first, always),
 * the zone's own filter (zone-seccomp.c, loaded first, always), who the
 * user is (zone-enter-user.c).  Sequence in S (zone-enter.c):
 *
 *     zone root: zone_caps_drop, zone_seccomp_load, enter_oci_bound,
 *                enter_oci_seccomp(early), enter_oci_keepcaps(on)
 *     the user:  enter_oci_keepcaps(off), enter_oci_caps, stdio,
 *                enter_oci_chdir, enter_oci_fds, NO_NEW_PRIVS,
 *                enter_oci_seccomp(late), execve
 *
 * Capabilities never widen: every mask is intersected with what S holds
 * after zone_caps_drop() (the kernel could not raise them anyway: the
 * bounding set only shrinks, capset() only takes from the permitted set,
 * ambient needs permitted and inheritable).  A non-root uid keeps the given
 * permitted, effective and ambient sets through the uid switch
 * (PR_SET_KEEPCAPS, then capset and PR_CAP_AMBIENT_RAISE), as runc does;
 * execve() then leaves such a uid its ambient set.  For uid 0 the kernel
 * gives the bounding set at execve(), so cap_bounding is what binds root.
 *
 * The extra filter stacks on the zone's (seccomp filters only add; the
 * strictest answer wins), so a syscall the zone denies stays denied.  With
 * no_new_privs it is loaded just before execve() (any uid may then); else
 * while S is still zone root (it needs CAP_SYS_ADMIN in the zone's user
 * namespace), as runc does, so it then also governs S's own set-up.
 *
 * Why the fds the OCI caller hands over give the zone nothing but their
 * own bytes.  The caller (containerd's shim, conmon: host root) chose them
 * for this process, as it hands its fds to runc; each is an open file
 * description, not a path, and cannot be widened into one:
 *   - FIFOs and AF_UNIX sockets: a byte stream with the caller at the other
 *     end (and over a socket only the fds the caller itself sends);
 *     /proc/self/fd/N of one reopens only that pipe (a socket cannot be
 *     reopened at all).  Terminals are refused (a tty is not the caller's
 *     alone: its other processes, its line discipline); use a pty.
 *   - /dev/null (a character device whose number is the host's
 *     /dev/null's): no data at all.  Any other device is refused.
 *   - regular files opened write-only (O_WRONLY, O_APPEND: runtime-tools
 *     redirect stdout to a file): the process can write into that file; a
 *     reopen through /proc/self/fd/N resolves to that one inode (not a
 *     directory, so nothing can be walked from it) and is checked against
 *     the zone's credentials, to which a host file's owner is unmapped:
 *     only its "other" permission bits apply.  O_RDWR and O_RDONLY files
 *     are refused (the caller did not mean the zone to read them).
 *   - refused: directories (fchdir/openat from one walks the host's tree),
 *     block devices (a disk), anything opened O_PATH (a handle on a host
 *     path that openat2 or a /proc reopen turns into any access the zone's
 *     credentials allow).
 * Nothing else of the caller survives: every other fd >= 3 is
 * close-on-exec (close_range), and S stays non-dumpable until its execve.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zone-enter-internal.h"

#define PRESERVE_FDS_MAX 1024
#define CAP_BITS	 64

/* ---- the caller P: which fds may be handed over ---- */

/* Why fd (open as fl, of st) is refused, or NULL when it is allowed. */
static const char *refusal(int fd, int fl, const struct stat *st, dev_t null_rdev)
{
	int dom = 0;
	socklen_t len = sizeof(dom);

	if (fl & O_PATH)
		return "is opened O_PATH";
	if (S_ISFIFO(st->st_mode))
		return NULL;
	if (S_ISCHR(st->st_mode))
		return st->st_rdev == null_rdev ? NULL
						: "is a character device other than /dev/null";
	if (S_ISREG(st->st_mode))
		return (fl & O_ACCMODE) == O_WRONLY ? NULL
						    : "is a regular file not opened write-only";
	if (S_ISSOCK(st->st_mode))
		return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 && dom == AF_UNIX
			       ? NULL
			       : "is a socket other than AF_UNIX";
	if (S_ISDIR(st->st_mode))
		return "is a directory";
	if (S_ISBLK(st->st_mode))
		return "is a block device";
	return "is of a refused type";
}

static int check_fd(int fd, const char *prop, const char *what, dev_t null_rdev,
		    struct zh_error *err)
{
	struct stat st;
	const char *why;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st) < 0)
		return zh_error_set(err, EBADF, prop, "zone_enter: %s (fd %d) is not open", what,
				    fd);
	why = refusal(fd, fl, &st, null_rdev);
	if (why)
		return zh_error_set(err, EINVAL, prop, "zone_enter: %s (fd %d) %s: refused", what,
				    fd, why);
	return 0;
}

static int check_preserved(int n, dev_t null_rdev, struct zh_error *err)
{
	if (n < 0 || n > PRESERVE_FDS_MAX)
		return zh_error_set(err, EINVAL, "preserve_fds",
				    "zone_enter: preserve_fds %d: must be 0 to %d", n,
				    PRESERVE_FDS_MAX);
	for (int fd = 3; fd < 3 + n; fd++)
		if (check_fd(fd, "preserve_fds", "preserve_fds", null_rdev, err) < 0)
			return -err->errnum;
	return 0;
}

int enter_oci_check_fds(const struct zone_enter_spec *s, struct zh_error *err)
{
	static const char *const names[3] = {"stdin", "stdout", "stderr"};
	struct stat null_st;

	if (stat("/dev/null", &null_st) < 0 || !S_ISCHR(null_st.st_mode))
		return zh_error_set(err, ENODEV, NULL, "zone_enter: the host has no /dev/null");
	for (int i = 0; !s->pty && s->oci_stdio && i < 3; i++)
		if (s->stdio[i] >= 0 &&
		    check_fd(s->stdio[i], "stdio", names[i], null_st.st_rdev, err) < 0)
			return -err->errnum;
	return check_preserved(s->preserve_fds, null_st.st_rdev, err);
}

/* ---- the session S: capabilities ---- */

static bool has_bit(uint64_t mask, int cap)
{
	return (mask >> cap) & 1;
}

int enter_oci_bound(struct enter_child *c)
{
	if (!c->s->has_caps)
		return 0;
	for (int cap = 0; cap < CAP_BITS; cap++) {
		if (has_bit(c->s->cap_bounding, cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return enter_fail(c, errno, "capabilities",
					  "zone_enter: cannot drop capability %d from the "
					  "bounding set: %m",
					  cap);
	}
	return 0;
}

int enter_oci_keepcaps(struct enter_child *c, bool on)
{
	if (!c->s->has_caps || prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) == 0)
		return 0;
	return enter_fail(c, errno, "capabilities", "zone_enter: PR_SET_KEEPCAPS: %m");
}

static uint64_t join_u32(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

static void split_u64(uint64_t v, uint32_t *lo, uint32_t *hi)
{
	*lo = (uint32_t)v;
	*hi = (uint32_t)(v >> 32);
}

static int cap_get(uint64_t *eff, uint64_t *perm, uint64_t *inh)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*eff = join_u32(d[0].effective, d[1].effective);
	*perm = join_u32(d[0].permitted, d[1].permitted);
	*inh = join_u32(d[0].inheritable, d[1].inheritable);
	return 0;
}

static int cap_set(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};

	split_u64(eff, &d[0].effective, &d[1].effective);
	split_u64(perm, &d[0].permitted, &d[1].permitted);
	split_u64(inh, &d[0].inheritable, &d[1].inheritable);
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int raise_ambient(struct enter_child *c, uint64_t mask)
{
	for (int cap = 0; cap < CAP_BITS; cap++)
		if (has_bit(mask, cap) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return enter_fail(c, errno, "capabilities",
					  "zone_enter: cannot raise ambient capability %d: %m",
					  cap);
	return 0;
}

/* As the user (caps kept through the switch): the masks, within what S holds. */
int enter_oci_caps(struct enter_child *c)
{
	const struct zone_enter_spec *s = c->s;
	uint64_t eff = 0, perm = 0, inh = 0;
	int r;

	if (!s->has_caps)
		return 0;
	r = cap_get(&eff, &perm, &inh);
	if (r == 0) {
		uint64_t held = perm;

		perm = s->cap_permitted & held;
		inh = s->cap_inheritable & (held | inh);
		eff = s->cap_effective & perm;
		r = cap_set(eff, perm, inh);
	}
	if (r < 0)
		return enter_fail(c, -r, "capabilities", "zone_enter: cannot set capabilities: %s",
				  strerror(-r));
	return raise_ambient(c, s->cap_ambient & perm & inh);
}

/* ---- the session S: seccomp, cwd, fds, PATH ---- */

int enter_oci_seccomp(struct enter_child *c, bool late)
{
	const struct sock_fprog *p = c->s->extra_seccomp;

	if (!p || late != c->s->no_new_privs)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p) == 0)
		return 0;
	return enter_fail(c, errno, "seccomp",
			  "zone_enter: cannot load the extra seccomp filter: %m");
}

int enter_oci_chdir(struct enter_child *c)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_MAGICLINKS};
	const char *cwd = c->s->cwd;
	int fd, e;

	if (!cwd)
		return chdir(c->u.home) == 0 || chdir("/") == 0
			       ? 0
			       : enter_fail(c, errno, NULL, "zlogin: cannot chdir to /: %m");
	if (cwd[0] != '/')
		return enter_fail(c, EINVAL, "cwd", "zone_enter: cwd %s: must be absolute", cwd);
	fd = (int)syscall(SYS_openat2, AT_FDCWD, cwd, &how, sizeof(how));
	if (fd < 0 || fchdir(fd) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return enter_fail(c, e, "cwd", "zone_enter: cwd %s: %s", cwd, strerror(e));
	}
	close(fd);
	return 0;
}

int enter_oci_fds(struct enter_child *c)
{
	unsigned first = 3U + (unsigned)c->s->preserve_fds;

	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return enter_fail(c, errno, NULL, "zlogin: close_range: %m");
	for (int fd = 3; fd < (int)first; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			return enter_fail(c, errno, "preserve_fds",
					  "zone_enter: preserved fd %d: %m", fd);
	return 0;
}

const char *enter_oci_path(const struct enter_child *c)
{
	for (char *const *e = c->s->envp; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return c->u.uid == 0 ? PATH_ROOT : PATH_USER;
}

/*
 * zone-enter.c - zone_enter(): a session process inside a running zone
 * (what zlogin and the OCI runtime's `exec` run on).
 *
 * Owns: the session process from its creation to its execve(), the two
 * short-lived helpers of that (the intermediate process, the socketpair),
 * and the check that a pid is still a given zone's init.  Not: the relay
 * of the session's terminal or pipes (zlogin.c), the zone's cgroup
 * (cgroup.c; only joined here), capabilities and seccomp (zone-caps.c,
 * zone-seccomp.c: the same ones init got), the user lookup
 * (zone-enter-user.c) and what the OCI exec adds (zone-enter-oci.c: ids,
 * capability masks, no_new_privs, an extra filter, cwd, more stdio types,
 * preserved fds).
 *
 *     struct zone_enter_spec s = { .uuid = u, .init_pid = rs.pid, .pty = true };
 *     struct zone_session zs;
 *     if (zone_enter(&s, &zs, &err) < 0) ...   nothing is left behind
 *     ... relay zs.master_fd ...; zone_session_wait(&zs, &code, &err);
 *
 * Sequence:
 *  caller (P, host): pidfd_open(init); check it is in "zonehost/<uuid>"'s
 *        cgroup and in other user/mount/pid namespaces than ours, then that
 *        the pidfd still signals (so the checks were about that very
 *        process, not a recycled pid); socketpair; open the zone's cgroup
 *        files (cgroup_join_open); clone3 C (into the zone's cgroup2 dir);
 *        "go"; C joins its v1 cgroups itself (no RCU wait, cgroup.h).
 *  C:    PR_SET_DUMPABLE 0; setns(init pidfd, USER|NS|PID|UTS|IPC|NET|
 *        CGROUP) in one call; clone3(CLONE_PARENT | CLONE_PIDFD) the session
 *        S (a child of P, inside the zone's pid ns); hand S's pidfd and
 *        host pid (clone3's answer in C's own, the caller's, pid ns) to P;
 *        _exit.  C never runs anything in the zone and never outlives S's
 *        start, and P itself never joins any zone namespace.
 *  S:    become zone root; read the user from the ZONE's /etc/passwd and
 *        /etc/group (zone-enter-user.c: the host's NSS is never asked; or
 *        the OCI ids as given); drop the bounding set (zone_caps_drop) and
 *        load the seccomp filter (zone_seccomp_load), both while still zone
 *        root, as init got them; OCI: narrow the bounding set, the extra
 *        filter unless no_new_privs, PR_SET_KEEPCAPS;
 *        setgroups/setresgid/setresuid to the user; OCI: the capability
 *        masks (capset, ambient raise); setsid; with a
 *        pty: open the zone's /dev/ptmx (as the user, so the pts is the
 *        user's; when the zone's bounded /dev/pts has none left, the ptmx
 *        of a one-pty devpts instance P made before the clone, zone-dev.c),
 *        TIOCGPTPEER for the slave, make it the controlling tty and 0/1/2,
 *        hand the master to P; else dup stdio[] to 0/1/2; chdir to cwd
 *        (resolved in the zone, no magic links) or home; a fresh
 *        environment (HOME, SHELL, USER, LOGNAME, PATH, TERM) unless envp
 *        is given; every fd >= 3 (>= 3 + preserve_fds) CLOEXEC
 *        (close_range); default signal dispositions, empty mask; not
 *        dumpable; parent death -> SIGHUP; OCI: NO_NEW_PRIVS and then the
 *        extra filter; execve from the zone's file system (the command
 *        searched in envp's PATH when given).  A failure goes up the socket as one message;
 *        S _exit()s.
 *  P:    reads the socket until EOF (S exec'd, C gone), reaps C.
 * Helpers in C and S never allocate (fixed buffers), never log.
 *
 * Why the session cannot overwrite a host binary (the /proc/self/exe class,
 * CVE-2019-5736): the only host code that runs in the zone's namespaces is
 * C and S before their exec, and both are non-dumpable from before setns()
 * on, so /proc/<pid>/{exe,fd,mem,root} and ptrace are refused to everything
 * in the zone (that needs CAP_SYS_PTRACE in the user namespace the host
 * binary's mm was created in, the host's).  What S executes is resolved in
 * the zone's mount namespace after setns(), so it is a zone file, and from
 * then on /proc/<pid>/exe is that zone file.  No fd of a host binary (or
 * any host fd but the session's own 0/1/2, pipes of the caller's relay,
 * without a pty) survives the exec: close_range(CLOEXEC) covers whatever
 * the caller held.  P, the relay, stays in the host's namespaces where the
 * zone cannot see it.  With a pty the caller's terminal is never handed to
 * the zone (only the zone's own pty); without one the session gets pipes
 * only (check_stdio refuses anything else), so no file, terminal or socket
 * of the caller is ever the tenant's to truncate or keep.  The OCI exec
 * (oci_stdio, preserve_fds) is the one exception, and a narrow one: its
 * caller (containerd's shim, conmon) hands over fds it chose for the
 * process, as it does to runc, and only FIFOs, AF_UNIX sockets, /dev/null
 * and regular files opened write-only pass; directories, block devices,
 * other devices and O_PATH fds are refused (zone-enter-oci.c says why
 * each allowed type gives the zone nothing but its own bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "fsutil.h"
#include "macro.h"
#include "util.h"
#include "zone-enter-internal.h"
#include "zone-internal.h"
#include "zone.h"

#define ENTER_NS_FLAGS                                                                             \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | \
	 CLONE_NEWCGROUP)
#define ENTER_CGROUP_MAX 65536
#define ENTER_TERM_MAX	 128

/* ---- messages over the socketpair ---- */

static int send_msg(int sock, const struct enter_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* One message; *fd gets a passed descriptor (CLOEXEC) or stays -EBADF.  0 at EOF. */
static ssize_t recv_msg(int sock, struct enter_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (n > 0 && (n != (ssize_t)sizeof(*m) || (mh.msg_flags & MSG_CTRUNC)))
		return -EBADMSG;
	return n;
}

int enter_fail(struct enter_child *c, int errnum, const char *prop, const char *fmt, ...)
{
	va_list ap;

	c->err.tag = M_ERROR;
	c->err.errnum = errnum;
	snprintf(c->err.prop, sizeof(c->err.prop), "%s", prop ? prop : "");
	errno = errnum;
	va_start(ap, fmt);
	vsnprintf(c->err.text, sizeof(c->err.text), fmt, ap);
	va_end(ap);
	return -errnum;
}

/* In C or S: copy a library error into the message. */
static int child_fail_err(struct enter_child *c, struct zh_error *e)
{
	int r = enter_fail(c, e->errnum ? e->errnum : EIO, NULL, "%s",
			   e->msg ? e->msg : "unknown error");

	zh_error_clear(e);
	return r;
}

_Noreturn static void child_exit(struct enter_child *c, int code)
{
	send_msg(c->sock, &c->err, -1);
	_exit(code);
}

/* ---- the session process S ---- */

static int become(struct enter_child *c, uid_t uid, gid_t gid, size_t n, const gid_t *groups)
{
	if (setgroups(n, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return enter_fail(c, errno, NULL,
				  "zlogin: cannot become uid %u gid %u in the zone: %m",
				  (unsigned)uid, (unsigned)gid);
	return 0;
}

/* An unlocked pty master from ptmx (at dirfd; not through a magic link); -1. */
static int open_master(int dirfd, const char *ptmx, int *n)
{
	struct open_how how = {.flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_MAGICLINKS};
	int unlock = 0, m = (int)syscall(SYS_openat2, dirfd, ptmx, &how, sizeof(how));

	if (m >= 0 && (ioctl(m, TIOCGPTN, n) < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0)) {
		close(m);
		errno = ENOTTY;
		return -1;
	}
	return m;
}

/*
 * The zone's own pty; when its /dev/pts has none left (ENOSPC: it is
 * bounded, zone-dev.c) or its /dev/ptmx is broken, one from P's private
 * devpts instance, so an operator still gets a terminal (its pts has no
 * name in the zone: n is -1).
 */
static int zone_master(struct enter_child *c, int *n)
{
	int m = open_master(AT_FDCWD, "/dev/ptmx", n), e = errno;

	if (m >= 0 || c->own_pts < 0)
		return m >= 0 ? m
			      : enter_fail(c, e, NULL,
					   "zlogin: cannot get a pty from the zone's /dev/ptmx: %s",
					   strerror(e));
	m = open_master(c->own_pts, "ptmx", n);
	if (m < 0)
		return enter_fail(c, errno, NULL, "zlogin: no pty in the zone, nor of ours: %m");
	*n = -1;
	return m;
}

static int pty_setup(struct enter_child *c)
{
	const struct zone_enter_spec *s = c->s;
	int n = -1, m, sl;

	m = zone_master(c, &n);
	if (m < 0)
		return -c->err.errnum;
	sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sl < 0 || ioctl(sl, TIOCSCTTY, 0) < 0 ||
	    (s->termios && tcsetattr(sl, TCSANOW, s->termios) < 0) ||
	    (s->winsize && ioctl(sl, TIOCSWINSZ, s->winsize) < 0) || dup2(sl, 0) < 0 ||
	    dup2(sl, 1) < 0 || dup2(sl, 2) < 0) {
		int e = errno;

		close(m);
		return enter_fail(c, e, NULL, "zlogin: cannot set up the session's pty %d: %m", n);
	}
	if (sl > 2)
		close(sl);
	struct enter_msg msg = {.tag = M_MASTER, .pts = n};
	int r = send_msg(c->sock, &msg, m);
	close(m);
	return r < 0 ? enter_fail(c, -r, NULL, "zlogin: cannot hand over the pty: %m") : 0;
}

/* stdio[] onto 0/1/2 (through copies above 2, so any order of sources works). */
static int stdio_setup(struct enter_child *c)
{
	int tmp[3];

	for (int i = 0; i < 3; i++) {
		int src = c->s->stdio[i];

		tmp[i] = src >= 0 ? fcntl(src, F_DUPFD_CLOEXEC, 3)
				  : open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (tmp[i] < 0)
			return enter_fail(c, errno, NULL, "zlogin: cannot set up fd %d: %m", i);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0)
			return enter_fail(c, errno, NULL, "zlogin: cannot set up fd %d: %m", i);
	return 0;
}

struct enter_env {
	char home[PATH_MAX + 8];
	char shell[PATH_MAX + 8];
	char user[272];
	char logname[272];
	char term[ENTER_TERM_MAX + 8];
	char path[128];
	char *v[7];
};

static void env_build(const struct enter_child *c, struct enter_env *e)
{
	size_t n = 0;

	snprintf(e->home, sizeof(e->home), "HOME=%s", c->u.home);
	snprintf(e->shell, sizeof(e->shell), "SHELL=%s", c->u.shell);
	snprintf(e->user, sizeof(e->user), "USER=%s", c->u.name);
	snprintf(e->logname, sizeof(e->logname), "LOGNAME=%s", c->u.name);
	snprintf(e->path, sizeof(e->path), "PATH=%s", c->u.uid == 0 ? PATH_ROOT : PATH_USER);
	e->v[n++] = e->home;
	e->v[n++] = e->shell;
	e->v[n++] = e->user;
	e->v[n++] = e->logname;
	e->v[n++] = e->path;
	if (c->s->term && *c->s->term && strlen(c->s->term) <= ENTER_TERM_MAX) {
		snprintf(e->term, sizeof(e->term), "TERM=%s", c->s->term);
		e->v[n++] = e->term;
	}
	e->v[n] = NULL;
}

/* Default dispositions and an empty mask: nothing of zlogin's own carries over. */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* execvp() over path; returns the errno to report. */
static int exec_search(char *const *argv, char *const *envp, const char *path)
{
	const char *p = path;
	char full[PATH_MAX];
	int err = ENOENT;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return errno;
	}
	while (*p) {
		size_t len = strcspn(p, ":");

		if (snprintf(full, sizeof(full), "%.*s/%s", (int)len, p, argv[0]) <
		    (int)sizeof(full)) {
			execve(full, argv, envp);
			if (errno == EACCES)
				err = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		p += len + (p[len] == ':');
	}
	return err;
}

static int session_exec(struct enter_child *c)
{
	char *const *argv = c->s->argv;
	char argv0[PATH_MAX + 1];
	char *login[2] = {argv0, NULL};
	struct enter_env env;
	char *const *envp = c->s->envp ? c->s->envp : env.v;
	int e;

	env_build(c, &env);
	if (enter_oci_seccomp(c, true) < 0) /* no_new_privs: the last thing before execve */
		return -c->err.errnum;
	if (!argv || !argv[0]) { /* login shell: "-sh" */
		const char *b = strrchr(c->u.shell, '/');

		snprintf(argv0, sizeof(argv0), "-%s", b ? b + 1 : c->u.shell);
		execve(c->u.shell, login, envp);
		e = errno;
		return enter_fail(c, e, "command", "zlogin: %s: %m", c->u.shell);
	}
	e = exec_search(argv, envp, enter_oci_path(c));
	if (e == ENOENT)
		return enter_fail(c, e, "command", "zlogin: %s: command not found", argv[0]);
	return enter_fail(c, e, "command", "zlogin: %s: %m", argv[0]);
}

/* Zone root, then the user, with the zone's caps and filter (and the OCI masks). */
static int session_identity(struct enter_child *c)
{
	struct zh_error e = ZH_ERROR_INIT;

	if (become(c, 0, 0, 0, NULL) < 0 || enter_user_lookup(c) < 0)
		return -c->err.errnum;
	if (zone_caps_drop(&e) < 0 || zone_seccomp_load(&e) < 0) /* both as zone root */
		return child_fail_err(c, &e);
	if (enter_oci_bound(c) < 0 || enter_oci_seccomp(c, false) < 0 ||
	    enter_oci_keepcaps(c, true) < 0)
		return -c->err.errnum;
	if (become(c, c->u.uid, c->u.gid, (size_t)c->u.ngroups, c->u.groups) < 0)
		return -c->err.errnum;
	return enter_oci_keepcaps(c, false) < 0 ? -c->err.errnum : enter_oci_caps(c);
}

static int session_prepare(struct enter_child *c)
{
	if (session_identity(c) < 0)
		return -c->err.errnum;
	if (setsid() < 0)
		return enter_fail(c, errno, NULL, "zlogin: setsid: %m");
	if ((c->s->pty ? pty_setup(c) : stdio_setup(c)) < 0 || enter_oci_chdir(c) < 0 ||
	    enter_oci_fds(c) < 0)
		return -c->err.errnum;
	reset_signals();
	/* zlogin's session ends with zlogin; an OCI exec outlives the runtime (§24.3) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    (!c->s->outlive_caller && prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0) < 0))
		return enter_fail(c, errno, NULL, "zlogin: prctl: %m");
	if (c->s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return enter_fail(c, errno, "no_new_privs", "zone_enter: no_new_privs: %m");
	return 0;
}

_Noreturn static void session_main(struct enter_child *c)
{
	if (session_prepare(c) < 0)
		child_exit(c, 1);
	session_exec(c);
	child_exit(c, c->err.errnum == ENOENT ? 127 : 126);
}

/* ---- the intermediate process C ---- */

/* Not dumpable, into every namespace of init, then S as P's child; S's pid. */
static pid_t outer_enter(struct enter_child *c, int *pidfd)
{
	struct clone_args a = {0};
	pid_t pid;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return enter_fail(c, errno, NULL, "zlogin: prctl: %m");
	if (setns(c->init_pidfd, ENTER_NS_FLAGS) < 0) {
		if (errno == ESRCH)
			return enter_fail(c, ESRCH, NULL, "zlogin: zone %s is not running",
					  c->s->uuid);
		return enter_fail(c, errno, NULL, "zlogin: cannot enter zone %s: %m", c->s->uuid);
	}
	a.flags = CLONE_PARENT | CLONE_PIDFD;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (pid < 0 && errno == ENOMEM) /* the zone's pid ns has no init any more */
		return enter_fail(c, ESRCH, NULL, "zlogin: zone %s is not running", c->s->uuid);
	if (pid < 0)
		return enter_fail(c, errno, NULL, "zlogin: cannot start a process in zone %s: %m",
				  c->s->uuid);
	return pid;
}

_Noreturn static void outer_main(struct enter_child *c)
{
	struct enter_msg go, m = {.tag = M_PIDFD};
	int pidfd = -EBADF, fd = -EBADF;
	pid_t pid;

	if (recv_msg(c->sock, &go, &fd) <= 0 || go.tag != M_GO)
		_exit(1);		     /* P gave up: it reaps us */
	if (cgroup_join_self(c->join) < 0) { /* v1: C moves itself (cgroup.h) */
		enter_fail(c, errno, NULL, "zlogin: cannot join the cgroups of zone %s: %m",
			   c->s->uuid);
		child_exit(c, 1);
	}
	pid = outer_enter(c, &pidfd);
	if (pid < 0)
		child_exit(c, 1);
	if (pid == 0)
		session_main(c);
	m.pid = pid; /* C's own pid namespace is the caller's: the host view */
	_exit(send_msg(c->sock, &m, pidfd) < 0 ? 1 : 0);
}

/* ---- the caller P ---- */

static int not_running(struct zh_error *err, const char *uuid)
{
	return zh_error_set(err, ESRCH, NULL, "zlogin: zone %s is not running", uuid);
}

/* Does the /proc/<pid>/cgroup text buf hold want, whole or as a parent? */
static bool holds_cgroup(const char *buf, const char *want)
{
	size_t wl = strlen(want);

	for (const char *p = buf; (p = strstr(p, want)); p += wl)
		if (p[wl] == '\n' || p[wl] == '/' || p[wl] == '\0')
			return true;
	return false;
}

/*
 * Is pid in the zone's cgroup, in any hierarchy: ".../zonehost/<uuid>" or
 * below, or ".../zonehost-<uuid>.scope/zone" or below under systemd?
 */
static int check_cgroup(const char *uuid, pid_t pid, struct zh_error *err)
{
	char path[64], want[UTIL_UUID_LEN + 64], name[UTIL_UUID_LEN + 32],
		scope[UTIL_UUID_LEN + 64];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "/%s/%s", CGROUP_PARENT, uuid);
	if (cgroup_scope_name(uuid, name, sizeof(name)) < 0)
		return not_running(err, uuid);
	snprintf(scope, sizeof(scope), "/%s/" CGROUP_ZONE, name);
	if (fsutil_read_all(path, ENTER_CGROUP_MAX, &buf, &len, err) < 0) {
		zh_error_clear(err);
		return not_running(err, uuid);
	}
	if (holds_cgroup(buf, want) || holds_cgroup(buf, scope))
		return 0;
	return zh_error_set(err, ESRCH, NULL, "zlogin: process %d is not the init of zone %s",
			    (int)pid, uuid);
}

static bool same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64];
	struct stat sa, sb;

	snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", ns);
	return stat(a, &sa) < 0 || stat(b, &sb) < 0 ||
	       (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* A pidfd of the zone's init, checked to be that zone's init. */
static int open_init(const char *uuid, pid_t pid, int *out, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;

	if (pid <= 1)
		return not_running(err, uuid);
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH ? not_running(err, uuid)
				      : zh_error_set(err, errno, NULL, "zlogin: pidfd_open: %m");
	if (check_cgroup(uuid, pid, err) < 0)
		return -err->errnum;
	if (same_ns(pid, "user") || same_ns(pid, "mnt") || same_ns(pid, "pid"))
		return zh_error_set(err, EPERM, NULL,
				    "zlogin: process %d of zone %s shares the host's namespaces",
				    (int)pid, uuid);
	/* Still alive: so everything above was about this very process. */
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0)
		return not_running(err, uuid);
	*out = TAKE_FD(fd);
	return 0;
}

static void reap(int pidfd, bool kill_it)
{
	siginfo_t si;

	if (pidfd < 0)
		return;
	if (kill_it)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
}

/* Read the socket until EOF: S's pidfd, its pty master, or one error. */
static int collect(int sock, struct zone_session *zs, struct enter_msg *fail)
{
	for (;;) {
		struct enter_msg m;
		int fd = -EBADF;
		ssize_t n = recv_msg(sock, &m, &fd);

		if (n <= 0)
			return (int)n;
		if (m.tag == M_PIDFD && fd >= 0 && zs->pidfd < 0) {
			zs->pidfd = fd;
			zs->pid = m.pid;
		} else if (m.tag == M_MASTER && fd >= 0 && zs->master_fd < 0) {
			zs->master_fd = fd;
			zs->pts = m.pts;
		} else {
			if (fd >= 0)
				close(fd);
			if (m.tag == M_ERROR && !fail->tag)
				*fail = m;
		}
	}
}

static int spawn_outer(struct enter_child *c, int *pidfd, pid_t *pid, struct zh_error *err)
{
	struct clone_args a = {0};

	a.flags = CLONE_PIDFD;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = SIGCHLD;
	if (c->join->clone_fd >= 0) { /* cgroup2: born in the zone's cgroup */
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)c->join->clone_fd;
	}
	*pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (*pid < 0)
		return zh_error_set(err, errno, NULL, "zlogin: clone3: %m");
	if (*pid == 0)
		outer_main(c);
	return 0;
}

/* Let C go, gather what C and S send. */
static int run_outer(const struct zone_enter_spec *s, int sock, struct zone_session *zs,
		     struct zh_error *err)
{
	struct enter_msg go = {.tag = M_GO}, fail = {0};
	int r;

	r = send_msg(sock, &go, -1);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "zlogin: cannot start: %m");
	r = collect(sock, zs, &fail);
	if (fail.tag) {
		fail.text[sizeof(fail.text) - 1] = '\0';
		fail.prop[sizeof(fail.prop) - 1] = '\0';
		return zh_error_set(err, fail.errnum > 0 ? fail.errnum : EIO,
				    *fail.prop ? fail.prop : NULL, "%s", fail.text);
	}
	if (r < 0)
		return zh_error_set(err, -r, NULL, "zlogin: lost the session's set-up: %m");
	if (zs->pidfd < 0 || (s->pty && zs->master_fd < 0))
		return not_running(err, s->uuid);
	return 0;
}

/*
 * Without a pty the session's 0-2 must be pipes (or -1: /dev/null): the
 * caller relays them.  A file, terminal or socket of the caller handed to
 * the zone would stay the tenant's to truncate, read or write into after
 * the session ended.  The OCI exec widens this (oci_stdio, preserve_fds:
 * zone-enter-oci.c).
 */
static int check_stdio(const struct zone_enter_spec *s, struct zh_error *err)
{
	struct stat st;

	for (int i = 0; !s->pty && !s->oci_stdio && i < 3; i++)
		if (s->stdio[i] >= 0 && (fstat(s->stdio[i], &st) < 0 || !S_ISFIFO(st.st_mode)))
			return zh_error_set(err, EINVAL, NULL,
					    "zlogin: the session's fd %d must be a pipe the caller "
					    "relays",
					    i);
	return s->oci_stdio || s->preserve_fds ? enter_oci_check_fds(s, err) : 0;
}

/*
 * cgroup v2: the session is born in the zone's root-owned "zlogin" leaf,
 * not in its top cgroup, which the zone's init may have made an inner node
 * (systemd enables controllers there): clone3 into it would fail EBUSY.
 */
static int use_zlogin_leaf(const char *uuid, struct cgroup_join *j, struct zh_error *err)
{
	int fd;

	if (cgroup_version() != 2 || j->clone_fd < 0)
		return 0;
	fd = cgroup_open_zlogin_fd(uuid, err);
	if (fd < 0)
		return fd;
	closep(&j->clone_fd);
	j->clone_fd = fd;
	return 0;
}

int zone_enter(const struct zone_enter_spec *s, struct zone_session *out, struct zh_error *err)
{
	struct zone_session zs = {.pid = -1, .pidfd = -EBADF, .master_fd = -EBADF, .pts = -1};
	_cleanup_close_ int init_fd = -EBADF, cfd = -EBADF;
	int sv[2], r;
	pid_t cpid;

	if (check_stdio(s, err) < 0 || open_init(s->uuid, s->init_pid, &init_fd, err) < 0)
		return -err->errnum;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return zh_error_set(err, errno, NULL, "zlogin: socketpair: %m");
	_cleanup_close_ int sock = sv[0], own_pts = -EBADF;
	struct cgroup_join join;
	struct enter_child c = {.s = s, .join = &join, .init_pidfd = init_fd, .sock = sv[1]};

	if (s->pty && zone_devpts_open((gid_t)-1, 1, &own_pts, err) < 0) {
		close(sv[1]);
		return -err->errnum;
	}
	c.own_pts = own_pts;

	if (cgroup_join_open(s->uuid, &join, err) < 0 || use_zlogin_leaf(s->uuid, &join, err) < 0) {
		cgroup_join_close(&join);
		close(sv[1]);
		return zh_error_prefix(err, "zlogin: cannot join the cgroups of zone %s", s->uuid);
	}
	r = spawn_outer(&c, &cfd, &cpid, err);
	cgroup_join_close(&join);
	close(sv[1]);
	if (r < 0)
		return r;
	r = run_outer(s, sock, &zs, err);
	reap(cfd, r < 0);
	if (r < 0) {
		reap(zs.pidfd, false); /* S has _exit()ed after its message */
		zone_session_close(&zs);
		return r;
	}
	*out = zs;
	return 0;
}

int zone_session_wait(struct zone_session *zs, int *code, struct zh_error *err)
{
	siginfo_t si = {0};

	while (waitid(P_PIDFD, (id_t)zs->pidfd, &si, WEXITED) < 0)
		if (errno != EINTR)
			return zh_error_set(err, errno, NULL, "zlogin: waitid: %m");
	*code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	return 0;
}

void zone_session_close(struct zone_session *zs)
{
	closep(&zs->pidfd);
	closep(&zs->master_fd);
}

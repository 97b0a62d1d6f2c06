/*
 * zone-ns.c - zone_spawn(): the zone's first process, from clone3() to the
 * exec of init.
 *
 * Owns: the child between clone3() and execve(), its sync pipe and its
 * error pipe.  Not: the cgroup (cgroup.c; made by the caller and only
 * joined here), the console pty (the caller's), the mounts (zone-mount.c,
 * zone-dev.c, zone-idmap.c), capabilities and seccomp (zone-caps.c,
 * zone-seccomp.c).
 *
 *     struct zone_proc zp;
 *     if (zone_spawn(&spec, &zp, &err) < 0) ...   nothing is left behind
 *     ... waitid(P_PIDFD, zp.pidfd, ...); close(zp.pidfd);
 *
 * Sequence (docs/architecture.md §8):
 *  parent: open_tree() the zone root (detached), pipes, clone3(CLONE_PIDFD |
 *          NEWUSER | NEWNS | NEWPID | NEWUTS | NEWIPC | NEWNET [| NEWCGROUP |
 *          INTO_CGROUP on v2]) with euid id_base for that call only, so the
 *          zone's user namespace is owned by the zone's own host uid and
 *          per-user kernel limits bind per zone (owner_enter() explains);
 *          write "0 <id_base> 65536" to the child's
 *          uid_map and gid_map (we are real root: no setgroups=deny);
 *          idmap the detached tree through the child's user ns; call
 *          s->before_release (zoneadmd: VNICs into the child's netns);
 *          then write "go".  Cgroups: cgroup2 is joined at clone
 *          (CLONE_INTO_CGROUP); on v1 the child moves itself through the
 *          "tasks" files the parent opened (cgroup_join_open: no RCU wait).
 *  child:  with host credentials: / rprivate, attach the root, open the host
 *          objects to bind; then become zone root, unshare the cgroup ns (v1: now that it sits in
 *          its cgroup, so that cgroup is its root), mounts and pivot_root,
 *          hostname, RLIMIT_MEMLOCK, setsid + console as controlling tty and
 *          0/1/2, zone_caps_drop(), zone_seccomp_load(), every fd >= 3 made
 *          CLOEXEC (close_range), execve(init).
 *  parent: reads the error pipe: EOF means the exec happened; a message
 *          means the child failed: it is reaped and the error returned.
 * The child never logs: its one failure travels up the CLOEXEC error pipe
 * as {int errnum; char msg[]} and it _exit()s.  The zone root is the zone's
 * only source of binaries: init comes from it and nothing of the host is
 * ever exec'd in the zone, so /proc/self/exe inside a zone is a zone file
 * (the /proc/self/exe overwrite class, CVE-2019-5736, has no host binary to
 * reach; zoneadmd lives in another PID namespace, invisible from inside).
 *
 * Invariants: on failure no process, mount or fd remains (the caller's
 * cgroup stays the caller's to destroy); the host mount namespace is never
 * touched by the child (its first act is MS_REC|MS_PRIVATE on its own /).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "zone-internal.h"

#define ZONE_NS_FLAGS                                                                             \
	(CLONE_PIDFD | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWNET)

static char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"TERM=vt100",
	NULL,
};

/* ---- the child ---- */

static int child_wait_go(struct zone_child *c)
{
	char b;
	ssize_t n;

	do
		n = read(c->sync_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return zone_child_fail(c, ECANCELED, "zone set-up cancelled");
	close(c->sync_fd);
	c->sync_fd = -EBADF;
	return 0;
}

static int child_become_root(struct zone_child *c)
{
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return zone_child_fail(c, errno,
				       "cannot become root in the zone's user namespace: %m");
	if (c->cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		return zone_child_fail(c, errno, "cannot make the cgroup namespace: %m");
	return 0;
}

static int child_memlock(struct zone_child *c)
{
	struct rlimit cur, want;

	if (c->s->memlock_mib == 0)
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &cur) < 0)
		return zone_child_fail(c, errno, "getrlimit: %m");
	want.rlim_cur = want.rlim_max = c->s->memlock_mib << 20;
	/* Raising the hard limit needs CAP_SYS_RESOURCE in the host's user ns. */
	if (setrlimit(RLIMIT_MEMLOCK, &want) == 0)
		return 0;
	if (errno == EPERM && want.rlim_max > cur.rlim_max) {
		want.rlim_cur = want.rlim_max = cur.rlim_max;
		if (setrlimit(RLIMIT_MEMLOCK, &want) == 0)
			return 0;
	}
	return zone_child_fail(c, errno, "cannot set max_locked_memory to %llu MiB: %m",
			       (unsigned long long)c->s->memlock_mib);
}

static int child_console(struct zone_child *c)
{
	int fd = c->s->console_fd;

	if (setsid() < 0)
		return zone_child_fail(c, errno, "setsid: %m");
	if (fd < 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return zone_child_fail(c, errno, "cannot open /dev/null in the zone: %m");
	} else if (isatty(fd) && ioctl(fd, TIOCSCTTY, 0) < 0) {
		return zone_child_fail(c, errno, "cannot make the console the controlling tty: %m");
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return zone_child_fail(c, errno, "dup2 of the console: %m");
	return 0;
}

static int child_privs(struct zone_child *c)
{
	struct zh_error e = ZH_ERROR_INIT;

	if (zone_caps_drop(&e) < 0 || zone_seccomp_load(&e) < 0)
		return zone_child_fail(c, e.errnum, "%s", e.msg ? e.msg : "privilege drop failed");
	return 0;
}

static int child_exec(struct zone_child *c)
{
	const char *init = c->s->argv[0];

	/* Every fd but 0-2 goes at exec; the error pipe stays till then. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return zone_child_fail(c, errno, "close_range: %m");
	zone_child_signals();
	execve(init, c->s->argv, c->s->envp ? c->s->envp : default_env);
	if (errno == ENOENT)
		return zone_child_fail(c, ENOENT, "init \"%s\" not found in zone root", init);
	if (errno == EACCES)
		return zone_child_fail(c, EACCES, "init \"%s\" is not executable in zone root",
				       init);
	return zone_child_fail(c, errno, "cannot exec init \"%s\": %m", init);
}

static int child_run(struct zone_child *c)
{
	const struct zone_spec *s = c->s;

	if (c->join && cgroup_join_self(c->join) < 0)
		return zone_child_fail(c, errno, "cannot join the zone's cgroups: %m");
	if (child_wait_go(c) < 0 || zone_mount_prepare(c) < 0 || child_become_root(c) < 0 ||
	    zone_mount_setup(c) < 0)
		return -c->errnum;
	/* A joined UTS namespace is not the zone's: its name stays the owner's. */
	bool own_uts = !(s->run && s->run->join[ZONE_JOIN_UTS]);
	if (own_uts && s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return zone_child_fail(c, errno, "cannot set hostname \"%s\": %m", s->hostname);
	if (child_memlock(c) < 0)
		return -c->errnum;
	if (s->run) /* a docker zone's or OCI container's process (zone-run.c) */
		return (!s->run->stdio && child_console(c) < 0) ? -c->errnum : zone_run_exec(c);
	if (child_console(c) < 0 || child_privs(c) < 0)
		return -c->errnum;
	return child_exec(c);
}

static _Noreturn void child_main(struct zone_child *c)
{
	struct zone_child_msg m;

	child_run(c);
	m.errnum = c->errnum ? c->errnum : EIO;
	memcpy(m.msg, c->msg, sizeof(m.msg));
	m.msg[sizeof(m.msg) - 1] = '\0';
	(void)!write(c->err_fd, &m, sizeof(m.errnum) + strlen(m.msg) + 1);
	_exit(127);
}

/* ---- the parent ---- */

struct spawn {
	const struct zone_spec *s;
	struct zone_child c;
	struct zone_fs fs[ZONE_FS_MAX];
	size_t nfs;
	struct zone_fs xfs[ZONE_RUN_MOUNTS_MAX]; /* s->run's binds (zone-extra.c) */
	int sys_fd;
	int tree_fd;
	bool tree_mapped; /* an overlay root, on idmapped layers already */
	int pts_fd;
	int sync_wr;
	int err_rd;
	pid_t pid;
	int pidfd;
	struct cgroup_join join;
};

static int write_map(pid_t pid, const char *which, uid_t base, struct zh_error *err)
{
	char path[64], line[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	n = snprintf(line, sizeof(line), "0 %u %u\n", (unsigned)base, ZONE_ID_COUNT);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		return zh_error_set(err, errno, NULL, "cannot write %s: %m", path);
	return 0;
}

static int make_pipes(struct spawn *sp, int syncp[2], int errp[2], struct zh_error *err)
{
	if (pipe2(syncp, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close(syncp[0]);
		close(syncp[1]);
		return zh_error_set(err, e, NULL, "pipe: %m");
	}
	sp->c.sync_fd = syncp[0];
	sp->c.err_fd = errp[1];
	sp->sync_wr = syncp[1];
	sp->err_rd = errp[0];
	return 0;
}

/*
 * The user namespace's owner is the euid of the process that creates it,
 * and the kernel charges every per-user count of the namespace (inotify
 * instances and watches, namespaces, RLIMIT_NPROC, SIGPENDING, MSGQUEUE,
 * MEMLOCK) up the chain to (parent namespace, owner) as well.  Created by
 * root, every zone shared host root's counts: one zone taking all 128
 * inotify instances left the host and every other zone with EMFILE.
 * So this thread takes the zone's host uid (id_base, its root) as euid
 * for the clone3 only: the owner becomes the zone's, and each zone has
 * the host's per-user limits to itself.  fsuid stays 0 (the child opens
 * host objects before it becomes the zone's root) and the capabilities
 * stay effective (CLONE_INTO_CGROUP, a host that restricts unprivileged
 * user namespaces).  Raw syscalls: only this thread changes, and the
 * change is undone before anything else runs in it.  The owner holds
 * every capability over the zone's namespaces, but a host process with
 * that euid could already signal and trace the zone's root processes.
 */
static int owner_enter(uid_t owner, int *dumpable, struct zh_error *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	*dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (syscall(SYS_capget, &h, d) < 0)
		return zh_error_set(err, errno, NULL, "capget: %m");
	if (syscall(SYS_setresuid, -1, owner, -1) < 0)
		return zh_error_set(err, errno, NULL, "cannot take uid %u to own the zone: %m",
				    (unsigned)owner);
	syscall(SYS_setfsuid, 0); /* returns the previous fsuid, never fails for root */
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0) {
		int e = errno;

		syscall(SYS_setresuid, -1, 0, -1);
		return zh_error_set(err, e, NULL, "capset: %m");
	}
	return 0;
}

/* Back to euid 0 (the effective set is refilled from the permitted one). */
static void owner_leave(int dumpable)
{
	syscall(SYS_setresuid, -1, 0, -1);
	if (dumpable > 0)
		prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); /* an euid change cleared it */
}

static int do_clone(struct spawn *sp, struct zh_error *err)
{
	struct clone_args a = {0};
	int pidfd = -EBADF;

	a.flags = ZONE_NS_FLAGS & ~zone_join_flags(sp->s);
	if (sp->s->run && sp->s->run->clone_parent)
		a.flags |= CLONE_PARENT; /* the caller's parent reaps it (docs §24.3) */
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	/* clone3 refuses an exit signal with CLONE_PARENT: the parent's own (SIGCHLD) is used */
	a.exit_signal = (a.flags & CLONE_PARENT) ? 0 : SIGCHLD;
	int cfd = sp->s->cgroup_fd >= 0 ? sp->s->cgroup_fd : sp->join.clone_fd;

	if (cfd >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cfd;
	}
	/* v1: the child joins its cgroups itself, then unshares the cgroupns. */
	if (cfd >= 0 && sp->join.n == 0)
		a.flags |= CLONE_NEWCGROUP;
	else
		sp->c.cgroupns = true;
	int dumpable, e, saved[ZONE_JOIN_N];

	if (zone_join_enter(sp->s, saved, err) < 0)
		return -err->errnum;
	if (owner_enter(sp->s->id_base, &dumpable, err) < 0) {
		zone_join_leave(saved);
		return -err->errnum;
	}
	pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
	if (pid != 0) {
		e = errno;
		owner_leave(dumpable);
		zone_join_leave(saved);
		errno = e;
	}
	if (pid < 0)
		return zh_error_set(err, errno, NULL, "cannot clone the zone's first process: %m");
	if (pid == 0) {
		close(sp->sync_wr);
		close(sp->err_rd);
		child_main(&sp->c);
	}
	sp->pid = pid;
	sp->pidfd = pidfd;
	return 0;
}

static int await_exec(struct spawn *sp, struct zh_error *err);

/* The child ended before it was released: say how (it has not been reaped). */
static int child_gone(struct spawn *sp, int e, struct zh_error *err)
{
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)sp->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid != 0) {
		if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			return zh_error_set(err, ECHILD, NULL,
					    "the zone's first process was killed by signal %d "
					    "before it was released",
					    si.si_status);
		/* Its own failure came up the error pipe: that message says why. */
		if (await_exec(sp, err) < 0)
			return -err->errnum;
		return zh_error_set(err, ECHILD, NULL,
				    "the zone's first process exited with status %d before it "
				    "was released",
				    si.si_status);
	}
	return zh_error_set(err, e, NULL, "cannot release the zone's first process: %s",
			    strerror(e));
}

/* Maps, idmapped root, cgroup (v1), the caller's hook; then let the child go. */
static int release(struct spawn *sp, struct zh_error *err)
{
	const struct zone_spec *s = sp->s;

	if (write_map(sp->pid, "uid_map", s->id_base, err) < 0 ||
	    write_map(sp->pid, "gid_map", s->id_base, err) < 0 ||
	    zone_idmap_apply(sp->tree_fd, sp->tree_mapped, sp->fs, sp->nfs, sp->pid, err) < 0 ||
	    (s->run && zone_extra_idmap(s, sp->xfs, sp->pid, err) < 0))
		return -err->errnum;
	/* The zone's root may manage its own cgroup subtree (systemd). */
	if (s->cgroup_uuid && cgroup_chown(s->cgroup_uuid, s->id_base, s->id_base, err) < 0)
		return -err->errnum;
	/* The caller's turn: the namespaces exist, init has not run (VNICs). */
	if (s->before_release && s->before_release(s->hook_ctx, sp->pid, err) < 0)
		return -err->errnum;
	/* Joined at clone (cgroup2) or by the child itself (v1 tasks files). */
	if (write(sp->sync_wr, "g", 1) != 1)
		return child_gone(sp, errno, err);
	return 0;
}

/*
 * EOF on the error pipe: init was exec'd (0).  A message: the child failed.
 * A full record with errnum 0: it waits at its gate (1).
 */
static int read_exec(int fd, struct zh_error *err)
{
	struct zone_child_msg m;
	size_t got = 0;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	do {
		n = read(fd, (char *)&m + got, sizeof(m) - 1 - got);
		if (n > 0)
			got += (size_t)n;
	} while ((n < 0 && errno == EINTR) || (n > 0 && got < sizeof(m) - 1));
	if (n < 0)
		return zh_error_set(err, errno, NULL, "error pipe: %m");
	if (got == 0)
		return 0;
	if (got == sizeof(m) - 1 && m.errnum == 0)
		return 1;
	if (got <= sizeof(int) || m.errnum <= 0)
		return zh_error_set(err, EIO, NULL, "zone set-up failed");
	return zh_error_set(err, m.errnum, NULL, "%s", m.msg);
}

static int await_exec(struct spawn *sp, struct zh_error *err)
{
	return read_exec(sp->err_rd, err);
}

int zone_spawn_await_exec(struct zone_proc *p, struct zh_error *err)
{
	int r;

	if (p->exec_fd < 0)
		return 0;
	r = read_exec(p->exec_fd, err);
	closep(&p->exec_fd);
	return r == 1 ? zh_error_set(err, EPROTO, NULL, "the process stopped twice") : r;
}

static void kill_child(struct spawn *sp)
{
	siginfo_t si;

	if (sp->pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, sp->pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)sp->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(sp->pidfd);
	sp->pidfd = -EBADF;
}

static void spawn_close(struct spawn *sp)
{
	for (size_t i = 0; i < sp->nfs; i++)
		closep(&sp->fs[i].fd);
	for (size_t i = 0; sp->s->run && i < sp->s->run->nmounts; i++)
		closep(&sp->xfs[i].fd);
	closep(&sp->sys_fd);
	closep(&sp->tree_fd);
	closep(&sp->pts_fd);
	closep(&sp->sync_wr);
	closep(&sp->err_rd);
	closep(&sp->c.sync_fd);
	closep(&sp->c.err_fd);
	cgroup_join_close(&sp->join);
}

static int spawn_run(struct spawn *sp, struct zh_error *err)
{
	int syncp[2], errp[2];

	if (sp->s->cgroup_uuid && sp->s->cgroup_fd < 0 &&
	    cgroup_join_open(sp->s->cgroup_uuid, &sp->join, err) < 0)
		return -err->errnum;
	sp->c.join = &sp->join;
	if (zone_idmap_open(sp->s->root, sp->s->id_base, &sp->tree_fd, &sp->tree_mapped, err) < 0 ||
	    zone_fs_open(sp->s, sp->fs, &sp->nfs, err) < 0 ||
	    zone_devpts_open(sp->s->id_base + ZONE_TTY_GID, ZONE_PTY_MAX, &sp->pts_fd, err) < 0 ||
	    (sp->s->run && zone_extra_open(sp->s, sp->xfs, &sp->sys_fd, err) < 0) ||
	    make_pipes(sp, syncp, errp, err) < 0)
		return -err->errnum;
	sp->c.xfs = sp->xfs;
	sp->c.sys_fd = sp->sys_fd;
	sp->c.tree_fd = sp->tree_fd;
	sp->c.pts_fd = sp->pts_fd;
	sp->c.fs = sp->fs;
	sp->c.nfs = sp->nfs;
	if (do_clone(sp, err) < 0)
		return -err->errnum;
	closep(&sp->c.sync_fd);
	closep(&sp->c.err_fd);
	if (release(sp, err) < 0)
		return -err->errnum;
	closep(&sp->sync_wr);
	closep(&sp->tree_fd);
	return await_exec(sp, err);
}

static int check_spec(const struct zone_spec *s, struct zh_error *err)
{
	/* A zone_run process may name a program to look up in its PATH (zone-run.c). */
	if (!s->root || !s->argv || !s->argv[0] || (!s->run && s->argv[0][0] != '/') ||
	    !s->argv[0][0])
		return zh_error_set(err, EINVAL, NULL,
				    "zone spec needs a root and an absolute init path");
	if (s->run && s->run->nmounts > ZONE_RUN_MOUNTS_MAX)
		return zh_error_set(err, E2BIG, "mounts", "mounts: more than %d entries",
				    ZONE_RUN_MOUNTS_MAX);
	if (s->run && s->run->nkeep_fds > ZONE_RUN_FDS_MAX)
		return zh_error_set(err, E2BIG, NULL, "more than %d fds to keep", ZONE_RUN_FDS_MAX);
	if (s->id_base == 0 || s->id_base > UINT32_MAX - ZONE_ID_COUNT)
		return zh_error_set(err, EINVAL, NULL, "bad zone id base %u", (unsigned)s->id_base);
	return 0;
}

int zone_spawn(const struct zone_spec *s, struct zone_proc *out, struct zh_error *err)
{
	struct spawn sp = {
		.s = s,
		.c = {.s = s,
		      .tree_fd = -EBADF,
		      .root_fd = -EBADF,
		      .sync_fd = -EBADF,
		      .err_fd = -EBADF,
		      .console_src = -EBADF,
		      .serial_src = -EBADF,
		      .mdata_dir_src = -EBADF,
		      .mdata_tool_src = -EBADF,
		      .pts_fd = -EBADF,
		      .sys_fd = -EBADF,
		      .gate_fd = -EBADF},
		.sys_fd = -EBADF,
		.tree_fd = -EBADF,
		.pts_fd = -EBADF,
		.sync_wr = -EBADF,
		.err_rd = -EBADF,
		.pid = -1,
		.pidfd = -EBADF,
		.join = {.n = 0, .clone_fd = -EBADF},
	};

	for (size_t i = 0; i < ZONE_RUN_MOUNTS_MAX; i++)
		sp.xfs[i].fd = -EBADF;
	if (check_spec(s, err) < 0)
		return -err->errnum;
	int r = spawn_run(&sp, err);
	/* At the gate: the caller reads the rest of the error pipe after opening it. */
	out->exec_fd = r == 1 ? TAKE_FD(sp.err_rd) : -EBADF;
	spawn_close(&sp);
	if (r < 0) {
		kill_child(&sp);
		return r;
	}
	out->pid = sp.pid;
	out->pidfd = sp.pidfd;
	return 0;
}

/*
 * jail.c - QEMU's jail (docs/architecture.md §22).
 *
 * clone3(NEWNS|NEWPID|NEWIPC|NEWUTS|NEWNET, PIDFD, INTO_CGROUP) makes the
 * child; in it, before exec:
 *   1. mounts private; <root> bound on itself; <root>/tmp (the runtime
 *      files, owned by QEMU's uid) bound rw; /usr read-only at <root>/usr
 *      (lib, lib64, bin are links into usr, as on the host); a tmpfs at
 *      <root>/vm holding the disk files, each bound at /vm/disk<i>, and
 *      the cdrom read-only; a tmpfs at <root>/dev holding null, zero,
 *      urandom (and kvm) bound from the host; proc of the new PID ns;
 *      then <root> read-only and pivot_root into it;
 *   2. every fd closed but the kept ones (their FD_CLOEXEC cleared) and
 *      0, 1, 2 (/dev/null, log, log);
 *   3. setgroups([]), gid, uid = QEMU's; the bounding set emptied before
 *      (no capability can come back), no_new_privs; exec.
 * On cgroup v1 the parent attaches the child by pid and only then lets it
 * go on (a byte on a pipe), so nothing of QEMU runs outside its cgroup.
 * A failure writes "<errno> <message>" to a CLOEXEC pipe and exits; the
 * parent reads it (EOF: exec happened).  The network namespace stays
 * empty: the tap fds are QEMU's only way out.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "jail.h"
#include "macro.h"
#include "qemu-argv.h"

#define JAIL_MAX_EXTRA 16 /* `vmadm start` cdroms, disks */
#define NS_FLAGS       (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)

struct jchild {
	const struct hvm_jail *j;
	int report; /* write end of the report pipe */
	int go;	    /* read end: one byte once the parent has placed us (cgroup v1) */
};

/* ---- in the child: report and leave ---- */

static _printf_(3, 4) _Noreturn void die(struct jchild *c, int e, const char *fmt, ...)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%d ", e);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (write(c->report, msg, strlen(msg)) < 0)
		_exit(127);
	_exit(127);
}

static void at(char *buf, size_t len, const struct jchild *c, const char *rel)
{
	snprintf(buf, len, "%s%s", c->j->root, rel);
}

static void bind(struct jchild *c, const char *src, const char *rel, bool ro)
{
	char dst[4096];

	at(dst, sizeof(dst), c, rel);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(c, errno, "bind %s at %s: %m", src, rel);
	if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
			NULL) < 0)
		die(c, errno, "read-only %s: %m", rel);
}

/* An empty file or directory at rel (on a tmpfs of ours, or the root's own). */
static void node(struct jchild *c, const char *rel, bool dir)
{
	char p[4096];
	int fd;

	at(p, sizeof(p), c, rel);
	if (dir) {
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die(c, errno, "mkdir %s: %m", rel);
		return;
	}
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		die(c, errno, "create %s: %m", rel);
	close(fd);
}

static void link_into_usr(struct jchild *c, const char *name)
{
	char p[4096], target[64];

	at(p, sizeof(p), c, name);
	snprintf(target, sizeof(target), "usr%s", name);
	if (symlink(target, p) < 0 && errno != EEXIST)
		die(c, errno, "symlink %s: %m", name);
}

static void tmpfs(struct jchild *c, const char *rel, const char *opts)
{
	char p[4096];

	node(c, rel, true);
	at(p, sizeof(p), c, rel);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NOEXEC, opts) < 0)
		die(c, errno, "tmpfs at %s: %m", rel);
}

/* ---- in the child: the file system ---- */

static void mount_dev(struct jchild *c)
{
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};

	tmpfs(c, "/dev", "mode=0755,size=64k");
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
		node(c, devs[i], false);
		bind(c, devs[i], devs[i], false);
	}
	if (c->j->kvm) {
		node(c, "/dev/kvm", false);
		bind(c, "/dev/kvm", "/dev/kvm", false);
	}
}

/* The `vmadm start` files: paths inside the root, resolved without links. */
static void open_extras(struct jchild *c, char *const *paths, int *fds)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	int root = open(c->j->root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (size_t i = 0; paths && paths[i] && i < JAIL_MAX_EXTRA; i++)
		if (root < 0 ||
		    (fds[i] = (int)syscall(SYS_openat2, root, paths[i], &how, sizeof(how))) < 0)
			die(c, errno, "%s in the VM's root: %m", paths[i]);
	if (root >= 0)
		close(root);
}

static void bind_extras(struct jchild *c, const int *fds, bool cdrom)
{
	char rel[64], src[64];

	for (size_t i = 0; i < JAIL_MAX_EXTRA && fds[i] >= 0; i++) {
		if (cdrom)
			snprintf(rel, sizeof(rel), QEMU_CDROM_FMT, i);
		else
			snprintf(rel, sizeof(rel), QEMU_XDISK_FMT, i);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fds[i]);
		node(c, rel, false);
		bind(c, src, rel, cdrom);
		close(fds[i]);
	}
}

static void mount_disks(struct jchild *c)
{
	int cd[JAIL_MAX_EXTRA], xd[JAIL_MAX_EXTRA];
	char rel[64];

	memset(cd, -1, sizeof(cd));
	memset(xd, -1, sizeof(xd));
	open_extras(c, c->j->cdroms, cd);
	open_extras(c, c->j->xdisks, xd);
	tmpfs(c, "/vm", "mode=0755,size=64k");
	for (size_t i = 0; c->j->disks && c->j->disks[i]; i++) {
		snprintf(rel, sizeof(rel), QEMU_DISK_FMT, i);
		node(c, rel, false);
		bind(c, c->j->disks[i], rel, false);
	}
	bind_extras(c, cd, true);
	bind_extras(c, xd, false);
}

static void build_root(struct jchild *c)
{
	const char *root = c->j->root;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die(c, errno, "private mounts: %m");
	if (mount(root, root, NULL, MS_BIND, NULL) < 0)
		die(c, errno, "bind %s: %m", root);
	node(c, "/tmp", true);
	node(c, "/usr", true);
	bind(c, "/usr", "/usr", true);
	link_into_usr(c, "/lib");
	link_into_usr(c, "/lib64");
	link_into_usr(c, "/bin");
	mount_dev(c);
	mount_disks(c);
	node(c, "/proc", true);
}

/* <root>/tmp stays writable, the rest of <root> read-only; pivot into it. */
static void enter_root(struct jchild *c)
{
	char tmp[4096];

	at(tmp, sizeof(tmp), c, "/tmp");
	if (mount(tmp, tmp, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, tmp, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
		    0)
		die(c, errno, "bind /tmp: %m");
	if (mount(NULL, c->j->root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		die(c, errno, "read-only root: %m");
	if (chdir(c->j->root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die(c, errno, "pivot_root into %s: %m", c->j->root);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
		die(c, errno, "mount proc: %m");
}

/* ---- in the child: fds and credentials ---- */

static bool kept(const struct hvm_jail *j, int fd)
{
	for (size_t i = 0; i < j->n_keep; i++)
		if (j->keep_fds[i] == fd)
			return true;
	return false;
}

static void set_fds(struct jchild *c)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = c->j->log_fd >= 0 ? c->j->log_fd : null;

	if (null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		die(c, errno, "stdio: %m");
	for (int fd = 3; fd < 1024; fd++) {
		if (fd == c->report)
			continue;
		if (!kept(c->j, fd))
			close(fd);
		else if (fcntl(fd, F_SETFD, 0) < 0)
			die(c, errno, "kept fd %d: %m", fd);
	}
}

static void drop_privileges(struct jchild *c)
{
	uid_t u = c->j->uid;

	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die(c, errno, "capability bounding set: %m");
	if (setgroups(0, NULL) < 0 || setresgid(u, u, u) < 0 || setresuid(u, u, u) < 0)
		die(c, errno, "uid/gid %u: %m", (unsigned)u);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(c, errno, "no_new_privs: %m");
}

static _Noreturn void child(struct jchild *c)
{
	char *const envp[] = {"PATH=/usr/bin", NULL};

	char go;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(c, errno, "pdeathsig: %m");
	if (read(c->go, &go, 1) != 1)
		_exit(127); /* the parent gave up */
	close(c->go);
	build_root(c);
	enter_root(c);
	sethostname("qemu", 4);
	set_fds(c);
	drop_privileges(c);
	execve(c->j->argv[0], c->j->argv, envp);
	die(c, errno, "exec %s: %m", c->j->argv[0]);
}

/* ---- in the parent ---- */

static pid_t clone_child(const struct hvm_jail *j, int *pidfd)
{
	struct clone_args a = {.flags = NS_FLAGS | CLONE_PIDFD,
			       .pidfd = (uint64_t)(uintptr_t)pidfd,
			       .exit_signal = SIGCHLD};

	if (j->cgroup_fd >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)j->cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* The child's report: 0 when it exec'd (EOF), else its errno and message. */
static int read_report(int fd, pid_t pid, int pidfd, struct zh_error *err)
{
	char msg[512];
	ssize_t n = read(fd, msg, sizeof(msg) - 1);
	int e = 0;

	if (n <= 0)
		return 0;
	msg[n] = '\0';
	sscanf(msg, "%d", &e);
	waitid(P_PIDFD, (id_t)pidfd, NULL, WEXITED);
	(void)pid;
	return zh_error_set(err, e > 0 ? e : EIO, NULL, "QEMU's jail: %s",
			    strchr(msg, ' ') ? strchr(msg, ' ') + 1 : msg);
}

/* Let the child go on, in its cgroup: 0, or -errno with the child reaped. */
static int place(const struct hvm_jail *j, pid_t pid, int pidfd, int go, struct zh_error *err)
{
	int r = 0;

	if (j->cgroup_fd < 0 && j->cgroup_uuid)
		r = cgroup_attach(j->cgroup_uuid, pid, err);
	if (r == 0 && write(go, "g", 1) != 1)
		r = zh_error_set(err, errno, NULL, "cannot start QEMU's jail: %m");
	close(go);
	if (r < 0) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)pidfd, NULL, WEXITED);
	}
	return r;
}

int hvm_jail_spawn(const struct hvm_jail *j, pid_t *pid, int *pidfd, struct zh_error *err)
{
	int p[2], g[2], r;
	struct jchild c = {.j = j};

	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	if (pipe2(g, O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return zh_error_set(err, errno, NULL, "pipe: %m");
	}
	c.report = p[1];
	c.go = g[0];
	*pid = clone_child(j, pidfd);
	if (*pid == 0) {
		close(p[0]);
		close(g[1]);
		child(&c);
	}
	close(p[1]);
	close(g[0]);
	if (*pid < 0) {
		close(p[0]);
		close(g[1]);
		return zh_error_set(err, errno, NULL, "cannot start QEMU's jail: %m");
	}
	r = place(j, *pid, *pidfd, g[1], err);
	if (r == 0)
		r = read_report(p[0], *pid, *pidfd, err);
	close(p[0]);
	if (r < 0)
		closep(pidfd);
	return r;
}

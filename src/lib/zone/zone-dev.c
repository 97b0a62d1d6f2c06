/*
 * zone-dev.c - the zone's minimal /dev.
 *
 * Owns: the mounts under the zone's /dev.  Runs in the child, before the
 * pivot (zone-internal.h rules).  A user namespace cannot mknod, so the
 * device nodes are the host's, bind-mounted one by one onto empty files of
 * a fresh tmpfs; nothing else of the host's /dev is reachable.
 *
 *     zone_dev_setup(&c);
 *
 * What the zone gets (docs/architecture.md §8):
 *   /dev            tmpfs mode=755,size=64k,nosuid,noexec
 *   null zero full random urandom tty   binds of the host's nodes
 *   console         bind of the console pty slave (s->console_fd), if any;
 *                   it must be a pty of the host's /dev/pts (no tty: none)
 *   ttyS1           bind of the metadata serial pty slave (s->serial_fd),
 *                   if any, likewise (docs/architecture.md §23)
 *   pts             devpts max=ZONE_PTY_MAX,ptmxmode=0666,mode=0620,gid=5,
 *                   nosuid,noexec, made by the parent (zone_devpts_open())
 *   ptmx -> pts/ptmx
 *   shm             tmpfs mode=1777,nosuid,nodev,noexec
 *   fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2
 * The zone's root filesystem is nodev, so a node the zone finds or makes
 * there is useless; the only usable nodes are these.
 *
 * ptys (issue 10 class 7): every devpts instance draws on one host-wide
 * count (kernel.pty.nr, limit kernel.pty.max); instances mounted from the
 * initial mount namespace may use all of it, the others only up to
 * kernel.pty.max - kernel.pty.reserve.  A devpts the zone mounted itself
 * had no bound, and one zone opened 3,069 ptys: other zones, and zlogin to
 * them, got ENOSPC.  So the zone's /dev/pts is made by the parent (in
 * zoneadmd's mount and user namespaces), with max=ZONE_PTY_MAX: the zone
 * cannot remount it (its superblock is the host user namespace's) and, when
 * zoneadmd runs in the initial mount namespace, it may use the reserve,
 * which instances a zone mounts itself never touch.  A zone can still
 * mount devpts instances of its own (it is root in its user namespace):
 * those can only fill the pool below the reserve, never the reserve that
 * the zones' /dev/pts, zlogin's own ptys (zone-enter.c) and the host's
 * /dev/pts share.  Hosts with many zones raise kernel.pty.max and
 * kernel.pty.reserve (ZONE_PTY_MAX per zone that may fill its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "zone-internal.h"

static const char *const dev_nodes[ZONE_DEV_NODES] = {
	"null", "zero", "full", "random", "urandom", "tty",
};

static const char *const dev_links[][2] = {
	{"ptmx", "pts/ptmx"},	       {"fd", "/proc/self/fd"},	      {"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
};

static int open_node(struct zone_child *c, size_t i)
{
	char src[64];

	snprintf(src, sizeof(src), "/dev/%s", dev_nodes[i]);
	c->dev_fds[i] = open(src, O_PATH | O_CLOEXEC);
	if (c->dev_fds[i] < 0)
		return zone_child_fail(c, errno, "cannot open the host's %s: %m", src);
	return 0;
}

/*
 * The console fd was opened in the host's mount namespace, and a mount can
 * only be cloned from our own: reopen the pty by its name here (the
 * copied host /dev/pts) and check that it is the same inode.
 */
static int open_pty(struct zone_child *c, int fd, int *out, const char *what)
{
	char link[64], path[128];
	struct stat a, b;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return zone_child_fail(c, errno, "cannot name the %s pty: %m", what);
	path[n] = '\0';
	*out = open(path, O_PATH | O_CLOEXEC);
	if (*out < 0 || fstat(*out, &a) < 0 || fstat(fd, &b) < 0)
		return zone_child_fail(c, errno, "cannot open the %s pty %s: %m", what, path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return zone_child_fail(c, EXDEV, "the %s pty %s is not the host's", what, path);
	return 0;
}

/* A devpts option, its value in octal (modes) or decimal. */
static int pts_set(int fd, const char *key, bool octal, unsigned v)
{
	char val[32];

	snprintf(val, sizeof(val), octal ? "%o" : "%u", v);
	return fsconfig(fd, FSCONFIG_SET_STRING, key, val, 0);
}

int zone_devpts_open(gid_t tty_gid, unsigned max, int *out, struct zh_error *err)
{
	_cleanup_close_ int fd = fsopen("devpts", FSOPEN_CLOEXEC);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot make a devpts instance: %m");
	if (pts_set(fd, "max", false, max) < 0 || pts_set(fd, "ptmxmode", true, 0666) < 0 ||
	    (tty_gid != (gid_t)-1 &&
	     (pts_set(fd, "mode", true, 0620) < 0 || pts_set(fd, "gid", false, tty_gid) < 0)) ||
	    fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return zh_error_set(err, errno, NULL, "cannot set up a devpts instance: %m");
	*out = fsmount(fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (*out < 0)
		return zh_error_set(err, errno, NULL, "cannot mount a devpts instance: %m");
	return 0;
}

int zone_dev_prepare(struct zone_child *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
		if (open_node(c, i) < 0)
			return -c->errnum;
	/* A console that is no tty (a pipe) is 0-2 only, not /dev/console. */
	if (c->s->console_fd >= 0 && isatty(c->s->console_fd) &&
	    open_pty(c, c->s->console_fd, &c->console_src, "console") < 0)
		return -c->errnum;
	if (c->s->serial_fd > STDERR_FILENO &&
	    open_pty(c, c->s->serial_fd, &c->serial_src, "metadata serial") < 0)
		return -c->errnum;
	return 0;
}

static int bind_node(struct zone_child *c, size_t i)
{
	char dst[64];

	snprintf(dst, sizeof(dst), "/dev/%s", dev_nodes[i]);
	return zone_mount_bind_fd(c, c->dev_fds[i], dst, ZONE_T_FILE, false,
				  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
}

/* The parent's devpts instance (zone_devpts_open()) onto /dev/pts. */
static int mount_pts(struct zone_child *c)
{
	_cleanup_close_ int tfd = -EBADF;

	if (zone_mount_target(c, "/dev/pts", ZONE_T_DIR, &tfd) < 0)
		return -c->errnum;
	if (move_mount(c->pts_fd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return zone_child_fail(c, errno, "cannot mount the zone's /dev/pts: %m");
	return 0;
}

static int make_links(struct zone_child *c)
{
	_cleanup_close_ int dev = -EBADF;

	if (zone_mount_target(c, "/dev", ZONE_T_DIR, &dev) < 0)
		return -c->errnum;
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i][1], dev, dev_links[i][0]) < 0)
			return zone_child_fail(c, errno, "cannot make /dev/%s: %m",
					       dev_links[i][0]);
	return 0;
}

int zone_dev_setup(struct zone_child *c)
{
	if (zone_mount_fs(c, "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return -c->errnum;
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
		if (bind_node(c, i) < 0)
			return -c->errnum;
	if (c->console_src >= 0 &&
	    zone_mount_bind_fd(c, c->console_src, "/dev/console", ZONE_T_FILE, false,
			       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) < 0)
		return -c->errnum;
	if (c->serial_src >= 0 &&
	    zone_mount_bind_fd(c, c->serial_src, "/dev/ttyS1", ZONE_T_FILE, false,
			       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) < 0)
		return -c->errnum;
	if (mount_pts(c) < 0 ||
	    zone_mount_fs(c, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=1777,size=64m") < 0)
		return -c->errnum;
	return make_links(c);
}

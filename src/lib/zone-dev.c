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
 * What the zone gets (host-capabilities.md §8, item 4):
 *   /dev            tmpfs mode=755,size=64k,nosuid,noexec
 *   null zero full random urandom tty   binds of the host's nodes
 *   console         bind of the console pty slave (s->console_fd), if any;
 *                   it must be a pty of the host's /dev/pts (no tty: none)
 *   pts             devpts newinstance,ptmxmode=0666,mode=0620,gid=5
 *   ptmx -> pts/ptmx
 *   shm             tmpfs mode=1777,nosuid,nodev,noexec
 *   fd -> /proc/self/fd, stdin/stdout/stderr -> /proc/self/fd/0..2
 * The zone's root filesystem is nodev, so a node the zone finds or makes
 * there is useless; the only usable nodes are these.
 */
#include <errno.h>
#include <fcntl.h>
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
static int open_console(struct zone_child *c)
{
	char link[64], path[128];
	struct stat a, b;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", c->s->console_fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return zone_child_fail(c, errno, "cannot name the console pty: %m");
	path[n] = '\0';
	c->console_src = open(path, O_PATH | O_CLOEXEC);
	if (c->console_src < 0 || fstat(c->console_src, &a) < 0 || fstat(c->s->console_fd, &b) < 0)
		return zone_child_fail(c, errno, "cannot open the console pty %s: %m", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return zone_child_fail(c, EXDEV, "the console pty %s is not the host's", path);
	return 0;
}

int zone_dev_prepare(struct zone_child *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
		if (open_node(c, i) < 0)
			return -c->errnum;
	/* A console that is no tty (a pipe) is 0-2 only, not /dev/console. */
	if (c->s->console_fd >= 0 && isatty(c->s->console_fd))
		return open_console(c);
	return 0;
}

static int bind_node(struct zone_child *c, size_t i)
{
	char dst[64];

	snprintf(dst, sizeof(dst), "/dev/%s", dev_nodes[i]);
	return zone_mount_bind_fd(c, c->dev_fds[i], dst, ZONE_T_FILE, false,
				  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
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
	if (zone_mount_fs(c, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 ||
	    zone_mount_fs(c, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=1777,size=64m") < 0)
		return -c->errnum;
	return make_links(c);
}

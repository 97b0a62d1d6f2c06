/*
 * zone-mountat.c - the mount primitives of the zone's first process:
 * resolve a target inside the zone root and mount or bind onto it.
 * See zone-internal.h.
 *
 * Every target is resolved with openat2(RESOLVE_IN_ROOT) from the root's
 * fd, so a symlink in the zone root (hostile: the tenant writes it) never
 * leads out of the root; mounts go on "/proc/self/fd/N" of the resolved
 * O_PATH fd, or by move_mount() onto it.  Runs in the child only
 * (zone-internal.h rules: no logging, no allocation).  zone-mount.c (the
 * mount table) and zone-dev.c (/dev) both build on these; this file uses
 * neither, so they form no cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "macro.h"
#include "util.h"
#include "zone-internal.h"

#define FS_SAFE	  (MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define ATTR_SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

int zone_open_in_root(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* Create path's last component (a directory, or an empty file). */
static int create_last(struct zone_child *c, const char *path, bool dir)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t plen = slash == path ? 1 : (size_t)(slash - path);

	if (plen >= sizeof(parent))
		return zone_child_fail(c, ENAMETOOLONG, "path too long: %s", path);
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	_cleanup_close_ int pfd = zone_open_in_root(c->root_fd, parent);
	if (pfd < 0)
		return zone_child_fail(c, errno, "cannot open %s in the zone root: %m", parent);
	if (dir) {
		if (mkdirat(pfd, slash + 1, 0755) < 0 && errno != EEXIST)
			return zone_child_fail(c, errno, "cannot create %s in the zone root: %m",
					       path);
		return 0;
	}
	int fd = openat(pfd, slash + 1,
			O_CREAT | O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0)
		return zone_child_fail(c, errno, "cannot create %s in the zone root: %m", path);
	close(fd);
	return 0;
}

/* Make sure the directory prefix buf exists inside the root. */
static int ensure_dir(struct zone_child *c, const char *buf)
{
	int fd = zone_open_in_root(c->root_fd, buf);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return zone_child_fail(c, errno, "cannot open %s in the zone root: %m", buf);
	return create_last(c, buf, true);
}

/* mkdir -p of path's directories (all of it when whole) inside the root. */
static int mkdir_in_root(struct zone_child *c, const char *path, bool whole)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return zone_child_fail(c, ENAMETOOLONG, "path too long: %s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;
		if (save == '\0' && !whole)
			break;
		*p = '\0';
		if (ensure_dir(c, buf) < 0)
			return -c->errnum;
		*p = save;
		if (save == '\0')
			break;
	}
	return 0;
}

static int check_kind(struct zone_child *c, int fd, const char *path, enum zone_target kind)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return zone_child_fail(c, errno, "cannot stat %s in the zone root: %m", path);
	if (kind == ZONE_T_DIR && !S_ISDIR(st.st_mode))
		return zone_child_fail(c, ENOTDIR, "%s in the zone root is not a directory", path);
	if (kind == ZONE_T_FILE && S_ISDIR(st.st_mode))
		return zone_child_fail(c, EISDIR, "%s in the zone root is a directory", path);
	return 0;
}

int zone_mount_target(struct zone_child *c, const char *path, enum zone_target kind, int *out)
{
	int fd = zone_open_in_root(c->root_fd, path);

	if (fd < 0 && errno == ENOENT && kind != ZONE_T_ANY) {
		if (mkdir_in_root(c, path, kind == ZONE_T_DIR) < 0)
			return -c->errnum;
		if (kind == ZONE_T_FILE && create_last(c, path, false) < 0)
			return -c->errnum;
		fd = zone_open_in_root(c->root_fd, path);
	}
	if (fd < 0)
		return zone_child_fail(c, errno, "cannot open %s in the zone root: %m", path);
	if (check_kind(c, fd, path, kind) < 0) {
		close(fd);
		return -c->errnum;
	}
	*out = fd;
	return 0;
}

int zone_mount_fs(struct zone_child *c, const char *path, const char *type, unsigned long flags,
		  const char *data)
{
	_cleanup_close_ int fd = -EBADF;
	char p[64];

	if (zone_mount_target(c, path, ZONE_T_DIR, &fd) < 0)
		return -c->errnum;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (mount(type, p, type, flags, data) < 0)
		return zone_child_fail(c, errno, "cannot mount %s on %s in the zone: %m", type,
				       path);
	return 0;
}

int zone_mount_bind_fd(struct zone_child *c, int src_fd, const char *path, enum zone_target kind,
		       bool rec, unsigned long long attr)
{
	_cleanup_close_ int tfd = -EBADF, mfd = -EBADF;
	unsigned int r = rec ? AT_RECURSIVE : 0;

	if (zone_mount_target(c, path, kind, &tfd) < 0)
		return -c->errnum;
	mfd = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | r);
	if (mfd < 0)
		return zone_child_fail(c, errno, "cannot clone the mount for %s: %m", path);
	int e = fsutil_tree_private(mfd, attr, rec);
	if (e < 0)
		return zone_child_fail(c, -e, "cannot set the attributes of %s: %s", path,
				       strerror(-e));
	if (move_mount(mfd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return zone_child_fail(c, errno, "cannot bind-mount %s: %m", path);
	return 0;
}

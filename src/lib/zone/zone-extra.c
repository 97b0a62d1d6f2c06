/*
 * zone-extra.c - the mounts a docker zone or an OCI container adds to a
 * zone's (docs/architecture.md §24.3): binds of host paths, tmpfs mounts,
 * masked and read-only paths, a read-only root, and the /sys of a joined
 * network namespace.
 *
 * Owns: struct zone_run's mounts, masked_paths, readonly_paths,
 * root_readonly.  The parent half runs in zoneadmd before the clone3; the
 * child half in the zone's first process (zone-internal.h rules), after
 * the zone's own mounts and before pivot_root.
 *
 *     parent: zone_extra_open(s, xfs, &sys_fd); ... zone_extra_idmap(s, xfs, pid)
 *     child:  zone_extra_sys(c) in place of a fresh sysfs; zone_extra_setup(c)
 *
 * Escapes closed:
 *  - a bind's SOURCE is a host path the caller (the OCI runtime's caller,
 *    root on the host) chose: it is opened and cloned by the parent on the
 *    host side, before the zone exists, as a detached private tree
 *    (docs/architecture.md §10), nodev, idmapped through the zone's user
 *    namespace where its file system can (else left unmapped);
 *  - every TARGET (mount destination, masked or read-only path) is the
 *    tenant's: resolved with openat2(RESOLVE_IN_ROOT) from the zone root's
 *    fd (zone-mountat.c), so a symlink planted in the root (say
 *    /etc/x -> /etc on the host) resolves inside the root, never out;
 *    a missing target is created inside the root, a directory or an empty
 *    file to match the source;
 *  - destinations the zone makes itself (/proc /dev /dev/pts /dev/shm
 *    /dev/mqueue /sys /sys/fs/cgroup) are skipped: a caller cannot put a
 *    host proc, sysfs or devpts in their place;
 *  - a mask is /dev/null (the host's node, bound read-only) over a file, an
 *    empty read-only tmpfs over a directory; a read-only path is bound
 *    read-only, nosuid, nodev, noexec over itself, recursively;
 *  - the sysfs of a joined network namespace is made by the parent while
 *    it sits in that namespace (a zone's root is not privileged over
 *    another owner's network namespace, so the child could not), read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "macro.h"
#include "util.h"
#include "zone-internal.h"

#define ATTR_SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

static const char *const zone_made[] = {
	"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
};

/* A destination the zone makes itself ("/dev/", "//proc" count as theirs too). */
static bool skipped(const char *dest)
{
	char norm[256];
	size_t n = 0;

	for (const char *p = dest; *p && n < sizeof(norm) - 1; p++)
		if (!(*p == '/' && (n > 0 && norm[n - 1] == '/')))
			norm[n++] = *p;
	while (n > 1 && norm[n - 1] == '/')
		n--;
	norm[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(zone_made); i++)
		if (streq(norm, zone_made[i]))
			return true;
	return false;
}

static bool is_bind(const struct zone_mount *m)
{
	return m->type && streq(m->type, "bind");
}

/* ---- parent ---- */

static int open_bind(const struct zone_mount *m, struct zone_fs *f, struct zh_error *err)
{
	_cleanup_close_ int src = -EBADF;
	int r;

	if (!m->source || m->source[0] != '/')
		return zh_error_set(err, EINVAL, "mounts",
				    "mounts: bind source of \"%s\" must be an absolute path",
				    m->dest);
	if ((src = open(m->source, O_PATH | O_CLOEXEC)) < 0)
		return zh_error_set(err, errno, "mounts", "mounts: bind source \"%s\": %m",
				    m->source);
	f->fd = open_tree(src, "",
			  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
				  (m->rec ? AT_RECURSIVE : 0));
	if (f->fd < 0)
		return zh_error_set(err, errno, "mounts", "mounts: cannot clone \"%s\": %m",
				    m->source);
	/* A peer of a shared source would carry the zone's mounts back to the host. */
	if ((r = fsutil_tree_private(f->fd, 0, true)) < 0)
		return zh_error_set(err, -r, "mounts", "mounts: cannot make \"%s\" private: %s",
				    m->source, strerror(-r));
	f->attr = m->attr | MOUNT_ATTR_NODEV;
	return 0;
}

static int check_mount(const struct zone_mount *m, struct zh_error *err)
{
	if (!m->dest || m->dest[0] != '/')
		return zh_error_set(err, EINVAL, "mounts",
				    "mounts: destination \"%s\" must be an absolute path",
				    m->dest ? m->dest : "");
	if (skipped(m->dest) || is_bind(m) || (m->type && streq(m->type, "tmpfs")))
		return 0;
	return zh_error_set(err, EINVAL, "mounts",
			    "mounts: type \"%s\" on \"%s\" is not supported (bind and tmpfs only)",
			    m->type ? m->type : "", m->dest);
}

/* A read-only sysfs of the network namespace at path, made from inside it. */
static int open_sysfs(const char *path, int *out, struct zh_error *err)
{
	_cleanup_close_ int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC), fs = -EBADF;

	if (own < 0 || ns < 0)
		return zh_error_set(err, errno, "namespaces", "namespaces: network path \"%s\": %m",
				    path);
	if (setns(ns, CLONE_NEWNET) < 0)
		return zh_error_set(err, errno, "namespaces",
				    "namespaces: cannot join the network namespace \"%s\": %m",
				    path);
	fs = fsopen("sysfs", FSOPEN_CLOEXEC);
	if (fs >= 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		*out = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | ATTR_SAFE);
	int e = errno;
	if (setns(own, CLONE_NEWNET) < 0)
		abort(); /* our own namespace, open before we left it */
	if (*out < 0)
		return zh_error_set(err, e, "namespaces", "cannot make the sysfs of \"%s\": %s",
				    path, strerror(e));
	return 0;
}

int zone_extra_open(const struct zone_spec *s, struct zone_fs *xfs, int *sys_fd,
		    struct zh_error *err)
{
	const struct zone_run *r = s->run;

	*sys_fd = -EBADF;
	for (size_t i = 0; i < r->nmounts; i++) {
		const struct zone_mount *m = &r->mounts[i];

		xfs[i].fd = -EBADF;
		if (check_mount(m, err) < 0 ||
		    (!skipped(m->dest) && is_bind(m) && open_bind(m, &xfs[i], err) < 0))
			return -err->errnum;
	}
	if (r->join[ZONE_JOIN_NET])
		return open_sysfs(r->join[ZONE_JOIN_NET], sys_fd, err);
	return 0;
}

static int setattr(int fd, unsigned long long attr, int userns)
{
	struct mount_attr a = {.attr_set = attr, .userns_fd = (unsigned long long)userns};

	return mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a));
}

int zone_extra_idmap(const struct zone_spec *s, struct zone_fs *xfs, pid_t pid,
		     struct zh_error *err)
{
	char path[64];
	_cleanup_close_ int ns = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if ((ns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	for (size_t i = 0; i < s->run->nmounts; i++) {
		if (xfs[i].fd < 0 || setattr(xfs[i].fd, xfs[i].attr | MOUNT_ATTR_IDMAP, ns) == 0)
			continue;
		/* A file system without idmap support (or a tree already idmapped): unmapped. */
		if (errno == EINVAL && setattr(xfs[i].fd, xfs[i].attr, -1) == 0)
			continue;
		return zh_error_set(err, errno, "mounts", "mounts: cannot set up \"%s\": %m",
				    s->run->mounts[i].dest);
	}
	return 0;
}

/* ---- child ---- */

static int mount_bind(struct zone_child *c, const struct zone_mount *m, int tree)
{
	_cleanup_close_ int tfd = -EBADF;
	struct stat st;

	if (fstat(tree, &st) < 0)
		return zone_child_fail(c, errno, "mounts: source of \"%s\": %m", m->dest);
	if (zone_mount_target(c, m->dest, S_ISDIR(st.st_mode) ? ZONE_T_DIR : ZONE_T_FILE, &tfd) <
	    0) {
		char why[ZONE_CHILD_MSG_MAX];
		memcpy(why, c->msg, sizeof(why));
		return zone_child_fail(c, c->errnum, "mounts: destination \"%s\": %s", m->dest,
				       why);
	}
	if (move_mount(tree, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return zone_child_fail(c, errno, "mounts: cannot mount on \"%s\": %m", m->dest);
	return 0;
}

static unsigned long ms_flags(unsigned long long attr)
{
	return ((attr & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0) |
	       ((attr & MOUNT_ATTR_NOSUID) ? MS_NOSUID : 0) |
	       ((attr & MOUNT_ATTR_NODEV) ? MS_NODEV : 0) |
	       ((attr & MOUNT_ATTR_NOEXEC) ? MS_NOEXEC : 0);
}

static int setup_mounts(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;

	for (size_t i = 0; i < r->nmounts; i++) {
		const struct zone_mount *m = &r->mounts[i];

		if (skipped(m->dest))
			continue;
		if (c->xfs[i].fd >= 0 && mount_bind(c, m, c->xfs[i].fd) < 0)
			return -c->errnum;
		if (c->xfs[i].fd < 0 &&
		    zone_mount_fs(c, m->dest, "tmpfs", ms_flags(m->attr) | MS_NODEV, m->data) < 0)
			return -c->errnum;
	}
	return 0;
}

static int mask_one(struct zone_child *c, const char *path)
{
	_cleanup_close_ int fd = zone_open_in_root(c->root_fd, path);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : zone_child_fail(c, errno, "masked path %s: %m", path);
	if (fstat(fd, &st) < 0)
		return zone_child_fail(c, errno, "masked path %s: %m", path);
	if (S_ISDIR(st.st_mode))
		return zone_mount_fs(c, path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				     "size=4k,mode=0555");
	return zone_mount_bind_fd(c, c->dev_fds[0], path, ZONE_T_FILE, false, MOUNT_ATTR_RDONLY);
}

static int readonly_one(struct zone_child *c, const char *path)
{
	_cleanup_close_ int fd = zone_open_in_root(c->root_fd, path);

	if (fd < 0)
		return errno == ENOENT ? 0
				       : zone_child_fail(c, errno, "read-only path %s: %m", path);
	return zone_mount_bind_fd(c, fd, path, ZONE_T_ANY, true, MOUNT_ATTR_RDONLY | ATTR_SAFE);
}

static int root_readonly(struct zone_child *c)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

	if (mount_setattr(c->root_fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return zone_child_fail(c, errno, "cannot make the root read-only: %m");
	return 0;
}

int zone_extra_setup(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;

	if (!r)
		return 0;
	if (setup_mounts(c) < 0)
		return -c->errnum;
	for (char *const *p = r->masked_paths; p && *p; p++)
		if (mask_one(c, *p) < 0)
			return -c->errnum;
	for (char *const *p = r->readonly_paths; p && *p; p++)
		if (readonly_one(c, *p) < 0)
			return -c->errnum;
	return r->root_readonly ? root_readonly(c) : 0;
}

int zone_extra_sys(struct zone_child *c)
{
	_cleanup_close_ int tfd = -EBADF;

	if (c->sys_fd < 0)
		return 0;
	if (zone_mount_target(c, "/sys", ZONE_T_DIR, &tfd) < 0)
		return -c->errnum;
	if (move_mount(c->sys_fd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return zone_child_fail(c, errno, "cannot mount the joined network's sysfs: %m");
	return 1;
}

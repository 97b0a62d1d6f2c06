/*
 * zone-idmap.c - the zone root seen through an idmapped mount.
 *
 * Owns: the detached mount tree of the zone root.  The zone root is a
 * root-owned btrfs subvolume; it is never chown'd.  The zone sees it
 * through a clone of the tree whose ids are shifted by the zone's map: a
 * file owned by uid 0 on disk shows as zone uid 0 inside (host uid
 * id_base through the mount, e.g. in /proc/<init>/root), and a file the
 * zone's root creates is stored as uid 0 on disk.  Hence the host must
 * never run anything from a zone root by its on-disk path: a setuid file
 * the zone makes is setuid root there (the pool keeps <uuid>/ at 0700 and
 * is mounted nosuid,nodev, pool.c).  The clone clears nosuid: inside the
 * zone, setuid binaries and file capabilities work (Debian's su, ping).
 *
 *     zone_idmap_open(root, base, &tree, &mapped, &err);   parent, before clone3
 *     ... clone3, write the child's uid/gid maps ...
 *     zone_idmap_apply(tree, mapped, child_pid, &err);     parent
 *     zone_idmap_attach(&c);                     child, in its mount ns
 *
 * How (docs/architecture.md §8): the tree is
 * cloned with open_tree(OPEN_TREE_CLONE | AT_RECURSIVE) BEFORE the clone,
 * so the fd is inherited by the zone's first process.  The idmapping is the
 * zone's own user namespace: once the parent has written the child's maps
 * it opens /proc/<child>/ns/user and mount_setattr(MOUNT_ATTR_IDMAP) the
 * still-detached tree with it (the parent is root in the owner of that
 * namespace, which is all the kernel asks).  No helper process is needed,
 * and the mount never appears in the host's mount namespace: the child
 * attaches it with move_mount() inside its own.  When the zone ends, its
 * mount namespace goes and the tree with it; if the spawn fails before the
 * attach, closing the fd frees the detached tree.
 *
 * The clone is made private (recursively) at once: a clone of a shared
 * mount (systemd makes / shared) is a peer of its source, so the zone's
 * /proc, /sys, /dev ... mounted in it would appear in the host's mount
 * table, and pivot_root refuses a shared new root.
 *
 * An overlayfs root (an OCI container's, §24.3) cannot be idmapped as a
 * whole: zone-ovl.c mounts it anew on idmapped layers, already mapped.
 *
 * Invariants: nothing is ever mounted on the host side; the tree is nodev,
 * and setuid only inside the zone's own mount namespace; root is opened
 * without following a link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fsutil.h"
#include "macro.h"
#include "zone-internal.h"

int zone_idmap_open(const char *root, uid_t id_base, int *tree_fd, bool *mapped,
		    struct zh_error *err)
{
	int r;
	int fd = open_tree(AT_FDCWD, root,
			   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_NO_AUTOMOUNT |
				   AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		return zh_error_set(err, errno, NULL,
				    "cannot clone the mount tree of zone root %s: %m", root);
	*mapped = false;
	if (zone_ovl_is(fd)) { /* an overlay: made anew on idmapped layers (zone-ovl.c) */
		close(fd);
		*mapped = true;
		return zone_ovl_open(root, id_base, tree_fd, err);
	}
	/* Private before anything is mounted in it (docs/architecture.md §10). */
	r = fsutil_tree_private(fd, 0, true);
	if (r < 0) {
		close(fd);
		return zh_error_set(err, -r, NULL, "cannot make the zone root's mounts private: %s",
				    strerror(-r));
	}
	*tree_fd = fd;
	return 0;
}

static int setattr(int fd, unsigned long long attr, unsigned long long clr, int userns)
{
	struct mount_attr a = {
		.attr_set = attr,
		.attr_clr = clr,
		.userns_fd = (unsigned long long)userns,
	};
	return mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a));
}

/* A bind source on a file system without idmap support stays unmapped. */
static int idmap_fs(const struct zone_fs *f, int userns, struct zh_error *err)
{
	if (setattr(f->fd, f->attr | MOUNT_ATTR_IDMAP, 0, userns) == 0)
		return 0;
	if (errno == EINVAL && setattr(f->fd, f->attr, 0, -1) == 0)
		return 0;
	return zh_error_set(err, errno, "filesystems",
			    "filesystems: cannot set up a bind mount: %m");
}

int zone_idmap_apply(int tree_fd, bool mapped, const struct zone_fs *fs, size_t nfs, pid_t pid,
		     struct zh_error *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	if (!mapped &&
	    setattr(tree_fd, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, ns) < 0)
		return zh_error_set(err, errno, NULL,
				    "cannot make the idmapped mount of the zone root: %m");
	for (size_t i = 0; i < nfs; i++)
		if (idmap_fs(&fs[i], ns, err) < 0)
			return -err->errnum;
	return 0;
}

int zone_idmap_attach(struct zone_child *c)
{
	if (move_mount(c->tree_fd, "", AT_FDCWD, c->s->root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return zone_child_fail(c, errno, "cannot attach the zone root on %s: %m",
				       c->s->root);
	/* The fd now names the attached mount's root: it is the zone root. */
	c->root_fd = c->tree_fd;
	c->tree_fd = -EBADF;
	return 0;
}

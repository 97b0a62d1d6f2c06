/*
 * zone-mount.c - the zone's mount table, built in its first process.
 *
 * Owns: every mount of the zone's mount namespace but /dev's contents
 * (zone-dev.c) and the idmapped root itself (zone-idmap.c).  Runs in the
 * child only (zone-internal.h rules: no logging, no allocation).
 *
 *     zone_mount_setup(&c);     then cwd and / are the zone root
 *
 * Order (docs/architecture.md §8): with the host's credentials still
 * (zone_mount_prepare(): host paths may sit in 0700 directories), / made
 * MS_REC|MS_PRIVATE first, so nothing can propagate to or from the host, the
 * idmapped root attached on s->root, and every host object to bind opened
 * (O_PATH); then, as the zone's root (so what is created in the zone root
 * is the zone's), under the still unpivoted root: /proc (with masked and
 * read-only paths), /sys (fresh sysfs, read-only; it needs the zone's net
 * ns), the cgroup tree, /dev, /tmp, /run, the `filesystems`; pivot_root;
 * the old root detached last (a fresh proc or sysfs is refused once the
 * host's are no longer visible).
 *
 * Every target is resolved with openat2(RESOLVE_IN_ROOT) from the root's
 * fd, so a symlink in the zone root (hostile: the tenant writes it) never
 * leads out of the root; mounts go on "/proc/self/fd/N" of the resolved
 * O_PATH fd, or by move_mount() onto it.  Bind mounts are made with
 * open_tree() + mount_setattr() + move_mount(), which change only the
 * attributes asked for (a remount would have to repeat every locked flag).
 * Every tree cloned here or for a zone (its root, each `filesystems`
 * source, each bind) is made private before it is used: a host whose / is
 * shared (systemd) must never see a zone's mount (docs/architecture.md §10).
 *
 * The mount table of a zone, in order:
 *   /                 idmapped btrfs subvolume, nodev
 *   /proc             proc, nosuid,nodev,noexec
 *     kcore keys timer_list sched_debug: /dev/null bound over (masked)
 *     acpi scsi: empty read-only tmpfs (masked)
 *     sys sysrq-trigger irq bus fs: bound read-only over themselves
 *   /sys              sysfs ro,nosuid,nodev,noexec (fresh; the zone's net)
 *     firmware: empty read-only tmpfs (masked)
 *     fs/cgroup: tmpfs (ro after set-up) with each of the host's v1
 *       hierarchies (ro; name=systemd rw) and cgroup2 at unified, all seen
 *       through the zone's cgroup ns; on a v2 host, cgroup2 rw itself.
 *   /dev              see zone-dev.c
 *   /tmp              tmpfs size=<tmpfs>m,mode=1777,nosuid,nodev
 *   /run              tmpfs size=64m,mode=755,nosuid,nodev
 *   <filesystems>     recursive binds of host sources, idmapped like the
 *                     root where the fs can, nodev, ro/nosuid/noexec per
 *                     options
 *   /.zonecontrol     (or /native/.zonecontrol: s->mdata_at) the metadata
 *                     socket's host directory, read-only, nosuid,nodev,noexec
 *   /native/usr/sbin/mdata-{get,put,delete,list}
 *                     the static guest tool, read-only, nosuid,nodev
 *   <zone_run>        a docker zone's or OCI container's binds, tmpfs,
 *                     masked and read-only paths, then the root made
 *                     read-only if asked (zone-extra.c)
 *
 * A `filesystems` source is a plain absolute path (no empty, "." or ".."
 * component) resolved with openat2(RESOLVE_NO_SYMLINKS): a symlink anywhere
 * in it (one a tenant planted in a zone root it can write) refuses it.  It
 * may not lie in, nor contain, zonehost's own data (s->fs_fenced: the
 * pools, the run directory) unless it is inside the VM's own dataset.
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

/* ---- /proc ---- */

static const char *const proc_masked_files[] = {
	"/proc/kcore",	     "/proc/keys",	    "/proc/timer_list",
	"/proc/sched_debug", "/proc/latency_stats", "/proc/timer_stats",
};
static const char *const proc_masked_dirs[] = {"/proc/acpi", "/proc/scsi"};
static const char *const proc_readonly[] = {
	"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
};

static bool exists_in_root(struct zone_child *c, const char *path)
{
	int fd = zone_open_in_root(c->root_fd, path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int mask_files(struct zone_child *c)
{
	int null = c->dev_fds[0]; /* /dev/null */

	for (size_t i = 0; i < ARRAY_SIZE(proc_masked_files); i++)
		if (exists_in_root(c, proc_masked_files[i]) &&
		    zone_mount_bind_fd(c, null, proc_masked_files[i], ZONE_T_FILE, false,
				       MOUNT_ATTR_RDONLY) < 0)
			return -c->errnum;
	return 0;
}

static int mask_dir(struct zone_child *c, const char *path)
{
	if (!exists_in_root(c, path))
		return 0;
	return zone_mount_fs(c, path, "tmpfs", MS_RDONLY | FS_SAFE, "size=4k,mode=0555");
}

static int make_readonly(struct zone_child *c, const char *path)
{
	_cleanup_close_ int fd = zone_open_in_root(c->root_fd, path);

	if (fd < 0)
		return errno == ENOENT ? 0 : zone_child_fail(c, errno, "cannot open %s: %m", path);
	return zone_mount_bind_fd(c, fd, path, ZONE_T_ANY, true, MOUNT_ATTR_RDONLY | ATTR_SAFE);
}

static int setup_proc(struct zone_child *c)
{
	if (zone_mount_fs(c, "/proc", "proc", FS_SAFE, NULL) < 0 || mask_files(c) < 0)
		return -c->errnum;
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked_dirs); i++)
		if (mask_dir(c, proc_masked_dirs[i]) < 0)
			return -c->errnum;
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++)
		if (make_readonly(c, proc_readonly[i]) < 0)
			return -c->errnum;
	return 0;
}

/* ---- /sys and the cgroup tree ---- */

static int setup_sys(struct zone_child *c)
{
	int r = zone_extra_sys(c); /* a joined network namespace's, made by the parent */

	if (r < 0 || (r == 0 && zone_mount_fs(c, "/sys", "sysfs", MS_RDONLY | FS_SAFE, NULL) < 0))
		return -c->errnum;
	return mask_dir(c, "/sys/firmware");
}

/* Mount one hierarchy line of /proc/self/cgroup ("ID:CONTROLLERS:PATH"). */
static int mount_hierarchy(struct zone_child *c, char *line, bool hybrid)
{
	char *ctl = strchr(line, ':'), *end, path[128], data[128];

	if (!ctl || !(end = strchr(++ctl, ':')))
		return 0;
	*end = '\0';
	if (*ctl == '\0') {
		const char *where = hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
		return zone_mount_fs(c, where, "cgroup2", FS_SAFE, NULL);
	}
	bool named = strncmp(ctl, "name=", 5) == 0;
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", named ? ctl + 5 : ctl);
	snprintf(data, sizeof(data), "%s%s", named ? "none," : "", ctl);
	/* Only the systemd named hierarchy is the zone's to write (if chowned). */
	unsigned long ro = strcmp(ctl, "name=systemd") == 0 ? 0 : MS_RDONLY;
	return zone_mount_fs(c, path, "cgroup", FS_SAFE | ro, data);
}

static int setup_cgroup(struct zone_child *c)
{
	char buf[4096];
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return zone_child_fail(c, errno, "cannot read /proc/self/cgroup: %m");
	buf[n] = '\0';
	bool hybrid = strstr(buf, "\n0::") != NULL && strncmp(buf, "0::", 3) != 0;
	if (hybrid &&
	    zone_mount_fs(c, "/sys/fs/cgroup", "tmpfs", FS_SAFE, "mode=0755,size=64k") < 0)
		return -c->errnum;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (mount_hierarchy(c, l, hybrid) < 0)
			return -c->errnum;
	if (!hybrid)
		return 0;
	_cleanup_close_ int cg = zone_open_in_root(c->root_fd, "/sys/fs/cgroup");
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (cg < 0 || mount_setattr(cg, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return zone_child_fail(c, errno, "cannot make /sys/fs/cgroup read-only: %m");
	return 0;
}

/* ---- /tmp, /run ---- */

static int setup_tmp(struct zone_child *c)
{
	char data[64];

	if (c->s->tmpfs_mib) {
		snprintf(data, sizeof(data), "size=%llum,mode=1777",
			 (unsigned long long)c->s->tmpfs_mib);
		if (zone_mount_fs(c, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
			return -c->errnum;
	}
	return zone_mount_fs(c, "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755");
}

/* ---- filesystems (payload) ---- */

/*
 * The sources are opened by the parent before the clone (zone_fs_open():
 * detached recursive clones, made with the host's full credentials), and
 * idmapped through the zone's user ns with their options applied
 * (zone_idmap_apply()), so the zone's root is root on them as SmartOS's
 * lofs gives it.  The child only moves each onto its target.
 */

static int fs_option(const char *o, unsigned long long *attr, struct zh_error *err)
{
	if (streq(o, "ro"))
		*attr |= MOUNT_ATTR_RDONLY;
	else if (streq(o, "nosuid") || streq(o, "nosetuid"))
		*attr |= MOUNT_ATTR_NOSUID;
	else if (streq(o, "nodev") || streq(o, "nodevice") || streq(o, "nodevices"))
		*attr |= MOUNT_ATTR_NODEV;
	else if (streq(o, "noexec"))
		*attr |= MOUNT_ATTR_NOEXEC;
	else if (!streq(o, "rw") && !streq(o, "bind") && !streq(o, "rbind"))
		return zh_error_set(err, EINVAL, "filesystems",
				    "filesystems: unknown option \"%s\"", o);
	return 0;
}

static int fs_options(const json_t *opts, unsigned long long *attr, struct zh_error *err)
{
	size_t i;
	json_t *o;

	if (json_is_string(opts)) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", json_string_value(opts));
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			if (fs_option(t, attr, err) < 0)
				return -err->errnum;
		return 0;
	}
	json_array_foreach (opts, i, o)
		if (json_is_string(o) && fs_option(json_string_value(o), attr, err) < 0)
			return -err->errnum;
	return 0;
}

/* An absolute path with no empty, "." or ".." component: its text is its place. */
static bool path_plain(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	for (const char *c = p + 1;; c++) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (*e == '\0')
			return true;
		c = e;
	}
}

/* path is dir or below it (both plain). */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (streq(dir, "/"))
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int fs_check_fence(const struct zone_spec *s, const char *src, struct zh_error *err)
{
	if (s->fs_own && path_under(src, s->fs_own))
		return 0;
	for (char *const *f = s->fs_fenced; f && *f; f++)
		if (path_under(src, *f) || path_under(*f, src))
			return zh_error_set(err, EPERM, "filesystems",
					    "filesystems: source \"%s\" %s zonehost's data (%s): "
					    "only the VM's own dataset may be shared",
					    src, path_under(src, *f) ? "is inside" : "contains",
					    *f);
	return 0;
}

static int fs_check(const struct zone_spec *s, const json_t *fs, struct zh_error *err)
{
	const char *src = json_string_value(json_object_get(fs, "source"));
	const char *dst = json_string_value(json_object_get(fs, "target"));
	const char *type = json_string_value(json_object_get(fs, "type"));

	if (!src || !dst || src[0] != '/' || dst[0] != '/')
		return zh_error_set(err, EINVAL, "filesystems",
				    "filesystems: source and target must be absolute paths");
	if (!path_plain(src))
		return zh_error_set(err, EINVAL, "filesystems",
				    "filesystems: source \"%s\" must be a plain absolute path "
				    "(no \".\", \"..\" or empty component)",
				    src);
	if (type && !streq(type, "lofs") && !streq(type, "bind"))
		return zh_error_set(err, EINVAL, "filesystems",
				    "filesystems: type \"%s\" is not supported (lofs only)", type);
	return fs_check_fence(s, src, err);
}

/* The source, resolved without following any symlink (O_PATH). */
static int fs_resolve(const char *src, struct zh_error *err)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof(how));

	if (fd >= 0)
		return fd;
	if (errno == ELOOP)
		return zh_error_set(err, ELOOP, "filesystems",
				    "filesystems: source \"%s\" has a symbolic link in its path "
				    "(refused: give the real path)",
				    src);
	return zh_error_set(err, errno, "filesystems", "filesystems: source \"%s\": %m", src);
}

static int fs_open_one(const struct zone_spec *s, const json_t *fs, struct zone_fs *f,
		       struct zh_error *err)
{
	const char *src = json_string_value(json_object_get(fs, "source"));
	_cleanup_close_ int fd = -EBADF;

	f->attr = MOUNT_ATTR_NODEV;
	if (fs_check(s, fs, err) < 0 ||
	    fs_options(json_object_get(fs, "options"), &f->attr, err) < 0)
		return -err->errnum;
	if ((fd = fs_resolve(src, err)) < 0)
		return fd;
	f->fd = open_tree(fd, "",
			  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (f->fd < 0)
		return zh_error_set(err, errno, "filesystems", "filesystems: source \"%s\": %m",
				    src);
	/* A peer of a shared source would carry the zone's mounts back to the host. */
	int r = fsutil_tree_private(f->fd, 0, true);
	if (r < 0)
		return zh_error_set(err, -r, "filesystems",
				    "filesystems: cannot make source \"%s\" private: %s", src,
				    strerror(-r));
	return 0;
}

int zone_fs_open(const struct zone_spec *s, struct zone_fs *fs, size_t *n, struct zh_error *err)
{
	size_t i;
	json_t *e;

	*n = 0;
	if (json_array_size(s->filesystems) > ZONE_FS_MAX)
		return zh_error_set(err, E2BIG, "filesystems", "filesystems: more than %d entries",
				    ZONE_FS_MAX);
	json_array_foreach (s->filesystems, i, e) {
		if (fs_open_one(s, e, &fs[i], err) < 0)
			return -err->errnum;
		*n = i + 1;
	}
	return 0;
}

static int mount_one_fs(struct zone_child *c, const json_t *fs, int tree)
{
	const char *dst = json_string_value(json_object_get(fs, "target"));
	_cleanup_close_ int tfd = -EBADF;
	struct stat st;

	if (fstat(tree, &st) < 0)
		return zone_child_fail(c, errno, "filesystems: source of \"%s\": %m", dst);
	if (zone_mount_target(c, dst, S_ISDIR(st.st_mode) ? ZONE_T_DIR : ZONE_T_FILE, &tfd) < 0) {
		char why[ZONE_CHILD_MSG_MAX];
		memcpy(why, c->msg, sizeof(why));
		return zone_child_fail(c, c->errnum, "filesystems: target \"%s\": %s", dst, why);
	}
	if (move_mount(tree, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return zone_child_fail(c, errno, "filesystems: cannot mount on \"%s\": %m", dst);
	return 0;
}

static int setup_filesystems(struct zone_child *c)
{
	for (size_t i = 0; i < c->nfs; i++)
		if (mount_one_fs(c, json_array_get(c->s->filesystems, i), c->fs[i].fd) < 0)
			return -c->errnum;
	return 0;
}

/* ---- the pivot ---- */

static int pivot(struct zone_child *c)
{
	if (fchdir(c->root_fd) < 0)
		return zone_child_fail(c, errno, "cannot enter the zone root: %m");
	/* The old root ends up stacked on the new one, and is detached. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return zone_child_fail(c, errno, "pivot_root: %m");
	if (umount2(".", MNT_DETACH) < 0)
		return zone_child_fail(c, errno, "cannot detach the host's root: %m");
	if (chdir("/") < 0)
		return zone_child_fail(c, errno, "chdir /: %m");
	closep(&c->root_fd);
	return 0;
}

int zone_mount_prepare(struct zone_child *c)
{
	/* Nothing propagates either way from here (docs/architecture.md §10). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return zone_child_fail(c, errno, "cannot make the zone's mounts private: %m");
	if (zone_idmap_attach(c) < 0 || zone_dev_prepare(c) < 0 || zone_mdata_prepare(c) < 0)
		return -c->errnum;
	return 0;
}

/* ---- the metadata service (docs/architecture.md §23) ---- */

static const char *const mdata_tools[] = {"mdata-get", "mdata-put", "mdata-delete", "mdata-list"};

int zone_mdata_prepare(struct zone_child *c)
{
	const struct zone_spec *s = c->s;

	if (s->mdata_dir && s->mdata_at &&
	    (c->mdata_dir_src = open(s->mdata_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
		    0)
		return zone_child_fail(c, errno, "cannot open %s: %m", s->mdata_dir);
	if (s->mdata_tool &&
	    (c->mdata_tool_src = open(s->mdata_tool, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return zone_child_fail(c, errno, "cannot open %s: %m", s->mdata_tool);
	return 0;
}

int zone_mdata_setup(struct zone_child *c)
{
	char dst[64];

	if (c->mdata_dir_src >= 0 &&
	    zone_mount_bind_fd(c, c->mdata_dir_src, c->s->mdata_at, ZONE_T_DIR, false,
			       MOUNT_ATTR_RDONLY | ATTR_SAFE) < 0)
		return -c->errnum;
	for (size_t i = 0; c->mdata_tool_src >= 0 && i < ARRAY_SIZE(mdata_tools); i++) {
		snprintf(dst, sizeof(dst), "/native/usr/sbin/%s", mdata_tools[i]);
		if (zone_mount_bind_fd(c, c->mdata_tool_src, dst, ZONE_T_FILE, false,
				       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) <
		    0)
			return -c->errnum;
	}
	return 0;
}

/*
 * A fresh boot_id per boot (else journalctl -b merges the zone's boots
 * with the host's): a file on the zone's own /dev tmpfs, bound read-only
 * over /proc/sys/kernel/random/boot_id, then unlinked (the bind keeps it).
 */
static int setup_boot_id(struct zone_child *c)
{
	static const char path[] = "/proc/sys/kernel/random/boot_id";
	_cleanup_close_ int dev = zone_open_in_root(c->root_fd, "/dev");
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char id[UTIL_UUID_LEN + 2];
	int r;

	if (!exists_in_root(c, path))
		return 0;
	dfd = dev < 0 ? -EBADF : openat(dev, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || util_uuid_generate(id) < 0)
		return zone_child_fail(c, EIO, "cannot make the zone's boot_id");
	id[UTIL_UUID_LEN] = '\n';
	id[UTIL_UUID_LEN + 1] = '\0';
	fd = openat(dfd, ".boot_id", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 || write(fd, id, strlen(id)) != (ssize_t)strlen(id))
		return zone_child_fail(c, errno, "cannot write the zone's boot_id: %m");
	r = zone_mount_bind_fd(c, fd, path, ZONE_T_FILE, false, MOUNT_ATTR_RDONLY | ATTR_SAFE);
	unlinkat(dfd, ".boot_id", 0);
	return r;
}

int zone_mount_setup(struct zone_child *c)
{
	if (setup_proc(c) < 0 || setup_sys(c) < 0 || setup_cgroup(c) < 0 || zone_dev_setup(c) < 0 ||
	    setup_boot_id(c) < 0 || setup_tmp(c) < 0 || setup_filesystems(c) < 0 ||
	    zone_mdata_setup(c) < 0 || zone_extra_setup(c) < 0)
		return -c->errnum;
	return pivot(c);
}

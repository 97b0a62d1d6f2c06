/*
 * pool-btrfs.c - the btrfs side of the pool: mkfs, quota, mount table,
 * and the datasets and snapshots inside a mounted pool.
 *
 * Owns: the subvolumes it creates (through libbtrfsutil) and their qgroup
 * limits (BTRFS_IOC_QGROUP_LIMIT on qgroup 0/<subvolume id>).  It does
 * not own the mount or the loop device (pool.c, pool-loop.c).
 *
 *     pool_snapshot_create(p, img, "final", &err);      img@final, read-only
 *     pool_clone(p, "<img>@final", vm, &err);           writable, O(1)
 *     pool_quota_set(p, vm, 10ULL << 30, &err);
 *     pool_subvol_destroy(p, vm, &err);                 nested ones too
 *
 * Invariants: names are checked before any path is built from them (no
 * '/', no leading '.', '@' only as the snapshot separator); mkfs runs as
 * a child with no inherited descriptors and no shell.  Every subvolume is
 * reached from the pool's top directory by file descriptor: openat() with
 * O_NOFOLLOW, then checked to be the subvolume that entry names (its
 * parent subvolume and directory are the top's, on the same file system),
 * so no symlink, nor anything mounted over a name, is ever acted on.
 * Deletes go by subvolume id (BTRFS_IOC_SNAP_DESTROY_V2), nested ones
 * first, and resolve no path inside the dataset (a tenant's tree).
 */
#include <btrfsutil.h>
#include <fcntl.h>
#include <endian.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "fsutil.h"
#include "pool-internal.h"
#include "pool.h"

#define MKFS_STDERR_MAX 4096

/* ---- host support, mkfs ---- */

bool pool_btrfs_supported(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (fsutil_read_all("/proc/filesystems", 65536, &buf, &len, NULL) < 0)
		return false;
	return strstr(buf, "\tbtrfs\n") != NULL;
}

static const char *mkfs_path(void)
{
	static const char *const cands[] = {
		"/usr/sbin/mkfs.btrfs",
		"/sbin/mkfs.btrfs",
		"/usr/bin/mkfs.btrfs",
		"/bin/mkfs.btrfs",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cands); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

/* Child side: only async-signal-safe calls between fork and exec. */
static _Noreturn void mkfs_child(const char *exe, const char *dev, int nullfd, int errfd)
{
	char *const argv[] = {(char *)exe, (char *)"-q", (char *)"-f", (char *)dev, NULL};
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C",
			      NULL};

	if (dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	execve(exe, argv, envp);
	_exit(127);
}

/* Drain the child's stderr to EOF, keeping the tail; leave its last line in buf. */
static void read_last_line(int fd, char *buf, size_t cap)
{
	size_t used = 0;
	ssize_t n;
	char *nl;

	for (;;) {
		if (used + 1 >= cap) { /* full: keep the last half */
			memmove(buf, buf + cap / 2, used - cap / 2);
			used -= cap / 2;
		}
		n = read(fd, buf + used, cap - 1 - used);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n > 0)
			used += (size_t)n;
	}
	buf[used] = '\0';
	while (used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == ' '))
		buf[--used] = '\0';
	nl = strrchr(buf, '\n');
	if (nl)
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

static int mkfs_wait(pid_t pid, int rfd, const char *dev, struct zh_error *err)
{
	char msg[MKFS_STDERR_MAX];
	int status;

	read_last_line(rfd, msg, sizeof(msg));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return zh_error_set(err, errno, NULL, "mkfs.btrfs: %m");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return zh_error_set(err, ENOENT, NULL, "cannot run mkfs.btrfs");
	return zh_error_set(err, EIO, NULL, "mkfs.btrfs %s failed: %s", dev,
			    *msg ? msg : "unknown error");
}

int pool_btrfs_mkfs(const char *dev, struct zh_error *err)
{
	_cleanup_close_ int nullfd = -EBADF, rfd = -EBADF, wfd = -EBADF;
	const char *exe = mkfs_path();
	int p[2];
	pid_t pid;

	if (!exe)
		return zh_error_set(err, ENOENT, NULL,
				    "mkfs.btrfs not found (install btrfs-progs)");
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "cannot run mkfs.btrfs: %m");
	rfd = p[0];
	wfd = p[1];
	pid = fork();
	if (pid < 0)
		return zh_error_set(err, errno, NULL, "cannot fork: %m");
	if (pid == 0)
		mkfs_child(exe, dev, nullfd, wfd);
	closep(&wfd);
	return mkfs_wait(pid, rfd, dev, err);
}

/* ---- quota, file-system type, mount table ---- */

int pool_btrfs_quota_enable(const char *path, struct zh_error *err)
{
	struct btrfs_ioctl_quota_ctl_args a = {.cmd = BTRFS_QUOTA_CTL_ENABLE};
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	if (ioctl(fd, BTRFS_IOC_QUOTA_CTL, &a) < 0)
		return zh_error_set(err, errno, NULL, "cannot enable quota accounting on %s: %m",
				    path);
	return 0;
}

bool pool_btrfs_is_btrfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == BTRFS_SUPER_MAGIC;
}

/* Undo mountinfo's octal escapes (\040 etc.) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++, w++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w = *r;
		}
	}
	*w = '\0';
}

/* Fields 5 (mount point), and after " - ": fstype, source. */
static int parse_mountinfo_line(char *line, char **mp, char **fstype, char **src)
{
	char *sep = strstr(line, " - "), *save = NULL, *f;
	int i = 0;

	if (!sep)
		return -EINVAL;
	*sep = '\0';
	for (f = strtok_r(line, " ", &save); f && i < 4; i++)
		f = strtok_r(NULL, " ", &save);
	if (!f)
		return -EINVAL;
	*mp = f;
	*fstype = strtok_r(sep + 3, " ", &save);
	*src = strtok_r(NULL, " \n", &save);
	if (!*fstype || !*src)
		return -EINVAL;
	unescape(*mp);
	unescape(*src);
	return 0;
}

int pool_mountinfo_find(const char *path, char **fstype, char **source)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *mp, *fs, *src;

		if (parse_mountinfo_line(line, &mp, &fs, &src) < 0 || !streq(mp, path))
			continue;
		/* The last match is the visible one (mounts stack). */
		found = 1;
		if (fstype && (free(*fstype), !(*fstype = strdup(fs))))
			return -ENOMEM;
		if (source && (free(*source), !(*source = strdup(src))))
			return -ENOMEM;
	}
	return found;
}

/* ---- names ---- */

/* A dataset ("ds") or, with snap, "ds@snap". */
static bool name_valid(const char *name, bool snap_ok)
{
	const char *at;
	size_t n;

	if (!name || !*name || name[0] == '.' || name[0] == '@' || strchr(name, '/'))
		return false;
	n = strlen(name);
	if (n > 255)
		return false;
	at = strchr(name, '@');
	if (!at)
		return true;
	return snap_ok && at[1] && !strchr(at + 1, '@');
}

static int check_name(const char *name, bool snap_ok, struct zh_error *err)
{
	if (name_valid(name, snap_ok))
		return 0;
	return zh_error_set(err, EINVAL, NULL, "invalid %s name \"%s\"",
			    snap_ok ? "dataset or snapshot" : "dataset", name ? name : "");
}

char *pool_dataset_path(const struct pool *p, const char *name)
{
	char *s = NULL;

	if (asprintf(&s, "%s/%s", p->mountpoint, name) < 0)
		return NULL;
	return s;
}

bool pool_dataset_exists(const struct pool *p, const char *name)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (!name_valid(name, true) || !(path = pool_dataset_path(p, name)))
		return false;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == SUBVOL_ROOT_INO;
}

static int util_err(struct zh_error *err, enum btrfs_util_error e, const char *what,
		    const char *name)
{
	int errnum = errno ? errno : EIO;

	return zh_error_set(err, errnum, NULL, "cannot %s \"%s\": %s (%s)", what, name,
			    btrfs_util_strerror(e), strerror(errnum));
}

/* ---- subvolumes by file descriptor ---- */

int pool_btrfs_top(const struct pool *p, struct zh_error *err)
{
	int fd = open(p->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open pool %s (%s): %m", p->name,
				    p->mountpoint);
	return fd;
}

static int fs_id(int fd, uint8_t id[BTRFS_FSID_SIZE])
{
	struct btrfs_ioctl_fs_info_args a;

	memset(&a, 0, sizeof(a));
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &a) < 0)
		return -errno;
	memcpy(id, a.fsid, BTRFS_FSID_SIZE);
	return 0;
}

/* fd (a subvolume's root) is the entry of directory dfd: same fs, parent and directory. */
static int subvol_is_child(int dfd, int fd, uint64_t *id)
{
	struct btrfs_util_subvolume_info info;
	uint8_t a[BTRFS_FSID_SIZE], b[BTRFS_FSID_SIZE];
	struct stat ds, st;
	uint64_t parent = 0;
	int r;

	if (fstat(fd, &st) < 0 || fstat(dfd, &ds) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_ino != SUBVOL_ROOT_INO)
		return -ENOTDIR;
	if ((r = fs_id(fd, a)) < 0 || (r = fs_id(dfd, b)) < 0)
		return r == -ENOTTY ? -EXDEV : r;
	errno = 0;
	if (btrfs_util_subvolume_id_fd(dfd, &parent) != BTRFS_UTIL_OK ||
	    btrfs_util_subvolume_info_fd(fd, 0, &info) != BTRFS_UTIL_OK)
		return errno ? -errno : -EIO;
	if (memcmp(a, b, sizeof(a)) != 0 || info.parent_id != parent || info.dir_id != ds.st_ino)
		return -EXDEV;
	*id = info.id;
	return 0;
}

int pool_btrfs_subvol_at(int dfd, const char *name, int *out, uint64_t *id)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t sid = 0;
	int r;

	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if ((r = subvol_is_child(dfd, fd, &sid)) < 0)
		return r;
	if (id)
		*id = sid;
	*out = TAKE_FD(fd);
	return 0;
}

int pool_btrfs_destroy(int anyfd, uint64_t id)
{
	struct btrfs_util_subvolume_iterator *it = NULL;
	enum btrfs_util_error e;
	uint64_t sub;
	char *path;

	e = btrfs_util_create_subvolume_iterator_fd(anyfd, id,
						    BTRFS_UTIL_SUBVOLUME_ITERATOR_POST_ORDER, &it);
	while (e == BTRFS_UTIL_OK &&
	       (e = btrfs_util_subvolume_iterator_next(it, &path, &sub)) == BTRFS_UTIL_OK) {
		free(path);
		e = btrfs_util_delete_subvolume_by_id_fd(anyfd, sub);
	}
	btrfs_util_destroy_subvolume_iterator(it);
	if (e != BTRFS_UTIL_OK && e != BTRFS_UTIL_ERROR_STOP_ITERATION)
		return errno ? -errno : -EIO;
	if (btrfs_util_delete_subvolume_by_id_fd(anyfd, id) != BTRFS_UTIL_OK)
		return errno ? -errno : -EIO;
	return 0;
}

static int open_err(struct zh_error *err, int r, const char *name)
{
	if (r == -ENOENT)
		return zh_error_set(err, ENOENT, NULL, "dataset \"%s\" does not exist", name);
	if (r == -ENOTDIR || r == -EXDEV)
		return zh_error_set(err, ENOTDIR, NULL, "\"%s\" is not a dataset of this pool",
				    name);
	return zh_error_set(err, -r, NULL, "dataset \"%s\": %s", name, strerror(-r));
}

/* Dataset or snapshot name opened from the pool's top (a verified subvolume); *top kept open. */
static int open_ds(const struct pool *p, const char *name, int *top, int *fd, uint64_t *id,
		   struct zh_error *err)
{
	int r = check_name(name, true, err);

	if (r < 0 || (*top = pool_btrfs_top(p, err)) < 0)
		return r < 0 ? r : *top;
	if ((r = pool_btrfs_subvol_at(*top, name, fd, id)) < 0)
		return open_err(err, r, name);
	return 0;
}

int pool_dataset_open(const struct pool *p, const char *name, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF;
	int fd = -EBADF, r = open_ds(p, name, &top, &fd, NULL, err);

	return r < 0 ? r : fd;
}

int pool_dataset_private(const struct pool *p, const char *name, struct zh_error *err)
{
	_cleanup_close_ int fd = pool_dataset_open(p, name, err);

	if (fd < 0)
		return fd;
	if (fchmod(fd, 0700) < 0)
		return zh_error_set(err, errno, NULL, "cannot chmod dataset \"%s\": %m", name);
	return 0;
}

/* ---- subvolumes and snapshots ---- */

int pool_subvol_create(const struct pool *p, const char *name, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF;
	enum btrfs_util_error e;
	int r = check_name(name, false, err);

	if (r < 0 || (top = pool_btrfs_top(p, err)) < 0)
		return r < 0 ? r : top;
	errno = 0;
	e = btrfs_util_create_subvolume_fd(top, name, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return util_err(err, e, "create dataset", name);
	return 0;
}

static int snapshot(const struct pool *p, const char *src, const char *dst, int flags,
		    struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF, fd = -EBADF;
	enum btrfs_util_error e;
	int r = open_ds(p, src, &top, &fd, NULL, err);

	if (r < 0)
		return r;
	errno = 0;
	e = btrfs_util_create_snapshot_fd2(fd, top, dst, flags, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return util_err(err, e, "snapshot", dst);
	return 0;
}

int pool_clone(const struct pool *p, const char *src, const char *dst, struct zh_error *err)
{
	int r = check_name(src, true, err);

	if (r < 0 || (r = check_name(dst, false, err)) < 0)
		return r;
	return snapshot(p, src, dst, 0, err);
}

int pool_snapshot_create(const struct pool *p, const char *ds, const char *snap,
			 struct zh_error *err)
{
	_cleanup_free_ char *dst = NULL;
	int r = check_name(ds, false, err);

	if (r < 0)
		return r;
	if (asprintf(&dst, "%s@%s", ds, snap ? snap : "") < 0)
		return zh_error_oom(err);
	if ((r = check_name(dst, true, err)) < 0)
		return r;
	return snapshot(p, ds, dst, BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, err);
}

int pool_subvol_destroy(const struct pool *p, const char *name, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF, fd = -EBADF;
	uint64_t id = 0;
	int r = open_ds(p, name, &top, &fd, &id, err);

	if (r == -ENOENT) { /* missing is fine */
		zh_error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	closep(&fd);
	if ((r = pool_btrfs_destroy(top, id)) < 0)
		return zh_error_set(err, -r, NULL, "cannot delete \"%s\": %s", name, strerror(-r));
	return 0;
}

int pool_set_readonly(const struct pool *p, const char *name, bool ro, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF, fd = -EBADF;
	enum btrfs_util_error e;
	int r = open_ds(p, name, &top, &fd, NULL, err);

	if (r < 0)
		return r;
	errno = 0;
	e = btrfs_util_set_subvolume_read_only_fd(fd, ro);
	if (e != BTRFS_UTIL_OK)
		return util_err(err, e, ro ? "make read-only" : "make writable", name);
	return 0;
}

int pool_btrfs_qgroup_limit(const char *mountpoint, uint64_t id, uint64_t bytes, const char *name,
			    struct zh_error *err)
{
	struct btrfs_ioctl_qgroup_limit_args a;
	_cleanup_close_ int top = -EBADF;

	/* through the pool's top level: on the dataset's own fd, a dataset at
	 * its quota could be refused the change with EDQUOT */
	top = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", mountpoint);
	memset(&a, 0, sizeof(a));
	a.qgroupid = id; /* level 0: 0/<subvolume id> */
	a.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	a.lim.max_rfer = bytes ? bytes : UINT64_MAX; /* all ones: no limit */
	if (ioctl(top, BTRFS_IOC_QGROUP_LIMIT, &a) < 0)
		return zh_error_set(err, errno, NULL, "cannot set quota on \"%s\": %s", name,
				    errno == ENOTCONN ? "quota accounting is off in this pool"
						      : strerror(errno));
	return 0;
}

int pool_quota_set(const struct pool *p, const char *name, uint64_t bytes, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF, top = -EBADF;
	uint64_t id = 0;
	int r = check_name(name, false, err);

	if (r < 0 || (r = open_ds(p, name, &top, &fd, &id, err)) < 0)
		return r;
	return pool_btrfs_qgroup_limit(p->mountpoint, id, bytes, name, err);
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool entry_is_subvol(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_ino == SUBVOL_ROOT_INO;
}

static int push(char ***v, size_t *n, size_t *cap, const char *s)
{
	if (*n + 1 >= *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, nc * sizeof(char *));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	if (!((*v)[*n] = strdup(s)))
		return -ENOMEM;
	(*v)[++*n] = NULL;
	return 0;
}

/* The subvolumes at the pool's top whose names start with prefix (the name first: no stat). */
static int list_subvols(const char *mountpoint, const char *prefix, char ***out)
{
	size_t pl = strlen(prefix);
	_cleanup_(closedirp) DIR *d = opendir(mountpoint);
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	size_t n = 0, cap = v ? 1 : 0;
	struct dirent *de;

	if (!d)
		return -errno;
	if (!v)
		return -ENOMEM;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, pl) != 0 ||
		    !entry_is_subvol(dirfd(d), de->d_name))
			continue;
		if (push(&v, &n, &cap, de->d_name) < 0)
			return -ENOMEM;
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*out = TAKE_PTR(v);
	return (int)n;
}

int pool_dataset_list(const struct pool *p, char ***names, struct zh_error *err)
{
	return pool_dataset_list_prefix(p, "", names, err);
}

int pool_dataset_list_prefix(const struct pool *p, const char *prefix, char ***names,
			     struct zh_error *err)
{
	int r = list_subvols(p->mountpoint, prefix, names);

	if (r == -ENOMEM)
		return zh_error_oom(err);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot list %s: %s", p->mountpoint,
				    strerror(-r));
	return 0;
}

int pool_btrfs_dataset_count(const char *mountpoint)
{
	_cleanup_strv_ char **v = NULL;

	return list_subvols(mountpoint, "", &v);
}

/* ---- quota usage, creation time, exchange ---- */

static int qgroup_search(int fd, uint64_t id, uint64_t *rfer)
{
	struct btrfs_ioctl_search_args a;
	struct btrfs_ioctl_search_header sh;
	struct btrfs_qgroup_info_item item;

	memset(&a, 0, sizeof(a));
	a.key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
	a.key.min_type = a.key.max_type = BTRFS_QGROUP_INFO_KEY;
	a.key.min_offset = a.key.max_offset = id; /* level 0 */
	a.key.max_objectid = 0;
	a.key.max_transid = UINT64_MAX;
	a.key.nr_items = 1;
	if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &a) < 0)
		return -errno;
	if (a.key.nr_items < 1)
		return -ENOENT;
	memcpy(&sh, a.buf, sizeof(sh));
	if (sh.len < sizeof(item))
		return -EIO;
	memcpy(&item, a.buf + sizeof(sh), sizeof(item));
	*rfer = le64toh(item.rfer);
	return 0;
}

int pool_quota_used(const struct pool *p, const char *name, uint64_t *bytes, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF, top = -EBADF;
	uint64_t id = 0;
	int r = check_name(name, false, err);

	if (r < 0 || (r = open_ds(p, name, &top, &fd, &id, err)) < 0)
		return r;
	if (syncfs(fd) < 0)
		return zh_error_set(err, errno, NULL, "cannot sync \"%s\": %m", name);
	r = qgroup_search(fd, id, bytes);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot read the usage of \"%s\": %s", name,
				    strerror(-r));
	return 0;
}

int pool_subvol_otime(const struct pool *p, const char *name, int64_t *ms, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF, fd = -EBADF;
	struct btrfs_util_subvolume_info info;
	enum btrfs_util_error e;
	int r = open_ds(p, name, &top, &fd, NULL, err);

	if (r < 0)
		return r;
	errno = 0;
	e = btrfs_util_subvolume_info_fd(fd, 0, &info);
	if (e != BTRFS_UTIL_OK)
		return util_err(err, e, "read the creation time of", name);
	*ms = (int64_t)info.otime.tv_sec * 1000 + info.otime.tv_nsec / 1000000;
	return 0;
}

int pool_dataset_exchange(const struct pool *p, const char *a, const char *b, struct zh_error *err)
{
	_cleanup_close_ int top = -EBADF, fa = -EBADF, tb = -EBADF, fb = -EBADF;
	int r = check_name(a, false, err);

	if (r < 0 || (r = check_name(b, false, err)) < 0 ||
	    (r = open_ds(p, a, &top, &fa, NULL, err)) < 0 ||
	    (r = open_ds(p, b, &tb, &fb, NULL, err)) < 0)
		return r;
	if (renameat2(top, a, top, b, RENAME_EXCHANGE) < 0)
		return zh_error_set(err, errno, NULL, "cannot exchange \"%s\" and \"%s\": %m", a,
				    b);
	return 0;
}

int pool_dataset_adopt(const struct pool *p, const char *name, struct zh_error *err)
{
	struct btrfs_ioctl_received_subvol_args a;
	_cleanup_close_ int top = -EBADF, fd = -EBADF;
	enum btrfs_util_error e;
	int r = check_name(name, false, err);

	if (r < 0 || (r = open_ds(p, name, &top, &fd, NULL, err)) < 0)
		return r;
	errno = 0;
	if ((e = btrfs_util_set_subvolume_read_only_fd(fd, false)) != BTRFS_UTIL_OK)
		return util_err(err, e, "make writable", name);
	memset(&a, 0, sizeof(a)); /* a zero uuid removes the received uuid */
	if (ioctl(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, &a) < 0)
		return zh_error_set(err, errno, NULL,
				    "dataset \"%s\": cannot clear received uuid: %m", name);
	return 0;
}

int pool_sync(const struct pool *p, struct zh_error *err)
{
	_cleanup_close_ int fd = open(p->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		return zh_error_set(err, errno, NULL, "cannot sync pool %s: %m", p->name);
	return 0;
}

bool pool_is_mounted(const struct pool *p)
{
	_cleanup_free_ char *fstype = NULL;

	if (pool_mountinfo_find(p->mountpoint, &fstype, NULL) != 1)
		return false;
	return streq(fstype, "btrfs");
}

/*
 * pool.c - the pool's life: create, open (mount), status, destroy, and
 * its configuration record <config>/pools/<name>.json.
 *
 * Owns: the record, the pool's mount at paths_pool_mount(name), the
 * backing file of a file-backed pool, and the directories it made for
 * them.  The loop device is owned by the mount (LO_FLAGS_AUTOCLEAR, see
 * pool-loop.c); datasets are pool-btrfs.c's.
 *
 *     struct pool_create_opts o = { .name = "zones", .size = 20ULL << 30 };
 *     _cleanup_pool_ struct pool *p = NULL;
 *     if (pool_create(&o, &p, &err) < 0) ...      (host as it was)
 *     if (pool_open("zones", &p, &err) < 0) ...   (mounts it if needed)
 *
 * Transactions: pool_create checks every argument before it changes
 * anything, then records each step in a struct create_tx that undo()
 * unwinds on failure, so a failed create leaves no file, loop device,
 * mount, directory or record.  The record is written last: a pool is
 * recorded only once it is mounted with quota accounting on.
 *
 * Lock: mounting takes the leaf lock "pool-<name>" (never held while any
 * other lock is taken), so two processes never mount one pool twice.
 * A pool backed by an existing mount (POOL_BACKING_MOUNT) is bind-mounted
 * at the pool's mount point, unless it already is that mount point.
 *
 * The pool's mount is nosuid,nodev (an existing mount used in place is
 * made so when the pool is created): the datasets hold tenants' files and
 * images' setuid binaries, file capabilities and device nodes, which must
 * mean nothing to the host.  Zones see their roots through clones of it
 * that allow setuid again (zone-idmap.c).
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "pool-internal.h"
#include "pool.h"
#include "util.h"

#define RECORD_MAX (64u << 10)

static const char *const backing_names[] = {
	[POOL_BACKING_FILE] = "file",
	[POOL_BACKING_DEVICE] = "device",
	[POOL_BACKING_MOUNT] = "mount",
};

const char *pool_backing_name(enum pool_backing b)
{
	return (size_t)b < ARRAY_SIZE(backing_names) ? backing_names[b] : "unknown";
}

bool pool_name_valid(const char *name)
{
	size_t n;

	if (!name || !*name || name[0] == '.' || name[0] == '-')
		return false;
	n = strlen(name);
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* "10K", "20G", or plain bytes: the shortest exact form. */
static void fmt_size(uint64_t v, char buf[32])
{
	static const char units[] = "KMGTP";
	int u = -1;

	while (u < 4 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, 32, "%llu", (unsigned long long)v);
	else
		snprintf(buf, 32, "%llu%c", (unsigned long long)v, units[u]);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->mountpoint);
	free(p->source);
	free(p);
}

static struct pool *pool_new(const char *name, enum pool_backing b, const char *source)
{
	_cleanup_pool_ struct pool *p = calloc(1, sizeof(*p));

	if (!p || !(p->name = strdup(name)) || !(p->mountpoint = paths_pool_mount(name)) ||
	    !(p->source = strdup(source)))
		return NULL;
	p->backing = b;
	return TAKE_PTR(p);
}

/* ---- records ---- */

static int record_store(const struct pool *p, struct zh_error *err)
{
	_cleanup_free_ char *path = paths_pool_record(p->name);
	_cleanup_json_ json_t *j = NULL;
	char ts[UTIL_TIMESTAMP_LEN + 1];

	util_timestamp_now(ts);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", p->name, "backing",
		      pool_backing_name(p->backing), "source", p->source, "mountpoint",
		      p->mountpoint, "created", ts);
	if (!j || !path)
		return zh_error_oom(err);
	return jsonutil_store_file(path, j, err);
}

static int backing_parse(const char *s, enum pool_backing *b)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(backing_names); i++) {
		if (streq(s, backing_names[i])) {
			*b = (enum pool_backing)i;
			return 0;
		}
	}
	return -EINVAL;
}

int pool_load(const char *name, struct pool **out, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *j = NULL;
	enum pool_backing b;
	const char *src;
	int r;

	if (!pool_name_valid(name))
		return zh_error_set(err, EINVAL, "name", "invalid pool name \"%s\"",
				    name ? name : "");
	if (!(path = paths_pool_record(name)))
		return zh_error_oom(err);
	if (!fsutil_exists(path))
		return zh_error_set(err, ENOENT, NULL, "pool \"%s\" does not exist", name);
	if ((r = jsonutil_load_file(path, RECORD_MAX, &j, err)) < 0)
		return r;
	src = jsonutil_str(j, "source");
	if (backing_parse(jsonutil_str(j, "backing"), &b) < 0 || !src)
		return zh_error_set(err, EINVAL, NULL, "%s: bad pool record", path);
	if (!(*out = pool_new(name, b, src)))
		return zh_error_oom(err);
	return 0;
}

int pool_record_stat(const char *name, struct stat *st)
{
	_cleanup_free_ char *path = pool_name_valid(name) ? paths_pool_record(name) : NULL;

	if (!path)
		return -EINVAL;
	return stat(path, st) < 0 ? -errno : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pool_list(char ***names, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_pool_records();
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_strv_ char **v = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!dir || !(v = calloc(1, sizeof(char *))))
		return zh_error_oom(err);
	if (!(d = opendir(dir))) {
		if (errno != ENOENT)
			return zh_error_set(err, errno, NULL, "cannot read %s: %m", dir);
		*names = TAKE_PTR(v);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(PATHS_JSON_SUFFIX);
		char **nv;

		if (len <= sl || !streq(de->d_name + len - sl, PATHS_JSON_SUFFIX))
			continue;
		if (!(nv = realloc(v, (n + 2) * sizeof(char *))))
			return zh_error_oom(err);
		v = nv;
		v[n + 1] = NULL;
		if (!(v[n] = strndup(de->d_name, len - sl)))
			return zh_error_oom(err);
		if (pool_name_valid(v[n]))
			n++;
		else
			freep(&v[n]);
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*names = TAKE_PTR(v);
	return 0;
}

/* ---- directories made on the way (undone on failure) ---- */

/*
 * mkdir -p path; *top gets the outermost directory this call created
 * (NULL when path existed), so rmdir_upto() can take exactly those away.
 */
static int mkdir_tracked(const char *path, char **top, struct zh_error *err)
{
	_cleanup_free_ char *cur = NULL;

	*top = NULL;
	if (fsutil_exists(path))
		return 0;
	if (!(cur = strdup(path)))
		return zh_error_oom(err);
	for (;;) { /* climb to the outermost missing ancestor */
		char *slash = strrchr(cur, '/');

		if (!slash || slash == cur)
			break;
		*slash = '\0';
		if (fsutil_exists(cur)) {
			*slash = '/';
			break;
		}
	}
	*top = TAKE_PTR(cur);
	return fsutil_mkdir_p(path, 0755, err);
}

/* rmdir path and its parents up to and including top (all must be empty). */
static void rmdir_upto(const char *path, const char *top)
{
	_cleanup_free_ char *cur = NULL;
	char *slash;

	if (!top || !(cur = strdup(path)))
		return;
	for (;;) {
		if (rmdir(cur) < 0 || streq(cur, top))
			return;
		slash = strrchr(cur, '/');
		if (!slash || slash == cur)
			return;
		*slash = '\0';
	}
}

/* ---- mounting ---- */

/* The pool's own mount point is the existing mount: nothing to mount. */
static bool mount_in_place(const struct pool *p)
{
	return p->backing == POOL_BACKING_MOUNT && streq(p->source, p->mountpoint);
}

static int mount_dev(const char *dev, const char *mp, struct zh_error *err)
{
	if (mount(dev, mp, "btrfs", MS_NOSUID | MS_NODEV, NULL) < 0)
		return zh_error_set(err, errno, NULL, "cannot mount %s on %s: %m", dev, mp);
	return 0;
}

/* The mount at mp (only that one) made nosuid,nodev; its other flags kept. */
static int harden(const char *mp, struct zh_error *err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

	if (mount_setattr(AT_FDCWD, mp, AT_SYMLINK_NOFOLLOW, &a, sizeof(a)) < 0)
		return zh_error_set(err, errno, NULL, "cannot make %s nosuid,nodev: %m", mp);
	return 0;
}

static int mount_file(const struct pool *p, struct zh_error *err)
{
	_cleanup_free_ char *dev = NULL;
	_cleanup_close_ int lfd = -EBADF;

	lfd = pool_loop_attach(p->source, &dev, err);
	if (lfd < 0)
		return lfd;
	/* On failure lfd closes and the device detaches itself. */
	return mount_dev(dev, p->mountpoint, err);
}

static int mount_bind(const struct pool *p, struct zh_error *err)
{
	if (!pool_btrfs_is_btrfs(p->source))
		return zh_error_set(err, ENOTDIR, "mount", "%s is not a btrfs directory",
				    p->source);
	if (mount(p->source, p->mountpoint, NULL, MS_BIND, NULL) < 0)
		return zh_error_set(err, errno, NULL, "cannot bind %s on %s: %m", p->source,
				    p->mountpoint);
	return harden(p->mountpoint, err);
}

static int mount_pool(const struct pool *p, struct zh_error *err)
{
	switch (p->backing) {
	case POOL_BACKING_FILE: return mount_file(p, err);
	case POOL_BACKING_DEVICE: return mount_dev(p->source, p->mountpoint, err);
	case POOL_BACKING_MOUNT:
		if (mount_in_place(p))
			return pool_btrfs_is_btrfs(p->mountpoint)
				       ? harden(p->mountpoint, err)
				       : zh_error_set(err, ENOTDIR, NULL, "%s is not a btrfs mount",
						      p->mountpoint);
		return mount_bind(p, err);
	}
	return zh_error_set(err, EINVAL, NULL, "unknown pool backing");
}

static int unmount_pool(const struct pool *p, bool lazy, struct zh_error *err)
{
	if (mount_in_place(p) || !pool_is_mounted(p))
		return 0;
	if (umount2(p->mountpoint, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EBUSY && lazy && umount2(p->mountpoint, UMOUNT_NOFOLLOW | MNT_DETACH) == 0)
		return 0;
	return zh_error_set(err, errno, NULL, "cannot unmount pool \"%s\" (%s): %m", p->name,
			    p->mountpoint);
}

static int pool_lock(const char *name, struct zh_error *err)
{
	_cleanup_free_ char *ln = NULL;

	if (asprintf(&ln, LOCK_POOL_PREFIX "%s", name) < 0)
		return zh_error_oom(err);
	return lock_take(ln, err);
}

/* Mount a recorded pool unless it is mounted; under the pool's leaf lock. */
static int ensure_mounted(const struct pool *p, struct zh_error *err)
{
	_cleanup_close_ int lk = -EBADF;
	int r;

	if (pool_is_mounted(p))
		return 0;
	if ((lk = pool_lock(p->name, err)) < 0)
		return lk;
	if (pool_is_mounted(p))
		return 0;
	if ((r = fsutil_mkdir_p(p->mountpoint, 0755, err)) < 0)
		return r;
	r = mount_pool(p, err);
	if (r < 0)
		return zh_error_prefix(err, "pool \"%s\"", p->name);
	return 0;
}

int pool_open(const char *name, struct pool **out, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	int r = pool_load(name, &p, err);

	if (r < 0 || (r = ensure_mounted(p, err)) < 0)
		return r;
	*out = TAKE_PTR(p);
	return 0;
}

void pool_free_all(struct pool **v)
{
	for (struct pool **p = v; p && *p; p++)
		pool_free(*p);
	free(v);
}

int pool_open_names(char *const *names, struct pool ***out, struct zh_error *err)
{
	struct pool **v = calloc(util_strv_len(names) + 1, sizeof(*v));
	int r = v ? 0 : zh_error_oom(err);

	for (size_t i = 0; r == 0 && names[i]; i++)
		r = pool_open(names[i], &v[i], err);
	if (r < 0) {
		pool_free_all(v);
		return r;
	}
	*out = v;
	return 0;
}

int pool_open_all(struct pool ***out, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r = pool_list(&names, err);

	return r < 0 ? r : pool_open_names(names, out, err);
}

int pool_open_default(struct pool **out, struct zh_error *err)
{
	struct pool_create_opts o = {.name = POOL_DEFAULT_NAME};
	_cleanup_strv_ char **names = NULL;
	int r = pool_list(&names, err);

	if (r < 0)
		return r;
	if (names[0])
		return pool_open(POOL_DEFAULT_NAME, out, err);
	r = pool_create(&o, out, err);
	if (r == -EEXIST) { /* another process made it first */
		zh_error_clear(err);
		return pool_open(POOL_DEFAULT_NAME, out, err);
	}
	return r;
}

int pool_mount_all(struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r = pool_list(&names, err), first = 0;

	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		struct zh_error e = ZH_ERROR_INIT;
		struct pool *p = NULL;

		r = pool_open(*n, &p, first ? &e : err);
		if (r == 0) { /* what a crash left: trash, receives (their parked bases back) */
			pool_trash_empty(p, &e);
			zh_error_clear(&e);
			pool_recv_recover(p);
		}
		pool_free(p);
		zh_error_clear(&e);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

/* ---- status ---- */

int pool_status(const struct pool *p, json_t **out, struct zh_error *err)
{
	struct statvfs sv;
	uint64_t fr;
	int n;

	if (statvfs(p->mountpoint, &sv) < 0)
		return zh_error_set(err, errno, NULL, "pool \"%s\": %s: %m", p->name,
				    p->mountpoint);
	fr = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	n = pool_btrfs_dataset_count(p->mountpoint);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:b}", "name", p->name,
			 "mountpoint", p->mountpoint, "backing", pool_backing_name(p->backing),
			 "source", p->source, "size", (json_int_t)(sv.f_blocks * fr), "used",
			 (json_int_t)((sv.f_blocks - sv.f_bfree) * fr), "free",
			 (json_int_t)(sv.f_bavail * fr), "datasets", n < 0 ? 0 : n, "mounted",
			 pool_is_mounted(p));
	return *out ? 0 : zh_error_oom(err);
}

/* ---- create: checks first, then steps that undo() can unwind ---- */

struct create_tx {
	struct pool *p;
	char *mp_top, *file_top, *rec_top; /* directories we made */
	bool file_made, mounted;
};

static void undo(struct create_tx *t)
{
	_cleanup_free_ char *rec = paths_pool_records();

	if (t->mounted && umount2(t->p->mountpoint, UMOUNT_NOFOLLOW) < 0)
		umount2(t->p->mountpoint, UMOUNT_NOFOLLOW | MNT_DETACH);
	if (t->file_made) {
		_cleanup_free_ char *dir = strdup(t->p->source);
		char *slash = dir ? strrchr(dir, '/') : NULL;

		pool_loop_wait_detached(t->p->source, NULL);
		unlink(t->p->source);
		if (slash) {
			*slash = '\0';
			rmdir_upto(dir, t->file_top);
		}
	}
	rmdir_upto(t->p->mountpoint, t->mp_top);
	if (rec)
		rmdir_upto(rec, t->rec_top);
}

static void tx_free(struct create_tx *t)
{
	pool_free(t->p);
	free(t->mp_top);
	free(t->file_top);
	free(t->rec_top);
}

static int check_name_free(const char *name, struct zh_error *err)
{
	_cleanup_free_ char *rec = NULL;

	if (!pool_name_valid(name))
		return zh_error_set(
			err, EINVAL, "name",
			"invalid pool name \"%s\" (1-64 letters, digits, '_', '.', '-'; "
			"not starting with '.' or '-')",
			name);
	if (!pool_btrfs_supported())
		return zh_error_set(err, ENODEV, NULL,
				    "cannot create pool \"%s\": this kernel has no btrfs support",
				    name);
	if (!(rec = paths_pool_record(name)))
		return zh_error_oom(err);
	if (fsutil_exists(rec))
		return zh_error_set(err, EEXIST, "name", "pool \"%s\" already exists", name);
	return 0;
}

static bool dir_empty(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			return false;
	return d != NULL;
}

static int check_mountpoint(const struct pool *p, struct zh_error *err)
{
	struct stat st;
	int r;

	if (mount_in_place(p))
		return 0;
	r = pool_mountinfo_find(p->mountpoint, NULL, NULL);
	if (r != 0)
		return zh_error_set(err, r < 0 ? -r : EBUSY, "name",
				    "mount point %s is already in use", p->mountpoint);
	if (lstat(p->mountpoint, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return zh_error_set(err, ENOTDIR, "name", "mount point %s is not a directory",
				    p->mountpoint);
	if (!dir_empty(p->mountpoint))
		return zh_error_set(err, ENOTEMPTY, "name", "mount point %s is not empty",
				    p->mountpoint);
	return 0;
}

/* Free bytes on the file system that would hold path (its nearest existing ancestor). */
static int free_bytes_near(const char *path, uint64_t *out)
{
	_cleanup_free_ char *cur = strdup(path);
	struct statvfs sv;

	while (cur && statvfs(cur, &sv) < 0) {
		char *slash = strrchr(cur, '/');

		if (errno != ENOENT || !slash)
			return -errno;
		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (!cur)
		return -ENOMEM;
	*out = (uint64_t)sv.f_bavail * (sv.f_frsize ? sv.f_frsize : sv.f_bsize);
	return 0;
}

static int check_file(const struct pool_create_opts *o, const char *file, uint64_t size,
		      struct zh_error *err)
{
	char s[32], m[32];
	uint64_t fb = 0;

	fmt_size(size, s);
	fmt_size(POOL_MIN_SIZE, m);
	if (size < POOL_MIN_SIZE)
		return zh_error_set(err, EINVAL, "size",
				    "%s is too small (btrfs needs at least %s)", s, m);
	if (fsutil_exists(file))
		return zh_error_set(err, EEXIST, "size", "pool file %s already exists", file);
	if (free_bytes_near(file, &fb) < 0)
		return zh_error_set(err, errno, "size", "cannot check space for %s: %m", file);
	if (fb < POOL_MIN_SIZE) {
		fmt_size(fb, s);
		return zh_error_set(err, ENOSPC, "size",
				    "no space for pool file %s (%s bytes free, need at least %s)",
				    file, s, m);
	}
	return 0;
}

static int check_device(const char *dev, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t bytes = 0;
	struct stat st;
	char s[32], m[32];

	if (stat(dev, &st) < 0)
		return zh_error_set(err, errno, "device", "%s: %m", dev);
	if (!S_ISBLK(st.st_mode))
		return zh_error_set(err, ENOTBLK, "device", "%s is not a block device", dev);
	fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, "device", "%s: %s", dev,
				    errno == EBUSY ? "in use (mounted or held by another user)"
						   : strerror(errno));
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return zh_error_set(err, errno, "device", "%s: cannot read its size: %m", dev);
	fmt_size(bytes, s);
	fmt_size(POOL_MIN_SIZE, m);
	if (bytes < POOL_MIN_SIZE)
		return zh_error_set(err, ENOSPC, "device",
				    "%s is too small (%s; btrfs needs at least %s)", dev, s, m);
	return 0;
}

static int check_mount_source(const char *dir, char **real, struct zh_error *err)
{
	if (!(*real = realpath(dir, NULL)))
		return zh_error_set(err, errno, "mount", "%s: %m", dir);
	if (!fsutil_is_dir(*real))
		return zh_error_set(err, ENOTDIR, "mount", "%s is not a directory", dir);
	if (!pool_btrfs_is_btrfs(*real))
		return zh_error_set(err, EINVAL, "mount", "%s is not on a btrfs file system", dir);
	return 0;
}

/* Build the pool object and check everything about the source; no changes yet. */
static int create_check(const struct pool_create_opts *o, struct pool **out, struct zh_error *err)
{
	const char *name = o->name ? o->name : POOL_DEFAULT_NAME;
	_cleanup_free_ char *src = NULL;
	int r = check_name_free(name, err);

	if (r < 0)
		return r;
	if (o->backing == POOL_BACKING_FILE) {
		if (o->source ? !(src = strdup(o->source)) : !(src = paths_pool_image(name)))
			return zh_error_oom(err);
		r = check_file(o, src, o->size ? o->size : POOL_DEFAULT_SIZE, err);
	} else if (o->backing == POOL_BACKING_DEVICE) {
		if (!o->source || !(src = strdup(o->source)))
			return zh_error_set(err, EINVAL, "device", "no device given");
		r = check_device(src, err);
	} else {
		if (!o->source)
			return zh_error_set(err, EINVAL, "mount", "no directory given");
		r = check_mount_source(o->source, &src, err);
	}
	if (r < 0)
		return r;
	if (!(*out = pool_new(name, o->backing, src)))
		return zh_error_oom(err);
	return check_mountpoint(*out, err);
}

/* Make the sparse backing file; its canonical path becomes the source. */
static int make_file(struct create_tx *t, uint64_t size, struct zh_error *err)
{
	_cleanup_free_ char *dir = strdup(t->p->source);
	_cleanup_close_ int fd = -EBADF;
	char *slash = dir ? strrchr(dir, '/') : NULL, *real;
	char s[32];
	int r;

	if (!slash)
		return zh_error_oom(err);
	*slash = '\0';
	if ((r = mkdir_tracked(dir, &t->file_top, err)) < 0)
		return r;
	fd = open(t->p->source, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return zh_error_set(err, errno, "size", "cannot create %s: %m", t->p->source);
	t->file_made = true;
	fmt_size(size, s);
	if (ftruncate(fd, (off_t)size) < 0) {
		if (errno == EFBIG)
			return zh_error_set(err, EFBIG, "size",
					    "%s is too large for the file system holding %s", s,
					    t->p->source);
		return zh_error_set(err, errno, "size", "cannot make %s %s: %m", t->p->source, s);
	}
	if (!(real = realpath(t->p->source, NULL)))
		return zh_error_set(err, errno, NULL, "%s: %m", t->p->source);
	free(t->p->source);
	t->p->source = real;
	return 0;
}

static int format_and_mount(struct create_tx *t, struct zh_error *err)
{
	_cleanup_free_ char *dev = NULL;
	_cleanup_close_ int lfd = -EBADF;
	const char *target = t->p->source;
	int r;

	if (t->p->backing == POOL_BACKING_MOUNT) {
		r = mount_pool(t->p, err);
		t->mounted = r == 0 && !mount_in_place(t->p);
		return r;
	}
	if (t->p->backing == POOL_BACKING_FILE) {
		if ((lfd = pool_loop_attach(t->p->source, &dev, err)) < 0)
			return lfd;
		target = dev;
	}
	if ((r = pool_btrfs_mkfs(target, err)) < 0 ||
	    (r = mount_dev(target, t->p->mountpoint, err)) < 0)
		return r;
	t->mounted = true;
	return 0; /* lfd closes: from now on the mount owns the loop device */
}

static int create_steps(struct create_tx *t, uint64_t size, struct zh_error *err)
{
	_cleanup_free_ char *rec = paths_pool_records();
	int r;

	if (!rec)
		return zh_error_oom(err);
	if (t->p->backing == POOL_BACKING_FILE && (r = make_file(t, size, err)) < 0)
		return r;
	if (!mount_in_place(t->p) && (r = mkdir_tracked(t->p->mountpoint, &t->mp_top, err)) < 0)
		return r;
	if ((r = format_and_mount(t, err)) < 0 ||
	    (r = pool_btrfs_quota_enable(t->p->mountpoint, err)) < 0 ||
	    (r = mkdir_tracked(rec, &t->rec_top, err)) < 0)
		return r;
	return record_store(t->p, err);
}

int pool_create(const struct pool_create_opts *o, struct pool **out, struct zh_error *err)
{
	_cleanup_(tx_free) struct create_tx t = {0};
	_cleanup_close_ int lk = -EBADF;
	const char *name = o->name ? o->name : POOL_DEFAULT_NAME;
	int r;

	if (pool_name_valid(name) && (lk = pool_lock(name, err)) < 0)
		return lk;
	if ((r = create_check(o, &t.p, err)) < 0)
		return r;
	r = create_steps(&t, o->size ? o->size : POOL_DEFAULT_SIZE, err);
	if (r < 0) {
		undo(&t);
		/* An error naming an argument is already clear on its own. */
		return err && err->prop ? r
					: zh_error_prefix(err, "cannot create pool \"%s\"", name);
	}
	if (out)
		*out = TAKE_PTR(t.p);
	return 0;
}

/* ---- destroy ---- */

static int destroy_datasets(const struct pool *p, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *meta = NULL, *cfgs = NULL;
	int r = pool_dataset_list(p, &names, err);

	for (char **n = names; r >= 0 && *n; n++)
		r = pool_subvol_destroy(p, *n, err);
	if (r < 0)
		return r;
	if (!(meta = paths_image_records(p->mountpoint)) ||
	    !(cfgs = paths_vm_configs(p->mountpoint)))
		return zh_error_oom(err);
	if ((r = fsutil_rm_rf(meta, err)) < 0)
		return r;
	return fsutil_rm_rf(cfgs, err); /* the VMs' configs (vmstore.c) */
}

static int remove_backing(const struct pool *p, bool was_mounted, bool force, struct zh_error *err)
{
	int r;

	if (p->backing != POOL_BACKING_FILE)
		return 0;
	if (was_mounted && (r = pool_loop_wait_detached(p->source, err)) < 0) {
		if (!force)
			return r;
		zh_error_clear(err);
	}
	if (unlink(p->source) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", p->source);
	return 0;
}

int pool_destroy(struct pool *p, bool force, struct zh_error *err)
{
	_cleanup_free_ char *rec = paths_pool_record(p->name);
	_cleanup_close_ int lk = -EBADF;
	bool mounted;
	int r;

	if (!rec)
		return zh_error_oom(err);
	if ((lk = pool_lock(p->name, err)) < 0)
		return lk;
	mounted = pool_is_mounted(p);
	if (mounted && (r = pool_trash_empty(p, err)) < 0) {
		/* also waits for a detached emptier to let go of the mount */
		if (!force)
			return r;
		zh_error_clear(err);
	}
	/* Stages left by killed imports are not the pool's datasets: never left behind. */
	if (mounted && (r = pool_stage_sweep(p, err)) != 0) {
		if (r > 0)
			zh_error_set(err, EBUSY, NULL, "pool \"%s\" has %d image %s in progress",
				     p->name, r, r == 1 ? "import" : "imports");
		if (!force)
			return r > 0 ? -EBUSY : r;
		zh_error_clear(err);
	}
	/* A file-backed pool's datasets go with its file. */
	if (force && mounted && p->backing != POOL_BACKING_FILE &&
	    (r = destroy_datasets(p, err)) < 0)
		return r;
	if ((r = unmount_pool(p, force, err)) < 0 ||
	    (r = remove_backing(p, mounted, force, err)) < 0)
		return r;
	if (unlink(rec) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", rec);
	fsutil_fsync_parent(rec);
	if (!mount_in_place(p))
		rmdir(p->mountpoint);
	return 0;
}

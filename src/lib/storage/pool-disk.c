/*
 * pool-disk.c - an HVM disk: a raw file inside a dataset (docs/architecture.md §13, §17).
 *
 * Owns: the disk files it creates, resizes and removes, named relative to
 * a dataset's descriptor (pool_dataset_open), never through a path a
 * tenant could have replaced with a symlink.  Does not own the dataset,
 * nor which index a disk gets (vm-disk.c).
 *
 *     int ds = pool_dataset_open(p, uuid, &err);
 *     pool_disk_create(ds, "disk0", imgfd, 10240ULL << 20, &err);  reflink + grow
 *     pool_disk_create(ds, "disk1", -EBADF, 1024ULL << 20, &err);  sparse, empty
 *     pool_disk_resize(ds, "disk1", 2048ULL << 20, &err);
 *
 * A disk made from an image is a FICLONE reflink of the image's file: O(1)
 * whatever its size, sharing every extent until either side writes.  An
 * empty disk is a sparse file (ftruncate): it takes no space until the
 * guest writes.  ZFS's compression names map to btrfs's per-file
 * "btrfs.compression" property (pool_disk_compression); volblocksize has
 * no btrfs equivalent (its sector size is fixed at mkfs).
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "pool.h"
#include "util.h"

static int open_new(int dsfd, const char *name, struct zh_error *err)
{
	int fd = openat(dsfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return zh_error_set(err, errno, "disks", "cannot create disk %s: %m", name);
	return fd;
}

static int grow(int fd, const char *name, uint64_t size, struct zh_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return zh_error_set(err, errno, "disks", "disk %s: %m", name);
	if ((uint64_t)st.st_size >= size)
		return 0;
	if (ftruncate(fd, (off_t)size) < 0)
		return zh_error_set(err, errno, "disks", "cannot grow disk %s: %m", name);
	return 0;
}

int pool_disk_create(int dsfd, const char *name, int srcfd, uint64_t size, struct zh_error *err)
{
	_cleanup_close_ int fd = open_new(dsfd, name, err);
	int r = 0;

	if (fd < 0)
		return fd;
	if (srcfd >= 0 && ioctl(fd, FICLONE, srcfd) < 0)
		r = zh_error_set(err, errno, "disks", "cannot clone the image into disk %s: %m",
				 name);
	if (r == 0)
		r = grow(fd, name, size, err);
	if (r < 0)
		unlinkat(dsfd, name, 0);
	return r;
}

int pool_disk_size(int dsfd, const char *name, uint64_t *size, struct zh_error *err)
{
	struct stat st;

	if (fstatat(dsfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return zh_error_set(err, errno, "disks", "disk %s: %m", name);
	if (!S_ISREG(st.st_mode))
		return zh_error_set(err, EINVAL, "disks", "disk %s is not a regular file", name);
	*size = (uint64_t)st.st_size;
	return 0;
}

int pool_disk_resize(int dsfd, const char *name, uint64_t size, struct zh_error *err)
{
	_cleanup_close_ int fd = openat(dsfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return zh_error_set(err, errno, "disks", "cannot open disk %s: %m", name);
	if (ftruncate(fd, (off_t)size) < 0)
		return zh_error_set(err, errno, "disks", "cannot resize disk %s: %m", name);
	return 0;
}

/* ZFS's compression names (props.c's list) to btrfs's; NULL: none. */
static const char *btrfs_compression(const char *zfs)
{
	if (!zfs || streq(zfs, "off"))
		return NULL;
	if (strncmp(zfs, "gzip", 4) == 0)
		return "zlib";
	if (streq(zfs, "lz4") || streq(zfs, "lzjb") || streq(zfs, "zle"))
		return "lzo";
	return "zstd"; /* "on" and anything newer */
}

int pool_disk_compression(int dsfd, const char *name, const char *zfs, struct zh_error *err)
{
	_cleanup_close_ int fd = openat(dsfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	const char *v = btrfs_compression(zfs);
	int r;

	if (fd < 0)
		return zh_error_set(err, errno, "disks", "cannot open disk %s: %m", name);
	if (v)
		r = fsetxattr(fd, "btrfs.compression", v, strlen(v), 0);
	else
		r = fremovexattr(fd, "btrfs.compression");
	if (r < 0 && !(v == NULL && errno == ENODATA))
		return zh_error_set(err, errno, "disks.*.compression",
				    "cannot set compression %s on disk %s: %m", zfs, name);
	return 0;
}

int pool_disk_remove(int dsfd, const char *name, struct zh_error *err)
{
	if (unlinkat(dsfd, name, 0) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, "disks", "cannot remove disk %s: %m", name);
	return 0;
}

int pool_disk_rename(int dsfd, const char *from, const char *to, struct zh_error *err)
{
	if (renameat(dsfd, from, dsfd, to) < 0)
		return zh_error_set(err, errno, "disks", "cannot rename disk %s to %s: %m", from,
				    to);
	return 0;
}

int pool_disk_copy(int dsfd, const char *from, const char *to, struct zh_error *err)
{
	_cleanup_close_ int src = openat(dsfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (src < 0)
		return zh_error_set(err, errno, "disks", "cannot open disk %s: %m", from);
	return pool_disk_create(dsfd, to, src, 0, err);
}

/*
 * fsutil.c - durable writes and small helpers.  See fsutil.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int fsutil_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t fsutil_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int fsutil_fsync_parent(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dfd = -EBADF;

	if (!copy)
		return -ENOMEM;
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	return fsync(dfd) < 0 ? -errno : 0;
}

int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			struct zh_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return zh_error_oom(err);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", tmp);
	r = fsutil_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return zh_error_set(err, -r, NULL, "cannot write %s: %s", path, strerror(-r));
	}
	r = fsutil_fsync_parent(path);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot sync directory of %s: %s", path,
				    strerror(-r));
	return 0;
}

int fsutil_read_all(const char *path, size_t max, char **out, size_t *len, struct zh_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, used = 0;

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (cap > max + 1)
				return zh_error_set(err, EFBIG, NULL, "%s is larger than %zu bytes",
						    path, max);
			nb = realloc(buf, ncap);
			if (!nb)
				return zh_error_oom(err);
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return zh_error_set(err, errno, NULL, "cannot read %s: %m", path);
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max)
			return zh_error_set(err, EFBIG, NULL, "%s is larger than %zu bytes", path,
					    max);
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = TAKE_PTR(buf);
	return 0;
}

int fsutil_mkdir_p(const char *path, mode_t mode, struct zh_error *err)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return zh_error_oom(err);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return zh_error_set(err, errno, NULL, "cannot create %s: %m", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", p);
	return 0;
}

static int rm_at(int dfd, const char *name, dev_t dev);

static int rm_dir_contents(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int q = rm_at(dirfd(d), de->d_name, dev);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	return r;
}

static int rm_at(int dfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd, r;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = rm_dir_contents(fd, dev);
	if (r < 0)
		return r;
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

int fsutil_rm_rf(const char *path, struct zh_error *err)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", path);
	}
	r = rm_at(AT_FDCWD, path, st.st_dev);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot remove %s: %s", path, strerror(-r));
	return 0;
}

bool fsutil_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

bool fsutil_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fsutil_tree_private(int tree_fd, unsigned long long attr, bool recursive)
{
	struct mount_attr a = {.attr_set = attr, .propagation = MS_PRIVATE};

	if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a,
			  sizeof(a)) < 0)
		return -errno;
	return 0;
}

/*
 * lock.c - advisory locks held as flock(2) on files in the run directory.
 * See lock.h for lock order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>

#include "fsutil.h"
#include "lock.h"
#include "paths.h"

static int open_lock(const char *name, char **path, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(paths_run(), "locks");
	int r, fd;

	if (!dir || asprintf(path, "%s/%s.lock", dir, name) < 0)
		return zh_error_oom(err);
	r = fsutil_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	fd = open(*path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open lock %s: %m", *path);
	return fd;
}

int lock_try(const char *name, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = open_lock(name, &path, err);

	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0)
		if (errno != EINTR)
			return errno == EWOULDBLOCK
				       ? -EWOULDBLOCK
				       : zh_error_set(err, errno, NULL, "cannot lock %s: %m", path);
	return TAKE_FD(fd);
}

int lock_take_until(const char *name, const volatile sig_atomic_t *stop, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = open_lock(name, &path, err);

	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return zh_error_set(err, errno, NULL, "cannot lock %s: %m", path);
		if (stop && *stop)
			return zh_error_set(err, EINTR, NULL,
					    "interrupted while waiting for lock %s", name);
	}
	return TAKE_FD(fd);
}

int lock_take(const char *name, struct zh_error *err)
{
	return lock_take_until(name, NULL, err);
}

int lock_vm(const char *uuid, struct zh_error *err)
{
	return lock_take(uuid, err);
}

int lock_host(struct zh_error *err)
{
	return lock_take(LOCK_HOST, err);
}

/*
 * pool-trash.c - datasets destroyed after the command that dropped them.
 *
 * Owns: the ".trash-*" names at the top of a pool and the one process that
 * empties them.  Destroying a btrfs subvolume is not constant time: the
 * kernel prunes every cached dentry and inode of it before the ioctl
 * returns (tens of milliseconds for 100,000 cached files), holding the lock
 * of the directory the subvolume is in.  A rollback or an incremental
 * receive instead renames the replaced dataset into a directory of its own,
 * ".trash-<random>/<name>", so the destroy blocks nothing in the pool's top
 * directory (a read-only snapshot, which cannot change directory and whose
 * files are rarely cached, becomes ".trash-<random>" in place), and
 * returns; a detached child destroys the trash.
 *
 * Whoever empties the trash holds the lock "trash.<pool>" while it does:
 * a crash leaves names behind, and the next emptier (the next rollback's
 * child, `zonehost pool mount-all` at boot, `zonehost pool destroy`) takes
 * them too.  Names starting with '.' are never datasets to the rest of the
 * pool code, so trash is invisible to listings.
 */
#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"
#include "macro.h"
#include "pool-internal.h"
#include "pool.h"
#include "util.h"

#define TRASH_PREFIX ".trash-"

/*
 * Where name goes: a writable dataset (files in use, cached) into a
 * directory of its own, so its destroy blocks nothing else; a read-only
 * snapshot, rarely read and unable to change directory, renamed in place.
 */
static int trash_target(int fd, const char *name, char bin[static 64], char to[static PATH_MAX])
{
	bool ro = false;
	uint64_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -errno;
	if (btrfs_util_get_subvolume_read_only_fd(fd, &ro) != BTRFS_UTIL_OK)
		return -errno;
	snprintf(bin, 64, TRASH_PREFIX "%016llx", (unsigned long long)rnd);
	if (ro)
		snprintf(to, PATH_MAX, "%s", bin);
	else if (snprintf(to, PATH_MAX, "%s/%s", bin, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return ro ? 0 : 1;
}

int pool_trash(const struct pool *p, const char *name, struct zh_error *err)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char bin[64], to[PATH_MAX];
	int r, in_bin;

	if ((fd = pool_dataset_open(p, name, err)) == -ENOENT) {
		zh_error_clear(err);
		return 0;
	}
	if (fd < 0)
		return fd;
	if ((in_bin = trash_target(fd, name, bin, to)) < 0)
		return zh_error_set(err, -in_bin, NULL, "cannot drop dataset \"%s\": %s", name,
				    strerror(-in_bin));
	if ((dfd = pool_btrfs_top(p, err)) < 0)
		return dfd;
	if (in_bin && mkdirat(dfd, bin, 0700) < 0)
		return zh_error_set(err, errno, NULL, "cannot drop dataset \"%s\": %m", name);
	if (renameat2(dfd, name, dfd, to, RENAME_NOREPLACE) < 0) {
		r = errno;
		if (in_bin)
			unlinkat(dfd, bin, AT_REMOVEDIR);
		return zh_error_set(err, r, NULL, "cannot drop dataset \"%s\": %s", name,
				    strerror(r));
	}
	return 0;
}

static int trash_lock(const struct pool *p, struct zh_error *err)
{
	_cleanup_free_ char *name = NULL;

	if (asprintf(&name, "trash.%s", p->name) < 0)
		return zh_error_oom(err);
	return lock_take(name, err);
}

/* Destroy the subvolume entry name of directory dfd (verified, by id); 1 if left. */
static int destroy_entry(int top, int dfd, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0;

	if (pool_btrfs_subvol_at(dfd, name, &fd, &id) < 0)
		return 1;
	closep(&fd);
	return pool_btrfs_destroy(top, id) < 0;
}

/* Destroy what is in one bin (a directory, or a subvolume itself), then the bin. */
static int empty_bin(int dfd, const char *bin)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int fd, left = 0;
	struct stat st;

	if (fstatat(dfd, bin, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	if (S_ISDIR(st.st_mode) && st.st_ino == SUBVOL_ROOT_INO) /* a snapshot dropped in place */
		return destroy_entry(dfd, dfd, bin);
	fd = openat(dfd, bin, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			left += destroy_entry(dfd, dirfd(d), de->d_name);
	if (left == 0 && unlinkat(dfd, bin, AT_REMOVEDIR) < 0)
		left++;
	return left;
}

/*
 * Destroy every bin of the pool; the number left, or -errno.  Each dropped
 * dataset sits in a directory of its own, so the destroy (which holds the
 * directory's lock while it prunes the subvolume's cached files) never
 * blocks the pool's top directory: creates, snapshots and rollbacks go on.
 */
static int empty_locked(const char *mountpoint)
{
	_cleanup_(closedirp) DIR *d = opendir(mountpoint);
	struct dirent *de;
	int left = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)) == 0)
			left += empty_bin(dirfd(d), de->d_name);
	return left;
}

int pool_trash_empty(const struct pool *p, struct zh_error *err)
{
	_cleanup_close_ int lk = trash_lock(p, err);
	int r;

	if (lk < 0)
		return lk;
	r = empty_locked(p->mountpoint);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot empty the trash of pool %s: %s", p->name,
				    strerror(-r));
	if (r > 0)
		return zh_error_set(err, EBUSY, NULL, "pool %s: %d dropped datasets not destroyed",
				    p->name, r);
	return 0;
}

/* The detached grandchild: no inherited fd (locks, caller's pipes) survives. */
static _Noreturn void empty_detached(const struct pool *p)
{
	struct zh_error err = ZH_ERROR_INIT;
	int nullfd;

	setsid();
	nullfd = open("/dev/null", O_RDWR);
	if (nullfd >= 0) {
		dup2(nullfd, 0);
		dup2(nullfd, 1);
		dup2(nullfd, 2);
	}
	close_range(3, ~0U, 0);
	/* the pool may be gone already (pool destroy empties the trash itself):
	 * then there is nothing to do, and no lock file to leave behind */
	if (pool_is_mounted(p))
		pool_trash_empty(p, &err);
	_exit(0);
}

void pool_trash_empty_later(const struct pool *p)
{
	pid_t pid = fork();

	if (pid < 0) {
		struct zh_error err = ZH_ERROR_INIT;

		pool_trash_empty(p, &err); /* no child: do it now */
		zh_error_clear(&err);
		return;
	}
	if (pid == 0) {
		if (fork() == 0)
			empty_detached(p);
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void pool_drop(const struct pool *p, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (pool_trash(p, name, &err) == 0)
		pool_trash_empty_later(p);
	else
		pool_subvol_destroy(p, name, &err);
	zh_error_clear(&err);
}

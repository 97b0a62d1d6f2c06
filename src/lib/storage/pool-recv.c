/*
 * pool-recv.c - the place in a pool where `btrfs receive` writes.
 *
 * Owns: the subvolume ".recv-<tag>" at the pool's top (the inbox), all in
 * it, and the snapshot parked in it for an incremental receive.  A receive
 * writes only into the inbox (vm-send.c confines `btrfs receive` to it:
 * its own mount namespace, chroot and root at the inbox); what it made
 * leaves the inbox only through pool_recv_take(), which moves a verified
 * subvolume into the pool by file descriptor, mode 0700 like every VM
 * dataset (whatever mode the stream gave it).
 *
 *     struct pool_recv in = POOL_RECV_INIT;
 *     pool_recv_open(p, uuid, &in, &err);          fresh; a crash's leftovers go
 *     pool_recv_park(&in, "<uuid>@vmsnap-a", &err); incremental base, read-only
 *     ... btrfs receive -C -m in.path in.path ...
 *     pool_recv_check(&in, names, n, &err);        nothing but those subvolumes
 *     pool_recv_take(&in, "x", "y", true, &err);
 *     pool_recv_close(&in);                         base back, inbox destroyed
 *
 * Why a subvolume and a parked base: btrfs receive finds the parent of an
 * incremental stream and every clone source by uuid anywhere in the file
 * system, then opens it by its path from the receive's root subvolume.
 * With the inbox as that root, anything outside it is unreachable (btrfs
 * receive refuses it), so a stream cannot copy another dataset's data; the
 * base therefore has to be inside: it is moved in (an O(1) rename, kept
 * read-only so the stream cannot change it) and moved back on close.  A
 * crash leaves it in the inbox as ".base-<name>"; the next open of that
 * inbox puts it back.  The stream is hostile: it may leave symlinks, files
 * or renamed subvolumes in the inbox, so every entry is opened with
 * O_NOFOLLOW and checked (pool_btrfs_subvol_at()), the base is found again
 * by its subvolume id, and everything is destroyed by id.
 */
#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "macro.h"
#include "pool-internal.h"
#include "pool.h"

#define INBOX_PREFIX ".recv-"
#define BASE_PREFIX  ".base-"

static int set_ro(int fd, bool ro)
{
	return btrfs_util_set_subvolume_read_only_fd(fd, ro) == BTRFS_UTIL_OK
		       ? 0
		       : -(errno ? errno : EIO);
}

/* Move verified subvolume fd, entry from of dir src, to entry to of dir dst; ro after. */
static int move_subvol(int fd, int src, const char *from, int dst, const char *to, bool ro)
{
	int r = set_ro(fd, false); /* a read-only subvolume cannot change directory */

	if (r == 0 && renameat2(src, from, dst, to, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (ro)
		set_ro(fd, true);
	return r;
}

/* The entry of dir whose subvolume id is id (the stream may rename it), in name. */
static int find_by_id(int dir, uint64_t id, char name[256])
{
	_cleanup_close_ int dup = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	struct dirent *de;

	if (!d)
		return -errno;
	dup = -EBADF; /* the DIR owns it */
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -EBADF;
		uint64_t sid = 0;

		if (pool_btrfs_subvol_at(dir, de->d_name, &fd, &sid) == 0 && sid == id) {
			snprintf(name, 256, "%s", de->d_name);
			return 0;
		}
	}
	return -ENOENT;
}

/* Put the parked base back at its name in the pool's top. */
static int unpark(struct pool_recv *in)
{
	_cleanup_close_ int fd = -EBADF;
	char name[256];
	uint64_t id = 0;
	int r = find_by_id(in->fd, in->base_id, name);

	if (r < 0 || (r = pool_btrfs_subvol_at(in->fd, name, &fd, &id)) < 0)
		return r;
	if ((r = move_subvol(fd, in->fd, name, in->top, in->base, true)) < 0)
		return r;
	freep(&in->base);
	return 0;
}

/* A crash's ".base-<ds>" in inbox fd: back to <ds> when that name is free. */
static void restore_leftover(int top, int fd, const char *tag, const char *entry)
{
	const char *ds = entry + strlen(BASE_PREFIX);
	_cleanup_close_ int sfd = -EBADF;
	size_t tl = strlen(tag);

	if (strncmp(ds, tag, tl) != 0 || ds[tl] != '@' || strchr(ds, '/') ||
	    pool_btrfs_subvol_at(fd, entry, &sfd, NULL) < 0)
		return;
	move_subvol(sfd, fd, entry, top, ds, true);
}

static void restore_leftovers(int top, int fd, const char *tag)
{
	_cleanup_close_ int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	struct dirent *de;

	if (!d)
		return;
	dup = -EBADF;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, BASE_PREFIX, strlen(BASE_PREFIX)) == 0)
			restore_leftover(top, fd, tag, de->d_name);
}

/* An older zonehost's plain directory: its subvolumes (verified, by id), then the rest. */
static int clear_old_dir(int top, const char *name, const char *path, struct zh_error *err)
{
	int fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (fd >= 0 && !d)
		close(fd);
	while (d && (de = readdir(d))) {
		_cleanup_close_ int sfd = -EBADF;
		uint64_t id = 0;

		if (pool_btrfs_subvol_at(dirfd(d), de->d_name, &sfd, &id) == 0) {
			closep(&sfd);
			pool_btrfs_destroy(top, id);
		}
	}
	return fsutil_rm_rf(path, err);
}

/* Remove whatever a crash left at name (inbox subvolume, or an old plain directory). */
static int clear_leftover(const struct pool *p, int top, const char *name, const char *tag,
			  struct zh_error *err)
{
	_cleanup_free_ char *path = pool_dataset_path(p, name);
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0;
	struct stat st;
	int r;

	if (!path)
		return zh_error_oom(err);
	if (fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : zh_error_set(err, errno, NULL, "%s: %m", path);
	if (!S_ISDIR(st.st_mode) && unlinkat(top, name, 0) < 0)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (pool_btrfs_subvol_at(top, name, &fd, &id) < 0)
		return clear_old_dir(top, name, path, err);
	restore_leftovers(top, fd, tag);
	closep(&fd);
	if ((r = pool_btrfs_destroy(top, id)) < 0)
		return zh_error_set(err, -r, NULL, "cannot remove %s: %s", path, strerror(-r));
	return 0;
}

static int make_inbox(struct pool_recv *in, const char *name, struct zh_error *err)
{
	uint64_t id = 0;
	int r;

	errno = 0;
	if (btrfs_util_create_subvolume_fd(in->top, name, 0, NULL, NULL) != BTRFS_UTIL_OK)
		return zh_error_set(err, errno ? errno : EIO, NULL, "cannot create %s: %m",
				    in->path);
	if ((r = pool_btrfs_subvol_at(in->top, name, &in->fd, &id)) < 0)
		return zh_error_set(err, -r, NULL, "cannot open %s: %s", in->path, strerror(-r));
	in->id = id;
	if (fchmod(in->fd, 0700) < 0)
		return zh_error_set(err, errno, NULL, "cannot chmod %s: %m", in->path);
	return 0;
}

int pool_recv_open(const struct pool *p, const char *tag, struct pool_recv *in,
		   struct zh_error *err)
{
	_cleanup_free_ char *name = NULL;
	int r;

	*in = (struct pool_recv)POOL_RECV_INIT;
	if (!tag || !*tag || strchr(tag, '/') || strchr(tag, '@'))
		return zh_error_set(err, EINVAL, NULL, "invalid receive name \"%s\"",
				    tag ? tag : "");
	if (asprintf(&name, INBOX_PREFIX "%s", tag) < 0 || !(in->path = pool_dataset_path(p, name)))
		return zh_error_oom(err);
	if ((in->top = pool_btrfs_top(p, err)) < 0)
		return in->top;
	if ((r = clear_leftover(p, in->top, name, tag, err)) < 0)
		return r;
	return make_inbox(in, name, err);
}

int pool_recv_park(struct pool_recv *in, const char *ds, struct zh_error *err)
{
	_cleanup_free_ char *to = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r = pool_btrfs_subvol_at(in->top, ds, &fd, &in->base_id);

	if (r < 0)
		return zh_error_set(err, -r, NULL, "dataset \"%s\": %s", ds, strerror(-r));
	if (asprintf(&to, BASE_PREFIX "%s", ds) < 0 || !(in->base = strdup(ds)))
		return zh_error_oom(err);
	if ((r = move_subvol(fd, in->top, ds, in->fd, to, true)) < 0) {
		freep(&in->base);
		return zh_error_set(err, -r, NULL, "cannot move \"%s\" for the receive: %s", ds,
				    strerror(-r));
	}
	return 0;
}

static bool expected(const char *name, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(name, names[i]))
			return true;
	return false;
}

/* Entry name of the inbox: the parked base, or one of names as a subvolume. */
static int check_entry(const struct pool_recv *in, const char *name, char *const *names, size_t n,
		       struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0;
	int r = pool_btrfs_subvol_at(in->fd, name, &fd, &id);

	if (in->base && r == 0 && id == in->base_id &&
	    strncmp(name, BASE_PREFIX, strlen(BASE_PREFIX)) == 0 &&
	    streq(name + strlen(BASE_PREFIX), in->base))
		return 0;
	if (r == 0 && id != in->base_id && expected(name, names, n))
		return 0;
	return zh_error_set(err, EXDEV, NULL,
			    "refused stream: it writes outside the datasets it carries (\"%s\")",
			    name);
}

int pool_recv_check(const struct pool_recv *in, char *const *names, size_t n, struct zh_error *err)
{
	_cleanup_close_ int dup = openat(in->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	struct dirent *de;
	size_t seen = 0;
	int r;

	if (!d)
		return zh_error_set(err, errno, NULL, "cannot read %s: %m", in->path);
	dup = -EBADF;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((r = check_entry(in, de->d_name, names, n, err)) < 0)
			return r;
		seen += !in->base || strncmp(de->d_name, BASE_PREFIX, strlen(BASE_PREFIX)) != 0;
	}
	if (seen != n || (in->base && find_by_id(in->fd, in->base_id, (char[256]){0}) < 0))
		return zh_error_set(err, EINVAL, NULL,
				    "corrupt stream: a dataset was not received");
	return 0;
}

int pool_recv_take(struct pool_recv *in, const char *from, const char *to, bool ro,
		   struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF, dst = -EBADF;
	uint64_t id = 0, did = 0;
	int r = pool_btrfs_subvol_at(in->fd, from, &fd, &id);

	if (r == 0 && id == in->base_id)
		r = -EXDEV;
	if (r == 0 && (r = set_ro(fd, false)) == 0 && fchmod(fd, 0700) < 0)
		r = -errno; /* the tenant's data: root's alone on the host */
	if (r == 0)
		r = move_subvol(fd, in->fd, from, in->top, to, ro);
	if (r == 0 && (pool_btrfs_subvol_at(in->top, to, &dst, &did) < 0 || did != id))
		r = -EXDEV; /* not what was moved: cannot happen but by a race with root */
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot move %s into place: %s", to,
				    strerror(-r));
	return 0;
}

int pool_recv_clear(const struct pool *p, const char *tag, struct zh_error *err)
{
	_cleanup_close_ int top = pool_btrfs_top(p, err);
	_cleanup_free_ char *name = NULL;

	if (top < 0)
		return top;
	if (asprintf(&name, INBOX_PREFIX "%s", tag) < 0)
		return zh_error_oom(err);
	return clear_leftover(p, top, name, tag, err);
}

void pool_recv_recover(const struct pool *p)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_close_ int top = pool_btrfs_top(p, &err), dup = -EBADF;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	if (top >= 0 && (dup = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
	    (d = fdopendir(dup)))
		dup = -EBADF;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, INBOX_PREFIX, strlen(INBOX_PREFIX)) == 0)
			clear_leftover(p, top, de->d_name, de->d_name + strlen(INBOX_PREFIX), &err);
		zh_error_clear(&err);
	}
	zh_error_clear(&err);
}

void pool_recv_close(struct pool_recv *in)
{
	if (in->fd >= 0 && in->base && unpark(in) < 0)
		in->id = 0; /* keep the inbox: its next open puts the base back */
	closep(&in->fd);
	if (in->top >= 0 && in->id)
		pool_btrfs_destroy(in->top, in->id);
	closep(&in->top);
	freep(&in->path);
	freep(&in->base);
	in->id = in->base_id = 0;
}

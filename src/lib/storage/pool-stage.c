/*
 * pool-stage.c - staging areas: private subvolumes for data that is not a
 * dataset yet (the files of an image import while they download).
 *
 * Owns: the ".stage-<random>" subvolumes at the top of a pool.  Names that
 * start with '.' are never datasets to the rest of the pool code, so a
 * stage is invisible to listings.  Each stage has a qgroup limit of the
 * bytes its owner declared (plus room for btrfs's own metadata), and a
 * stage is made only when the pool has that much free beyond a reserve of
 * POOL_STAGE_RESERVE_PCT percent of its size: a download can never take
 * the space that tenants' datasets are writing into.
 *
 *     struct pool_stage st = POOL_STAGE_INIT;
 *     if (pool_stage_create(p, bytes, &st, &err) < 0) return ...;
 *     int fd = openat(st.fd, "file", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
 *     ...
 *     pool_stage_destroy(&st);
 *
 * Invariants: the owner holds an flock on the stage's directory (st.fd)
 * for as long as it lives; a stage that nobody holds was left by an owner
 * that was killed, and the next pool_stage_create() in that pool destroys
 * it.  Creation and that sweep run under the leaf lock "stage.<pool>", so
 * a sweep never takes a stage between its creation and its owner's flock.
 */
#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/statvfs.h>

#include "lock.h"
#include "pool-internal.h"
#include "pool.h"

#define STAGE_PREFIX ".stage-"

static int stage_lock(const struct pool *p, struct zh_error *err)
{
	_cleanup_free_ char *name = NULL;

	if (asprintf(&name, "stage.%s", p->name) < 0)
		return zh_error_oom(err);
	return lock_take(name, err);
}

/*
 * Destroy the stage dfd/name (a verified subvolume, by id) unless its owner
 * still holds it: 1 when held, else 0.
 */
static int sweep_one(int dfd, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t id = 0;

	if (pool_btrfs_subvol_at(dfd, name, &fd, &id) < 0)
		return 0; /* not a subvolume of ours: nothing a stage owner made */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 1;
	pool_btrfs_destroy(dfd, id);
	return 0;
}

static int sweep_stale(const char *mountpoint)
{
	_cleanup_(closedirp) DIR *d = opendir(mountpoint);
	struct dirent *de;
	int held = 0;

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0)
			held += sweep_one(dirfd(d), de->d_name);
	return held;
}

int pool_stage_sweep(const struct pool *p, struct zh_error *err)
{
	_cleanup_close_ int lk = -EBADF;

	if ((lk = stage_lock(p, err)) < 0)
		return lk;
	return sweep_stale(p->mountpoint);
}

/* The pool must keep the reserve free after size more bytes. */
static int check_space(const struct pool *p, uint64_t size, struct zh_error *err)
{
	struct statvfs sv;
	uint64_t total, avail, reserve;

	if (statvfs(p->mountpoint, &sv) < 0)
		return zh_error_set(err, errno, NULL, "cannot read the free space of %s: %m",
				    p->mountpoint);
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	reserve = total / 100 * POOL_STAGE_RESERVE_PCT;
	if (avail >= reserve && avail - reserve >= size)
		return 0;
	return zh_error_set(err, ENOSPC, NULL,
			    "pool \"%s\" has %llu MiB free: not enough for %llu MiB while keeping "
			    "%d%% of the pool (%llu MiB) free for its datasets",
			    p->name, (unsigned long long)(avail >> 20),
			    (unsigned long long)((size + (1u << 20) - 1) >> 20),
			    POOL_STAGE_RESERVE_PCT, (unsigned long long)(reserve >> 20));
}

/* Make the subvolume, hold it, limit it: under the stage lock. */
static int stage_make(const struct pool *p, uint64_t size, struct pool_stage *s,
		      struct zh_error *err)
{
	uint64_t rnd = 0, id = 0;
	int r;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return zh_error_set(err, errno, NULL, "getrandom: %m");
	if (asprintf(&s->path, "%s/" STAGE_PREFIX "%016llx", p->mountpoint,
		     (unsigned long long)rnd) < 0) {
		s->path = NULL;
		return zh_error_oom(err);
	}
	errno = 0;
	if (btrfs_util_create_subvolume(s->path, 0, NULL, NULL) != BTRFS_UTIL_OK)
		return zh_error_set(err, errno ? errno : EIO, NULL, "cannot create %s: %m",
				    s->path);
	s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->fd < 0 || flock(s->fd, LOCK_EX) < 0 ||
	    btrfs_util_subvolume_id_fd(s->fd, &id) != BTRFS_UTIL_OK)
		return zh_error_set(err, errno ? errno : EIO, NULL, "cannot open %s: %m", s->path);
	r = pool_btrfs_qgroup_limit(p->mountpoint, id, size + POOL_STAGE_SLACK(size), s->path, err);
	if (r == -ENOTCONN) { /* no quota accounting: the space check and the caller's cap remain */
		zh_error_clear(err);
		r = 0;
	}
	return r;
}

int pool_stage_create(const struct pool *p, uint64_t size, struct pool_stage *s,
		      struct zh_error *err)
{
	_cleanup_close_ int lk = -EBADF;
	int r;

	*s = (struct pool_stage)POOL_STAGE_INIT;
	if ((lk = stage_lock(p, err)) < 0)
		return lk;
	sweep_stale(p->mountpoint);
	if ((r = check_space(p, size, err)) < 0)
		return r;
	r = stage_make(p, size, s, err);
	if (r < 0)
		pool_stage_destroy(s);
	return r;
}

void pool_stage_destroy(struct pool_stage *s)
{
	uint64_t id = 0;

	/* held or not, it is ours: nobody else can have taken it; by id, no path followed */
	if (s->fd >= 0 && btrfs_util_subvolume_id_fd(s->fd, &id) == BTRFS_UTIL_OK)
		pool_btrfs_destroy(s->fd, id);
	else if (s->path)
		btrfs_util_delete_subvolume(s->path, BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE);
	closep(&s->fd);
	free(s->path);
	s->path = NULL;
}

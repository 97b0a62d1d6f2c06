/*
 * runstate.c - runtime state of a VM under <run>/<uuid>/.  See runstate.h.
 *
 * Design: the truth is an open-file-description lock (F_OFD_SETLK) on
 * zoneadmd.lock.  zoneadmd creates the directory and the lock file and
 * holds a write lock for its whole life (its sentinel shares the same open
 * file description, so the lock outlives zoneadmd until the sentinel has
 * cleaned up).  A reader opens the lock file and asks F_OFD_GETLK, which
 * never takes the lock: a conflicting lock means live.  state.json says what the live zoneadmd is
 * doing; exit.json what the last run ended with.
 *
 * Cost (vmadm list over 1,000 VMs): a VM that never ran costs one failed
 * open() (its run directory); a stopped VM that ran costs one failed
 * openat() (the lock file, unlinked by zoneadmd as it ends) and one read
 * of exit.json; a running one an open, an F_OFD_GETLK and a read of state.json.
 *
 * Lock file life: zoneadmd unlinks it while still holding the lock, as
 * the very last step.  runstate_lock() checks that the inode it locked is
 * still the one at the path (else retries), so a new zoneadmd never locks
 * a file that an old one has just unlinked.
 *
 *     int fd = runstate_lock(uuid, &err);      (zoneadmd: -EBUSY if running)
 *     runstate_write(uuid, "running", pid, ts, &err);
 *     ...
 *     runstate_write_exit(uuid, 0, NULL, &err);
 *     runstate_finish(uuid);                   (then close(fd))
 */
#include <fcntl.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "paths.h"
#include "runstate.h"
#include "util.h"

#define RS_JSON_MAX 65536u

char *runstate_dir(const char *uuid)
{
	return paths_vm_run(uuid);
}

char *runstate_path(const char *uuid, const char *name)
{
	return paths_vm_run_file(uuid, name);
}

/* Read a small JSON object at dfd/name; NULL when absent or unreadable. */
static json_t *load_at(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return NULL;
	return json_loadb(buf, (size_t)n, 0, NULL);
}

/*
 * Is the lock in dfd held by a zoneadmd?  false when absent or free.
 * F_OFD_GETLK only asks: it never takes the lock, so a reader cannot make
 * a starting zoneadmd believe another one runs.
 */
static bool lock_held(int dfd)
{
	_cleanup_close_ int fd = openat(dfd, PATHS_RUN_LOCK, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return false;
	return fl.l_type != F_UNLCK;
}

static int dup_str(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int read_live(int dfd, struct runstate *rs)
{
	_cleanup_json_ json_t *st = load_at(dfd, PATHS_RUN_STATE);

	rs->live = true;
	if (!st) /* zoneadmd is setting up */
		return dup_str(&rs->state, "ready");
	rs->pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	rs->zoneadmd_pid = (pid_t)json_integer_value(json_object_get(st, "zoneadmd_pid"));
	if (dup_str(&rs->state, jsonutil_str(st, "state") ?: "ready") < 0 ||
	    dup_str(&rs->boot_timestamp, jsonutil_str(st, "boot_timestamp")) < 0)
		return -ENOMEM;
	return 0;
}

int runstate_read(const char *uuid, struct runstate *rs)
{
	_cleanup_free_ char *dir = runstate_dir(uuid);
	_cleanup_close_ int dfd = -EBADF;
	const char *st = "stopped";

	*rs = (struct runstate){0};
	if (!dir)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && lock_held(dfd))
		return read_live(dfd, rs);
	if (dfd >= 0)
		rs->exit = load_at(dfd, PATHS_RUN_EXIT);
	if (rs->exit && !json_is_object(rs->exit))
		json_decref(TAKE_PTR(rs->exit));
	if (rs->exit && jsonutil_str(rs->exit, "failed"))
		st = "failed";
	return dup_str(&rs->state, st);
}

void runstate_clear(struct runstate *rs)
{
	freep(&rs->state);
	freep(&rs->boot_timestamp);
	json_decref(rs->exit);
	*rs = (struct runstate){0};
}

bool runstate_is_live(const char *uuid)
{
	struct runstate rs;
	bool live = runstate_read(uuid, &rs) == 0 && rs.live;

	runstate_clear(&rs);
	return live;
}

/* ---- zoneadmd side ---- */

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int lock_once(const char *path, struct zh_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return zh_error_set(err, EBUSY, NULL,
					    "zoneadmd already runs (%s is locked)", path);
		return zh_error_set(err, errno, NULL, "cannot lock %s: %m", path);
	}
	if (!same_file(fd, path))
		return -EAGAIN; /* unlinked under us by an ending zoneadmd */
	return TAKE_FD(fd);
}

int runstate_open_lock(const char *uuid)
{
	_cleanup_free_ char *path = runstate_path(uuid, PATHS_RUN_LOCK);
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int runstate_wait_released(int fd, int ms)
{
	const struct timespec tick = {0, 1000 * 1000};

	for (int waited = 0; waited <= ms; waited++) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

		if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
			return -errno;
		if (fl.l_type == F_UNLCK)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

int runstate_lock(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = runstate_dir(uuid);
	_cleanup_free_ char *path = runstate_path(uuid, PATHS_RUN_LOCK);
	int r;

	if (!dir || !path)
		return zh_error_oom(err);
	r = fsutil_mkdir_p(dir, 0700, err);
	if (r < 0)
		return r;
	for (int i = 0; i < 100; i++) {
		r = lock_once(path, err);
		if (r != -EAGAIN)
			return r;
	}
	return zh_error_set(err, EAGAIN, NULL, "cannot lock %s: keeps changing", path);
}

static int store(const char *uuid, const char *name, json_t *j, struct zh_error *err)
{
	_cleanup_free_ char *path = runstate_path(uuid, name);
	_cleanup_free_ char *s = NULL;

	if (!j || !path || !(s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		return zh_error_oom(err);
	return fsutil_write_atomic(path, s, strlen(s), 0644, err);
}

int runstate_write(const char *uuid, const char *state, pid_t pid, const char *boot_timestamp,
		   struct zh_error *err)
{
	_cleanup_json_ json_t *j = json_pack("{s:s,s:i,s:i}", "state", state, "pid", (int)pid,
					     "zoneadmd_pid", (int)getpid());

	if (j && boot_timestamp &&
	    json_object_set_new(j, "boot_timestamp", json_string(boot_timestamp)) < 0)
		return zh_error_oom(err);
	return store(uuid, PATHS_RUN_STATE, j, err);
}

int runstate_write_exit(const char *uuid, int exit_status, const char *failed, struct zh_error *err)
{
	char ts[UTIL_TIMESTAMP_LEN + 1];
	_cleanup_json_ json_t *j = NULL;

	util_timestamp_now(ts);
	/* < 0: an OCI container's process, reaped by the runtime's caller (§24.3). */
	j = exit_status < 0
		    ? json_pack("{s:n,s:s,s:s}", "exit_status", "reaped_by", "caller",
				"exit_timestamp", ts)
		    : json_pack("{s:i,s:s}", "exit_status", exit_status, "exit_timestamp", ts);
	if (j && failed && json_object_set_new(j, "failed", json_string(failed)) < 0)
		return zh_error_oom(err);
	return store(uuid, PATHS_RUN_EXIT, j, err);
}

static void unlink_in(const char *uuid, const char *name)
{
	_cleanup_free_ char *p = runstate_path(uuid, name);

	if (p)
		unlink(p);
}

static void rmdir_in(const char *uuid, const char *name)
{
	_cleanup_free_ char *p = runstate_path(uuid, name);

	if (p)
		rmdir(p);
}

void runstate_finish(const char *uuid)
{
	unlink_in(uuid, PATHS_RUN_STATE);
	unlink_in(uuid, PATHS_RUN_SOCK);
	unlink_in(uuid, PATHS_RUN_LOCK);
	unlink_in(uuid, PATHS_RUN_MDATA_SOCK);
	rmdir_in(uuid, PATHS_RUN_MDATA_DIR);
}

int runstate_remove(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = runstate_dir(uuid);

	if (!dir)
		return zh_error_oom(err);
	return fsutil_rm_rf(dir, err);
}

/*
 * cgroup-fs.c - the cgroup filesystem as both versions see it: where its
 * root is ($ZONEHOST_CGROUP_ROOT or /sys/fs/cgroup), which version it is,
 * the SmartOS-to-kernel value mapping, and the file, tree-walk, kill and
 * ownership helpers of cgroup-v1.c, cgroup-v2.c and cgroup-systemd.c.
 * See cgroup-internal.h.
 *
 * Writes never create files (an absent knob is ENOENT, never a new
 * regular file), and every failed write names the file, the value and the
 * property.  The choice of version is cached per process; cg_fs_reset()
 * forgets it (tests, through cgroup_reset()).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup-internal.h"
#include "util.h"

DEFINE_CLEANUP_FUNC(DIR, closedir)

static int cached_version;
static char *cached_root;

const char *cg_root(void)
{
	const char *e;

	if (cached_root)
		return cached_root;
	e = getenv("ZONEHOST_CGROUP_ROOT");
	cached_root = strdup(e && *e ? e : "/sys/fs/cgroup");
	return cached_root ? cached_root : "/sys/fs/cgroup";
}

bool cg_fake(void)
{
	const char *e = getenv("ZONEHOST_CGROUP_ROOT");

	return e && *e;
}

int cgroup_version(void)
{
	char buf[4096];

	if (cached_version)
		return cached_version;
	cached_version = 1;
	if (cg_read(cg_root(), "cgroup.controllers", buf, sizeof(buf)) > 0)
		cached_version = 2;
	return cached_version;
}

void cg_fs_reset(void)
{
	free(cached_root);
	cached_root = NULL;
	cached_version = 0;
}

/* ---- value mapping (docs/architecture.md §11.1) --------------------------- */

int64_t cg_cpu_quota_us(int64_t cpu_cap)
{
	if (cpu_cap <= 0)
		return -1;
	if (cpu_cap > INT64_MAX / (CG_CFS_PERIOD_US / 100))
		return INT64_MAX;
	return cpu_cap * (CG_CFS_PERIOD_US / 100);
}

int64_t cg_v1_shares(int64_t cpu_shares)
{
	int64_t s;

	if (cpu_shares < 0)
		return 1024;
	s = cpu_shares > INT64_MAX / 1024 ? INT64_MAX : cpu_shares * 1024 / 100;
	return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

int64_t cg_v2_weight(int64_t cpu_shares)
{
	if (cpu_shares < 0)
		return 100;
	return cpu_shares < 1 ? 1 : cpu_shares > 10000 ? 10000 : cpu_shares;
}

/* ---- file helpers ---------------------------------------------------- */

static int open_at_dir(const char *dir, const char *file, int flags)
{
	_cleanup_free_ char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return -ENOMEM;
	return open(p, flags | O_CLOEXEC | O_NOFOLLOW);
}

int cg_write(const char *dir, const char *file, const char *value, const char *prop,
	     struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(value);
	ssize_t n;

	fd = open_at_dir(dir, file, O_WRONLY | O_TRUNC);
	if (fd == -ENOMEM)
		return zh_error_oom(err);
	n = fd < 0 ? -1 : write(fd, value, len);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	if (prop)
		return zh_error_set(err, errno, prop, "cannot set %s: write %s to %s: %s", prop,
				    value, file, strerror(errno));
	return zh_error_set(err, errno, NULL, "write %s to %s/%s: %s", value, dir, file,
			    strerror(errno));
}

int cg_write_i64(const char *dir, const char *file, int64_t value, const char *prop,
		 struct zh_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, value);
	return cg_write(dir, file, buf, prop, err);
}

int cg_read(const char *dir, const char *file, char *buf, size_t size)
{
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	fd = open_at_dir(dir, file, O_RDONLY);
	if (fd < 0)
		return fd == -ENOMEM ? -ENOMEM : -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

bool cg_has(const char *dir, const char *file)
{
	_cleanup_free_ char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return false;
	return access(p, F_OK) == 0;
}

int cg_mkdir(const char *path, struct zh_error *err)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return zh_error_set(err, errno, NULL, "cannot create cgroup %s: %s", path, strerror(errno));
}

void cg_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- tree walks ------------------------------------------------------ */

static char *child_path(const char *dir, const struct dirent *de)
{
	char *p = NULL;

	if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
		return NULL;
	if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
		return NULL;
	return p;
}

int cg_walk(const char *path, int (*fn)(const char *dir, void *u), void *u)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r;

	r = fn(path, u);
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *c = child_path(path, de);

		if (c && (r = cg_walk(c, fn, u)) < 0)
			return r;
	}
	return 0;
}

/* Unlink the regular files of a fake cgroup that has no subdirectories. */
static void fake_unlink_files(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, ".."))
			return;
	rewinddir(d);
	while ((de = readdir(d)))
		if (de->d_type == DT_REG)
			unlinkat(dirfd(d), de->d_name, 0);
}

int cg_rmdir_one(const char *path)
{
	if (cg_fake())
		fake_unlink_files(path);
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cg_rmdir_children(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *de;
	int r = 0, q;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *c = child_path(path, de);

		if (c && (q = cg_rmdir_tree(c)) < 0 && r == 0)
			r = q;
	}
	return r;
}

int cg_rmdir_tree(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *de;
	int r = 0, q;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *c = child_path(path, de);

		if (c && (q = cg_rmdir_tree(c)) < 0)
			r = q;
	}
	q = cg_rmdir_one(path);
	return q < 0 ? q : r;
}

static int read_procs(const char *dir, int (*fn)(pid_t pid, void *u), void *u)
{
	_cleanup_close_ int fd = open_at_dir(dir, "cgroup.procs", O_RDONLY);
	_cleanup_fclose_ FILE *f = NULL;
	char line[32];
	int n = 0;

	if (fd < 0)
		return fd == -ENOMEM ? -ENOMEM : (errno == ENOENT ? 0 : -errno);
	f = fdopen(fd, "r");
	if (!f)
		return -errno;
	fd = -EBADF;
	while (fgets(line, sizeof(line), f)) {
		int64_t pid;

		line[strcspn(line, "\n")] = '\0';
		if (util_parse_i64(line, &pid) == 0 && pid > 0 && pid <= INT32_MAX) {
			fn((pid_t)pid, u);
			n++;
		}
	}
	return n;
}

static int count_one(pid_t pid, void *u)
{
	return 0;
}

static int count_dir(const char *dir, void *u)
{
	int n = read_procs(dir, count_one, NULL);

	if (n > 0)
		*(int *)u += n;
	return 0;
}

int cg_count_tree(const char *path)
{
	int n = 0;

	cg_walk(path, count_dir, &n);
	return n;
}

struct pid_vec {
	pid_t *v;
	size_t n, cap;
	int err;
};

static int add_pid(pid_t pid, void *u)
{
	struct pid_vec *pv = u;
	pid_t *nv;

	if (pv->n == pv->cap) {
		pv->cap = pv->cap ? pv->cap * 2 : 64;
		nv = realloc(pv->v, pv->cap * sizeof(pid_t));
		if (!nv) {
			pv->err = -ENOMEM;
			return -ENOMEM;
		}
		pv->v = nv;
	}
	pv->v[pv->n++] = pid;
	return 0;
}

static int pids_dir(const char *dir, void *u)
{
	struct pid_vec *pv = u;
	int r = read_procs(dir, add_pid, u);

	/* A sub-cgroup removed during the walk is no error. */
	if (r < 0 && r != -ENOENT && r != -ENODEV)
		pv->err = r;
	return pv->err;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int cg_pids_tree(const char *path, pid_t **out, size_t *n)
{
	struct pid_vec pv = {0};
	size_t k = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = cg_walk(path, pids_dir, &pv);
	if (r < 0 || pv.err < 0) {
		free(pv.v);
		return r < 0 ? r : pv.err;
	}
	if (pv.n)
		qsort(pv.v, pv.n, sizeof(pid_t), cmp_pid);
	for (size_t i = 0; i < pv.n; i++)
		if (k == 0 || pv.v[k - 1] != pv.v[i])
			pv.v[k++] = pv.v[i];
	if (k == 0) {
		free(pv.v);
		return 0;
	}
	*out = pv.v;
	*n = k;
	return 0;
}

static int kill_one(pid_t pid, void *u)
{
	if (kill(pid, SIGKILL) == 0)
		(*(int *)u)++;
	return 0;
}

static int kill_dir(const char *dir, void *u)
{
	read_procs(dir, kill_one, u);
	return 0;
}

int cg_kill_tree(const char *path)
{
	int n = 0;

	cg_walk(path, kill_dir, &n);
	return n;
}

int cg_kill_until_empty(const char *path, struct zh_error *err)
{
	for (int waited = 0; cg_count_tree(path) > 0; waited += 10) {
		if (waited >= CG_EMPTY_WAIT_MS)
			return zh_error_set(err, EBUSY, NULL,
					    "processes remain in cgroup %s after SIGKILL", path);
		cg_kill_tree(path);
		cg_sleep_ms(10);
	}
	return 0;
}

int cg_wait_empty(const char *path, int ms)
{
	for (int waited = 0;; waited += 5) {
		if (cg_count_tree(path) == 0)
			return 0;
		if (waited >= ms)
			return -EBUSY;
		cg_sleep_ms(5);
	}
}

/* ---- ownership of a delegated cgroup (v1 and v2 alike) ---- */

static int chown_files(const char *dir, const char *const *files, uid_t uid, gid_t gid,
		       struct zh_error *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fchown(fd, uid, gid) < 0)
		return zh_error_set(err, errno, NULL, "cannot chown %s: %s", dir, strerror(errno));
	for (; *files; files++)
		if (fchownat(fd, *files, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
			return zh_error_set(err, errno, NULL, "cannot chown %s/%s: %s", dir, *files,
					    strerror(errno));
	return 0;
}

int cg_chown_dir(const char *dir, bool v2, uid_t uid, gid_t gid, struct zh_error *err)
{
	static const char *const f1[] = {"cgroup.procs", "tasks", "cgroup.clone_children",
					 "notify_on_release", NULL};
	static const char *const f2[] = {"cgroup.procs", "cgroup.subtree_control", "cgroup.threads",
					 NULL};

	return chown_files(dir, v2 ? f2 : f1, uid, gid, err);
}

/*
 * cgroup.c - the resource-control interface: picks cgroup v1 or v2 once
 * (cgroup-fs.c) and dispatches to that version's ops table (cgroup-v1.c,
 * cgroup-v2.c).  The file helpers both share are in cgroup-fs.c, which
 * uses neither version, so there is no cycle between them.
 *
 * Owns: nothing on disk itself; the versions own "<hierarchy>/zonehost/<uuid>"
 * and the shared "zonehost" parent.  Does not own the caller's cgroup and
 * never creates anything relative to it.
 *
 *     struct cgroup_limits l;
 *     cgroup_limits_from_vm(vm, &l);
 *     cgroup_create(uuid, &err);  cgroup_apply(uuid, &l, &err);
 *     cgroup_attach(uuid, pid, &err);
 *     ...  cgroup_kill_all(uuid, &err);  cgroup_destroy(uuid, &err);
 *
 * Version choice: v2 when the root (/sys/fs/cgroup or $ZONEHOST_CGROUP_ROOT)
 * holds a non-empty cgroup.controllers, i.e. a unified hierarchy with
 * controllers; otherwise v1 (a hybrid host's /sys/fs/cgroup/unified with no
 * controllers is still v1).  The choice and the v1 mount table are cached
 * per process; cgroup_reset() forgets them (tests).
 *
 * Invariants: every uuid is checked to be uuid-shaped before it becomes a
 * path component, so no argument can climb out of "zonehost/".  Writes
 * never create files (an absent knob is ENOENT, never a new regular file),
 * and every failed write names the file, the value and the property.
 * Not thread-safe (zoneadmd and the commands are single-threaded).
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

void cgroup_reset(void)
{
	cgroup_v1_ops.reset();
	cgroup_v2_ops.reset();
	cg_systemd_reset();
	cg_fs_reset();
}

static const struct cgroup_ops *ops(void)
{
	return cgroup_version() == 2 ? &cgroup_v2_ops : &cgroup_v1_ops;
}

static int check_uuid(const char *uuid, struct zh_error *err)
{
	if (!uuid || !util_is_uuid_shape(uuid) || strchr(uuid, '/') || strchr(uuid, '.'))
		return zh_error_set(err, EINVAL, "uuid", "invalid zone uuid \"%s\" for a cgroup",
				    uuid ? uuid : "(null)");
	return 0;
}

/* ---- the interface -------------------------------------------------- */

static int64_t prop_i64(const json_t *vm, const char *key, int64_t def)
{
	const json_t *v = vm ? json_object_get(vm, key) : NULL;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

void cgroup_limits_from_vm(const json_t *vm, struct cgroup_limits *l)
{
	l->cpu_cap = prop_i64(vm, "cpu_cap", 0);
	l->cpu_shares = prop_i64(vm, "cpu_shares", -1);
	l->max_physical_memory = prop_i64(vm, "max_physical_memory", 0);
	l->max_swap = prop_i64(vm, "max_swap", 0);
	l->max_lwps = prop_i64(vm, "max_lwps", 0);
	l->zfs_io_priority = prop_i64(vm, "zfs_io_priority", -1);
}

int cgroup_create(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->create(uuid, err);
}

int cgroup_apply(const char *uuid, const struct cgroup_limits *l, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->apply(uuid, l, err);
}

int cgroup_attach(const char *uuid, pid_t pid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	if (r == 0 && pid <= 0)
		r = zh_error_set(err, EINVAL, NULL, "invalid pid %d", (int)pid);
	return r < 0 ? r : ops()->attach(uuid, pid, err);
}

int cgroup_open_fd(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->open_fd(uuid, err);
}

int cgroup_join_open(const char *uuid, struct cgroup_join *j, struct zh_error *err)
{
	int r;

	j->n = 0;
	j->clone_fd = -EBADF;
	if ((r = check_uuid(uuid, err)) < 0 || (r = ops()->join_open(uuid, j, err)) < 0)
		cgroup_join_close(j);
	return r;
}

int cgroup_join_self(const struct cgroup_join *j)
{
	for (int i = 0; i < j->n; i++)
		if (write(j->fds[i], "0", 1) != 1)
			return -errno;
	return 0;
}

void cgroup_join_close(struct cgroup_join *j)
{
	for (int i = 0; i < j->n; i++)
		closep(&j->fds[i]);
	j->n = 0;
	closep(&j->clone_fd);
}

int cgroup_count_procs(const char *uuid)
{
	if (check_uuid(uuid, NULL) < 0)
		return 0;
	return ops()->count_procs(uuid);
}

int cgroup_kill_all(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->kill_all(uuid, err);
}

int cgroup_destroy(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->destroy(uuid, err);
}

char **cgroup_paths(const char *uuid)
{
	if (check_uuid(uuid, NULL) < 0)
		return NULL;
	return ops()->paths(uuid);
}

int cgroup_open_zlogin_fd(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->open_leaf_fd(uuid, CGROUP_ZLOGIN, err);
}

int cgroup_open_mdata_fd(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->open_leaf_fd(uuid, CGROUP_MDATA, err);
}

int cgroup_reset_zone(const char *uuid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->reset_zone(uuid, err);
}

int cgroup_chown(const char *uuid, uid_t uid, gid_t gid, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->chown(uuid, uid, gid, err);
}

/* ---- pause, processes, usage (docs/architecture.md §11.5) ------------- */

int cgroup_freeze(const char *uuid, bool frozen, struct zh_error *err)
{
	int r = check_uuid(uuid, err);

	return r < 0 ? r : ops()->freeze(uuid, frozen, err);
}

int cgroup_frozen(const char *uuid)
{
	if (check_uuid(uuid, NULL) < 0)
		return -EINVAL;
	return ops()->frozen(uuid);
}

int cgroup_pids(const char *uuid, pid_t **out, size_t *n, struct zh_error *err)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = check_uuid(uuid, err)) < 0)
		return r;
	if (!(dir = ops()->procs_dir(uuid)))
		return zh_error_set(err, ENOENT, NULL, "no cgroup hierarchy lists processes");
	if (access(dir, F_OK) < 0)
		return zh_error_set(err, errno, NULL, "cannot read cgroup %s: %s", dir,
				    strerror(errno));
	r = cg_pids_tree(dir, out, n);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot read the processes of cgroup %s: %s",
				    dir, strerror(-r));
	return 0;
}

int cgroup_stats(const char *uuid, json_t **out, struct zh_error *err)
{
	int r;

	*out = NULL;
	if ((r = check_uuid(uuid, err)) < 0)
		return r;
	return ops()->stats(uuid, out, err);
}

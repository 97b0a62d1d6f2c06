/*
 * cgroup-v2.c - zone cgroups on a unified (cgroup v2) host:
 * "<root>/zonehost/<uuid>", root = /sys/fs/cgroup or $ZONEHOST_CGROUP_ROOT.
 *
 * Owns: those directories and the shared "<root>/zonehost" parent, in which
 * it enables the cpu, memory, pids and io controllers (and in the root's
 * cgroup.subtree_control, so zonehost's parent gets them).  Controllers the
 * root does not offer are left out; their knobs are then absent and the
 * limits needing them fail with the file named (io.weight is skipped).
 *
 *     fd = cgroup_v2_ops.open_fd(uuid, &err);   (for CLONE_INTO_CGROUP)
 *
 * Files written: cgroup.subtree_control (root and parent), cpu.max
 * ("<quota> 100000" or "max 100000"), cpu.weight, memory.max,
 * memory.swap.max (= max_swap - max_physical_memory, when present),
 * pids.max, io.weight ("default N") or io.bfq.weight when present,
 * cgroup.procs, cgroup.kill or cgroup.freeze.  Read for pause and stats:
 * cgroup.events, cpu.stat, memory.current/max/peak/events/stat,
 * memory.swap.current/max/peak, pids.current/max.
 *
 * Under systemd (cgroup-systemd.c) the zone's cgroup is "<scope>/zone" in
 * its delegated scope instead, controllers are enabled in the scope only,
 * and the root and the slice are never written.  Without systemd the
 * layout above stays.  Either way, a zone's cgroup may become an inner
 * node (a systemd zone enables controllers in it and moves itself to
 * init.scope): zlogin joins the root-owned "zlogin" leaf below it, and a
 * reboot makes the zone's cgroup anew (sub-cgroups and controllers of the
 * last boot gone).
 *
 * kill_all: cgroup.kill (recursive, kills frozen tasks too) when the kernel
 * has it; else freeze, SIGKILL each pid of the tree, unfreeze.  Then wait
 * (bounded) until the tree is empty, and thaw a paused zone.
 *
 * freeze: cgroup.freeze 1, then poll cgroup.events until "frozen 1"
 * (CG_FREEZE_WAIT_MS); on timeout write 0 again and fail.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

static const char *const wanted[] = {"cpu", "memory", "pids", "io"};

static void v2_reset(void)
{
}

/* The zone's cgroup: "<scope>/zone" under systemd, else "<root>/zonehost/<uuid>". */
static char *zone_dir(const char *uuid)
{
	_cleanup_free_ char *scope = NULL;
	char *p = NULL;

	if (cgroup_systemd()) {
		if (!(scope = cg_scope_dir(uuid)) || asprintf(&p, "%s/" CGROUP_ZONE, scope) < 0)
			return NULL;
		return p;
	}
	if (asprintf(&p, "%s/" CGROUP_PARENT "/%s", cg_root(), uuid) < 0)
		return NULL;
	return p;
}

/* Its parent: the zone's delegated scope, or zonehost's shared "<root>/zonehost". */
static char *parent_dir(const char *uuid)
{
	char *p = NULL;

	if (cgroup_systemd())
		return cg_scope_dir(uuid);
	if (asprintf(&p, "%s/" CGROUP_PARENT, cg_root()) < 0)
		return NULL;
	return p;
}

/* "+cpu +memory ..." for those of wanted[] that dir offers. */
static void enable_list(const char *dir, char *out, size_t size)
{
	char avail[4096];
	_cleanup_strv_ char **v = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (cg_read(dir, "cgroup.controllers", avail, sizeof(avail)) <= 0)
		return;
	v = util_split(avail, ' ');
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++)
		for (char **p = v; p && *p; p++)
			if (streq(*p, wanted[i]) && len + 16 < size)
				len += (size_t)snprintf(out + len, size - len, "%s+%s",
							len ? " " : "", wanted[i]);
}

static int enable_controllers(const char *dir, struct zh_error *err)
{
	char list[128];

	enable_list(dir, list, sizeof(list));
	if (!list[0])
		return 0;
	return cg_write(dir, "cgroup.subtree_control", list, NULL, err);
}

static int v2_destroy(const char *uuid, struct zh_error *err);

static int make_dirs(const char *parent, const char *dir, struct zh_error *err)
{
	int r;

	/* ENOENT: a concurrent destroy removed the parent in between. */
	for (int tries = 0;; tries++) {
		r = cg_mkdir(parent, err);
		if (r == 0)
			r = enable_controllers(parent, err);
		if (r < 0)
			return r;
		if (mkdir(dir, 0755) == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT || tries == 9)
			return zh_error_set(err, errno, NULL, "cannot create cgroup %s: %s", dir,
					    strerror(errno));
	}
}

/*
 * Under systemd the scope is delegated to us: controllers are enabled in
 * it (it holds no process: zoneadmd sits in its supervisor leaf), never in
 * the root or anything systemd owns.
 */
static int create_in_scope(const char *parent, const char *dir, struct zh_error *err)
{
	int r;

	if (access(parent, F_OK) < 0)
		return zh_error_set(err, errno, NULL,
				    "cannot create cgroup %s: %s (zoneadmd is not in its systemd "
				    "scope)",
				    dir, strerror(errno));
	r = enable_controllers(parent, err);
	if (r == 0)
		r = cg_mkdir(dir, err);
	return r;
}

static int v2_create(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *parent = parent_dir(uuid);
	_cleanup_free_ char *dir = zone_dir(uuid);
	int r;

	if (!parent || !dir)
		return zh_error_oom(err);
	if (cgroup_systemd())
		r = create_in_scope(parent, dir, err);
	else if ((r = enable_controllers(cg_root(), err)) == 0)
		r = make_dirs(parent, dir, err);
	if (r < 0)
		v2_destroy(uuid, NULL);
	return r;
}

/* ---- limits -------------------------------------------------------- */

static int write_max(const char *dir, const char *file, int64_t v, const char *prop,
		     struct zh_error *err)
{
	if (v < 0)
		return cg_write(dir, file, "max", prop, err);
	return cg_write_i64(dir, file, v, prop, err);
}

static int apply_cpu(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int64_t q = cg_cpu_quota_us(l->cpu_cap);
	char v[64];
	int r;

	if (q < 0)
		snprintf(v, sizeof(v), "max %d", CG_CFS_PERIOD_US);
	else
		snprintf(v, sizeof(v), "%" PRId64 " %d", q, CG_CFS_PERIOD_US);
	r = cg_write(dir, "cpu.max", v, "cpu_cap", err);
	if (r == 0)
		r = cg_write_i64(dir, "cpu.weight", cg_v2_weight(l->cpu_shares), "cpu_shares", err);
	return r;
}

static int apply_memory(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int64_t mem = l->max_physical_memory > 0 ? l->max_physical_memory : -1;
	int64_t sw = -1;
	int r;

	if (mem > INT64_MAX >> 20)
		mem = -1;
	r = write_max(dir, "memory.max", mem < 0 ? -1 : mem << 20, "max_physical_memory", err);
	if (r < 0 || !cg_has(dir, "memory.swap.max"))
		return r;
	if (l->max_swap > 0 && mem > 0 && l->max_swap <= INT64_MAX >> 20)
		sw = l->max_swap > mem ? (l->max_swap - mem) << 20 : 0;
	return write_max(dir, "memory.swap.max", sw, "max_swap", err);
}

static int apply_io(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int64_t p = l->zfs_io_priority < 0 ? 100 : l->zfs_io_priority;
	char v[64];

	if (cg_has(dir, "io.weight")) {
		p = p < 1 ? 1 : p > 10000 ? 10000 : p;
		snprintf(v, sizeof(v), "default %" PRId64, p);
		return cg_write(dir, "io.weight", v, "zfs_io_priority", err);
	}
	if (cg_has(dir, "io.bfq.weight")) {
		p = p < 1 ? 1 : p > 1000 ? 1000 : p;
		return cg_write_i64(dir, "io.bfq.weight", p, "zfs_io_priority", err);
	}
	return 0;
}

static int v2_apply(const char *uuid, const struct cgroup_limits *l, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	int r;

	if (!dir)
		return zh_error_oom(err);
	r = apply_cpu(dir, l, err);
	if (r == 0)
		r = apply_memory(dir, l, err);
	if (r == 0)
		r = write_max(dir, "pids.max", l->max_lwps > 0 ? l->max_lwps : -1, "max_lwps", err);
	if (r == 0)
		r = apply_io(dir, l, err);
	return r;
}

/* ---- processes ----------------------------------------------------- */

static int v2_attach(const char *uuid, pid_t pid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	char v[16];

	if (!dir)
		return zh_error_oom(err);
	snprintf(v, sizeof(v), "%d", (int)pid);
	if (cg_write(dir, "cgroup.procs", v, NULL, err) < 0)
		return zh_error_prefix(err, "cannot attach pid %s", v);
	return 0;
}

static int v2_open_fd(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	int fd;

	if (!dir)
		return zh_error_oom(err);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open cgroup %s: %s", dir,
				    strerror(errno));
	return fd;
}

static int v2_join_open(const char *uuid, struct cgroup_join *j, struct zh_error *err)
{
	int fd = v2_open_fd(uuid, err);

	if (fd < 0)
		return fd;
	j->clone_fd = fd;
	return 0;
}

static int v2_count_procs(const char *uuid)
{
	_cleanup_free_ char *dir = zone_dir(uuid);

	return dir ? cg_count_tree(dir) : 0;
}

static void freeze_and_kill(const char *dir)
{
	char ev[4096];

	if (cg_write(dir, "cgroup.freeze", "1", NULL, NULL) == 0)
		for (int i = 0; i < 200; i++) {
			if (cg_read(dir, "cgroup.events", ev, sizeof(ev)) <= 0 ||
			    strstr(ev, "frozen 1"))
				break;
			cg_sleep_ms(5);
		}
	cg_kill_tree(dir);
	cg_write(dir, "cgroup.freeze", "0", NULL, NULL);
}

/* A paused zone that is killed ends up thawed (cgroup.kill leaves cgroup.freeze as it was). */
static void thaw_if_frozen(const char *dir)
{
	char v[16];

	if (cg_read(dir, "cgroup.freeze", v, sizeof(v)) > 0 && streq(v, "1"))
		cg_write(dir, "cgroup.freeze", "0", NULL, NULL);
}

static int v2_kill_all(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	int r;

	if (!dir)
		return zh_error_oom(err);
	if (access(dir, F_OK) < 0)
		return 0;
	if (cg_count_tree(dir) == 0) {
		thaw_if_frozen(dir);
		return 0; /* nothing to kill */
	}
	if (!cg_has(dir, "cgroup.kill") || cg_write(dir, "cgroup.kill", "1", NULL, NULL) < 0)
		freeze_and_kill(dir);
	r = cg_kill_until_empty(dir, err);
	thaw_if_frozen(dir);
	return r;
}

/* ---- pause and usage (docs/architecture.md §11.5) ------------------- */

/* 1 when cgroup.events says "frozen 1", 0 when not, -errno when unreadable. */
static int events_frozen(const char *dir)
{
	char ev[4096];
	int r = cg_read(dir, "cgroup.events", ev, sizeof(ev));

	if (r < 0)
		return r;
	return strstr(ev, "frozen 1") != NULL;
}

static int v2_freeze(const char *uuid, bool frozen, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	int r;

	if (!dir)
		return zh_error_oom(err);
	r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", NULL, err);
	if (r < 0 || !frozen)
		return r;
	for (int waited = 0; waited < CG_FREEZE_WAIT_MS; waited += 5) {
		if (events_frozen(dir) == 1)
			return 0;
		cg_sleep_ms(5);
	}
	cg_write(dir, "cgroup.freeze", "0", NULL, NULL);
	return zh_error_set(err, ETIMEDOUT, NULL,
			    "%s/cgroup.events: not \"frozen 1\" %d ms after writing 1 to "
			    "cgroup.freeze (thawed again)",
			    dir, CG_FREEZE_WAIT_MS);
}

static int v2_frozen(const char *uuid)
{
	_cleanup_free_ char *dir = zone_dir(uuid);

	return dir ? events_frozen(dir) : -ENOMEM;
}

static int v2_stats(const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);

	return dir ? cg_stats_v2(dir, out, err) : zh_error_oom(err);
}

/* ---- removal and inspection ---------------------------------------- */

static int v2_destroy(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	_cleanup_free_ char *parent = parent_dir(uuid);
	int r;

	if (!dir || !parent)
		return zh_error_oom(err);
	cg_wait_empty(dir, 1000);
	r = cg_rmdir_tree(dir);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot remove cgroup %s: %s", dir,
				    strerror(-r));
	/* EBUSY/ENOTEMPTY: another zone still uses the parent.  A scope is systemd's to remove. */
	if (!cgroup_systemd())
		cg_rmdir_one(parent);
	return 0;
}

/* ---- zlogin and reboot ---------------------------------------------- */

static int v2_open_leaf_fd(const char *uuid, const char *name, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	_cleanup_free_ char *leaf = NULL;
	int fd;

	if (!dir || asprintf(&leaf, "%s/%s", dir, name) < 0)
		return zh_error_oom(err);
	if (access(dir, F_OK) < 0)
		return zh_error_set(err, errno, NULL, "cannot open cgroup %s: %s", dir,
				    strerror(errno));
	if (cg_mkdir(leaf, err) < 0)
		return -err->errnum;
	fd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open cgroup %s: %s", leaf,
				    strerror(errno));
	return fd;
}

static int v2_kill_all(const char *uuid, struct zh_error *err);

/*
 * A reboot: the zone's cgroup is made anew, empty, a leaf, with no
 * controller enabled below it and no state a kill left in the kernel.
 * (Debian 12's 6.1 SIGKILLs a child clone3'd into a cgroup whose
 * cgroup.kill was written while it was empty: v2_kill_all skips an empty
 * tree, and a fresh directory carries nothing over either way.)  The
 * caller applies the limits again and zone_spawn() chowns it.
 */
static int v2_reset_zone(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);
	_cleanup_free_ char *parent = parent_dir(uuid);
	int r;

	if (!dir || !parent)
		return zh_error_oom(err);
	if ((r = v2_kill_all(uuid, err)) < 0)
		return r;
	if ((r = cg_rmdir_tree(dir)) < 0)
		return zh_error_set(err, -r, NULL, "cannot remove cgroup %s: %s", dir,
				    strerror(-r));
	/* Without systemd the shared parent may go in between: make_dirs retries. */
	return cgroup_systemd() ? cg_mkdir(dir, err) : make_dirs(parent, dir, err);
}

static char **v2_paths(const char *uuid)
{
	char **v = calloc(2, sizeof(char *));

	if (v && !(v[0] = zone_dir(uuid))) {
		free(v);
		return NULL;
	}
	return v;
}

static int v2_chown(const char *uuid, uid_t uid, gid_t gid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(uuid);

	if (!dir)
		return zh_error_oom(err);
	return cg_chown_dir(dir, true, uid, gid, err);
}

const struct cgroup_ops cgroup_v2_ops = {
	.create = v2_create,
	.apply = v2_apply,
	.attach = v2_attach,
	.open_fd = v2_open_fd,
	.join_open = v2_join_open,
	.count_procs = v2_count_procs,
	.kill_all = v2_kill_all,
	.destroy = v2_destroy,
	.paths = v2_paths,
	.open_leaf_fd = v2_open_leaf_fd,
	.reset_zone = v2_reset_zone,
	.chown = v2_chown,
	.freeze = v2_freeze,
	.frozen = v2_frozen,
	.procs_dir = zone_dir,
	.stats = v2_stats,
	.reset = v2_reset,
};

/*
 * cgroup-v1.c - zone cgroups on a cgroup v1 (or hybrid) host: one directory
 * "<mount>/zonehost/<uuid>" in every hierarchy zonehost uses.
 *
 * Owns: those directories and the shared "<mount>/zonehost" parents (the
 * last zone to go removes a parent; a concurrent create retries its mkdir).
 * Does not own the hierarchies' roots, nor the caller's own cgroup: every
 * path is built from a mount point whose mountinfo root is "/", never from
 * /proc/self/cgroup.
 *
 *     cgroup_v1_ops.create(uuid, &err);     (via cgroup_create)
 *
 * Hierarchies used: cpu, cpuacct, cpuset (cpus/mems copied down, else a
 * child cannot take tasks), memory, pids, blkio, freezer, devices (an
 * allowlist of the devices a zone's /dev holds), the named "systemd"
 * hierarchy and the hybrid "unified" cgroup2 (so systemd can run as a
 * zone's init).  memory, pids, cpu and freezer are required; the others are
 * used when mounted.  Found by parsing /proc/self/mountinfo, or, when
 * ZONEHOST_CGROUP_ROOT names a fake tree, from its subdirectory names
 * ("cpu,cpuacct", "memory", ...; one holding cgroup.controllers is the
 * unified hierarchy).
 *
 * Files written: cpu.cfs_period_us, cpu.cfs_quota_us, cpu.shares,
 * memory.limit_in_bytes, memory.memsw.limit_in_bytes (when present; raised
 * before memory.limit_in_bytes when the memory limit goes up, after it when
 * it goes down, so memsw >= mem always holds), pids.max, blkio.weight or
 * blkio.bfq.weight (when present, else skipped), memory.use_hierarchy (1 on
 * the parent, where a kernel still has it 0), cpuset.cpus/mems, devices.deny
 * and devices.allow, freezer.state, cgroup.procs.  Read for pause and
 * stats: freezer.state, cpuacct.usage/stat, memory.usage_in_bytes,
 * limit_in_bytes, max_usage_in_bytes, failcnt (and their memsw. forms),
 * memory.stat, pids.current/max.
 *
 * kill_all: freezer FROZEN, SIGKILL every pid of the zone's tree, THAWED
 * (every descendant, since a zone may have frozen its own sub-cgroups), then
 * wait (bounded) until the tree is empty; a paused zone ends up THAWED.
 *
 * freeze: freezer.state FROZEN, then poll (CG_FREEZE_WAIT_MS) until it
 * reads FROZEN, not FREEZING; on timeout THAWED again and fail.  pids:
 * the freezer hierarchy's cgroup.procs, recursively (procs_dir).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "paths.h"
#include "util.h"

enum {
	C_CPU = 1 << 0,
	C_CPUACCT = 1 << 1,
	C_CPUSET = 1 << 2,
	C_MEMORY = 1 << 3,
	C_PIDS = 1 << 4,
	C_BLKIO = 1 << 5,
	C_FREEZER = 1 << 6,
	C_DEVICES = 1 << 7,
	C_SYSTEMD = 1 << 8,
	C_UNIFIED = 1 << 9,
};

static const struct {
	const char *name;
	unsigned bit;
} controllers[] = {
	{"cpu", C_CPU},		{"cpuacct", C_CPUACCT}, {"cpuset", C_CPUSET},
	{"memory", C_MEMORY},	{"pids", C_PIDS},	{"blkio", C_BLKIO},
	{"freezer", C_FREEZER}, {"devices", C_DEVICES}, {"name=systemd", C_SYSTEMD},
	{"systemd", C_SYSTEMD},
};

#define REQUIRED (C_CPU | C_MEMORY | C_PIDS | C_FREEZER)
#define MAX_HIER 16

struct hier {
	char *mnt;
	unsigned ctrl;
	char dev[16]; /* major:minor, to skip a hierarchy mounted twice */
};

static struct hier hiers[MAX_HIER];
static int nhiers = -1;

/*
 * Devices a zone may open: null, zero, full, random, urandom, tty, ptmx,
 * pty slaves (its console and its devpts), fuse, tun.  Not 5:1 (the host
 * console), not 1:11 (/dev/kmsg), no block device.
 */
static const char *const dev_allow[] = {
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",	 "c 1:8 rwm",	 "c 1:9 rwm",
	"c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:229 rwm", "c 10:200 rwm",
};

/* ---- discovery ----------------------------------------------------- */

static unsigned ctrl_bits(const char *opts)
{
	_cleanup_strv_ char **v = util_split(opts, ',');
	unsigned bits = 0;

	for (char **p = v; p && *p; p++)
		for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
			if (streq(*p, controllers[i].name))
				bits |= controllers[i].bit;
	return bits;
}

static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static void add_hier(const char *mnt, unsigned bits, const char *dev)
{
	if (!bits || nhiers >= MAX_HIER)
		return;
	for (int i = 0; i < nhiers; i++)
		if ((dev[0] && streq(hiers[i].dev, dev)) || hiers[i].ctrl & bits)
			return;
	hiers[nhiers].mnt = strdup(mnt);
	if (!hiers[nhiers].mnt)
		return;
	hiers[nhiers].ctrl = bits;
	snprintf(hiers[nhiers].dev, sizeof(hiers[nhiers].dev), "%s", dev);
	nhiers++;
}

/* One mountinfo line: "id parent maj:min root mnt opts [opt...] - type src super". */
static void parse_mountinfo_line(char *line)
{
	char *f[6], *sep, *save = NULL;
	char *type, *super;
	int n = 0;

	sep = strstr(line, " - ");
	if (!sep)
		return;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	type = strtok_r(sep + 3, " ", &save);
	strtok_r(NULL, " ", &save);
	super = strtok_r(NULL, " \n", &save);
	if (n < 5 || !type || !super || !streq(f[3], "/"))
		return;
	unescape(f[4]);
	if (streq(type, "cgroup"))
		add_hier(f[4], ctrl_bits(super), f[2]);
	else if (streq(type, "cgroup2"))
		add_hier(f[4], C_UNIFIED, f[2]);
}

static void discover_mountinfo(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) > 0)
		parse_mountinfo_line(line);
}

static void discover_fake(void)
{
	DIR *d = opendir(cg_root());
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", cg_root(), de->d_name) < 0)
			break;
		add_hier(p, cg_has(p, "cgroup.controllers") ? C_UNIFIED : ctrl_bits(de->d_name),
			 "");
	}
	if (d)
		closedir(d);
}

static void discover(void)
{
	if (nhiers >= 0)
		return;
	nhiers = 0;
	if (cg_fake())
		discover_fake();
	else
		discover_mountinfo();
}

static void v1_reset(void)
{
	for (int i = 0; i < nhiers; i++)
		free(hiers[i].mnt);
	nhiers = -1;
}

static const struct hier *find(unsigned bit)
{
	discover();
	for (int i = 0; i < nhiers; i++)
		if (hiers[i].ctrl & bit)
			return &hiers[i];
	return NULL;
}

static char *zone_dir(const struct hier *h, const char *uuid)
{
	char *p = NULL;

	if (asprintf(&p, "%s/" CGROUP_PARENT "%s%s", h->mnt, uuid ? "/" : "", uuid ? uuid : "") < 0)
		return NULL;
	return p;
}

/* ---- create -------------------------------------------------------- */

/* Copy a cpuset knob from parent to child when the child's is empty. */
static int copy_down(const char *from, const char *to, const char *file, struct zh_error *err)
{
	char v[4096], cur[4096];

	if (cg_read(from, file, v, sizeof(v)) <= 0)
		return 0;
	if (cg_read(to, file, cur, sizeof(cur)) > 0)
		return 0;
	return cg_write(to, file, v, NULL, err);
}

static int setup_parent(const struct hier *h, const char *parent, struct zh_error *err)
{
	char v[32];
	int r = cg_mkdir(parent, err);

	if (r == 0 && (h->ctrl & C_CPUSET)) {
		r = copy_down(h->mnt, parent, "cpuset.cpus", err);
		if (r == 0)
			r = copy_down(h->mnt, parent, "cpuset.mems", err);
	}
	if (r == 0 && (h->ctrl & C_MEMORY) &&
	    cg_read(parent, "memory.use_hierarchy", v, sizeof(v)) > 0 && streq(v, "0"))
		r = cg_write(parent, "memory.use_hierarchy", "1", NULL, err);
	return r;
}

static int setup_devices(const char *dir, struct zh_error *err)
{
	int r = cg_write(dir, "devices.deny", "a", NULL, err);

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dev_allow); i++)
		r = cg_write(dir, "devices.allow", dev_allow[i], NULL, err);
	return r;
}

static int setup_child(const struct hier *h, const char *parent, const char *dir,
		       struct zh_error *err)
{
	int r = 0;

	if (h->ctrl & C_CPUSET) {
		r = copy_down(parent, dir, "cpuset.cpus", err);
		if (r == 0)
			r = copy_down(parent, dir, "cpuset.mems", err);
	}
	if (r == 0 && (h->ctrl & C_DEVICES))
		r = setup_devices(dir, err);
	return r;
}

static int create_one(const struct hier *h, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *parent = zone_dir(h, NULL);
	_cleanup_free_ char *dir = zone_dir(h, uuid);
	int r;

	if (!parent || !dir)
		return zh_error_oom(err);
	/* ENOENT: a concurrent destroy removed the parent in between. */
	for (int tries = 0;; tries++) {
		r = setup_parent(h, parent, err);
		if (r < 0)
			return r;
		if (mkdir(dir, 0755) == 0 || errno == EEXIST)
			break;
		if (errno != ENOENT || tries == 9)
			return zh_error_set(err, errno, NULL, "cannot create cgroup %s: %s", dir,
					    strerror(errno));
	}
	return setup_child(h, parent, dir, err);
}

static int v1_destroy(const char *uuid, struct zh_error *err);

static int v1_create(const char *uuid, struct zh_error *err)
{
	int r;

	discover();
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if ((controllers[i].bit & REQUIRED) && !find(controllers[i].bit))
			return zh_error_set(err, ENOENT, NULL,
					    "cgroup v1 controller %s is not mounted",
					    controllers[i].name);
	for (int i = 0; i < nhiers; i++) {
		r = create_one(&hiers[i], uuid, err);
		if (r < 0) {
			v1_destroy(uuid, NULL);
			return r;
		}
	}
	return 0;
}

/* ---- limits -------------------------------------------------------- */

static int apply_cpu(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int r = cg_write_i64(dir, "cpu.cfs_period_us", CG_CFS_PERIOD_US, "cpu_cap", err);

	if (r == 0)
		r = cg_write_i64(dir, "cpu.cfs_quota_us", cg_cpu_quota_us(l->cpu_cap), "cpu_cap",
				 err);
	if (r == 0)
		r = cg_write_i64(dir, "cpu.shares", cg_v1_shares(l->cpu_shares), "cpu_shares", err);
	return r;
}

static int64_t mib_or_unlimited(int64_t mib)
{
	if (mib <= 0)
		return -1;
	return mib > (INT64_MAX >> 20) ? -1 : mib << 20;
}

/* "-1" and the kernel's PAGE_COUNTER_MAX both read as unlimited. */
static uint64_t as_u64(int64_t v)
{
	return v < 0 ? UINT64_MAX : (uint64_t)v;
}

static int apply_memory(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int64_t mem = mib_or_unlimited(l->max_physical_memory);
	int64_t sw = mib_or_unlimited(l->max_swap);
	char cur[64];
	int64_t cur_sw;
	int r;

	if (!cg_has(dir, "memory.memsw.limit_in_bytes"))
		return cg_write_i64(dir, "memory.limit_in_bytes", mem, "max_physical_memory", err);
	if (as_u64(sw) < as_u64(mem))
		sw = mem; /* memsw can never be below mem */
	if (cg_read(dir, "memory.memsw.limit_in_bytes", cur, sizeof(cur)) <= 0 ||
	    util_parse_i64(cur, &cur_sw) < 0)
		cur_sw = -1;
	if (as_u64(mem) > as_u64(cur_sw)) {
		r = cg_write_i64(dir, "memory.memsw.limit_in_bytes", sw, "max_swap", err);
		return r < 0 ? r
			     : cg_write_i64(dir, "memory.limit_in_bytes", mem,
					    "max_physical_memory", err);
	}
	r = cg_write_i64(dir, "memory.limit_in_bytes", mem, "max_physical_memory", err);
	return r < 0 ? r : cg_write_i64(dir, "memory.memsw.limit_in_bytes", sw, "max_swap", err);
}

static int apply_pids(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	if (l->max_lwps <= 0)
		return cg_write(dir, "pids.max", "max", "max_lwps", err);
	return cg_write_i64(dir, "pids.max", l->max_lwps, "max_lwps", err);
}

/* zfs_io_priority 100 (the default) = the knob's default; skipped if absent. */
static int apply_blkio(const char *dir, const struct cgroup_limits *l, struct zh_error *err)
{
	int64_t p = l->zfs_io_priority < 0 ? 100 : l->zfs_io_priority;
	int64_t w;

	if (cg_has(dir, "blkio.weight")) {
		w = p > 200 ? 1000 : p * 5;
		return cg_write_i64(dir, "blkio.weight", w < 10 ? 10 : w, "zfs_io_priority", err);
	}
	if (cg_has(dir, "blkio.bfq.weight")) {
		w = p > 1000 ? 1000 : p < 1 ? 1 : p;
		return cg_write_i64(dir, "blkio.bfq.weight", w, "zfs_io_priority", err);
	}
	return 0;
}

static int apply_one(const struct hier *h, const char *uuid, const struct cgroup_limits *l,
		     struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(h, uuid);
	int r = 0;

	if (!dir)
		return zh_error_oom(err);
	if (h->ctrl & C_CPU)
		r = apply_cpu(dir, l, err);
	if (r == 0 && (h->ctrl & C_MEMORY))
		r = apply_memory(dir, l, err);
	if (r == 0 && (h->ctrl & C_PIDS))
		r = apply_pids(dir, l, err);
	if (r == 0 && (h->ctrl & C_BLKIO))
		r = apply_blkio(dir, l, err);
	return r;
}

static int v1_apply(const char *uuid, const struct cgroup_limits *l, struct zh_error *err)
{
	int r;

	discover();
	for (int i = 0; i < nhiers; i++)
		if ((r = apply_one(&hiers[i], uuid, l, err)) < 0)
			return r;
	return 0;
}

/* ---- processes ----------------------------------------------------- */

static int v1_attach(const char *uuid, pid_t pid, struct zh_error *err)
{
	char v[16];
	int r;

	snprintf(v, sizeof(v), "%d", (int)pid);
	discover();
	for (int i = 0; i < nhiers; i++) {
		_cleanup_free_ char *dir = zone_dir(&hiers[i], uuid);

		if (!dir)
			return zh_error_oom(err);
		if ((r = cg_write(dir, "cgroup.procs", v, NULL, err)) < 0)
			return zh_error_prefix(err, "cannot attach pid %s", v);
	}
	return 0;
}

static int open_join_one(const char *dir, bool unified, struct cgroup_join *j, struct zh_error *err)
{
	_cleanup_free_ char *tasks = unified ? NULL : paths_join(dir, "tasks");
	int fd;

	if (!unified && !tasks)
		return zh_error_oom(err);
	fd = unified ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		     : open(tasks, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open cgroup %s: %m", dir);
	if (unified)
		j->clone_fd = fd;
	else
		j->fds[j->n++] = fd;
	return 0;
}

/* "tasks" of every v1 hierarchy; the hybrid cgroup2 "unified" as clone_fd. */
static int v1_join_open(const char *uuid, struct cgroup_join *j, struct zh_error *err)
{
	discover();
	for (int i = 0; i < nhiers && j->n < CGROUP_JOIN_MAX; i++) {
		_cleanup_free_ char *dir = zone_dir(&hiers[i], uuid);
		int r;

		if (!dir)
			return zh_error_oom(err);
		r = open_join_one(dir, hiers[i].ctrl == C_UNIFIED, j, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_open_fd(const char *uuid, struct zh_error *err)
{
	return zh_error_set(err, ENOTSUP, NULL, "cgroup v1 cannot clone into a cgroup");
}

/* The tree whose cgroup.procs count the zone's processes. */
static char *procs_dir(const char *uuid)
{
	const struct hier *h = find(C_FREEZER);

	if (!h)
		h = find(C_PIDS);
	return h ? zone_dir(h, uuid) : NULL;
}

static int v1_count_procs(const char *uuid)
{
	_cleanup_free_ char *dir = procs_dir(uuid);

	return dir ? cg_count_tree(dir) : 0;
}

static int set_freezer(const char *dir, void *u)
{
	cg_write(dir, "freezer.state", u, NULL, NULL);
	return 0;
}

static void freeze(const char *dir)
{
	char st[32];

	if (cg_write(dir, "freezer.state", "FROZEN", NULL, NULL) < 0)
		return;
	/* A task in uninterruptible sleep can keep it FREEZING: go on. */
	for (int i = 0; i < 200; i++) {
		if (cg_read(dir, "freezer.state", st, sizeof(st)) <= 0 || !streq(st, "FREEZING"))
			return;
		cg_sleep_ms(5);
	}
}

/* An empty zone that was paused is thawed too (a kill never leaves a zone frozen). */
static void thaw_if_frozen(const char *dir)
{
	char st[32];

	if (cg_read(dir, "freezer.state", st, sizeof(st)) > 0 &&
	    (streq(st, "FROZEN") || streq(st, "FREEZING")))
		cg_write(dir, "freezer.state", "THAWED", NULL, NULL);
}

static int v1_kill_all(const char *uuid, struct zh_error *err)
{
	const struct hier *fz = find(C_FREEZER);
	_cleanup_free_ char *dir = procs_dir(uuid);

	if (!dir || access(dir, F_OK) < 0)
		return 0;
	if (cg_count_tree(dir) == 0) {
		if (fz)
			thaw_if_frozen(dir);
		return 0; /* nothing to kill: no need to freeze */
	}
	if (fz)
		freeze(dir);
	cg_kill_tree(dir);
	if (fz)
		cg_walk(dir, set_freezer, (void *)"THAWED");
	return cg_kill_until_empty(dir, err);
}

/* ---- pause and usage (docs/architecture.md §11.5) ------------------- */

static int freezer_dir(const char *uuid, char **dir, struct zh_error *err)
{
	const struct hier *h = find(C_FREEZER);

	if (!h)
		return zh_error_set(err, ENOTSUP, NULL,
				    "cgroup v1 controller freezer is not mounted");
	if (!(*dir = zone_dir(h, uuid)))
		return zh_error_oom(err);
	return 0;
}

/*
 * FROZEN is written again while the state reads FREEZING: the kernel then
 * retries the tasks that did not stop yet (a task in an uninterruptible
 * sleep can hold it FREEZING for a while).
 */
static int v1_freeze(const char *uuid, bool frozen, struct zh_error *err)
{
	_cleanup_free_ char *dir = NULL;
	char st[32] = "";
	int r;

	if ((r = freezer_dir(uuid, &dir, err)) < 0)
		return r;
	r = cg_write(dir, "freezer.state", frozen ? "FROZEN" : "THAWED", NULL, err);
	if (r < 0 || !frozen)
		return r;
	for (int waited = 0; waited < CG_FREEZE_WAIT_MS; waited += 10) {
		if ((r = cg_read(dir, "freezer.state", st, sizeof(st))) < 0)
			return zh_error_set(err, -r, NULL, "read %s/freezer.state: %s", dir,
					    strerror(-r));
		if (streq(st, "FROZEN"))
			return 0;
		cg_sleep_ms(10);
		cg_write(dir, "freezer.state", "FROZEN", NULL, NULL);
	}
	cg_write(dir, "freezer.state", "THAWED", NULL, NULL);
	return zh_error_set(err, ETIMEDOUT, NULL,
			    "%s/freezer.state: still %s %d ms after writing FROZEN (thawed again)",
			    dir, st, CG_FREEZE_WAIT_MS);
}

static int v1_frozen(const char *uuid)
{
	_cleanup_free_ char *dir = NULL;
	char st[32];
	int r;

	if ((r = freezer_dir(uuid, &dir, NULL)) < 0)
		return r;
	if ((r = cg_read(dir, "freezer.state", st, sizeof(st))) < 0)
		return r;
	return streq(st, "FROZEN");
}

/* The zone's directory in the hierarchy holding bit, or NULL when it is not mounted. */
static char *dir_of(unsigned bit, const char *uuid)
{
	const struct hier *h = find(bit);

	return h ? zone_dir(h, uuid) : NULL;
}

static int v1_stats(const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *cpuacct = dir_of(C_CPUACCT, uuid);
	_cleanup_free_ char *memory = dir_of(C_MEMORY, uuid);
	_cleanup_free_ char *pids = dir_of(C_PIDS, uuid);

	return cg_stats_v1(cpuacct, memory, pids, out, err);
}

/* ---- removal and inspection ---------------------------------------- */

static int destroy_one(const struct hier *h, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = zone_dir(h, uuid);
	_cleanup_free_ char *parent = zone_dir(h, NULL);
	int r;

	if (!dir || !parent)
		return zh_error_oom(err);
	r = cg_rmdir_tree(dir);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot remove cgroup %s: %s", dir,
				    strerror(-r));
	/* EBUSY/ENOTEMPTY: another zone still uses the parent. */
	cg_rmdir_one(parent);
	return 0;
}

static int v1_destroy(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *pdir = NULL;
	int r = 0, q;

	discover();
	pdir = procs_dir(uuid);
	if (pdir)
		cg_wait_empty(pdir, 1000);
	for (int i = 0; i < nhiers; i++)
		if ((q = destroy_one(&hiers[i], uuid, r < 0 ? NULL : err)) < 0 && r == 0)
			r = q;
	return r;
}

static char **v1_paths(const char *uuid)
{
	char **v;

	discover();
	v = calloc((size_t)nhiers + 1, sizeof(char *));
	for (int i = 0; v && i < nhiers; i++)
		if (!(v[i] = zone_dir(&hiers[i], uuid))) {
			strv_free(v);
			return NULL;
		}
	return v;
}

static int v1_open_leaf_fd(const char *uuid, const char *leaf, struct zh_error *err)
{
	return zh_error_set(err, ENOTSUP, NULL, "no %s leaf cgroup on cgroup v1", leaf);
}

/* A reboot: what the last boot left is killed, its sub-cgroups removed (deepest first). */
static int v1_reset_zone(const char *uuid, struct zh_error *err)
{
	int r = v1_kill_all(uuid, err);

	discover();
	for (int i = 0; r == 0 && i < nhiers; i++) {
		_cleanup_free_ char *dir = zone_dir(&hiers[i], uuid);

		if (!dir)
			return zh_error_oom(err);
		if ((r = cg_rmdir_children(dir)) < 0)
			return zh_error_set(err, -r, NULL,
					    "cannot remove the sub-cgroups of %s: %s", dir,
					    strerror(-r));
	}
	return r;
}

static int v1_chown(const char *uuid, uid_t uid, gid_t gid, struct zh_error *err)
{
	int r;

	discover();
	for (int i = 0; i < nhiers; i++) {
		_cleanup_free_ char *dir = zone_dir(&hiers[i], uuid);

		if (!dir)
			return zh_error_oom(err);
		r = cg_chown_dir(dir, hiers[i].ctrl == C_UNIFIED, uid, gid, err);
		if (r < 0)
			return r;
	}
	return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
	.create = v1_create,
	.apply = v1_apply,
	.attach = v1_attach,
	.open_fd = v1_open_fd,
	.join_open = v1_join_open,
	.count_procs = v1_count_procs,
	.kill_all = v1_kill_all,
	.destroy = v1_destroy,
	.paths = v1_paths,
	.open_leaf_fd = v1_open_leaf_fd,
	.reset_zone = v1_reset_zone,
	.chown = v1_chown,
	.freeze = v1_freeze,
	.frozen = v1_frozen,
	.procs_dir = procs_dir,
	.stats = v1_stats,
	.reset = v1_reset,
};

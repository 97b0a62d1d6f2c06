/*
 * test-cgroup.c - the cgroup module against fake v1 and v2 trees.
 *
 * ZONEHOST_CGROUP_ROOT points at a temp directory laid out like
 * /sys/fs/cgroup; the knob files a kernel would create are made by the
 * test, then the test reads back what the module wrote.  The real
 * hierarchies are exercised by tests/system/test_cgroup.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup.h"
#include "fsutil.h"
#include "tap.h"
#include "util.h"

#define UUID  "8d1c5b5e-2d7c-4b1e-9d40-0a2a8d3f7c11"
#define OTHER "0f5a3c9e-1111-4222-8333-944455556666"

static char root[] = "/tmp/test-cgroup-XXXXXX";

static void put(const char *dir, const char *file, const char *val)
{
	char *p = NULL;
	FILE *f;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return;
	f = fopen(p, "we");
	free(p);
	if (f) {
		fputs(val, f);
		fclose(f);
	}
}

static char *get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *get(const char *fmt, ...)
{
	static char buf[256];
	char p[1024];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	f = fopen(p, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;
	bool r;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	r = p && access(p, F_OK) == 0;
	free(p);
	return r;
}

/* A hierarchy directory, its zonehost parent and the zone's dir, with files. */
static void hier(const char *name, const char *const *files, const char *uuid)
{
	char d[1024];

	snprintf(d, sizeof(d), "%s/%s/zonehost/%s", root, name, uuid);
	fsutil_mkdir_p(d, 0755, NULL);
	for (; *files; files++) {
		put(d, *files, "");
		snprintf(d, sizeof(d), "%s/%s/zonehost", root, name);
		if (!strstr(*files, "memsw"))
			put(d, *files, "");
		snprintf(d, sizeof(d), "%s/%s", root, name);
		put(d, *files, "");
		snprintf(d, sizeof(d), "%s/%s/zonehost/%s", root, name, uuid);
	}
}

static void fake_v1(const char *uuid, bool weight)
{
	static const char *const cpu[] = {"cpu.cfs_period_us",
					  "cpu.cfs_quota_us",
					  "cpu.shares",
					  "cgroup.procs",
					  "tasks",
					  NULL};
	static const char *const mem[] = {"memory.limit_in_bytes",
					  "memory.memsw.limit_in_bytes",
					  "memory.use_hierarchy",
					  "cgroup.procs",
					  "tasks",
					  NULL};
	static const char *const pids[] = {"pids.max", "cgroup.procs", "tasks", NULL};
	static const char *const blk[] = {"blkio.bfq.weight", "cgroup.procs", "tasks", NULL};
	static const char *const blk0[] = {"cgroup.procs", "tasks", NULL};
	static const char *const fz[] = {"freezer.state", "cgroup.procs", "tasks", NULL};
	static const char *const cs[] = {"cpuset.cpus", "cpuset.mems", "cgroup.procs", "tasks",
					 NULL};
	static const char *const dev[] = {"devices.allow", "devices.deny", "cgroup.procs", "tasks",
					  NULL};
	char d[1024];

	hier("cpu,cpuacct", cpu, uuid);
	hier("memory", mem, uuid);
	hier("pids", pids, uuid);
	hier("blkio", weight ? blk : blk0, uuid);
	hier("freezer", fz, uuid);
	hier("cpuset", cs, uuid);
	hier("devices", dev, uuid);
	snprintf(d, sizeof(d), "%s/cpuset", root);
	put(d, "cpuset.cpus", "0-1\n");
	put(d, "cpuset.mems", "0\n");
	snprintf(d, sizeof(d), "%s/memory/zonehost", root);
	put(d, "memory.use_hierarchy", "0\n");
	snprintf(d, sizeof(d), "%s/memory/zonehost/%s", root, uuid);
	put(d, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put(d, "memory.limit_in_bytes", "9223372036854771712\n");
}

static void test_v1_limits(void)
{
	struct cgroup_limits l = {50, 200, 256, 512, 100, 100};
	struct zh_error err = ZH_ERROR_INIT;

	fake_v1(UUID, true);
	is_int(cgroup_version(), 1, "fake v1 tree is version 1");
	is_int(cgroup_create(UUID, &err), 0, "v1 create: %s", err.msg ? err.msg : "");
	is_str(get("%s/cpuset/zonehost/cpuset.cpus", root), "0-1", "cpuset.cpus copied to parent");
	is_str(get("%s/cpuset/zonehost/%s/cpuset.mems", root, UUID), "0",
	       "cpuset.mems copied to zone");
	is_str(get("%s/memory/zonehost/memory.use_hierarchy", root), "1",
	       "use_hierarchy set on parent");
	is_str(get("%s/devices/zonehost/%s/devices.deny", root, UUID), "a", "devices: deny all");
	is_str(get("%s/devices/zonehost/%s/devices.allow", root, UUID), "c 10:200 rwm",
	       "devices: allowlist written");
	is_int(cgroup_apply(UUID, &l, &err), 0, "v1 apply: %s", err.msg ? err.msg : "");
	is_str(get("%s/cpu,cpuacct/zonehost/%s/cpu.cfs_quota_us", root, UUID), "50000",
	       "cpu_cap 50 -> quota 50000");
	is_str(get("%s/cpu,cpuacct/zonehost/%s/cpu.cfs_period_us", root, UUID), "100000",
	       "period 100 ms");
	is_str(get("%s/cpu,cpuacct/zonehost/%s/cpu.shares", root, UUID), "2048",
	       "cpu_shares 200 -> 2048");
	is_str(get("%s/memory/zonehost/%s/memory.limit_in_bytes", root, UUID), "268435456",
	       "256 MiB");
	is_str(get("%s/memory/zonehost/%s/memory.memsw.limit_in_bytes", root, UUID), "536870912",
	       "max_swap 512 -> memsw");
	is_str(get("%s/pids/zonehost/%s/pids.max", root, UUID), "100", "max_lwps -> pids.max");
	is_str(get("%s/blkio/zonehost/%s/blkio.bfq.weight", root, UUID), "100",
	       "io priority -> bfq.weight");

	/* Live change down, then to "none". */
	l = (struct cgroup_limits){0, -1, 128, 0, 0, 300};
	is_int(cgroup_apply(UUID, &l, &err), 0, "v1 apply again");
	is_str(get("%s/memory/zonehost/%s/memory.limit_in_bytes", root, UUID), "134217728",
	       "lowered to 128 MiB");
	is_str(get("%s/memory/zonehost/%s/memory.memsw.limit_in_bytes", root, UUID), "-1",
	       "no max_swap -> memsw unlimited");
	is_str(get("%s/cpu,cpuacct/zonehost/%s/cpu.cfs_quota_us", root, UUID), "-1",
	       "no cap -> quota -1");
	is_str(get("%s/cpu,cpuacct/zonehost/%s/cpu.shares", root, UUID), "1024", "default shares");
	is_str(get("%s/pids/zonehost/%s/pids.max", root, UUID), "max", "no max_lwps -> max");
	is_str(get("%s/blkio/zonehost/%s/blkio.bfq.weight", root, UUID), "300", "bfq weight 300");
	zh_error_clear(&err);
}

static void test_v1_procs(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char **paths;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	is_int(cgroup_attach(UUID, getpid(), &err), 0, "v1 attach");
	is_str(get("%s/freezer/zonehost/%s/cgroup.procs", root, UUID), pid, "pid in freezer");
	is_str(get("%s/memory/zonehost/%s/cgroup.procs", root, UUID), pid, "pid in memory");
	is_int(cgroup_count_procs(UUID), 1, "count_procs");
	is_int(cgroup_open_fd(UUID, &err), -ENOTSUP, "no cgroup fd on v1");
	paths = cgroup_paths(UUID);
	is_int(paths ? (long long)util_strv_len(paths) : -1, 7, "one path per hierarchy");
	strv_free(paths);
	zh_error_clear(&err);
}

static void test_v1_join(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct cgroup_join j;

	is_int(cgroup_join_open(UUID, &j, &err), 0, "v1 join_open: %s", err.msg ? err.msg : "");
	is_int(j.n, 7, "one tasks file per hierarchy");
	ok(j.clone_fd < 0, "no cgroup2 clone fd without a unified hierarchy");
	is_int(cgroup_join_self(&j), 0, "join_self writes");
	is_str(get("%s/pids/zonehost/%s/tasks", root, UUID), "0", "\"0\" moves the writer itself");
	cgroup_join_close(&j);
	ok(j.n == 0 && j.clone_fd < 0, "join_close");
	cgroup_join_close(&j);
	ok(1, "join_close is idempotent");
	zh_error_clear(&err);
}

/* A number at a dotted path of a stats object, or -1 when absent. */
static long long jnum(json_t *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return json_is_integer(o) ? (long long)json_integer_value(o) : -1;
}

/* A pid list as "a b c" for is_str. */
static const char *pid_list(const pid_t *v, size_t n)
{
	static char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(buf) - 16; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d", i ? " " : "",
					(int)v[i]);
	return buf;
}

/*
 * Pids above PID_MAX_LIMIT (4194304), so no real process is ever named;
 * the trees are emptied again before any kill.
 */
#define P1 "2000000001"
#define P2 "2000000002"
#define P3 "2000000003"

static void test_v1_pause(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char d[1024];

	snprintf(d, sizeof(d), "%s/freezer/zonehost/%s", root, UUID);
	put(d, "freezer.state", "THAWED\n");
	is_int(cgroup_frozen(UUID), 0, "v1 thawed zone reads not frozen");
	is_int(cgroup_freeze(UUID, true, &err), 0, "v1 freeze: %s", err.msg ? err.msg : "");
	is_str(get("%s/freezer.state", d), "FROZEN", "v1 freeze writes FROZEN");
	is_int(cgroup_frozen(UUID), 1, "v1 frozen zone reads frozen");
	put(d, "freezer.state", "FREEZING\n");
	is_int(cgroup_frozen(UUID), 0, "FREEZING is not frozen yet");
	is_int(cgroup_freeze(UUID, false, &err), 0, "v1 thaw");
	is_str(get("%s/freezer.state", d), "THAWED", "v1 thaw writes THAWED");
	is_int(cgroup_frozen(UUID), 0, "v1 thawed again");
	is_int(cgroup_frozen(OTHER), -ENOENT, "frozen: no such zone is -ENOENT");
	is_int(cgroup_frozen("../x"), -EINVAL, "frozen: a non-uuid is -EINVAL");
	ok(cgroup_freeze(OTHER, true, &err) == -ENOENT && err.msg &&
		   strstr(err.msg, "freezer.state"),
	   "freeze of a missing zone names the file: %s", err.msg ? err.msg : "");
	zh_error_clear(&err);
}

static void test_v1_pids(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	pid_t *v = NULL;
	size_t n = 99;
	char d[1024], sub[1100];

	snprintf(d, sizeof(d), "%s/freezer/zonehost/%s", root, UUID);
	snprintf(sub, sizeof(sub), "%s/init.scope", d);
	fsutil_mkdir_p(sub, 0755, NULL);
	put(d, "cgroup.procs", P3 "\n" P1 "\n");
	put(sub, "cgroup.procs", P2 "\n" P1 "\n");
	is_int(cgroup_pids(UUID, &v, &n, &err), 0, "v1 pids: %s", err.msg ? err.msg : "");
	is_str(pid_list(v, n), P1 " " P2 " " P3, "v1 pids: subtree, sorted, deduplicated");
	free(v);
	put(d, "cgroup.procs", "");
	put(sub, "cgroup.procs", "");
	is_int(cgroup_pids(UUID, &v, &n, &err), 0, "v1 pids of an empty zone");
	ok(n == 0 && v == NULL, "no pids, no array");
	ok(cgroup_pids(OTHER, &v, &n, &err) == -ENOENT && strstr(err.msg, OTHER),
	   "pids of a missing zone names its cgroup");
	fsutil_rm_rf(sub, NULL);
	zh_error_clear(&err);
}

static void fake_v1_usage(void)
{
	char d[1024];

	snprintf(d, sizeof(d), "%s/cpu,cpuacct/zonehost/%s", root, UUID);
	put(d, "cpuacct.usage", "123456789\n");
	put(d, "cpuacct.stat", "user 30\nsystem 7\n");
	snprintf(d, sizeof(d), "%s/memory/zonehost/%s", root, UUID);
	put(d, "memory.usage_in_bytes", "1048576\n");
	put(d, "memory.limit_in_bytes", "9223372036854771712\n");
	put(d, "memory.max_usage_in_bytes", "2097152\n");
	put(d, "memory.failcnt", "3\n");
	put(d, "memory.memsw.usage_in_bytes", "1052672\n");
	put(d, "memory.memsw.limit_in_bytes", "536870912\n");
	put(d, "memory.memsw.max_usage_in_bytes", "3000000\n");
	put(d, "memory.memsw.failcnt", "0\n");
	put(d, "memory.stat", "cache 4096\nrss 8192\ntotal_cache 4096\n");
	snprintf(d, sizeof(d), "%s/pids/zonehost/%s", root, UUID);
	put(d, "pids.current", "2\n");
	put(d, "pids.max", "max\n");
}

static void test_v1_stats(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	long long hz = sysconf(_SC_CLK_TCK);
	json_t *st = NULL;

	fake_v1_usage();
	is_int(cgroup_stats(UUID, &st, &err), 0, "v1 stats: %s", err.msg ? err.msg : "");
	is_int(jnum(st, "cpu.usage.total"), 123456789, "cpu total = cpuacct.usage (ns)");
	is_int(jnum(st, "cpu.usage.user"), 30 * (1000000000LL / hz), "user ticks -> ns");
	is_int(jnum(st, "cpu.usage.kernel"), 7 * (1000000000LL / hz), "system ticks -> ns");
	is_int(jnum(st, "memory.usage.usage"), 1048576, "memory usage");
	is_int(jnum(st, "memory.usage.limit"), 9223372036854771712LL,
	       "v1 limit as the kernel says");
	is_int(jnum(st, "memory.usage.max"), 2097152, "max usage");
	is_int(jnum(st, "memory.usage.failcnt"), 3, "failcnt");
	is_int(jnum(st, "memory.swap.usage"), 1052672, "memsw usage");
	is_int(jnum(st, "memory.swap.limit"), 536870912, "memsw limit");
	is_int(jnum(st, "memory.cache"), 4096, "cache from memory.stat");
	is_int(jnum(st, "memory.raw.rss"), 8192, "raw memory.stat keys");
	is_int(jnum(st, "pids.current"), 2, "pids.current");
	is_int(jnum(st, "pids.limit"), 0, "pids.max \"max\" reads 0 (no limit)");
	json_decref(st);
	ok(cgroup_stats(OTHER, &st, &err) == -ENOENT && st == NULL && strstr(err.msg, OTHER),
	   "stats of a missing zone names its cgroup");
	zh_error_clear(&err);
}

static void test_v1_kill_destroy(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char d[1024];

	snprintf(d, sizeof(d), "%s/freezer/zonehost/%s", root, UUID);
	put(d, "cgroup.procs", "");
	snprintf(d, sizeof(d), "%s/memory/zonehost/%s", root, UUID);
	put(d, "cgroup.procs", "");
	snprintf(d, sizeof(d), "%s/freezer/zonehost/%s", root, UUID);
	put(d, "freezer.state", "");
	is_int(cgroup_kill_all(UUID, &err), 0, "kill_all on an empty zone");
	is_str(get("%s/freezer/zonehost/%s/freezer.state", root, UUID), "",
	       "an empty zone is not frozen (nothing to kill)");
	put(d, "freezer.state", "FROZEN\n");
	is_int(cgroup_kill_all(UUID, &err), 0, "kill_all on a paused empty zone");
	is_str(get("%s/freezer/zonehost/%s/freezer.state", root, UUID), "THAWED",
	       "a killed paused zone is left thawed");

	hier("pids", (const char *const[]){"pids.max", NULL}, OTHER);
	is_int(cgroup_destroy(UUID, &err), 0, "v1 destroy: %s", err.msg ? err.msg : "");
	ok(!exists("%s/memory/zonehost/%s", root, UUID), "zone dir removed");
	ok(!exists("%s/memory/zonehost", root), "empty parent removed");
	ok(exists("%s/pids/zonehost/%s", root, OTHER), "other zone kept");
	ok(exists("%s/pids/zonehost", root), "parent in use kept");
	is_int(cgroup_destroy(UUID, &err), 0, "destroy again is fine");
	zh_error_clear(&err);
}

static void test_v1_skip_and_errors(void)
{
	struct cgroup_limits l = {0, -1, 64, 0, 10, 500};
	struct zh_error err = ZH_ERROR_INIT;
	char d[1024];

	fake_v1(UUID, false);
	is_int(cgroup_create(UUID, &err), 0, "create without weight knob");
	is_int(cgroup_apply(UUID, &l, &err), 0, "apply skips absent weight knobs");
	ok(!exists("%s/blkio/zonehost/%s/blkio.weight", root, UUID), "no blkio.weight created");
	ok(!exists("%s/blkio/zonehost/%s/blkio.bfq.weight", root, UUID), "no bfq.weight created");

	snprintf(d, sizeof(d), "%s/pids/zonehost/%s/pids.max", root, UUID);
	unlink(d);
	mkdir(d, 0755);
	ok(cgroup_apply(UUID, &l, &err) < 0, "a rejected write fails");
	is_str(err.msg, "cannot set max_lwps: write 10 to pids.max: Is a directory",
	       "message names property, value and file");
	is_str(err.prop, "max_lwps", "err.prop is the property");
	rmdir(d);
	ok(cgroup_create("../../etc", &err) == -EINVAL, "a non-uuid is refused");
	cgroup_destroy(UUID, NULL);
	cgroup_destroy(OTHER, NULL);
	zh_error_clear(&err);
}

static void fake_v2_usage(const char *d)
{
	put(d, "cgroup.freeze", "0\n");
	put(d, "cgroup.events", "populated 1\nfrozen 1\n");
	put(d, "cpu.stat",
	    "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 4\n"
	    "nr_throttled 1\nthrottled_usec 7\n");
	put(d, "memory.current", "1048576\n");
	put(d, "memory.peak", "2097152\n");
	put(d, "memory.events", "low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n");
	put(d, "memory.stat", "anon 8192\nfile 4096\n");
	put(d, "memory.swap.current", "4096\n");
	put(d, "memory.swap.peak", "8192\n");
	put(d, "pids.current", "3\n");
}

static void test_v2_pause(const char *d)
{
	struct zh_error err = ZH_ERROR_INIT;

	is_int(cgroup_freeze(UUID, true, &err), 0, "v2 freeze: %s", err.msg ? err.msg : "");
	is_str(get("%s/cgroup.freeze", d), "1", "v2 freeze writes cgroup.freeze 1");
	is_int(cgroup_frozen(UUID), 1, "cgroup.events frozen 1 reads frozen");
	is_int(cgroup_freeze(UUID, false, &err), 0, "v2 thaw");
	is_str(get("%s/cgroup.freeze", d), "0", "v2 thaw writes cgroup.freeze 0");
	put(d, "cgroup.events", "populated 1\nfrozen 0\n");
	is_int(cgroup_frozen(UUID), 0, "cgroup.events frozen 0 reads not frozen");
	ok(cgroup_freeze(UUID, true, &err) == -ETIMEDOUT && strstr(err.msg, "cgroup.events"),
	   "a freeze that never completes fails naming the file: %s", err.msg ? err.msg : "");
	is_str(get("%s/cgroup.freeze", d), "0", "and is thawed again");
	put(d, "cgroup.freeze", "1\n");
	put(d, "cgroup.procs", "");
	is_int(cgroup_kill_all(UUID, &err), 0, "kill_all of a paused empty zone");
	is_str(get("%s/cgroup.freeze", d), "0", "a killed paused zone is left thawed");
	ok(cgroup_freeze(OTHER, true, &err) < 0 && strstr(err.msg, "cgroup.freeze"),
	   "freeze of a missing zone names cgroup.freeze");
	put(d, "cgroup.events", "populated 1\nfrozen 1\n");
	zh_error_clear(&err);
}

static void test_v2_pids(const char *d)
{
	struct zh_error err = ZH_ERROR_INIT;
	char zl[1100], md[1100];
	pid_t *v = NULL;
	size_t n = 0;

	snprintf(zl, sizeof(zl), "%s/zlogin", d);
	snprintf(md, sizeof(md), "%s/metadata", d);
	fsutil_mkdir_p(zl, 0755, NULL);
	fsutil_mkdir_p(md, 0755, NULL);
	put(d, "cgroup.procs", P2 "\n");
	put(zl, "cgroup.procs", P3 "\n");
	put(md, "cgroup.procs", P1 "\n" P2 "\n");
	is_int(cgroup_pids(UUID, &v, &n, &err), 0, "v2 pids: %s", err.msg ? err.msg : "");
	is_str(pid_list(v, n), P1 " " P2 " " P3, "v2 pids: zone, zlogin and metadata leaves");
	free(v);
	put(d, "cgroup.procs", "");
	fsutil_rm_rf(zl, NULL);
	fsutil_rm_rf(md, NULL);
	zh_error_clear(&err);
}

static void test_v2_stats(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *st = NULL;

	is_int(cgroup_stats(UUID, &st, &err), 0, "v2 stats: %s", err.msg ? err.msg : "");
	is_int(jnum(st, "cpu.usage.total"), 5000000, "usage_usec x 1000");
	is_int(jnum(st, "cpu.usage.user"), 3000000, "user_usec x 1000");
	is_int(jnum(st, "cpu.usage.kernel"), 2000000, "system_usec x 1000");
	is_int(jnum(st, "cpu.throttling.throttledTime"), 7000, "throttled_usec x 1000");
	is_int(jnum(st, "memory.usage.usage"), 1048576, "memory.current");
	is_int(jnum(st, "memory.usage.limit"), CGROUP_STATS_NOLIMIT, "memory.max max -> no limit");
	is_int(jnum(st, "memory.usage.max"), 2097152, "memory.peak");
	is_int(jnum(st, "memory.usage.failcnt"), 2, "memory.events max");
	is_int(jnum(st, "memory.swap.usage"), 1048576 + 4096, "swap reported as memory + swap");
	is_int(jnum(st, "memory.swap.limit"), CGROUP_STATS_NOLIMIT, "swap max -> no limit");
	is_int(jnum(st, "memory.cache"), 4096, "cache = memory.stat file");
	is_int(jnum(st, "memory.raw.anon"), 8192, "raw memory.stat");
	is_int(jnum(st, "pids.current"), 3, "pids.current");
	is_int(jnum(st, "pids.limit"), 0, "pids.max max -> 0");
	json_decref(st);
	zh_error_clear(&err);
}

static void fake_v2(void)
{
	static const char *const z[] = {"cpu.max",	   "cpu.weight", "memory.max",
					"memory.swap.max", "pids.max",	 "io.weight",
					"cgroup.procs",	   "tasks",	 NULL};
	char d[1024];

	snprintf(d, sizeof(d), "%s/zonehost/%s", root, UUID);
	fsutil_mkdir_p(d, 0755, NULL);
	for (const char *const *f = z; *f; f++)
		put(d, *f, "");
	put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	put(root, "cgroup.subtree_control", "");
	snprintf(d, sizeof(d), "%s/zonehost", root);
	put(d, "cgroup.controllers", "cpu io memory pids\n");
	put(d, "cgroup.subtree_control", "");
}

static void test_v2(void)
{
	struct cgroup_limits l = {50, 200, 256, 512, 100, 100};
	struct zh_error err = ZH_ERROR_INIT;
	int fd;

	fake_v2();
	cgroup_reset();
	is_int(cgroup_version(), 2, "fake unified tree is version 2");
	is_int(cgroup_create(UUID, &err), 0, "v2 create: %s", err.msg ? err.msg : "");
	is_str(get("%s/cgroup.subtree_control", root), "+cpu +memory +pids +io", "root delegates");
	is_str(get("%s/zonehost/cgroup.subtree_control", root), "+cpu +memory +pids +io",
	       "parent delegates");
	is_int(cgroup_apply(UUID, &l, &err), 0, "v2 apply: %s", err.msg ? err.msg : "");
	is_str(get("%s/zonehost/%s/cpu.max", root, UUID), "50000 100000", "cpu.max");
	is_str(get("%s/zonehost/%s/cpu.weight", root, UUID), "200", "cpu.weight");
	is_str(get("%s/zonehost/%s/memory.max", root, UUID), "268435456", "memory.max");
	is_str(get("%s/zonehost/%s/memory.swap.max", root, UUID), "268435456", "swap = 512 - 256");
	is_str(get("%s/zonehost/%s/pids.max", root, UUID), "100", "pids.max");
	is_str(get("%s/zonehost/%s/io.weight", root, UUID), "default 100", "io.weight");
	l = (struct cgroup_limits){0, -1, 0, 0, 0, -1};
	is_int(cgroup_apply(UUID, &l, &err), 0, "v2 apply none");
	is_str(get("%s/zonehost/%s/cpu.max", root, UUID), "max 100000", "cpu.max none");
	is_str(get("%s/zonehost/%s/memory.max", root, UUID), "max", "memory.max none");
	is_str(get("%s/zonehost/%s/pids.max", root, UUID), "max", "pids.max none");
	{
		struct cgroup_join j;

		is_int(cgroup_join_open(UUID, &j, &err), 0, "v2 join_open");
		ok(j.n == 0 && j.clone_fd >= 0, "v2 joins by CLONE_INTO_CGROUP only");
		cgroup_join_close(&j);
	}
	{
		char d[1024];

		snprintf(d, sizeof(d), "%s/zonehost/%s", root, UUID);
		fake_v2_usage(d);
		test_v2_pause(d);
		test_v2_pids(d);
		test_v2_stats();
	}
	fd = cgroup_open_fd(UUID, &err);
	ok(fd >= 0, "v2 cgroup fd");
	if (fd >= 0)
		close(fd);
	is_int(cgroup_destroy(UUID, &err), 0, "v2 destroy: %s", err.msg ? err.msg : "");
	ok(!exists("%s/zonehost", root), "v2 parent removed");
	zh_error_clear(&err);
}

/* Under systemd: the zone lives in its delegated scope; root and slice untouched. */
static void test_v2_systemd(void)
{
	struct cgroup_limits l = {50, 200, 256, 512, 100, 100};
	struct zh_error err = ZH_ERROR_INIT;
	char scope[1024], zone[1100], name[96];
	char **paths;
	int fd;

	put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	put(root, "cgroup.subtree_control", "cpu memory");
	setenv("ZONEHOST_CGROUP_SYSTEMD", "1", 1);
	cgroup_reset();
	ok(cgroup_systemd(), "systemd layout forced");
	is_int(cgroup_scope_name(UUID, name, sizeof(name)), 0, "scope name");
	is_str(name, "zonehost-" UUID ".scope", "scope name text");
	is_int(cgroup_scope_name(UUID, name, 20), -ENAMETOOLONG, "scope name too long");
	snprintf(scope, sizeof(scope), "%s/system.slice/zonehost-%s.scope", root, UUID);
	snprintf(zone, sizeof(zone), "%s/zone", scope);
	is_int(cgroup_scope_enter(UUID, &err), 0, "scope enter: %s", err.msg ? err.msg : "");
	ok(exists("%s/supervisor", scope), "zoneadmd's supervisor leaf");
	put(scope, "cgroup.controllers", "cpu io memory pids\n");
	put(scope, "cgroup.subtree_control", "");
	is_int(cgroup_create(UUID, &err), 0, "systemd create: %s", err.msg ? err.msg : "");
	ok(exists("%s", zone), "zone cgroup in the scope");
	is_str(get("%s/cgroup.subtree_control", scope), "+cpu +memory +pids +io",
	       "controllers enabled in the scope");
	is_str(get("%s/cgroup.subtree_control", root), "cpu memory", "root never written");
	ok(!exists("%s/zonehost", root), "no zonehost parent at the root");
	for (const char *f = "cpu.max\0cpu.weight\0memory.max\0memory.swap.max\0pids.max\0"
			     "io.weight\0cgroup.procs\0";
	     *f; f += strlen(f) + 1)
		put(zone, f, "");
	is_int(cgroup_apply(UUID, &l, &err), 0, "systemd apply: %s", err.msg ? err.msg : "");
	is_str(get("%s/memory.max", zone), "268435456", "memory.max in the scope's zone");
	paths = cgroup_paths(UUID);
	ok(paths && paths[0] && streq(paths[0], zone), "cgroup_paths names the scope's zone");
	strv_free(paths);
	fd = cgroup_open_zlogin_fd(UUID, &err);
	ok(fd >= 0 && exists("%s/zlogin", zone), "zlogin leaf made and opened");
	if (fd >= 0)
		close(fd);
	/* What a zone's systemd does with its subtree, then a reboot. */
	fsutil_mkdir_p(zone, 0755, NULL);
	{
		char d[1200];

		snprintf(d, sizeof(d), "%s/system.slice/cron.service", zone);
		fsutil_mkdir_p(d, 0755, NULL);
		put(d, "cgroup.procs", "");
		snprintf(d, sizeof(d), "%s/init.scope", zone);
		fsutil_mkdir_p(d, 0755, NULL);
	}
	put(zone, "cgroup.subtree_control", "memory pids\n");
	is_int(cgroup_reset_zone(UUID, &err), 0, "reset: %s", err.msg ? err.msg : "");
	ok(!exists("%s/system.slice", zone) && !exists("%s/init.scope", zone) &&
		   !exists("%s/zlogin", zone),
	   "sub-cgroups removed");
	ok(exists("%s", zone) && !exists("%s/cgroup.subtree_control", zone),
	   "the zone's cgroup made anew");
	is_int(cgroup_destroy(UUID, &err), 0, "systemd destroy: %s", err.msg ? err.msg : "");
	ok(!exists("%s", zone), "zone cgroup removed");
	ok(exists("%s", scope), "the scope is systemd's to remove");
	unsetenv("ZONEHOST_CGROUP_SYSTEMD");
	cgroup_reset();
	zh_error_clear(&err);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	setenv("ZONEHOST_CGROUP_ROOT", root, 1);
	unsetenv("ZONEHOST_CGROUP_SYSTEMD");
	cgroup_reset();
	test_v1_limits();
	test_v1_procs();
	test_v1_join();
	test_v1_pause();
	test_v1_pids();
	test_v1_stats();
	test_v1_kill_destroy();
	test_v1_skip_and_errors();
	fsutil_rm_rf(root, NULL);
	mkdir(root, 0700);
	test_v2();
	fsutil_rm_rf(root, NULL);
	mkdir(root, 0700);
	test_v2_systemd();
	fsutil_rm_rf(root, NULL);
	return tap_done();
}

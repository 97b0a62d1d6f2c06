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

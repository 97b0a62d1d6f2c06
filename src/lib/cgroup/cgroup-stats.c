/*
 * cgroup-stats.c - a zone's usage as the "data" object of runc's
 * `events --stats` (docs/architecture.md §11.5), read from the kernel's
 * files; cgroup-v1.c and cgroup-v2.c pass the directories.
 *
 * Owns nothing on disk: it only reads.  Units as runc: CPU times in
 * nanoseconds (v2 cpu.stat's *_usec x 1000; v1 cpuacct.usage as is and
 * cpuacct.stat's ticks x 1e9 / USER_HZ), memory in bytes.
 *
 * Limits: a v2 "max" reads as CGROUP_STATS_NOLIMIT (INT64_MAX, the largest
 * integer jansson holds; runc prints UINT64_MAX there), a v1 limit as the
 * kernel reports it (9223372036854771712 for none, as runc prints it), a
 * pids.max of "max" as 0 (runc's "no limit").  Larger values are clamped
 * to INT64_MAX.
 *
 * v2 swap is reported as runc does for v1 compatibility: memory + swap
 * (usage = memory.current + memory.swap.current, limit = memory.max +
 * memory.swap.max unless either is "max").  v2 failcnt is memory.events'
 * "max" count (the times usage hit memory.max).  A section whose main file
 * is absent (controller not enabled or not mounted) is left out.
 */
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fsutil.h"
#include "util.h"

#define MAX_STAT_FILE 65536

static json_int_t clamp(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v;
}

/* A single-value file: a number, or "max" (UINT64_MAX).  0 or -errno; *v 0 on failure. */
static int read_u64(const char *dir, const char *file, uint64_t *v)
{
	char buf[64];
	int r = cg_read(dir, file, buf, sizeof(buf));

	*v = 0;
	if (r < 0)
		return r;
	if (streq(buf, "max")) {
		*v = UINT64_MAX;
		return 0;
	}
	return util_parse_u64(buf, v) < 0 ? -EINVAL : 0;
}

/* A flat keyed file ("key value" lines) as an object of integers; NULL when unreadable. */
static json_t *read_keyed(const char *dir, const char *file)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	char *line, *save = NULL;
	json_t *o;

	if (asprintf(&path, "%s/%s", dir, file) < 0 ||
	    fsutil_read_all(path, MAX_STAT_FILE, &buf, NULL, NULL) < 0 || !(o = json_object()))
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		uint64_t v;

		if (!sp)
			continue;
		*sp = '\0';
		if (util_parse_u64(sp + 1, &v) == 0)
			json_object_set_new(o, line, json_integer(clamp(v)));
	}
	return o;
}

static uint64_t key_u64(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static uint64_t nolimit(uint64_t v)
{
	return v == UINT64_MAX ? (uint64_t)CGROUP_STATS_NOLIMIT : v;
}

static json_t *mem_entry(uint64_t usage, uint64_t limit, uint64_t max, uint64_t failcnt)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "usage", clamp(usage), "limit", clamp(limit), "max",
			 clamp(max), "failcnt", clamp(failcnt));
}

static json_t *cpu_usage(uint64_t total, uint64_t user, uint64_t kernel)
{
	return json_pack("{s:{s:I,s:I,s:I}}", "usage", "total", clamp(total), "user", clamp(user),
			 "kernel", clamp(kernel));
}

static json_t *pids_obj(const char *dir)
{
	uint64_t cur, max;

	if (read_u64(dir, "pids.current", &cur) < 0)
		return NULL;
	read_u64(dir, "pids.max", &max);
	return json_pack("{s:I,s:I}", "current", clamp(cur), "limit",
			 clamp(max == UINT64_MAX ? 0 : max));
}

/* Set key to v in o (v NULL: left out); -ENOMEM when o could not take it. */
static int put(json_t *o, const char *key, json_t *v)
{
	if (!v)
		return 0;
	return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

/* Finish a "memory" object; takes swap and raw (either may be NULL), left out on failure. */
static json_t *add_swap_raw(json_t *o, json_t *swap, json_t *raw)
{
	if (!o) {
		json_decref(swap);
		json_decref(raw);
		return NULL;
	}
	put(o, "swap", swap);
	put(o, "raw", raw);
	return o;
}

static int need_dir(const char *dir, struct zh_error *err)
{
	if (access(dir, F_OK) < 0)
		return zh_error_set(err, errno, NULL, "cannot read cgroup %s: %s", dir,
				    strerror(errno));
	return 0;
}

/* ---- v2 ------------------------------------------------------------ */

static json_t *v2_cpu(const char *dir)
{
	json_t *st = read_keyed(dir, "cpu.stat");
	json_t *o = NULL;

	if (st && json_object_get(st, "usage_usec"))
		o = cpu_usage(key_u64(st, "usage_usec") * 1000, key_u64(st, "user_usec") * 1000,
			      key_u64(st, "system_usec") * 1000);
	if (o && json_object_get(st, "nr_periods"))
		json_object_set_new(o, "throttling",
				    json_pack("{s:I,s:I,s:I}", "periods",
					      clamp(key_u64(st, "nr_periods")), "throttledPeriods",
					      clamp(key_u64(st, "nr_throttled")), "throttledTime",
					      clamp(key_u64(st, "throttled_usec") * 1000)));
	json_decref(st);
	return o;
}

/* memory + swap, as runc reports v2 swap (see the top of this file). */
static json_t *v2_swap(const char *dir, uint64_t cur, uint64_t lim, uint64_t peak)
{
	uint64_t scur, slim, speak;

	if (read_u64(dir, "memory.swap.current", &scur) < 0)
		return NULL;
	read_u64(dir, "memory.swap.max", &slim);
	read_u64(dir, "memory.swap.peak", &speak);
	slim = (slim == UINT64_MAX || lim == UINT64_MAX) ? UINT64_MAX : slim + lim;
	return mem_entry(scur + cur, nolimit(slim), speak + peak, 0);
}

static json_t *v2_memory(const char *dir)
{
	uint64_t cur, lim, peak;
	json_t *raw, *ev, *o;

	if (read_u64(dir, "memory.current", &cur) < 0)
		return NULL;
	read_u64(dir, "memory.max", &lim);
	read_u64(dir, "memory.peak", &peak);
	ev = read_keyed(dir, "memory.events");
	raw = read_keyed(dir, "memory.stat");
	o = json_pack("{s:o,s:I}", "usage", mem_entry(cur, nolimit(lim), peak, key_u64(ev, "max")),
		      "cache", clamp(key_u64(raw, "file")));
	json_decref(ev);
	return add_swap_raw(o, v2_swap(dir, cur, lim, peak), raw);
}

int cg_stats_v2(const char *dir, json_t **out, struct zh_error *err)
{
	json_t *o;
	int r;

	if ((r = need_dir(dir, err)) < 0)
		return r;
	if (!(o = json_object()))
		return zh_error_oom(err);
	if (put(o, "cpu", v2_cpu(dir)) < 0 || put(o, "memory", v2_memory(dir)) < 0 ||
	    put(o, "pids", pids_obj(dir)) < 0) {
		json_decref(o);
		return zh_error_oom(err);
	}
	*out = o;
	return 0;
}

/* ---- v1 ------------------------------------------------------------ */

static json_t *v1_cpu(const char *dir)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t total;
	json_t *st, *o;

	if (read_u64(dir, "cpuacct.usage", &total) < 0)
		return NULL;
	if (hz <= 0)
		hz = 100;
	st = read_keyed(dir, "cpuacct.stat");
	o = cpu_usage(total, key_u64(st, "user") * (1000000000ULL / (uint64_t)hz),
		      key_u64(st, "system") * (1000000000ULL / (uint64_t)hz));
	json_decref(st);
	return o;
}

/* One v1 counter set: "<prefix>usage_in_bytes", limit_in_bytes, max_usage_in_bytes, failcnt. */
static json_t *v1_entry(const char *dir, const char *prefix)
{
	static const char *const f[] = {"usage_in_bytes", "limit_in_bytes", "max_usage_in_bytes",
					"failcnt"};
	uint64_t v[4];

	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s", prefix, f[i]);
		if (read_u64(dir, name, &v[i]) < 0 && i == 0)
			return NULL;
	}
	return mem_entry(v[0], v[1], v[2], v[3]);
}

static json_t *v1_memory(const char *dir)
{
	json_t *usage = v1_entry(dir, "memory.");
	json_t *raw, *o;

	if (!usage)
		return NULL;
	raw = read_keyed(dir, "memory.stat");
	o = json_pack("{s:o,s:I}", "usage", usage, "cache", clamp(key_u64(raw, "cache")));
	return add_swap_raw(o, v1_entry(dir, "memory.memsw."), raw);
}

int cg_stats_v1(const char *cpuacct, const char *memory, const char *pids, json_t **out,
		struct zh_error *err)
{
	json_t *o;
	int r;

	if (!memory)
		return zh_error_set(err, ENOENT, NULL,
				    "cgroup v1 controller memory is not mounted");
	if ((r = need_dir(memory, err)) < 0)
		return r;
	if (!(o = json_object()))
		return zh_error_oom(err);
	if (put(o, "cpu", cpuacct ? v1_cpu(cpuacct) : NULL) < 0 ||
	    put(o, "memory", v1_memory(memory)) < 0 ||
	    put(o, "pids", pids ? pids_obj(pids) : NULL) < 0) {
		json_decref(o);
		return zh_error_oom(err);
	}
	*out = o;
	return 0;
}

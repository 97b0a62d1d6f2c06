/*
 * runc-info.c - ps, update and events (docs/architecture.md §24.4).
 *
 * ps lists the host pids of the zone's cgroup; update maps a LinuxResources
 * object (or runc's flags) to vmadm's limits and applies them live through
 * vm_update, as `vmadm update` does; events prints the cgroup's figures as
 * runc's "stats" events.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "jsonutil.h"
#include "macro.h"
#include "oci.h"
#include "runc.h"
#include "vm.h"

static int load_live(struct rt *rt, const char *id, struct ctr *c, pid_t *pid)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (ctr_load(rt, id, c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (ctr_status(c, pid) == CTR_STOPPED) {
		ctr_clear(c);
		return rt_fail(rt, "container with id %s is not running", id);
	}
	return 0;
}

/* ---- ps ---- */

static bool pid_in(pid_t p, const pid_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* `ps <args>` filtered to the container's pids (header kept). */
static int ps_table(struct rt *rt, char **args, const pid_t *pids, size_t n)
{
	_cleanup_free_ char *cmd = strdup("ps");
	char line[4096];
	int col = -1;
	FILE *f;

	for (size_t i = 0; cmd && args[i]; i++) {
		char *nc = NULL;

		if (strchr(args[i], '\'') || asprintf(&nc, "%s '%s'", cmd, args[i]) < 0)
			return rt_fail(rt, "invalid ps argument");
		free(cmd);
		cmd = nc;
	}
	if (!args[0] && (free(cmd), cmd = strdup("ps -ef")) == NULL)
		return rt_fail(rt, "out of memory");
	if (!(f = popen(cmd, "r")))
		return rt_fail(rt, "ps: %m");
	while (fgets(line, sizeof(line), f)) {
		char copy[4096], *tok, *save;
		int k = 0;

		snprintf(copy, sizeof(copy), "%s", line);
		if (col < 0) {
			for (tok = strtok_r(copy, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save), k++)
				if (streq(tok, "PID"))
					col = k;
			if (col < 0)
				return pclose(f),
				       rt_fail(rt, "couldn't find PID field in ps output");
			fputs(line, stdout);
			continue;
		}
		for (tok = strtok_r(copy, " \t\n", &save); tok && k < col;
		     tok = strtok_r(NULL, " \t\n", &save))
			k++;
		if (tok && pid_in((pid_t)atoi(tok), pids, n))
			fputs(line, stdout);
	}
	pclose(f);
	return 0;
}

enum { P_FORMAT = 1 };
static const struct rt_opt ps_opts[] = {{"format", 'f', true, P_FORMAT}, {NULL, 0, false, 0}};

static int ps_print(struct rt *rt, const struct ctr *c, bool json, char **args)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (cgroup_pids(c->uuid, &pids, &n, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (!json)
		return ps_table(rt, args, pids, n);
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("]\n");
	return 0;
}

int cmd_ps(struct rt *rt, int argc, char **argv)
{
	bool json = false;
	const char *v;
	struct ctr c;
	pid_t pid;
	int i = 1, k, r;

	while ((k = rt_getopt(rt, argc, argv, &i, ps_opts, &v)) > 0) {
		if (!streq(v, "json") && !streq(v, "table"))
			return rt_fail(rt, "invalid format option");
		json = streq(v, "json");
	}
	if (k < 0)
		return 1;
	if (argc - i < 1)
		return rt_usage(rt, "a minimum of", 1);
	if ((r = load_live(rt, argv[i], &c, &pid)))
		return r;
	r = ps_print(rt, &c, json, argv + i + 1);
	ctr_clear(&c);
	return r;
}

/* ---- update ---- */

enum { U_RES = 1, U_MEM, U_MEMSWAP, U_MEMRES, U_PIDS, U_QUOTA, U_PERIOD, U_SHARES, U_IGNORED };
static const struct rt_opt update_opts[] = {
	{"resources", 'r', true, U_RES},
	{"memory", 0, true, U_MEM},
	{"memory-swap", 0, true, U_MEMSWAP},
	{"memory-reservation", 0, true, U_MEMRES},
	{"pids-limit", 0, true, U_PIDS},
	{"cpu-quota", 0, true, U_QUOTA},
	{"cpu-period", 0, true, U_PERIOD},
	{"cpu-share", 0, true, U_SHARES},
	{"kernel-memory", 0, true, U_IGNORED},
	{"kernel-memory-tcp", 0, true, U_IGNORED},
	{"cpu-burst", 0, true, U_IGNORED},
	{"cpu-rt-period", 0, true, U_IGNORED},
	{"cpu-rt-runtime", 0, true, U_IGNORED},
	{"cpuset-cpus", 0, true, U_IGNORED},
	{"cpuset-mems", 0, true, U_IGNORED},
	{"blkio-weight", 0, true, U_IGNORED},
	{"l3-cache-schema", 0, true, U_IGNORED},
	{"mem-bw-schema", 0, true, U_IGNORED},
	{NULL, 0, false, 0},
};

static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = streq(path, "-") ? stdin : fopen(path, "re");
	size_t cap = 0, n = 0;
	char *buf = NULL;

	if (!f)
		return -errno;
	for (;;) {
		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap = n + 65536);

			if (!nb || cap > (1u << 20))
				return free(nb ? nb : buf), f != stdin ? fclose(f) : 0, -EFBIG;
			buf = nb;
		}
		size_t k = fread(buf + n, 1, cap - n, f);

		n += k;
		if (k == 0)
			break;
	}
	if (f != stdin)
		fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

/* One runc flag into r (a size: bytes; -1 unlimited). */
static int flag_resource(struct oci_resources *r, int k, const char *v)
{
	int64_t x;

	if (util_parse_i64(v, &x) < 0)
		return -EINVAL;
	switch (k) {
	case U_MEM: r->memory_limit = x, r->set |= OCI_RES_MEM_LIMIT; break;
	case U_MEMSWAP: r->memory_swap = x, r->set |= OCI_RES_MEM_SWAP; break;
	case U_MEMRES: r->memory_reservation = x, r->set |= OCI_RES_MEM_RESERVATION; break;
	case U_PIDS: r->pids_limit = x, r->set |= OCI_RES_PIDS_LIMIT; break;
	case U_QUOTA: r->cpu_quota = x, r->set |= OCI_RES_CPU_QUOTA; break;
	case U_PERIOD: r->cpu_period = (uint64_t)x, r->set |= OCI_RES_CPU_PERIOD; break;
	case U_SHARES: r->cpu_shares = (uint64_t)x, r->set |= OCI_RES_CPU_SHARES; break;
	}
	return 0;
}

static int parse_resources_file(struct rt *rt, const char *path, struct oci_resources *res)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = read_all(path, &buf, &len);

	if (r < 0)
		return rt_fail(rt, "open %s: %s", path, strerror(-r));
	if (oci_resources_parse(buf, len, res, &err) < 0)
		return rt_fail_err(rt, &err, "invalid resources: ");
	return 0;
}

static int apply_update(struct rt *rt, const char *id, const struct oci_resources *res)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *p = NULL;
	struct ctr c;
	pid_t pid;
	int r = load_live(rt, id, &c, &pid);

	if (r)
		return r;
	if (!(p = oci_resources_to_payload(res, &err)) ||
	    vm_update(c.uuid, p, NULL, NULL, &err) < 0)
		r = rt_fail_err(rt, &err, "");
	ctr_clear(&c);
	return r;
}

int cmd_update(struct rt *rt, int argc, char **argv)
{
	struct oci_resources res = {0}, flags = {0};
	const char *v, *file = NULL;
	int i = 1, k, r;

	while ((k = rt_getopt(rt, argc, argv, &i, update_opts, &v)) > 0) {
		if (k == U_RES)
			file = v;
		else if (k != U_IGNORED && flag_resource(&flags, k, v) < 0)
			return rt_fail(rt, "invalid value \"%s\" for flag %s", v, argv[i - 1]);
	}
	if (k < 0)
		return 1;
	if (argc - i != 1)
		return rt_usage(rt, "exactly", 1);
	if (file && (r = parse_resources_file(rt, file, &res)))
		return r;
	r = apply_update(rt, argv[i], file ? &res : &flags);
	oci_resources_clear(&res);
	return r;
}

/* ---- events ---- */

static int print_stats(struct rt *rt, const struct ctr *c)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *data = NULL, *ev = NULL;
	_cleanup_free_ char *s = NULL;

	if (cgroup_stats(c->uuid, &data, &err) < 0)
		return rt_fail_err(rt, &err, "");
	ev = json_pack("{s:s,s:s,s:O}", "type", "stats", "id", c->id, "data", data);
	if (!ev || !(s = json_dumps(ev, JSON_COMPACT)))
		return rt_fail(rt, "out of memory");
	printf("%s\n", s);
	fflush(stdout);
	return 0;
}

enum { E_INTERVAL = 1, E_STATS };
static const struct rt_opt events_opts[] = {
	{"interval", 0, true, E_INTERVAL},
	{"stats", 0, false, E_STATS},
	{NULL, 0, false, 0},
};

/* "5s", "500ms", "1m", or plain seconds; <= 0 is refused. */
static int parse_duration_ms(const char *s, long *ms)
{
	char *end;
	double x = strtod(s, &end);

	if (end == s)
		return -EINVAL;
	if (streq(end, "ms"))
		*ms = (long)x;
	else if (streq(end, "s") || !*end)
		*ms = (long)(x * 1000);
	else if (streq(end, "m"))
		*ms = (long)(x * 60000);
	else
		return -EINVAL;
	return 0;
}

static int events_loop(struct rt *rt, const struct ctr *c, long ms)
{
	pid_t pid;

	while (ctr_status(c, &pid) != CTR_STOPPED) {
		if (print_stats(rt, c))
			return 1;
		usleep((useconds_t)ms * 1000);
	}
	return 0;
}

int cmd_events(struct rt *rt, int argc, char **argv)
{
	bool stats = false;
	long ms = 5000;
	const char *v;
	struct ctr c;
	pid_t pid;
	int i = 1, k, r;

	while ((k = rt_getopt(rt, argc, argv, &i, events_opts, &v)) > 0) {
		if (k == E_STATS)
			stats = true;
		else if (parse_duration_ms(v, &ms) < 0 || ms <= 0)
			return rt_fail(rt, "duration interval must be greater than 0");
	}
	if (k < 0)
		return 1;
	if (argc - i != 1)
		return rt_usage(rt, "exactly", 1);
	if ((r = load_live(rt, argv[i], &c, &pid)))
		return r;
	r = stats ? print_stats(rt, &c) : events_loop(rt, &c, ms);
	ctr_clear(&c);
	return r;
}

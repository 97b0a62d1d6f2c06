/*
 * cgroup-ctl.c - pause, list and measure a running zone through the cgroup
 * layer (tests/system/test_cgroup_freeze.py), until a command exposes them.
 *
 *   cgroup-ctl freeze UUID   cgroup_freeze(true)   -> {"frozen": 1}
 *   cgroup-ctl thaw UUID     cgroup_freeze(false)  -> {"frozen": 0}
 *   cgroup-ctl frozen UUID   cgroup_frozen         -> {"frozen": 0|1}
 *   cgroup-ctl pids UUID     cgroup_pids           -> {"pids": [...]}
 *   cgroup-ctl stats UUID    cgroup_stats          -> the stats object
 *   cgroup-ctl kill UUID     cgroup_kill_all       -> {"frozen": 0|1|-errno}
 *
 * One JSON object on stdout; exit 0, or 1 with the library's message on
 * stderr, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "util.h"

static int fail(struct zh_error *err)
{
	fprintf(stderr, "cgroup-ctl: %s\n", err->msg ? err->msg : "failed");
	zh_error_clear(err);
	return 1;
}

static int print(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

static int print_frozen(const char *uuid)
{
	return print(json_pack("{s:i}", "frozen", cgroup_frozen(uuid)));
}

static int print_pids(const char *uuid, struct zh_error *err)
{
	pid_t *v = NULL;
	size_t n = 0;
	json_t *a;

	if (cgroup_pids(uuid, &v, &n, err) < 0)
		return fail(err);
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	free(v);
	return print(json_pack("{s:o}", "pids", a));
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *cmd = argc == 3 ? argv[1] : "", *uuid = argv[argc == 3 ? 2 : 0];
	json_t *st = NULL;

	if (streq(cmd, "freeze") || streq(cmd, "thaw"))
		return cgroup_freeze(uuid, streq(cmd, "freeze"), &err) < 0 ? fail(&err)
									   : print_frozen(uuid);
	if (streq(cmd, "frozen"))
		return print_frozen(uuid);
	if (streq(cmd, "pids"))
		return print_pids(uuid, &err);
	if (streq(cmd, "stats"))
		return cgroup_stats(uuid, &st, &err) < 0 ? fail(&err) : print(st);
	if (streq(cmd, "kill"))
		return cgroup_kill_all(uuid, &err) < 0 ? fail(&err) : print_frozen(uuid);
	fprintf(stderr, "usage: cgroup-ctl freeze|thaw|frozen|pids|stats|kill UUID\n");
	return 2;
}

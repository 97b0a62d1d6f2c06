/*
 * runc-ops.c - the commands on an existing container: state, list, kill,
 * delete, pause, resume, features, checkpoint/restore (refused)
 * (docs/architecture.md §24.4).  ps, update and events are in
 * runc-info.c, exec in runc-exec.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "oci.h"
#include "runc.h"
#include "vm.h"

/* Load the one container named by argv[i] (exactly one operand left). */
static int load_one(struct rt *rt, int argc, char **argv, int i, struct ctr *c)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (argc - i != 1)
		return rt_usage(rt, "exactly", 1);
	if (ctr_load(rt, argv[i], c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	return 0;
}

/* ---- state, list ---- */

int cmd_state(struct rt *rt, int argc, char **argv)
{
	struct oci_state st;
	struct ctr c;
	char *out;
	int r = load_one(rt, argc, argv, 1, &c);

	if (r)
		return r;
	ctr_to_state(&c, &st, false);
	out = oci_state_format(&st);
	if (out)
		fputs(out, stdout);
	free(out);
	ctr_clear(&c);
	return out ? 0 : rt_fail(rt, "out of memory");
}

static void print_table(const struct oci_state *v, size_t n)
{
	printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
	       "OWNER");
	for (size_t i = 0; i < n; i++)
		printf("%-12s %-8d %-10s %-40s %-30lld %s\n", v[i].id, (int)v[i].pid, v[i].status,
		       v[i].bundle, (long long)v[i].created.tv_sec, v[i].owner);
}

enum { L_FORMAT = 1, L_QUIET };
static const struct rt_opt list_opts[] = {
	{"format", 'f', true, L_FORMAT},
	{"quiet", 'q', false, L_QUIET},
	{NULL, 0, false, 0},
};

static void list_print(char **ids, size_t n, bool json, bool quiet, struct rt *rt)
{
	struct ctr *cs = calloc(n + 1, sizeof(*cs));
	struct oci_state *st = calloc(n + 1, sizeof(*st));
	struct zh_error err = ZH_ERROR_INIT;
	size_t k = 0;

	for (size_t i = 0; cs && st && i < n; i++) {
		if (ctr_load(rt, ids[i], &cs[k], &err) < 0) {
			zh_error_clear(&err);
			continue;
		}
		ctr_to_state(&cs[k], &st[k], true);
		k++;
	}
	if (quiet)
		for (size_t i = 0; i < k; i++)
			printf("%s\n", st[i].id);
	else if (json) {
		char *s = oci_state_list_format(st, k);

		fputs(s ? s : "null\n", stdout);
		free(s);
	} else
		print_table(st, k);
	for (size_t i = 0; cs && i < k; i++)
		ctr_clear(&cs[i]);
	free(cs);
	free(st);
}

int cmd_list(struct rt *rt, int argc, char **argv)
{
	bool json = false, quiet = false;
	const char *v;
	char **ids;
	size_t n = 0;
	int i = 1, k;

	while ((k = rt_getopt(rt, argc, argv, &i, list_opts, &v)) > 0) {
		if (k == L_QUIET)
			quiet = true;
		else if (streq(v, "json") || streq(v, "table"))
			json = streq(v, "json");
		else
			return rt_fail(rt, "invalid format option");
	}
	if (k < 0)
		return 1;
	if (!(ids = ctr_list_ids(rt)))
		return rt_fail(rt, "out of memory");
	while (ids[n])
		n++;
	list_print(ids, n, json, quiet, rt);
	for (size_t j = 0; j < n; j++)
		free(ids[j]);
	free(ids);
	return 0;
}

/* ---- kill ---- */

static int kill_all(const struct ctr *c, int sig, struct zh_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(c->uuid, &pids, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++)
		kill(pids[i], sig);
	return r;
}

static int kill_loaded(struct rt *rt, const struct ctr *c, int sig, bool all)
{
	struct zh_error err = ZH_ERROR_INIT;
	pid_t pid;
	enum ctr_status s = ctr_status(c, &pid);
	int r;

	if (s == CTR_STOPPED)
		return rt_fail(rt, "container not running");
	r = all ? kill_all(c, sig, &err) : vm_kill(c->uuid, sig, &err);
	if (r == -ENOTCONN || r == -ESRCH) {
		zh_error_clear(&err);
		return rt_fail(rt, "container not running");
	}
	return r < 0 ? rt_fail_err(rt, &err, "") : 0;
}

enum { K_ALL = 1 };
static const struct rt_opt kill_opts[] = {{"all", 'a', false, K_ALL}, {NULL, 0, false, 0}};

int cmd_kill(struct rt *rt, int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	bool all = false;
	const char *v;
	struct ctr c;
	int i = 1, k, sig = SIGTERM, r;

	while ((k = rt_getopt(rt, argc, argv, &i, kill_opts, &v)) > 0)
		all = true;
	if (k < 0)
		return 1;
	if (argc - i < 1 || argc - i > 2)
		return rt_usage(rt, argc - i < 1 ? "a minimum of" : "a maximum of",
				argc - i < 1 ? 1 : 2);
	if (argc - i == 2 && oci_signal_parse(argv[i + 1], &sig, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (ctr_load(rt, argv[i], &c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	r = kill_loaded(rt, &c, sig, all);
	ctr_clear(&c);
	return r;
}

/* ---- delete ---- */

/* SIGKILL, then poll 100 x 100 ms until stopped (runc's delete --force). */
static int kill_and_wait(const struct ctr *c, struct zh_error *err)
{
	pid_t pid;

	if (cgroup_frozen(c->uuid) == 1)
		cgroup_freeze(c->uuid, false, err);
	zh_error_clear(err);
	vm_kill(c->uuid, SIGKILL, err);
	zh_error_clear(err);
	for (int i = 0; i < 100; i++) {
		if (ctr_status(c, &pid) == CTR_STOPPED)
			return 0;
		usleep(100000);
	}
	return zh_error_set(err, EBUSY, NULL, "container init still running");
}

static int delete_loaded(struct rt *rt, const struct ctr *c, bool force)
{
	struct zh_error err = ZH_ERROR_INIT;
	pid_t pid;
	enum ctr_status s = ctr_status(c, &pid);

	if ((s == CTR_RUNNING || s == CTR_PAUSED) && !force)
		return rt_fail(rt, "cannot delete container %s that is not stopped: %s", c->id,
			       ctr_status_name(s));
	if (s != CTR_STOPPED && kill_and_wait(c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (ctr_destroy(c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	ctr_remove(rt, c->id);
	if (rt_hooks_run(c, c->hooks, "poststop", "stopped", 0, &err) < 0)
		return rt_fail_err(rt, &err, "");
	return 0;
}

enum { D_FORCE = 1 };
static const struct rt_opt delete_opts[] = {{"force", 'f', false, D_FORCE}, {NULL, 0, false, 0}};

int cmd_delete(struct rt *rt, int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	bool force = false;
	const char *v;
	struct ctr c;
	int i = 1, k, r;

	while ((k = rt_getopt(rt, argc, argv, &i, delete_opts, &v)) > 0)
		force = true;
	if (k < 0)
		return 1;
	if (argc - i != 1)
		return rt_usage(rt, "exactly", 1);
	if (ctr_load(rt, argv[i], &c, &err) < 0) {
		/* a half-made record goes; with -f an unknown id is no error */
		if (oci_id_valid(argv[i]))
			ctr_remove(rt, argv[i]);
		if (force) {
			zh_error_clear(&err);
			return 0;
		}
		return rt_fail_err(rt, &err, "");
	}
	r = delete_loaded(rt, &c, force);
	ctr_clear(&c);
	return r;
}

/* ---- pause, resume ---- */

static int freeze_cmd(struct rt *rt, int argc, char **argv, bool freeze)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctr c;
	pid_t pid;
	enum ctr_status s;
	int r = load_one(rt, argc, argv, 1, &c);

	if (r)
		return r;
	s = ctr_status(&c, &pid);
	if (freeze && s != CTR_RUNNING)
		r = rt_fail(rt, s == CTR_PAUSED ? "container paused" : "container not running");
	else if (!freeze && s != CTR_PAUSED)
		r = rt_fail(rt, "container not paused");
	else if (cgroup_freeze(c.uuid, freeze, &err) < 0)
		r = rt_fail_err(rt, &err, "");
	ctr_clear(&c);
	return r;
}

int cmd_pause(struct rt *rt, int argc, char **argv)
{
	return freeze_cmd(rt, argc, argv, true);
}

int cmd_resume(struct rt *rt, int argc, char **argv)
{
	return freeze_cmd(rt, argc, argv, false);
}

/* ---- features, checkpoint ---- */

int cmd_features(struct rt *rt, int argc, char **argv)
{
	char *s = oci_features_json();

	(void)argc;
	(void)argv;
	if (!s)
		return rt_fail(rt, "out of memory");
	fputs(s, stdout);
	free(s);
	return 0;
}

/* Refused in the shape callers handle: exit 1 and an error record. */
int cmd_checkpoint(struct rt *rt, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return rt_fail(rt,
		       "%s is not supported: %s cannot checkpoint or restore containers "
		       "(org.opencontainers.runc.checkpoint.enabled is false)",
		       rt->cmd, RT_NAME);
}

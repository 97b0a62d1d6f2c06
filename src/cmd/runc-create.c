/*
 * runc-create.c - create, start and run (docs/architecture.md §24.4).
 *
 * create:  id checked -> config.json parsed (nothing made yet) -> <root>/<id>
 *          reserved -> the VM made (brand lx, docker, oci_bundle, alias = id,
 *          limits from linux.resources) -> record saved -> its zoneadmd
 *          spawned as our child (vm_start_oci): init waits at the start gate,
 *          our stdio is its stdio -> prestart, createRuntime, createContainer
 *          hooks -> pid file.  Any failure undoes every step: no VM, no record.
 * start:   created only -> startContainer hooks -> CTL_START (the exec) ->
 *          poststart hooks (a failure kills the container).
 * run:     create + start, then wait for init (our child) and delete.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "macro.h"
#include "oci.h"
#include "runc.h"
#include "vm.h"

struct create_opts {
	const char *bundle, *console_socket, *pid_file;
	int preserve_fds;
	bool detach; /* run -d */
};

enum {
	C_BUNDLE = 1,
	C_CONSOLE,
	C_PIDFILE,
	C_PRESERVE,
	C_NOPIVOT,
	C_NOKEYRING,
	C_PIDFD,
	C_DETACH,
	C_KEEP,
	C_NOSUBREAPER
};

static const struct rt_opt create_opts_tab[] = {
	{"bundle", 'b', true, C_BUNDLE},
	{"console-socket", 0, true, C_CONSOLE},
	{"pid-file", 0, true, C_PIDFILE},
	{"preserve-fds", 0, true, C_PRESERVE},
	{"pidfd-socket", 0, true, C_PIDFD},
	{"no-pivot", 0, false, C_NOPIVOT},
	{"no-new-keyring", 0, false, C_NOKEYRING},
	{"detach", 'd', false, C_DETACH},
	{"keep", 0, false, C_KEEP},
	{"no-subreaper", 0, false, C_NOSUBREAPER},
	{NULL, 0, false, 0},
};

static int parse_create(struct rt *rt, int argc, char **argv, struct create_opts *o,
			const char **id)
{
	const char *v;
	int i = 1, k;

	while ((k = rt_getopt(rt, argc, argv, &i, create_opts_tab, &v)) > 0) {
		if (k == C_BUNDLE)
			o->bundle = v;
		else if (k == C_CONSOLE)
			o->console_socket = v;
		else if (k == C_PIDFILE)
			o->pid_file = v;
		else if (k == C_DETACH)
			o->detach = true;
		else if (k == C_PRESERVE &&
			 (util_parse_i64(v, &(int64_t){0}) < 0 || (o->preserve_fds = atoi(v)) < 0 ||
			  o->preserve_fds > 1000))
			return rt_fail(rt, "invalid value \"%s\" for flag --preserve-fds", v);
	}
	if (k < 0)
		return 1;
	if (argc - i != 1)
		return rt_usage(rt, "exactly", 1);
	*id = argv[i];
	return 0;
}

/* ---- the VM's payload ---- */

static json_t *make_payload(const char *id, const char *bundle, const struct oci_spec *s,
			    struct zh_error *err)
{
	_cleanup_json_ json_t *limits = oci_resources_to_payload(&s->lnx.resources, err);
	json_t *p;

	if (!limits)
		return NULL;
	p = json_pack("{s:s,s:b,s:s,s:s,s:b,s:s,s:{s:s},s:[]}", "brand", "lx", "docker", 1, "alias",
		      id, "oci_bundle", bundle, "autoboot", 0, "kernel_version", "4.3.0",
		      "internal_metadata", "docker:id", id, "nics");
	if (!p || json_object_update(p, limits) < 0)
		return json_decref(p), zh_error_oom(err), NULL;
	if (s->hostname && json_object_set_new(p, "hostname", json_string(s->hostname)) < 0)
		return json_decref(p), zh_error_oom(err), NULL;
	return p;
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The hooks as JSON (the record keeps them for start and delete). */
static json_t *hooks_json(const struct oci_spec *s)
{
	json_t *o = json_object();

	for (int ph = 0; o && ph < OCI_HOOK_NPHASES; ph++) {
		const struct oci_hook_list *l = &s->hooks[ph];
		json_t *a = json_array();

		for (size_t i = 0; a && i < l->n; i++) {
			json_t *h = json_pack("{s:s,s:i}", "path", l->v[i].path, "timeout",
					      l->v[i].timeout);

			if (h && l->v[i].args)
				json_object_set_new(h, "args", strv_json(l->v[i].args));
			if (h && l->v[i].env)
				json_object_set_new(h, "env", strv_json(l->v[i].env));
			json_array_append_new(a, h);
		}
		if (a && json_array_size(a))
			json_object_set_new(o, oci_hook_name(ph), a);
		else
			json_decref(a);
	}
	return o;
}

static char *now_created(void)
{
	struct timespec ts;
	char *s = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (asprintf(&s, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec) < 0)
		return NULL;
	return s;
}

static int fill_record(struct ctr *c, const char *id, const char *bundle, const struct oci_spec *s,
		       struct zh_error *err)
{
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->bundle = strdup(bundle);
	c->rootfs = strdup(s->root_path);
	c->created = now_created();
	c->annotations = s->annotations ? json_incref(s->annotations) : NULL;
	c->hooks = hooks_json(s);
	if (!c->bundle || !c->rootfs || !c->created || !c->hooks)
		return zh_error_oom(err);
	return 0;
}

/* ---- create ---- */

static void undo_create(const struct rt *rt, const struct ctr *c)
{
	struct zh_error e = ZH_ERROR_INIT;

	if (c->uuid[0]) {
		vm_kill(c->uuid, SIGKILL, &e);
		zh_error_clear(&e);
		ctr_destroy(c, &e);
		zh_error_clear(&e);
	}
	ctr_remove(rt, c->id);
}

static int create_vm(const struct rt *rt, struct ctr *c, const struct oci_spec *s,
		     struct zh_error *err)
{
	_cleanup_json_ json_t *payload = make_payload(c->id, c->bundle, s, err);
	int r;

	if (!payload)
		return -ENOMEM;
	r = vm_create(payload, NULL, NULL, c->uuid, err);
	if (r < 0)
		c->uuid[0] = '\0';
	return r < 0 ? r : ctr_save(rt, c, err);
}

static int boot(struct ctr *c, const struct create_opts *o, pid_t *pid, struct zh_error *err)
{
	struct vm_oci_start st = {.console_socket = o->console_socket,
				  .preserve_fds = o->preserve_fds};
	static const char *const phases[] = {"prestart", "createRuntime", "createContainer"};
	int r = vm_start_oci(c->uuid, &st, pid, err);

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(phases); i++)
		r = rt_hooks_run(c, c->hooks, phases[i], "creating", *pid, err);
	if (r == 0 && o->pid_file)
		r = rt_write_pidfile(o->pid_file, *pid, err);
	return r;
}

static int do_create(struct rt *rt, const struct create_opts *o, const char *id, struct ctr *c,
		     pid_t *pid)
{
	struct zh_error err = ZH_ERROR_INIT;
	char bundle[PATH_MAX];
	struct oci_spec *s = NULL;
	int r;

	if (!oci_id_valid(id))
		return rt_fail(rt, "invalid container ID format");
	if (!realpath(o->bundle ? o->bundle : ".", bundle))
		return rt_fail(rt, "%s create failed: bundle %s: %m", RT_NAME,
			       o->bundle ? o->bundle : ".");
	if (!(s = oci_config_load(AT_FDCWD, bundle, &err)))
		return rt_fail_err(rt, &err, RT_NAME " create failed: ");
	r = ctr_reserve(rt, id, &err);
	if (r == 0 && (r = fill_record(c, id, bundle, s, &err)) == 0 &&
	    (r = create_vm(rt, c, s, &err)) == 0)
		r = boot(c, o, pid, &err);
	oci_spec_free(s);
	if (r < 0 && !c->id[0]) /* the id is another's, or nothing was made */
		return rt_fail_err(rt, &err, r == -EEXIST ? "" : RT_NAME " create failed: ");
	if (r < 0) {
		undo_create(rt, c);
		return rt_fail_err(rt, &err, RT_NAME " create failed: ");
	}
	return 0;
}

int cmd_create(struct rt *rt, int argc, char **argv)
{
	struct create_opts o = {0};
	struct ctr c = {0};
	const char *id;
	pid_t pid;
	int r = parse_create(rt, argc, argv, &o, &id);

	if (r == 0)
		r = do_create(rt, &o, id, &c, &pid);
	ctr_clear(&c);
	return r;
}

/* ---- start ---- */

static int start_loaded(struct rt *rt, struct ctr *c)
{
	struct zh_error err = ZH_ERROR_INIT;
	pid_t pid;
	enum ctr_status s = ctr_status(c, &pid);

	if (s == CTR_STOPPED)
		return rt_fail(rt, "cannot start a container that has stopped");
	if (s == CTR_RUNNING)
		return rt_fail(rt, "cannot start an already running container");
	if (s != CTR_CREATED)
		return rt_fail(rt, "cannot start a container in the %s state", ctr_status_name(s));
	if (rt_hooks_run(c, c->hooks, "startContainer", "created", pid, &err) < 0 ||
	    vm_oci_start_process(c->uuid, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (rt_hooks_run(c, c->hooks, "poststart", "running", pid, &err) < 0) {
		struct zh_error e = ZH_ERROR_INIT;

		vm_kill(c->uuid, SIGKILL, &e);
		zh_error_clear(&e);
		return rt_fail_err(rt, &err, "");
	}
	return 0;
}

int cmd_start(struct rt *rt, int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctr c;
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return rt_usage(rt, "exactly", 1);
	if (ctr_load(rt, argv[1], &c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	r = start_loaded(rt, &c);
	ctr_clear(&c);
	return r;
}

/* ---- run: create + start, wait, delete ---- */

static int wait_init(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int cmd_run(struct rt *rt, int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct create_opts o = {0};
	struct ctr c = {0};
	const char *id;
	pid_t pid = 0;
	int r = parse_create(rt, argc, argv, &o, &id);

	if (r == 0 && (r = do_create(rt, &o, id, &c, &pid)) == 0)
		r = start_loaded(rt, &c);
	if (r == 0 && !o.detach) {
		r = wait_init(pid);
		rt_hooks_run(&c, c.hooks, "poststop", "stopped", 0, &err);
		zh_error_clear(&err);
		ctr_destroy(&c, &err);
		zh_error_clear(&err);
		ctr_remove(rt, c.id);
	}
	ctr_clear(&c);
	return r;
}

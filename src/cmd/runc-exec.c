/*
 * runc-exec.c - exec: a new process in a running container
 * (docs/architecture.md §24.4).
 *
 * The process is the bundle's `process` (or --process FILE, used as it
 * is) with the command line's overrides; it enters the zone through
 * zone_enter (zone-enter.c): every namespace and the cgroup of the zone,
 * the zone's ids, capabilities within the zone's own set, zonehost's
 * seccomp filter and then the container's profile.  It is our child: with
 * -d we return once it runs (pid file written) and the caller's subreaper
 * (containerd's shim, conmon) inherits it; without -d our exit status is
 * its own (255 when the exec itself failed: "exec failed: ...").
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "oci.h"
#include "runc.h"
#include "zone.h"

#define MAX_MULTI 256

struct exec_opts {
	const char *process_file, *pid_file, *console_socket, *cwd, *user;
	const char *env[MAX_MULTI], *caps[MAX_MULTI], *gids[MAX_MULTI];
	size_t nenv, ncaps, ngids;
	bool detach, tty, nnp, ignore_paused;
	int preserve_fds;
};

enum {
	X_PROC = 1,
	X_DETACH,
	X_PIDFILE,
	X_CONSOLE,
	X_TTY,
	X_CWD,
	X_ENV,
	X_USER,
	X_GIDS,
	X_CAP,
	X_NNP,
	X_IGNPAUSED,
	X_PRESERVE,
	X_IGNORED,
	X_IGNORED_FLAG
};

static const struct rt_opt exec_opts_tab[] = {
	{"process", 'p', true, X_PROC},
	{"detach", 'd', false, X_DETACH},
	{"pid-file", 0, true, X_PIDFILE},
	{"console-socket", 0, true, X_CONSOLE},
	{"tty", 't', false, X_TTY},
	{"cwd", 0, true, X_CWD},
	{"env", 'e', true, X_ENV},
	{"user", 'u', true, X_USER},
	{"additional-gids", 'g', true, X_GIDS},
	{"cap", 'c', true, X_CAP},
	{"no-new-privs", 0, false, X_NNP},
	{"ignore-paused", 0, false, X_IGNPAUSED},
	{"preserve-fds", 0, true, X_PRESERVE},
	{"pidfd-socket", 0, true, X_IGNORED},
	{"process-label", 0, true, X_IGNORED},
	{"apparmor", 0, true, X_IGNORED},
	{"cgroup", 0, true, X_IGNORED},
	{NULL, 0, false, 0},
};

static int push(const char **v, size_t *n, const char *s)
{
	if (*n >= MAX_MULTI)
		return -E2BIG;
	v[(*n)++] = s;
	return 0;
}

static int exec_one(struct exec_opts *o, int k, const char *v)
{
	switch (k) {
	case X_PROC: o->process_file = v; return 0;
	case X_DETACH: o->detach = true; return 0;
	case X_PIDFILE: o->pid_file = v; return 0;
	case X_CONSOLE: o->console_socket = v; return 0;
	case X_TTY: o->tty = true; return 0;
	case X_CWD: o->cwd = v; return 0;
	case X_ENV: return push(o->env, &o->nenv, v);
	case X_USER: o->user = v; return 0;
	case X_GIDS: return push(o->gids, &o->ngids, v);
	case X_CAP: return push(o->caps, &o->ncaps, v);
	case X_NNP: o->nnp = true; return 0;
	case X_IGNPAUSED: o->ignore_paused = true; return 0;
	case X_PRESERVE: o->preserve_fds = atoi(v); return o->preserve_fds < 0 ? -EINVAL : 0;
	default: return 0;
	}
}

/* ---- the process ---- */

static char *slurp(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	size_t cap = 1 << 20, n = 0;
	char *buf = fd >= 0 ? malloc(cap + 1) : NULL;
	ssize_t r;

	while (buf && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int cap_bit(const char *name)
{
	for (int i = 0; i <= OCI_CAP_LAST; i++) {
		const char *n = oci_cap_name(i);

		if (n && (!strcasecmp(n, name) || !strcasecmp(n + 4, name)))
			return i;
	}
	return -1;
}

/* The command line's overrides on p (runc's getProcess). */
static int override(struct rt *rt, struct oci_process *p, const struct exec_opts *o, char **args)
{
	if (args && args[0]) {
		char **dup = calloc(1, sizeof(char *));
		size_t n = 0;

		while (dup && args[n]) {
			char **nd = realloc(dup, (n + 2) * sizeof(char *));

			if (!nd)
				return rt_fail(rt, "out of memory");
			dup = nd;
			dup[n] = strdup(args[n]);
			dup[++n] = NULL;
		}
		for (size_t i = 0; p->args && p->args[i]; i++)
			free(p->args[i]);
		free(p->args);
		p->args = dup;
	} else if (!o->process_file)
		return rt_fail(rt, "exec args cannot be empty");
	if (o->cwd) {
		free(p->cwd);
		p->cwd = strdup(o->cwd);
	}
	if (o->tty)
		p->terminal = true;
	if (o->nnp)
		p->no_new_privileges = true;
	for (size_t i = 0; i < o->ncaps; i++) {
		int b = cap_bit(o->caps[i]);

		if (b < 0)
			return rt_fail(rt, "unknown capability %s", o->caps[i]);
		for (int s = 0; s < OCI_CAP_NSETS; s++)
			if (s != OCI_CAP_AMBIENT)
				p->caps[s] |= 1ull << b, p->has_caps[s] = true;
	}
	if (o->user && sscanf(o->user, "%u:%u", &p->uid, &p->gid) < 1)
		return rt_fail(rt, "invalid --user %s: uid[:gid] expected", o->user);
	return 0;
}

/* env: the process's, then -e K=V (a later one replaces an earlier). */
static char **merged_env(char **base, const struct exec_opts *o)
{
	size_t nb = 0, n = 0;
	char **v;

	while (base && base[nb])
		nb++;
	if (!(v = calloc(nb + o->nenv + 1, sizeof(char *))))
		return NULL;
	for (size_t i = 0; i < nb; i++)
		v[n++] = base[i];
	for (size_t i = 0; i < o->nenv; i++) {
		size_t kl = strcspn(o->env[i], "=");
		size_t j = 0;

		while (j < n && !(strncmp(v[j], o->env[i], kl) == 0 && v[j][kl] == '='))
			j++;
		v[j] = (char *)o->env[i];
		n += j == n;
	}
	return v;
}

/* ---- entering the zone ---- */

struct exec_ctx {
	struct oci_spec *spec; /* the bundle's: process base and seccomp */
	struct oci_process *proc;
	struct sock_fprog prog;
	char **env;
	gid_t groups[MAX_MULTI + 64];
};

static void fill_ids(struct zone_enter_spec *s, struct exec_ctx *x, const struct exec_opts *o)
{
	const struct oci_process *p = x->proc;
	size_t n = 0;

	for (size_t i = 0; i < p->n_additional_gids && n < ARRAY_SIZE(x->groups); i++)
		x->groups[n++] = p->additional_gids[i];
	for (size_t i = 0; i < o->ngids && n < ARRAY_SIZE(x->groups); i++)
		x->groups[n++] = (gid_t)atoi(o->gids[i]);
	s->has_ids = true;
	s->uid = p->uid;
	s->gid = p->gid;
	s->ngroups = n;
	s->groups = x->groups;
}

static void fill_spec(struct zone_enter_spec *s, struct exec_ctx *x, const struct exec_opts *o)
{
	const struct oci_process *p = x->proc;

	s->argv = p->args;
	s->envp = x->env;
	s->cwd = p->cwd;
	fill_ids(s, x, o);
	s->no_new_privs = p->no_new_privileges;
	s->has_caps = p->has_caps[OCI_CAP_BOUNDING] || p->has_caps[OCI_CAP_EFFECTIVE] ||
		      p->has_caps[OCI_CAP_PERMITTED];
	s->cap_bounding = p->caps[OCI_CAP_BOUNDING];
	s->cap_effective = p->caps[OCI_CAP_EFFECTIVE];
	s->cap_permitted = p->caps[OCI_CAP_PERMITTED];
	s->cap_inheritable = p->caps[OCI_CAP_INHERITABLE];
	s->cap_ambient = p->caps[OCI_CAP_AMBIENT];
	s->extra_seccomp = x->prog.len ? &x->prog : NULL;
	s->pty = p->terminal;
	s->term = "xterm";
	s->oci_stdio = true;
	s->preserve_fds = o->preserve_fds;
	s->outlive_caller = true;
	for (int i = 0; i < 3; i++)
		s->stdio[i] = i;
}

static int session_out(struct rt *rt, struct zone_session *zs, const struct exec_opts *o)
{
	struct zh_error err = ZH_ERROR_INIT;
	int code = 0;

	if (zs->master_fd >= 0 && o->console_socket &&
	    rt_send_console(o->console_socket, zs->master_fd, "/dev/ptmx", &err) < 0)
		return rt_fail_err(rt, &err, "exec failed: ");
	if (o->pid_file && rt_write_pidfile(o->pid_file, zs->pid, &err) < 0)
		return rt_fail_err(rt, &err, "exec failed: ");
	if (o->detach)
		return 0;
	if (zone_session_wait(zs, &code, &err) < 0)
		return rt_fail_err(rt, &err, "exec failed: "), 255;
	return code;
}

static int enter(struct rt *rt, const struct ctr *c, pid_t pid, struct exec_ctx *x,
		 const struct exec_opts *o)
{
	struct zone_enter_spec s = {.uuid = c->uuid, .init_pid = pid};
	struct zh_error err = ZH_ERROR_INIT;
	struct zone_session zs = {.master_fd = -EBADF};
	unsigned int flags = 0;
	int r;

	if (x->spec && oci_seccomp_compile(x->spec, &x->prog, &flags, &err) < 0)
		return rt_fail_err(rt, &err, "exec failed: "), 255;
	if (!(x->env = merged_env(x->proc->env, o)))
		return rt_fail(rt, "out of memory"), 255;
	fill_spec(&s, x, o);
	if (zone_enter(&s, &zs, &err) < 0)
		return rt_fail_err(rt, &err, "exec failed: "), 255;
	r = session_out(rt, &zs, o);
	zone_session_close(&zs);
	return r;
}

static int load_process(struct rt *rt, const struct ctr *c, struct exec_ctx *x,
			const struct exec_opts *o)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	x->spec = oci_config_load(AT_FDCWD, c->bundle, &err);
	zh_error_clear(&err); /* the bundle may be gone: no profile then */
	if (o->process_file) {
		if (!(buf = slurp(o->process_file, &len)))
			return rt_fail(rt, "exec failed: open %s: %m", o->process_file), 255;
		if (!(x->proc = oci_process_parse(buf, len, &err)))
			return rt_fail_err(rt, &err, "exec failed: "), 255;
		return 0;
	}
	if (!x->spec)
		return rt_fail(rt, "exec failed: the bundle's config.json cannot be read"), 255;
	x->proc = x->spec->process; /* borrowed */
	x->spec->process = NULL;
	return 0;
}

static int exec_loaded(struct rt *rt, const struct ctr *c, const struct exec_opts *o, char **args)
{
	struct exec_ctx x = {0};
	pid_t pid;
	enum ctr_status s = ctr_status(c, &pid);
	int r;

	if (s == CTR_STOPPED)
		return rt_fail(rt, "cannot exec in a stopped container"), 255;
	if (s == CTR_PAUSED && !o->ignore_paused)
		return rt_fail(rt, "cannot exec in a paused container "
				   "(use --ignore-paused to override)"),
		       255;
	r = load_process(rt, c, &x, o);
	if (r == 0 && (r = override(rt, x.proc, o, args)) != 0)
		r = 255;
	if (r == 0)
		r = enter(rt, c, pid, &x, o);
	free(x.env);
	oci_seccomp_free(&x.prog);
	oci_process_free(x.proc);
	oci_spec_free(x.spec);
	return r;
}

int cmd_exec(struct rt *rt, int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct exec_opts o = {0};
	const char *v;
	struct ctr c;
	int i = 1, k, r;

	while ((k = rt_getopt(rt, argc, argv, &i, exec_opts_tab, &v)) > 0)
		if (exec_one(&o, k, v) < 0)
			return rt_fail(rt, "invalid value for %s", argv[i - 1]);
	if (k < 0)
		return 1;
	if (argc - i < 1)
		return rt_usage(rt, "a minimum of", 1);
	if (ctr_load(rt, argv[i], &c, &err) < 0)
		return rt_fail_err(rt, &err, "");
	if (i + 1 < argc && streq(argv[i + 1], "--"))
		i++;
	r = exec_loaded(rt, &c, &o, argv + i + 1);
	ctr_clear(&c);
	return r;
}

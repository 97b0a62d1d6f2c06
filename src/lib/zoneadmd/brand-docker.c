/*
 * brand-docker.c - docker zones: `docker: true` lx VMs made by vmadm from
 * a docker image (docs/architecture.md §24.3), run as Triton runs them.
 *
 * The payload is one process, not an init: argv is internal_metadata's
 * docker:entrypoint followed by docker:cmd (each a JSON-encoded array of
 * strings, as Triton stores them), its environment docker:env (a JSON
 * array of "K=V"; PATH defaults to the usual one), its cwd docker:workdir,
 * its user docker:user ("uid", "uid:gid", "name", "name:group"), resolved
 * by the zone's first process in the zone's own /etc/passwd and
 * /etc/group after pivot_root (zone-user.c).  argv[0] without a slash is
 * looked up in that PATH inside the zone (zone-run.c).
 *
 *     z->ops = &brand_docker;   (brand_find: docker true, no oci_bundle)
 *
 * Its stdout and stderr are pipes zoneadmd reads into logs/stdio.log as
 * docker json-file lines (zoneadmd-stdio.c); stdin is /dev/null.  No init
 * check, no reboot when it ends (restart_init false): its end is the VM's
 * end, exit.json has its status.  `vmadm stop` sends SIGTERM (or
 * halt_signal), and after the timeout (default 10 s, `-t` to change it)
 * SIGKILL to the process and the cgroup.  The network is the OS zone's
 * (brand-zone-net.c): VNICs, nft, resolv.conf and hosts as for any zone.
 *
 * The common ops (prepare, signal, kill, reap, spawn) are shared with the
 * OCI container brand (brand-oci.c) through brand-docker.h.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "brand-docker.h"
#include "brand-zone.h"
#include "brand.h"
#include "cgroup.h"
#include "jsonutil.h"
#include "signame.h"
#include "zoneadmd.h"

#define DOCKER_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- shared with brand-oci.c ---- */

int docker_prepare(struct zad *z, struct zh_error *err)
{
	const char *s = jsonutil_str(z->vm, "halt_signal");

	z->halt_sig = SIGTERM;
	z->reboot_sig = SIGTERM;
	z->stop_timeout = DOCKER_STOP_TIMEOUT;
	if (s && *s && signame_parse(s, &z->halt_sig) < 0)
		return zh_error_set(err, EINVAL, "halt_signal",
				    "Invalid value(s) for: halt_signal");
	return 0;
}

int docker_signal(struct zad *z, int sig)
{
	if (z->zp.pidfd < 0)
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, z->zp.pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

void docker_kill(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->zp.pidfd >= 0)
		docker_signal(z, SIGKILL);
	if (z->cgroup_made && cgroup_kill_all(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

int docker_reap(struct zad *z, int *status, bool *reboot)
{
	siginfo_t si = {0};

	*reboot = false; /* restart_init false: its end is the VM's */
	if (waitid(P_PIDFD, (id_t)z->zp.pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno != ECHILD || !z->dk.caller_reaps)
			return -EAGAIN;
		*status = -1; /* the caller's child (CLONE_PARENT): it has the status */
		return 0;
	}
	if (si.si_pid == 0)
		return -EAGAIN;
	*status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	return 0;
}

int docker_spawn(struct zad *z, struct zone_spec *s, struct zh_error *err)
{
	_cleanup_close_ int cgfd = -EBADF;
	const char *h = jsonutil_str(z->vm, "hostname");

	if (cgroup_version() == 2 && (cgfd = cgroup_open_fd(z->uuid, err)) < 0)
		return cgfd;
	s->uuid = z->uuid;
	s->root = z->root;
	s->hostname = s->hostname ? s->hostname : h && *h ? h : z->uuid;
	s->id_base = z->id_base;
	s->cgroup_fd = cgfd >= 0 ? cgfd : -1;
	s->cgroup_uuid = z->uuid;
	int r = zone_spawn(s, &z->zp, err);
	if (r == 0)
		zad_logf(z, "booted: %s pid %d", s->argv[0], (int)z->zp.pid);
	return r;
}

/* ---- the process from internal_metadata ---- */

/* internal_metadata[key]: a JSON-encoded array of strings, appended to v (n used). */
static int md_array(const struct zad *z, const char *key, char ***v, size_t *n,
		    struct zh_error *err)
{
	const char *s = jsonutil_str(json_object_get(z->vm, "internal_metadata"), key);
	_cleanup_json_ json_t *a = NULL;
	size_t i;
	json_t *e;

	if (!s || !*s)
		return 0;
	a = json_loads(s, JSON_DECODE_ANY, NULL);
	if (json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return zh_error_set(err, EINVAL, key, "%s: must be a JSON array of strings", key);
	char **nv = realloc(*v, (*n + json_array_size(a) + 2) * sizeof(char *));
	if (!nv)
		return zh_error_oom(err);
	*v = nv;
	(*v)[*n] = NULL;
	json_array_foreach (a, i, e) {
		if (!json_is_string(e))
			return zh_error_set(err, EINVAL, key, "%s: must be a JSON array of strings",
					    key);
		if (!((*v)[(*n)++] = strdup(json_string_value(e))))
			return zh_error_oom(err);
		(*v)[*n] = NULL;
	}
	return 0;
}

static bool has_path(char **env)
{
	for (char **e = env; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return true;
	return false;
}

static int md_process(const struct zad *z, char ***argv, char ***env, struct zh_error *err)
{
	size_t na = 0, ne = 0;

	if (md_array(z, "docker:entrypoint", argv, &na, err) < 0 ||
	    md_array(z, "docker:cmd", argv, &na, err) < 0 ||
	    md_array(z, "docker:env", env, &ne, err) < 0)
		return -err->errnum;
	if (na == 0)
		return zh_error_set(
			err, EINVAL, "docker:cmd",
			"docker: no command to run (internal_metadata docker:entrypoint "
			"and docker:cmd are both empty)");
	if (!has_path(*env)) {
		char **nv = realloc(*env, (ne + 2) * sizeof(char *));
		if (!nv)
			return zh_error_oom(err);
		*env = nv;
		if (!((*env)[ne++] = strdup(DOCKER_PATH)))
			return zh_error_oom(err);
		(*env)[ne] = NULL;
	}
	return 0;
}

static const char *md_str(const struct zad *z, const char *key)
{
	const char *s = jsonutil_str(json_object_get(z->vm, "internal_metadata"), key);

	return s && *s ? s : NULL;
}

static int spawn_md(struct zad *z, char **argv, char **env, int w[2], struct zh_error *err)
{
	struct zone_run run = {
		.cwd = md_str(z, "docker:workdir"),
		.user = md_str(z, "docker:user"),
		.stdio = true,
		.stdio_fds = {-1, w[0], w[1]},
		.gate_fd = -1,
	};
	const char *brand = jsonutil_str(z->vm, "brand");
	struct zone_spec s = {
		.argv = argv,
		.envp = env,
		.console_fd = -1,
		.before_release = zone_net_hook,
		.hook_ctx = z,
		.serial_fd = z->mdata.serial_slave > STDERR_FILENO ? z->mdata.serial_slave : 0,
		.mdata_dir = z->mdata.dir,
		.mdata_at = brand && streq(brand, "lx") ? "/native/.zonecontrol" : "/.zonecontrol",
		.mdata_tool = z->mdata.tool[0] ? z->mdata.tool : NULL,
		.run = &run,
	};

	return docker_spawn(z, &s, err);
}

static int md_boot(struct zad *z, struct zh_error *err)
{
	_cleanup_strv_ char **argv = NULL, **env = NULL;
	int w[2] = {-EBADF, -EBADF}, r;

	if ((r = md_process(z, &argv, &env, err)) < 0)
		return r;
	zone_net_prepare(z);
	r = zad_stdio_open(z, w, err);
	if (r == 0)
		r = spawn_md(z, argv, env, w, err);
	closep(&w[0]); /* the process has its copies */
	closep(&w[1]);
	return r;
}

static int md_console(struct zad *z, struct zh_error *err)
{
	return 0; /* stdio goes to logs/stdio.log; no console */
}

static void md_free(struct zad *z)
{
	zad_stdio_close(z);
}

const struct brand_ops brand_docker = {
	.name = "docker",
	.prepare = docker_prepare,
	.console = md_console,
	.boot = md_boot,
	.signal = docker_signal,
	.kill = docker_kill,
	.reap = docker_reap,
	.net_update = zone_net_update,
	.net_release = zone_net_release,
	.free = md_free,
	.mdata = true,
};

/*
 * runc-hooks.c - the OCI hooks (docs/architecture.md §24.4).
 *
 * Each hook is {path, args, env, timeout}; the container's state goes on
 * its stdin; hooks of a phase run in order and the first failure stops the
 * phase: "error running <phase> hook #<i>: <why>, stdout: ..., stderr: ...",
 * or "hook ran past specified timeout of N.Ns" after killing it.
 *
 * Where they run: prestart, createRuntime, poststart and poststop in the
 * runtime's namespaces, as host root.  createContainer joins the
 * container's network, UTS and IPC namespaces but keeps the runtime's
 * mount namespace: a host-root process must never load libraries from the
 * tenant's root file system.  startContainer, whose path the spec resolves
 * in the container, runs inside the zone as the zone's root (zone_enter:
 * the zone's user namespace, capabilities and seccomp filter), never as
 * host root.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "macro.h"
#include "runc.h"
#include "zone.h"

#define HOOK_OUT_MAX 4096

struct hook {
	const char *path;
	char **args, **env;
	int timeout; /* seconds; 0: none */
};

static char **strv_from(const json_t *a, const char *dflt)
{
	size_t n = json_is_array(a) ? json_array_size(a) : 0, i;
	char **v = calloc(n + 2, sizeof(char *));

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(v[i] = strdup(json_string_value(json_array_get(a, i)) ?: "")))
			return strv_free(v), NULL;
	if (n == 0 && dflt && !(v[0] = strdup(dflt)))
		return strv_free(v), NULL;
	return v;
}

static int hook_from(const json_t *h, struct hook *k)
{
	k->path = jsonutil_str(h, "path");
	k->args = strv_from(json_object_get(h, "args"), k->path);
	k->env = strv_from(json_object_get(h, "env"), NULL);
	k->timeout = (int)json_integer_value(json_object_get(h, "timeout"));
	return k->path && k->args && k->env ? 0 : -EINVAL;
}

static char *state_text(const struct ctr *c, const char *status, pid_t pid)
{
	_cleanup_json_ json_t *o =
		json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", "1.2.0", "id", c->id, "status",
			  status, "pid", (json_int_t)pid, "bundle", c->bundle ? c->bundle : "");

	if (o && c->annotations && json_object_size(c->annotations))
		json_object_set(o, "annotations", c->annotations);
	return o ? json_dumps(o, JSON_COMPACT) : NULL;
}

/* ---- a hook in the runtime's namespaces (or createContainer's) ---- */

/* The mount namespace stays the runtime's: the path is the host's, scripts too. */
static _Noreturn void hook_child(const struct hook *k, int in, int out, int errp, int nsfd)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errp, 2) < 0)
		_exit(126);
	if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		_exit(125);
	execve(k->path, k->args, k->env);
	_exit(127);
}

struct hook_run {
	pid_t pid;
	int out, errp;
	char obuf[HOOK_OUT_MAX], ebuf[HOOK_OUT_MAX];
	size_t on, en;
};

static void drain(int fd, char *buf, size_t *n)
{
	char tmp[1024];
	ssize_t r = read(fd, tmp, sizeof(tmp));

	if (r > 0 && *n + 1 < HOOK_OUT_MAX) {
		size_t room = HOOK_OUT_MAX - 1 - *n, m = (size_t)r < room ? (size_t)r : room;

		memcpy(buf + *n, tmp, m);
		*n += m;
		buf[*n] = '\0';
	}
}

/* Wait for the hook, draining its output; -ETIMEDOUT after timeout s. */
static int hook_wait(struct hook_run *h, int timeout, int *status)
{
	struct timespec t0, t;
	int left = timeout > 0 ? timeout * 1000 : -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p[2] = {{h->out, POLLIN, 0}, {h->errp, POLLIN, 0}};
		int r = poll(p, 2, left < 0 ? 100 : (left < 100 ? left : 100));

		if (r > 0 && (p[0].revents & POLLIN))
			drain(h->out, h->obuf, &h->on);
		if (r > 0 && (p[1].revents & POLLIN))
			drain(h->errp, h->ebuf, &h->en);
		if (waitpid(h->pid, status, WNOHANG) == h->pid)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (timeout > 0 &&
		    (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
			    timeout * 1000) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, status, 0);
			return -ETIMEDOUT;
		}
	}
}

static int hook_fail(struct hook_run *h, int st, int timeout, struct zh_error *err)
{
	if (timeout >= 0)
		return zh_error_set(err, ETIMEDOUT, NULL,
				    "hook ran past specified timeout of %d.0s", timeout);
	if (WIFEXITED(st))
		return zh_error_set(err, EIO, NULL, "exit status %d, stdout: %s, stderr: %s",
				    WEXITSTATUS(st), h->obuf, h->ebuf);
	return zh_error_set(err, EIO, NULL, "signal: %s, stdout: %s, stderr: %s",
			    strsignal(WTERMSIG(st)), h->obuf, h->ebuf);
}

static int run_host_hook(const struct hook *k, const char *state, int nsfd, struct zh_error *err)
{
	int in[2], out[2], ep[2], st = 0, r;
	struct hook_run *h = calloc(1, sizeof(*h));

	if (!h || pipe2(in, O_CLOEXEC) < 0)
		return free(h), zh_error_set(err, errno ?: ENOMEM, NULL, "pipe: %m");
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0)
		return free(h), zh_error_set(err, errno, NULL, "pipe: %m");
	h->pid = fork();
	if (h->pid == 0)
		hook_child(k, in[0], out[1], ep[1], nsfd);
	close(in[0]);
	close(out[1]);
	close(ep[1]);
	if (h->pid > 0) {
		signal(SIGPIPE, SIG_IGN);
		(void)!write(in[1], state, strlen(state));
	}
	close(in[1]);
	h->out = out[0];
	h->errp = ep[0];
	r = h->pid < 0 ? zh_error_set(err, errno, NULL, "fork: %m") : hook_wait(h, k->timeout, &st);
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = hook_fail(h, st, -1, err);
	else if (r == -ETIMEDOUT)
		r = hook_fail(h, st, k->timeout, err);
	close(out[0]);
	close(ep[0]);
	free(h);
	return r;
}

/* ---- startContainer: inside the zone, as the zone's root ---- */

static int run_zone_hook(const struct ctr *c, struct hook *k, const char *state, pid_t pid,
			 struct zh_error *err)
{
	struct zone_enter_spec s = {.uuid = c->uuid, .init_pid = pid, .argv = k->args};
	struct zone_session zs;
	int in[2], code = 0, r;

	free(k->args[0]); /* argv[0] is its path, resolved in the zone */
	if (!(k->args[0] = strdup(k->path)))
		return zh_error_oom(err);
	if (pipe2(in, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	s.stdio[0] = in[0];
	s.stdio[1] = s.stdio[2] = -1;
	r = zone_enter(&s, &zs, err);
	close(in[0]);
	if (r == 0) {
		signal(SIGPIPE, SIG_IGN);
		(void)!write(in[1], state, strlen(state));
	}
	close(in[1]);
	if (r == 0 && (r = zone_session_wait(&zs, &code, err)) == 0 && code != 0)
		r = zh_error_set(err, EIO, NULL, "exit status %d", code);
	return r;
}

static int open_ns(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int rt_hooks_run(const struct ctr *c, const json_t *hooks, const char *phase, const char *status,
		 pid_t pid, struct zh_error *err)
{
	const json_t *list = json_object_get(hooks, phase);
	_cleanup_free_ char *state = NULL;
	_cleanup_close_ int nsfd = -EBADF;
	size_t i;
	json_t *h;

	if (!json_is_array(list) || json_array_size(list) == 0)
		return 0;
	if (!(state = state_text(c, status, pid)))
		return zh_error_oom(err);
	if (streq(phase, "createContainer") && (nsfd = open_ns(pid)) < 0)
		return zh_error_set(err, errno, NULL, "error running %s hook: pidfd: %m", phase);
	json_array_foreach (list, i, h) {
		struct hook k = {0};
		int r = hook_from(h, &k);

		if (r == 0)
			r = streq(phase, "startContainer") ? run_zone_hook(c, &k, state, pid, err)
							   : run_host_hook(&k, state, nsfd, err);
		strv_free(k.args);
		strv_free(k.env);
		if (r < 0) {
			zh_error_prefix(err, "error running %s hook #%zu", phase, i);
			return r;
		}
	}
	return 0;
}

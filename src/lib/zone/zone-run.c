/*
 * zone-run.c - the process of a docker zone or an OCI container: from the
 * pivoted zone root to its execve (docs/architecture.md §24.3).
 *
 * Owns: what struct zone_run asks of the zone's first process once its
 * mounts are made: stdio and kept fds, rlimits, the user and groups,
 * capabilities, no_new_privs, cwd, the PATH lookup, the start gate and
 * the extra seccomp program.  Runs in the child only (zone-internal.h
 * rules: no logging, no allocation but libcap's in zone_caps_drop).
 *
 *     if (s->run) return zone_run_exec(c);     (zone-ns.c, after the mounts)
 *
 * Order, and why:
 *   stdio + fds    the given fds become 0, 1, 2 and 3.. (moved through
 *                  fresh numbers first, so no source is overwritten);
 *   rlimits        while still the zone's root (raising a hard limit);
 *   user           resolved in the zone's own /etc (zone-user.c);
 *   caps, seccomp  the zone's bounding set (zone_caps_drop), narrowed to
 *                  the asked one, never widened; the zone's own filter,
 *                  always, first; the extra program now too when the
 *                  process will have no no_new_privs (loading it needs
 *                  CAP_SYS_ADMIN, which the user switch takes away);
 *   ids            setgroups, setresgid, setresuid (PR_SET_KEEPCAPS when
 *                  capability sets are given), then the effective,
 *                  permitted and inheritable sets, each masked by the
 *                  zone's kept set and the bounding set, then ambient;
 *   no_new_privs, cwd (as the user), the executable found (so a missing
 *                  one fails the create, before the gate);
 *   gate           one byte read from gate_fd; EOF: _exit, nothing runs;
 *   seccomp        the extra program when no_new_privs allows it now;
 *   exec           every fd above the kept ones close-on-exec.
 * The zone's own filter is loaded before the extra one: the kernel runs
 * every filter and takes the strictest answer, so the extra program can
 * only refuse more.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "zone-internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- fds ---- */

/* A copy of fd at ZONE_RUN_FD_HIGH or above (-1 stays -1). */
static int dup_high(struct zone_child *c, int fd, bool cloexec)
{
	int n;

	if (fd < 0)
		return -1;
	n = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, ZONE_RUN_FD_HIGH);
	if (n < 0)
		return zone_child_fail(c, errno, "cannot duplicate fd %d: %m", fd);
	return n;
}

static int stdio_null(struct zone_child *c, int *fd)
{
	if (*fd >= 0)
		return 0;
	*fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return zone_child_fail(c, errno, "cannot open /dev/null in the zone: %m");
	return 0;
}

/* 0, 1, 2 (when given) and 3.. from the kept fds; our own fds moved above. */
static int run_fds(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;
	int tmp[3 + ZONE_RUN_FDS_MAX], n = 0;

	if ((c->err_fd = dup_high(c, c->err_fd, true)) < 0 ||
	    (r->gate_fd >= 0 && (c->gate_fd = dup_high(c, r->gate_fd, true)) < 0))
		return -c->errnum;
	for (int i = 0; r->stdio && i < 3; i++) {
		int fd = r->stdio_fds[i];
		if ((fd >= 0 && (fd = dup_high(c, fd, true)) < 0) || stdio_null(c, &fd) < 0)
			return -c->errnum;
		tmp[n++] = fd;
	}
	for (size_t i = 0; i < r->nkeep_fds; i++)
		if ((tmp[n++] = dup_high(c, r->keep_fds[i], true)) < 0)
			return -c->errnum;
	for (int i = 0, to = r->stdio ? 0 : 3; i < n; i++, to++)
		if (dup2(tmp[i], to) < 0) /* dup2 clears close-on-exec */
			return zone_child_fail(c, errno, "cannot place fd %d: %m", to);
	if (r->stdio && setsid() < 0)
		return zone_child_fail(c, errno, "setsid: %m");
	return 0;
}

/* ---- limits, user ---- */

static int run_rlimits(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;

	for (size_t i = 0; i < r->nrlimits; i++) {
		struct rlimit l = {.rlim_cur = r->rlimits[i].soft, .rlim_max = r->rlimits[i].hard};
		if (setrlimit(r->rlimits[i].type, &l) < 0)
			return zone_child_fail(c, errno, "cannot set rlimit %d to %llu/%llu: %m",
					       r->rlimits[i].type,
					       (unsigned long long)r->rlimits[i].soft,
					       (unsigned long long)r->rlimits[i].hard);
	}
	return 0;
}

static int run_user(struct zone_child *c, struct zone_ids *ids)
{
	const struct zone_run *r = c->s->run;

	ids->uid = r->ids ? r->uid : 0;
	ids->gid = r->ids ? r->gid : 0;
	ids->ngids = 0;
	if (!r->ids && r->user && *r->user && zone_user_resolve(c, r->user, ids) < 0)
		return -c->errnum;
	for (size_t i = 0; i < r->ngids && ids->ngids < ZONE_GIDS_MAX; i++)
		ids->gids[ids->ngids++] = r->gids[i];
	if (ids->uid >= ZONE_ID_COUNT || ids->gid >= ZONE_ID_COUNT)
		return zone_child_fail(c, EINVAL, "user %u:%u is outside the zone's ids (0-%u)",
				       (unsigned)ids->uid, (unsigned)ids->gid, ZONE_ID_COUNT - 1);
	return 0;
}

/* ---- capabilities and seccomp ---- */

static int load_extra_seccomp(struct zone_child *c)
{
	if (!c->s->run->seccomp || c->extra_loaded)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->s->run->seccomp) < 0)
		return zone_child_fail(c, errno, "cannot load the seccomp profile: %m");
	c->extra_loaded = true;
	return 0;
}

static int run_privs(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;
	struct zh_error e = ZH_ERROR_INIT;

	if (zone_caps_drop(&e) < 0 || (r->caps && zone_caps_bound(r->cap_bounding, &e) < 0) ||
	    zone_seccomp_load(&e) < 0)
		return zone_child_fail(c, e.errnum, "%s", e.msg ? e.msg : "privilege drop failed");
	if (!r->no_new_privs && load_extra_seccomp(c) < 0)
		return -c->errnum;
	if (r->caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return zone_child_fail(c, errno, "PR_SET_KEEPCAPS: %m");
	return 0;
}

static int run_capsets(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;
	struct zh_error e = ZH_ERROR_INIT;

	if (!r->caps)
		return 0;
	if (zone_caps_set(r->cap_effective, r->cap_permitted, r->cap_inheritable, r->cap_ambient,
			  &e) < 0)
		return zone_child_fail(c, e.errnum, "%s", e.msg ? e.msg : "capset failed");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

static int run_ids(struct zone_child *c, const struct zone_ids *ids)
{
	if (setgroups(ids->ngids, ids->gids) < 0)
		return zone_child_fail(c, errno, "setgroups: %m");
	if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
		return zone_child_fail(c, errno, "setgid %u: %m", (unsigned)ids->gid);
	if (setresuid(ids->uid, ids->uid, ids->uid) < 0)
		return zone_child_fail(c, errno, "setuid %u: %m", (unsigned)ids->uid);
	if (run_capsets(c) < 0)
		return -c->errnum;
	if (c->s->run->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return zone_child_fail(c, errno, "no_new_privs: %m");
	return 0;
}

/* ---- the executable ---- */

static const char *env_path(char *const *envp)
{
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return DEFAULT_PATH;
}

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static int find_in_path(struct zone_child *c, const char *name, char *out, size_t size)
{
	const char *p = env_path(c->s->envp);

	while (*p) {
		const char *e = strchrnul(p, ':');
		int n = (int)(e - p);

		if (snprintf(out, size, "%.*s/%s", n ? n : 1, n ? p : ".", name) < (int)size &&
		    executable(out))
			return 0;
		p = *e ? e + 1 : e;
	}
	return zone_child_fail(c, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

static int find_exec(struct zone_child *c, char *out, size_t size)
{
	const char *a0 = c->s->argv[0];
	struct stat st;

	if (!strchr(a0, '/'))
		return find_in_path(c, a0, out, size);
	if (snprintf(out, size, "%s", a0) >= (int)size)
		return zone_child_fail(c, ENAMETOOLONG, "exec: \"%s\": path too long", a0);
	if (stat(out, &st) < 0)
		return zone_child_fail(c, errno, "exec: \"%s\": stat %s: %s", a0, a0,
				       errno == ENOENT ? "no such file or directory"
						       : strerror(errno));
	if (S_ISDIR(st.st_mode))
		return zone_child_fail(c, EACCES, "exec: \"%s\": is a directory", a0);
	return 0;
}

/* ---- the gate and the exec ---- */

/*
 * Every fd but 0-2, the kept ones, the error pipe and the gate goes now:
 * a copy of the gate's write end inherited from the parent would keep
 * the gate from ever reading EOF.
 */
static void close_others(struct zone_child *c)
{
	unsigned lo = (unsigned)(c->err_fd < c->gate_fd ? c->err_fd : c->gate_fd);
	unsigned hi = (unsigned)(c->err_fd < c->gate_fd ? c->gate_fd : c->err_fd);

	syscall(SYS_close_range, 3U + (unsigned)c->s->run->nkeep_fds, lo - 1, 0);
	syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
}

static void wait_gate(struct zone_child *c)
{
	char b;
	ssize_t n;

	if (c->gate_fd < 0)
		return;
	close_others(c);
	zone_child_ready(c);
	do
		n = read(c->gate_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(0); /* the caller let go of the gate: do not start */
	closep(&c->gate_fd);
}

static int run_exec(struct zone_child *c, const char *path)
{
	int keep = 3 + (int)c->s->run->nkeep_fds;

	wait_gate(c);
	if ((c->s->run->no_new_privs && load_extra_seccomp(c) < 0))
		return -c->errnum;
	if (syscall(SYS_close_range, (unsigned)keep, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return zone_child_fail(c, errno, "close_range: %m");
	zone_child_signals();
	execve(path, c->s->argv, c->s->envp);
	if (errno == EACCES)
		return zone_child_fail(c, EACCES, "exec: \"%s\": permission denied", path);
	if (errno == ENOENT)
		return zone_child_fail(c, ENOENT, "exec: \"%s\": no such file or directory", path);
	return zone_child_fail(c, errno, "exec: \"%s\": %m", path);
}

int zone_run_exec(struct zone_child *c)
{
	const struct zone_run *r = c->s->run;
	const char *cwd = r->cwd && *r->cwd ? r->cwd : "/";
	struct zone_ids ids;
	char path[PATH_MAX];

	if (run_fds(c) < 0 || run_rlimits(c) < 0 || run_user(c, &ids) < 0 || run_privs(c) < 0 ||
	    run_ids(c, &ids) < 0)
		return -c->errnum;
	if (chdir(cwd) < 0)
		return zone_child_fail(c, errno,
				       "chdir to cwd (\"%s\") set in config.json failed: %m", cwd);
	if (find_exec(c, path, sizeof(path)) < 0)
		return -c->errnum;
	return run_exec(c, path);
}

/*
 * zonehost-runc - an OCI runtime with runc's command line whose containers
 * are zonehost zones (docs/architecture.md §24, zonehost-runc.8).
 *
 *     zonehost-runc [--root DIR] [--log FILE] [--log-format text|json]
 *                   [--systemd-cgroup] <command> [options] <id> ...
 *
 * This file: the global options, the log and error records, the command
 * table, and the small helpers every command shares (options, pid file,
 * console socket).  The commands live in runc-*.c.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "oci.h"
#include "runc.h"

#ifndef ZONEHOST_VERSION
#define ZONEHOST_VERSION "0.1"
#endif

static const char *argv0 = RT_NAME;

/* ---- log records ---- */

static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void log_record(const struct rt *rt, const char *level, const char *msg)
{
	int fd = rt->log_fd >= 0 ? rt->log_fd : STDERR_FILENO;
	char ts[40];

	if (rt->log_json) {
		_cleanup_free_ char *rec = oci_log_json(level, msg, time(NULL));

		if (rec)
			(void)!write(fd, rec, strlen(rec));
		return;
	}
	rfc3339_now(ts, sizeof(ts));
	dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
}

void rt_log(struct rt *rt, const char *level, const char *msg)
{
	if (rt->log_fd >= 0)
		log_record(rt, level, msg);
}

static int fail_msg(struct rt *rt, const char *msg)
{
	if (rt->log_fd >= 0 || rt->log_json)
		log_record(rt, "error", msg);
	if (rt->log_fd >= 0 || !rt->log_json)
		fprintf(stderr, "%s\n", msg);
	return 1;
}

int rt_fail(struct rt *rt, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	return fail_msg(rt, n < 0 ? "out of memory" : msg);
}

int rt_fail_err(struct rt *rt, struct zh_error *err, const char *prefix)
{
	const char *m = err->msg ? err->msg : strerror(err->errnum ? err->errnum : EIO);
	int r = rt_fail(rt, "%s%s", prefix ? prefix : "", m);

	zh_error_clear(err);
	return r;
}

int rt_usage(struct rt *rt, const char *how, int n)
{
	printf("Incorrect Usage.\n\n");
	return rt_fail(rt, "%s: \"%s\" requires %s %d argument(s)", argv0, rt->cmd, how, n);
}

/* ---- options ---- */

static int opt_match(const char *a, const struct rt_opt *o, const char **inl)
{
	const char *name = a + 2;
	size_t n = strlen(o->longname);

	*inl = NULL;
	if (a[1] != '-') /* -x, or go-runc's single-dash long option (-no-subreaper) */
		name = a + 1;
	if (a[1] != '-' && o->shortname && a[1] == o->shortname && a[2] == '\0')
		return 1;
	if (strncmp(name, o->longname, n) != 0)
		return 0;
	if (name[n] == '=') {
		*inl = name + n + 1;
		return 1;
	}
	return name[n] == '\0';
}

int rt_getopt(struct rt *rt, int argc, char **argv, int *i, const struct rt_opt *opts,
	      const char **val)
{
	const char *a, *inl;

	*val = NULL;
	if (*i >= argc)
		return 0;
	a = argv[*i];
	if (streq(a, "--")) {
		(*i)++;
		return 0;
	}
	if (a[0] != '-' || a[1] == '\0')
		return 0;
	for (const struct rt_opt *o = opts; o->longname; o++) {
		if (!opt_match(a, o, &inl))
			continue;
		(*i)++;
		if (!o->has_arg)
			return inl && !(streq(inl, "true") || streq(inl, "false"))
			       ? rt_fail(rt, "invalid value %s for flag %s", inl, a),
			       -1 : (*val = inl, o->id);
		if (!inl && *i >= argc)
			return rt_fail(rt, "flag needs an argument: %s", a), -1;
		*val = inl ? inl : argv[(*i)++];
		return o->id;
	}
	rt_fail(rt, "flag provided but not defined: %s", a);
	return -1;
}

/* ---- pid file and console socket ---- */

int rt_write_pidfile(const char *path, pid_t pid, struct zh_error *err)
{
	_cleanup_free_ char *dir = strdup(path), *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	int n;

	if (!dir)
		return zh_error_oom(err);
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	{
		char *slash = strrchr(dir, '/');
		const char *base = slash ? slash + 1 : dir;

		if (slash)
			*slash = '\0';
		if (asprintf(&tmp, "%s/.%s", slash ? dir : ".", base) < 0)
			return zh_error_oom(err);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return zh_error_set(err, e, "pid-file", "pid file %s: %s", path, strerror(e));
	}
	return 0;
}

int rt_send_console(const char *path, int master, const char *name, struct zh_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	_cleanup_close_ int s = -EBADF;

	if (strlen(path) >= sizeof(sa.sun_path))
		return zh_error_set(err, ENAMETOOLONG, "console-socket",
				    "console socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || sendmsg(s, &mh, 0) < 0)
		return zh_error_set(err, errno, "console-socket", "console socket %s: %m", path);
	return 0;
}

/* ---- global options and the command table ---- */

struct command {
	const char *name;
	int (*fn)(struct rt *rt, int argc, char **argv);
};

static const struct command commands[] = {
	{"create", cmd_create},
	{"start", cmd_start},
	{"run", cmd_run},
	{"state", cmd_state},
	{"list", cmd_list},
	{"kill", cmd_kill},
	{"delete", cmd_delete},
	{"exec", cmd_exec},
	{"ps", cmd_ps},
	{"pause", cmd_pause},
	{"resume", cmd_resume},
	{"update", cmd_update},
	{"events", cmd_events},
	{"features", cmd_features},
	{"checkpoint", cmd_checkpoint},
	{"restore", cmd_checkpoint},
	{NULL, NULL},
};

static int usage(void)
{
	printf("usage: %s [global options] <command> [options] <container-id> ...\n\n"
	       "commands: create start run state list kill delete exec ps pause resume\n"
	       "          update events features checkpoint restore\n"
	       "global options: --root DIR  --log FILE  --log-format text|json\n"
	       "                --systemd-cgroup  --debug  --rootless BOOL  --version\n",
	       argv0);
	return 0;
}

static int version(void)
{
	printf("%s version %s\nspec: 1.2.0\n", RT_NAME, ZONEHOST_VERSION);
	return 0;
}

enum {
	G_ROOT = 1,
	G_LOG,
	G_LOGFMT,
	G_SYSTEMD,
	G_DEBUG,
	G_ROOTLESS,
	G_CGMGR,
	G_LOGLEVEL,
	G_VERSION,
	G_HELP
};

static const struct rt_opt global_opts[] = {
	{"root", 0, true, G_ROOT},
	{"log", 0, true, G_LOG},
	{"log-format", 0, true, G_LOGFMT},
	{"systemd-cgroup", 0, false, G_SYSTEMD},
	{"debug", 0, false, G_DEBUG},
	{"rootless", 0, true, G_ROOTLESS},
	{"cgroup-manager", 0, true, G_CGMGR},
	{"log-level", 0, true, G_LOGLEVEL},
	{"version", 'v', false, G_VERSION},
	{"help", 'h', false, G_HELP},
	{NULL, 0, false, 0},
};

static int open_log(struct rt *rt, const char *path)
{
	if (!strncmp(path, "file:", 5))
		path += 5;
	rt->log_fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
	if (rt->log_fd < 0)
		return rt_fail(rt, "open log %s: %m", path);
	return 0;
}

static int global_one(struct rt *rt, int id, const char *v)
{
	switch (id) {
	case G_ROOT: rt->root = v; return 0;
	case G_LOG: return open_log(rt, v);
	case G_LOGFMT:
		if (!streq(v, "json") && !streq(v, "text"))
			return rt_fail(rt, "invalid log-format: %s", v);
		rt->log_json = streq(v, "json");
		return 0;
	case G_SYSTEMD: rt->systemd_cgroup = true; return 0;
	case G_VERSION: exit(version());
	case G_HELP: exit(usage());
	default: /* --debug, --rootless, --cgroup-manager, --log-level: accepted */ return 0;
	}
}

int main(int argc, char **argv)
{
	struct rt rt = {.root = RT_DEFAULT_ROOT, .log_fd = -1, .cmd = ""};
	const char *v;
	int i = 1, id;

	argv0 = argv[0];
	while ((id = rt_getopt(&rt, argc, argv, &i, global_opts, &v)) > 0)
		if (global_one(&rt, id, v))
			return 1;
	if (id < 0)
		return 1;
	if (i >= argc)
		return usage(), 1;
	for (const struct command *c = commands; c->name; c++)
		if (streq(argv[i], c->name)) {
			rt.cmd = c->name;
			return c->fn(&rt, argc - i, argv + i);
		}
	return rt_fail(&rt, "%s: command \"%s\" is not one of this runtime's; see %s --help", argv0,
		       argv[i], argv0);
}

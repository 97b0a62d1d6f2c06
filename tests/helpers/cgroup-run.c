/*
 * cgroup-run.c - put a command under a zone cgroup with limits (system tests).
 *
 *   cgroup-run UUID [limits] -- CMD ARGS   create, apply, run CMD attached,
 *                                          wait, print "exit=N signal=S",
 *                                          then kill_all and destroy
 *   cgroup-run --apply UUID [limits]       apply to an existing zone cgroup
 *   cgroup-run --destroy UUID              kill_all and destroy
 *   cgroup-run --paths UUID                print the zone's cgroup dirs
 *
 * limits: --mem MiB --swap MiB --pids N --cpu-cap PCT --shares N --io N
 * Prints "pid=N" on stderr once CMD runs.  Exit 0, or 1 with the library's
 * message on stderr.
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static int fail(struct zh_error *err)
{
	fprintf(stderr, "cgroup-run: %s\n", err->msg);
	zh_error_clear(err);
	return 1;
}

static int parse_limits(char **argv, int *i, struct cgroup_limits *l)
{
	static const struct {
		const char *opt;
		size_t off;
	} opts[] = {
		{"--mem", offsetof(struct cgroup_limits, max_physical_memory)},
		{"--swap", offsetof(struct cgroup_limits, max_swap)},
		{"--pids", offsetof(struct cgroup_limits, max_lwps)},
		{"--cpu-cap", offsetof(struct cgroup_limits, cpu_cap)},
		{"--shares", offsetof(struct cgroup_limits, cpu_shares)},
		{"--io", offsetof(struct cgroup_limits, zfs_io_priority)},
	};

	for (; argv[*i] && !streq(argv[*i], "--"); *i += 2) {
		size_t k;

		for (k = 0; k < ARRAY_SIZE(opts); k++)
			if (streq(argv[*i], opts[k].opt))
				break;
		if (k == ARRAY_SIZE(opts) || !argv[*i + 1] ||
		    util_parse_i64(argv[*i + 1], (int64_t *)((char *)l + opts[k].off)) < 0) {
			fprintf(stderr, "cgroup-run: bad option %s\n", argv[*i]);
			return -1;
		}
	}
	return 0;
}

static int teardown(const char *uuid)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (cgroup_kill_all(uuid, &err) < 0 || cgroup_destroy(uuid, &err) < 0)
		return fail(&err);
	return 0;
}

static pid_t spawn(const char *uuid, char **cmd, struct zh_error *err)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(126);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(p[0]);
	if (pid > 0 && cgroup_attach(uuid, pid, err) < 0) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (pid > 0 && write(p[1], "x", 1) != 1)
		pid = -1;
	close(p[1]);
	return pid;
}

static int run(const char *uuid, const struct cgroup_limits *l, char **cmd)
{
	struct zh_error err = ZH_ERROR_INIT;
	pid_t pid;
	int st;

	/* As zoneadmd: under systemd, a delegated scope of its own first. */
	if (cgroup_scope_enter(uuid, &err) < 0 || cgroup_create(uuid, &err) < 0)
		return fail(&err);
	if (cgroup_apply(uuid, l, &err) < 0 || (pid = spawn(uuid, cmd, &err)) < 0) {
		cgroup_destroy(uuid, NULL);
		return fail(&err);
	}
	fprintf(stderr, "pid=%d\n", (int)pid);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	printf("exit=%d signal=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	       WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	fflush(stdout);
	return teardown(uuid);
}

int main(int argc, char **argv)
{
	struct cgroup_limits l = {0, -1, 0, 0, 0, -1};
	struct zh_error err = ZH_ERROR_INIT;
	const char *mode = argc > 1 && !strncmp(argv[1], "--", 2) ? argv[1] : NULL;
	const char *uuid = argv[mode ? 2 : 1];
	int i = mode ? 3 : 2;

	if (argc < 2 || !uuid || parse_limits(argv, &i, &l) < 0) {
		fprintf(stderr, "usage: cgroup-run [--apply|--destroy|--paths] UUID "
				"[--mem M --swap M --pids N --cpu-cap P --shares N --io N] "
				"[-- CMD ...]\n");
		return 2;
	}
	if (mode && streq(mode, "--destroy"))
		return teardown(uuid);
	if (mode && streq(mode, "--apply"))
		return cgroup_apply(uuid, &l, &err) < 0 ? fail(&err) : 0;
	if (mode && streq(mode, "--paths")) {
		char **v = cgroup_paths(uuid);

		for (char **p = v; p && *p; p++)
			printf("%s\n", *p);
		strv_free(v);
		return 0;
	}
	if (mode || !argv[i] || !argv[i + 1])
		return 2;
	return run(uuid, &l, argv + i + 1);
}

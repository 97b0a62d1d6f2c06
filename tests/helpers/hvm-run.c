/*
 * hvm-run.c - QEMU in its jail, without zoneadmd (tests/system/test_hvm_jail.py,
 * docs/architecture.md §22).
 *
 *   hvm-run VM.json ROOT UID [--cgroup] [--kvm]
 *       build QEMU's argv from the config (qemu_argv_build; disks from
 *       disks.*.path), start it in its jail (hvm_jail_spawn), in a cgroup
 *       named by the config's uuid when --cgroup (made with its limits,
 *       removed at the end); print "pid=N", wait, print "exit=N"; the
 *       config's "start" stands for `vmadm start` extras (one cdrom)
 *   hvm-run --qmp SOCK CMD
 *       connect (greeting, capabilities), run CMD, print its return value
 * Exit 0, or 1 with the library's message on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "jail.h"
#include "jsonutil.h"
#include "macro.h"
#include "qemu-argv.h"
#include "qmp.h"

static int fail(struct zh_error *err)
{
	fprintf(stderr, "hvm-run: %s\n", err->msg);
	zh_error_clear(err);
	return 1;
}

static int qmp_cmd(const char *sock, const char *cmd)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *ret = NULL;
	_cleanup_free_ char *s = NULL;
	struct qmp *q = malloc(sizeof(*q));
	int r;

	if (!q || qmp_open(q, sock, 5000, &err) < 0)
		return free(q), q ? fail(&err) : 1;
	r = qmp_execute(q, cmd, NULL, 5000, &ret, &err);
	qmp_close(q);
	free(q);
	if (r < 0)
		return fail(&err);
	s = json_dumps(ret, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s\n", s ? s : "null");
	return 0;
}

static char **disk_paths(const json_t *vm)
{
	const json_t *d = json_object_get(vm, "disks"), *x;
	char **v = calloc(json_array_size(d) + 1, sizeof(char *));
	size_t i;

	json_array_foreach (d, i, x)
		v[i] = strdup(jsonutil_str(x, "path"));
	return v;
}

static int with_cgroup(const json_t *vm, const char *uuid, struct zh_error *err)
{
	struct cgroup_limits l;

	cgroup_limits_from_vm(vm, &l);
	if (cgroup_create(uuid, err) < 0 || cgroup_apply(uuid, &l, err) < 0)
		return -1;
	return cgroup_version() == 2 ? cgroup_open_fd(uuid, err) : -1;
}

static int run(const json_t *vm, const char *root, uid_t uid, bool cg, bool kvm)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct qemu_spec s = {.vm = vm, .kvm = kvm, .start = json_object_get(vm, "start")};
	char *cd[] = {
		(char *)jsonutil_str(json_array_get(json_object_get(s.start, "cdroms"), 0), "path"),
		NULL};
	_cleanup_strv_ char **argv = NULL, **disks = disk_paths(vm);
	const char *uuid = jsonutil_str(vm, "uuid");
	int pidfd = -1, cgfd = -1, st = 0;
	pid_t pid;

	if (qemu_argv_build(&s, &argv, &err) < 0 ||
	    (cg && (cgfd = with_cgroup(vm, uuid, &err)) < 0 && err.errnum))
		return fail(&err);
	struct hvm_jail j = {.root = root,
			     .argv = argv,
			     .uid = uid,
			     .disks = disks,
			     .cdroms = cd[0] ? cd : NULL,
			     .kvm = kvm,
			     .cgroup_fd = cgfd,
			     .cgroup_uuid = cg ? uuid : NULL,
			     .log_fd = 2};

	if (hvm_jail_spawn(&j, &pid, &pidfd, &err) < 0) {
		if (cg)
			cgroup_destroy(uuid, NULL);
		return fail(&err);
	}
	printf("pid=%d\n", (int)pid);
	fflush(stdout);
	waitpid(pid, &st, 0);
	printf("exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (cg && cgroup_destroy(uuid, &err) < 0)
		return fail(&err);
	return 0;
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vm = NULL;
	bool cg = false, kvm = false;

	if (argc == 4 && streq(argv[1], "--qmp"))
		return qmp_cmd(argv[2], argv[3]);
	if (argc < 4) {
		fprintf(stderr, "usage: hvm-run VM.json ROOT UID [--cgroup] [--kvm]\n");
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		cg |= streq(argv[i], "--cgroup");
		kvm |= streq(argv[i], "--kvm");
	}
	if (jsonutil_load_file(argv[1], 1 << 20, &vm, &err) < 0)
		return fail(&err);
	return run(vm, argv[2], (uid_t)atoi(argv[3]), cg, kvm);
}

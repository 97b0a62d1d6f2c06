/*
 * zone-enter-oci - call zone_enter() with the OCI exec's fields on a
 * running zone (test_zone_enter_oci.py; what zonehost-runc exec does).
 *
 *   zone-enter-oci UUID [--env K=V]... [--cwd DIR] [--ids UID:GID[:G,G...]]
 *                  [--nnp] [--caps BND:EFF:PRM:INH:AMB] (hex masks)
 *                  [--deny-mkdir] [--stdio] [--pty] [--preserve N]
 *                  [--pidfile F] -- ARGV...
 *
 * The init pid comes from the zone's run state.  --stdio hands the
 * helper's own 0, 1, 2 to the process (oci_stdio); without it they are
 * /dev/null.  --pty: the session gets a pty (the zone's), whose master the
 * helper copies to its stdout until the session closes it.  --deny-mkdir adds a hand-built BPF
 * program answering mkdir and mkdirat with EPERM.  Prints "zone-enter-oci: [PROP: ]MESSAGE" and
 * exits 1 when zone_enter() fails; else writes the session's host pid to
 * --pidfile and exits with the process's status.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "runstate.h"
#include "util.h"
#include "zone.h"

#define MAX_ENV	   32
#define MAX_GROUPS 16

const char *program_name = "zone-enter-oci";

struct opts {
	struct zone_enter_spec s;
	char *env[MAX_ENV + 1];
	size_t nenv;
	gid_t groups[MAX_GROUPS];
	const char *pidfile;
};

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: zone-enter-oci UUID [--env K=V]... [--cwd D] [--ids U:G[:G,..]] "
		"[--nnp] [--caps B:E:P:I:A] [--deny-mkdir] [--stdio] [--pty] [--preserve N] "
		"[--pidfile F] -- ARGV...\n");
	exit(2);
}

static struct sock_filter deny_mkdir[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};

static struct sock_fprog deny_prog = {.len = ARRAY_SIZE(deny_mkdir), .filter = deny_mkdir};

static void parse_ids(struct opts *o, char *v)
{
	unsigned long uid, gid;
	char *groups = NULL;

	if (sscanf(v, "%lu:%lu", &uid, &gid) != 2)
		usage();
	o->s.has_ids = true;
	o->s.uid = (uid_t)uid;
	o->s.gid = (gid_t)gid;
	groups = strchr(strchr(v, ':') + 1, ':');
	for (char *g = groups ? groups + 1 : NULL; g && *g && o->s.ngroups < MAX_GROUPS;) {
		o->groups[o->s.ngroups++] = (gid_t)strtoul(g, &g, 10);
		g += *g == ',';
	}
	o->s.groups = o->groups;
}

static void parse_caps(struct zone_enter_spec *s, const char *v)
{
	unsigned long long m[5];

	if (sscanf(v, "%llx:%llx:%llx:%llx:%llx", &m[0], &m[1], &m[2], &m[3], &m[4]) != 5)
		usage();
	s->has_caps = true;
	s->cap_bounding = m[0];
	s->cap_effective = m[1];
	s->cap_permitted = m[2];
	s->cap_inheritable = m[3];
	s->cap_ambient = m[4];
}

/* One option at argv[i] (value at i + 1); returns how many were used. */
static int parse_one(struct opts *o, char **argv, int i)
{
	const char *a = argv[i];
	char *v = argv[i + 1];

	if (streq(a, "--nnp") || streq(a, "--deny-mkdir") || streq(a, "--stdio") ||
	    streq(a, "--pty")) {
		o->s.no_new_privs |= streq(a, "--nnp");
		o->s.pty |= streq(a, "--pty");
		o->s.extra_seccomp = streq(a, "--deny-mkdir") ? &deny_prog : o->s.extra_seccomp;
		o->s.oci_stdio |= streq(a, "--stdio");
		return 1;
	}
	if (!v)
		usage();
	if (streq(a, "--env") && o->nenv < MAX_ENV)
		o->env[o->nenv++] = v;
	else if (streq(a, "--cwd"))
		o->s.cwd = v;
	else if (streq(a, "--ids"))
		parse_ids(o, v);
	else if (streq(a, "--caps"))
		parse_caps(&o->s, v);
	else if (streq(a, "--preserve"))
		o->s.preserve_fds = atoi(v);
	else if (streq(a, "--pidfile"))
		o->pidfile = v;
	else
		usage();
	return 2;
}

static void parse(struct opts *o, int argc, char **argv)
{
	int i = 2;

	if (argc < 4)
		usage();
	o->s.uuid = argv[1];
	o->s.stdio[0] = o->s.stdio[1] = o->s.stdio[2] = -1;
	while (i < argc && !streq(argv[i], "--"))
		i += parse_one(o, argv, i);
	if (i + 1 >= argc)
		usage();
	o->s.argv = argv + i + 1;
	if (o->nenv)
		o->s.envp = o->env;
	if (o->s.oci_stdio)
		o->s.stdio[0] = 0, o->s.stdio[1] = 1, o->s.stdio[2] = 2;
}

/* The pty's output to stdout until the session's side is closed (EIO). */
static void copy_master(int m)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(m, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && write(1, buf, (size_t)n) < 0)
			break;
}

static int write_pid(const char *path, pid_t pid)
{
	FILE *f = path ? fopen(path, "w") : NULL;

	if (!path)
		return 0;
	if (!f)
		return -1;
	fprintf(f, "%d", (int)pid);
	return fclose(f);
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct opts o = {0};
	struct runstate rs = {0};
	struct zone_session zs;
	int code = 1;

	parse(&o, argc, argv);
	if (runstate_read(o.s.uuid, &rs) < 0 || !rs.pid) {
		fprintf(stderr, "zone-enter-oci: zone %s is not running\n", o.s.uuid);
		return 1;
	}
	o.s.init_pid = rs.pid;
	runstate_clear(&rs);
	if (zone_enter(&o.s, &zs, &err) < 0) {
		fprintf(stderr, "zone-enter-oci: %s%s%s\n", err.prop ? err.prop : "",
			err.prop ? ": " : "", err.msg);
		zh_error_clear(&err);
		return 1;
	}
	if (write_pid(o.pidfile, zs.pid) < 0)
		fprintf(stderr, "zone-enter-oci: %s: %m\n", o.pidfile);
	if (o.s.pty)
		copy_master(zs.master_fd);
	if (zone_session_wait(&zs, &code, &err) < 0)
		fprintf(stderr, "zone-enter-oci: %s\n", err.msg);
	zh_error_clear(&err);
	zone_session_close(&zs);
	return code;
}

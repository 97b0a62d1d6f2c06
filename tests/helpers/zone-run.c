/*
 * zone-run - run a zone straight from a root directory with zone_spawn(),
 * for the isolation tests (the library's direct test; zoneadmd is not
 * involved).
 *
 *   zone-run --root DIR --id-base N [--hostname H] [--tmpfs MiB]
 *            [--memlock MiB] [--fs SRC:TARGET[:OPTS]]... [--time]
 *            [--pidfile FILE] [--uuid UUID]
 *            [--run [--bind SRC:DST]... [--mask P]... [--ro P]... [--join net|ipc|uts|pid:PATH]
 *             [--caps MASK] [--nnp] [--user U] [--cwd D]] -- INIT [ARGS...]
 *
 * Makes a zone cgroup for a random uuid, a console pty (raw) whose output
 * it copies to its own stdout, spawns the zone, waits for init and prints
 * "exit=<n>" (128+signal when killed); then destroys the cgroup.  With
 * --time it prints "spawn_ms=<ms>" (zone_spawn() call to exec of init) on
 * stderr.  --pidfile receives init's host pid once it runs.  A spawn
 * failure prints "zone-run: <message>" and exits 1.  SIGTERM/SIGINT to
 * zone-run are passed to init.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "util.h"
#include "zone.h"

#define MAX_X 16

struct opts {
	struct zone_spec s;
	struct zone_run run; /* --run and the zone_run options (docs/architecture.md §24.3) */
	struct zone_mount mounts[MAX_X];
	char *masked[MAX_X + 1], *ro[MAX_X + 1];
	size_t nmasked, nro;
	json_t *fs;
	bool time;
	const char *pidfile;
	const char *uuid;
};

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: zone-run --root DIR --id-base N [--hostname H] [--tmpfs MiB] "
			"[--memlock MiB] [--fs SRC:TARGET[:OPTS]]... [--time] [--pidfile F] "
			"[--uuid U] -- INIT [ARGS]\n");
	exit(2);
}

static uint64_t num(const char *v)
{
	uint64_t n;

	if (util_parse_u64(v, &n) < 0)
		usage();
	return n;
}

/* SRC:TARGET[:OPTS], OPTS comma-separated. */
static void add_fs(json_t *fs, const char *arg)
{
	_cleanup_strv_ char **f = util_split(arg, ':');

	if (!f || util_strv_len(f) < 2 || util_strv_len(f) > 3)
		usage();
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "lofs", "source", f[0], "target", f[1]);
	if (f[2])
		json_object_set_new(o, "options", json_string(f[2]));
	json_array_append_new(fs, o);
}

/* "net:PATH", "ipc:PATH", "uts:PATH", "pid:PATH": the ZONE_JOIN_* kind, or -1. */
static int join_kind(const char *v)
{
	static const char *const k[ZONE_JOIN_N] = {"net:", "ipc:", "uts:", "pid:"};

	for (int i = 0; i < ZONE_JOIN_N; i++)
		if (strncmp(v, k[i], 4) == 0)
			return i;
	return -1;
}

/* The zone_run options: 2 (used an argument), 1 (a flag), 0 (not one). */
static int parse_run(struct opts *o, const char *a, char *v)
{
	struct zone_run *r = &o->run;

	if (streq(a, "--run") || streq(a, "--nnp")) {
		o->s.run = r;
		r->no_new_privs |= streq(a, "--nnp");
		return 1;
	}
	if (!v || r->nmounts >= MAX_X || o->nmasked >= MAX_X || o->nro >= MAX_X)
		return 0;
	if (streq(a, "--bind") && strchr(v, ':')) {
		*strchr(v, ':') = '\0';
		o->mounts[r->nmounts++] = (struct zone_mount){
			.dest = v + strlen(v) + 1, .type = "bind", .source = v, .rec = true};
	} else if (streq(a, "--mask")) {
		o->masked[o->nmasked++] = v;
	} else if (streq(a, "--ro")) {
		o->ro[o->nro++] = v;
	} else if (streq(a, "--join") && join_kind(v) >= 0) {
		r->join[join_kind(v)] = strchr(v, ':') + 1;
	} else if (streq(a, "--caps")) {
		r->caps = true;
		r->cap_bounding = r->cap_effective = r->cap_permitted = strtoull(v, NULL, 0);
	} else if (streq(a, "--user")) {
		r->user = v;
	} else if (streq(a, "--cwd")) {
		r->cwd = v;
	} else {
		return 0;
	}
	return 2;
}

static int parse_one(struct opts *o, char **argv, int i)
{
	const char *a = argv[i], *v = argv[i + 1];
	int n;

	if (streq(a, "--time"))
		return o->time = true, 1;
	if ((n = parse_run(o, a, argv[i + 1])) > 0)
		return n;
	if (!v)
		usage();
	if (streq(a, "--root"))
		o->s.root = v;
	else if (streq(a, "--id-base"))
		o->s.id_base = (uid_t)num(v);
	else if (streq(a, "--hostname"))
		o->s.hostname = v;
	else if (streq(a, "--tmpfs"))
		o->s.tmpfs_mib = num(v);
	else if (streq(a, "--memlock"))
		o->s.memlock_mib = num(v);
	else if (streq(a, "--fs"))
		add_fs(o->fs, v);
	else if (streq(a, "--pidfile"))
		o->pidfile = v;
	else if (streq(a, "--uuid") && util_is_uuid(v))
		o->uuid = v;
	else
		usage();
	return 2;
}

static void parse(struct opts *o, int argc, char **argv)
{
	int i = 1;

	o->fs = json_array();
	while (i < argc && !streq(argv[i], "--"))
		i += parse_one(o, argv, i);
	if (i + 1 >= argc || !o->s.root || !o->s.id_base)
		usage();
	o->s.argv = argv + i + 1;
	o->s.filesystems = o->fs;
	o->s.cgroup_fd = -1;
	o->s.console_fd = -1;
	o->run.gate_fd = -1;
	o->run.mounts = o->mounts;
	o->run.masked_paths = o->masked;
	o->run.readonly_paths = o->ro;
}

static int open_console(int *slave)
{
	struct termios t;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	*slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0 || tcgetattr(*slave, &t) < 0)
		return -1;
	cfmakeraw(&t);
	tcsetattr(*slave, TCSANOW, &t);
	return m;
}

static void copy_out(int m)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(m, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, (size_t)n) != n)
			break;
}

/* Copy the console until init is gone; returns its wait status code. */
static int supervise(const struct zone_proc *zp, int m, int sfd)
{
	struct pollfd p[3] = {{zp->pidfd, POLLIN, 0}, {m, POLLIN, 0}, {sfd, POLLIN, 0}};
	siginfo_t si = {0};

	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			char buf[4096];
			ssize_t n = read(m, buf, sizeof(buf));
			if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) != n)
				break;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo ss;
			if (read(sfd, &ss, sizeof(ss)) == sizeof(ss))
				syscall(SYS_pidfd_send_signal, zp->pidfd, (int)ss.ssi_signo, NULL,
					0);
		}
		if (p[0].revents & POLLIN)
			break;
	}
	waitid(P_PIDFD, (id_t)zp->pidfd, &si, WEXITED);
	fcntl(m, F_SETFL, O_NONBLOCK);
	copy_out(m);
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

static void write_pidfile(const char *f, pid_t pid)
{
	FILE *o = f ? fopen(f, "we") : NULL;

	if (!o)
		return;
	fprintf(o, "%d\n", (int)pid);
	fclose(o);
}

static int signals(void)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	return signalfd(-1, &ss, SFD_CLOEXEC);
}

static int run(struct opts *o, const char *uuid, int m, int sfd)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct zone_proc zp;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (zone_spawn(&o->s, &zp, &err) < 0) {
		fprintf(stderr, "zone-run: %s\n", err.msg);
		zh_error_clear(&err);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (o->time)
		fprintf(stderr, "spawn_ms=%.3f\n",
			(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(o->s.console_fd);
	write_pidfile(o->pidfile, zp.pid);
	int rc = supervise(&zp, m, sfd);
	close(zp.pidfd);
	(void)uuid;
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct zh_error err = ZH_ERROR_INIT;
	char uuid[UTIL_UUID_LEN + 1];
	int slave = -1;

	parse(&o, argc, argv);
	if (o.uuid)
		snprintf(uuid, sizeof(uuid), "%s", o.uuid);
	else if (util_uuid_generate(uuid) < 0)
		return 1;
	/* As zoneadmd: under systemd, a delegated scope of its own first. */
	if (cgroup_scope_enter(uuid, &err) < 0 || cgroup_create(uuid, &err) < 0) {
		fprintf(stderr, "zone-run: %s\n", err.msg ? err.msg : "uuid");
		return 1;
	}
	o.s.uuid = o.s.cgroup_uuid = uuid;
	if (cgroup_version() == 2 && (o.s.cgroup_fd = cgroup_open_fd(uuid, &err)) < 0) {
		fprintf(stderr, "zone-run: %s\n", err.msg);
		cgroup_destroy(uuid, &err);
		return 1;
	}
	int m = open_console(&slave);
	if (m < 0) {
		perror("zone-run: console pty");
		cgroup_destroy(uuid, &err);
		return 1;
	}
	o.s.console_fd = slave;
	int rc = run(&o, uuid, m, signals());
	if (rc < 0)
		close(slave);
	if (cgroup_destroy(uuid, &err) < 0)
		fprintf(stderr, "zone-run: %s\n", err.msg);
	json_decref(o.fs);
	if (rc < 0)
		return 1;
	printf("exit=%d\n", rc);
	return 0;
}

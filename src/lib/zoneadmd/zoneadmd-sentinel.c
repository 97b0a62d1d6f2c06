/*
 * zoneadmd-sentinel.c - what happens when zoneadmd itself is killed
 * (SIGKILL, OOM, a bug): the VM is stopped and nothing is left on the host
 * (docs/architecture.md §7).
 *
 * Before it makes anything, zoneadmd forks a tiny sentinel that keeps only
 * two fds: its copy of the runstate lock (the same open file description,
 * so the VM still reads as live and no new zoneadmd can start while the
 * sentinel works) and the read end of a pipe whose only writer is
 * zoneadmd.  It blocks in read().  A byte means zoneadmd ended cleanly and
 * did its own clean-up: it exits.  EOF without a byte means zoneadmd died:
 * it kills every process in the VM's cgroup (init included, which takes
 * its PID namespace and with it the zone's mounts), removes the cgroups,
 * the network (ops->net_release, by name from the uuid and the config it
 * inherited: no other state is needed), writes exit.json (exit_status 137:
 * init was SIGKILLed), removes state.json, the socket and the lock file,
 * and exits, releasing the lock.  The orphaned init is reaped by the
 * host's init.  The sentinel ignores SIGTERM/SIGINT/SIGHUP; if it dies,
 * zoneadmd sees its pidfd and forks a new one.  (Adoption of a running
 * zone by a new zoneadmd is not attempted: the console pty master and
 * init's parenthood cannot be handed over.)
 *
 * Tested by tests/system/test_lifecycle.py::test_kill9_zoneadmd_leaves_nothing, and at
 * each step of set-up and of the end (the crashpoint("zoneadmd.*") calls)
 * by tests/system/test_crash.py; docs/testing.md lists the steps.
 *
 *     zad_sentinel_start(z, &err);  ...  zad_sentinel_done(z);
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "brand.h"
#include "cgroup.h"
#include "runstate.h"
#include "zoneadmd.h"

#define EXIT_KILLED_BY_SENTINEL 137

static void close_except(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		syscall(SYS_close_range, 3, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0u, 0);
}

/* stdin, stdout and stderr to /dev/null: hold nothing of vmadm's. */
static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* zoneadmd died: stop the VM and remove every trace of it. */
static void sweep(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	cgroup_kill_all(z->uuid, &err);
	zh_error_clear(&err);
	cgroup_destroy(z->uuid, &err);
	zh_error_clear(&err);
	z->log.fd = -EBADF;
	z->notify_fd = -EBADF;
	z->net_made = true; /* by name prefix: NICs added live too */
	z->ops->net_release(z);
	runstate_write_exit(z->uuid, EXIT_KILLED_BY_SENTINEL, NULL, &err);
	zh_error_clear(&err);
	runstate_finish(z->uuid);
}

static _Noreturn void sentinel_main(struct zad *z, int rfd)
{
	char c;
	ssize_t n;

	prctl(PR_SET_NAME, "zoneadmd-sentry");
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	close_except(rfd, z->lock_fd);
	detach_stdio(); /* its caller waits for EOF */
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		sweep(z);
	_exit(0);
}

int zad_sentinel_start(struct zad *z, struct zh_error *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return zh_error_set(err, errno, NULL, "fork: %m");
	}
	if (pid == 0)
		sentinel_main(z, p[0]);
	close(p[0]);
	z->sentinel_fd = p[1];
	z->sentinel_pid = pid;
	z->sentinel_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (z->sentinel_pidfd >= 0 && z->epfd >= 0)
		zad_watch(z, z->sentinel_pidfd, ZT_SENTINEL, EPOLLIN);
	return 0;
}

static void write_byte(int fd)
{
	ssize_t n;

	do
		n = write(fd, "x", 1);
	while (n < 0 && errno == EINTR);
}

void zad_sentinel_done(struct zad *z)
{
	if (z->sentinel_fd >= 0)
		write_byte(z->sentinel_fd);
	closep(&z->sentinel_fd);
}

/* The sentinel died (someone killed it): reap it and fork a new one. */
void zad_sentinel_respawn(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	siginfo_t si = {0};

	waitid(P_PIDFD, (id_t)z->sentinel_pidfd, &si, WEXITED | WNOHANG);
	epoll_ctl(z->epfd, EPOLL_CTL_DEL, z->sentinel_pidfd, NULL);
	closep(&z->sentinel_pidfd);
	closep(&z->sentinel_fd);
	zad_logf(z, "sentinel %d ended; starting a new one", (int)z->sentinel_pid);
	if (zad_sentinel_start(z, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

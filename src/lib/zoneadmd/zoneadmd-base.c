/*
 * zoneadmd-base.c - zoneadmd's state object and what every other file of
 * the core uses (docs/architecture.md §7): its initial state,
 * the log line, epoll watches, state.json, and reading the stored config.
 * Calls nothing else of the folder but the log (zoneadmd-log.c), so the
 * modules above it form no cycle.
 *
 *     zad_init(&z, uuid, &brand_zone);
 *     zad_logf(&z, "booted: init %s pid %d", path, pid);
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "jsonutil.h"
#include "runstate.h"
#include "vmstore.h"
#include "zoneadmd.h"

void zad_init(struct zad *z, const char *uuid, const struct brand_ops *ops)
{
	*z = (struct zad){.ops = ops,
			  .load = zad_load_stored,
			  .notify_fd = -EBADF,
			  .lock_fd = -EBADF,
			  .sentinel_fd = -EBADF,
			  .sentinel_pidfd = -EBADF,
			  .epfd = -EBADF,
			  .sigfd = -EBADF,
			  .lfd = -EBADF,
			  .timerfd = -EBADF,
			  .zp = {0, -EBADF, -EBADF},
			  .pty_master = -EBADF,
			  .pty_slave = -EBADF,
			  .conlog = {.fd = -EBADF},
			  .log = {.fd = -EBADF},
			  .mdata = {.chan = -EBADF,
				    .pidfd = -EBADF,
				    .serial_master = -EBADF,
				    .lfd = -EBADF,
				    .serial_slave = -EBADF,
				    .timer = -EBADF,
				    .job_pidfd = -EBADF,
				    .job_timer = -EBADF,
				    .job_out = -EBADF},
			  .dk = {.stdio = {-EBADF, -EBADF, -EBADF},
				 .gate = -EBADF,
				 .out = {{.fd = -EBADF}, {.fd = -EBADF}},
				 .log = {.fd = -EBADF}}};
	snprintf(z->uuid, sizeof(z->uuid), "%s", uuid);
}

void zad_logf(struct zad *z, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (z->log.fd >= 0)
		zlog_write(&z->log, "zoneadmd", msg, (size_t)n);
	else if (z->notify_fd < 0)
		fprintf(stderr, "zoneadmd %s: %s\n", z->uuid, msg);
}

int zad_watch(struct zad *z, int fd, int tag, uint32_t events)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = ((uint64_t)tag << 32) | (uint32_t)fd};

	return epoll_ctl(z->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void zad_unwatch(struct zad *z, int fd)
{
	if (z->epfd >= 0 && fd >= 0)
		epoll_ctl(z->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int zad_events_open(struct zad *z, struct zh_error *err)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	z->epfd = epoll_create1(EPOLL_CLOEXEC);
	z->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	z->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (z->epfd < 0 || z->sigfd < 0 || z->timerfd < 0 ||
	    zad_watch(z, z->sigfd, ZT_SIG, EPOLLIN) < 0 ||
	    zad_watch(z, z->timerfd, ZT_TIMER, EPOLLIN) < 0)
		return zh_error_set(err, errno, NULL, "cannot set up the event loop: %m");
	if (z->sentinel_pidfd >= 0)
		zad_watch(z, z->sentinel_pidfd, ZT_SENTINEL, EPOLLIN);
	return 0;
}

int zad_write_state(struct zad *z, const char *state)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r = runstate_write(z->uuid, state, z->zp.pid, z->boot_ts, &err);

	if (r < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	return r;
}

int zad_load_stored(struct zad *z, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(z->uuid, &p, &vm, err);

	if (r < 0)
		return r;
	pool_free(z->pool);
	json_decref(z->vm);
	z->pool = TAKE_PTR(p);
	z->vm = TAKE_PTR(vm);
	return 0;
}

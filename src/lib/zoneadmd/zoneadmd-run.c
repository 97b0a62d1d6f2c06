/*
 * zoneadmd-run.c - zoneadmd from start to end: set-up in order, the boot
 * result for vmadm, the epoll loop (docs/architecture.md §7).
 *
 *     zoneadmd [--notify-fd N] <uuid>     (src/cmd/zoneadmd.c)
 *
 * Started by `vmadm start` (vm_start() in vm-run.c), which waits on the
 * SOCK_SEQPACKET socket N for one CTL_BOOTED frame (ctl.h): status 0 and
 * {"pid"} once init runs, or -errno and {"error"}.
 *
 * Set-up, in order; any failure undoes the steps before it, records
 * exit.json {"failed": "<reason>"} (state "failed") once the VM is known,
 * and answers the error on the socket:
 *   1. load the VM (vmstore_find_stored) and pick its brand (brand_find).
 *   2. runstate_lock(): the OFD lock on <run>/<uuid>/zoneadmd.lock that
 *      makes the VM "running" for every reader, held for zoneadmd's life.
 *      Under systemd, cgroup_scope_enter(): zoneadmd moves into the zone's
 *      own transient scope (Delegate=yes), so stopping the unit that ran
 *      `vmadm start` does not kill it (docs/architecture.md).
 *   3. fork the sentinel (zoneadmd-sentinel.c), which shares that lock.
 *   4. the logs, the brand's prepare (signals), the event loop's fds.
 *   5. cgroup_create + cgroup_apply (the VM's limits).
 *   6. the brand's console and the console log.
 *   7. the control socket <run>/<uuid>/control.sock (0600, root only).
 *   8. zad_boot(): the brand boots the payload; state.json "running".
 * Then one epoll loop serves: init's pidfd, the control socket and its
 * clients, the pty master, a signalfd and a timerfd (stop timeout), the
 * sentinel's pidfd.  SIGTERM/SIGINT to zoneadmd (host shutdown) stop the
 * zone gracefully (autoboot unchanged, so it comes back at the next boot).
 *
 * Logs: <zonepath>/logs/zoneadmd.log and console.log, JSON lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "brand.h"
#include "cgroup.h"
#include "crashpoint.h"
#include "ctl.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "paths.h"
#include "runstate.h"
#include "vmcfg-access.h"
#include "zoneadmd.h"

/* ---- the boot result ---- */

/* The one CTL_BOOTED frame on the notify socket, then close it. */
static void notify(struct zad *z, int errnum, const char *msg)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_json_ json_t *p = NULL;

	if (z->notify_fd < 0)
		return;
	p = errnum ? json_pack("{s:s}", "error", msg) : json_pack("{s:i}", "pid", (int)z->zp.pid);
	ctl_send(z->notify_fd, CTL_BOOTED, -errnum, p, &ignored);
	zh_error_clear(&ignored);
	closep(&z->notify_fd);
}

/* Set-up failed after the lock was taken: undo, record "failed", answer. */
static int fail_setup(struct zad *z, struct zh_error *err)
{
	_cleanup_free_ char *why = strdup(err->msg ? err->msg : "set-up failed");

	notify(z, err->errnum ? err->errnum : EIO, why ? why : "set-up failed");
	zh_error_clear(err);
	zad_end(z, ZAD_EXIT_ERR, why ? why : "set-up failed");
	return z->exit_code;
}

/* Before the lock: nothing to undo, the VM's state stays as it was. */
static int fail_early(struct zad *z, struct zh_error *err)
{
	int code = err->errnum == EBUSY ? EALREADY : err->errnum ? err->errnum : EIO;
	const char *msg = err->msg ? err->msg : "set-up failed";

	notify(z, code, msg);
	zad_logf(z, "%s", msg);
	zh_error_clear(err);
	return ZAD_EXIT_ERR;
}

/* ---- set-up ---- */

static int load_paths(struct zad *z, struct zh_error *err)
{
	int64_t b = 0;

	if (asprintf(&z->zonepath, "%s/%s", z->pool->mountpoint, z->uuid) < 0 ||
	    asprintf(&z->root, "%s/" PATHS_DS_ROOT, z->zonepath) < 0)
		return zh_error_oom(err);
	/* An OCI container's root is its bundle's (brand-oci.c sets it). */
	if (!jsonutil_str(z->vm, "oci_bundle") && !fsutil_is_dir(z->root))
		return zh_error_set(err, ENOENT, NULL, "zone root %s is missing", z->root);
	if (!vmcfg_id_base(z->vm, &b) || b <= 0 || b > (int64_t)(0xffffffffu - ZONE_ID_COUNT))
		return zh_error_set(err, EINVAL, VMCFG_ID_BASE,
				    "VM has no uid/gid range (" VMCFG_ID_BASE ")");
	z->id_base = (uid_t)b;
	return 0;
}

static int64_t log_max(const struct zad *z)
{
	json_t *v = json_object_get(z->vm, "zlog_max_size");

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

static int setup_logs(struct zad *z, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(z->zonepath, PATHS_DS_LOGS);
	int r;

	if (!dir)
		return zh_error_oom(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
	r = zlog_open(&z->log, dir, PATHS_LOG_ZONEADMD, 0, err);
	if (r < 0)
		return r;
	return zlog_open(&z->conlog, dir, PATHS_LOG_CONSOLE, (uint64_t)log_max(z), err);
}

static int setup_cgroup(struct zad *z, struct zh_error *err)
{
	struct cgroup_limits l;
	int r = cgroup_create(z->uuid, err);

	if (r < 0)
		return r;
	z->cgroup_made = true;
	crashpoint("zoneadmd.cgroup");
	cgroup_limits_from_vm(z->vm, &l);
	return cgroup_apply(z->uuid, &l, err);
}

static int setup_listen(struct zad *z, struct zh_error *err)
{
	z->lfd = ctl_listen(z->uuid, err);
	if (z->lfd < 0)
		return z->lfd;
	if (zad_watch(z, z->lfd, ZT_LISTEN, EPOLLIN) < 0)
		return zh_error_set(err, errno, NULL, "epoll: %m");
	crashpoint("zoneadmd.listen");
	return 0;
}

/* Steps 4-8 (the VM is loaded and locked, the sentinel runs). */
static int setup_zone(struct zad *z, struct zh_error *err)
{
	int r;

	if ((r = load_paths(z, err)) < 0 || (r = setup_logs(z, err)) < 0 ||
	    (r = z->ops->prepare(z, err)) < 0 || (r = zad_events_open(z, err)) < 0 ||
	    (r = setup_cgroup(z, err)) < 0 || (r = z->ops->console(z, err)) < 0 ||
	    (r = setup_listen(z, err)) < 0)
		return r;
	return zad_boot(z, err);
}

/* Steps 1-3: 0, or -errno with nothing made. */
static int setup_early(struct zad *z, struct zh_error *err)
{
	int r = z->load(z, err);

	if (r < 0)
		return r;
	if (!(z->ops = brand_find(z->vm, err)))
		return -err->errnum;
	z->lock_fd = runstate_lock(z->uuid, err);
	if (z->lock_fd < 0)
		return z->lock_fd;
	crashpoint("zoneadmd.locked");
	/* Under systemd: our own delegated scope, before the sentinel and the cgroup. */
	if ((r = cgroup_scope_enter(z->uuid, err)) < 0 || (r = zad_sentinel_start(z, err)) < 0)
		return r;
	crashpoint("zoneadmd.sentinel");
	return 0;
}

/* ---- the loop ---- */

static void on_signals(struct zad *z)
{
	struct signalfd_siginfo si;

	while (read(z->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		zad_on_signal(z, (int)si.ssi_signo);
}

static void on_timer(struct zad *z)
{
	uint64_t n;

	if (read(z->timerfd, &n, sizeof(n)) >= 0)
		zad_on_timer(z);
}

static void dispatch_event(struct zad *z, const struct epoll_event *ev)
{
	int tag = (int)(ev->data.u64 >> 32);
	int fd = (int)(uint32_t)ev->data.u64;

	switch (tag) {
	case ZT_SIG: on_signals(z); break;
	case ZT_INIT: zad_on_init_exit(z); break;
	case ZT_LISTEN: zad_accept(z); break;
	case ZT_CLIENT: zad_client_event(z, fd, ev->events); break;
	case ZT_PTY: zad_console_read(z); break;
	case ZT_TIMER: on_timer(z); break;
	case ZT_SENTINEL: zad_sentinel_respawn(z); break;
	case ZT_MDATA: zad_mdata_on_chan(z); break;
	case ZT_MDATA_PID: zad_mdata_on_exit(z); break;
	case ZT_MDATA_JOB: zad_mdata_on_job(z); break;
	case ZT_MDATA_TIMER: zad_mdata_on_timer(z); break;
	case ZT_MDATA_JOBTIMER: zad_mdata_on_job_timer(z); break;
	case ZT_STDIO: zad_stdio_read(z, fd); break;
	default: break;
	}
}

static int serve(struct zad *z)
{
	struct epoll_event ev[16];

	while (!z->ended) {
		int n = epoll_wait(z->epfd, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno != EINTR) {
			zad_logf(z, "epoll_wait: %m");
			z->ops->kill(z);
			zad_end(z, ZAD_EXIT_ERR, "zoneadmd: event loop failed");
		}
		for (int i = 0; i < n && !z->ended; i++)
			dispatch_event(z, &ev[i]);
	}
	return z->exit_code;
}

/* ---- the process ---- */

/* stdin/stdout to /dev/null; stderr too once started under vmadm. */
static void detach_stdio(bool all)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (all)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* --oci wants brand_oci, and brand_oci is started by its runtime only with --oci. */
static int check_oci(struct zad *z, struct zh_error *err)
{
	if (z->dk.oci && z->ops != &brand_oci)
		return zh_error_set(err, EINVAL, "oci_bundle",
				    "VM %s is not an OCI container (no oci_bundle)", z->uuid);
	return 0;
}

static int run(struct zad *z, bool notified)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (setup_early(z, &err) < 0)
		return fail_early(z, &err);
	if (check_oci(z, &err) < 0)
		return fail_setup(z, &err);
	if (setup_zone(z, &err) < 0)
		return fail_setup(z, &err);
	crashpoint("zoneadmd.booted");
	notify(z, 0, NULL);
	detach_stdio(notified);
	return serve(z);
}

/*
 * --oci: our 0, 1, 2 and the --preserve-fds N fds 3..3+N-1 are the
 * process's: set aside (close-on-exec, above them) before anything else
 * opens, given to it at its spawn and closed then (brand-oci.c).
 */
static int set_aside(struct zad *z, const struct zad_opts *o)
{
	int n = o->preserve_fds, low = 3 + n;

	z->dk.oci = true;
	z->dk.console_socket = o->console_socket;
	if (n < 0 || n > ZONE_RUN_FDS_MAX || (o->notify_fd >= 3 && o->notify_fd < low))
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if ((z->dk.stdio[i] = fcntl(i, F_DUPFD_CLOEXEC, low)) < 0)
			return -errno;
	for (int i = 0; i < n; i++) {
		if ((z->dk.keep[i] = fcntl(3 + i, F_DUPFD_CLOEXEC, low)) < 0)
			return -errno;
		z->dk.nkeep = (size_t)i + 1;
		close(3 + i);
	}
	return 0;
}

int zoneadmd_run(const struct zad_opts *o)
{
	struct zad z;
	int code, lock_fd;

	zad_init(&z, o->uuid, NULL);
	z.ctl_max = o->ctl_max;
	if (o->start_opts && !(z.start_opts = json_loads(o->start_opts, 0, NULL)))
		return ZAD_EXIT_ERR; /* vmadm wrote it: a bad one is a bug, nothing started */
	z.notify_fd = o->notify_fd >= 0 ? o->notify_fd : -EBADF;
	if (z.notify_fd >= 0)
		fcntl(z.notify_fd, F_SETFD, FD_CLOEXEC);
	if (o->oci && set_aside(&z, o) < 0) {
		zad_free(&z);
		return ZAD_EXIT_ERR; /* main checked the flags: fds the caller did not give */
	}
	detach_stdio(o->oci); /* --oci: the caller's pipes are the process's alone */
	setsid();
	if (chdir("/") < 0)
		return ZAD_EXIT_ERR;
	umask(022);
	code = run(&z, o->notify_fd >= 0);
	/*
	 * The runstate lock is the last thing this process lets go: the
	 * kernel drops it when the process has exited (after its memory), so
	 * a vmadm that waits for it (vm_stop_locked) finds no zoneadmd left,
	 * even while exit handlers (a sanitizer's leak check) still run.
	 */
	lock_fd = TAKE_FD(z.lock_fd);
	zad_free(&z);
	(void)lock_fd;
	return code;
}

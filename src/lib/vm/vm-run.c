/*
 * vm-run.c - the lifecycle of a VM: start, stop, reboot, kill, and the
 * allocation of its uid/gid range.  See vm.h.
 *
 * Owns: spawning zoneadmd and the notify socket it answers on.  It does
 * not own the running zone (zoneadmd does) nor its runtime files (runstate).
 *
 *     start:   lock VM -> read its stored config (once; passed down) ->
 *              not live? -> autoboot=true, id base (host lock)
 *              -> fork, setsid... exec <dir of our exe>/zoneadmd
 *                 --notify-fd 3 <uuid> -> one CTL_BOOTED frame (ctl.h):
 *                 status 0 {"pid"} | -errno {"error"}
 *     stop:    lock VM -> live? -> autoboot=false -> CTL_STOP -> wait for
 *              zoneadmd to close the socket (it has removed everything)
 *     reboot:  CTL_REBOOT (answered once the new init runs)
 *     kill:    CTL_KILL (zoneadmd signals init through its pidfd)
 *
 * zoneadmd is double-forked so that it is never a child of the caller
 * (vmadm, `zonehost autoboot`, a test harness): no zombie, no wait.
 *
 * No step reads another VM's config: the id range comes from the host
 * index (vmstore.h), so start costs the same with 10 VMs or 10,000.
 *
 * Lock order (lock.h): host lock, then the VM's lock.  vm_start takes the
 * host lock only when the VM still needs an id range, and then first.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "crashpoint.h"
#include "ctl.h"
#include "jsonutil.h"
#include "lock.h"
#include "pool.h"
#include "runstate.h"
#include "sysinfo.h"
#include "util.h"
#include "vm.h"
#include "vmcfg-access.h"
#include "vmcfg-start.h"
#include "vmstore.h"
#include "zone.h"

#define START_TIMEOUT_MS 120000
#define NOTIFY_FD	 3

/* ---- the uid/gid range ---- */

_Static_assert(VMSTORE_ID_SLOT == ZONE_ID_COUNT, "an id slot is a zone's uid/gid range");

/* From the host index (vmstore.h): no scan of the other VMs' configs. */
int vm_id_base_alloc(json_t *vm, struct zh_error *err)
{
	uint64_t base = 0;
	int r;

	if (json_is_integer(json_object_get(vm, "zonehost_id_base")))
		return 0;
	r = vmstore_index_id_alloc(&base, err);
	if (r < 0)
		return r;
	if (json_object_set_new(vm, "zonehost_id_base", json_integer((json_int_t)base)) < 0)
		return zh_error_oom(err);
	return 0;
}

/* ---- small helpers ---- */

static int not_running(const char *uuid, const char *state, struct zh_error *err)
{
	return zh_error_set(err, ENOTCONN, NULL, "VM %s is already not 'running' (currently: %s)",
			    uuid, state);
}

/* Lock an existing VM; *state gets its runtime state. */
static int lock_and_state(const char *uuid, struct runstate *rs, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int vl = -EBADF;
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0)
		return r;
	vl = lock_vm(uuid, err);
	if (vl < 0)
		return vl;
	r = runstate_read(uuid, rs);
	if (r < 0)
		return zh_error_oom(err);
	return TAKE_FD(vl);
}

/* Set a boolean property in the stored config when it differs.  VM lock held. */
static int store_flag(const struct pool *p, json_t *vm, const char *key, bool val, bool need_ids,
		      struct zh_error *err)
{
	json_t *cur = json_object_get(vm, key);
	int r;

	if (json_is_boolean(cur) && json_boolean_value(cur) == val && !need_ids)
		return 0;
	if (json_object_set_new(vm, key, json_boolean(val)) < 0)
		return zh_error_oom(err);
	if (need_ids && (r = vm_id_base_alloc(vm, err)) < 0)
		return r;
	return vmstore_save(p, vm, err);
}

static int set_flag(const char *uuid, const char *key, bool val, bool need_ids,
		    struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(uuid, &p, &vm, err);

	return r < 0 ? r : store_flag(p, vm, key, val, need_ids, err);
}

/* ---- spawning zoneadmd ---- */

static int zoneadmd_path(char *buf, size_t len)
{
	const char *env = getenv("ZONEHOST_ZONEADMD");

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	return util_exe_sibling("zoneadmd", buf, len);
}

/* How zoneadmd is spawned: a VM's boot, or an OCI container's (§24). */
struct spawn_req {
	const char *opts;		/* --start-opts JSON, or NULL */
	const struct vm_oci_start *oci; /* NULL: the usual double fork */
};

static _Noreturn void exec_failed(const char *path, int nfd)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *p = NULL;
	int e = errno;

	zh_error_set(&err, e, NULL, "cannot execute %s: %s", path, strerror(e));
	p = json_pack("{s:s}", "error", err.msg ? err.msg : "cannot execute zoneadmd");
	ctl_send(nfd, CTL_BOOTED, -e, p, &err);
	_exit(127);
}

/*
 * An OCI container's zoneadmd is our own child (one fork): it clones init
 * with CLONE_PARENT, so init is our child too and, once we exit, the
 * caller's subreaper (containerd's shim, conmon) reaps it.  Our 0, 1, 2
 * and the caller's preserved fds 3.. go through untouched; the notify fd
 * comes after them.
 */
static _Noreturn void exec_oci(const char *path, const char *uuid, const struct vm_oci_start *o,
			       int wfd)
{
	char nfd_s[16], pres_s[16];
	const char *argv[12];
	int nfd = 3 + (o->preserve_fds > 0 ? o->preserve_fds : 0), n = 0;

	if (setsid() < 0 || (wfd == nfd ? fcntl(nfd, F_SETFD, 0) : dup2(wfd, nfd)) < 0)
		_exit(127);
	snprintf(nfd_s, sizeof(nfd_s), "%d", nfd);
	snprintf(pres_s, sizeof(pres_s), "%d", o->preserve_fds);
	argv[n++] = "zoneadmd";
	argv[n++] = "--notify-fd";
	argv[n++] = nfd_s;
	argv[n++] = "--oci";
	if (o->console_socket) {
		argv[n++] = "--console-socket";
		argv[n++] = o->console_socket;
	}
	if (o->preserve_fds > 0) {
		argv[n++] = "--preserve-fds";
		argv[n++] = pres_s;
	}
	argv[n++] = uuid;
	argv[n] = NULL;
	execv(path, (char *const *)argv);
	exec_failed(path, nfd);
}

/* In the forked child: never returns. */
static _Noreturn void exec_zoneadmd(const char *path, const char *uuid, const struct spawn_req *q,
				    int wfd)
{
	if (q->oci)
		exec_oci(path, uuid, q->oci, wfd);
	if (setsid() < 0 || fork() != 0) /* the middle child ends here */
		_exit(0);
	if (dup2(wfd, NOTIFY_FD) < 0)
		_exit(127);
	if (q->opts)
		execl(path, "zoneadmd", "--notify-fd", "3", "--start-opts", q->opts, uuid,
		      (char *)NULL);
	else
		execl(path, "zoneadmd", "--notify-fd", "3", uuid, (char *)NULL);
	exec_failed(path, NOTIFY_FD);
}

/* Wait (bounded) for zoneadmd's one frame; -ECONNRESET if it ended without one. */
static int recv_booted(int fd, struct ctl_msg *m, struct zh_error *err)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&pfd, 1, START_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -ETIMEDOUT;
	return ctl_recv(fd, m, err);
}

static int booted_error(const char *uuid, const struct ctl_msg *m, struct zh_error *err)
{
	const char *msg = jsonutil_str(m->payload, "error");
	int code = -m->status;

	if (code == EALREADY)
		return zh_error_set(err, EALREADY, NULL, "VM %s is already 'running'", uuid);
	return zh_error_set(err, code, NULL, "%s", msg ? msg : strerror(code));
}

/* Fork (double, or once for OCI) and exec zoneadmd; returns our end of its notify socket. */
static int spawn_zoneadmd(const char *uuid, const struct spawn_req *q, struct zh_error *err)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	char path[PATH_MAX];
	int fds[2], st, r;
	pid_t pid;

	if ((r = zoneadmd_path(path, sizeof(path))) < 0)
		return zh_error_set(err, -r, NULL, "cannot find zoneadmd: %s", strerror(-r));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return zh_error_set(err, errno, NULL, "socketpair: %m");
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0)
		return zh_error_set(err, errno, NULL, "fork: %m");
	if (pid == 0)
		exec_zoneadmd(path, uuid, q, wfd);
	closep(&wfd);
	while (!q->oci && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return TAKE_FD(rfd);
}

/* Wait for zoneadmd's CTL_BOOTED frame: status 0 {"pid"} (into *pid), or -errno {"error"}. */
static int wait_zoneadmd(const char *uuid, int rfd, pid_t *pid, struct zh_error *err)
{
	struct zh_error e = ZH_ERROR_INIT;
	struct ctl_msg m;
	int r = recv_booted(rfd, &m, &e);

	zh_error_clear(&e);
	if (r == -ETIMEDOUT)
		return zh_error_set(err, ETIMEDOUT, NULL, "zoneadmd for %s did not answer", uuid);
	if (r < 0 || m.cmd != CTL_BOOTED)
		r = zh_error_set(err, EIO, NULL, "zoneadmd for %s ended without an answer", uuid);
	else if (m.status < 0)
		r = booted_error(uuid, &m, err);
	else if (pid)
		*pid = (pid_t)json_integer_value(json_object_get(m.payload, "pid"));
	ctl_msg_clear(&m);
	return r;
}

/* ---- start ---- */

static bool needs_ids(const json_t *vm)
{
	int64_t base;

	return !vmcfg_id_base(vm, &base);
}

/*
 * With the VM lock held and vm its stored config, read once under that
 * lock: a VM that still needs its id range gets it (and autoboot) stored
 * before zoneadmd reads the config; otherwise zoneadmd is spawned first
 * and autoboot is stored while the zone boots (zoneadmd never reads
 * autoboot), which keeps the config's fsyncs off the start latency.
 */
static int start_locked(const char *uuid, const struct pool *p, json_t *vm, bool need_ids,
			const struct spawn_req *q, pid_t *pid, struct zh_error *err)
{
	_cleanup_close_ int rfd = -EBADF;
	struct runstate rs;
	bool autoboot = !q->oci; /* a container's caller owns its life (§24) */
	int r;

	/* Before anything changes: a host without what a zone needs says so. */
	if (!vmcfg_is_hvm(vm) && (r = sysinfo_zone_check(vm, err)) < 0)
		return r;
	if (runstate_read(uuid, &rs) < 0)
		return zh_error_oom(err);
	r = rs.live ? -EALREADY : 0;
	runstate_clear(&rs);
	if (r < 0)
		return zh_error_set(err, EALREADY, NULL, "VM %s is already 'running'", uuid);
	if (need_ids && (r = store_flag(p, vm, VMCFG_AUTOBOOT, autoboot, true, err)) < 0)
		return r;
	crashpoint("start.locked");
	if ((rfd = spawn_zoneadmd(uuid, q, err)) < 0)
		return rfd;
	crashpoint("start.spawned");
	if (!need_ids && autoboot && (r = store_flag(p, vm, VMCFG_AUTOBOOT, true, false, err)) < 0)
		return r;
	return wait_zoneadmd(uuid, rfd, pid, err);
}

/* Lock VM uuid of pool p (the lock fd in *vl) and read its config into *vm. */
static int lock_and_load(const char *uuid, const struct pool *p, int *vl, json_t **vm,
			 struct zh_error *err)
{
	if ((*vl = lock_vm(uuid, err)) < 0)
		return *vl;
	return vmstore_load(p, uuid, vm, err);
}

/*
 * The config is read once, under the VM lock, and passed down; only the
 * first start of an older VM without an id range reads it again, after
 * taking the host lock first (lock order, lock.h).
 */
/* The one-boot extras as zoneadmd's --start-opts (NULL: none). */
static int start_opts(const json_t *vm, char *const *extras, char **opts, struct zh_error *err)
{
	_cleanup_json_ json_t *o = NULL;
	int r;

	*opts = NULL;
	if (!extras || !extras[0])
		return 0;
	if ((r = vmcfg_start_opts(vmcfg_brand(vm), extras, &o, err)) < 0)
		return r;
	return (*opts = json_dumps(o, JSON_COMPACT)) ? 0 : zh_error_oom(err);
}

int vm_start(const char *uuid, struct zh_error *err)
{
	return vm_start_with(uuid, NULL, err);
}

/* Lock the VM and load its config, the host lock first when it needs its id range. */
static int lock_for_start(const char *uuid, const struct pool *p, int *hl, int *vl, json_t **vm,
			  struct zh_error *err)
{
	int r = lock_and_load(uuid, p, vl, vm, err);

	if (r < 0 || !needs_ids(*vm))
		return r;
	closep(vl);
	json_decref(TAKE_PTR(*vm));
	if ((*hl = lock_host(err)) < 0)
		return *hl;
	return lock_and_load(uuid, p, vl, vm, err);
}

int vm_start_with(const char *uuid, char *const *extras, struct zh_error *err)
{
	_cleanup_close_ int hl = -EBADF, vl = -EBADF;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	_cleanup_free_ char *opts = NULL;
	struct spawn_req q = {0};
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0 || (r = lock_for_start(uuid, p, &hl, &vl, &vm, err)) < 0)
		return r;
	if (vmcfg_oci_bundle(vm))
		return zh_error_set(
			err, EINVAL, NULL,
			"VM %s is an OCI container: its runtime (zonehost-runc) starts it", uuid);
	if ((r = start_opts(vm, extras, &opts, err)) < 0)
		return r;
	q.opts = opts;
	return start_locked(uuid, p, vm, needs_ids(vm), &q, NULL, err);
}

int vm_start_oci(const char *uuid, const struct vm_oci_start *o, pid_t *pid, struct zh_error *err)
{
	_cleanup_close_ int hl = -EBADF, vl = -EBADF;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	struct spawn_req q = {.oci = o};
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0 || (r = lock_for_start(uuid, p, &hl, &vl, &vm, err)) < 0)
		return r;
	if (!vmcfg_oci_bundle(vm))
		return zh_error_set(err, EINVAL, NULL, "VM %s is not an OCI container", uuid);
	return start_locked(uuid, p, vm, needs_ids(vm), &q, pid, err);
}

int vm_oci_start_process(const char *uuid, struct zh_error *err)
{
	_cleanup_close_ int fd = ctl_connect(uuid, err);

	if (fd < 0)
		return fd;
	return ctl_request(fd, CTL_START, NULL, NULL, err);
}

/* ---- stop / reboot / kill ---- */

/* Wait (bounded) until zoneadmd closes the connection: it has ended. */
static void wait_closed(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[64];

	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

int vm_stop_locked(const char *uuid, int timeout, bool force, struct zh_error *err)
{
	_cleanup_close_ int lfd = runstate_open_lock(uuid);
	_cleanup_close_ int fd = ctl_connect(uuid, err);
	json_t *p = json_pack("{s:i,s:b}", "timeout", timeout, "force", force);
	int r;

	if (fd == -ENOTCONN) { /* it ended meanwhile */
		zh_error_clear(err);
		fd = not_running(uuid, "stopped", err);
	}
	if (fd < 0) {
		json_decref(p);
		return fd;
	}
	if (!p)
		return zh_error_oom(err);
	r = ctl_request(fd, CTL_STOP, p, NULL, err);
	crashpoint("stop.requested");
	if (r == -ECONNRESET) { /* zoneadmd ended before answering: it is down */
		zh_error_clear(err);
		r = 0;
	}
	if (r == 0)
		wait_closed(fd, 10000);
	if (r == 0 && lfd >= 0) /* zoneadmd and its sentinel have ended */
		runstate_wait_released(lfd, 10000);
	return r;
}

int vm_stop(const char *uuid, int timeout, bool force, struct zh_error *err)
{
	_cleanup_close_ int vl = -EBADF;
	struct runstate rs;
	int r, full;

	vl = lock_and_state(uuid, &rs, err);
	if (vl < 0)
		return vl;
	if (!rs.live) {
		r = not_running(uuid, rs.state, err);
		runstate_clear(&rs);
		return r;
	}
	runstate_clear(&rs);
	r = set_flag(uuid, VMCFG_AUTOBOOT, false, false, err);
	if (r == -EDQUOT || r == -ENOSPC) /* a full dataset must not keep a zone running */
		zh_error_clear(err);
	else if (r < 0)
		return r;
	full = r;
	crashpoint("stop.flagged");
	r = vm_stop_locked(uuid, timeout, force, err); /* < 0: the brand's (zoneadmd) */
	if (r < 0 || full == 0)
		return r;
	return zh_error_set(
		err, -full, "autoboot",
		"VM %s stopped, but autoboot stays true: its config cannot be written: %s", uuid,
		strerror(-full));
}

int vm_reboot(const char *uuid, bool force, struct zh_error *err)
{
	_cleanup_close_ int vl = -EBADF;
	struct runstate rs;
	int r;

	vl = lock_and_state(uuid, &rs, err);
	if (vl < 0)
		return vl;
	r = rs.live ? 0 : not_running(uuid, rs.state, err);
	runstate_clear(&rs);
	if (r < 0)
		return r;
	r = ctl_call(uuid, CTL_REBOOT, json_pack("{s:b,s:i}", "force", force, "timeout", 60), NULL,
		     err);
	if (r == -ENOTCONN) {
		zh_error_clear(err);
		return not_running(uuid, "stopped", err);
	}
	return r;
}

int vm_kill(const char *uuid, int sig, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0)
		return r;
	r = ctl_call(uuid, CTL_KILL, json_pack("{s:i}", "signal", sig), NULL, err);
	if (r == -ENOTCONN || r == -ESRCH) {
		zh_error_clear(err);
		return zh_error_set(err, ESRCH, NULL, "Cannot find running init PID for VM %s",
				    uuid);
	}
	return r;
}

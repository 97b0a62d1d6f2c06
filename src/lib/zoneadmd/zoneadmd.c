/*
 * zoneadmd.c - the supervisor's state machine (docs/architecture.md,
 * "zoneadmd").  Brand-neutral: what touches the payload goes through
 * z->ops (brand.h); this file owns the phases, the stop timer, the
 * cgroup's end and the runtime files (state.json, exit.json).
 *
 *   BOOTING --boot--> RUNNING --stop--> STOPPING --init ends--> end
 *                        |  \--reboot--> REBOOTING --init ends--> boot
 *                        \--init ends (asked to reboot: SIGHUP)--> boot
 *                        \--init ends--> end
 *
 * STOP sends the payload the halt signal (ops->prepare picked it), arms
 * the timeout (default 60 s), and at expiry kills everything (ops->kill).
 * -F kills at once.  REBOOT sends the reboot signal and boots again
 * however the payload ends; `reboot -F` kills and boots again.  A payload
 * that ends by itself after asking for a reboot (the OS zone: init killed
 * by SIGHUP, which is how the kernel ends a PID namespace's init that
 * called reboot(2) to restart) boots again with the config re-read.
 *
 * When the payload ends for good: exit.json {"exit_status"} (128+signal
 * for a signal), everything left killed, the network removed, the cgroup
 * removed, the console closed, state.json, the socket and the lock file
 * removed, STOP waiters answered, the sentinel told "clean end", and
 * z->ended set: the loop returns and main exits.  Nothing here exits.
 *
 *     zad_init(&z, uuid, &brand_zone);
 *     zad_boot(&z, &err);  ...  zad_on_init_exit(&z);  ... z.ended
 */
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "brand.h"
#include "cgroup.h"
#include "crashpoint.h"
#include "ctl.h"
#include "jsonutil.h"
#include "runstate.h"
#include "signame.h"
#include "vmcfg-access.h"
#include "zoneadmd.h"

/* Free what is left (after zad_end, or a set-up that failed early). */
void zad_free(struct zad *z)
{
	if (z->ops && z->ops->free)
		z->ops->free(z);
	zad_mdata_free(z);
	zad_clients_close_all(z);
	zad_console_close(z);
	zlog_close(&z->conlog);
	zlog_close(&z->log);
	closep(&z->zp.pidfd);
	closep(&z->timerfd);
	closep(&z->lfd);
	closep(&z->sigfd);
	closep(&z->epfd);
	closep(&z->sentinel_pidfd);
	closep(&z->sentinel_fd);
	closep(&z->notify_fd);
	closep(&z->lock_fd);
	pool_free(TAKE_PTR(z->pool));
	json_decref(TAKE_PTR(z->vm));
	json_decref(TAKE_PTR(z->start_opts));
	freep(&z->zonepath);
	freep(&z->root);
}

static void arm_timer(struct zad *z, int seconds)
{
	struct itimerspec its = {.it_value.tv_sec = seconds, .it_value.tv_nsec = seconds ? 0 : 1};

	timerfd_settime(z->timerfd, 0, &its, NULL);
}

static void disarm_timer(struct zad *z)
{
	struct itimerspec its = {0};

	timerfd_settime(z->timerfd, 0, &its, NULL);
}

/* ---- the config ---- */

int zad_reload(struct zad *z, struct zh_error *err)
{
	struct cgroup_limits l;
	int r = z->load(z, err);

	if (r < 0)
		return r;
	r = z->ops->prepare(z, err);
	if (r < 0 || !z->cgroup_made)
		return r;
	cgroup_limits_from_vm(z->vm, &l);
	return cgroup_apply(z->uuid, &l, err);
}

/* json_equal() says two missing keys (NULL) differ: here they are the same. */
static bool key_same(const json_t *a, const json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return x == y || json_equal(x, y);
}

static bool net_changed(const json_t *old, const json_t *vm)
{
	return !key_same(old, vm, VMCFG_NICS) || !key_same(old, vm, VMCFG_ROUTES);
}

int zad_net_update(struct zad *z, const json_t *old, struct zh_error *err)
{
	int r;

	if (!z->net_made || z->zp.pid <= 0 || z->phase != ZAD_RUNNING || !net_changed(old, z->vm))
		return 0;
	r = z->ops->net_update(z, old, err);
	if (r < 0) { /* the brand put the old network back: so is the config */
		json_decref(z->vm);
		z->vm = json_deep_copy(old);
	}
	return r;
}

/* ---- boot ---- */

/* The metadata server: a failure leaves the guest without metadata, never unbooted. */
static void start_mdata(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->ops->mdata && zad_mdata_start(z, &err) < 0)
		zad_logf(z, "metadata: %s; the guest has no metadata service this boot",
			 err.msg ? err.msg : "cannot start the server");
	zh_error_clear(&err);
}

int zad_boot(struct zad *z, struct zh_error *err)
{
	int r;

	start_mdata(z);
	r = z->ops->boot(z, err);
	if (r < 0) {
		zad_mdata_stop(z);
		return r;
	}
	util_timestamp_now(z->boot_ts);
	if (zad_watch(z, z->zp.pidfd, ZT_INIT, EPOLLIN) < 0) {
		z->ops->kill(z);
		return zh_error_set(err, errno, NULL, "epoll: %m");
	}
	z->phase = ZAD_RUNNING;
	/* An OCI container waits at its start gate until CTL_START (brand-oci.c). */
	return zad_write_state(z, z->dk.created ? "created" : "running");
}

/* ---- the end ---- */

static void release_host(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	disarm_timer(z);
	zad_mdata_stop(z);
	z->ops->net_release(z);
	crashpoint("zoneadmd.end.net");
	if (z->cgroup_made) {
		z->ops->kill(z);
		if (cgroup_destroy(z->uuid, &err) < 0)
			zad_logf(z, "%s", err.msg);
		zh_error_clear(&err);
		z->cgroup_made = false;
	}
	crashpoint("zoneadmd.end.cgroup");
	if (z->ops->free) /* after the kill: the last words of what is gone */
		z->ops->free(z);
	zad_console_close(z);
	zad_unwatch(z, z->lfd);
	closep(&z->lfd);
}

void zad_end(struct zad *z, int status, const char *failed)
{
	struct zh_error err = ZH_ERROR_INIT;
	/* status < 0: the caller reaped the process (brand-oci.c), the status is its. */
	_cleanup_json_ json_t *out = status < 0 ? json_pack("{s:n}", "exit_status")
						: json_pack("{s:i}", "exit_status", status);

	release_host(z);
	if (runstate_write_exit(z->uuid, status, failed, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	crashpoint("zoneadmd.end.exit");
	runstate_finish(z->uuid);
	if (failed)
		zad_logf(z, "failed: %s", failed);
	else
		zad_logf(z, "halted: exit status %d", status);
	zad_reply_waiters(z, CTL_STOP, 0, out);
	zad_reply_waiters(z, CTL_REBOOT, -ESHUTDOWN, NULL);
	zad_clients_close_all(z);
	zad_sentinel_done(z);
	z->ended = true;
	z->exit_code = failed ? ZAD_EXIT_ERR : ZAD_EXIT_OK;
}

static void restart(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	z->ops->kill(z); /* whatever the old payload left */
	disarm_timer(z);
	zad_mdata_stop(z);
	/* The last boot's sub-cgroups go, so the zone's top is a leaf again. */
	r = z->cgroup_made ? cgroup_reset_zone(z->uuid, &err) : 0;
	if (r == 0)
		r = zad_reload(z, &err);
	if (r == 0)
		r = zad_boot(z, &err);
	if (r < 0) {
		_cleanup_free_ char *why = strdup(err.msg ? err.msg : "reboot failed");

		zh_error_clear(&err);
		zad_end(z, ZAD_EXIT_ERR, why ? why : "reboot failed");
		return;
	}
	zad_reply_waiters(z, CTL_REBOOT, 0, NULL);
}

void zad_on_init_exit(struct zad *z)
{
	int status = 0;
	bool asked = false, reboot;

	if (z->ops->reap(z, &status, &asked) < 0)
		return;
	reboot = z->phase == ZAD_REBOOTING || (z->phase == ZAD_RUNNING && asked);
	zad_unwatch(z, z->zp.pidfd);
	closep(&z->zp.pidfd);
	zad_logf(z, "init pid %d ended: status %d%s", (int)z->zp.pid, status,
		 reboot ? ", rebooting" : "");
	z->zp.pid = 0;
	if (reboot)
		restart(z);
	else
		zad_end(z, status, NULL);
}

/* ---- stop and reboot ---- */

int zad_stop(struct zad *z, int timeout, bool force)
{
	char name[32];

	if (force) {
		z->phase = ZAD_STOPPING;
		z->ops->kill(z);
		return 0;
	}
	if (z->phase == ZAD_STOPPING)
		return 0;
	z->phase = ZAD_STOPPING;
	zad_write_state(z, "stopping");
	zad_logf(z, "stopping: %s to init, %d s", signame_format(z->halt_sig, name, sizeof(name)),
		 timeout);
	z->ops->signal(z, z->halt_sig);
	arm_timer(z, timeout);
	return 0;
}

int zad_reboot(struct zad *z, bool force, int timeout)
{
	char name[32];

	z->phase = ZAD_REBOOTING;
	if (force) {
		z->ops->kill(z);
		return 0;
	}
	zad_logf(z, "rebooting: %s to init", signame_format(z->reboot_sig, name, sizeof(name)));
	z->ops->signal(z, z->reboot_sig);
	arm_timer(z, timeout);
	return 0;
}

void zad_on_timer(struct zad *z)
{
	zad_logf(z, "timeout: killing everything in the zone");
	z->ops->kill(z);
}

/* Host shutdown (SIGTERM, SIGINT): stop gracefully; autoboot stays. */
void zad_on_signal(struct zad *z, int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		zad_stop(z, 60, false);
}

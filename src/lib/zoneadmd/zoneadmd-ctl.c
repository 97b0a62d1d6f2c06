/*
 * zoneadmd-ctl.c - the control socket: accepting clients, reading their
 * requests, the command table (docs/architecture.md §16;
 * the client list itself is zoneadmd-clients.c).  Each request is one
 * length-checked frame (ctl_recv); each handler answers at once, or marks
 * the client as waiting (STOP, REBOOT) and zoneadmd.c answers when the
 * VM is down or up again.  Unknown commands get -ENOSYS, and so do those
 * at or above z->ctl_max (a test plays an older zoneadmd with it); a bad
 * frame closes the connection.  Only root gets in (ctl_accept checks
 * SO_PEERCRED).
 *
 *     zad_accept(z);  ...  zad_client_event(z, fd, EPOLLIN);
 */
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <signal.h>

#include "brand.h"
#include "ctl.h"
#include "jsonutil.h"
#include "zoneadmd.h"

typedef int (*ctl_handler)(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
			   struct zh_error *err);

static int h_status(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		    struct zh_error *err)
{
	static const char *const names[] = {
		[ZAD_BOOTING] = "ready",
		[ZAD_RUNNING] = "running",
		[ZAD_STOPPING] = "stopping",
		[ZAD_REBOOTING] = "stopping",
	};

	const char *state = z->dk.created ? "created" : names[z->phase];

	*out = json_pack("{s:s,s:i,s:s,s:i}", "state", state, "pid", (int)z->zp.pid,
			 "boot_timestamp", z->boot_ts, "zoneadmd_pid", (int)getpid());
	return *out ? 0 : zh_error_oom(err);
}

static int int_arg(const json_t *in, const char *key, int def)
{
	json_t *v = json_object_get(in, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 86400
		       ? (int)json_integer_value(v)
		       : def;
}

static int h_stop(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		  struct zh_error *err)
{
	int def = z->stop_timeout > 0 ? z->stop_timeout : 60; /* a timeout < 0: the brand's */

	c->waiting = CTL_STOP;
	return zad_stop(z, int_arg(in, "timeout", def), json_is_true(json_object_get(in, "force")));
}

static int h_reboot(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		    struct zh_error *err)
{
	if (z->phase == ZAD_STOPPING)
		return zh_error_set(err, EBUSY, NULL, "VM %s is stopping", z->uuid);
	c->waiting = CTL_REBOOT;
	return zad_reboot(z, json_is_true(json_object_get(in, "force")),
			  int_arg(in, "timeout", 60));
}

static int h_kill(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		  struct zh_error *err)
{
	json_t *s = json_object_get(in, "signal");
	json_int_t sig = json_integer_value(s);
	int r;

	if (!json_is_integer(s) || sig < 1 || sig > SIGRTMAX)
		return zh_error_set(err, EINVAL, "signal", "invalid signal");
	if (z->zp.pidfd < 0)
		return zh_error_set(err, ESRCH, NULL, "Cannot find running init PID for VM %s",
				    z->uuid);
	if ((r = z->ops->signal(z, (int)sig)) < 0)
		return zh_error_set(err, -r, NULL, "cannot signal init: %s", strerror(-r));
	zad_logf(z, "sent signal %d to init", (int)sig);
	return 0;
}

static int h_console(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		     struct zh_error *err)
{
	if (z->pty_master < 0)
		return zh_error_set(err, ENODEV, NULL, "VM %s has no console", z->uuid);
	c->console = true; /* after the reply, raw bytes both ways */
	return 0;
}

/* Re-read the config: live limits and signals (never the network). */
static int h_update(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		    struct zh_error *err)
{
	return zad_reload(z, err);
}

/* CTL_UPDATE, then changed nics and routes applied to the running VM. */
static int h_update_net(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
			struct zh_error *err)
{
	_cleanup_json_ json_t *old = json_incref(z->vm);
	int r = zad_reload(z, err);

	return r < 0 ? r : zad_net_update(z, old, err);
}

/* The brand's runtime facts (vmadm info): only while the payload runs. */
static int h_info(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		  struct zh_error *err)
{
	const json_t *types = json_object_get(in, "types");

	if (!z->ops->info)
		return zh_error_set(err, ENOTSUP, NULL, "brand %s has no runtime info",
				    z->ops->name);
	if (!json_is_array(types))
		return zh_error_set(err, EINVAL, "types", "info types must be a list");
	if (z->zp.pidfd < 0 || z->phase != ZAD_RUNNING)
		return zh_error_set(err, ESRCH, NULL, "VM %s is not running", z->uuid);
	return z->ops->info(z, types, out, err);
}

static int h_sysrq(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		   struct zh_error *err)
{
	const char *req = jsonutil_str(in, "request");

	if (!z->ops->sysrq)
		return zh_error_set(err, ENOTSUP, NULL, "brand %s has no sysrq", z->ops->name);
	if (!req)
		return zh_error_set(err, EINVAL, "request", "sysrq request missing");
	if (z->zp.pidfd < 0 || z->phase != ZAD_RUNNING)
		return zh_error_set(err, ESRCH, NULL, "VM %s is not running", z->uuid);
	zad_logf(z, "sysrq %s", req);
	return z->ops->sysrq(z, req, out, err);
}

/* OCI: open the start gate, answer once the process exec'd (docs/architecture.md §24.3). */
static int h_start(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		   struct zh_error *err)
{
	if (!z->ops->start || z->phase != ZAD_RUNNING)
		return zh_error_set(err, EINVAL, NULL, "already started");
	return z->ops->start(z, err);
}

/* The stored config changed: re-read it, push the metadata server its new view. */
static int h_mdata(struct zad *z, struct zad_client *c, const json_t *in, json_t **out,
		   struct zh_error *err)
{
	zad_mdata_refresh(z);
	return 0;
}

static const ctl_handler handlers[CTL_CMD_MAX] = {
	[CTL_STATUS] = h_status,	 [CTL_STOP] = h_stop,	    [CTL_KILL] = h_kill,
	[CTL_REBOOT] = h_reboot,	 [CTL_CONSOLE] = h_console, [CTL_UPDATE] = h_update,
	[CTL_UPDATE_NET] = h_update_net, [CTL_INFO] = h_info,	    [CTL_SYSRQ] = h_sysrq,
	[CTL_MDATA] = h_mdata,		 [CTL_START] = h_start,
};

/* ---- clients ---- */

void zad_accept(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	int fd = ctl_accept(z->lfd, &err);

	if (fd < 0) {
		if (err.errnum != EAGAIN)
			zad_logf(z, "%s", err.msg);
		zh_error_clear(&err);
		return;
	}
	zad_client_add(z, fd);
}

static void answer(struct zad_client *c, uint16_t cmd, int r, struct zh_error *err,
		   const json_t *out)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_json_ json_t *e = NULL;

	if (r < 0)
		e = json_pack("{s:s}", "error", err->msg ? err->msg : strerror(-r));
	ctl_send(c->fd, cmd, r < 0 ? r : 0, r < 0 ? e : out, &ignored);
	zh_error_clear(&ignored);
}

static void dispatch(struct zad *z, struct zad_client *c, const struct ctl_msg *m)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *out = NULL;
	bool known = m->cmd < CTL_CMD_MAX && (!z->ctl_max || m->cmd < z->ctl_max);
	ctl_handler h = known ? handlers[m->cmd] : NULL;
	int r;

	if (!h)
		r = zh_error_set(&err, ENOSYS, NULL, "unknown control command %u", m->cmd);
	else
		r = h(z, c, m->payload, &out, &err);
	if (r < 0)
		c->waiting = 0;
	if (r < 0 || !c->waiting)
		answer(c, m->cmd, r, &err, out);
	zh_error_clear(&err);
}

static struct zad_client *find_client(struct zad *z, int fd)
{
	for (struct zad_client *c = z->clients; c; c = c->next)
		if (c->fd == fd)
			return c;
	return NULL;
}

void zad_client_event(struct zad *z, int fd, uint32_t events)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct zad_client *c = find_client(z, fd);
	struct ctl_msg m;

	if (!c)
		return;
	if (c->console) {
		zad_console_input(z, c);
		return;
	}
	if (ctl_recv(c->fd, &m, &err) < 0) {
		int e = err.errnum;

		if (e != EAGAIN && e != ECONNRESET)
			zad_logf(z, "control client: %s", err.msg);
		zh_error_clear(&err);
		if (e != EAGAIN)
			zad_client_close(z, c);
		return;
	}
	dispatch(z, c, &m);
	ctl_msg_clear(&m);
}

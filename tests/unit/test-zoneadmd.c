/*
 * test-zoneadmd.c - zoneadmd's state machine (src/lib/zoneadmd/zoneadmd.c)
 * and its control commands, driven with a fake brand: no zone, no cgroup,
 * no network.  The payload's "pidfd" is an eventfd; the fake's reap
 * returns the exit the test scripted.  Runtime files go to a private
 * ZONEHOST_ROOT under /tmp.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "brand.h"
#include "ctl.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "paths.h"
#include "runstate.h"
#include "tap.h"
#include "zoneadmd.h"

#define UUID "6f1e3c0a-1b2c-4d5e-8f90-0123456789ab"

/* ---- the fake brand ---- */

static struct {
	int prepares, boots, kills, net_updates, net_releases;
	int sigs[16], nsig;
	int boot_fail, net_fail; /* errno to fail with; 0 succeeds */
	int status;		 /* what reap reports */
	bool asked;		 /* the payload asked for a reboot */
	json_t *stored;		 /* what load reads */
} F;

static int fake_load(struct zad *z, struct zh_error *err)
{
	json_decref(z->vm);
	z->vm = json_deep_copy(F.stored);
	return z->vm ? 0 : zh_error_oom(err);
}

static int fake_prepare(struct zad *z, struct zh_error *err)
{
	F.prepares++;
	z->halt_sig = SIGUSR2;
	z->reboot_sig = SIGTERM;
	return 0;
}

static int fake_console(struct zad *z, struct zh_error *err)
{
	return 0;
}

static int fake_boot(struct zad *z, struct zh_error *err)
{
	if (F.boot_fail)
		return zh_error_set(err, F.boot_fail, NULL, "fake boot failed");
	z->zp.pidfd = eventfd(0, EFD_CLOEXEC);
	z->zp.pid = 1000 + F.boots++;
	z->net_made = true;
	return 0;
}

static int fake_signal(struct zad *z, int sig)
{
	if (F.nsig < (int)ARRAY_SIZE(F.sigs))
		F.sigs[F.nsig++] = sig;
	return z->zp.pidfd >= 0 ? 0 : -ESRCH;
}

static void fake_kill(struct zad *z)
{
	F.kills++;
}

static int fake_reap(struct zad *z, int *status, bool *reboot)
{
	*status = F.status;
	*reboot = F.asked;
	return 0;
}

static int fake_net_update(struct zad *z, const json_t *old, struct zh_error *err)
{
	F.net_updates++;
	return F.net_fail ? zh_error_set(err, F.net_fail, NULL, "fake network failed") : 0;
}

static void fake_net_release(struct zad *z)
{
	if (z->net_made)
		F.net_releases++;
	z->net_made = false;
}

static int fake_info(struct zad *z, const json_t *types, json_t **out, struct zh_error *err)
{
	*out = json_pack("{s:O}", "asked", types);
	return *out ? 0 : zh_error_oom(err);
}

static int fake_sysrq(struct zad *z, const char *req, json_t **out, struct zh_error *err)
{
	*out = json_pack("{s:s}", "done", req);
	return *out ? 0 : zh_error_oom(err);
}

static const struct brand_ops fake_ops = {
	.name = "fake",
	.prepare = fake_prepare,
	.console = fake_console,
	.boot = fake_boot,
	.signal = fake_signal,
	.kill = fake_kill,
	.reap = fake_reap,
	.net_update = fake_net_update,
	.net_release = fake_net_release,
	.info = fake_info,
	.sysrq = fake_sysrq,
};

/* ---- helpers ---- */

static char tmp[] = "/tmp/test-zoneadmd-XXXXXX";

static void fresh(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ char *dir = runstate_dir(UUID);

	json_decref(F.stored);
	memset(&F, 0, sizeof(F));
	F.stored = json_pack("{s:s,s:[{s:s}]}", "uuid", UUID, "nics", "ip", "198.18.0.2");
	zad_init(z, UUID, &fake_ops);
	z->load = fake_load;
	if (fsutil_mkdir_p(dir, 0700, &err) < 0 || zad_events_open(z, &err) < 0 ||
	    zlog_open(&z->log, tmp, "zoneadmd.log", 0, &err) < 0 || zad_reload(z, &err) < 0)
		printf("# set-up: %s\n", err.msg);
	zh_error_clear(&err);
}

static int boot(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r = zad_boot(z, &err);

	zh_error_clear(&err);
	return r;
}

/* What zoneadmd wrote in state.json ("" when there is none). */
static const char *file_state(void)
{
	static char buf[32];
	_cleanup_free_ char *p = runstate_path(UUID, "state.json");
	_cleanup_json_ json_t *j = p ? json_load_file(p, 0, NULL) : NULL;
	const char *s = jsonutil_str(j, "state");

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	return buf;
}

/* exit.json's exit_status, or -1. */
static int exit_status(void)
{
	_cleanup_free_ char *p = runstate_path(UUID, "exit.json");
	_cleanup_json_ json_t *j = p ? json_load_file(p, 0, NULL) : NULL;
	json_t *v = json_object_get(j, "exit_status");

	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static bool timer_armed(struct zad *z)
{
	struct itimerspec its;

	return timerfd_gettime(z->timerfd, &its) == 0 &&
	       (its.it_value.tv_sec || its.it_value.tv_nsec);
}

/* A control client: our end of a socketpair whose other end (*srv) zoneadmd serves. */
static int client(struct zad *z, int *srv)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	zad_client_add(z, sv[1]);
	*srv = sv[1];
	return sv[0];
}

static void send_cmd(struct zad *z, int fd, int srv, uint16_t cmd, json_t *payload)
{
	struct zh_error err = ZH_ERROR_INIT;

	ctl_send(fd, cmd, 0, payload, &err);
	json_decref(payload);
	zh_error_clear(&err);
	zad_client_event(z, srv, EPOLLIN);
}

/* The reply waiting on fd (status; *out its payload), or 1 when none is there. */
static int reply(int fd, json_t **out)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctl_msg m;
	int r;

	if (recv(fd, &r, sizeof(r), MSG_PEEK | MSG_DONTWAIT) < 0)
		return 1;
	r = ctl_recv(fd, &m, &err);
	zh_error_clear(&err);
	if (r < 0)
		return r;
	r = m.status;
	if (out)
		*out = TAKE_PTR(m.payload);
	ctl_msg_clear(&m);
	return r;
}

/* Send cmd, return the reply's status (1: no reply yet). */
static int call(struct zad *z, uint16_t cmd, json_t *payload, json_t **out)
{
	int srv, fd = client(z, &srv), r;

	send_cmd(z, fd, srv, cmd, payload);
	r = reply(fd, out);
	close(fd);
	return r;
}

static void payload_ends(struct zad *z, int status, bool asked)
{
	F.status = status;
	F.asked = asked;
	zad_on_init_exit(z);
}

static const char *status_state(struct zad *z)
{
	static char buf[32];
	_cleanup_json_ json_t *out = NULL;

	buf[0] = '\0';
	if (call(z, CTL_STATUS, NULL, &out) == 0)
		snprintf(buf, sizeof(buf), "%s", jsonutil_str(out, "state"));
	return buf;
}

/* ---- the tests ---- */

static void test_boot(void)
{
	struct zad z;

	fresh(&z);
	is_str(status_state(&z), "ready", "before the boot: ready");
	is_int(call(&z, CTL_KILL, json_pack("{s:i}", "signal", SIGUSR1), NULL), -ESRCH,
	       "kill without a payload: ESRCH");
	is_int(boot(&z), 0, "boot ok");
	is_int(z.phase, ZAD_RUNNING, "running");
	is_str(file_state(), "running", "state.json running");
	is_str(status_state(&z), "running", "CTL_STATUS running");
	is_int(F.prepares, 1, "the brand read the config once");
	ok(!z.ended, "not ended");
	zad_end(&z, 0, NULL);
	zad_free(&z);
}

static void test_boot_fails(void)
{
	struct zad z;

	fresh(&z);
	F.boot_fail = ENOENT;
	is_int(boot(&z), -ENOENT, "a failed boot returns the brand's error");
	is_int(z.phase, ZAD_BOOTING, "still booting");
	zad_end(&z, ZAD_EXIT_ERR, "fake boot failed");
	ok(z.ended && z.exit_code == ZAD_EXIT_ERR, "the set-up failure ends with exit code 1");
	is_str(file_state(), "", "state.json removed");
	zad_free(&z);
}

static void test_halt(void)
{
	_cleanup_json_ json_t *out = NULL;
	struct zad z;
	int srv, fd;

	fresh(&z);
	boot(&z);
	fd = client(&z, &srv);
	send_cmd(&z, fd, srv, CTL_STOP, json_pack("{s:i}", "timeout", 5));
	is_int(reply(fd, NULL), 1, "STOP is answered only when the payload is down");
	is_int(z.phase, ZAD_STOPPING, "stopping");
	is_str(file_state(), "stopping", "state.json stopping");
	ok(F.nsig == 1 && F.sigs[0] == SIGUSR2, "the halt signal went to the payload");
	ok(timer_armed(&z), "the stop timeout is armed");
	is_str(status_state(&z), "stopping", "CTL_STATUS stopping");
	is_int(call(&z, CTL_REBOOT, NULL, NULL), -EBUSY, "REBOOT while stopping: EBUSY");
	zad_stop(&z, 5, false);
	is_int(F.nsig, 1, "a second stop sends nothing");
	payload_ends(&z, 0, false);
	ok(z.ended && z.exit_code == ZAD_EXIT_OK, "the VM ended cleanly");
	is_int(exit_status(), 0, "exit.json exit_status 0");
	is_int(F.net_releases, 1, "the network was released");
	is_int(reply(fd, &out), 0, "STOP answered");
	is_int(json_integer_value(json_object_get(out, "exit_status")), 0, "with the exit status");
	ok(!timer_armed(&z), "the timer is disarmed");
	close(fd);
	zad_free(&z);
}

static void test_stop_timeout(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	zad_stop(&z, 1, false);
	zad_on_timer(&z);
	is_int(F.kills, 1, "at the timeout the payload is killed");
	payload_ends(&z, 128 + SIGKILL, false);
	is_int(exit_status(), 137, "exit.json 137");
	ok(z.ended && z.exit_code == ZAD_EXIT_OK, "a killed payload is still a clean end");
	zad_free(&z);
}

/* Remaining seconds of the stop timer (rounded up). */
static long timer_left(struct zad *z)
{
	struct itimerspec its;

	if (timerfd_gettime(z->timerfd, &its) < 0)
		return -1;
	return its.it_value.tv_sec + (its.it_value.tv_nsec > 0);
}

static void test_stop_brand_timeout(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	is_int(call(&z, CTL_STOP, json_pack("{s:i}", "timeout", -1), NULL), 1, "STOP, no timeout");
	is_int(timer_left(&z), 60, "no brand timeout: 60 s");
	zad_free(&z);
	fresh(&z);
	boot(&z);
	z.stop_timeout = 180; /* brand-hvm's: ACPI powerdown */
	is_int(call(&z, CTL_STOP, json_pack("{s:i}", "timeout", -1), NULL), 1, "STOP, HVM");
	is_int(timer_left(&z), 180, "the brand's stop timeout");
	zad_free(&z);
	fresh(&z);
	boot(&z);
	z.stop_timeout = 180;
	is_int(call(&z, CTL_STOP, json_pack("{s:i}", "timeout", 7), NULL), 1, "STOP -t 7");
	is_int(timer_left(&z), 7, "-t wins over the brand's");
	zad_free(&z);
}

static void test_stop_force(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	is_int(call(&z, CTL_STOP, json_pack("{s:b}", "force", 1), NULL), 1, "STOP -F waits");
	is_int(F.kills, 1, "STOP -F kills at once");
	is_int(F.nsig, 0, "and sends no halt signal");
	is_int(z.phase, ZAD_STOPPING, "stopping");
	zad_free(&z);
}

static void test_reboot(void)
{
	struct zad z;
	int srv, fd;

	fresh(&z);
	boot(&z);
	fd = client(&z, &srv);
	send_cmd(&z, fd, srv, CTL_REBOOT, NULL);
	is_int(z.phase, ZAD_REBOOTING, "rebooting");
	ok(F.nsig == 1 && F.sigs[0] == SIGTERM, "the reboot signal went to the payload");
	is_str(status_state(&z), "stopping", "CTL_STATUS says stopping while rebooting");
	payload_ends(&z, 0, false); /* however it ends, it boots again */
	ok(!z.ended, "not ended");
	is_int(F.boots, 2, "booted again");
	is_int(F.prepares, 2, "the config was read again");
	is_int(z.phase, ZAD_RUNNING, "running again");
	is_int(reply(fd, NULL), 0, "REBOOT answered once the payload runs again");
	is_int((int)z.zp.pid, 1001, "the new payload's pid");
	close(fd);
	zad_end(&z, 0, NULL);
	zad_free(&z);
}

static void test_reboot_force(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	zad_reboot(&z, true, 60);
	is_int(F.kills, 1, "reboot -F kills");
	payload_ends(&z, 137, false);
	is_int(F.boots, 2, "and boots again");
	zad_end(&z, 0, NULL);
	zad_free(&z);
}

static void test_init_asks_reboot(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	payload_ends(&z, 128 + SIGHUP, true);
	ok(!z.ended && F.boots == 2, "a payload that asked for a reboot boots again");
	zad_stop(&z, 5, false);
	payload_ends(&z, 128 + SIGHUP, true);
	ok(z.ended, "but not while stopping");
	is_int(exit_status(), 128 + SIGHUP, "exit.json 129");
	zad_free(&z);
}

static void test_init_exits(void)
{
	struct zad z;
	int srv, fd;

	fresh(&z);
	boot(&z);
	fd = client(&z, &srv);
	send_cmd(&z, fd, srv, CTL_REBOOT, NULL);
	F.boot_fail = EIO;
	payload_ends(&z, 0, false);
	ok(z.ended && z.exit_code == ZAD_EXIT_ERR, "a reboot whose boot fails ends the VM, failed");
	is_int(reply(fd, NULL), -ESHUTDOWN, "REBOOT answered ESHUTDOWN");
	close(fd);
	zad_free(&z);

	fresh(&z);
	boot(&z);
	payload_ends(&z, 3, false);
	ok(z.ended && z.exit_code == ZAD_EXIT_OK, "init ending by itself ends the VM");
	is_int(exit_status(), 3, "exit.json has its status");
	zad_free(&z);
}

static void test_kill_and_signals(void)
{
	struct zad z;

	fresh(&z);
	boot(&z);
	is_int(call(&z, CTL_KILL, json_pack("{s:i}", "signal", SIGUSR1), NULL), 0, "KILL ok");
	ok(F.nsig == 1 && F.sigs[0] == SIGUSR1, "the signal went to the payload");
	is_int(call(&z, CTL_KILL, json_pack("{s:i}", "signal", 0), NULL), -EINVAL,
	       "KILL 0: EINVAL");
	is_int(call(&z, CTL_KILL, json_pack("{s:s}", "signal", "x"), NULL), -EINVAL,
	       "KILL without a number: EINVAL");
	zad_on_signal(&z, SIGHUP);
	is_int(z.phase, ZAD_RUNNING, "SIGHUP to zoneadmd is ignored");
	zad_on_signal(&z, SIGTERM);
	is_int(z.phase, ZAD_STOPPING, "SIGTERM to zoneadmd stops the VM");
	is_int(F.sigs[F.nsig - 1], SIGUSR2, "with the halt signal");
	zad_free(&z);
}

static void set_nics(const char *ip)
{
	json_object_set_new(F.stored, "nics", json_pack("[{s:s}]", "ip", ip));
}

static void test_update(void)
{
	_cleanup_json_ json_t *nics = NULL;
	struct zad z;

	fresh(&z);
	boot(&z);
	set_nics("198.18.0.3");
	is_int(call(&z, CTL_UPDATE, NULL, NULL), 0, "UPDATE ok");
	is_int(F.prepares, 2, "UPDATE re-reads the config");
	is_str(jsonutil_str(json_array_get(json_object_get(z.vm, "nics"), 0), "ip"), "198.18.0.3",
	       "UPDATE takes the new config");
	is_int(F.net_updates, 0, "UPDATE never touches the network");
	set_nics("198.18.0.4");
	is_int(call(&z, CTL_UPDATE_NET, NULL, NULL), 0, "UPDATE_NET ok");
	is_int(F.net_updates, 1, "UPDATE_NET applies changed nics");
	is_int(call(&z, CTL_UPDATE_NET, NULL, NULL), 0, "UPDATE_NET with nothing changed");
	is_int(F.net_updates, 1, "applies nothing");
	F.net_fail = EEXIST;
	set_nics("198.18.0.5");
	is_int(call(&z, CTL_UPDATE_NET, NULL, NULL), -EEXIST, "a failed network update fails");
	nics = json_deep_copy(json_object_get(z.vm, "nics"));
	is_str(jsonutil_str(json_array_get(nics, 0), "ip"), "198.18.0.4",
	       "and zoneadmd keeps the config the network has");
	zad_free(&z);
}

static void test_info_sysrq(void)
{
	struct brand_ops no_info = fake_ops;
	json_t *out = NULL;
	struct zad z;

	fresh(&z);
	is_int(call(&z, CTL_INFO, json_pack("{s:[s]}", "types", "vnc"), NULL), -ESRCH,
	       "INFO before the payload runs: ESRCH");
	boot(&z);
	is_int(call(&z, CTL_INFO, json_pack("{s:[s]}", "types", "vnc"), &out), 0, "INFO ok");
	is_str(json_string_value(json_array_get(json_object_get(out, "asked"), 0)), "vnc",
	       "the brand gets the types");
	json_decref(TAKE_PTR(out));
	is_int(call(&z, CTL_INFO, json_pack("{s:s}", "types", "vnc"), NULL), -EINVAL,
	       "INFO types not a list: EINVAL");
	is_int(call(&z, CTL_SYSRQ, json_pack("{s:s}", "request", "nmi"), &out), 0, "SYSRQ ok");
	is_str(jsonutil_str(out, "done"), "nmi", "the brand gets the request");
	json_decref(TAKE_PTR(out));
	is_int(call(&z, CTL_SYSRQ, NULL, NULL), -EINVAL, "SYSRQ without a request: EINVAL");
	no_info.info = NULL;
	no_info.sysrq = NULL;
	z.ops = &no_info;
	is_int(call(&z, CTL_INFO, json_pack("{s:[]}", "types"), NULL), -ENOTSUP,
	       "a brand without info: ENOTSUP");
	is_int(call(&z, CTL_SYSRQ, json_pack("{s:s}", "request", "nmi"), NULL), -ENOTSUP,
	       "a brand without sysrq: ENOTSUP");
	z.ops = &fake_ops;
	zad_free(&z);
}

static void test_unknown_and_old(void)
{
	_cleanup_json_ json_t *out = NULL;
	struct zad z;

	fresh(&z);
	boot(&z);
	is_int(call(&z, 99, NULL, &out), -ENOSYS, "an unknown command: ENOSYS");
	ok(strstr(jsonutil_str(out, "error") ?: "", "unknown control command 99") != NULL,
	   "named in the reply");
	is_int(call(&z, CTL_BOOTED, NULL, NULL), -ENOSYS, "BOOTED is not a request");
	is_int(call(&z, CTL_CONSOLE, NULL, NULL), -ENODEV, "CONSOLE without a console: ENODEV");
	z.ctl_max = CTL_UPDATE_NET; /* a zoneadmd from before CTL_UPDATE_NET */
	set_nics("198.18.0.9");
	is_int(call(&z, CTL_UPDATE_NET, NULL, NULL), -ENOSYS, "an older zoneadmd: ENOSYS");
	is_int(F.net_updates, 0, "and applies nothing");
	is_int(call(&z, CTL_UPDATE, NULL, NULL), 0, "but knows UPDATE");
	is_int(call(&z, CTL_MDATA, NULL, NULL), -ENOSYS, "nor MDATA (vmadm goes on)");
	z.ctl_max = 0;
	is_int(call(&z, CTL_MDATA, NULL, NULL), 0,
	       "MDATA without a metadata server: nothing to do");
	zad_free(&z);
}

int main(void)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (!mkdtemp(tmp))
		return 1;
	setenv("ZONEHOST_ROOT", tmp, 1);
	paths_reset();
	test_boot();
	test_boot_fails();
	test_halt();
	test_stop_timeout();
	test_stop_force();
	test_stop_brand_timeout();
	test_reboot();
	test_reboot_force();
	test_init_asks_reboot();
	test_init_exits();
	test_kill_and_signals();
	test_update();
	test_info_sysrq();
	test_unknown_and_old();
	json_decref(F.stored);
	fsutil_rm_rf(tmp, &err);
	zh_error_clear(&err);
	return tap_done();
}

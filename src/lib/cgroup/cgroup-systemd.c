/*
 * cgroup-systemd.c - zonehost's place in a systemd host's cgroup tree
 * (docs/architecture.md, "cgroups under systemd").
 *
 * Owns: the per-zone transient scope "zonehost-<uuid>.scope" (in
 * CGROUP_SLICE), asked for over systemd's D-Bus API with Delegate=yes and
 * PIDs=[zoneadmd], as systemd documents delegation (systemd.io
 * CGROUP_DELEGATION): the scope's cgroup is zonehost's to manage, systemd
 * never writes inside it, and no unit's stop (the caller's service, a
 * login session) can kill zoneadmd.  Does not own the root, the slice, or
 * any cgroup systemd made: it never writes to them.
 *
 *     cgroup_scope_enter(uuid, &err);     zoneadmd, first thing after its lock
 *
 * Layout of a delegated scope (cgroup v2; cgroup-v2.c makes "zone"):
 *     <root>/system.slice/zonehost-<uuid>.scope/     delegated: zonehost's
 *         supervisor/    zoneadmd and its sentinel (a leaf: the scope
 *                        itself holds no process, so it may enable
 *                        controllers for "zone")
 *         zone/          the zone's cgroup, limits; chowned to the zone's
 *                        root, whose init may build its own subtree
 *             zlogin/    zlogin sessions (made on demand, root's)
 * When the zone ends, zoneadmd removes "zone" and exits; the sentinel
 * follows; the empty scope is stopped and removed by systemd (transient,
 * CollectMode=inactive-or-failed), and with it everything zonehost enabled.
 * On a cgroup v1 (or hybrid) host under systemd the scope only houses
 * zoneadmd (so it outlives its caller's unit); the zone's cgroups keep the
 * v1 layout of cgroup-v1.c.
 *
 * Used when systemd is PID 1 (sd_booted()) and the tree is the real one;
 * $ZONEHOST_CGROUP_SYSTEMD=0 or 1 overrides the detection (1 with a fake
 * ZONEHOST_CGROUP_ROOT: unit tests, which get the layout without D-Bus).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "cgroup-internal.h"
#include "fsutil.h"
#include "util.h"

/* How long a stopping scope of the same name, then the move, may take. */
#define SCOPE_WAIT_MS 10000

static int cached_systemd = -1;

bool cgroup_systemd(void)
{
	const char *e = getenv("ZONEHOST_CGROUP_SYSTEMD");

	if (cached_systemd >= 0)
		return cached_systemd;
	if (e && (streq(e, "0") || streq(e, "1")))
		cached_systemd = streq(e, "1");
	else
		cached_systemd = !cg_fake() && sd_booted() > 0;
	return cached_systemd;
}

void cg_systemd_reset(void)
{
	cached_systemd = -1;
}

int cgroup_scope_name(const char *uuid, char *buf, size_t size)
{
	int n = snprintf(buf, size, "zonehost-%s.scope", uuid);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

char *cg_scope_dir(const char *uuid)
{
	char name[96], *p = NULL;

	if (cgroup_scope_name(uuid, name, sizeof(name)) < 0)
		return NULL;
	if (asprintf(&p, "%s/" CGROUP_SLICE "/%s", cg_root(), name) < 0)
		return NULL;
	return p;
}

/* ---- D-Bus ---- */

/* systemd's private socket (root, no dbus-daemon needed), else the system bus. */
static int bus_open(sd_bus **out)
{
	sd_bus *b = NULL;
	int r = sd_bus_new(&b);

	if (r >= 0)
		r = sd_bus_set_address(b, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd_bus_start(b);
	if (r >= 0) {
		*out = b;
		return 0;
	}
	sd_bus_unref(b);
	return sd_bus_open_system(out);
}

static int append_props(sd_bus_message *m, const char *uuid)
{
	char desc[128];
	int r;

	snprintf(desc, sizeof(desc), "zonehost zone %s", uuid);
	r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice",
					  "s", CGROUP_SLICE, "Delegate", "b", 1, "CollectMode", "s",
					  "inactive-or-failed");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0); /* no auxiliary units */
	return r;
}

static int start_scope(sd_bus *bus, const char *name, const char *uuid, sd_bus_error *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	int r = sd_bus_message_new_method_call(
		bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "StartTransientUnit");

	if (r >= 0)
		r = sd_bus_message_append(m, "ss", name, "fail");
	if (r >= 0)
		r = append_props(m, uuid);
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, e, &reply);
	return r;
}

/* Is this process in the scope yet (any hierarchy systemd tracks with)? */
static bool in_scope(const char *name)
{
	char buf[4096], want[160];
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	snprintf(want, sizeof(want), ":/" CGROUP_SLICE "/%s\n", name);
	return strstr(buf, want) != NULL;
}

static int ask_systemd(const char *uuid, const char *name, struct zh_error *err)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = bus_open(&bus);

	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot connect to systemd: %s", strerror(-r));
	/* A scope of the same name may still be stopping (the zone's last run). */
	for (int waited = 0;; waited += 100) {
		r = start_scope(bus, name, uuid, &e);
		if (r >= 0 || !sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists") ||
		    waited >= SCOPE_WAIT_MS)
			break;
		sd_bus_error_free(&e);
		sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				   "org.freedesktop.systemd1.Manager", "ResetFailedUnit", NULL,
				   NULL, "s", name);
		cg_sleep_ms(100);
	}
	if (r < 0) {
		zh_error_set(err, -r, NULL, "cannot start systemd scope %s: %s", name,
			     e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return -err->errnum;
	}
	sd_bus_error_free(&e);
	return 0;
}

/* v2: zoneadmd leaves the scope's own cgroup for the "supervisor" leaf. */
static int enter_supervisor(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *scope = cg_scope_dir(uuid);
	_cleanup_free_ char *sup = NULL;
	int r;

	if (!scope || asprintf(&sup, "%s/" CGROUP_SUPERVISOR, scope) < 0)
		return zh_error_oom(err);
	if ((r = cg_mkdir(sup, err)) < 0)
		return r;
	if (cg_fake())
		return 0;
	return cg_write(sup, "cgroup.procs", "0", NULL, err);
}

int cgroup_scope_enter(const char *uuid, struct zh_error *err)
{
	char name[96];
	int r;

	if (!cgroup_systemd())
		return 0;
	if (!uuid || !util_is_uuid_shape(uuid) || cgroup_scope_name(uuid, name, sizeof(name)) < 0)
		return zh_error_set(err, EINVAL, "uuid", "invalid zone uuid for a systemd scope");
	if (cg_fake()) { /* unit tests: systemd's part done by hand */
		_cleanup_free_ char *scope = cg_scope_dir(uuid);
		if (!scope)
			return zh_error_oom(err);
		if ((r = fsutil_mkdir_p(scope, 0755, err)) < 0)
			return r;
	} else {
		if ((r = ask_systemd(uuid, name, err)) < 0)
			return r;
		for (int waited = 0; !in_scope(name); waited += 10) {
			if (waited >= SCOPE_WAIT_MS)
				return zh_error_set(err, ETIMEDOUT, NULL,
						    "systemd did not move zoneadmd into %s", name);
			cg_sleep_ms(10);
		}
	}
	if (cgroup_version() == 2)
		return enter_supervisor(uuid, err);
	return 0;
}

/*
 * brand-zone.c - the OS zone brands (joyent, joyent-minimal, lx and every
 * brand that is not a hardware VM): the payload is an init process in its
 * own namespaces (zone_spawn), its console a pty (docs/architecture.md,
 * "zoneadmd").  The network is in brand-zone-net.c.
 *
 *     z->ops = &brand_zone;
 *
 * Signals: the halt signal is the property halt_signal, else by init:
 * busybox init powers off on SIGUSR2, systemd on SIGRTMIN+4, anything
 * else gets SIGTERM; the reboot signal is reboot_signal, else busybox
 * SIGTERM, systemd SIGINT, anything else SIGTERM.  When the zone's init
 * calls reboot(2) inside its PID namespace the kernel ends it with SIGINT
 * (halt/poweroff) or SIGHUP (restart): SIGHUP is "reboot requested".
 *
 * Kill: SIGKILL to init ends the whole PID namespace (the kernel kills
 * every process in it before init can be reaped), and init's exit then
 * sweeps the cgroup; only without a live init is the cgroup swept here.
 *
 * Boot (zone_spawn): net_zone_files() writes resolv.conf, hostname and
 * hosts in the zone root (a file the tenant made something else than a
 * regular file is left alone and logged, never opened: the boot goes
 * on); init (init_name or /sbin/init) starts in its namespaces, the
 * network hook running between the id maps and init.  zoneadmd makes
 * nothing else on the host: the zone's mounts live in its own mount
 * namespace (zone_spawn detaches the idmapped root from the host's).
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "brand-zone.h"
#include "brand.h"
#include "cgroup.h"
#include "signame.h"
#include "jsonutil.h"
#include "paths.h"
#include "zoneadmd.h"

/* ---- init and its signals ---- */

static const char *init_path(const struct zad *z)
{
	const char *s = jsonutil_str(z->vm, "init_name");

	return s && *s ? s : "/sbin/init";
}

/* Open init inside the root without leaving it (RESOLVE_IN_ROOT). */
static int open_in_root(const char *root, const char *path, uint64_t flags)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = {.flags = flags | O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd;

	if (rfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, rfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* "busybox", "systemd" or "" from what init (or the link to it) names. */
static const char *init_kind(const struct zad *z)
{
	_cleanup_close_ int fd = open_in_root(z->root, init_path(z), O_NOFOLLOW);
	char target[256];
	const char *name = init_path(z);
	ssize_t n = fd >= 0 ? readlinkat(fd, "", target, sizeof(target) - 1) : -1;

	if (n > 0) {
		target[n] = '\0';
		name = target;
	}
	if (strstr(name, "busybox"))
		return "busybox";
	if (strstr(name, "systemd"))
		return "systemd";
	return "";
}

static int signal_prop(struct zad *z, const char *key, int def, int *out, struct zh_error *err)
{
	const char *s = jsonutil_str(z->vm, key);

	*out = def;
	if (s && *s && signame_parse(s, out) < 0)
		return zh_error_set(err, EINVAL, key, "Invalid value(s) for: %s", key);
	return 0;
}

static int zone_prepare(struct zad *z, struct zh_error *err)
{
	const char *kind = init_kind(z);
	int halt = SIGTERM, reboot = SIGTERM, r;

	if (streq(kind, "busybox")) {
		halt = SIGUSR2;
		reboot = SIGTERM;
	} else if (streq(kind, "systemd")) {
		halt = SIGRTMIN + 4;
		reboot = SIGINT;
	}
	r = signal_prop(z, "halt_signal", halt, &z->halt_sig, err);
	if (r < 0)
		return r;
	return signal_prop(z, "reboot_signal", reboot, &z->reboot_sig, err);
}

static int check_init(struct zad *z, struct zh_error *err)
{
	_cleanup_close_ int fd = open_in_root(z->root, init_path(z), 0);

	if (fd < 0)
		return zh_error_set(err, -fd, "init_name", "init %s: %s in the zone's root",
				    init_path(z), strerror(-fd));
	return 0;
}

/* ---- boot ---- */

static int64_t int_prop(const struct zad *z, const char *key)
{
	json_t *v = json_object_get(z->vm, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

static const char *hostname_of(const struct zad *z)
{
	const char *h = jsonutil_str(z->vm, "hostname");

	if (!h || !*h)
		h = jsonutil_str(z->vm, "zonename");
	return h && *h ? h : z->uuid;
}

/*
 * Where no `filesystems` source may be (zone-mount.c): every pool's mount
 * and zonehost's run directory, canonical; *own the VM's own dataset.
 */
static int fenced_dirs(const struct zad *z, char ***out, char **own, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL, **v = NULL;
	size_t n = 0;
	int r = pool_list(&names, err);

	if (r < 0)
		return r;
	for (n = 0; names[n]; n++)
		;
	if (!(v = calloc(n + 2, sizeof(char *))) || !(*own = realpath(z->zonepath, NULL)))
		return zh_error_oom(err);
	n = 0;
	for (char **nm = names; *nm; nm++) {
		_cleanup_pool_ struct pool *p = NULL;
		struct zh_error e = ZH_ERROR_INIT;

		if (pool_load(*nm, &p, &e) == 0 && (v[n] = realpath(p->mountpoint, NULL)))
			n++;
		zh_error_clear(&e);
	}
	if ((v[n] = realpath(paths_run(), NULL)))
		n++;
	*out = TAKE_PTR(v);
	return 0;
}

/* Where the metadata socket's directory appears: SmartOS's lx path, else its native one. */
static const char *mdata_at(const struct zad *z)
{
	const char *brand = jsonutil_str(z->vm, "brand");

	return brand && streq(brand, "lx") ? "/native/.zonecontrol" : "/.zonecontrol";
}

static int spawn(struct zad *z, char **fenced, char *own, int cgfd, struct zh_error *err)
{
	char *const argv[] = {(char *)init_path(z), NULL};
	char *const envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			      "TERM=linux", "container=zonehost", NULL};
	struct zone_spec s = {
		.uuid = z->uuid,
		.root = z->root,
		.hostname = hostname_of(z),
		.id_base = z->id_base,
		.argv = argv,
		.envp = envp,
		.console_fd = z->pty_slave,
		.tmpfs_mib = (uint64_t)int_prop(z, "tmpfs"),
		.memlock_mib = (uint64_t)int_prop(z, "max_locked_memory"),
		.filesystems = json_object_get(z->vm, "filesystems"),
		.fs_fenced = fenced,
		.fs_own = own,
		.cgroup_fd = cgfd >= 0 ? cgfd : -1,
		.cgroup_uuid = z->uuid,
		.before_release = zone_net_hook,
		.hook_ctx = z,
		.serial_fd = z->mdata.serial_slave > STDERR_FILENO ? z->mdata.serial_slave : 0,
		.mdata_dir = z->mdata.dir,
		.mdata_at = mdata_at(z),
		.mdata_tool = z->mdata.tool[0] ? z->mdata.tool : NULL,
	};
	int r = zone_spawn(&s, &z->zp, err);

	if (r == 0)
		zad_logf(z, "booted: init %s pid %d", argv[0], (int)z->zp.pid);
	return r;
}

static int zone_boot(struct zad *z, struct zh_error *err)
{
	_cleanup_close_ int cgfd = -EBADF;
	_cleanup_strv_ char **fenced = NULL;
	_cleanup_free_ char *own = NULL;
	int r;

	if ((r = check_init(z, err)) < 0)
		return r;
	zone_net_prepare(z);
	if (json_array_size(json_object_get(z->vm, "filesystems")) &&
	    (r = fenced_dirs(z, &fenced, &own, err)) < 0)
		return r;
	if (cgroup_version() == 2 && (cgfd = cgroup_open_fd(z->uuid, err)) < 0)
		return cgfd;
	return spawn(z, fenced, own, cgfd, err);
}

static int zone_console(struct zad *z, struct zh_error *err)
{
	return zad_console_pty(z, z->id_base, err); /* the zone's root may reopen it */
}

/* ---- signals, kill, reap ---- */

static int zone_signal(struct zad *z, int sig)
{
	if (z->zp.pidfd < 0)
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, z->zp.pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static void zone_kill(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->zp.pidfd >= 0) {
		zone_signal(z, SIGKILL);
		return;
	}
	if (z->cgroup_made && cgroup_kill_all(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

static int zone_reap(struct zad *z, int *status, bool *reboot)
{
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)z->zp.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return -EAGAIN;
	*status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	*reboot = si.si_code == CLD_KILLED && si.si_status == SIGHUP;
	return 0;
}

const struct brand_ops brand_zone = {
	.name = "zone",
	.prepare = zone_prepare,
	.console = zone_console,
	.boot = zone_boot,
	.signal = zone_signal,
	.kill = zone_kill,
	.reap = zone_reap,
	.net_update = zone_net_update,
	.net_release = zone_net_release,
	.mdata = true,
};

/* ---- choosing the brand ---- */

const struct brand_ops *brand_find(const json_t *vm, struct zh_error *err)
{
	const char *brand = jsonutil_str(vm, "brand");

	if (brand && (streq(brand, "kvm") || streq(brand, "bhyve")))
		return &brand_hvm;
	if (json_is_true(json_object_get(vm, "docker")))
		return jsonutil_str(vm, "oci_bundle") ? &brand_oci : &brand_docker;
	return &brand_zone;
}

/*
 * zoneadmd - one supervisor per running zone (DESIGN.md §1, §2).
 *
 *     zoneadmd [--notify-fd N] <uuid>
 *
 * Started by `vmadm start` (vm_start() in vm-run.c), which waits on the
 * pipe N for one line: "running <pid>" or "error <errno> <message>".
 *
 * DESIGN NOTES
 *
 * Set-up, in order; any failure undoes the steps before it, records
 * exit.json {"failed": "<reason>"} (state "failed") once the VM is known,
 * and answers "error ..." on the pipe:
 *   1. load the VM (vmstore_find_stored); only OS brands run here.
 *   2. runstate_lock(): the OFD lock on <run>/<uuid>/zoneadmd.lock that
 *      makes the VM "running" for every reader, held for zoneadmd's life.
 *      Under systemd, cgroup_scope_enter(): zoneadmd moves into the zone's
 *      own transient scope (Delegate=yes), so stopping the unit that ran
 *      `vmadm start` does not kill it (docs/architecture.md).
 *   3. fork the SENTINEL (below), which shares that lock.
 *   4. cgroup_create + cgroup_apply (the VM's limits).
 *   5. the console pty (zoneadmd-console.c) and the console log.
 *   6. the control socket <run>/<uuid>/control.sock (0600, root only).
 *   7. net_zone_files() (resolv.conf, hostname, hosts in the zone root;
 *      a file the tenant made something else than a regular file is left
 *      alone and logged, never opened: the boot goes on);
 *      zone_spawn(): init (init_name or /sbin/init) in its namespaces, its
 *      pidfd watched; state.json "running" with pid and boot_timestamp.
 *      Between the id maps and init, zone_spawn calls net_hook(): the
 *      VNICs (net_vnics_create: veths on the tags' bridges, zone ends in
 *      the new netns, addresses and routes) and the VM's nft table.
 * Then it serves one epoll loop over: init's pidfd, the control socket and
 * its clients, the pty master, a signalfd and a timerfd (stop timeout).
 *
 * STOP sends init the halt signal (property halt_signal, else by init:
 * busybox init powers off on SIGUSR2, systemd on SIGRTMIN+4, anything else
 * gets SIGTERM), arms the timeout (default 60 s), and at expiry kills
 * everything in the zone's cgroup (freeze, SIGKILL, thaw).  -F kills at
 * once.  When the zone's init calls reboot(2) inside its PID namespace the
 * kernel ends it with SIGINT (halt/poweroff) or SIGHUP (restart): SIGHUP
 * means "reboot requested" and zoneadmd boots the zone again (same cgroup,
 * same console, config re-read); `vmadm reboot` sends the reboot signal
 * (reboot_signal, else busybox SIGTERM, systemd SIGINT) and boots again
 * however init ends; `reboot -F` kills everything and boots again.
 *
 * When init ends for good: exit.json {"exit_status"} (128+signal for a
 * signal), everything left in the cgroup killed, the cgroup removed, the
 * VNICs and the nft table removed, the pty closed, state.json, the
 * socket and the lock file removed, STOP waiters answered, the sentinel
 * told "clean end", exit.  zoneadmd makes nothing else on the host (the
 * zone's mounts live in its own mount namespace; zone_spawn detaches the
 * idmapped root from the host's).  A reboot removes the VNICs and makes
 * them again in the new netns.
 * CTL_UPDATE (vmadm update) re-reads the config and, when nics or routes
 * changed on a running zone, applies them at once (net_vnics_sync,
 * nft_vm_apply); if that fails the old network is put back and the
 * caller told, and vmadm puts the old config back.
 *
 * WHEN ZONEADMD ITSELF IS KILLED (SIGKILL, OOM, a bug): the zone is
 * stopped, and nothing is left on the host.  Before it makes anything,
 * zoneadmd forks a tiny sentinel that keeps only two fds: its copy of the
 * runstate lock (the same open file description, so the VM still reads as
 * live and no new zoneadmd can start while the sentinel works) and the
 * read end of a pipe whose only writer is zoneadmd.  It blocks in read().
 * A byte means zoneadmd ended cleanly and did its own clean-up: it exits.
 * EOF without a byte means zoneadmd died: it kills every process in the
 * zone's cgroup (init included, which takes its PID namespace and with it
 * the zone's mounts), removes the cgroups, the VNICs (found by the VM's
 * name prefix, from the uuid and the id slot of the config it inherited
 * from zoneadmd: no other state is needed) and the nft objects, writes exit.json (exit_status
 * 137: init was SIGKILLed), removes state.json, the socket and the lock
 * file, and exits, releasing the lock.  The orphaned init is reaped by the
 * host's init.  The sentinel ignores SIGTERM/SIGINT/SIGHUP; if it dies,
 * zoneadmd sees its pidfd and forks a new one.  (Adoption of a running
 * zone by a new zoneadmd is not attempted: the console pty master and
 * init's parenthood cannot be handed over.)  Tested by
 * tests/system/test_lifecycle.py::test_kill9_zoneadmd, and at each step of
 * set-up and of the end (the crashpoint("zoneadmd.*") calls) by
 * tests/system/test_crash.py; docs/testing.md lists the steps.
 *
 * SIGTERM/SIGINT to zoneadmd (host shutdown) stop the zone gracefully
 * (autoboot unchanged, so it comes back at the next boot).
 *
 * Logs: <zonepath>/logs/zoneadmd.log and console.log, JSON lines.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "cmdutil.h"
#include "crashpoint.h"
#include "ctl.h"
#include "signame.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "net.h"
#include "nft.h"
#include "paths.h"
#include "runstate.h"
#include "vmstore.h"
#include "zoneadmd.h"

const char *program_name = "zoneadmd";

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

static void write_all_fd(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* ---- logging ---- */

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

/* ---- the sentinel ---- */

static void detach_stdio(bool all);

static _Noreturn void sentinel_main(const char *uuid, const json_t *vm, int rfd, int lockfd)
{
	struct zh_error err = ZH_ERROR_INIT;
	char c;
	ssize_t n;

	prctl(PR_SET_NAME, "zoneadmd-sentry");
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	close_except(rfd, lockfd);
	detach_stdio(true); /* hold nothing of vmadm's: its caller waits for EOF */
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* zoneadmd died: stop the zone and remove every trace of it. */
	cgroup_kill_all(uuid, &err);
	zh_error_clear(&err);
	cgroup_destroy(uuid, &err);
	zh_error_clear(&err);
	net_vnics_destroy(uuid, vm, &err); /* by name prefix: NICs added live too */
	zh_error_clear(&err);
	nft_vm_remove(uuid, &err);
	zh_error_clear(&err);
	runstate_write_exit(uuid, EXIT_KILLED_BY_SENTINEL, NULL, &err);
	zh_error_clear(&err);
	runstate_finish(uuid);
	_exit(0);
}

static int sentinel_start(struct zad *z, struct zh_error *err)
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
		sentinel_main(z->uuid, z->vm, p[0], z->lock_fd);
	close(p[0]);
	z->sentinel_fd = p[1];
	z->sentinel_pid = pid;
	z->sentinel_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (z->sentinel_pidfd >= 0 && z->epfd >= 0)
		zad_watch(z, z->sentinel_pidfd, ZT_SENTINEL, EPOLLIN);
	return 0;
}

static void sentinel_done(struct zad *z)
{
	if (z->sentinel_fd >= 0)
		write_all_fd(z->sentinel_fd, "x");
	closep(&z->sentinel_fd);
}

/* The sentinel died (someone killed it): reap it and fork a new one. */
static void sentinel_respawn(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	siginfo_t si = {0};

	waitid(P_PIDFD, (id_t)z->sentinel_pidfd, &si, WEXITED | WNOHANG);
	epoll_ctl(z->epfd, EPOLL_CTL_DEL, z->sentinel_pidfd, NULL);
	closep(&z->sentinel_pidfd);
	closep(&z->sentinel_fd);
	zad_logf(z, "sentinel %d ended; starting a new one", (int)z->sentinel_pid);
	if (sentinel_start(z, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

/* ---- helpers ---- */

int zad_watch(struct zad *z, int fd, int tag, uint32_t events)
{
	struct epoll_event ev = {.events = events,
				 .data.u64 = ((uint64_t)tag << 32) | (uint32_t)fd};

	return epoll_ctl(z->epfd, EPOLL_CTL_ADD, fd, &ev);
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

static void signal_init(struct zad *z, int sig)
{
	if (z->zp.pidfd >= 0)
		syscall(SYS_pidfd_send_signal, z->zp.pidfd, sig, NULL, 0);
}

/*
 * SIGKILL to init ends the whole PID namespace (the kernel kills every
 * process in it before init can be reaped), and init's exit then sweeps the
 * cgroup; only without a live init is the cgroup swept here.
 */
static void kill_zone(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->zp.pidfd >= 0) {
		signal_init(z, SIGKILL);
		return;
	}
	if (z->cgroup_made && cgroup_kill_all(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

/* ---- the VM's config ---- */

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

static int pick_signals(struct zad *z, struct zh_error *err)
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

static int load_vm(struct zad *z, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	const char *brand;
	int r = vmstore_find_stored(z->uuid, &p, &vm, err);

	if (r < 0)
		return r;
	brand = jsonutil_str(vm, "brand");
	if (brand && (streq(brand, "kvm") || streq(brand, "bhyve")))
		return zh_error_set(err, ENOTSUP, "brand",
				    "brand %s is not supported by zoneadmd yet", brand);
	pool_free(z->pool);
	json_decref(z->vm);
	z->pool = TAKE_PTR(p);
	z->vm = TAKE_PTR(vm);
	return 0;
}

static int load_paths(struct zad *z, struct zh_error *err)
{
	json_t *b = json_object_get(z->vm, "zonehost_id_base");

	if (asprintf(&z->zonepath, "%s/%s", z->pool->mountpoint, z->uuid) < 0 ||
	    asprintf(&z->root, "%s/root", z->zonepath) < 0)
		return zh_error_oom(err);
	if (!fsutil_is_dir(z->root))
		return zh_error_set(err, ENOENT, NULL, "zone root %s is missing", z->root);
	if (!json_is_integer(b) || json_integer_value(b) <= 0 ||
	    json_integer_value(b) > (json_int_t)(0xffffffffu - ZONE_ID_COUNT))
		return zh_error_set(err, EINVAL, "zonehost_id_base",
				    "VM has no uid/gid range (zonehost_id_base)");
	z->id_base = (uid_t)json_integer_value(b);
	return 0;
}

int zad_reload(struct zad *z, struct zh_error *err)
{
	struct cgroup_limits l;
	int r = load_vm(z, err);

	if (r < 0)
		return r;
	r = pick_signals(z, err);
	if (r < 0)
		return r;
	cgroup_limits_from_vm(z->vm, &l);
	return cgroup_apply(z->uuid, &l, err);
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

static int check_init(struct zad *z, struct zh_error *err)
{
	_cleanup_close_ int fd = open_in_root(z->root, init_path(z), 0);

	if (fd < 0)
		return zh_error_set(err, -fd, "init_name", "init %s: %s in the zone's root",
				    init_path(z), strerror(-fd));
	return 0;
}

/* ---- network ---- */

static bool has_nics(const json_t *vm)
{
	return json_array_size(json_object_get(vm, "nics")) > 0;
}

/* zone_spawn's before_release: the child's netns exists, init has not run. */
static int net_hook(void *ctx, pid_t pid, struct zh_error *err)
{
	struct zad *z = ctx;
	int r;

	z->net_made = true;
	/* The rules match port names: loaded first, no port is ever open unfiltered. */
	if (has_nics(z->vm) && (r = nft_vm_apply(z->uuid, z->vm, err)) < 0)
		return r;
	crashpoint("zoneadmd.nft");
	r = net_vnics_create(z->uuid, z->vm, pid, err);
	crashpoint("zoneadmd.vnics");
	return r;
}

static void net_release(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (!z->net_made)
		return;
	if (net_vnics_destroy(z->uuid, z->vm, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	if (nft_vm_remove(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	z->net_made = false;
}

/*
 * The zone's resolv.conf, hostname and hosts are a convenience written
 * into the tenant's own files: one the tenant replaced by something else
 * (a FIFO, a directory) is left alone and logged, and the zone boots.
 */
static void net_prepare(struct zad *z)
{
	struct zh_error e = ZH_ERROR_INIT;

	net_release(z); /* a reboot: the old VNICs go before the new netns */
	if (has_nics(z->vm) && net_nictags_ensure(&e) < 0)
		zad_logf(z, "nic tags: %s", e.msg); /* a missing bridge fails below */
	zh_error_clear(&e);
	if (net_zone_files(z->root, z->vm, &e) < 0)
		zad_logf(z, "zone files: %s", e.msg);
	zh_error_clear(&e);
}

static bool net_changed(const json_t *old, const json_t *vm)
{
	return !json_equal(json_object_get(old, "nics"), json_object_get(vm, "nics")) ||
	       !json_equal(json_object_get(old, "routes"), json_object_get(vm, "routes"));
}

int zad_net_update(struct zad *z, const json_t *old, struct zh_error *err)
{
	struct zh_error e = ZH_ERROR_INIT;
	int r;

	if (!z->net_made || z->zp.pid <= 0 || z->phase != ZAD_RUNNING || !net_changed(old, z->vm))
		return 0;
	if (net_nictags_ensure(&e) < 0)
		zad_logf(z, "nic tags: %s", e.msg); /* a missing bridge fails below */
	zh_error_clear(&e);
	r = net_vnics_sync(z->uuid, old, z->vm, z->zp.pid, err);
	if (r == 0)
		r = nft_vm_apply(z->uuid, z->vm, err);
	if (r == 0) {
		zad_logf(z, "network updated");
		return 0;
	}
	zad_logf(z, "network update failed: %s; restoring", err->msg);
	if (net_vnics_sync(z->uuid, z->vm, old, z->zp.pid, &e) < 0 ||
	    nft_vm_apply(z->uuid, old, &e) < 0)
		zad_logf(z, "restoring the network: %s", e.msg);
	zh_error_clear(&e);
	json_decref(z->vm);
	z->vm = json_deep_copy(old);
	return r;
}

/* ---- boot ---- */

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

static int zad_boot(struct zad *z, struct zh_error *err)
{
	char *const argv[] = {(char *)init_path(z), NULL};
	char *const envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			      "TERM=linux", "container=zonehost", NULL};
	_cleanup_close_ int cgfd = -EBADF;
	_cleanup_strv_ char **fenced = NULL;
	_cleanup_free_ char *own = NULL;
	struct zone_spec s;
	int r;

	if ((r = check_init(z, err)) < 0)
		return r;
	net_prepare(z);
	if (json_array_size(json_object_get(z->vm, "filesystems")) &&
	    (r = fenced_dirs(z, &fenced, &own, err)) < 0)
		return r;
	if (cgroup_version() == 2 && (cgfd = cgroup_open_fd(z->uuid, err)) < 0)
		return cgfd;
	s = (struct zone_spec){
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
		.before_release = net_hook,
		.hook_ctx = z,
	};
	r = zone_spawn(&s, &z->zp, err);
	if (r < 0)
		return r;
	util_timestamp_now(z->boot_ts);
	if (zad_watch(z, z->zp.pidfd, ZT_INIT, EPOLLIN) < 0) {
		kill_zone(z);
		return zh_error_set(err, errno, NULL, "epoll: %m");
	}
	z->phase = ZAD_RUNNING;
	zad_logf(z, "booted: init %s pid %d", argv[0], (int)z->zp.pid);
	return zad_write_state(z, "running");
}

/* ---- the end ---- */

static void release_host(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	disarm_timer(z);
	net_release(z);
	crashpoint("zoneadmd.end.net");
	if (z->cgroup_made) {
		kill_zone(z);
		if (cgroup_destroy(z->uuid, &err) < 0)
			zad_logf(z, "%s", err.msg);
		zh_error_clear(&err);
		z->cgroup_made = false;
	}
	crashpoint("zoneadmd.end.cgroup");
	zad_console_close(z);
	if (z->lfd >= 0)
		epoll_ctl(z->epfd, EPOLL_CTL_DEL, z->lfd, NULL);
	closep(&z->lfd);
}

static void notify(struct zad *z, const char *msg)
{
	if (z->notify_fd >= 0)
		write_all_fd(z->notify_fd, msg);
	closep(&z->notify_fd);
}

/* The zone is over: record, clean, answer, exit.  failed: set-up failure. */
static _Noreturn void zad_end(struct zad *z, int status, const char *failed)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *out = json_pack("{s:i}", "exit_status", status);

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
	sentinel_done(z);
	exit(failed ? EXIT_ERR : EXIT_OK);
}

static void zad_restart(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	kill_zone(z); /* whatever the old PID namespace left */
	disarm_timer(z);
	/* The last boot's sub-cgroups go, so the zone's top is a leaf again. */
	r = z->cgroup_made ? cgroup_reset_zone(z->uuid, &err) : 0;
	if (r == 0)
		r = zad_reload(z, &err);
	if (r == 0)
		r = zad_boot(z, &err);
	if (r < 0) {
		_cleanup_free_ char *why = strdup(err.msg ? err.msg : "reboot failed");

		zh_error_clear(&err);
		zad_end(z, EXIT_ERR, why ? why : "reboot failed");
	}
	zad_reply_waiters(z, CTL_REBOOT, 0, NULL);
}

static void on_init_exit(struct zad *z)
{
	siginfo_t si = {0};
	int status;
	bool reboot;

	if (waitid(P_PIDFD, (id_t)z->zp.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	reboot = z->phase == ZAD_REBOOTING ||
		 (z->phase == ZAD_RUNNING && si.si_code == CLD_KILLED && si.si_status == SIGHUP);
	epoll_ctl(z->epfd, EPOLL_CTL_DEL, z->zp.pidfd, NULL);
	closep(&z->zp.pidfd);
	zad_logf(z, "init pid %d ended: status %d%s", (int)z->zp.pid, status,
		 reboot ? ", rebooting" : "");
	z->zp.pid = 0;
	if (reboot)
		zad_restart(z);
	else
		zad_end(z, status, NULL);
}

/* ---- stop and reboot ---- */

int zad_stop(struct zad *z, int timeout, bool force)
{
	char name[32];

	if (force) {
		z->phase = ZAD_STOPPING;
		kill_zone(z);
		return 0;
	}
	if (z->phase == ZAD_STOPPING)
		return 0;
	z->phase = ZAD_STOPPING;
	zad_write_state(z, "stopping");
	zad_logf(z, "stopping: %s to init, %d s", signame_format(z->halt_sig, name, sizeof(name)),
		 timeout);
	signal_init(z, z->halt_sig);
	arm_timer(z, timeout);
	return 0;
}

int zad_reboot(struct zad *z, bool force, int timeout)
{
	char name[32];

	z->phase = ZAD_REBOOTING;
	if (force) {
		kill_zone(z);
		return 0;
	}
	zad_logf(z, "rebooting: %s to init", signame_format(z->reboot_sig, name, sizeof(name)));
	signal_init(z, z->reboot_sig);
	arm_timer(z, timeout);
	return 0;
}

/* ---- set-up ---- */

static int setup_fds(struct zad *z, struct zh_error *err)
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

static int setup_logs(struct zad *z, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(z->zonepath, "logs");
	int r;

	if (!dir)
		return zh_error_oom(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
	r = zlog_open(&z->log, dir, "zoneadmd.log", 0, err);
	if (r < 0)
		return r;
	return zlog_open(&z->conlog, dir, "console.log", (uint64_t)int_prop(z, "zlog_max_size"),
			 err);
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

/* Steps 4-7 of the design notes (the VM is loaded and locked). */
static int setup_zone(struct zad *z, struct zh_error *err)
{
	int r;

	if ((r = load_paths(z, err)) < 0 || (r = setup_logs(z, err)) < 0 ||
	    (r = pick_signals(z, err)) < 0 || (r = setup_fds(z, err)) < 0 ||
	    (r = check_init(z, err)) < 0 || (r = setup_cgroup(z, err)) < 0 ||
	    (r = zad_console_open(z, err)) < 0)
		return r;
	z->lfd = ctl_listen(z->uuid, err);
	if (z->lfd < 0)
		return z->lfd;
	if (zad_watch(z, z->lfd, ZT_LISTEN, EPOLLIN) < 0)
		return zh_error_set(err, errno, NULL, "epoll: %m");
	crashpoint("zoneadmd.listen");
	return zad_boot(z, err);
}

/* Set-up failed after the lock was taken: undo, record "failed", answer. */
static _Noreturn void fail_setup(struct zad *z, struct zh_error *err)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char *why = strdup(err->msg ? err->msg : "set-up failed");

	if (asprintf(&msg, "error %d %s\n", err->errnum ? err->errnum : EIO,
		     why ? why : "set-up failed") >= 0)
		notify(z, msg);
	zh_error_clear(err);
	zad_end(z, EXIT_ERR, why ? why : "set-up failed");
}

/* Before the lock: nothing to undo, the VM's state stays as it was. */
static int fail_early(struct zad *z, struct zh_error *err)
{
	_cleanup_free_ char *msg = NULL;
	int code = err->errnum == EBUSY ? EALREADY : err->errnum ? err->errnum : EIO;

	if (asprintf(&msg, "error %d %s\n", code, err->msg ? err->msg : "set-up failed") >= 0)
		notify(z, msg);
	zad_logf(z, "%s", err->msg ? err->msg : "set-up failed");
	zh_error_clear(err);
	return EXIT_ERR;
}

/* ---- the loop ---- */

static void on_signal(struct zad *z)
{
	struct signalfd_siginfo si;

	while (read(z->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			zad_stop(z, 60, false);
	}
}

static void on_timer(struct zad *z)
{
	uint64_t n;

	if (read(z->timerfd, &n, sizeof(n)) < 0)
		return;
	zad_logf(z, "timeout: killing everything in the zone");
	kill_zone(z);
}

static void dispatch_event(struct zad *z, const struct epoll_event *ev)
{
	int tag = (int)(ev->data.u64 >> 32);
	int fd = (int)(uint32_t)ev->data.u64;

	switch (tag) {
	case ZT_SIG: on_signal(z); break;
	case ZT_INIT: on_init_exit(z); break;
	case ZT_LISTEN: zad_accept(z); break;
	case ZT_CLIENT: zad_client_event(z, fd, ev->events); break;
	case ZT_PTY: zad_console_read(z); break;
	case ZT_TIMER: on_timer(z); break;
	case ZT_SENTINEL: sentinel_respawn(z); break;
	default: break;
	}
}

static _Noreturn void serve(struct zad *z)
{
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(z->epfd, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno != EINTR) {
			zad_logf(z, "epoll_wait: %m");
			kill_zone(z);
			zad_end(z, EXIT_ERR, "zoneadmd: event loop failed");
		}
		for (int i = 0; i < n; i++)
			dispatch_event(z, &ev[i]);
	}
}

/* ---- main ---- */

static int parse_args(int argc, char **argv, struct zad *z)
{
	int64_t fd;
	int i = 1;

	if (argc == 4 && streq(argv[1], "--notify-fd")) {
		if (util_parse_i64(argv[2], &fd) < 0 || fd < 3 || fd > 1024)
			return cmd_die(EXIT_USAGE, "zoneadmd: bad --notify-fd %s", argv[2]);
		z->notify_fd = (int)fd;
		i = 3;
	}
	if (argc != i + 1 || !util_is_uuid(argv[i]))
		return cmd_die(EXIT_USAGE, "Usage: zoneadmd [--notify-fd N] <uuid>");
	snprintf(z->uuid, sizeof(z->uuid), "%s", argv[i]);
	return 0;
}

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

int main(int argc, char **argv)
{
	struct zad z = {.notify_fd = -EBADF,
			.lock_fd = -EBADF,
			.sentinel_fd = -EBADF,
			.sentinel_pidfd = -EBADF,
			.epfd = -EBADF,
			.sigfd = -EBADF,
			.lfd = -EBADF,
			.timerfd = -EBADF,
			.zp = {0, -EBADF},
			.pty_master = -EBADF,
			.pty_slave = -EBADF,
			.conlog = {.fd = -EBADF},
			.log = {.fd = -EBADF}};
	struct zh_error err = ZH_ERROR_INIT;
	char msg[64];
	int r;

	if ((r = parse_args(argc, argv, &z)) != 0)
		return r;
	if (geteuid() != 0)
		return cmd_die(EXIT_USAGE, "zoneadmd: must be root");
	if (z.notify_fd >= 0)
		fcntl(z.notify_fd, F_SETFD, FD_CLOEXEC);
	detach_stdio(false);
	setsid();
	if (chdir("/") < 0)
		return EXIT_ERR;
	umask(022);
	if (load_vm(&z, &err) < 0)
		return fail_early(&z, &err);
	z.lock_fd = runstate_lock(z.uuid, &err);
	if (z.lock_fd >= 0)
		crashpoint("zoneadmd.locked");
	/* Under systemd: our own delegated scope, before the sentinel and the cgroup. */
	if (z.lock_fd < 0 || cgroup_scope_enter(z.uuid, &err) < 0 || sentinel_start(&z, &err) < 0)
		return fail_early(&z, &err);
	crashpoint("zoneadmd.sentinel");
	if (setup_zone(&z, &err) < 0)
		fail_setup(&z, &err);
	crashpoint("zoneadmd.booted");
	snprintf(msg, sizeof(msg), "running %d\n", (int)z.zp.pid);
	notify(&z, msg);
	detach_stdio(z.notify_fd < 0 && argc == 4);
	serve(&z);
}

/*
 * brand-hvm.c - the hardware VM brands kvm and bhyve: the payload is QEMU
 * in its jail (docs/architecture.md §7, §22).
 *
 *     z->ops = &brand_hvm;
 *
 * prepare   the config must give QEMU an argv (qemu_argv_build, dry run:
 *           bad models and ram are named); halt = SIGTERM, reboot = SIGHUP
 *           (brand-internal numbers that signal() maps to QMP below)
 * console   nothing at set-up: serial 0 is QEMU's socket vm.console,
 *           connected in boot and fed to the core's console machinery
 *           (z->pty_master is that stream socket), so `vmadm console` and
 *           console.log work as for zones; a reboot connects anew
 * boot      (with the `vmadm start` extras, z->start_opts, for this boot)
 *           <root>/tmp made (QEMU's uid owns it, stale vm.* removed), the
 *           OVMF vars copied for uefi, QEMU spawned in its jail
 *           (hvm_jail_spawn) with its stdout/stderr in vm.startvm.log, in
 *           the VM's cgroup; then QMP is waited for (30 s) and vm.console
 *           connected
 * signal    SIGTERM: QMP system_powerdown (ACPI; the core's stop timeout
 *           then kills); SIGHUP or SIGINT: QMP quit, so QEMU ends and the
 *           core boots a new one (a cold reboot: the config is re-read,
 *           NIC changes apply); SIGKILL: to QEMU; anything else -EINVAL
 * kill      SIGKILL to QEMU (PID 1 of its namespace: the namespace dies);
 *           without QEMU, the cgroup is swept
 * reap      QEMU's exit status; QEMU never asks for a reboot (a guest
 *           reboot is a reset inside QEMU)
 * net_update NIC changes are not applied to a running HVM: they apply at
 *           the next boot, as SmartOS
 * info, sysrq  QMP queries; screenshot = screendump to <root>/tmp/vm.ppm;
 *           info vnc adds the TCP listener's host/port/display (vnc.h)
 * VNC (vnc.h): with vnc_port >= 0 the TCP listener is bound before QEMU
 * runs (a port in use fails the start, naming vnc_port); once QMP
 * answers, the vnc_password goes to QEMU by QMP set_password (its argv
 * says only password=on) and the relay is spawned on the listener as
 * QEMU's uid; zoneadmd closes its copy of the listener, kills and reaps
 * the relay with QEMU; the relay dies with zoneadmd (PDEATHSIG).
 * NICs (net-tap.c, dhcp.h): before QEMU, the VM's nft rules and one tap
 * per NIC (their fds handed to QEMU, closed here after the spawn: a tap
 * goes with QEMU), and a DHCP responder per NIC with static IPv4 ips;
 * the responders are killed and reaped with QEMU, net_release removes
 * the taps and rules by name; the free heap is trimmed before they fork.
 * The accelerator: accel_decide() (KVM only when a probe guest ran).  Taps and the DHCP
 * responder come from the net layer at boot and net_release.
 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "brand.h"
#include "cgroup.h"
#include "dhcp.h"
#include "jail.h"
#include "jsonutil.h"
#include "net.h"
#include "qemu-argv.h"
#include "qmp.h"
#include "vnc.h"
#include "zoneadmd.h"

#define QMP_WAIT_MS  30000
#define QMP_CMD_MS   5000
#define RUNFILE_MAX  4096
#define HVM_MAX_NICS 32

/* The DHCP responders of this zoneadmd's one VM (reaped with QEMU). */
#define HVM_STOP_TIMEOUT 180 /* s: ACPI powerdown, then forced (SmartOS's) */

static pid_t responders[HVM_MAX_NICS];

/*
 * This boot's VNC on TCP: the listener (its fd is the relay's once the
 * relay runs), the relay, the password QEMU was given (`vmadm info vnc`).
 */
static struct {
	struct vnc_listener l;
	pid_t relay;
	char password[16];
} vnc = {.l = {.fd = -EBADF}};

/* This boot's accelerator and why (`vmadm info accel`, the notice of `vmadm start`). */
static struct {
	bool kvm;
	char why[256];
} boot_accel;

static uid_t qemu_uid(const struct zad *z)
{
	return z->id_base + HVM_JAIL_UID_OFFSET;
}

static void runfile(const struct zad *z, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s" QEMU_RUNDIR "/%s", z->root, name);
}

/* ---- prepare, console ---- */

static int hvm_prepare(struct zad *z, struct zh_error *err)
{
	struct qemu_spec s = {.vm = z->vm, .start = z->start_opts};
	_cleanup_strv_ char **argv = NULL;
	int r = qemu_argv_build(&s, &argv, err);

	z->halt_sig = SIGTERM;
	z->reboot_sig = SIGHUP;
	z->stop_timeout = HVM_STOP_TIMEOUT;
	return r;
}

static int hvm_console(struct zad *z, struct zh_error *err)
{
	z->pty_master = z->pty_slave = -EBADF;
	return 0;
}

/* ---- QMP ---- */

static int qmp_run(struct zad *z, const char *cmd, json_t *args, json_t **ret, struct zh_error *err)
{
	_cleanup_free_ struct qmp *q = malloc(sizeof(*q));
	char path[RUNFILE_MAX];
	int r;

	if (!q)
		return zh_error_oom(err);
	struct stat st;

	runfile(z, "vm.qmp", path, sizeof(path));
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || st.st_uid != qemu_uid(z))
		return zh_error_set(err, ENOENT, NULL, "no QMP socket of QEMU's at %s", path);
	if ((r = qmp_open(q, path, QMP_CMD_MS, err)) < 0)
		return r;
	r = qmp_execute(q, cmd, args, QMP_CMD_MS, ret, err);
	qmp_close(q);
	return r;
}

/* QEMU owns <root>/tmp: only a socket of QEMU's own uid is connected to. */
static int connect_to(const char *path, uid_t uid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != uid)
		return -EPERM;
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static bool qemu_alive(const struct zad *z)
{
	siginfo_t si = {0};

	return waitid(P_PIDFD, (id_t)z->zp.pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == 0;
}

/* Wait until QEMU answers on QMP (it made its sockets): 0, or why not. */
static int wait_qmp(struct zad *z, struct zh_error *err)
{
	struct timespec pause = {0, 20 * 1000 * 1000};

	for (int i = 0; i < QMP_WAIT_MS / 20; i++) {
		if (!qemu_alive(z))
			return zh_error_set(err, ECHILD, NULL,
					    "QEMU ended while starting: see %s" QEMU_RUNDIR
					    "/vm.startvm.log",
					    z->root);
		zh_error_clear(err);
		if (qmp_run(z, "query-status", NULL, NULL, err) == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return zh_error_set(err, ETIMEDOUT, NULL, "QEMU did not answer on QMP in %d s",
			    QMP_WAIT_MS / 1000);
}

static int connect_console(struct zad *z, struct zh_error *err)
{
	char path[RUNFILE_MAX];
	int fd;

	runfile(z, "vm.console", path, sizeof(path));
	if ((fd = connect_to(path, qemu_uid(z))) < 0)
		return zh_error_set(err, -fd, NULL, "cannot connect to %s: %s", path,
				    strerror(-fd));
	z->pty_master = fd;
	return zad_watch(z, fd, ZT_PTY, EPOLLIN) < 0 ? zh_error_set(err, errno, NULL, "epoll: %m")
						     : 0;
}

static void drop_console(struct zad *z)
{
	if (z->pty_master < 0)
		return;
	zad_console_read(z);
	zad_unwatch(z, z->pty_master);
	closep(&z->pty_master);
}

/* ---- boot ---- */

static const char *const stale[] = {"vm.qmp", "vm.console", "vm.ttyb",
				    "vm.vnc", "vm.pid",	    "vm.ppm"};

/* <root>/tmp, QEMU's, emptied of the last run's files: an O_PATH-free dir fd. */
static int open_rundir(struct zad *z, struct zh_error *err)
{
	char path[RUNFILE_MAX];
	int fd;

	if (mkdir(z->root, 0755) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot make %s: %m", z->root);
	snprintf(path, sizeof(path), "%s" QEMU_RUNDIR, z->root);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot make %s: %m", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, qemu_uid(z), qemu_uid(z)) < 0 || fchmod(fd, 0700) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return zh_error_set(err, e, NULL, "cannot prepare %s: %s", path, strerror(e));
	}
	for (size_t i = 0; i < ARRAY_SIZE(stale); i++)
		unlinkat(fd, stale[i], 0);
	return fd;
}

/*
 * The VM's own disk files (<zonepath>/disk<N>, vm-disk.c) become QEMU's:
 * its uid is the VM's range's, which a receive may have changed.  Opened
 * by name in the zonepath without following links; regular files only.
 * A disk at an operator's path (nocreate, cdrom) is left as it is.
 */
static int own_disk(int zpfd, const char *name, uid_t uid, struct zh_error *err)
{
	_cleanup_close_ int fd = openat(zpfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return zh_error_set(err, errno, "disks", "disk %s: %m", name);
	if (!S_ISREG(st.st_mode))
		return zh_error_set(err, EINVAL, "disks", "disk %s: not a regular file", name);
	if (fchownat(fd, "", uid, uid, AT_EMPTY_PATH) < 0 || fchmodat(zpfd, name, 0600, 0) < 0)
		return zh_error_set(err, errno, "disks", "disk %s: cannot hand to QEMU: %m", name);
	return 0;
}

static int own_disks(struct zad *z, struct zh_error *err)
{
	size_t n = strlen(z->zonepath), i;
	_cleanup_close_ int zpfd = -EBADF;
	json_t *d;
	int r;

	zpfd = open(z->zonepath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (zpfd < 0)
		return zh_error_set(err, errno, NULL, "%s: %m", z->zonepath);
	json_array_foreach (json_object_get(z->vm, "disks"), i, d) {
		const char *p = jsonutil_str(d, "path");

		if (!p || strncmp(p, z->zonepath, n) != 0 || p[n] != '/' ||
		    strncmp(p + n + 1, "disk", 4) != 0 || strchr(p + n + 1, '/'))
			continue;
		if ((r = own_disk(zpfd, p + n + 1, qemu_uid(z), err)) < 0)
			return r;
	}
	return 0;
}

/* uefi: QEMU's writable copy of the OVMF variables, made once. */
static int uefi_vars(struct zad *z, int dirfd, struct zh_error *err)
{
	const char *rom = jsonutil_str(z->vm, "bootrom");
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	struct stat st;

	if (!rom || !streq(rom, "uefi"))
		return 0;
	dst = openat(dirfd, "vm.uefivars", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (dst < 0)
		return errno == EEXIST ? 0 : zh_error_set(err, errno, NULL, "vm.uefivars: %m");
	src = open(QEMU_OVMF_VARS, O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &st) < 0 ||
	    sendfile(dst, src, NULL, (size_t)st.st_size) != st.st_size ||
	    fchown(dst, qemu_uid(z), qemu_uid(z)) < 0) {
		unlinkat(dirfd, "vm.uefivars", 0);
		return zh_error_set(err, errno, "bootrom", "cannot copy %s: %m", QEMU_OVMF_VARS);
	}
	return 0;
}

/* The "path" of each item of list (NULL: none), as a strv. */
static char **paths_of(const json_t *list, const char *prop, struct zh_error *err)
{
	const json_t *disks = list, *d;
	char **v = calloc(json_array_size(disks) + 1, sizeof(char *));
	size_t i;

	if (!v)
		return zh_error_oom(err), NULL;
	json_array_foreach (disks, i, d) {
		const char *p = jsonutil_str(d, "path");

		if (!p || !(v[i] = strdup(p))) {
			strv_free(v);
			zh_error_set(err, EINVAL, prop, "%s.%zu.path: missing", prop, i);
			return NULL;
		}
	}
	return v;
}

static int spawn_qemu(struct zad *z, int logfd, bool kvm, const int *taps, size_t n,
		      struct zh_error *err)
{
	struct qemu_spec s = {
		.vm = z->vm, .kvm = kvm, .start = z->start_opts, .tap_fds = taps, .n_taps = n};
	_cleanup_strv_ char **argv = NULL, **disks = NULL, **cdroms = NULL, **xdisks = NULL;
	_cleanup_close_ int cgfd = -EBADF;
	int r;

	if ((r = qemu_argv_build(&s, &argv, err)) < 0)
		return r;
	if (!(disks = paths_of(json_object_get(z->vm, "disks"), "disks", err)) ||
	    !(cdroms = paths_of(json_object_get(z->start_opts, "cdroms"), "cdrom", err)) ||
	    !(xdisks = paths_of(json_object_get(z->start_opts, "disks"), "disk", err)))
		return -err->errnum;
	if (cgroup_version() == 2 && (cgfd = cgroup_open_fd(z->uuid, err)) < 0)
		return cgfd;
	struct hvm_jail j = {
		.root = z->root,
		.argv = argv,
		.uid = qemu_uid(z),
		.disks = disks,
		.cdroms = cdroms,
		.xdisks = xdisks,
		.kvm = kvm,
		.cgroup_fd = cgfd >= 0 ? cgfd : -1,
		.cgroup_uuid = z->uuid,
		.log_fd = logfd,
		.keep_fds = taps,
		.n_keep = n,
	};
	return hvm_jail_spawn(&j, &z->zp.pid, &z->zp.pidfd, err);
}

/* The taps (fds[i] for NIC i) and the DHCP responders. */
static int make_nics(struct zad *z, int *fds, size_t *n, struct zh_error *err)
{
	const json_t *nics = json_object_get(z->vm, "nics"), *nic;
	char name[NET_IFNAMSIZ];
	size_t i;
	int r;

	*n = json_array_size(nics);
	if (*n == 0)
		return 0;
	if (*n > HVM_MAX_NICS)
		return zh_error_set(err, E2BIG, "nics", "at most %d nics", HVM_MAX_NICS);
	z->net_made = true;
	if ((r = net_tap_create_all(z->vm, fds, *n, err)) < 0)
		return r;
	/*
	 * The nft and netlink work above leaves ~2 MiB of freed heap; give it
	 * back before a responder's fork copies it (bench/hvm: -1.8 MiB Pss).
	 */
	malloc_trim(0);
	json_array_foreach (nics, i, nic) {
		if ((r = net_tap_name(z->uuid, nic, i, name, err)) < 0 ||
		    (r = dhcp_responder_spawn(z->vm, nic, name, &responders[i], err)) < 0)
			return r;
	}
	return 0;
}

static void end_responders(void)
{
	for (size_t i = 0; i < HVM_MAX_NICS; i++) {
		if (responders[i] <= 0)
			continue;
		kill(responders[i], SIGKILL);
		waitpid(responders[i], NULL, 0);
		responders[i] = 0;
	}
}

/* The relay goes with QEMU: nothing listens on vnc_port after this. */
static void end_vnc(void)
{
	closep(&vnc.l.fd);
	vnc.l.port = 0;
	explicit_bzero(vnc.password, sizeof(vnc.password));
	if (vnc.relay <= 0)
		return;
	kill(vnc.relay, SIGKILL);
	waitpid(vnc.relay, NULL, 0);
	vnc.relay = 0;
}

/*
 * Once QEMU answers on QMP: its VNC password (QEMU refuses every client
 * until then: -vnc ...,password=on), then the relay on the listener.
 * The password travels over QMP only, never in an argv or a log.
 */
static int start_vnc(struct zad *z, int dirfd, struct zh_error *err)
{
	const char *pw = jsonutil_str(z->vm, "vnc_password");
	int r;

	if (pw && *pw) {
		_cleanup_json_ json_t *a =
			json_pack("{s:s,s:s}", "protocol", "vnc", "password", pw);

		if (!a)
			return zh_error_oom(err);
		if ((r = qmp_run(z, "set_password", a, NULL, err)) < 0)
			return zh_error_prefix(err, "vnc_password");
		snprintf(vnc.password, sizeof(vnc.password), "%s", pw);
	}
	if (vnc.l.fd < 0)
		return 0;
	r = vnc_relay_spawn(vnc.l.fd, dirfd, qemu_uid(z), &vnc.relay, err);
	closep(&vnc.l.fd);
	if (r == 0)
		zad_logf(z, "vnc: %s port %d (relay pid %d)", vnc.l.host, vnc.l.port,
			 (int)vnc.relay);
	return r;
}

static void close_taps(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		closep(&fds[i]);
}

static int hvm_boot(struct zad *z, struct zh_error *err)
{
	_cleanup_close_ int dirfd = -EBADF, logfd = -EBADF;
	int taps[HVM_MAX_NICS];
	size_t ntaps = 0;
	char *why = boot_accel.why;
	bool kvm;
	int r;

	drop_console(z);
	for (size_t i = 0; i < HVM_MAX_NICS; i++)
		taps[i] = -EBADF;
	accel_decide(&kvm, why, sizeof(boot_accel.why));
	boot_accel.kvm = kvm;
	if ((dirfd = open_rundir(z, err)) < 0)
		return dirfd;
	if ((r = uefi_vars(z, dirfd, err)) < 0 || (r = own_disks(z, err)) < 0)
		return r;
	logfd = openat(dirfd, "vm.startvm.log",
		       O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (logfd < 0)
		return zh_error_set(err, errno, NULL, "vm.startvm.log: %m");
	/* vnc_port first: a port in use fails the start before QEMU runs */
	r = vnc_listen(z->vm, &vnc.l, err);
	if (r == 0)
		r = make_nics(z, taps, &ntaps, err);
	if (r == 0)
		r = spawn_qemu(z, logfd, kvm, taps, ntaps, err);
	close_taps(taps, ntaps);
	if (r < 0) {
		end_responders();
		end_vnc();
		return r;
	}
	if ((r = wait_qmp(z, err)) < 0 || (r = start_vnc(z, dirfd, err)) < 0 ||
	    (r = connect_console(z, err)) < 0) {
		syscall(SYS_pidfd_send_signal, z->zp.pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)z->zp.pidfd, NULL, WEXITED);
		closep(&z->zp.pidfd);
		end_responders();
		end_vnc();
		return r;
	}
	json_decref(TAKE_PTR(z->start_opts)); /* this boot's only: a reboot runs without */
	zad_logf(z, "booted: qemu pid %d, %s (%s)", (int)z->zp.pid, kvm ? "kvm" : "tcg", why);
	return 0;
}

/* ---- signals, kill, reap ---- */

static int hvm_signal(struct zad *z, int sig)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	if (z->zp.pidfd < 0)
		return -ESRCH;
	if (sig == SIGKILL)
		return syscall(SYS_pidfd_send_signal, z->zp.pidfd, SIGKILL, NULL, 0) < 0 ? -errno
											 : 0;
	if (sig != SIGTERM && sig != SIGHUP && sig != SIGINT)
		return -EINVAL;
	r = qmp_run(z, sig == SIGTERM ? "system_powerdown" : "quit", NULL, NULL, &err);
	if (r < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	return r;
}

static void hvm_kill(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (z->zp.pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, z->zp.pidfd, SIGKILL, NULL, 0);
		return;
	}
	if (z->cgroup_made && cgroup_kill_all(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

static int hvm_reap(struct zad *z, int *status, bool *reboot)
{
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)z->zp.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return -EAGAIN;
	*status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	*reboot = false;
	drop_console(z);
	end_responders();
	end_vnc();
	return 0;
}

/* ---- network ---- */

static int hvm_net_update(struct zad *z, const json_t *old, struct zh_error *err)
{
	zad_logf(z, "nics changed: applied at the next boot (hardware VM)");
	return 0;
}

static void hvm_net_release(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	end_responders();
	end_vnc();
	if (net_tap_remove_all(z->vm, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
}

/* ---- info, sysrq ---- */

static const struct {
	const char *type, *cmd;
} info_cmds[] = {
	{"status", "query-status"},
	{"block", "query-block"},
	{"blockstats", "query-blockstats"},
	{"chardev", "query-chardev"},
	{"cpus", "query-cpus-fast"},
	{"kvm", "query-kvm"},
	{"pci", "query-pci"},
	{"version", "query-version"},
	{"vnc", "query-vnc"},
	{"spice", "query-spice"},
	{"accel", NULL}, /* zoneadmd's own: which accelerator this boot has, and why */
};

static bool info_cmd(const char *type, const char **cmd)
{
	for (size_t i = 0; type && i < ARRAY_SIZE(info_cmds); i++)
		if (streq(info_cmds[i].type, type)) {
			*cmd = info_cmds[i].cmd;
			return true;
		}
	return false;
}

static json_t *accel_info(void)
{
	return json_pack("{s:s,s:s}", "accelerator", boot_accel.kvm ? "kvm" : "tcg", "reason",
			 boot_accel.why);
}

/*
 * vnc: SmartOS's host, port, display (and password) of the TCP listener
 * when there is one, the unix socket always, QEMU's query-vnc as "qemu".
 */
static json_t *vnc_answer(struct zad *z, json_t *qemu)
{
	char path[RUNFILE_MAX];
	json_t *v;

	runfile(z, "vm.vnc", path, sizeof(path));
	v = vnc_info(&vnc.l, vnc.password, path);
	if (v && qemu && json_object_set_new(v, "qemu", qemu) == 0)
		return v;
	if (!v)
		json_decref(qemu);
	return v;
}

static int hvm_info(struct zad *z, const json_t *types, json_t **out, struct zh_error *err)
{
	json_t *res = json_object(), *t;
	size_t i;

	if (!res)
		return zh_error_oom(err);
	json_array_foreach (types, i, t) {
		const char *type = json_string_value(t), *cmd = NULL;
		json_t *v = NULL;
		int r;

		if (!info_cmd(type, &cmd))
			continue;
		if (!cmd)
			v = accel_info();
		else if ((r = qmp_run(z, cmd, NULL, &v, err)) < 0) {
			json_decref(res);
			return r;
		}
		if (streq(type, "vnc") && !(v = vnc_answer(z, v))) {
			json_decref(res);
			return zh_error_oom(err);
		}
		json_object_set_new(res, type, v);
	}
	*out = res;
	return 0;
}

static int hvm_sysrq(struct zad *z, const char *request, json_t **out, struct zh_error *err)
{
	char path[RUNFILE_MAX];
	int r;

	if (streq(request, "nmi"))
		return qmp_run(z, "inject-nmi", NULL, NULL, err);
	if (!streq(request, "screenshot"))
		return zh_error_set(err, EINVAL, "request", "unknown sysrq request %s", request);
	_cleanup_json_ json_t *a = json_pack("{s:s}", "filename", QEMU_RUNDIR "/vm.ppm");

	if (!a)
		return zh_error_oom(err);
	r = qmp_run(z, "screendump", a, NULL, err);
	if (r < 0)
		return r;
	runfile(z, "vm.ppm", path, sizeof(path));
	*out = json_pack("{s:s}", "path", path);
	return *out ? 0 : zh_error_oom(err);
}

/* The guest's second serial port: QEMU listens on vm.ttyb (docs/architecture.md §23). */
static int hvm_mdata_connect(struct zad *z)
{
	char path[RUNFILE_MAX];

	if (z->zp.pidfd < 0)
		return -ESRCH;
	runfile(z, "vm.ttyb", path, sizeof(path));
	return connect_to(path, qemu_uid(z));
}

const struct brand_ops brand_hvm = {
	.name = "hvm",
	.prepare = hvm_prepare,
	.console = hvm_console,
	.boot = hvm_boot,
	.signal = hvm_signal,
	.kill = hvm_kill,
	.reap = hvm_reap,
	.net_update = hvm_net_update,
	.net_release = hvm_net_release,
	.info = hvm_info,
	.sysrq = hvm_sysrq,
	.mdata_connect = hvm_mdata_connect,
	.mdata = true,
};

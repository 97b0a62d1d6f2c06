/*
 * zoneadmd-mdata.c - the VM's metadata server, as zoneadmd supervises it
 * (docs/architecture.md §23): started with each boot of the payload,
 * ended with it; its transports; the VM view it answers from; the
 * guest's PUT and DELETE applied through `vmadm update`.
 *
 *     zad_mdata_start(z, &err);     in zad_boot, before the brand's boot
 *     zad_mdata_push(z);            after each re-read of the config
 *     zad_mdata_stop(z);            when the payload has ended
 *
 * The server is <dir of zoneadmd or libexecdir/zonehost>/mdatad, exec'd
 * (never a fork of zoneadmd: none of zoneadmd's memory) in the VM's
 * cgroup (v2: its root-owned "metadata" leaf), so the sentinel's kill of
 * the cgroup ends it when zoneadmd dies; as the VM's uid
 * id_base + HVM_JAIL_UID_OFFSET (QEMU's in a hardware VM; in a zone the
 * zone's uid 1000, which can reach nothing of it: the server is in no
 * namespace of the zone, opens no file and is non-dumpable); with no
 * capability, no_new_privs, and its own seccomp filter (mdsrv.c).  It
 * gets fds only: the channel (mdsrv-chan.h), then its transports:
 *   OS zone   a listening socket <run>/<uuid>/zonecontrol/metadata.sock
 *             (the directory host root's 0755, the socket the zone root's
 *             0600: zone root only, as on SmartOS), which zone_spawn binds
 *             read-only at
 *             /.zonecontrol (lx: /native/.zonecontrol); and a raw pty
 *             whose slave zone_spawn binds at /dev/ttyS1 (zoneadmd keeps
 *             a slave fd, so the master never reads EIO; and its copies
 *             of the master and the listener, for a server started again).
 *   HVM       zoneadmd's connection to QEMU's vm.ttyb (the brand's
 *             mdata_connect), retried every 100 ms for up to 120 s, and
 *             made anew when the server says it hung up.
 * The log says "metadata: serial attached" each time a line is handed over.
 * A server that ends on its own is started again on the same transports,
 * MDATA_RESTARTS times a boot at most.
 *
 * PUT and DELETE: the server sends the key and value, never an update:
 * zoneadmd asks mdata-keys itself (so a server that went bad can change
 * nothing but customer keys), and runs `vmadm update <uuid>` with the
 * payload on stdin, one at a time (queued), answering the server when it
 * ends: vmadm takes the VM lock and tells this zoneadmd (CTL_MDATA) while
 * zoneadmd's loop keeps serving, so nothing waits on itself.  Before the
 * answer the new config is read and pushed, so the guest's next GET sees
 * its own PUT.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "brand.h"
#include "cgroup.h"
#include "config.h"
#include "jail.h"
#include "jsonutil.h"
#include "mdsrv-chan.h"
#include "paths.h"
#include "privdrop.h"
#include "sysinfo.h"
#include "zoneadmd.h"

#define MDATA_RETRY_MS	  100
#define MDATA_RETRY_TRIES 1200 /* 120 s */
#define MDATA_RESTARTS	  3    /* servers started again per boot, at most */

/* ---- helpers: paths ---- */

/* <dir of our executable>/name when it is there, else <libexecdir>/zonehost/name. */
static int helper_path(const char *name, char *buf, size_t len)
{
	if (util_exe_sibling(name, buf, len) == 0 && access(buf, X_OK) == 0)
		return 0;
	if ((size_t)snprintf(buf, len, "%s/zonehost/%s", ZH_LIBEXECDIR, name) >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

static uid_t mdata_uid(const struct zad *z)
{
	return z->id_base + HVM_JAIL_UID_OFFSET;
}

static bool is_zone(const struct zad *z)
{
	return !z->ops->mdata_connect;
}

/* ---- the view ---- */

/* The config as `vmadm get` shows what keys read (the derived fields mdata-keys uses). */
static json_t *view(struct zad *z)
{
	json_t *v = json_deep_copy(z->vm);

	if (!v)
		return NULL;
	if (!z->mdata.server_uuid) {
		_cleanup_json_ json_t *si = NULL;
		struct zh_error e = ZH_ERROR_INIT;

		if (sysinfo_collect(&si, &e) == 0 && jsonutil_str(si, "UUID"))
			z->mdata.server_uuid = strdup(jsonutil_str(si, "UUID"));
		zh_error_clear(&e);
	}
	if (z->mdata.server_uuid)
		json_object_set_new(v, "server_uuid", json_string(z->mdata.server_uuid));
	json_object_set_new(v, "zonepath", json_string(z->zonepath));
	json_object_set_new(v, "state", json_string("running"));
	json_object_set_new(v, "zone_state", json_string("running"));
	return v;
}

static int send_fd(struct zad *z, const char *op, int fd)
{
	_cleanup_json_ json_t *m = json_pack("{s:s}", "op", op);

	return m ? mdsrv_chan_send(z->mdata.chan, m, fd) : -ENOMEM;
}

void zad_mdata_push(struct zad *z)
{
	_cleanup_json_ json_t *m = NULL;
	json_t *v;
	int r;

	if (z->mdata.chan < 0)
		return;
	if (!(v = view(z)) || !(m = json_pack("{s:s,s:o}", "op", "vm", "vm", v))) {
		zad_logf(z, "metadata: out of memory for the VM view");
		return;
	}
	if ((r = mdsrv_chan_send(z->mdata.chan, m, -1)) < 0)
		zad_logf(z, "metadata: cannot send the VM view: %s", strerror(-r));
}

/* ---- the zone's transports ---- */

/* A raw pty, its slave the zone root's: the server gets the master. */
static int make_serial(struct zad *z, struct zh_error *err)
{
	struct zad_mdata *m = &z->mdata;
	struct termios t;
	char name[64];

	m->serial_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m->serial_master < 0 || grantpt(m->serial_master) < 0 ||
	    unlockpt(m->serial_master) < 0 || ptsname_r(m->serial_master, name, sizeof(name)) != 0)
		return zh_error_set(err, errno, NULL, "cannot make the metadata pty: %m");
	m->serial_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m->serial_slave < 0 || fchown(m->serial_slave, z->id_base, z->id_base) < 0 ||
	    fchmod(m->serial_slave, 0600) < 0 || tcgetattr(m->serial_slave, &t) < 0)
		return zh_error_set(err, errno, NULL, "cannot set up %s: %m", name);
	cfmakeraw(&t);
	if (tcsetattr(m->serial_slave, TCSANOW, &t) < 0)
		return zh_error_set(err, errno, NULL, "cannot make %s raw: %m", name);
	return 0;
}

/*
 * <run>/<uuid>/zonecontrol, host root's (0755), and its listening socket,
 * the zone root's (0600).  The directory is the host's: a zone that
 * remounts its bind read-write still cannot write into it (its root is
 * not the host's), so nothing of the zone lands in <run>.
 */
static int make_socket(struct zad *z, int *lfd, struct zh_error *err)
{
	struct zad_mdata *m = &z->mdata;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	_cleanup_free_ char *sock = paths_vm_run_file(z->uuid, PATHS_RUN_MDATA_SOCK);

	if (!sock || !(m->dir = paths_vm_run_file(z->uuid, PATHS_RUN_MDATA_DIR)))
		return zh_error_oom(err);
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock) >= sizeof(a.sun_path))
		return zh_error_set(err, ENAMETOOLONG, NULL, "metadata socket path too long");
	unlink(a.sun_path);
	rmdir(m->dir);
	if (mkdir(m->dir, 0755) < 0 || chmod(m->dir, 0755) < 0)
		return zh_error_set(err, errno, NULL, "cannot make %s: %m", m->dir);
	*lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chown(a.sun_path, z->id_base, z->id_base) < 0 || chmod(a.sun_path, 0600) < 0 ||
	    listen(*lfd, 64) < 0)
		return zh_error_set(err, errno, NULL, "cannot listen on %s: %m", a.sun_path);
	return 0;
}

/* The zone's transports to the server (zoneadmd keeps its copies for a restart). */
static int hand_fds(struct zad *z, struct zh_error *err)
{
	int r;

	if ((r = send_fd(z, "listen", z->mdata.lfd)) < 0 ||
	    (r = send_fd(z, "serial", z->mdata.serial_master)) < 0)
		return zh_error_set(err, -r, NULL, "cannot hand the metadata server its fds: %s",
				    strerror(-r));
	return 0;
}

static int zone_transports(struct zad *z, struct zh_error *err)
{
	int r;

	if ((r = make_serial(z, err)) < 0 || (r = make_socket(z, &z->mdata.lfd, err)) < 0)
		return r;
	if (helper_path("mdata-tool", z->mdata.tool, sizeof(z->mdata.tool)) < 0)
		z->mdata.tool[0] = '\0';
	return hand_fds(z, err);
}

/* ---- the server process ---- */

/* In the child, as root still: the VM's cgroup (v2: the leaf whose fd is cg). */
static int join_cgroup(struct zad *z, int cg)
{
	struct zh_error e = ZH_ERROR_INIT;
	int fd, r = 0;

	if (cg < 0) {
		r = cgroup_attach(z->uuid, getpid(), &e);
		zh_error_clear(&e);
		return r;
	}
	fd = openat(cg, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

static _Noreturn void exec_server(struct zad *z, const char *path, int chan, int cg)
{
	char *const argv[] = {"mdatad", "3", NULL};
	char *const envp[] = {NULL};
	pid_t parent = getppid();
	int keep[] = {3};

	privdrop_reset_signals();
	if (join_cgroup(z, cg) < 0 || dup2(chan, 3) < 0 ||
	    privdrop_close_except(keep, ARRAY_SIZE(keep)) < 0 ||
	    privdrop_become(mdata_uid(z)) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(127);
	execve(path, argv, envp);
	_exit(127);
}

static int spawn_server(struct zad *z, int chan, struct zh_error *err)
{
	_cleanup_close_ int cg = -EBADF;
	struct zh_error e = ZH_ERROR_INIT;
	char path[PATH_MAX];
	pid_t pid;

	if (helper_path("mdatad", path, sizeof(path)) < 0)
		return zh_error_set(err, ENOENT, NULL, "cannot find mdatad (the metadata server)");
	if (cgroup_version() == 2 && (cg = cgroup_open_mdata_fd(z->uuid, &e)) < 0) {
		zh_error_clear(err);
		*err = e;
		return cg;
	}
	pid = fork();
	if (pid < 0)
		return zh_error_set(err, errno, NULL, "cannot fork the metadata server: %m");
	if (pid == 0)
		exec_server(z, path, chan, cg);
	z->mdata.pid = pid;
	z->mdata.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (z->mdata.pidfd < 0 || zad_watch(z, z->mdata.pidfd, ZT_MDATA_PID, EPOLLIN) < 0)
		return zh_error_set(err, errno, NULL, "cannot watch the metadata server: %m");
	return 0;
}

/* ---- HVM: the serial line to QEMU ---- */

static void arm_retry(struct zad *z, unsigned ms)
{
	struct itimerspec its = {{0, 0}, {ms / 1000, (long)(ms % 1000) * 1000000}};

	if (z->mdata.timer >= 0)
		timerfd_settime(z->mdata.timer, 0, &its, NULL);
}

static void try_attach(struct zad *z)
{
	int fd = z->ops->mdata_connect(z), r;

	if (fd < 0) {
		if (++z->mdata.tries < MDATA_RETRY_TRIES)
			arm_retry(z, MDATA_RETRY_MS);
		else
			zad_logf(z, "metadata: no serial line: %s", strerror(-fd));
		return;
	}
	r = send_fd(z, "serial", fd);
	close(fd);
	if (r < 0)
		zad_logf(z, "metadata: cannot hand over the serial line: %s", strerror(-r));
	else
		zad_logf(z, "metadata: serial attached");
}

void zad_mdata_reattach(struct zad *z)
{
	if (z->mdata.timer < 0) {
		z->mdata.timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (z->mdata.timer < 0 ||
		    zad_watch(z, z->mdata.timer, ZT_MDATA_TIMER, EPOLLIN) < 0) {
			zad_logf(z, "metadata: no retry timer: %m");
			return;
		}
	}
	z->mdata.tries = 0;
	arm_retry(z, 1);
}

void zad_mdata_on_timer(struct zad *z)
{
	uint64_t n;

	if (read(z->mdata.timer, &n, sizeof(n)) > 0 && z->mdata.chan >= 0)
		try_attach(z);
}

/* ---- start, stop ---- */

/* A server and its channel, sent the view (answers go to this generation only). */
static int start_server(struct zad *z, struct zh_error *err)
{
	int sv[2], r;

	z->mdata.gen++;
	if ((r = mdsrv_chan_pair(sv)) < 0)
		return zh_error_set(err, -r, NULL, "cannot make the metadata channel: %s",
				    strerror(-r));
	z->mdata.chan = sv[0];
	r = spawn_server(z, sv[1], err);
	close(sv[1]);
	if (r < 0)
		return r;
	if (zad_watch(z, z->mdata.chan, ZT_MDATA, EPOLLIN) < 0)
		return zh_error_set(err, errno, NULL, "epoll: %m");
	zad_mdata_push(z);
	return 0;
}

int zad_mdata_start(struct zad *z, struct zh_error *err)
{
	int r;

	zad_mdata_stop(z);
	z->mdata.restarts = 0;
	if ((r = start_server(z, err)) < 0) {
		zad_mdata_stop(z);
		return r;
	}
	if (!is_zone(z)) {
		zad_mdata_reattach(z);
		return 0;
	}
	if ((r = zone_transports(z, err)) < 0)
		zad_mdata_stop(z);
	return r;
}

static void remove_socket(struct zad *z)
{
	_cleanup_free_ char *sock = paths_vm_run_file(z->uuid, PATHS_RUN_MDATA_SOCK);

	if (!z->mdata.dir)
		return;
	if (sock)
		unlink(sock);
	rmdir(z->mdata.dir);
	free(z->mdata.dir);
	z->mdata.dir = NULL;
}

void zad_mdata_stop(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;

	if (m->pidfd >= 0) {
		zad_unwatch(z, m->pidfd);
		syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)m->pidfd, &(siginfo_t){0}, WEXITED);
		closep(&m->pidfd);
	}
	m->pid = 0;
	if (m->chan >= 0)
		zad_unwatch(z, m->chan);
	closep(&m->chan);
	closep(&m->lfd);
	closep(&m->serial_master);
	closep(&m->serial_slave);
	arm_retry(z, 0);
	remove_socket(z);
}

/* The server process and channel only (a zone's transports stay for the next one). */
static void end_server(struct zad *z)
{
	struct zad_mdata *m = &z->mdata;

	zad_unwatch(z, m->pidfd);
	closep(&m->pidfd);
	m->pid = 0;
	if (m->chan >= 0)
		zad_unwatch(z, m->chan);
	closep(&m->chan);
}

static int restart(struct zad *z, struct zh_error *err)
{
	int r;

	if (z->mdata.restarts++ >= MDATA_RESTARTS)
		return -EAGAIN;
	if ((r = start_server(z, err)) < 0)
		return r;
	if (is_zone(z))
		return hand_fds(z, err);
	zad_mdata_reattach(z);
	return 0;
}

/*
 * The server ended on its own (the VM's memory cgroup killed it, or its
 * filter did): a new one takes the same transports, MDATA_RESTARTS times
 * a boot at most (a server a guest can crash at will must not cost the
 * host a process a second).
 */
void zad_mdata_on_exit(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)z->mdata.pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	zad_logf(z, "metadata: server pid %d ended (%s %d)", (int)z->mdata.pid,
		 si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
	end_server(z);
	if (restart(z, &err) < 0) {
		zad_logf(z, "metadata: %s; the guest has no metadata until the next boot",
			 err.msg ? err.msg : "restarted too often");
		zad_mdata_stop(z);
	} else {
		zad_logf(z, "metadata: server restarted (pid %d)", (int)z->mdata.pid);
	}
	zh_error_clear(&err);
}

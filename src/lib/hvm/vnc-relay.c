/*
 * vnc-relay.c - the VNC relay of one hardware VM: each client of the TCP
 * listener gets its own connection to QEMU's unix socket vm.vnc, and the
 * bytes are copied both ways as they come, never parsed (vnc.h;
 * docs/architecture.md §22).
 *
 * Owns: one child process per boot (zoneadmd kills and reaps it with
 * QEMU), the listening socket it was handed, its clients.  Not: the
 * listener's address and port (vnc.c), QEMU's VNC server and password.
 *
 *     vnc_relay_spawn(listen_fd, rundir_fd, base + 1000, &pid, &err);
 *     ... kill(pid, SIGKILL); waitpid(pid, NULL, 0);
 *
 * Privilege.  A TCP client is anyone who can reach the listener, so the
 * relay holds no privilege: it runs as QEMU's own uid (zonehost_id_base +
 * 1000).  That uid is the least that works: QEMU's run directory
 * <zonepath>/root/tmp is QEMU's, mode 0700, and QEMU makes vm.vnc with its
 * own mode, so any other uid would need QEMU's directory opened to it,
 * which weakens QEMU's jail for every VM to serve the few with VNC on TCP.
 * Running as QEMU's uid gives the relay no reach QEMU lacks: before it
 * drops root it chroots into that directory (a link QEMU plants there
 * resolves inside it, so the relay never connects to a host socket),
 * keeps only the listening socket, empties its capability sets, sets
 * no_new_privs and non-dumpable, and loads a seccomp filter that kills it
 * on any system call but the loop's (socket only for AF_UNIX, so it opens
 * nothing on the network).  Each connection to QEMU must also have QEMU's
 * uid as its peer (SO_PEERCRED).  It dies with zoneadmd
 * (PR_SET_PDEATHSIG, set again after the uid change, which clears it), so
 * nothing listens once zoneadmd is gone.
 *
 * Bounds: at most VNC_RELAY_MAX_CLIENTS clients (the next is accepted and
 * closed at once), VNC_RELAY_BUF bytes per direction per client in
 * static buffers (nothing is allocated after set-up), every socket
 * non-blocking; a direction reads only while its buffer has room, so a
 * slow reader slows its writer and nothing grows.  EOF on one side is
 * passed on as a shutdown of the other once the buffer has drained; a
 * client is closed when both directions are done or a write fails.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"
#include "seccomp-allow.h"
#include "vnc.h"

#define ERR_MAX 256
#define EVENTS	16

/* One direction: bytes read from src, not yet written to dst. */
struct half {
	char buf[VNC_RELAY_BUF];
	size_t off, len; /* pending: buf[off..len) */
	bool eof;	 /* src gave EOF or an error: no more reads */
	bool done;	 /* shut down on dst, or dst failed */
};

/* A client: its TCP socket and its connection to QEMU. */
struct conn {
	int fd[2];	  /* 0: the client, 1: QEMU; -1: free slot */
	uint32_t ev[2];	  /* the epoll interest registered */
	uint32_t gen;	  /* bumped per client: an event of the slot's last client is stale */
	bool gone[2];	  /* hung up: read without epoll, never written */
	struct half h[2]; /* h[0]: client -> QEMU, h[1]: QEMU -> client */
};

static struct conn conns[VNC_RELAY_MAX_CLIENTS];

/* epoll data of side i of a slot: the generation high, slot and side low. */
static uint64_t tag_of(const struct conn *c, size_t slot, int i)
{
	return (uint64_t)c->gen << 32 | (slot * 2 + (size_t)i);
}

/* ---- one client ---- */

static void half_write(struct half *h, int dst)
{
	ssize_t n;

	if (h->done || h->off == h->len)
		return;
	n = write(dst, h->buf + h->off, h->len - h->off);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* the other side is gone: nothing more goes this way */
		h->done = true;
		h->off = h->len = 0;
		return;
	}
	h->off += (size_t)n;
	if (h->off == h->len)
		h->off = h->len = 0;
}

static void half_read(struct half *h, int src)
{
	ssize_t n;

	if (h->eof || h->done)
		return;
	if (h->len == sizeof(h->buf) && h->off > 0) {
		memmove(h->buf, h->buf + h->off, h->len - h->off);
		h->len -= h->off;
		h->off = 0;
	}
	if (h->len == sizeof(h->buf))
		return;
	n = read(src, h->buf + h->len, sizeof(h->buf) - h->len);
	if (n > 0)
		h->len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		h->eof = true;
}

/* Write, read, write again; an EOF that has drained becomes a shutdown. */
static void half_pump(struct half *h, int src, int dst)
{
	half_write(h, dst);
	half_read(h, src);
	half_write(h, dst);
	if (!h->done && h->eof && h->off == h->len) {
		shutdown(dst, SHUT_WR);
		h->done = true;
	}
}

static uint32_t interest(const struct conn *c, int i)
{
	const struct half *in = &c->h[i], *out = &c->h[1 - i];
	uint32_t ev = 0;

	if (!in->eof && !in->done && in->len < sizeof(in->buf))
		ev |= EPOLLIN;
	if (!out->done && out->off < out->len)
		ev |= EPOLLOUT;
	return ev;
}

static void conn_close(int ep, struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[i], NULL);
			close(c->fd[i]);
		}
		c->fd[i] = -1;
	}
}

/* Register what each live side waits for now; close the client when it is over. */
static void conn_update(int ep, struct conn *c, size_t slot)
{
	/* both done, or both peers gone: nothing could ever wake it again */
	if ((c->h[0].done && c->h[1].done) || (c->gone[0] && c->gone[1])) {
		conn_close(ep, c);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct epoll_event e = {.events = interest(c, i), .data.u64 = tag_of(c, slot, i)};

		if (c->gone[i] || e.events == c->ev[i])
			continue;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[i], &e) < 0) {
			conn_close(ep, c);
			return;
		}
		c->ev[i] = e.events;
	}
}

static void conn_event(int ep, uint64_t tag, uint32_t events)
{
	size_t slot = (size_t)(tag & UINT32_MAX) / 2;
	int side = (int)(tag & 1);
	struct conn *c;

	if (slot >= VNC_RELAY_MAX_CLIENTS)
		return;
	c = &conns[slot];
	if (c->fd[0] < 0 || c->gen != (uint32_t)(tag >> 32))
		return; /* closed (and maybe reused) earlier in this batch */
	if ((events & (EPOLLHUP | EPOLLERR)) && !c->gone[side]) {
		/* no more events from it: what is left in it is read as room allows */
		c->gone[side] = true;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd[side], NULL);
	}
	half_pump(&c->h[0], c->fd[0], c->fd[1]);
	half_pump(&c->h[1], c->fd[1], c->fd[0]);
	conn_update(ep, c, slot);
}

/* ---- accepting ---- */

/* A connection to QEMU's socket whose peer is QEMU's uid, or -1. */
static int connect_qemu(const char *path, uid_t peer_uid)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != peer_uid) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct conn *free_slot(size_t *slot)
{
	for (size_t i = 0; i < VNC_RELAY_MAX_CLIENTS; i++)
		if (conns[i].fd[0] < 0) {
			*slot = i;
			return &conns[i];
		}
	return NULL;
}

static void conn_open(int ep, struct conn *c, size_t slot, int cfd, int qfd)
{
	c->fd[0] = cfd;
	c->fd[1] = qfd;
	c->gen++;
	for (int i = 0; i < 2; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u64 = tag_of(c, slot, i)};

		c->ev[i] = EPOLLIN;
		c->gone[i] = false;
		c->h[i].off = c->h[i].len = 0;
		c->h[i].eof = c->h[i].done = false;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[i], &e) < 0) {
			conn_close(ep, c);
			return;
		}
	}
}

/* One pending client: relayed, or closed (no slot, QEMU not answering). */
static int accept_one(int ep, int lfd, const char *path, uid_t peer_uid)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), qfd;
	struct conn *c;
	size_t slot = 0;

	if (cfd < 0)
		return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ||
				       errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
				       errno == ENOMEM
			       ? 0
			       : -errno;
	if (!(c = free_slot(&slot)) || (qfd = connect_qemu(path, peer_uid)) < 0) {
		close(cfd);
		return 0;
	}
	conn_open(ep, c, slot, cfd, qfd);
	return 0;
}

#define LISTEN_TAG UINT64_MAX

int vnc_relay_serve(int listen_fd, const char *path, uid_t peer_uid)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = LISTEN_TAG}, evs[EVENTS];
	int ep = epoll_create1(EPOLL_CLOEXEC), r;

	for (size_t i = 0; i < VNC_RELAY_MAX_CLIENTS; i++)
		conns[i].fd[0] = conns[i].fd[1] = -1;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &e) < 0)
		return -errno;
	for (;;) {
		int n = epoll_wait(ep, evs, EVENTS, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == LISTEN_TAG) {
				if ((r = accept_one(ep, listen_fd, path, peer_uid)) < 0)
					return r;
				continue;
			}
			conn_event(ep, tag, evs[i].events);
		}
	}
}

/* ---- the child ---- */

_printf_(2, 3) static _Noreturn void child_fail(int efd, const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(efd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* The loop's system calls; socket() for AF_UNIX only. */
static void load_seccomp(int efd)
{
	static struct sock_filter code[] = {
		SECCOMP_ALLOW_HEAD,
		SECCOMP_ALLOW(__NR_read),
		SECCOMP_ALLOW(__NR_write),
		SECCOMP_ALLOW(__NR_close),
		SECCOMP_ALLOW(__NR_accept4),
		SECCOMP_ALLOW(__NR_connect),
		SECCOMP_ALLOW(__NR_getsockopt),
		SECCOMP_ALLOW(__NR_shutdown),
		SECCOMP_ALLOW(__NR_epoll_create1),
		SECCOMP_ALLOW(__NR_epoll_ctl),
#ifdef __NR_epoll_wait
		SECCOMP_ALLOW(__NR_epoll_wait),
#endif
		SECCOMP_ALLOW(__NR_epoll_pwait),
		SECCOMP_ALLOW(__NR_exit),
		SECCOMP_ALLOW(__NR_exit_group),
		SECCOMP_ALLOW(__NR_rt_sigreturn),
		SECCOMP_ALLOW(__NR_restart_syscall),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(code), .filter = code};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		child_fail(efd, "cannot load the seccomp filter: %s", strerror(errno));
}

static _Noreturn void child_main(int lfd, int dirfd, uid_t uid, pid_t parent, int efd)
{
	int keep[] = {lfd, dirfd, efd}, r;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	privdrop_reset_signals();
	signal(SIGPIPE, SIG_IGN); /* a closed peer is a write error, not a death */
	if ((r = privdrop_close_except(keep, ARRAY_SIZE(keep))) < 0)
		child_fail(efd, "cannot close inherited descriptors: %s", strerror(-r));
	if (fchdir(dirfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		child_fail(efd, "cannot enter QEMU's run directory: %s", strerror(errno));
	close(dirfd);
	if ((r = privdrop_become(uid)) < 0)
		child_fail(efd, "cannot become uid %u: %s", (unsigned)uid, strerror(-r));
	/* again: a change of credentials clears the parent-death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		child_fail(efd, "cannot follow zoneadmd: %s", strerror(errno));
	load_seccomp(efd);
	close(efd); /* EOF: serving */
	r = vnc_relay_serve(lfd, "/" VNC_SOCKET, uid);
	_exit(r < 0 ? 1 : 0);
}

/* The child's verdict: "" (EOF) when it serves, else its message. */
static int await_child(pid_t pid, int rfd, struct zh_error *err)
{
	char msg[ERR_MAX];
	ssize_t n;

	do
		n = read(rfd, msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	msg[n > 0 ? n : 0] = '\0';
	return zh_error_set(err, EIO, "vnc_port", "VNC relay: %s", n > 0 ? msg : "failed to start");
}

int vnc_relay_spawn(int listen_fd, int rundir_fd, uid_t uid, pid_t *pid, struct zh_error *err)
{
	pid_t parent = getpid();
	int p[2], r;

	*pid = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	if ((*pid = fork()) == 0) {
		close(p[0]);
		child_main(listen_fd, rundir_fd, uid, parent, p[1]);
	}
	close(p[1]);
	r = *pid < 0 ? zh_error_set(err, errno, NULL, "fork: %m") : await_child(*pid, p[0], err);
	close(p[0]);
	if (r < 0)
		*pid = 0;
	return r;
}

/*
 * zlogin.c - `zlogin [-Q] [-l user] <uuid> [command [argument ...]]`: a
 * login shell or a command inside a running zone.
 *
 * Owns: the caller's side of a session: argument parsing, the checks that
 * the zone exists and runs, the caller's terminal (raw mode, restored on
 * every way out), the relay, signal forwarding and the exit status.  The
 * session process itself is zone_enter()'s (zone-enter.c, whose design
 * comment explains how it enters the zone and why nothing of the host can
 * be reached or overwritten from it).
 *
 *     zlogin 0f2c...              login shell on a pty from the zone's devpts
 *                                 (or zlogin's own when the zone has used all of
 *                                 its ptys: zone-enter.c)
 *     zlogin 0f2c... hostname     the command, exit status passed through
 *     echo hi | zlogin 0f2c... cat
 *
 * A pty is used exactly when stdin is a terminal.  Without one the session
 * gets three pipes of zlogin's own as its stdin, stdout and stderr, and
 * zlogin relays them to and from the caller's: no fd of the caller (a log
 * file it could truncate, a terminal, a pipe it could keep writing into
 * after zlogin returned) ever reaches the zone.  EOF on the caller's stdin
 * closes the session's; once the session has exited, its stdin is closed
 * and what it wrote is drained.  One command argument with
 * shell syntax in it ("ls -l | wc") runs as `/bin/sh -c ARG` in the zone,
 * as illumos zlogin runs every command through a shell; several arguments
 * are exec'd as they are.
 *
 * The relay is one bounded poll loop (buffers of RELAY_BUF per direction):
 * EINTR and EAGAIN retry, EOF or EIO on the session side ends that
 * direction, a dead output discards (so the session never blocks on us),
 * the caller's terminal hanging up sends SIGHUP to the session.  Signals
 * come through a signalfd: SIGWINCH resizes the zone's pty, SIGHUP,
 * SIGINT, SIGQUIT and SIGTERM are forwarded to the session.  When the
 * session exits, what it already wrote is drained and zlogin exits with
 * its status (128 + signal when it was killed).
 *
 * Exit status: the command's; 1 for an unknown or stopped zone or a failed
 * set-up; 2 for bad usage; 126/127 when the command cannot be run / is
 * not found in the zone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "cmdutil.h"
#include "macro.h"
#include "runstate.h"
#include "util.h"
#include "vm-view.h"
#include "vmstore.h"
#include "zone.h"

#define RELAY_BUF    16384
#define RELAY_CHANS  3
#define SHELL_SYNTAX " \t\n;&|<>()$`\\\"'*?[#~"

const char *program_name = "zlogin";

struct opts {
	const char *user;
	bool quiet;
	const char *uuid;
	char **argv; /* command, or NULL for a login shell */
	char *shell_argv[4];
};

struct chan {
	int in, out;
	bool eof;	  /* no more input */
	bool dead;	  /* output failed: discard */
	bool session_out; /* in is the session's output */
	bool owns_out;	  /* out is our pipe to the session: closed at EOF */
	size_t off, len;
	char buf[RELAY_BUF];
};

struct relay {
	struct chan ch[RELAY_CHANS];
	size_t n;
	int sigfd;
	int pidfd;  /* the session */
	int master; /* pty master, or -EBADF */
	bool exited;
};

static int usage(void)
{
	return cmd_die(EXIT_USAGE, "usage: zlogin [-Q] [-l user] <uuid> [command [argument ...]]");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "+l:Q")) != -1) {
		if (c == 'l')
			o->user = optarg;
		else if (c == 'Q')
			o->quiet = true;
		else
			return usage();
	}
	if (optind >= argc || (o->user && !*o->user))
		return usage();
	o->uuid = argv[optind++];
	if (optind == argc)
		return 0;
	o->argv = argv + optind;
	if (optind + 1 == argc && argv[optind][strcspn(argv[optind], SHELL_SYNTAX)]) {
		o->shell_argv[0] = "/bin/sh";
		o->shell_argv[1] = "-c";
		o->shell_argv[2] = argv[optind];
		o->argv = o->shell_argv;
	}
	return 0;
}

/* ---- is the zone there, and running? ---- */

static int no_such_zone(const char *uuid)
{
	return cmd_die(EXIT_ERR, "zlogin: %s: No such zone configured", uuid);
}

static int not_running(const char *uuid, const char *state)
{
	return cmd_die(EXIT_ERR, "zlogin: login allowed only to running zones (%s is '%s').", uuid,
		       state && *state ? state : "stopped");
}

/* 0 with the init pid when running, else the exit code (message printed). */
static int find_zone(const char *uuid, pid_t *pid)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct runstate rs = {0};
	_cleanup_pool_ struct pool *p = NULL;
	json_t *vm = NULL;
	int r = 0;

	if (!util_is_uuid_shape(uuid))
		return no_such_zone(uuid);
	runstate_read(uuid, &rs);
	if (rs.live && rs.state && streq(rs.state, "running")) {
		*pid = rs.pid;
		runstate_clear(&rs);
		return 0;
	}
	if (vmview_find(uuid, &p, &vm, &err) == -ENOENT) {
		zh_error_clear(&err);
		r = no_such_zone(uuid);
	} else if (err.errnum)
		r = cmd_fail(&err);
	else
		r = not_running(uuid, rs.live ? rs.state : "stopped");
	json_decref(vm);
	runstate_clear(&rs);
	return r;
}

/* zone_enter() failed: the zone stopped meanwhile, or another failure. */
static int enter_failed(const char *uuid, struct zh_error *err)
{
	struct runstate rs = {0};
	int code = EXIT_ERR;

	if (err->prop && streq(err->prop, "command"))
		code = err->errnum == ENOENT ? 127 : 126;
	if (err->errnum == ESRCH) {
		runstate_read(uuid, &rs);
		if (!rs.live || !rs.state || !streq(rs.state, "running")) {
			zh_error_clear(err);
			code = not_running(uuid, rs.live ? rs.state : "stopped");
		}
		runstate_clear(&rs);
	}
	if (err->errnum)
		cmd_fail(err);
	return code;
}

/* ---- the relay ---- */

static struct chan *chan_add(struct relay *r, int in, int out, bool session_out)
{
	struct chan *c = &r->ch[r->n++];

	c->in = in;
	c->out = out;
	c->session_out = session_out;
	return c;
}

/* Our pipe into the session: closed once its input ended and all of it went in. */
static void chan_finish(struct chan *c)
{
	if (c->owns_out && c->eof && !c->len && c->out >= 0) {
		close(c->out);
		c->out = -EBADF;
	}
}

/* The session exited: nothing more goes into it. */
static void session_exited(struct relay *r)
{
	r->exited = true;
	for (size_t i = 0; i < r->n; i++) {
		struct chan *c = &r->ch[i];

		if (!c->session_out) {
			c->eof = true;
			c->len = 0;
			chan_finish(c);
		}
	}
}

/* Read what is there into the empty buffer. */
static void chan_read(struct relay *r, struct chan *c)
{
	ssize_t n = read(c->in, c->buf, sizeof(c->buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EOF, or EIO: the pty's slave side is closed */
		c->eof = true;
		if (!c->session_out && r->master >= 0) /* caller's terminal hung up */
			syscall(SYS_pidfd_send_signal, r->pidfd, SIGHUP, NULL, 0);
		return;
	}
	c->off = 0;
	c->len = c->dead ? 0 : (size_t)n;
}

static void chan_write(struct chan *c)
{
	ssize_t n = write(c->out, c->buf + c->off, c->len - c->off);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->dead = true;
		c->len = 0;
		c->eof =
			c->eof || c->owns_out; /* the session closed its stdin: stop reading ours */
		return;
	}
	c->off += (size_t)n;
	if (c->off == c->len)
		c->off = c->len = 0;
}

static void on_signal(struct relay *r)
{
	struct signalfd_siginfo si;
	struct winsize ws;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			if (r->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				ioctl(r->master, TIOCSWINSZ, &ws);
		} else if (!r->exited) {
			syscall(SYS_pidfd_send_signal, r->pidfd, (int)si.ssi_signo, NULL, 0);
		}
	}
}

/* Nothing left to carry from the session: all its outputs ended and flushed. */
static bool session_done(const struct relay *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ch[i].session_out && (!r->ch[i].eof || r->ch[i].len))
			return false;
	return true;
}

static bool buffers_empty(const struct relay *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ch[i].len)
			return false;
	return true;
}

/* pollfds: per channel, its input (empty buffer) or its output (data); then signals, session. */
static nfds_t build_poll(const struct relay *r, struct pollfd *p, struct chan **who)
{
	nfds_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct chan *c = &r->ch[i];

		if (c->len) {
			p[n] = (struct pollfd){.fd = c->out, .events = POLLOUT};
			who[n++] = (struct chan *)c;
		} else if (!c->eof && (c->session_out || !r->exited)) {
			p[n] = (struct pollfd){.fd = c->in, .events = POLLIN};
			who[n++] = (struct chan *)c;
		}
	}
	who[n] = NULL;
	p[n++] = (struct pollfd){.fd = r->sigfd, .events = POLLIN};
	if (!r->exited) {
		who[n] = NULL;
		p[n++] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
	}
	return n;
}

/*
 * Until the session has exited and everything it wrote is out.  After the
 * exit, its outputs are drained without waiting (a background process that
 * keeps them open does not hold zlogin).
 */
static void relay_run(struct relay *r)
{
	struct pollfd p[RELAY_CHANS + 2];
	struct chan *who[RELAY_CHANS + 2];

	while (!(r->exited && session_done(r))) {
		nfds_t n = build_poll(r, p, who);
		int timeout = r->exited && buffers_empty(r) ? 0 : -1;
		int k = poll(p, n, timeout);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* exited, and nothing more is ready */
		for (nfds_t i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (who[i] && p[i].events == POLLOUT)
				chan_write(who[i]);
			else if (who[i])
				chan_read(r, who[i]);
			else if (p[i].fd == r->sigfd)
				on_signal(r);
			else
				session_exited(r);
		}
		for (size_t i = 0; i < r->n; i++)
			chan_finish(&r->ch[i]);
	}
}

/* ---- the session ---- */

static int signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sigdelset(&set, SIGPIPE);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Without a pty: the session's 0, 1 and 2 are pipes of ours (child_end[]
 * their session ends), relayed from our stdin and to our stdout/stderr.
 */
static int pipes_setup(struct zone_enter_spec *s, struct relay *r, int child_end[3])
{
	for (int fd = 0; fd <= 2; fd++) {
		int pp[2];

		if (pipe2(pp, O_CLOEXEC) < 0)
			return cmd_die(EXIT_ERR, "zlogin: pipe: %m");
		if (fd == STDIN_FILENO) {
			s->stdio[fd] = child_end[fd] = pp[0];
			set_nonblock(pp[1]);
			chan_add(r, STDIN_FILENO, pp[1], false)->owns_out = true;
		} else {
			s->stdio[fd] = child_end[fd] = pp[1];
			set_nonblock(pp[0]);
			chan_add(r, pp[0], fd, true);
		}
	}
	return 0;
}

/* Close our pipe ends (the pty master is the session's, closed with it). */
static void relay_close_pipes(struct relay *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct chan *c = &r->ch[i];

		if (c->session_out && c->in != r->master)
			closep(&c->in);
		if (c->owns_out)
			closep(&c->out);
	}
}

static void raw_mode(const struct termios *saved)
{
	struct termios t = *saved;

	cfmakeraw(&t);
	tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
}

/* "[Connected to zone 'U' pts/N]", or "... closed]"; a pty of zlogin's own is said so. */
static void banner(const char *uuid, int pts, bool closed)
{
	const char *verb = closed ? "\n[Connection to" : "[Connected to";

	if (pts >= 0)
		fprintf(stderr, "%s zone '%s' pts/%d%s]\n", verb, uuid, pts,
			closed ? " closed" : "");
	else
		fprintf(stderr,
			"%s zone '%s' on a pty of zlogin's own: the zone has none left%s]\n", verb,
			uuid, closed ? " closed" : "");
}

static int session_run(const struct opts *o, struct zone_enter_spec *s)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct zone_session zs;
	struct relay r = {.sigfd = -EBADF, .master = -EBADF};
	int child_end[3] = {-EBADF, -EBADF, -EBADF}, code = EXIT_ERR;

	if (!s->pty && pipes_setup(s, &r, child_end))
		return EXIT_ERR;
	if (zone_enter(s, &zs, &err) < 0) {
		for (int i = 0; i <= 2; i++)
			closep(&child_end[i]);
		relay_close_pipes(&r);
		return enter_failed(o->uuid, &err);
	}
	for (int i = 0; i <= 2; i++)
		closep(&child_end[i]);
	r.pidfd = zs.pidfd;
	r.sigfd = signals_block();
	if (s->pty) {
		r.master = zs.master_fd;
		set_nonblock(r.master);
		chan_add(&r, STDIN_FILENO, r.master, false);
		chan_add(&r, r.master, STDOUT_FILENO, true);
		if (!o->quiet)
			banner(o->uuid, zs.pts, false);
		raw_mode(s->termios);
	}
	if (r.sigfd >= 0)
		relay_run(&r);
	else
		fprintf(stderr, "zlogin: signalfd: %s\n", strerror(-r.sigfd));
	if (s->pty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, s->termios);
	if (zone_session_wait(&zs, &code, &err) < 0)
		code = cmd_fail(&err);
	if (s->pty && !o->quiet)
		banner(o->uuid, zs.pts, true);
	relay_close_pipes(&r);
	if (r.sigfd >= 0)
		close(r.sigfd);
	zone_session_close(&zs);
	return code;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct termios tio;
	struct winsize ws;
	pid_t pid = 0;
	int r;

	if ((r = parse_args(argc, argv, &o)) != 0 || (r = cmd_require_root()) != 0 ||
	    (r = find_zone(o.uuid, &pid)) != 0)
		return r;
	struct zone_enter_spec s = {
		.uuid = o.uuid,
		.init_pid = pid,
		.user = o.user,
		.argv = o.argv,
		.term = getenv("TERM"),
		.stdio = {-1, -1, -1}, /* pipes_setup()'s, never the caller's */
	};
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &tio) == 0) {
		s.pty = true;
		s.termios = &tio;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			s.winsize = &ws;
	}
	return session_run(&o, &s);
}

/*
 * vmadm-console.c - `vmadm console <uuid>`: attach to the zone's console
 * through zoneadmd's control socket (CTL_CONSOLE).  Ctrl-] (0x1d)
 * detaches; attach again any time.  On a tty the terminal is put in raw
 * mode (restored on the way out); with pipes, stdin's EOF detaches once the
 * zone has been quiet for a second, so `printf 'cmd\n' | vmadm console`
 * shows the answer.  Not running: `cannot connect to console when state
 * is "<state>" must be "running".`, exit 1.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>

#include "fsutil.h"
#include "cmdutil.h"
#include "ctl.h"
#include "jsonutil.h"
#include "runstate.h"
#include "vmadm.h"
#include "vm-view.h"
#include "vmstore.h"

#define DETACH_CHAR    0x1d
#define PIPE_LINGER_MS 1000

struct relay {
	int sock;
	bool tty, stdin_open, detached, closed;
};

static int check_running(const char *uuid)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	const char *st;

	if (vmview_find(uuid, &p, &vm, &err) < 0)
		return cmd_fail(&err);
	st = jsonutil_str(vm, "state");
	if (!st || !streq(st, "running"))
		return cmd_die(EXIT_ERR,
			       "cannot connect to console when state is \"%s\" must be "
			       "\"running\".",
			       st ? st : "unknown");
	return 0;
}

static void from_stdin(struct relay *r)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	char *esc;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		r->stdin_open = false;
		r->detached = r->tty;
		return;
	}
	esc = memchr(buf, DETACH_CHAR, (size_t)n);
	if (esc) {
		n = esc - buf;
		r->detached = true;
	}
	if (n > 0 && send(r->sock, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		r->closed = true;
}

static void from_zone(struct relay *r)
{
	char buf[8192];
	ssize_t n = recv(r->sock, buf, sizeof(buf), 0);

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0 || fsutil_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
		r->closed = true;
}

static void relay_loop(struct relay *r)
{
	while (!r->detached && !r->closed) {
		struct pollfd p[2] = {{.fd = r->sock, .events = POLLIN},
				      {.fd = r->stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		int n = poll(p, 2, r->stdin_open ? -1 : PIPE_LINGER_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* stdin is gone and the zone is quiet */
			return;
		if (p[0].revents)
			from_zone(r);
		if (p[1].revents && !r->closed)
			from_stdin(r);
	}
}

static int attach(const char *uuid)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct relay r = {.tty = isatty(STDIN_FILENO), .stdin_open = true};
	struct termios saved, raw;
	_cleanup_close_ int fd = ctl_connect(uuid, &err);

	if (fd < 0 || ctl_request(fd, CTL_CONSOLE, NULL, NULL, &err) < 0)
		return cmd_fail(&err);
	r.sock = fd;
	if (r.tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		r.tty = false;
	}
	fprintf(stderr, "[Connected to zone '%s' console]%s\n", uuid, r.tty ? "\r" : "");
	relay_loop(&r);
	if (r.tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fprintf(stderr, "\n[Connection to zone '%s' console closed]\n", uuid);
	return EXIT_OK;
}

int cmd_console(int argc, char **argv)
{
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_uuid_only(argc, argv, &uuid)) != 0)
		return r;
	if ((r = check_running(uuid)) != 0)
		return r;
	return attach(uuid);
}

/*
 * zoneadmd-console.c - the zone's console: a pty whose slave is the
 * zone's /dev/console (init's 0, 1, 2) and whose master zoneadmd keeps.
 *
 * Everything init writes is read here at once (so the zone never blocks
 * on its console), logged to <zonepath>/logs/console.log as JSON lines and
 * sent to every attached `vmadm console` client as one SEQPACKET record
 * per read.  A client that cannot take a record now loses it rather than
 * stall the zone or zoneadmd (docs/architecture.md §3: the guest controls the volume).
 * Client input is written to the master; the zone's tty line discipline
 * (cooked, echo) is the zone's own business.
 *
 * zoneadmd keeps the slave open too, so the master never reports EIO/HUP
 * when the zone closes its last console fd.  The slave is owned by the
 * zone's root (id_base), so the zone may reopen /dev/console.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <termios.h>

#include "zoneadmd.h"

#define CONSOLE_CHUNK 4096

int zad_console_open(struct zad *z, struct zh_error *err)
{
	char name[64];

	z->pty_master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (z->pty_master < 0)
		return zh_error_set(err, errno, NULL, "cannot open a console pty: %m");
	if (grantpt(z->pty_master) < 0 || unlockpt(z->pty_master) < 0 ||
	    ptsname_r(z->pty_master, name, sizeof(name)) != 0)
		return zh_error_set(err, errno, NULL, "cannot set up the console pty: %m");
	z->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (z->pty_slave < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", name);
	if (fchown(z->pty_slave, z->id_base, z->id_base) < 0)
		return zh_error_set(err, errno, NULL, "cannot chown %s: %m", name);
	return zad_watch(z, z->pty_master, ZT_PTY, EPOLLIN) < 0
		       ? zh_error_set(err, errno, NULL, "epoll: %m")
		       : 0;
}

static void relay_out(struct zad *z, const char *buf, size_t n)
{
	for (struct zad_client *c = z->clients; c; c = c->next)
		if (c->console && send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			continue; /* a slow client loses this record */
}

/* Read what the zone wrote: at most a few chunks per wake-up (fairness). */
void zad_console_read(struct zad *z)
{
	char buf[CONSOLE_CHUNK];

	for (int i = 0; i < 16; i++) {
		ssize_t n = read(z->pty_master, buf, sizeof(buf));

		if (n <= 0)
			return;
		zlog_console(&z->conlog, buf, (size_t)n);
		relay_out(z, buf, (size_t)n);
	}
}

/* One record from an attached client: bytes for the zone's console. */
void zad_console_input(struct zad *z, struct zad_client *c)
{
	char buf[CONSOLE_CHUNK];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		zad_client_close(z, c);
		return;
	}
	if (n > 0 && z->pty_master >= 0 && write(z->pty_master, buf, (size_t)n) < 0)
		return; /* the zone's tty is full: input is dropped, like a serial line */
}

void zad_console_close(struct zad *z)
{
	if (z->pty_master >= 0)
		zad_console_read(z); /* the last words of the zone */
	if (z->conlog.used)
		zlog_console(&z->conlog, "\n", 1);
	closep(&z->pty_master);
	closep(&z->pty_slave);
}

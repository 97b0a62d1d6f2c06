/*
 * zoneadmd-clients.c - the control socket's clients, as a list on the
 * state object (docs/architecture.md §16): add one, close
 * one or all, answer those waiting for a command (STOP, REBOOT).  The
 * command table that reads their requests is zoneadmd-ctl.c, above the
 * state machine; this list sits below it, so the state machine answers
 * waiters without calling up.
 *
 *     zad_client_add(z, fd);  ...  zad_reply_waiters(z, CTL_STOP, 0, out);
 */
#include <stdlib.h>
#include <sys/epoll.h>

#include "ctl.h"
#include "zoneadmd.h"

#define CLIENTS_MAX 64

int zad_client_add(struct zad *z, int fd)
{
	struct zad_client *c;
	int n = 0;

	for (c = z->clients; c; c = c->next)
		n++;
	c = n < CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
	if (!c || zad_watch(z, fd, ZT_CLIENT, EPOLLIN) < 0) {
		free(c);
		close(fd);
		return -EMFILE;
	}
	c->fd = fd;
	c->next = z->clients;
	z->clients = c;
	return 0;
}

void zad_client_close(struct zad *z, struct zad_client *c)
{
	struct zad_client **pp = &z->clients;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	epoll_ctl(z->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

void zad_clients_close_all(struct zad *z)
{
	while (z->clients)
		zad_client_close(z, z->clients);
}

void zad_reply_waiters(struct zad *z, uint16_t cmd, int32_t status, const json_t *payload)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	for (struct zad_client *c = z->clients; c; c = c->next) {
		if (c->waiting != cmd)
			continue;
		c->waiting = 0;
		ctl_send(c->fd, cmd, status, payload, &ignored);
		zh_error_clear(&ignored);
	}
}

/*
 * mdsrv-chan.c - the zoneadmd <-> metadata server datagrams (mdsrv-chan.h;
 * docs/architecture.md §23).  The sizes are known before a read
 * (MSG_PEEK | MSG_TRUNC), so a datagram is read whole into a buffer of
 * its size, never truncated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "mdsrv-chan.h"

int mdsrv_chan_send(int fd, const json_t *msg, int pass_fd)
{
	_cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (!text)
		return -ENOMEM;
	if (strlen(text) > MDSRV_CHAN_MAX)
		return -EMSGSIZE;
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

/* The fd passed with the datagram, or -1. */
static int take_fd(struct msghdr *mh)
{
	int fd = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			if (fd >= 0)
				close(fd);
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
		}
	return fd;
}

int mdsrv_chan_recv(int fd, json_t **msg, int *pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	_cleanup_free_ char *text = NULL;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	*msg = NULL;
	*pass_fd = -1;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (!(text = malloc((size_t)n + 1)))
		return -ENOMEM;
	iov.iov_base = text;
	iov.iov_len = (size_t)n + 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	*pass_fd = take_fd(&mh);
	if (n == 0) { /* EOF (no message is empty) */
		if (*pass_fd >= 0)
			close(*pass_fd);
		*pass_fd = -1;
		return -ECONNRESET;
	}
	*msg = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		if (*pass_fd >= 0)
			close(*pass_fd);
		*pass_fd = -1;
		return -EBADMSG;
	}
	return 0;
}

int mdsrv_chan_pair(int sv[2])
{
	int size = (int)MDSRV_CHAN_MAX + 65536;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0 &&
		    setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0) {
			close(sv[0]);
			close(sv[1]);
			return -errno;
		}
	return 0;
}

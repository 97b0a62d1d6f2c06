/*
 * net-sock.c - NETLINK_ROUTE sockets for net-vnic.c (host side) and
 * net-addr.c (zone side).  See net-vnic-internal.h.
 *
 * A socket stays bound to the network namespace it was created in, so a
 * zone-side socket is made by a short-lived thread that enters the zone's
 * namespace; the caller's own namespace is never left.
 */
#include <errno.h>
#include <fcntl.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "net-vnic-internal.h"

int net_nlerr(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_EXIST: return EEXIST;
	case NLE_NOMEM: return ENOMEM;
	case NLE_PERM: return EPERM;
	case NLE_BUSY: return EBUSY;
	case NLE_INVAL: return EINVAL;
	case NLE_RANGE: return ERANGE;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND: return ENODEV;
	case NLE_NOADDR: return EADDRNOTAVAIL;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
	default: return EIO;
	}
}

void net_sock_freep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
	*sk = NULL;
}

int net_sock_open(struct nl_sock **out, struct zh_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return zh_error_oom(err);
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return zh_error_set(err, net_nlerr(r), NULL, "netlink: %s", nl_geterror(r));
	}
	*out = sk;
	return 0;
}

static int open_ns(const char *path, int *fd, struct zh_error *err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return zh_error_set(err, errno == ENOENT ? ESRCH : errno, NULL,
				    "cannot open %s: %m", path);
	return 0;
}

/*
 * A netlink socket stays bound to the network namespace it was created in,
 * so it is created by a short-lived thread that enters the zone's
 * namespace (setns(CLONE_NEWNET) changes only the calling thread); the
 * caller's own namespace is never left, whatever fails.
 */
struct ns_sock_job {
	int nsfd;
	struct nl_sock *sk;
	struct zh_error err;
	int r;
};

static void *ns_sock_thread(void *arg)
{
	struct ns_sock_job *j = arg;

	if (setns(j->nsfd, CLONE_NEWNET) < 0)
		j->r = zh_error_set(&j->err, errno, NULL, "cannot enter the zone's network: %m");
	else
		j->r = net_sock_open(&j->sk, &j->err);
	return NULL;
}

int net_sock_open_pid(pid_t pid, struct nl_sock **out, struct zh_error *err)
{
	struct ns_sock_job j = {.nsfd = -EBADF, .err = ZH_ERROR_INIT};
	_cleanup_close_ int zone = -EBADF;
	char path[64];
	pthread_t t;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if ((r = open_ns(path, &zone, err)) < 0)
		return r;
	j.nsfd = zone;
	r = pthread_create(&t, NULL, ns_sock_thread, &j);
	if (r != 0)
		return zh_error_set(err, r, NULL, "cannot start a thread: %s", strerror(r));
	pthread_join(t, NULL);
	if (j.r < 0) {
		r = zh_error_set(err, j.err.errnum, j.err.prop, "%s", j.err.msg);
		zh_error_clear(&j.err);
		return r;
	}
	*out = j.sk;
	return 0;
}

/*
 * ctl.c - the zoneadmd control protocol: frame codec, client and server
 * socket helpers.  See ctl.h.
 *
 * Owns: the wire format and <run>/<uuid>/control.sock while zoneadmd
 * listens on it (zoneadmd unlinks it as it ends, runstate_finish()).  It
 * does not own the command semantics: zoneadmd's dispatch table does.
 *
 * Wire format (host byte order; both ends run on this host):
 *     struct ctl_hdr { magic "zhct", version 1, cmd, len, status }
 *     len bytes of compact JSON (an object; len 0 means {})
 * One frame per SOCK_SEQPACKET record, so a frame is never split or
 * merged; a record longer than the largest frame is rejected (MSG_TRUNC),
 * as is one whose header disagrees with its size (OpenBSD IMSG_SIZE_CHECK).
 *
 *     int fd = ctl_connect(uuid, &err);
 *     json_t *reply = NULL;
 *     ctl_request(fd, CTL_STATUS, NULL, &reply, &err);
 *
 * Invariants: ctl_decode() reads nothing beyond len and never trusts a
 * length it was sent; every fd is O_CLOEXEC; the server accepts root only.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>

#include "ctl.h"
#include "jsonutil.h"
#include "runstate.h"
#include "util.h"

#define CTL_FRAME_MAX  (sizeof(struct ctl_hdr) + CTL_PAYLOAD_MAX)
#define CTL_STATUS_MIN (-4095)

/* ---- codec ---- */

int ctl_encode(uint16_t cmd, int32_t status, const json_t *payload, void **buf, size_t *len,
	       struct zh_error *err)
{
	_cleanup_free_ char *js = NULL;
	struct ctl_hdr h = {
		.magic = CTL_MAGIC, .version = CTL_VERSION, .cmd = cmd, .status = status};
	size_t jl = 0;
	char *b;

	if (payload) {
		js = json_dumps(payload, JSON_COMPACT);
		if (!js)
			return zh_error_oom(err);
		jl = strlen(js);
	}
	if (jl > CTL_PAYLOAD_MAX)
		return zh_error_set(err, EMSGSIZE, NULL, "control message too large (%zu bytes)",
				    jl);
	h.len = (uint32_t)jl;
	b = malloc(sizeof(h) + jl);
	if (!b)
		return zh_error_oom(err);
	memcpy(b, &h, sizeof(h));
	if (jl)
		memcpy(b + sizeof(h), js, jl);
	*buf = b;
	*len = sizeof(h) + jl;
	return 0;
}

static int check_hdr(const struct ctl_hdr *h, size_t len, struct zh_error *err)
{
	if (h->magic != CTL_MAGIC)
		return zh_error_set(err, EBADMSG, NULL, "control message: bad magic");
	if (h->version != CTL_VERSION)
		return zh_error_set(err, EPROTONOSUPPORT, NULL,
				    "control message: version %u not supported", h->version);
	if (h->len > CTL_PAYLOAD_MAX)
		return zh_error_set(err, EMSGSIZE, NULL, "control message: payload too large");
	if ((size_t)h->len != len - sizeof(*h))
		return zh_error_set(err, EBADMSG, NULL, "control message: length mismatch");
	if (h->status > 0 || h->status < CTL_STATUS_MIN)
		return zh_error_set(err, EBADMSG, NULL, "control message: bad status");
	return 0;
}

int ctl_decode(const void *buf, size_t len, struct ctl_msg *out, struct zh_error *err)
{
	struct ctl_hdr h;
	json_t *j;
	int r;

	*out = (struct ctl_msg){0};
	if (!buf || len < sizeof(h))
		return zh_error_set(err, EBADMSG, NULL, "control message: short frame");
	memcpy(&h, buf, sizeof(h));
	r = check_hdr(&h, len, err);
	if (r < 0)
		return r;
	if (h.len == 0)
		j = json_object();
	else
		j = json_loadb((const char *)buf + sizeof(h), h.len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return zh_error_set(err, EBADMSG, NULL, "control message: bad JSON payload");
	if (!json_is_object(j)) {
		json_decref(j);
		return zh_error_set(err, EBADMSG, NULL,
				    "control message: payload is not an object");
	}
	out->cmd = h.cmd;
	out->status = h.status;
	out->payload = j;
	return 0;
}

void ctl_msg_clear(struct ctl_msg *m)
{
	json_decref(m->payload);
	*m = (struct ctl_msg){0};
}

/* ---- frames on a socket ---- */

int ctl_send(int fd, uint16_t cmd, int32_t status, const json_t *payload, struct zh_error *err)
{
	_cleanup_free_ void *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int r = ctl_encode(cmd, status, payload, &buf, &len, err);

	if (r < 0)
		return r;
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return zh_error_set(err, errno, NULL, "cannot send control message: %m");
	return 0;
}

int ctl_recv(int fd, struct ctl_msg *out, struct zh_error *err)
{
	_cleanup_free_ char *buf = malloc(CTL_FRAME_MAX);
	ssize_t n;

	*out = (struct ctl_msg){0};
	if (!buf)
		return zh_error_oom(err);
	do
		n = recv(fd, buf, CTL_FRAME_MAX, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return zh_error_set(err, errno, NULL, "cannot receive control message: %m");
	if (n == 0)
		return zh_error_set(err, ECONNRESET, NULL, "zoneadmd closed the connection");
	if ((size_t)n > CTL_FRAME_MAX)
		return zh_error_set(err, EMSGSIZE, NULL, "control message too large");
	return ctl_decode(buf, (size_t)n, out, err);
}

/* ---- addresses ---- */

/*
 * Fill addr with the socket path; a path longer than sun_path goes through
 * /proc/self/fd/<dirfd> of its directory (*dfd keeps it open).
 */
static int sock_addr(const char *uuid, struct sockaddr_un *a, int *dfd, struct zh_error *err)
{
	_cleanup_free_ char *path = runstate_path(uuid, "control.sock");
	_cleanup_free_ char *dir = runstate_dir(uuid);
	int n;

	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (!path || !dir)
		return zh_error_oom(err);
	if (strlen(path) < sizeof(a->sun_path)) {
		memcpy(a->sun_path, path, strlen(path) + 1);
		return 0;
	}
	*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return zh_error_set(err, errno == ENOENT ? ENOTCONN : errno, NULL,
				    "cannot open %s: %m", dir);
	n = snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/control.sock", *dfd);
	if (n < 0 || (size_t)n >= sizeof(a->sun_path))
		return zh_error_set(err, ENAMETOOLONG, NULL, "socket path too long");
	return 0;
}

int ctl_connect(const char *uuid, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	struct sockaddr_un a;
	int r = sock_addr(uuid, &a, &dfd, err);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create socket: %m");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return zh_error_set(err, ENOTCONN, NULL, "VM %s is not running", uuid);
		return zh_error_set(err, errno, NULL, "cannot connect to zoneadmd of %s: %m", uuid);
	}
	return TAKE_FD(fd);
}

static int reply_error(const struct ctl_msg *m, struct zh_error *err)
{
	const char *msg = jsonutil_str(m->payload, "error");

	if (msg)
		return zh_error_set(err, -m->status, NULL, "%s", msg);
	return zh_error_set(err, -m->status, NULL, "zoneadmd: %s", strerror(-m->status));
}

int ctl_request(int fd, uint16_t cmd, json_t *payload, json_t **reply, struct zh_error *err)
{
	_cleanup_json_ json_t *p = payload;
	struct ctl_msg m;
	int r = ctl_send(fd, cmd, 0, p, err);

	if (r < 0)
		return r;
	r = ctl_recv(fd, &m, err);
	if (r < 0)
		return r;
	if (m.cmd != cmd) {
		ctl_msg_clear(&m);
		return zh_error_set(err, EBADMSG, NULL, "zoneadmd answered another command");
	}
	if (m.status < 0)
		r = reply_error(&m, err);
	else if (reply)
		*reply = TAKE_PTR(m.payload);
	ctl_msg_clear(&m);
	return r;
}

int ctl_call(const char *uuid, uint16_t cmd, json_t *payload, json_t **reply, struct zh_error *err)
{
	_cleanup_json_ json_t *p = payload;
	_cleanup_close_ int fd = ctl_connect(uuid, err);

	if (fd < 0)
		return fd;
	return ctl_request(fd, cmd, TAKE_PTR(p), reply, err);
}

/* ---- server ---- */

int ctl_listen(const char *uuid, struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	struct sockaddr_un a;
	int r = sock_addr(uuid, &a, &dfd, err);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create socket: %m");
	unlink(a.sun_path); /* a stale socket of a zoneadmd that died */
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(a.sun_path, 0600) < 0 || listen(fd, 16) < 0)
		return zh_error_set(err, errno, NULL, "cannot listen on %s: %m", a.sun_path);
	return TAKE_FD(fd);
}

int ctl_accept(int lfd, struct zh_error *err)
{
	_cleanup_close_ int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cr;
	socklen_t cl = sizeof(cr);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "accept: %m");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return zh_error_set(err, errno, NULL, "SO_PEERCRED: %m");
	if (cr.uid != 0)
		return zh_error_set(err, EPERM, NULL, "control client pid %d uid %u refused",
				    (int)cr.pid, (unsigned)cr.uid);
	return TAKE_FD(fd);
}

/*
 * qmp.c - the QMP client (docs/architecture.md §22).
 *
 * QMP is newline-delimited JSON.  A message is read into a fixed buffer
 * of QMP_MAX_LINE bytes: a longer line is an error and the connection is
 * dropped, so a hostile QEMU costs zoneadmd at most that much memory.
 * Every read waits on poll() against one deadline per call; asynchronous
 * events that arrive before the reply are parsed and dropped.  Replies
 * carry no "id": commands are strictly one at a time.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "macro.h"
#include "qmp.h"

int qmp_parse(const char *line, size_t len, json_t **msg, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *v;
	static const struct {
		const char *key;
		int kind;
	} keys[] = {{"return", QMP_RETURN},
		    {"error", QMP_ERROR},
		    {"event", QMP_EVENT},
		    {"QMP", QMP_GREETING}};

	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		return zh_error_set(err, EPROTO, NULL, "QMP: a message that is not a JSON object");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!(v = json_object_get(j, keys[i].key)))
			continue;
		if (keys[i].kind == QMP_ERROR && !json_is_object(v))
			break;
		*msg = json_incref(keys[i].kind == QMP_EVENT ? j : v);
		return keys[i].kind;
	}
	return zh_error_set(err, EPROTO, NULL, "QMP: a message of no known kind");
}

/* ---- the socket ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for input until deadline; 0, -ETIMEDOUT or -errno. */
static int wait_in(int fd, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* The length of the first line in the buffer (without "\n"); -1 none yet. */
static ssize_t line_end(const struct qmp *q)
{
	const char *nl = memchr(q->buf, '\n', q->used);

	return nl ? nl - q->buf : -1;
}

static void drop_line(struct qmp *q, size_t n)
{
	memmove(q->buf, q->buf + n + 1, q->used - n - 1);
	q->used -= n + 1;
}

static int fill(struct qmp *q, int64_t deadline)
{
	ssize_t n;
	int r;

	if (q->used == sizeof(q->buf))
		return -EMSGSIZE;
	if ((r = wait_in(q->fd, deadline)) < 0)
		return r;
	n = recv(q->fd, q->buf + q->used, sizeof(q->buf) - q->used, MSG_DONTWAIT);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	q->used += (size_t)n;
	return 0;
}

static int io_error(int r, struct zh_error *err)
{
	if (r == -ETIMEDOUT)
		return zh_error_set(err, ETIMEDOUT, NULL, "QMP: no answer from QEMU in time");
	if (r == -EMSGSIZE)
		return zh_error_set(err, EMSGSIZE, NULL, "QMP: a message over %d bytes",
				    QMP_MAX_LINE);
	if (r == -EPIPE)
		return zh_error_set(err, EPIPE, NULL, "QMP: QEMU closed the connection");
	return zh_error_set(err, -r, NULL, "QMP: %s", strerror(-r));
}

/* The next message that is not an event: its kind, *msg its object. */
static int next_msg(struct qmp *q, int64_t deadline, json_t **msg, struct zh_error *err)
{
	for (;;) {
		ssize_t n = line_end(q);
		int r;

		if (n < 0) {
			if ((r = fill(q, deadline)) < 0)
				return io_error(r, err);
			continue;
		}
		r = qmp_parse(q->buf, (size_t)n, msg, err);
		drop_line(q, (size_t)n);
		if (r != QMP_EVENT)
			return r;
		json_decref(*msg);
	}
}

static int send_cmd(struct qmp *q, const char *cmd, json_t *args, struct zh_error *err)
{
	_cleanup_json_ json_t *j = json_pack("{s:s}", "execute", cmd);
	_cleanup_free_ char *s = NULL;
	size_t len;

	if (!j || (args && json_object_set(j, "arguments", args) < 0) ||
	    !(s = json_dumps(j, JSON_COMPACT)))
		return zh_error_oom(err);
	len = strlen(s);
	s[len] = '\n'; /* replaces the NUL: sent as one line */
	if (send(q->fd, s, len + 1, MSG_NOSIGNAL) != (ssize_t)len + 1)
		return zh_error_set(err, errno ? errno : EIO, NULL, "QMP: cannot send %s: %m", cmd);
	return 0;
}

static int execute_until(struct qmp *q, const char *cmd, json_t *args, int64_t deadline,
			 json_t **ret, struct zh_error *err)
{
	_cleanup_json_ json_t *m = NULL;
	int r = send_cmd(q, cmd, args, err);

	if (r < 0 || (r = next_msg(q, deadline, &m, err)) < 0)
		return r;
	if (r == QMP_ERROR) {
		const char *d = jsonutil_str(m, "desc");

		return zh_error_set(err, EIO, NULL, "QMP %s: %.200s", cmd, d ? d : "error");
	}
	if (r != QMP_RETURN)
		return zh_error_set(err, EPROTO, NULL, "QMP %s: an unexpected answer", cmd);
	if (ret)
		*ret = TAKE_PTR(m);
	return 0;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret,
		struct zh_error *err)
{
	return execute_until(q, cmd, args, now_ms() + timeout_ms, ret, err);
}

static int connect_unix(const char *path, struct zh_error *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return zh_error_set(err, ENAMETOOLONG, NULL, "QMP socket path too long: %s", path);
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return zh_error_set(err, errno, NULL, "socket: %m");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return zh_error_set(err, e, NULL, "cannot connect to %s: %s", path, strerror(e));
	}
	return fd;
}

int qmp_open(struct qmp *q, const char *path, int timeout_ms, struct zh_error *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	_cleanup_json_ json_t *m = NULL;
	int r;

	q->used = 0;
	if ((q->fd = connect_unix(path, err)) < 0)
		return q->fd;
	if ((r = next_msg(q, deadline, &m, err)) >= 0 && r != QMP_GREETING)
		r = zh_error_set(err, EPROTO, NULL, "QMP: no greeting");
	if (r >= 0)
		r = execute_until(q, "qmp_capabilities", NULL, deadline, NULL, err);
	if (r < 0)
		qmp_close(q);
	return r < 0 ? r : 0;
}

void qmp_close(struct qmp *q)
{
	closep(&q->fd);
	q->fd = -EBADF;
}

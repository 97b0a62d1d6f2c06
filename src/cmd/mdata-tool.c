/*
 * mdata-tool.c - mdata-get, mdata-put, mdata-delete and mdata-list, one
 * static binary dispatching on argv[0] (docs/architecture.md §23).
 *
 * Owns: the transport and the retries of the guest tools.  The socket
 * /.zonecontrol/metadata.sock (or /native/.zonecontrol/metadata.sock, lx)
 * when it exists, else the serial line /dev/ttyS1: locked, raw, drained,
 * reset with a bare LF answered "invalid command" within 2 s.  Then
 * NEGOTIATE V2 (6 s), one request (45 s on V2); a timeout resets and
 * retries, forever, as mdata-client does.  ZH_MDATA_SOCKET and
 * ZH_MDATA_SERIAL name another socket or serial device (tests); an empty
 * ZH_MDATA_SOCKET skips the sockets (the serial line is used).
 *
 *     mdata-get sdc:hostname        0 found, 1 not found, 2 error, 3 usage
 *     echo v | mdata-put key        mdata-list        mdata-delete key
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "mdata-client.h"

#define LINE_MAX_BYTES (16 * 1024 * 1024) /* a reply line we still read */
#define VALUE_MAX      (16 * 1024 * 1024)

enum { EX_FOUND = 0, EX_NOTFOUND = 1, EX_ERROR = 2, EX_USAGE = 3 };

struct conn {
	int fd;
	bool serial;
	char buf[4096];
	size_t len;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Raw mode as mdata-client sets it: no translation, no echo, reads return after 100 ms. */
static int serial_raw(int fd)
{
	struct termios t;
	char junk[256];

	if (tcgetattr(fd, &t) < 0)
		return -1;
	t.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	t.c_cflag &= ~(tcflag_t)HUPCL;
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 1;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return -1;
	while (read(fd, junk, sizeof(junk)) > 0)
		; /* drain what an earlier session left */
	return 0;
}

static int open_serial(const char *path)
{
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDWR | O_EXCL | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETLKW, &lk) < 0 || serial_raw(fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open the transport: a socket when one exists, else the serial line. */
static int conn_open(struct conn *c, const char **why)
{
	static const char *const socks[] = {"/.zonecontrol/metadata.sock",
					    "/native/.zonecontrol/metadata.sock"};
	const char *env = getenv("ZH_MDATA_SOCKET"), *tty = getenv("ZH_MDATA_SERIAL");

	c->len = 0;
	c->serial = false;
	for (size_t i = 0; !env && i < sizeof(socks) / sizeof(socks[0]); i++)
		if (access(socks[i], F_OK) == 0)
			env = socks[i];
	if (env && *env) { /* ZH_MDATA_SOCKET="": the serial line even where a socket is */
		c->fd = open_socket(env);
		*why = "Could not connect to metadata socket.";
		return c->fd;
	}
	c->serial = true;
	c->fd = open_serial(tty ? tty : "/dev/ttyS1");
	*why = "Could not open serial device.";
	return c->fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Move one line out of the read buffer into line (without its LF): 1, or 0 when none yet. */
static int take_line(struct conn *c, struct mdata_buf *line)
{
	char *lf = memchr(c->buf, '\n', c->len);
	size_t n = lf ? (size_t)(lf - c->buf) : c->len;

	if (line->len + n > LINE_MAX_BYTES || mdata_buf_append(line, c->buf, n) < 0)
		return -EIO;
	memmove(c->buf, c->buf + n + (lf ? 1 : 0), c->len - n - (lf ? 1 : 0));
	c->len -= n + (lf ? 1 : 0);
	return lf ? 1 : 0;
}

/* Read one line within timeout_ms: 0, -ETIMEDOUT, -EIO. */
static int read_line(struct conn *c, struct mdata_buf *line, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int r;

	line->len = 0;
	while ((r = take_line(c, line)) == 0) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -EIO;
		if (n == 0 && !c->serial)
			return -EIO;
		c->len += n > 0 ? (size_t)n : 0;
	}
	return r < 0 ? r : 0;
}

static bool line_is(const struct mdata_buf *l, const char *s)
{
	return l->len == strlen(s) && memcmp(l->data, s, l->len) == 0;
}

/* Reset (serial only) and negotiate: 0 with *v2, or -ETIMEDOUT/-EIO. */
static int session_start(struct conn *c, bool *v2)
{
	struct mdata_buf l = {0};
	int r = 0;

	if (c->serial) {
		r = send_all(c->fd, "\n", 1);
		while (r == 0 && (r = read_line(c, &l, 2000)) == 0 &&
		       !line_is(&l, "invalid command"))
			;
	}
	if (r == 0)
		r = send_all(c->fd, "NEGOTIATE V2\n", 13);
	if (r == 0)
		r = read_line(c, &l, 6000);
	*v2 = r == 0 && line_is(&l, "V2_OK");
	mdata_buf_free(&l);
	return r;
}

/* A random request id: 8 lowercase hex digits (getrandom, else the clock). */
static void new_reqid(char id[9])
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)now_ms() * 2654435761u;
	snprintf(id, 9, "%08x", (unsigned)v);
}

/* One V2 request: 0 and *a, or -ETIMEDOUT/-EIO. */
static int request_v2(struct conn *c, const char *cmd, const char *p, size_t n,
		      struct mdata_answer *a)
{
	struct mdata_buf out = {0}, l = {0};
	char id[9];
	int r;

	new_reqid(id);
	r = mdata_client_request(&out, id, cmd, p, n) < 0 ? -EIO
							  : send_all(c->fd, out.data, out.len);
	while (r == 0 && (r = read_line(c, &l, 45000)) == 0 &&
	       (r = mdata_client_parse(l.data ? l.data : "", l.len, id, a)) == -EAGAIN)
		r = 0;
	mdata_buf_free(&out);
	mdata_buf_free(&l);
	return r;
}

/* One V1 request ("<cmd>[ <arg>]"): 0 and *a, or -ETIMEDOUT/-EIO. */
static int request_v1(struct conn *c, const char *cmd, const char *arg, struct mdata_answer *a)
{
	struct mdata_buf l = {0}, body = {0};
	char req[4096];
	int r;

	snprintf(req, sizeof(req), "%s%s%s\n", cmd, arg ? " " : "", arg ? arg : "");
	r = send_all(c->fd, req, strlen(req));
	if (r == 0)
		r = read_line(c, &l, 6000);
	if (r == 0 && line_is(&l, "SUCCESS")) {
		while ((r = read_line(c, &l, 6000)) == 0 &&
		       (r = mdata_client_v1_line(l.data ? l.data : "", l.len, &body)) == 0)
			;
		r = r == 1 ? mdata_answer_set(a, MDATA_SUCCESS, body.data,
					      body.len ? body.len - 1 : 0)
			   : r;
	} else if (r == 0) {
		r = mdata_answer_set(a, line_is(&l, "NOTFOUND") ? MDATA_NOTFOUND : MDATA_FAILURE,
				     NULL, 0);
	}
	mdata_buf_free(&l);
	mdata_buf_free(&body);
	return r;
}

struct call {
	const char *cmd; /* GET KEYS PUT DELETE */
	const char *key;
	const char *val;
	size_t len;
};

/* One attempt: 0 with *a (or *v1_refused when the host speaks V1 only), -ETIMEDOUT/-EIO. */
static int attempt(struct conn *c, const struct call *k, struct mdata_answer *a, bool *v1_refused)
{
	struct mdata_buf pl = {0};
	bool v2 = false;
	int r = session_start(c, &v2);

	if (r < 0)
		return r;
	if (!v2 && (k->val || strcmp(k->cmd, "DELETE") == 0)) {
		*v1_refused = true;
		return 0;
	}
	if (!v2)
		return request_v1(c, k->cmd, k->key, a);
	if (k->val && mdata_client_put_payload(&pl, k->key, k->val, k->len) < 0)
		return -EIO;
	if (!k->val && k->key && mdata_buf_append(&pl, k->key, strlen(k->key)) < 0)
		return -EIO;
	r = request_v2(c, k->cmd, pl.data, pl.len, a);
	mdata_buf_free(&pl);
	return r;
}

/* Run the call to completion, resetting on a timeout: 0 and *a, or an exit code. */
static int call_run(const struct call *k, struct mdata_answer *a, bool *v1_refused)
{
	for (;;) {
		struct conn c = {.fd = -1};
		const char *why = "";
		int r;

		if (conn_open(&c, &why) < 0) {
			fprintf(stderr, "ERROR: could not initialise protocol: %s\n", why);
			return EX_ERROR;
		}
		r = attempt(&c, k, a, v1_refused);
		close(c.fd);
		if (r == 0)
			return 0;
		fprintf(stderr, "receive timeout, resetting protocol...\n");
		sleep(1);
	}
}

/* Print a value with a newline appended if it has none. */
static void print_value(const struct mdata_answer *a)
{
	fwrite(a->data, 1, a->len, stdout);
	if (a->len == 0 || a->data[a->len - 1] != '\n')
		putchar('\n');
}

/* The exit code of answer a, printing what the tool prints. */
static int finish(const char *tool, const struct call *k, struct mdata_answer *a)
{
	if (a->code == MDATA_SUCCESS) {
		if (strcmp(k->cmd, "GET") == 0 || strcmp(k->cmd, "KEYS") == 0)
			print_value(a);
		return EX_FOUND;
	}
	if (a->code == MDATA_NOTFOUND) {
		if (strcmp(k->cmd, "GET") == 0)
			fprintf(stderr, "No metadata for '%s'\n", k->key);
		else if (strcmp(k->cmd, "KEYS") == 0)
			fprintf(stderr, "No metadata\n");
		return EX_NOTFOUND;
	}
	fprintf(stderr, "Error %s: %.*s\n", tool, (int)a->len, a->data ? a->data : "");
	return EX_ERROR;
}

/* mdata-put's value from stdin (refused when stdin is a terminal). */
static char *read_stdin(size_t *len)
{
	struct mdata_buf b = {0};
	char buf[4096];
	ssize_t n;

	if (isatty(0)) {
		fprintf(stderr, "ERROR: either specify the metadata value as the second "
				"command-line argument, or pipe content to stdin.\n");
		return NULL;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (b.len + (size_t)n > VALUE_MAX || mdata_buf_append(&b, buf, (size_t)n) < 0) {
			fprintf(stderr, "ERROR: value too large\n");
			mdata_buf_free(&b);
			return NULL;
		}
	}
	*len = b.len;
	if (mdata_buf_append(&b, "", 1) < 0) {
		mdata_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static const struct {
	const char *name, *cmd, *usage;
	int min_args, max_args;
} tools[] = {
	{"mdata-get", "GET", "<keyname>", 1, 1},
	{"mdata-list", "KEYS", "", 0, 0},
	{"mdata-put", "PUT", "<keyname> [ <value> ]", 1, 2},
	{"mdata-delete", "DELETE", "<keyname>", 1, 1},
};

static int run_tool(size_t t, int argc, char **argv)
{
	struct call k = {tools[t].cmd, argc > 1 ? argv[1] : NULL, NULL, 0};
	struct mdata_answer a = {0};
	bool v1_refused = false;
	char *in = NULL;
	int r;

	if (strcmp(k.cmd, "PUT") == 0) {
		k.val = argc > 2 ? argv[2] : (in = read_stdin(&k.len));
		if (!k.val)
			return EX_USAGE;
		k.len = argc > 2 ? strlen(argv[2]) : k.len;
	}
	r = call_run(&k, &a, &v1_refused);
	if (r == 0 && v1_refused) {
		fprintf(stderr, "ERROR: host does not support %s\n", k.cmd);
		r = EX_ERROR;
	} else if (r == 0) {
		r = finish(tools[t].name, &k, &a);
	}
	mdata_answer_clear(&a);
	free(in);
	return r;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		if (strcmp(name, tools[t].name) != 0)
			continue;
		if (argc - 1 < tools[t].min_args || argc - 1 > tools[t].max_args) {
			fprintf(stderr, "Usage: %s %s\n", name, tools[t].usage);
			return EX_USAGE;
		}
		return run_tool(t, argc, argv);
	}
	fprintf(stderr, "%s: call me as mdata-get, mdata-put, mdata-delete or mdata-list\n", name);
	return EX_USAGE;
}

/*
 * test-mdsrv.c - the metadata server's loop (docs/architecture.md §23)
 * without a zone: mdsrv_run() in a child, its filter loaded, driven over
 * its channel as zoneadmd drives it, with socketpairs for transports.
 * The view, a V1 GET, a V2 PUT deferred until "done" (and a refused one),
 * the token bucket delaying (never failing) a burst past it, the
 * connection bound evicting the oldest idle client, and the end at EOF.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mdata-wire.h"
#include "mdsrv-chan.h"
#include "mdsrv.h"
#include "tap.h"

static int chan;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next channel message (waiting up to 5 s), or NULL. */
static json_t *next_msg(void)
{
	struct pollfd p = {.fd = chan, .events = POLLIN};
	json_t *m = NULL;
	int fd = -1;

	if (poll(&p, 1, 5000) != 1 || mdsrv_chan_recv(chan, &m, &fd) < 0)
		return NULL;
	if (fd >= 0)
		close(fd);
	return m;
}

static const char *op_of(const json_t *m)
{
	return json_string_value(json_object_get(m, "op"));
}

/* Read until want bytes ended by an LF came, or 5 s passed. */
static size_t read_reply(int fd, char *buf, size_t len, const char *end)
{
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (got < len - 1 && poll(&p, 1, 5000) == 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, end))
			break;
	}
	buf[got] = '\0';
	return got;
}

/* A new client: one end handed to the server as its serial line. */
static int serial_client(void)
{
	int sv[2];
	json_t *m = json_pack("{s:s}", "op", "serial");

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	mdsrv_chan_send(chan, m, sv[1]);
	json_decref(m);
	close(sv[1]);
	return sv[0];
}

static void test_get_and_put(int c)
{
	struct mdata_buf req = {0};
	char buf[4096];
	json_t *m, *done;

	write(c, "GET color\n", 10);
	read_reply(c, buf, sizeof(buf), "\n.\n");
	is_str(buf, "SUCCESS\nblue\n.\n", "V1 GET from the view");
	write(c, "NEGOTIATE V2\n", 13);
	read_reply(c, buf, sizeof(buf), "\n");
	is_str(buf, "V2_OK\n", "negotiated");
	mdata_v2_format(&req, "0a1b2c3d", "PUT", "Zm9v YmFy", 9); /* foo=bar */
	write(c, req.data, req.len);
	m = next_msg();
	ok(m && strcmp(op_of(m), "put") == 0 &&
		   strcmp(json_string_value(json_object_get(m, "key")), "foo") == 0 &&
		   strcmp(json_string_value(json_object_get(m, "value")), "bar") == 0,
	   "the PUT reaches zoneadmd as key and value");
	ok(read_reply(c, buf, sizeof(buf), "\n") == 0 || !strchr(buf, '\n'),
	   "no answer before zoneadmd's");
	done = json_pack("{s:s,s:O,s:b}", "op", "done", "id", json_object_get(m, "id"), "ok", 1);
	mdsrv_chan_send(chan, done, -1);
	json_decref(done);
	read_reply(c, buf, sizeof(buf), "\n");
	is_str(buf, "V2 21 0599de6f 0a1b2c3d SUCCESS T0s=\n", "answered once done");
	json_decref(m);
	req.len = 0;
	mdata_v2_format(&req, "0a1b2c3e", "PUT", "c2RjOmEgYg==", 12); /* sdc:a=b */
	write(c, req.data, req.len);
	read_reply(c, buf, sizeof(buf), "\n");
	ok(strstr(buf, " 0a1b2c3e FAILURE ") != NULL, "sdc: refused by the server itself");
	mdata_buf_free(&req);
}

/* 450 pipelined GETs: all answered right, the 50 past the burst of 400 at 200/s. */
static void test_bucket(int c)
{
	static char buf[1 << 16];
	size_t got = 0, sent = 0;
	double t0 = now();

	while (got < 450 * 15) {
		struct pollfd p = {.fd = c, .events = POLLIN | (sent < 450 ? POLLOUT : 0)};
		ssize_t r;

		if (poll(&p, 1, 5000) != 1)
			break;
		if ((p.revents & POLLOUT) && write(c, "GET color\n", 10) == 10)
			sent++;
		if ((p.revents & POLLIN) && (r = read(c, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	}
	is_int((long)got, 450 * 15, "every request answered (15 bytes each: SUCCESS blue)");
	ok(now() - t0 > 0.2, "the 50 past the burst were delayed (%.3f s)", now() - t0);
}

/* EOF on fd within 5 s (not a timeout). */
static bool closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	return poll(&p, 1, 5000) == 1 && read(fd, &b, 1) == 0;
}

/* Past MDSRV_CONNS clients, the oldest idle one is closed for the new one. */
static void test_eviction(void)
{
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int cl[MDSRV_CONNS + 1];
	json_t *m = json_pack("{s:s}", "op", "listen");
	char buf[64];

	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "zh-test-mdsrv-%d", (int)getpid());
	ok(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 64) == 0, "listening");
	mdsrv_chan_send(chan, m, l);
	json_decref(m);
	close(l);
	for (int i = 0; i <= MDSRV_CONNS; i++) {
		cl[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		connect(cl[i], (struct sockaddr *)&a, sizeof(a));
		usleep(i == 0 ? 20000 : 2000);
	}
	ok(closed(cl[0]), "the oldest idle client was closed");
	write(cl[MDSRV_CONNS], "GET color\n", 10);
	read_reply(cl[MDSRV_CONNS], buf, sizeof(buf), "\n.\n");
	is_str(buf, "SUCCESS\nblue\n.\n", "the newest one is served");
	for (int i = 0; i <= MDSRV_CONNS; i++)
		close(cl[i]);
}

int main(void)
{
	int sv[2], st = -1, c;
	pid_t pid;
	json_t *m;

	signal(SIGPIPE, SIG_IGN);
	if (mdsrv_chan_pair(sv) < 0)
		tap_skip_all("no socketpair");
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(mdsrv_run(&(struct mdsrv_opts){.chan_fd = sv[1]}));
	}
	close(sv[1]);
	chan = sv[0];
	m = next_msg();
	ok(m && strcmp(op_of(m), "ready") == 0, "the server says ready");
	json_decref(m);
	m = json_pack("{s:s,s:{s:s,s:{s:s}}}", "op", "vm", "vm", "uuid",
		      "7a1c2d3e-0000-4000-8000-000000000001", "customer_metadata", "color", "blue");
	mdsrv_chan_send(chan, m, -1);
	json_decref(m);
	c = serial_client();
	test_get_and_put(c);
	test_bucket(c);
	close(c);
	test_eviction();
	close(chan);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server ends at the channel's EOF (%d)", st);
	return tap_done();
}

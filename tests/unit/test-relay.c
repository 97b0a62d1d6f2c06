/*
 * test-relay.c - pipe-relay.h on real pipes, socket pairs and files: the
 * splice/tee paths and every fallback to read()/write() carry the same
 * bytes, and a short input is reported as such.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pipe-relay.h"
#include "tap.h"

#define LEN 300000

static char *pattern(size_t n)
{
	char *b = malloc(n);

	for (size_t i = 0; b && i < n; i++)
		b[i] = (char)(i * 7 + i / 251);
	return b;
}

/* Everything readable from fd now (fd made non-blocking). */
static size_t drain(int fd, char *out, size_t max)
{
	size_t got = 0;
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < max && (n = read(fd, out + got, max - got)) > 0)
		got += (size_t)n;
	return got;
}

static void test_send_pipe(void)
{
	int src[2], out[2];
	char *data = pattern(LEN), *buf = malloc(LEN), *got = malloc(LEN);
	struct relay rl;
	size_t total = 0;
	ssize_t t;

	ok(pipe(src) == 0 && pipe(out) == 0, "pipes");
	fcntl(src[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	ok(write(src[1], data, LEN) == LEN, "fill source");
	close(src[1]);
	ok(relay_open(&rl, fcntl(src[0], F_GETPIPE_SZ)) == 0, "relay_open");
	while ((t = relay_send_take(&rl, src[0], buf, 1 << 20)) > 0) {
		ok(memcmp(buf, data + total, (size_t)t) == 0, "take: the bytes at %zu", total);
		ok(relay_send_pass(&rl, src[0], out[1], buf, (size_t)t) == 0, "pass %zd", t);
		total += (size_t)t;
	}
	is_int(t, 0, "EOF");
	is_int(total, LEN, "all taken");
	ok(!rl.copy, "spliced, not copied");
	ok(drain(out[0], got, LEN) == LEN && memcmp(got, data, LEN) == 0, "out has the bytes");
	relay_close(&rl);
	close(src[0]);
	close(out[0]);
	close(out[1]);
	free(data);
	free(buf);
	free(got);
}

static void test_send_append_file(void)
{
	char path[] = "/tmp/zh-test-relay-XXXXXX";
	int src[2], fd = mkstemp(path), afd;
	char *data = pattern(5000), buf[8192], got[8192];
	struct relay rl;
	ssize_t t;

	afd = open(path, O_WRONLY | O_APPEND);
	ok(fd >= 0 && afd >= 0 && pipe(src) == 0, "file and pipe");
	ok(write(src[1], data, 5000) == 5000, "fill source");
	close(src[1]);
	relay_open(&rl, 65536);
	t = relay_send_take(&rl, src[0], buf, sizeof(buf));
	is_int(t, 5000, "take");
	is_int(relay_send_pass(&rl, src[0], afd, buf, (size_t)t), 0, "pass to an O_APPEND file");
	ok(rl.copy, "fell back to write()");
	is_int(relay_send_take(&rl, src[0], buf, sizeof(buf)), 0, "source consumed");
	ok(pread(fd, got, sizeof(got), 0) == 5000 && memcmp(got, data, 5000) == 0, "file content");
	relay_close(&rl);
	close(src[0]);
	close(afd);
	close(fd);
	unlink(path);
	free(data);
}

static void test_recv_pipe(void)
{
	int in[2], out[2];
	char *data = pattern(LEN), *buf = malloc(LEN), *got = malloc(LEN);
	struct relay rl;

	ok(pipe(in) == 0 && pipe(out) == 0, "pipes");
	fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	ok(write(in[1], data, LEN) == LEN, "fill input");
	ok(relay_open(&rl, 1 << 20) == 0, "relay_open");
	is_int(relay_recv_take(&rl, in[0], buf, 100000), 1, "first 100000 kept in the pipe");
	ok(memcmp(buf, data, 100000) == 0, "and copied");
	is_int(relay_recv_pass(&rl, out[1], 99000, 100000), 0, "pass 99000, drop 1000");
	is_int(relay_recv_take(&rl, in[0], buf, 200000), 1, "next 200000");
	ok(memcmp(buf, data + 100000, 200000) == 0, "the right bytes");
	is_int(relay_recv_pass(&rl, out[1], 200000, 200000), 0, "pass all");
	ok(drain(out[0], got, LEN) == 299000, "out has 299000");
	ok(memcmp(got, data, 99000) == 0 && memcmp(got + 99000, data + 100000, 200000) == 0,
	   "in order, the dropped bytes left out");
	ok(write(in[1], data, 10) == 10, "10 more");
	close(in[1]);
	is_int(relay_recv_take(&rl, in[0], buf, 512), -EPIPE, "a short input is -EPIPE");
	relay_close(&rl);
	close(in[0]);
	close(out[0]);
	close(out[1]);
	free(data);
	free(buf);
	free(got);
}

/* Three small datagrams of a stream socket: three pipe buffers, hold has two. */
static void test_recv_hold_full(void)
{
	int sp[2], out[2];
	char *data = pattern(300), buf[512], got[512];
	struct relay rl;

	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 && pipe(out) == 0, "socketpair");
	for (int i = 0; i < 3; i++)
		ok(send(sp[1], data + 100 * i, 100, 0) == 100, "send %d", i);
	ok(relay_open(&rl, 8192) == 0, "relay_open");
	is_int(fcntl(rl.hold[1], F_GETPIPE_SZ), 8192, "hold of two pages");
	is_int(relay_recv_take(&rl, sp[0], buf, 300), 0, "hold full: copied instead");
	ok(memcmp(buf, data, 300) == 0, "the same bytes");
	ok(send(sp[1], data, 200, 0) == 200, "then a bigger piece");
	is_int(relay_recv_take(&rl, sp[0], buf, 200), 1, "kept in the pipe again");
	is_int(relay_recv_pass(&rl, out[1], 200, 200), 0, "pass");
	ok(drain(out[0], got, sizeof(got)) == 200 && memcmp(got, data, 200) == 0, "out");
	relay_close(&rl);
	close(sp[0]);
	close(sp[1]);
	close(out[0]);
	close(out[1]);
	free(data);
}

static void test_recv_file(void)
{
	char path[] = "/tmp/zh-test-relay-XXXXXX";
	int fd = mkstemp(path), out[2];
	char *data = pattern(LEN), *buf = malloc(1 << 21), *got = malloc(LEN);
	struct relay rl;

	ok(fd >= 0 && write(fd, data, LEN) == LEN && lseek(fd, 0, SEEK_SET) == 0, "file");
	ok(pipe(out) == 0, "pipe");
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	relay_open(&rl, 1 << 20);
	is_int(relay_recv_take(&rl, fd, buf, LEN), 1, "spliced from the file");
	ok(memcmp(buf, data, LEN) == 0, "the bytes");
	is_int(relay_recv_pass(&rl, out[1], LEN, LEN), 0, "pass");
	ok(drain(out[0], got, LEN) == LEN && memcmp(got, data, LEN) == 0, "out");
	is_int(relay_recv_take(&rl, fd, buf, 1 << 21), -EPIPE, "more than the relay holds, at EOF");
	relay_close(&rl);
	close(fd);
	close(out[0]);
	close(out[1]);
	unlink(path);
	free(data);
	free(buf);
	free(got);
}

int main(void)
{
	test_send_pipe();
	test_send_append_file();
	test_recv_pipe();
	test_recv_hold_full();
	test_recv_file();
	return tap_done();
}

/*
 * test-vnc.c - VNC on TCP for hardware VMs (vnc.h, docs/architecture.md
 * §22): the listen address setting, vnc_port, the `vmadm info vnc`
 * answer, and the relay's loop on unix sockets (no network): bytes both
 * ways unchanged through its bounded buffers, half-close passed on, the
 * client limit, a missing QEMU socket.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "paths.h"
#include "tap.h"
#include "vnc.h"

static void test_addr(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct sockaddr_storage sa;
	socklen_t len = 0;

	is_int(vnc_addr_parse("127.0.0.1", 5901, &sa, &len, &err), 0, "IPv4 literal");
	ok(sa.ss_family == AF_INET && len == sizeof(struct sockaddr_in) &&
		   ntohs(((struct sockaddr_in *)&sa)->sin_port) == 5901,
	   "IPv4: family, length, port");
	is_int(vnc_addr_parse("::1", 0, &sa, &len, &err), 0, "IPv6 literal");
	ok(sa.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6), "IPv6: family, length");
	is_int(vnc_addr_parse("localhost", 0, &sa, &len, &err), -EINVAL, "a name is refused");
	is_str(err.prop, "listen_address", "bad address names listen_address");
	is_str(err.msg, "listen_address localhost: not an IPv4 or IPv6 address", "its message");
	is_int(vnc_addr_parse("[::1]", 0, &sa, &len, &err), -EINVAL, "brackets refused");
	is_int(vnc_addr_parse("127.0.0.1", 65536, &sa, &len, &err), -EINVAL, "port > 65535");
	is_str(err.prop, "vnc_port", "bad port names vnc_port");
	zh_error_clear(&err);
}

static void setting(const char *json, int want, const char *host, const char *what)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *j = json ? json_loads(json, 0, NULL) : NULL;
	char buf[64] = "";

	is_int(vnc_setting_address(j, buf, sizeof(buf), &err), want, "%s", what);
	if (want == 0)
		is_str(buf, host, "%s: address", what);
	else
		is_str(err.prop, "listen_address", "%s: names listen_address", what);
	zh_error_clear(&err);
}

static void test_setting(void)
{
	setting(NULL, 0, "127.0.0.1", "no settings: loopback");
	setting("{}", 0, "127.0.0.1", "no listen_address: loopback");
	setting("{\"listen_address\":\"0.0.0.0\"}", 0, "0.0.0.0", "the operator's choice");
	setting("{\"listen_address\":\"192.0.2.7\"}", 0, "192.0.2.7", "one address");
	setting("{\"listen_address\":\"fd00::7\"}", 0, "fd00::7", "IPv6");
	setting("{\"listen_address\":5}", -EINVAL, NULL, "not a string");
	setting("{\"listen_address\":\"any\"}", -EINVAL, NULL, "not an address");
	setting("{\"listen_address\":null}", -EINVAL, NULL, "null");
}

static void test_port_and_listen(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char dir[] = "/tmp/test-vnc-XXXXXX";
	_cleanup_free_ char *etc = NULL, *file = NULL;
	struct vnc_listener l;
	json_t *vm;

	vm = json_loads("{}", 0, NULL);
	is_int(vnc_port_of(vm), 0, "vnc_port absent: 0 (random)");
	json_object_set_new(vm, "vnc_port", json_integer(-1));
	is_int(vnc_port_of(vm), -1, "vnc_port -1");
	is_int(vnc_listen(vm, &l, &err), 0, "vnc_port -1: nothing to listen on");
	ok(l.fd < 0 && l.port == 0, "vnc_port -1: no listener");

	if (!mkdtemp(dir))
		abort();
	setenv("ZONEHOST_ROOT", dir, 1);
	paths_reset();
	etc = strdup(paths_config());
	fsutil_mkdir_p(etc, 0755, &err);
	file = paths_join(etc, PATHS_VNC);
	fsutil_write_atomic(file, "{\"listen_address\":\"nowhere\"}", 28, 0644, &err);
	json_object_set_new(vm, "vnc_port", json_integer(5901));
	is_int(vnc_listen(vm, &l, &err), -EINVAL, "a bad setting fails before any bind");
	ok(err.msg && strstr(err.msg, PATHS_VNC) && strstr(err.msg, "listen_address nowhere"),
	   "the message names the file and the setting: %s", err.msg);
	ok(l.fd < 0, "no listener after a failure");
	zh_error_clear(&err);
	fsutil_rm_rf(dir, &err);
	unsetenv("ZONEHOST_ROOT");
	paths_reset();
	json_decref(vm);
}

static void test_info(void)
{
	struct vnc_listener l = {.fd = -1, .host = "127.0.0.1", .port = 0};
	json_t *v;

	v = vnc_info(&l, NULL, "/zones/u/root/tmp/vm.vnc");
	ok(v && json_object_size(v) == 1 &&
		   streq(jsonutil_str(v, "unix"), "/zones/u/root/tmp/vm.vnc"),
	   "no TCP listener: the unix socket only");
	json_decref(v);
	l.port = 5901;
	v = vnc_info(&l, "", "/s");
	ok(v && streq(jsonutil_str(v, "host"), "127.0.0.1") &&
		   json_integer_value(json_object_get(v, "port")) == 5901 &&
		   json_integer_value(json_object_get(v, "display")) == 1 &&
		   !json_object_get(v, "password") && jsonutil_str(v, "unix"),
	   "host, port, display = port - 5900; no password when empty");
	json_decref(v);
	l.port = 1234;
	v = vnc_info(&l, "secret", "/s");
	ok(v && !json_object_get(v, "display") && streq(jsonutil_str(v, "password"), "secret"),
	   "no display below 5900; the password when set");
	json_decref(v);
}

/* ---- the relay, on unix sockets ---- */

static struct {
	char dir[64], front[108], back[108];
	int back_fd;
	pid_t relay;
} R;

static int unix_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 32) < 0)
		abort();
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		abort();
	return fd;
}

/* QEMU's side of the last client: accepted within 5 s, or -1. */
static int back_accept(void)
{
	struct pollfd p = {.fd = R.back_fd, .events = POLLIN};

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return accept4(R.back_fd, NULL, NULL, SOCK_CLOEXEC);
}

/* Bytes readable within ms (0: EOF, -1: nothing in time). */
static ssize_t read_within(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -1;
	return read(fd, buf, len);
}

static void relay_start(void)
{
	int lfd;

	strcpy(R.dir, "/tmp/test-vnc-relay-XXXXXX");
	if (!mkdtemp(R.dir))
		abort();
	snprintf(R.front, sizeof(R.front), "%s/front", R.dir);
	snprintf(R.back, sizeof(R.back), "%s/back", R.dir);
	R.back_fd = unix_listen(R.back);
	lfd = unix_listen(R.front);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	if ((R.relay = fork()) == 0)
		_exit(vnc_relay_serve(lfd, R.back, getuid()) < 0 ? 1 : 0);
	close(lfd);
}

static void relay_stop(void)
{
	struct zh_error err = ZH_ERROR_INIT;

	kill(R.relay, SIGKILL);
	waitpid(R.relay, NULL, 0);
	close(R.back_fd);
	fsutil_rm_rf(R.dir, &err);
	zh_error_clear(&err);
}

static char pat(size_t i, int dir)
{
	return (char)(i * 31 + i / 977 + (size_t)dir * 7);
}

/* Send len bytes each way at once; 1 when both sides got exactly what was sent. */
static int exchange(int a, int b, size_t len)
{
	int fd[2] = {a, b};
	size_t sent[2] = {0, 0}, got[2] = {0, 0};
	char buf[8192];
	int good = 1;

	fcntl(a, F_SETFL, O_NONBLOCK);
	fcntl(b, F_SETFL, O_NONBLOCK);
	while (got[0] < len || got[1] < len) {
		struct pollfd p[2];

		for (int i = 0; i < 2; i++)
			p[i] = (struct pollfd){.fd = fd[i],
					       .events = POLLIN | (sent[i] < len ? POLLOUT : 0)};
		if (poll(p, 2, 5000) <= 0)
			return 0;
		for (int i = 0; i < 2; i++) {
			if ((p[i].revents & POLLOUT) && sent[i] < len) {
				size_t n =
					len - sent[i] < sizeof(buf) ? len - sent[i] : sizeof(buf);

				for (size_t k = 0; k < n; k++)
					buf[k] = pat(sent[i] + k, i);
				ssize_t w = write(fd[i], buf, n);
				if (w > 0)
					sent[i] += (size_t)w;
			}
			if (p[i].revents & POLLIN) { /* what the other side sent */
				ssize_t r = read(fd[i], buf, sizeof(buf));

				if (r <= 0)
					return 0;
				for (ssize_t k = 0; k < r; k++)
					good &= buf[k] == pat(got[1 - i] + (size_t)k, 1 - i);
				got[1 - i] += (size_t)r;
			}
		}
	}
	return good && got[0] == len && got[1] == len;
}

static void test_relay_bytes(void)
{
	int c = unix_connect(R.front), q = back_accept();
	char buf[16];

	ok(q >= 0, "a client gets its own connection to QEMU's socket");
	ok(exchange(c, q, 3 * 1024 * 1024 + 17), "3 MiB each way, byte for byte, at once");
	shutdown(c, SHUT_WR);
	is_int((int)read_within(q, buf, sizeof(buf), 5000), 0, "client's EOF reaches QEMU");
	fcntl(q, F_SETFL, 0);
	is_int((int)write(q, "RFB", 3), 3, "QEMU still writes after the client's EOF");
	is_int((int)read_within(c, buf, sizeof(buf), 5000), 3, "the client reads it");
	close(q);
	is_int((int)read_within(c, buf, sizeof(buf), 5000), 0, "QEMU's close reaches the client");
	close(c);
}

static void test_relay_limit(void)
{
	int c[VNC_RELAY_MAX_CLIENTS + 1], q[VNC_RELAY_MAX_CLIENTS], n = 0;
	char buf[4];

	for (int i = 0; i < VNC_RELAY_MAX_CLIENTS; i++) {
		c[i] = unix_connect(R.front);
		q[i] = back_accept();
		n += q[i] >= 0;
	}
	is_int(n, VNC_RELAY_MAX_CLIENTS, "%d clients at once", VNC_RELAY_MAX_CLIENTS);
	c[VNC_RELAY_MAX_CLIENTS] = unix_connect(R.front);
	is_int((int)read_within(c[VNC_RELAY_MAX_CLIENTS], buf, sizeof(buf), 5000), 0,
	       "one more is closed at once");
	close(c[VNC_RELAY_MAX_CLIENTS]);
	close(c[0]);
	is_int((int)read_within(q[0], buf, sizeof(buf), 5000), 0, "a client leaves");
	close(q[0]);
	c[0] = unix_connect(R.front);
	q[0] = back_accept();
	ok(q[0] >= 0 && write(c[0], "x", 1) == 1 && read_within(q[0], buf, 1, 5000) == 1,
	   "its slot serves the next");
	for (int i = 0; i < VNC_RELAY_MAX_CLIENTS; i++) {
		close(c[i]);
		if (q[i] >= 0)
			close(q[i]);
	}
}

static void test_relay_no_qemu(void)
{
	char buf[4];
	int c;

	unlink(R.back);
	c = unix_connect(R.front);
	is_int((int)read_within(c, buf, sizeof(buf), 5000), 0,
	       "no QEMU socket: the client is closed");
	close(c);
	ok(waitpid(R.relay, NULL, WNOHANG) == 0, "the relay still serves");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_addr();
	test_setting();
	test_port_and_listen();
	test_info();
	relay_start();
	test_relay_bytes();
	test_relay_limit();
	test_relay_no_qemu();
	relay_stop();
	return tap_done();
}

/*
 * vnc.c - the TCP side of a hardware VM's VNC console: the listen address
 * setting, the listener of `vnc_port`, what `vmadm info vnc` says
 * (vnc.h; docs/architecture.md §22).
 *
 * Owns: the listening socket until the relay takes it, and the shape of
 * the info answer.  Not: the bytes (vnc-relay.c), QEMU's password (set by
 * brand-hvm over QMP), QEMU's unix socket.
 *
 *     struct vnc_listener l;
 *     if (vnc_listen(vm, &l, &err) < 0) ...         -EADDRINUSE: "vnc_port"
 *     info = vnc_info(&l, NULL, "/zones/u/root/tmp/vm.vnc");
 *
 * Invariants: nothing listens unless the VM has vnc_port >= 0; the address
 * is the operator's <config>/vnc.json "listen_address", else 127.0.0.1
 * (QEMU's VNC needs no password, so the console stays on the host unless
 * the operator says otherwise).  The listener is bound here, as root, so a
 * port below 1024 works and a port in use fails the start before QEMU
 * runs; the relay that serves it never holds a privilege.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsonutil.h"
#include "paths.h"
#include "vnc.h"

#define SETTINGS_MAX 4096
#define BACKLOG	     16

int vnc_addr_parse(const char *host, int port, struct sockaddr_storage *sa, socklen_t *len,
		   struct zh_error *err)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (port < 0 || port > 65535)
		return zh_error_set(err, EINVAL, "vnc_port", "vnc_port %d: not a TCP port", port);
	if (host && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (host && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return zh_error_set(err, EINVAL, "listen_address",
			    "listen_address %s: not an IPv4 or IPv6 address",
			    host ? host : "(none)");
}

int vnc_setting_address(const json_t *settings, char *host, size_t hlen, struct zh_error *err)
{
	const json_t *v = json_object_get(settings, "listen_address");
	const char *s = json_string_value(v);
	struct sockaddr_storage sa;
	socklen_t len;
	int r;

	if (!v)
		s = VNC_DEFAULT_ADDRESS;
	else if (!s)
		return zh_error_set(err, EINVAL, "listen_address",
				    "listen_address: must be a string (an IPv4 or IPv6 address)");
	if ((r = vnc_addr_parse(s, 0, &sa, &len, err)) < 0)
		return r;
	if (strlen(s) >= hlen)
		return zh_error_set(err, EINVAL, "listen_address", "listen_address: too long");
	strcpy(host, s);
	return 0;
}

int vnc_port_of(const json_t *vm)
{
	const json_t *p = json_object_get(vm, "vnc_port");

	return json_is_integer(p) ? (int)json_integer_value(p) : 0;
}

/* <config>/vnc.json's address, or the default when there is no such file. */
static int read_setting(char *host, size_t hlen, struct zh_error *err)
{
	_cleanup_free_ char *path = paths_join(paths_config(), PATHS_VNC);
	_cleanup_json_ json_t *j = NULL;
	int r;

	if (!path)
		return zh_error_oom(err);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return vnc_setting_address(NULL, host, hlen, err);
	if ((r = jsonutil_load_file(path, SETTINGS_MAX, &j, err)) < 0)
		return r;
	if ((r = vnc_setting_address(j, host, hlen, err)) < 0)
		return zh_error_prefix(err, "%s", path);
	return 0;
}

static int tune(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

static int bind_listen(struct vnc_listener *l, int port, struct zh_error *err)
{
	struct sockaddr_storage sa;
	socklen_t len;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if ((r = vnc_addr_parse(l->host, port, &sa, &len, err)) < 0)
		return r;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || tune(fd) < 0)
		return zh_error_set(err, errno, NULL, "VNC listener: %m");
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		if (errno == EADDRINUSE)
			return zh_error_set(err, EADDRINUSE, "vnc_port",
					    "vnc_port %d: port already in use on %s", port,
					    l->host);
		return zh_error_set(err, errno, "vnc_port", "vnc_port %d: cannot bind on %s: %m",
				    port, l->host);
	}
	len = sizeof(sa);
	if (listen(fd, BACKLOG) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return zh_error_set(err, errno, "vnc_port", "vnc_port %d: cannot listen: %m", port);
	l->port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
						: ((struct sockaddr_in6 *)&sa)->sin6_port);
	l->fd = TAKE_FD(fd);
	return 0;
}

int vnc_listen(const json_t *vm, struct vnc_listener *l, struct zh_error *err)
{
	int port = vnc_port_of(vm), r;

	l->fd = -EBADF;
	l->port = 0;
	l->host[0] = '\0';
	if (port < 0)
		return 0;
	if ((r = read_setting(l->host, sizeof(l->host), err)) < 0)
		return r;
	return bind_listen(l, port, err);
}

json_t *vnc_info(const struct vnc_listener *l, const char *password, const char *unix_path)
{
	json_t *v = json_pack("{s:s}", "unix", unix_path);

	if (!v || l->port <= 0)
		return v;
	if (json_object_set_new(v, "host", json_string(l->host)) < 0 ||
	    json_object_set_new(v, "port", json_integer(l->port)) < 0 ||
	    (l->port >= VNC_DISPLAY_BASE &&
	     json_object_set_new(v, "display", json_integer(l->port - VNC_DISPLAY_BASE)) < 0) ||
	    (password && *password &&
	     json_object_set_new(v, "password", json_string(password)) < 0)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

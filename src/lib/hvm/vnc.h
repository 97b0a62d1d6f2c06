/*
 * vnc.h - a hardware VM's console on TCP (docs/architecture.md §22):
 * QEMU serves VNC on its unix socket <zonepath>/root/tmp/vm.vnc only;
 * zoneadmd binds the TCP listener of `vnc_port` (vnc.c) and hands it to
 * the relay, an unprivileged child that copies bytes between each TCP
 * client and a new connection to QEMU's socket (vnc-relay.c).
 *
 *     struct vnc_listener l;
 *     vnc_listen(vm, &l, &err);                    root: -1 = none, 0 = random
 *     vnc_relay_spawn(l.fd, rundir_fd, qemu_uid, &pid, &err);
 *     closep(&l.fd);                               the relay has it now
 *     json_t *info = vnc_info(&l, password, "/zones/u/root/tmp/vm.vnc");
 *     ... kill(pid, SIGKILL); waitpid(pid, ...);   with QEMU
 *
 * The listen address is the operator's: "listen_address" in
 * <config>/vnc.json (an IPv4 or IPv6 literal), 127.0.0.1 when the file
 * is absent, so an unauthenticated console is never on the network
 * unless the operator puts it there.
 */
#ifndef ZH_HVM_VNC_H
#define ZH_HVM_VNC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "error.h"

#define VNC_DEFAULT_ADDRESS   "127.0.0.1"
#define VNC_DISPLAY_BASE      5900     /* display N is port 5900 + N */
#define VNC_RELAY_MAX_CLIENTS 8	       /* at once; the next is accepted and closed */
#define VNC_RELAY_BUF	      32768    /* bytes buffered per direction per client */
#define VNC_SOCKET	      "vm.vnc" /* QEMU's socket in its run directory */

/* The TCP listener of one boot: fd -EBADF and port 0 when vnc_port is -1. */
struct vnc_listener {
	int fd;
	char host[64]; /* the address bound, as written in the setting */
	int port;      /* the port bound (the kernel's pick for vnc_port 0) */
};

/*
 * Parse an address literal (IPv4 or IPv6, no brackets) and a port into
 * sa and len; -EINVAL naming "listen_address" when it is not one.
 */
int vnc_addr_parse(const char *host, int port, struct sockaddr_storage *sa, socklen_t *len,
		   struct zh_error *err);

/*
 * The listen address from settings (the parsed <config>/vnc.json, or
 * NULL: the default) into host[hlen]; -EINVAL naming "listen_address".
 */
int vnc_setting_address(const json_t *settings, char *host, size_t hlen, struct zh_error *err);

/* The VM's vnc_port: absent = 0 (random); -1 = no TCP listener. */
int vnc_port_of(const json_t *vm);

/*
 * Bind and listen on the address of <config>/vnc.json and the VM's
 * vnc_port (root, in zoneadmd).  vnc_port -1: 0 and l->fd = -EBADF.  A
 * port in use is -EADDRINUSE naming "vnc_port".  l->fd is close-on-exec,
 * non-blocking, SO_REUSEADDR, TCP_NODELAY and SO_KEEPALIVE (inherited by
 * every accepted socket).
 */
int vnc_listen(const json_t *vm, struct vnc_listener *l, struct zh_error *err);

/*
 * `vmadm info <uuid> vnc`: SmartOS's {"host","port","display"} (display
 * only for a port at or above VNC_DISPLAY_BASE) and "password" when set,
 * when there is a TCP listener (l->port > 0), plus {"unix": unix_path}
 * always.  NULL on ENOMEM.
 */
json_t *vnc_info(const struct vnc_listener *l, const char *password, const char *unix_path);

/*
 * The relay (vnc-relay.c).  vnc_relay_spawn forks a child that keeps
 * listen_fd and nothing else of the caller's, chroots into rundir_fd (QEMU's
 * run directory), becomes uid/gid uid with no capabilities, loads its
 * seccomp filter and serves; *pid once it serves, or the child's reason.
 * It dies with its parent (PR_SET_PDEATHSIG).
 */
int vnc_relay_spawn(int listen_fd, int rundir_fd, uid_t uid, pid_t *pid, struct zh_error *err);

/*
 * The relay's loop on a listening socket (any family) and the unix socket
 * path to connect each client to, whose peer must be peer_uid; returns
 * only on an error of epoll or the listening socket.  Unprivileged, no
 * allocation.  Exported for tests/unit/test-vnc.c.
 */
int vnc_relay_serve(int listen_fd, const char *path, uid_t peer_uid);

#endif

/*
 * mdsrv-chan.h - the channel between a VM's zoneadmd and its metadata
 * server (docs/architecture.md §23): one SOCK_SEQPACKET socketpair, one
 * JSON object per datagram, at most one fd passed with it (SCM_RIGHTS).
 *
 * Owns: the framing only.  Messages (each {"op": ...}):
 *   zoneadmd -> server   "vm" {"vm"}: the view keys are answered from
 *                        "listen" + fd: a listening socket (a zone's)
 *                        "serial" + fd: the serial line (pty master, or
 *                          an HVM's connection to QEMU), replacing the last
 *                        "hold" + fd: kept open, never read (the pty
 *                          slave, so the master never reads EIO)
 *                        "done" {"id","ok","error"}: an update's end
 *   server -> zoneadmd   "ready": the filter is loaded, fds may come
 *                        "put" {"id","key","value"}, "delete" {"id","key"}:
 *                          a guest's change that mdata-keys allowed
 *                        "serial-closed": the serial line hung up
 * A datagram is at most MDSRV_CHAN_MAX bytes; both ends' send buffers
 * are raised to hold that (zoneadmd, as root, before the exec).
 *
 *     mdsrv_chan_send(fd, json_pack("{s:s}", "op", "ready"), -1);
 *     json_t *m; int pfd;  mdsrv_chan_recv(fd, &m, &pfd);
 */
#ifndef ZH_MDSRV_CHAN_H
#define ZH_MDSRV_CHAN_H

#include <jansson.h>

#define MDSRV_CHAN_MAX (8u << 20)

/*
 * Send msg (kept by the caller) with pass_fd (-1: none), never blocking:
 * 0, -EAGAIN when the peer's queue is full, -EMSGSIZE, or -errno.
 */
int mdsrv_chan_send(int fd, const json_t *msg, int pass_fd);

/*
 * Receive one datagram: 0 with *msg (an object) and *pass_fd (-1 when
 * none; O_CLOEXEC), -EAGAIN when none is waiting, -ECONNRESET at EOF,
 * -EBADMSG for a datagram that is not one JSON object (dropped).
 */
int mdsrv_chan_recv(int fd, json_t **msg, int *pass_fd);

/* A socketpair for the channel: [0] zoneadmd's, [1] the server's; buffers raised. */
int mdsrv_chan_pair(int sv[2]);

#endif

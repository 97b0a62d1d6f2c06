/*
 * ctl.h - the zoneadmd control protocol (docs/architecture.md §16): a versioned,
 * table-driven protocol on <run>/<uuid>/control.sock (SOCK_SEQPACKET).
 *
 * Frame: struct ctl_hdr (magic, version, command, payload length, status)
 * followed by at most CTL_PAYLOAD_MAX bytes of JSON payload.  Every frame is
 * length-checked before it is decoded; requests carry status 0, replies 0 or
 * -errno; unknown commands get -ENOSYS.  The server identifies its peer by
 * SO_PEERCRED (root only).
 *
 * VERSIONING (docs/architecture.md §16).  A zoneadmd runs
 * as long as its VM, so a vmadm of a newer release meets it after an
 * upgrade.  Hence:
 *   - a command's number never changes meaning, payload or reply: a new
 *     meaning is a new command (CTL_UPDATE_NET, not a wider CTL_UPDATE);
 *     numbers are never reused; new payload keys must be optional;
 *   - a caller meeting -ENOSYS knows the zoneadmd predates the command and
 *     must fail cleanly or fall back, and say so (vm.c: the update fails,
 *     the old config is put back, the user is told to restart the VM);
 *   - CTL_VERSION changes only with the frame format; a frame of another
 *     version is refused (-EPROTONOSUPPORT).
 *
 * CTL_CONSOLE turns the connection, after its reply, into a byte stream
 * relayed to and from the zone's console.  CTL_BOOTED is not a request:
 * it is the one frame zoneadmd writes on its --notify-fd socket (vm-run.c
 * reads it), status 0 with {"pid"} or -errno with {"error"}.
 *
 *     json_t *reply = NULL;
 *     if (ctl_call(uuid, CTL_STOP, json_pack("{s:i,s:b}", "timeout", 60, "force", 0),
 *                  &reply, &err) < 0) ...
 */
#ifndef ZH_CTL_H
#define ZH_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CTL_MAGIC	0x7a686374u /* "zhct" */
#define CTL_VERSION	1
#define CTL_PAYLOAD_MAX 65536u

enum ctl_cmd {
	CTL_STATUS = 1,	    /* -> {"state","pid",...} */
	CTL_STOP = 2,	    /* {"timeout":s,"force":b} -> {} after the zone is down */
	CTL_KILL = 3,	    /* {"signal":n} */
	CTL_REBOOT = 4,	    /* {"force":b} */
	CTL_CONSOLE = 5,    /* -> {} then raw console bytes both ways */
	CTL_UPDATE = 6,	    /* re-read the config and apply live limits */
	CTL_UPDATE_NET = 7, /* CTL_UPDATE, then apply changed nics and routes */
	CTL_BOOTED = 8,	    /* zoneadmd -> vmadm on the notify socket: boot result */
	CTL_INFO = 9,	    /* {"types":[s...]} -> {"<type>":{...},...} (HVM brands) */
	CTL_SYSRQ = 10,	    /* {"request":"nmi"|"screenshot"} -> {} or {"path"} (HVM brands) */
	CTL_MDATA = 11,	    /* the stored config changed: re-read it for the metadata server */
	CTL_START = 12,	    /* OCI: open the start gate -> {} once the process was exec'd */
	CTL_CMD_MAX
};

struct ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t cmd;
	uint32_t len;
	int32_t status;
};

struct ctl_msg {
	uint16_t cmd;
	int32_t status;
	json_t *payload; /* object; never NULL after a successful decode */
};

/* Encode into a new buffer (header + JSON). */
int ctl_encode(uint16_t cmd, int32_t status, const json_t *payload, void **buf, size_t *len,
	       struct zh_error *err);

/* Decode one received frame of exactly len bytes (fuzzed). */
int ctl_decode(const void *buf, size_t len, struct ctl_msg *out, struct zh_error *err);
void ctl_msg_clear(struct ctl_msg *m);

/* Client: connect to the zone's socket (-ENOTCONN/-ENOENT if not running). */
int ctl_connect(const char *uuid, struct zh_error *err);
/* One request/reply on a connected socket; steals payload. */
int ctl_request(int fd, uint16_t cmd, json_t *payload, json_t **reply, struct zh_error *err);
/* connect + request + close. */
int ctl_call(const char *uuid, uint16_t cmd, json_t *payload, json_t **reply, struct zh_error *err);

/*
 * Frames on a connected socket (both sides).  ctl_send: payload may be
 * NULL (= {}); a reply with status < 0 should carry {"error":"<msg>"}.
 * ctl_recv: -ECONNRESET on EOF, -EMSGSIZE/-EBADMSG on a bad frame.
 */
int ctl_send(int fd, uint16_t cmd, int32_t status, const json_t *payload, struct zh_error *err);
int ctl_recv(int fd, struct ctl_msg *out, struct zh_error *err);

/* Server (zoneadmd): bind + listen on <run>/<uuid>/control.sock, mode 0600. */
int ctl_listen(const char *uuid, struct zh_error *err);
/* Server: accept one client whose SO_PEERCRED uid is 0 (-EPERM otherwise). */
int ctl_accept(int lfd, struct zh_error *err);

#endif

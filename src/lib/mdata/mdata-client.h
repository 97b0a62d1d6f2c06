/*
 * mdata-client.h - the guest side of the metadata protocol, without I/O
 * (docs/architecture.md §23): the request frames the mdata tools send and
 * the checks on what comes back.
 *
 * Owns: a V2 request's bytes, a reply's verification (CRC, length, the
 * request id it answers) and a V1 reply's undoing of dot-stuffing.  The
 * transport (socket or serial line), the timeouts and the retries are the
 * tool's (src/cmd/mdata-tool.c).  Pure.
 *
 *     mdata_client_request(&out, "0a1b2c3d", "GET", "sdc:uuid", 8);
 *     ... write out, read one line ...
 *     r = mdata_client_parse(line, len, "0a1b2c3d", &a);   -EAGAIN: not ours, read on
 */
#ifndef ZH_MDATA_CLIENT_H
#define ZH_MDATA_CLIENT_H

#include <stddef.h>

#include "mdata-wire.h"

/* Append the V2 frame "<reqid> <cmd>[ base64(payload)]" (no payload when len is 0). */
int mdata_client_request(struct mdata_buf *out, const char *reqid, const char *cmd,
			 const void *payload, size_t len);

/* Append PUT's payload "base64(key) base64(val)" (before the frame's own base64). */
int mdata_client_put_payload(struct mdata_buf *out, const char *key, const void *val, size_t len);

/*
 * Check a reply line (without its LF) to request reqid: 0 and *a (SUCCESS
 * or NOTFOUND with the decoded payload; any other code is FAILURE with the
 * payload as its message); -EAGAIN for a line to drop (not a V2 frame that
 * verifies, another request's); -ENOMEM.
 */
int mdata_client_parse(const char *line, size_t len, const char *reqid, struct mdata_answer *a);

/*
 * One line of a V1 SUCCESS body (without its LF): 1 for the lone "." that
 * ends it, else 0 with the line, its leading '.' undoubled, and an LF
 * appended to body (the body is what precedes its last LF).  -ENOMEM.
 */
int mdata_client_v1_line(const char *line, size_t len, struct mdata_buf *body);

#endif

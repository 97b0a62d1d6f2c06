/*
 * mdata-session.h - the server side of one metadata connection, as a pure
 * incremental state machine (docs/architecture.md §23).
 *
 * Owns: the line buffer (bounded by MDATA_LINE_MAX), the reply buffer and
 * what each request means: the blank-line reset, NEGOTIATE, V1 GET/KEYS,
 * V2 GET/KEYS/PUT/DELETE, the answers' framing.  Does not own the keys: it
 * asks a struct mdata_store_ops, so it knows nothing about VMs, and it
 * does no I/O: the caller feeds it bytes as they come (split anywhere) and
 * writes out whole reply lines.
 *
 *     struct mdata_session *s = mdata_session_new(&ops, ctx);
 *     while ((n = read(fd, buf, sizeof(buf))) > 0)
 *             for (p = buf; n > 0; p += r, n -= r) {
 *                     r = mdata_session_feed(s, p, n);       consumes up to one LF
 *                     out = mdata_session_output(s, &len);   write(fd, out, len)
 *                     mdata_session_consume(s, len);
 *             }
 *
 * Invariants: a line longer than MDATA_LINE_MAX is discarded up to its LF
 * and answered FAILURE once; memory stays under MDATA_LINE_MAX plus the
 * replies not yet consumed (at most one per feed call).  Replies end in LF
 * only.  A blank line resets the session and is answered "invalid command".
 */
#ifndef ZH_MDATA_SESSION_H
#define ZH_MDATA_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mdata-wire.h"

/*
 * Where the answers come from.  Each callback fills *a (code and payload)
 * and returns 0, or a negative errno for an internal failure (the guest is
 * answered FAILURE "Internal error").  put and del may instead return
 * MDATA_DEFER (a left empty): the answer comes later, through
 * mdata_session_complete(); until then the session is deferred and the
 * caller feeds it nothing (it stops reading that connection).  Keys are NUL-terminated, trimmed and
 * never empty; a PUT value may be empty or hold NUL bytes.
 */
struct mdata_store_ops {
	int (*get)(void *ctx, const char *key, struct mdata_answer *a);
	int (*keys)(void *ctx, struct mdata_answer *a);
	int (*put)(void *ctx, const char *key, const char *val, size_t len, struct mdata_answer *a);
	int (*del)(void *ctx, const char *key, struct mdata_answer *a);
};

#define MDATA_DEFER 1 /* a put/del callback's "answered later" */

struct mdata_session;

/* A new session answering from ops/ctx (both kept, not copied), or NULL (ENOMEM). */
struct mdata_session *mdata_session_new(const struct mdata_store_ops *ops, void *ctx);

/* Free the session; NULL is fine. */
void mdata_session_free(struct mdata_session *s);

/*
 * Take bytes a guest sent: consumes them up to and including the first LF
 * (all of them when there is none) and returns how many, or -ENOMEM.  The
 * replies to a completed line are appended to the output.
 */
ssize_t mdata_session_feed(struct mdata_session *s, const char *buf, size_t len);

/* The reply bytes waiting to be written (*len of them). */
const char *mdata_session_output(const struct mdata_session *s, size_t *len);

/* Drop the first n reply bytes (written). */
void mdata_session_consume(struct mdata_session *s, size_t n);

/* Is a PUT or DELETE waiting for its answer (MDATA_DEFER)? */
bool mdata_session_deferred(const struct mdata_session *s);

/*
 * The deferred request's answer (a is released): its reply is appended to
 * the output with the request's id.  0, -ENOMEM, or -EINVAL when nothing
 * was deferred.
 */
int mdata_session_complete(struct mdata_session *s, struct mdata_answer *a);

/* Has the guest negotiated V2 since the last blank line? */
bool mdata_session_is_v2(const struct mdata_session *s);

#endif

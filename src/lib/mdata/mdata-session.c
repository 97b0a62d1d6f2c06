/*
 * mdata-session.c - one metadata connection's server state machine
 * (docs/architecture.md §23): bytes in, whole reply lines out.
 *
 * Owns: the line buffer, the reply buffer, the request dispatch.  The
 * keys are asked of a struct mdata_store_ops.  Pure and incremental: the
 * caller does the I/O, and may split the guest's bytes anywhere.
 *
 *     ssize_t r = mdata_session_feed(s, "NEGOTIATE V2\n", 13);   13
 *     out = mdata_session_output(s, &len);                      "V2_OK\n"
 *
 * What a request means follows SmartOS's agent (the reference checked
 * against mdata-client): a blank line answers "invalid command" and starts
 * over; a V2 frame that does not verify gets no reply; PUT and DELETE are
 * V2 only; an unknown command is a FAILURE naming it.  A line past
 * MDATA_LINE_MAX is dropped up to its LF and answered FAILURE once (a V2
 * FAILURE when its first bytes carry a request id).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mdata-session.h"

#define PREFIX_KEEP 64	 /* bytes of an oversize line kept to find its request id */
#define LINE_KEEP   4096 /* a line buffer bigger than this is freed after its line */

struct mdata_session {
	const struct mdata_store_ops *ops;
	void *ctx;
	struct mdata_buf line;
	struct mdata_buf out;
	bool discarding; /* the current line passed MDATA_LINE_MAX */
	bool v2;
	bool deferred;			       /* a PUT/DELETE awaits mdata_session_complete() */
	char defer_reqid[MDATA_REQID_MAX + 1]; /* its request id */
};

/* What a V2 command does with the frame's (still encoded) payload. */
typedef int (*v2_handler)(struct mdata_session *s, const struct mdata_v2_frame *f);

struct mdata_session *mdata_session_new(const struct mdata_store_ops *ops, void *ctx)
{
	struct mdata_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ops = ops;
	s->ctx = ctx;
	return s;
}

void mdata_session_free(struct mdata_session *s)
{
	if (!s)
		return;
	mdata_buf_free(&s->line);
	mdata_buf_free(&s->out);
	free(s);
}

const char *mdata_session_output(const struct mdata_session *s, size_t *len)
{
	*len = s->out.len;
	return s->out.data;
}

void mdata_session_consume(struct mdata_session *s, size_t n)
{
	mdata_buf_consume(&s->out, n);
}

bool mdata_session_is_v2(const struct mdata_session *s)
{
	return s->v2;
}

bool mdata_session_deferred(const struct mdata_session *s)
{
	return s->deferred;
}

static bool is(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(p, word, len) == 0;
}

static int emit(struct mdata_session *s, const char *text)
{
	return mdata_buf_append(&s->out, text, strlen(text));
}

/* Send answer a (V1 when f is NULL) and release it. */
static int reply(struct mdata_session *s, const struct mdata_v2_frame *f, struct mdata_answer *a)
{
	int r;

	if (f)
		r = mdata_v2_format(&s->out, f->reqid, mdata_code_name(a->code), a->data, a->len);
	else
		r = mdata_v1_format(&s->out, a->code, a->data, a->len);
	mdata_answer_clear(a);
	return r;
}

int mdata_session_complete(struct mdata_session *s, struct mdata_answer *a)
{
	struct mdata_v2_frame f = {{0}};

	if (!s->deferred) {
		mdata_answer_clear(a);
		return -EINVAL;
	}
	s->deferred = false;
	memcpy(f.reqid, s->defer_reqid, sizeof(f.reqid));
	return reply(s, &f, a);
}

/* Answer FAILURE with msg (V1: no message). */
static int fail(struct mdata_session *s, const struct mdata_v2_frame *f, const char *msg)
{
	struct mdata_answer a = {MDATA_FAILURE, NULL, 0};

	if (f && mdata_answer_set(&a, MDATA_FAILURE, msg, strlen(msg)) < 0)
		return -ENOMEM;
	return reply(s, f, &a);
}

/* Send what a store callback answered (r its return). */
static int answer(struct mdata_session *s, const struct mdata_v2_frame *f, int r,
		  struct mdata_answer *a)
{
	if (r == MDATA_DEFER && f) {
		mdata_answer_clear(a);
		s->deferred = true;
		memcpy(s->defer_reqid, f->reqid, sizeof(s->defer_reqid));
		return 0;
	}
	if (r < 0 || r == MDATA_DEFER) {
		mdata_answer_clear(a);
		return fail(s, f, "Internal error");
	}
	return reply(s, f, a);
}

/* A trimmed, NUL-terminated copy of [p, p+len), or NULL when empty or holding a NUL. */
static char *key_dup(const char *p, size_t len)
{
	mdata_trim(&p, &len);
	if (len == 0 || memchr(p, '\0', len))
		return NULL;
	return strndup(p, len);
}

static int do_get(struct mdata_session *s, const struct mdata_v2_frame *f, const char *p,
		  size_t len)
{
	struct mdata_answer a = {0};
	_cleanup_free_ char *key = key_dup(p, len);

	if (!key)
		return fail(s, f, "Invalid GET Request");
	return answer(s, f, s->ops->get(s->ctx, key, &a), &a);
}

static int do_keys(struct mdata_session *s, const struct mdata_v2_frame *f)
{
	struct mdata_answer a = {0};

	return answer(s, f, s->ops->keys(s->ctx, &a), &a);
}

/* The frame's payload decoded into *out; a FAILURE "Invalid <what> Request" sent when it is not
 * base64. */
static int decode_or_fail(struct mdata_session *s, const struct mdata_v2_frame *f, const char *what,
			  char **out, size_t *len)
{
	char msg[64];
	int r = mdata_b64_decode(f->payload, f->payload_len, out, len);

	if (r != -EINVAL)
		return r;
	snprintf(msg, sizeof(msg), "Invalid %s Request", what);
	r = fail(s, f, msg);
	return r < 0 ? r : 1;
}

static int v2_get(struct mdata_session *s, const struct mdata_v2_frame *f)
{
	_cleanup_free_ char *p = NULL;
	size_t len;
	int r = decode_or_fail(s, f, "GET", &p, &len);

	return r != 0 ? (r < 0 ? r : 0) : do_get(s, f, p, len);
}

static int v2_keys(struct mdata_session *s, const struct mdata_v2_frame *f)
{
	return do_keys(s, f);
}

static int v2_delete(struct mdata_session *s, const struct mdata_v2_frame *f)
{
	struct mdata_answer a = {0};
	_cleanup_free_ char *p = NULL, *key = NULL;
	size_t len;
	int r = decode_or_fail(s, f, "DELETE", &p, &len);

	if (r != 0)
		return r < 0 ? r : 0;
	key = key_dup(p, len);
	if (!key)
		return fail(s, f, "Invalid DELETE Request");
	return answer(s, f, s->ops->del(s->ctx, key, &a), &a);
}

/* PUT's decoded payload "b64(key) b64(value)": exactly two terms after trimming. */
static int put_terms(const char *p, size_t len, char **key, char **val, size_t *vlen)
{
	_cleanup_free_ char *k = NULL;
	const char *sp;
	size_t klen;

	mdata_trim(&p, &len);
	sp = memchr(p, ' ', len);
	if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p)))
		return -EINVAL;
	if (mdata_b64_decode(p, (size_t)(sp - p), &k, &klen) < 0 ||
	    mdata_b64_decode(sp + 1, len - (size_t)(sp + 1 - p), val, vlen) < 0)
		return -EINVAL;
	*key = key_dup(k, klen);
	return *key ? 0 : -EINVAL;
}

static int v2_put(struct mdata_session *s, const struct mdata_v2_frame *f)
{
	struct mdata_answer a = {0};
	_cleanup_free_ char *p = NULL, *key = NULL, *val = NULL;
	size_t len, vlen = 0;
	int r = decode_or_fail(s, f, "PUT", &p, &len);

	if (r != 0)
		return r < 0 ? r : 0;
	if (put_terms(p, len, &key, &val, &vlen) < 0)
		return fail(s, f, "Invalid PUT Request");
	return answer(s, f, s->ops->put(s->ctx, key, val, vlen, &a), &a);
}

static const struct {
	const char *name;
	v2_handler fn;
} v2_commands[] = {
	{"GET", v2_get},
	{"KEYS", v2_keys},
	{"PUT", v2_put},
	{"DELETE", v2_delete},
};

static int unknown(struct mdata_session *s, const struct mdata_v2_frame *f, const char *cmd,
		   size_t len)
{
	struct mdata_buf msg = {0};
	int r = -ENOMEM;

	if (mdata_buf_append(&msg, "Unknown command ", 16) == 0 &&
	    mdata_buf_append(&msg, cmd, len) == 0 && mdata_buf_append(&msg, "", 1) == 0)
		r = fail(s, f, msg.data);
	mdata_buf_free(&msg);
	return r;
}

static int handle_v2(struct mdata_session *s, const char *line, size_t len)
{
	struct mdata_v2_frame f;

	if (mdata_v2_parse(line, len, &f) < 0)
		return 0; /* a frame that does not verify: no reply */
	for (size_t i = 0; i < ARRAY_SIZE(v2_commands); i++)
		if (is(f.cmd, f.cmd_len, v2_commands[i].name))
			return v2_commands[i].fn(s, &f);
	return unknown(s, &f, f.cmd, f.cmd_len);
}

static int v1_negotiate(struct mdata_session *s, const struct mdata_v1_request *r)
{
	if (r->arg_len == 0)
		return emit(s, "invalid command\n");
	if (!is(r->arg, r->arg_len, "V2"))
		return emit(s, "FAILURE\n");
	s->v2 = true;
	return emit(s, "V2_OK\n");
}

static int handle_v1(struct mdata_session *s, const struct mdata_v1_request *r)
{
	if (is(r->cmd, r->cmd_len, "NEGOTIATE"))
		return v1_negotiate(s, r);
	if (is(r->cmd, r->cmd_len, "GET"))
		return r->arg_len ? do_get(s, NULL, r->arg, r->arg_len)
				  : emit(s, "invalid command\n");
	if (is(r->cmd, r->cmd_len, "KEYS"))
		return do_keys(s, NULL);
	return emit(s, "FAILURE\n");
}

static int handle_line(struct mdata_session *s, const char *line, size_t len)
{
	struct mdata_v1_request r;

	if (mdata_v1_parse(line, len, &r) < 0) {
		s->v2 = false; /* a blank line: a new session */
		return emit(s, "invalid command\n");
	}
	if (is(r.cmd, r.cmd_len, "V2"))
		return handle_v2(s, line, len);
	return handle_v1(s, &r);
}

/* The answer to a line past MDATA_LINE_MAX: a V2 FAILURE when its kept prefix names a request id.
 */
static int answer_oversize(struct mdata_session *s)
{
	struct mdata_v2_frame f = {{0}};
	const char *p = s->line.data, *end = p + s->line.len;
	size_t n = 0;

	if (s->line.len < 3 || memcmp(p, "V2 ", 3) != 0)
		return emit(s, "FAILURE\n");
	for (int field = 0; field < 3 && p < end; field++) {
		p = memchr(p, ' ', (size_t)(end - p));
		p = p ? p + 1 : end;
	}
	while (p + n < end && n < MDATA_REQID_MAX &&
	       ((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f')))
		n++;
	if (n == 0 || p + n == end || p[n] != ' ')
		return emit(s, "FAILURE\n");
	memcpy(f.reqid, p, n);
	return fail(s, &f, "Request too long");
}

static int end_line(struct mdata_session *s)
{
	int r;

	if (s->discarding)
		r = answer_oversize(s);
	else
		r = handle_line(s, s->line.data ? s->line.data : "", s->line.len);
	s->discarding = false;
	s->line.len = 0;
	if (s->line.cap > LINE_KEEP)
		mdata_buf_free(&s->line);
	return r;
}

/* Add n bytes of the current line, or start discarding it past the bound. */
static int take(struct mdata_session *s, const char *buf, size_t n)
{
	size_t keep;

	if (s->discarding)
		return 0;
	if (n <= MDATA_LINE_MAX - s->line.len)
		return mdata_buf_append(&s->line, buf, n);
	keep = s->line.len < PREFIX_KEEP ? PREFIX_KEEP - s->line.len : 0;
	s->discarding = true;
	s->line.len = s->line.len < PREFIX_KEEP ? s->line.len : PREFIX_KEEP;
	return mdata_buf_append(&s->line, buf, keep < n ? keep : n);
}

ssize_t mdata_session_feed(struct mdata_session *s, const char *buf, size_t len)
{
	const char *lf = memchr(buf, '\n', len);
	size_t n = lf ? (size_t)(lf - buf) : len;

	if (take(s, buf, n) < 0 || (lf && end_line(s) < 0))
		return -ENOMEM;
	return (ssize_t)(lf ? n + 1 : n);
}

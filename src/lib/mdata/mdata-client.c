/*
 * mdata-client.c - request frames and reply checks of the guest tools
 * (docs/architecture.md §23), pure.
 *
 * Owns: what mdata-client's proto.c does with bytes: frames with a given
 * request id, replies verified and matched to it, V1 bodies undone.  The
 * tool owns the transport, the timeouts (2 s reset, 6 s before V2, 45 s
 * after) and the retries.
 *
 *     mdata_client_put_payload(&p, "foo", "bar", 3);          "Zm9v YmFy"
 *     mdata_client_request(&out, id, "PUT", p.data, p.len);
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mdata-client.h"

int mdata_client_request(struct mdata_buf *out, const char *reqid, const char *cmd,
			 const void *payload, size_t len)
{
	return mdata_v2_format(out, reqid, cmd, payload, len);
}

/* Append base64(p) to out. */
static int append_b64(struct mdata_buf *out, const void *p, size_t len)
{
	_cleanup_free_ char *b = malloc(mdata_b64_len(len) + 1);

	if (!b)
		return -ENOMEM;
	mdata_b64_encode(p, len, b);
	return mdata_buf_append(out, b, strlen(b));
}

int mdata_client_put_payload(struct mdata_buf *out, const char *key, const void *val, size_t len)
{
	if (append_b64(out, key, strlen(key)) < 0 || mdata_buf_append(out, " ", 1) < 0)
		return -ENOMEM;
	return append_b64(out, val, len);
}

static enum mdata_code code_of(const char *p, size_t len)
{
	if (len == 7 && memcmp(p, "SUCCESS", 7) == 0)
		return MDATA_SUCCESS;
	if (len == 8 && memcmp(p, "NOTFOUND", 8) == 0)
		return MDATA_NOTFOUND;
	return MDATA_FAILURE;
}

int mdata_client_parse(const char *line, size_t len, const char *reqid, struct mdata_answer *a)
{
	struct mdata_v2_frame f;
	_cleanup_free_ char *p = NULL;
	size_t n = 0;
	int r;

	if (mdata_v2_parse(line, len, &f) < 0 || strcmp(f.reqid, reqid) != 0)
		return -EAGAIN;
	r = mdata_b64_decode(f.payload, f.payload_len, &p, &n);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return -EAGAIN;
	return mdata_answer_set(a, code_of(f.cmd, f.cmd_len), p, n);
}

int mdata_client_v1_line(const char *line, size_t len, struct mdata_buf *body)
{
	if (len == 1 && line[0] == '.')
		return 1;
	if (len && line[0] == '.') {
		line++;
		len--;
	}
	if (mdata_buf_append(body, line, len) < 0 || mdata_buf_append(body, "\n", 1) < 0)
		return -ENOMEM;
	return 0;
}

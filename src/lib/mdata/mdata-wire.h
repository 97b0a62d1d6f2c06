/*
 * mdata-wire.h - the bytes of SmartOS's metadata protocol (docs/architecture.md
 * §23): CRC-32, strict base64, V2 frames and V1 lines, both directions.
 *
 * Owns: the wire format only.  What a request means (the session) and what
 * a key holds (mdata-keys) live elsewhere.  Pure: no file, no descriptor,
 * no global state; every length a peer controls is checked here.
 *
 *     struct mdata_v2_frame f;
 *     if (mdata_v2_parse(line, len, &f) < 0)
 *             return;                                   a bad frame: no reply
 *     mdata_v2_format(&out, f.reqid, "SUCCESS", "OK", 2);
 *
 * A frame is "V2 <clen> <crc32> <reqid> <code>[ <base64>]" and one LF;
 * clen and crc32 cover the body from <reqid> on, exactly as sent (only the
 * LF is stripped: a trailing space counts).
 */
#ifndef ZH_MDATA_WIRE_H
#define ZH_MDATA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDATA_LINE_MAX	(256 * 1024) /* a request line, its LF not counted */
#define MDATA_REQID_MAX 16	     /* hex digits of a request id we accept */

enum mdata_code {
	MDATA_SUCCESS,
	MDATA_NOTFOUND,
	MDATA_FAILURE,
};

/* An answer to one request: a code and its payload (malloc'd, may be NULL when len is 0). */
struct mdata_answer {
	enum mdata_code code;
	char *data;
	size_t len;
};

/* A growable byte buffer (replies, encoded payloads). */
struct mdata_buf {
	char *data;
	size_t len, cap;
};

/* A parsed V2 frame; cmd and payload point into the parsed line. */
struct mdata_v2_frame {
	char reqid[MDATA_REQID_MAX + 1];
	const char *cmd;
	size_t cmd_len;
	const char *payload; /* base64 text, not decoded */
	size_t payload_len;
};

/* A parsed V1 request line; cmd and arg point into the parsed line. */
struct mdata_v1_request {
	const char *cmd;
	size_t cmd_len;
	const char *arg; /* after one separating blank, trailing blanks removed */
	size_t arg_len;
};

/* zlib's CRC-32 (IEEE 802.3, reflected 0xEDB88320, init and final xor ~0). */
uint32_t mdata_crc32(const void *buf, size_t len);

/* The length of base64(n bytes), without a NUL. */
size_t mdata_b64_len(size_t n);

/* Write base64(in) and a NUL into out (mdata_b64_len(n) + 1 bytes). */
void mdata_b64_encode(const void *in, size_t n, char *out);

/*
 * Decode strict standard base64 (A-Z a-z 0-9 + /, '=' padding only at the
 * end, length a multiple of 4, unused bits zero) into a malloc'd buffer
 * with a NUL after *outlen bytes.  0, -EINVAL on anything else, -ENOMEM.
 */
int mdata_b64_decode(const char *in, size_t n, char **out, size_t *outlen);

/* Append n bytes: 0 or -ENOMEM (the buffer is unchanged then). */
int mdata_buf_append(struct mdata_buf *b, const void *p, size_t n);

/* Drop the first n bytes. */
void mdata_buf_consume(struct mdata_buf *b, size_t n);

/* Release the memory; idempotent. */
void mdata_buf_free(struct mdata_buf *b);

/* "SUCCESS", "NOTFOUND", "FAILURE". */
const char *mdata_code_name(enum mdata_code code);

/* Fill a with code and a copy of data (len bytes; a NUL follows): 0 or -ENOMEM. */
int mdata_answer_set(struct mdata_answer *a, enum mdata_code code, const char *data, size_t len);

/* Release a's payload; idempotent. */
void mdata_answer_clear(struct mdata_answer *a);

/*
 * Parse a V2 frame (line without its LF, len bytes, starting "V2 ").
 * 0, or -EINVAL for anything but a well-formed frame whose clen and CRC
 * match the body as sent: the server then stays silent.
 */
int mdata_v2_parse(const char *line, size_t len, struct mdata_v2_frame *f);

/* Append the V2 frame "<reqid> <code>[ base64(payload)]" (no payload when len is 0). */
int mdata_v2_format(struct mdata_buf *out, const char *reqid, const char *code, const void *payload,
		    size_t len);

/*
 * Parse a V1 line (without its LF): trailing blanks removed, the command up
 * to the first blank, the argument after one blank.  -EINVAL for a blank
 * line or one starting with a blank (answered "invalid command").
 */
int mdata_v1_parse(const char *line, size_t len, struct mdata_v1_request *r);

/*
 * Append a V1 answer: "NOTFOUND\n", "FAILURE\n", or "SUCCESS\n", the
 * payload with every line's leading '.' doubled, "\n.\n".
 */
int mdata_v1_format(struct mdata_buf *out, enum mdata_code code, const void *payload, size_t len);

/* Is c a blank as JavaScript's trim() sees it in ASCII (space, \t \n \v \f \r)? */
bool mdata_is_blank(char c);

/* Trim blanks from both ends of [*p, *p + *len). */
void mdata_trim(const char **p, size_t *len);

#endif

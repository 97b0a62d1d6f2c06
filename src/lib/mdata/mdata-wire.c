/*
 * mdata-wire.c - CRC-32, strict base64, V2 frames and V1 lines of the
 * metadata protocol (docs/architecture.md §23).
 *
 * Owns: the byte format, nothing else.  Parsing is strict where SmartOS's
 * agent is lenient (single blanks between fields, the CRC as 8 lowercase
 * hex digits, canonical base64) but accepts every frame mdata-client and
 * cloud-init send.  Pure: no I/O, no global state (the CRC table is
 * constant), every size checked against the caller's length.
 *
 *     uint32_t c = mdata_crc32("dc4fae17 SUCCESS W10=", 21);     0x265ae1d8
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mdata-wire.h"

static const uint32_t crc_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535,
	0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd,
	0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d,
	0x6ddde4eb, 0xf4d4b551, 0x83d385c7, 0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4,
	0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59, 0x26d930ac,
	0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab,
	0xb6662d3d, 0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f,
	0x9fbfe4a5, 0xe8b8d433, 0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb,
	0x086d3d2d, 0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea,
	0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65, 0x4db26158, 0x3ab551ce,
	0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a,
	0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409,
	0xce61e49f, 0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739,
	0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1, 0xf00f9344, 0x8708a3d2, 0x1e01f268,
	0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0,
	0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8,
	0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef,
	0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703,
	0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7,
	0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d, 0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae,
	0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777, 0x88085ae6,
	0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d,
	0x3e6e77db, 0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5,
	0x47b2cf7f, 0x30b5ffe9, 0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605,
	0xcdd70693, 0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint32_t mdata_crc32(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

size_t mdata_b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void mdata_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;

		v |= left > 1 ? (uint32_t)p[i + 1] << 8 : 0;
		v |= left > 2 ? p[i + 2] : 0;
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The value of a base64 digit, or -1. */
static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode one quantum of 4 digits (pad of them '=' at its end) into out: bytes written or -EINVAL.
 */
static int b64_quantum(const char *q, int pad, unsigned char *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int d = i < 4 - pad ? b64_value(q[i]) : 0;

		if (d < 0 || (i >= 4 - pad && q[i] != '='))
			return -EINVAL;
		v = v << 6 | (uint32_t)d;
	}
	if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
		return -EINVAL; /* non-canonical: unused bits set */
	out[0] = v >> 16;
	out[1] = v >> 8;
	out[2] = v;
	return 3 - pad;
}

/* How many '=' end the n-digit text (0-2), or -EINVAL. */
static int b64_padding(const char *in, size_t n)
{
	if (n % 4)
		return -EINVAL;
	if (n >= 2 && in[n - 1] == '=' && in[n - 2] == '=')
		return 2;
	return n >= 1 && in[n - 1] == '=';
}

int mdata_b64_decode(const char *in, size_t n, char **out, size_t *outlen)
{
	int pad = b64_padding(in, n);
	_cleanup_free_ char *buf = NULL;
	size_t o = 0;

	if (pad < 0)
		return pad;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += 4) {
		int r = b64_quantum(in + i, i + 4 == n ? pad : 0, (unsigned char *)buf + o);

		if (r < 0)
			return r;
		o += (size_t)r;
	}
	buf[o] = '\0';
	*outlen = o;
	*out = TAKE_PTR(buf);
	return 0;
}

int mdata_buf_append(struct mdata_buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap - b->len < n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void mdata_buf_consume(struct mdata_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void mdata_buf_free(struct mdata_buf *b)
{
	free(b->data);
	*b = (struct mdata_buf){0};
}

const char *mdata_code_name(enum mdata_code code)
{
	switch (code) {
	case MDATA_SUCCESS: return "SUCCESS";
	case MDATA_NOTFOUND: return "NOTFOUND";
	default: return "FAILURE";
	}
}

int mdata_answer_set(struct mdata_answer *a, enum mdata_code code, const char *data, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return -ENOMEM;
	if (len)
		memcpy(d, data, len);
	d[len] = '\0';
	free(a->data);
	*a = (struct mdata_answer){code, d, len};
	return 0;
}

void mdata_answer_clear(struct mdata_answer *a)
{
	free(a->data);
	*a = (struct mdata_answer){0};
}

bool mdata_is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

void mdata_trim(const char **p, size_t *len)
{
	while (*len && mdata_is_blank(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len && mdata_is_blank((*p)[*len - 1]))
		(*len)--;
}

/* Parse the decimal digits at [*p, end) up to a blank into *v (no sign, bounded). */
static int parse_dec(const char **p, const char *end, size_t *v)
{
	const char *s = *p;

	*v = 0;
	while (s < end && *s >= '0' && *s <= '9' && s - *p < 9)
		*v = *v * 10 + (size_t)(*s++ - '0');
	if (s == *p || s == end || *s != ' ')
		return -EINVAL;
	*p = s + 1;
	return 0;
}

/* Take the lowercase hex field at [*p, end) up to a blank: its length (1..max), or -EINVAL. */
static int hex_field(const char **p, const char *end, size_t max)
{
	const char *s = *p;
	size_t n;

	while (s < end && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
		s++;
	n = (size_t)(s - *p);
	if (n == 0 || n > max || s == end || *s != ' ')
		return -EINVAL;
	*p = s + 1;
	return (int)n;
}

/* Split the body "<reqid> <cmd>[ <payload>]" into f. */
static int split_body(const char *body, const char *end, struct mdata_v2_frame *f)
{
	const char *p = body, *sp;
	int n = hex_field(&p, end, MDATA_REQID_MAX);

	if (n < 0)
		return n;
	memcpy(f->reqid, body, (size_t)n);
	f->reqid[n] = '\0';
	sp = memchr(p, ' ', (size_t)(end - p));
	f->cmd = p;
	f->cmd_len = (size_t)((sp ? sp : end) - p);
	f->payload = sp ? sp + 1 : end;
	f->payload_len = (size_t)(end - f->payload);
	return f->cmd_len ? 0 : -EINVAL;
}

int mdata_v2_parse(const char *line, size_t len, struct mdata_v2_frame *f)
{
	const char *p = line + 3, *end = line + len, *crc;
	char want[9];
	size_t clen;

	if (len < 3 || memcmp(line, "V2 ", 3) != 0 || parse_dec(&p, end, &clen) < 0)
		return -EINVAL;
	crc = p;
	if (hex_field(&p, end, 8) != 8 || clen == 0 || clen != (size_t)(end - p))
		return -EINVAL;
	snprintf(want, sizeof(want), "%08" PRIx32, mdata_crc32(p, clen));
	if (memcmp(crc, want, 8) != 0)
		return -EINVAL;
	return split_body(p, end, f);
}

int mdata_v2_format(struct mdata_buf *out, const char *reqid, const char *code, const void *payload,
		    size_t len)
{
	struct mdata_buf body = {0};
	char head[48];
	int r = 0;

	if (mdata_buf_append(&body, reqid, strlen(reqid)) < 0 ||
	    mdata_buf_append(&body, " ", 1) < 0 || mdata_buf_append(&body, code, strlen(code)) < 0)
		r = -ENOMEM;
	if (r == 0 && len) {
		_cleanup_free_ char *b64 = malloc(mdata_b64_len(len) + 1);

		if (b64)
			mdata_b64_encode(payload, len, b64);
		if (!b64 || mdata_buf_append(&body, " ", 1) < 0 ||
		    mdata_buf_append(&body, b64, strlen(b64)) < 0)
			r = -ENOMEM;
	}
	snprintf(head, sizeof(head), "V2 %zu %08" PRIx32 " ", body.len,
		 mdata_crc32(body.data, body.len));
	if (r == 0 &&
	    (mdata_buf_append(out, head, strlen(head)) < 0 ||
	     mdata_buf_append(out, body.data, body.len) < 0 || mdata_buf_append(out, "\n", 1) < 0))
		r = -ENOMEM;
	mdata_buf_free(&body);
	return r;
}

int mdata_v1_parse(const char *line, size_t len, struct mdata_v1_request *r)
{
	size_t n = 0;

	while (len && mdata_is_blank(line[len - 1]))
		len--;
	if (len == 0 || mdata_is_blank(line[0]))
		return -EINVAL;
	while (n < len && !mdata_is_blank(line[n]))
		n++;
	r->cmd = line;
	r->cmd_len = n;
	r->arg = line + (n < len ? n + 1 : n);
	r->arg_len = len - (size_t)(r->arg - line);
	return 0;
}

/* Append the payload with every line's leading '.' doubled. */
static int dot_stuff(struct mdata_buf *out, const char *p, size_t len)
{
	bool bol = true;

	for (size_t i = 0; i < len; i++) {
		if (bol && p[i] == '.' && mdata_buf_append(out, ".", 1) < 0)
			return -ENOMEM;
		if (mdata_buf_append(out, p + i, 1) < 0)
			return -ENOMEM;
		bol = p[i] == '\n';
	}
	return 0;
}

int mdata_v1_format(struct mdata_buf *out, enum mdata_code code, const void *payload, size_t len)
{
	if (code != MDATA_SUCCESS) {
		const char *s = code == MDATA_NOTFOUND ? "NOTFOUND\n" : "FAILURE\n";

		return mdata_buf_append(out, s, strlen(s));
	}
	if (mdata_buf_append(out, "SUCCESS\n", 8) < 0 || dot_stuff(out, payload, len) < 0)
		return -ENOMEM;
	return mdata_buf_append(out, "\n.\n", 3);
}

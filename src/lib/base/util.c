/*
 * util.c - small pure helpers.  See util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "util.h"

int util_uuid_generate(char out[UTIL_UUID_LEN + 1])
{
	unsigned char b[16];
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, UTIL_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}

static bool is_dash_pos(size_t i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

bool util_is_uuid(const char *s)
{
	if (!s || strlen(s) != UTIL_UUID_LEN)
		return false;
	for (size_t i = 0; i < UTIL_UUID_LEN; i++) {
		char c = s[i];

		if (is_dash_pos(i) ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

bool util_is_uuid_shape(const char *s)
{
	if (!s || strlen(s) != UTIL_UUID_LEN)
		return false;
	for (size_t i = 0; i < UTIL_UUID_LEN; i++)
		if (is_dash_pos(i) != (s[i] == '-'))
			return false;
	return true;
}

void util_timestamp_from(char out[UTIL_TIMESTAMP_LEN + 1], int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	char tmp[64];

	gmtime_r(&secs, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	memcpy(out, tmp, UTIL_TIMESTAMP_LEN);
	out[UTIL_TIMESTAMP_LEN] = '\0';
}

void util_timestamp_now(char out[UTIL_TIMESTAMP_LEN + 1])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	util_timestamp_from(out, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int util_parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || !end || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int util_parse_u64(const char *s, uint64_t *out)
{
	int64_t v;
	int r = util_parse_i64(s, &v);

	if (r < 0)
		return r;
	if (v < 0)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

int util_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	_cleanup_free_ char *num = NULL;
	uint64_t v, mult = 1;
	size_t n;
	const char *u;
	int r;

	if (!s || !*s)
		return -EINVAL;
	n = strlen(s);
	u = strchr(units, toupper((unsigned char)s[n - 1]));
	if (u && s[n - 1] != '\0') {
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		n--;
	}
	num = strndup(s, n);
	if (!num)
		return -ENOMEM;
	r = util_parse_u64(num, &v);
	if (r < 0)
		return r;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

char **util_split(const char *s, char sep)
{
	size_t cap = 1, n = 0;
	char **v;
	const char *p = s;

	for (const char *q = s; *q; q++)
		cap += *q == sep;
	v = calloc(cap + 1, sizeof(char *));
	if (!v)
		return NULL;
	while (*p) {
		const char *e = strchr(p, sep);
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len > 0) {
			v[n] = strndup(p, len);
			if (!v[n++]) {
				strv_free(v);
				return NULL;
			}
		}
		p += len + (e ? 1 : 0);
	}
	return v;
}

size_t util_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int util_exe_sibling(const char *name, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", dirname(exe), name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * util.h - small pure helpers: UUIDs, timestamps, bounded number parsing,
 * string vectors.
 *
 * Owns nothing.  No function here prints or exits.
 *
 *     char id[UTIL_UUID_LEN + 1];
 *     if (util_uuid_generate(id) < 0) ...
 *     if (!util_is_uuid(arg)) ...
 */
#ifndef ZH_UTIL_H
#define ZH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_UUID_LEN	   36
#define UTIL_TIMESTAMP_LEN 24 /* 2011-12-31T06:38:42.457Z */

/* Random v4 UUID, lowercase, from getrandom(2). */
int util_uuid_generate(char out[UTIL_UUID_LEN + 1]);

/* SmartOS isUUID: 8-4-4-4-12 lowercase hex. */
bool util_is_uuid(const char *s);

/* vmadm getUUID: 36 chars with '-' at 8,13,18,23 (case not checked). */
bool util_is_uuid_shape(const char *s);

/* ISO-8601 UTC with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void util_timestamp_now(char out[UTIL_TIMESTAMP_LEN + 1]);
void util_timestamp_from(char out[UTIL_TIMESTAMP_LEN + 1], int64_t ms_since_epoch);

/* Strict base-10 integer parse of the whole string; -EINVAL / -ERANGE. */
int util_parse_i64(const char *s, int64_t *out);
int util_parse_u64(const char *s, uint64_t *out);

/* Parse "20G", "512M", "1T", "4096" (bytes) into bytes. */
int util_parse_size(const char *s, uint64_t *out);

/* Split s on sep into a NULL-terminated vector, dropping empty fields. */
char **util_split(const char *s, char sep);
size_t util_strv_len(char *const *v);

/*
 * "<directory of this process's executable>/name" into buf (a program
 * installed beside us: zoneadmd beside vmadm, vmadm beside zoneadmd);
 * 0, or -errno (-ENAMETOOLONG when it does not fit).  Not checked to exist.
 */
int util_exe_sibling(const char *name, char *buf, size_t len);

#endif

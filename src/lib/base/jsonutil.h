/*
 * jsonutil.h - jansson helpers shared by the modules.
 *
 *     json_t *j = NULL;
 *     if (jsonutil_parse(text, len, "Invalid JSON payload", &j, &err) < 0) ...
 *
 * jsonutil_parse rejects anything that is not one JSON object and says
 * where: "<what>: <reason> at line L, column C".
 */
#ifndef ZH_JSONUTIL_H
#define ZH_JSONUTIL_H

#include <jansson.h>

#include "error.h"

static inline void jsonutil_decrefp(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define _cleanup_json_ _cleanup_(jsonutil_decrefp)

int jsonutil_parse(const char *text, size_t len, const char *what, json_t **out,
		   struct zh_error *err);

/* Load a JSON object from a file (at most max bytes). */
int jsonutil_load_file(const char *path, size_t max, json_t **out, struct zh_error *err);

/* Atomically write j to path (2-space indent, sorted keys, trailing newline). */
int jsonutil_store_file(const char *path, const json_t *j, struct zh_error *err);

/* String member or NULL. */
const char *jsonutil_str(const json_t *obj, const char *key);

#endif

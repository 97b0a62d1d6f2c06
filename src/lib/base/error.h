/*
 * error.h - the one error object every fallible library function fills.
 *
 * Owns: the message and property name strings inside a struct zh_error.
 * Contract (crun error_handling.md): a function returns 0 (or a pointer) and
 * leaves *err untouched on success; on failure it returns a negative errno
 * and fills *err once, where the failure happens.  Callers at module
 * boundaries may add context with zh_error_prefix().  Only the top (a main,
 * or zoneadmd) prints it.
 *
 *     struct zh_error err = ZH_ERROR_INIT;
 *     if (pool_open("zones", &p, &err) < 0) {
 *             fprintf(stderr, "%s\n", err.msg);
 *             zh_error_clear(&err);
 *     }
 *
 * `prop` names the offending property or argument when there is one.
 * Allocation failure while building an error leaves msg pointing at a
 * static "out of memory" text (never NULL after a failure).
 */
#ifndef ZH_ERROR_H
#define ZH_ERROR_H

#include "macro.h"

struct zh_error {
	int errnum; /* positive errno value */
	char *prop; /* offending property/argument, or NULL */
	char *msg;  /* human-readable message */
};

#define ZH_ERROR_INIT         \
	{                     \
		0, NULL, NULL \
	}

/*
 * Fill err (replacing any previous content) and return -errnum.
 * err may be NULL; the return value is still -errnum.
 */
int zh_error_set(struct zh_error *err, int errnum, const char *prop, const char *fmt, ...)
	_printf_(4, 5);

/* Prepend "<context>: " to the message; returns -err->errnum. */
int zh_error_prefix(struct zh_error *err, const char *fmt, ...) _printf_(2, 3);

/* Replace the message entirely (keeps errnum/prop); returns -err->errnum. */
int zh_error_reword(struct zh_error *err, const char *fmt, ...) _printf_(2, 3);

/* Release the strings and reset to ZH_ERROR_INIT. Idempotent. */
void zh_error_clear(struct zh_error *err);

/* Shorthand for the common -ENOMEM case. */
int zh_error_oom(struct zh_error *err);

#endif

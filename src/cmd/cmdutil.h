/*
 * cmdutil.h - what every main shares: exit codes, error printing, payload
 * reading, JSON output, root check.
 *
 * Exit codes (docs/architecture.md §4): 0 success, 1 error, 2 usage error;
 * imgadm adds 3 for "image not installed".
 */
#ifndef ZH_CMDUTIL_H
#define ZH_CMDUTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

#define EXIT_OK	   0
#define EXIT_ERR   1
#define EXIT_USAGE 2

extern const char *program_name;

/* Print "<msg>" (the error's message) on stderr, clear it, return EXIT_ERR. */
int cmd_fail(struct zh_error *err);

/* printf-style message on stderr + newline; returns code. */
int cmd_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Read a JSON payload from path ("-" or NULL = stdin).  Refuses a tty stdin
 * with "Will not <verb> from stdin when stdin is a tty." (exit 2).
 * Messages: "File: <f> does not exist.", "Invalid JSON payload: <msg>".
 * Returns 0, or the exit code to use.
 */
int cmd_read_payload(const char *path, const char *verb, json_t **out);

/* JSON to stdout, 2-space indent, sorted keys, trailing newline. */
void cmd_print_json(const json_t *j);

/* `FATAL: cannot run because: must be root` (exit 2) unless euid 0. */
int cmd_require_root(void);

#endif

/*
 * cmdutil.c - shared main helpers.  See cmdutil.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdutil.h"
#include "fsutil.h"
#include "jsonutil.h"

#define PAYLOAD_MAX (16u << 20)

int cmd_fail(struct zh_error *err)
{
	fprintf(stderr, "%s\n", err->msg ? err->msg : "unknown error");
	zh_error_clear(err);
	return EXIT_ERR;
}

int cmd_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int read_stdin(char **buf, size_t *len)
{
	size_t cap = 0, used = 0;
	char *b = NULL;

	for (;;) {
		size_t n;

		if (used + 1 >= cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > PAYLOAD_MAX + 2 || !(nb = realloc(b, cap))) {
				free(b);
				return -EFBIG;
			}
			b = nb;
		}
		n = fread(b + used, 1, cap - used - 1, stdin);
		used += n;
		if (n == 0)
			break;
	}
	b[used] = '\0';
	*buf = b;
	*len = used;
	return 0;
}

int cmd_read_payload(const char *path, const char *verb, json_t **out)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (!path || streq(path, "-")) {
		if (isatty(STDIN_FILENO))
			return cmd_die(EXIT_USAGE, "Will not %s from stdin when stdin is a tty.",
				       verb);
		if (read_stdin(&buf, &len) < 0)
			return cmd_die(EXIT_ERR, "Invalid JSON payload: payload too large");
	} else {
		if (!fsutil_exists(path))
			return cmd_die(EXIT_ERR, "File: %s does not exist.", path);
		if (fsutil_read_all(path, PAYLOAD_MAX, &buf, &len, &err) < 0)
			return cmd_fail(&err);
	}
	if (jsonutil_parse(buf, len, "Invalid JSON payload", out, &err) < 0)
		return cmd_fail(&err);
	return 0;
}

void cmd_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

int cmd_require_root(void)
{
	if (geteuid() != 0)
		return cmd_die(EXIT_USAGE, "FATAL: cannot run because: must be root");
	return 0;
}

/*
 * error.c - struct zh_error construction.  See error.h for the contract.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static char oom_text[] = "out of memory";

static void release(struct zh_error *err)
{
	if (err->msg != oom_text)
		free(err->msg);
	free(err->prop);
	err->msg = NULL;
	err->prop = NULL;
}

int zh_error_set(struct zh_error *err, int errnum, const char *prop, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (errnum < 0)
		errnum = -errnum;
	if (errnum == 0)
		errnum = EINVAL;
	if (!err)
		return -errnum;
	release(err);
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	err->errnum = errnum;
	err->msg = m ? m : oom_text;
	err->prop = prop ? strdup(prop) : NULL;
	return -errnum;
}

static int rewrite(struct zh_error *err, const char *head, const char *tail)
{
	char *m = NULL;

	if (asprintf(&m, "%s%s", head, tail) < 0)
		return -err->errnum;
	if (err->msg != oom_text)
		free(err->msg);
	err->msg = m;
	return -err->errnum;
}

int zh_error_prefix(struct zh_error *err, const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *ctx = NULL;
	_cleanup_free_ char *head = NULL;

	if (!err)
		return -EINVAL;
	if (err->errnum == 0)
		err->errnum = EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (!ctx || asprintf(&head, "%s: ", ctx) < 0)
		return -err->errnum;
	return rewrite(err, head, err->msg ? err->msg : "");
}

int zh_error_reword(struct zh_error *err, const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *m = NULL;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (!m)
		return -err->errnum;
	return rewrite(err, "", m);
}

void zh_error_clear(struct zh_error *err)
{
	if (!err)
		return;
	release(err);
	err->errnum = 0;
}

int zh_error_oom(struct zh_error *err)
{
	return zh_error_set(err, ENOMEM, NULL, "out of memory");
}

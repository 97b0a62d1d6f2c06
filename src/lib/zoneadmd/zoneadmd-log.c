/*
 * zoneadmd-log.c - per-zone logs as JSON lines (docs/architecture.md):
 * {"time":"<ISO>","stream":"<console|zoneadmd>","msg":"<text>"} under
 * <zonepath>/logs/, rotated by size (the file becomes <name>.0, one old
 * generation is kept).
 *
 *     zlog_open(&l, "/zones/<u>/logs", "console.log", 1 << 20, &err);
 *     zlog_console(&l, buf, n);          (guest bytes: split into lines)
 *     zlog_write(&l, "zoneadmd", "booted", 6);
 *
 * The guest controls the console bytes: a line is cut at sizeof(line)
 * bytes, bytes that are not valid UTF-8 become '?', and a write error is
 * ignored (logging must never stop the zone).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonutil.h"
#include "paths.h"
#include "zoneadmd.h"

#define ZLOG_DEFAULT_MAX (1u << 20)

int zlog_open(struct zlog *l, const char *dir, const char *name, uint64_t max, struct zh_error *err)
{
	struct stat st;

	*l = (struct zlog){.fd = -EBADF, .max = max ? max : ZLOG_DEFAULT_MAX};
	l->path = paths_join(dir, name);
	if (!l->path)
		return zh_error_oom(err);
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", l->path);
	if (fstat(l->fd, &st) == 0)
		l->size = (uint64_t)st.st_size;
	return 0;
}

void zlog_close(struct zlog *l)
{
	closep(&l->fd);
	freep(&l->path);
}

static void rotate(struct zlog *l)
{
	_cleanup_free_ char *old = NULL;

	if (asprintf(&old, "%s.0", l->path) < 0)
		return;
	if (rename(l->path, old) < 0)
		return;
	closep(&l->fd);
	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	l->size = 0;
}

/* msg as a JSON string: invalid UTF-8 and NUL become '?'. */
static json_t *safe_string(const char *msg, size_t len)
{
	json_t *s = json_stringn(msg, len);
	_cleanup_free_ char *copy = NULL;

	if (s)
		return s;
	copy = malloc(len ? len : 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = ((unsigned char)msg[i] >= 0x80 || msg[i] == '\0') ? '?' : msg[i];
	return json_stringn(copy, len);
}

void zlog_write(struct zlog *l, const char *stream, const char *msg, size_t len)
{
	char ts[UTIL_TIMESTAMP_LEN + 1];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *s = NULL;
	json_t *m;
	size_t n;

	if (l->fd < 0)
		return;
	util_timestamp_now(ts);
	m = safe_string(msg, len);
	j = m ? json_pack("{s:s,s:s,s:o}", "time", ts, "stream", stream, "msg", m) : NULL;
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s)
		return;
	n = strlen(s);
	s[n] = '\n'; /* json_dumps' NUL becomes the newline */
	zlog_append(l, s, n + 1);
}

void zlog_append(struct zlog *l, const char *rec, size_t len)
{
	if (l->fd < 0)
		return;
	if (write(l->fd, rec, len) == (ssize_t)len)
		l->size += len;
	if (l->size >= l->max)
		rotate(l);
}

static void flush_line(struct zlog *l)
{
	size_t n = l->used;

	if (n && l->line[n - 1] == '\r')
		n--;
	zlog_write(l, "console", l->line, n);
	l->used = 0;
}

void zlog_console(struct zlog *l, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			flush_line(l);
			continue;
		}
		l->line[l->used++] = buf[i];
		if (l->used == sizeof(l->line))
			flush_line(l);
	}
}

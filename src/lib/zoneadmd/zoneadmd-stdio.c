/*
 * zoneadmd-stdio.c - a docker zone's stdout and stderr, relayed into
 * <zonepath>/logs/stdio.log as docker's json-file lines
 * (docs/architecture.md §24.3):
 *
 *     {"log":"hello\n","stream":"stdout","time":"2026-12-06T03:04:05.123456789Z"}
 *
 *     int w[2];
 *     zad_stdio_open(z, w, &err);    w[0], w[1]: the process's 1 and 2
 *     ... ZT_STDIO events: zad_stdio_read(z, fd);  ... zad_stdio_close(z);
 *
 * Each stream is a non-blocking pipe that zoneadmd's loop reads when it is
 * readable, at most a few chunks per wake-up; a line is cut at
 * sizeof(line) bytes (the record then has no "\n", as docker splits long
 * lines), a partial line is written at the end.  The process controls the
 * bytes: invalid UTF-8 and NUL become '?' (jansson refuses them).  Nothing
 * here blocks the loop: a full pipe blocks the process, never zoneadmd; a
 * failed log write loses the record (logging never stops the zone).  The
 * log rotates like the others (zlog, zlog_max_size).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "jsonutil.h"
#include "paths.h"
#include "zoneadmd.h"

#define STDIO_CHUNK 4096

static const char *const stream_names[2] = {"stdout", "stderr"};

/* RFC 3339 with nanoseconds, UTC, as docker writes it. */
static void time_nano(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%09ldZ", base, ts.tv_nsec);
}

static json_t *log_string(const char *buf, size_t len)
{
	char copy[sizeof(((struct zad_stdio_stream *)0)->line) + 1];
	json_t *s = json_stringn(buf, len);

	if (s)
		return s;
	for (size_t i = 0; i < len; i++)
		copy[i] = ((unsigned char)buf[i] >= 0x80 || buf[i] == '\0') ? '?' : buf[i];
	return json_stringn(copy, len);
}

static void write_record(struct zad *z, int which, const char *buf, size_t len)
{
	char ts[48];
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *s = NULL;
	json_t *m = log_string(buf, len);

	time_nano(ts, sizeof(ts));
	j = m ? json_pack("{s:o,s:s,s:s}", "log", m, "stream", stream_names[which], "time", ts)
	      : NULL;
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s)
		return;
	size_t n = strlen(s);
	s[n] = '\n'; /* json_dumps' NUL becomes the newline */
	zlog_append(&z->dk.log, s, n + 1);
}

static void feed(struct zad *z, int which, const char *buf, size_t len)
{
	struct zad_stdio_stream *st = &z->dk.out[which];

	for (size_t i = 0; i < len; i++) {
		st->line[st->used++] = buf[i];
		if (buf[i] == '\n' || st->used == sizeof(st->line)) {
			write_record(z, which, st->line, st->used);
			st->used = 0;
		}
	}
}

static void stream_end(struct zad *z, int which)
{
	struct zad_stdio_stream *st = &z->dk.out[which];

	if (st->used)
		write_record(z, which, st->line, st->used);
	st->used = 0;
	zad_unwatch(z, st->fd);
	closep(&st->fd);
}

void zad_stdio_read(struct zad *z, int fd)
{
	char buf[STDIO_CHUNK];
	int which = z->dk.out[0].fd == fd ? 0 : z->dk.out[1].fd == fd ? 1 : -1;

	if (which < 0)
		return;
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			feed(z, which, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			stream_end(z, which);
		return;
	}
}

static int64_t log_max(const struct zad *z)
{
	json_t *v = json_object_get(z->vm, "zlog_max_size");

	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

int zad_stdio_open(struct zad *z, int w[2], struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(z->zonepath, PATHS_DS_LOGS);
	int p[2];

	if (!dir)
		return zh_error_oom(err);
	if (z->dk.log.fd < 0 &&
	    zlog_open(&z->dk.log, dir, "stdio.log", (uint64_t)log_max(z), err) < 0)
		return -err->errnum;
	for (int i = 0; i < 2; i++) {
		if (z->dk.out[i].fd >= 0) /* a reboot: the last boot's pipe */
			stream_end(z, i);
		if (pipe2(p, O_CLOEXEC) < 0)
			return zh_error_set(err, errno, NULL, "pipe: %m");
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		z->dk.out[i].fd = p[0];
		z->dk.out[i].used = 0;
		w[i] = p[1];
		if (zad_watch(z, p[0], ZT_STDIO, EPOLLIN) < 0)
			return zh_error_set(err, errno, NULL, "epoll: %m");
	}
	return 0;
}

void zad_stdio_close(struct zad *z)
{
	for (int i = 0; i < 2; i++)
		if (z->dk.out[i].fd >= 0) {
			zad_stdio_read(z, z->dk.out[i].fd); /* the last words */
			if (z->dk.out[i].fd >= 0)
				stream_end(z, i);
		}
	zlog_close(&z->dk.log);
}

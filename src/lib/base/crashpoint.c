/*
 * crashpoint.c - the crash-consistency test hook.  See crashpoint.h.
 *
 * The environment is read at every call (the hook costs one getenv when
 * unset): a test sets it per command, and zoneadmd inherits it from vmadm.
 * The log line is written with one write(2) to an O_APPEND file, so lines
 * from concurrent processes never interleave.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashpoint.h"

static void log_step(const char *step)
{
	const char *path = getenv("ZONEHOST_CRASH_LOG");
	char line[256];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %d\n", step, (int)getpid());
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) < 0)
		n = 0;
	fsync(fd);
	close(fd);
}

void crashpoint(const char *step)
{
	const char *at = getenv("ZONEHOST_CRASH_AT");

	if (!at || !*at || strcmp(at, step) != 0)
		return;
	log_step(step);
	raise(SIGKILL);
	_exit(137); /* not reached */
}

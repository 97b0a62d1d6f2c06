/*
 * zone-child.c - how the zone's first child reports a failure to its
 * parent: the errno and message go into struct zone_child, which the
 * parent reads after the child exits (zone-ns.c).  See zone-internal.h.
 *
 * The lowest module of the zone folder's spawn path: zone-ns.c,
 * zone-mount.c, zone-dev.c and zone-idmap.c all report through it, so
 * none of them needs another for this.  zone_child_signals() resets the
 * signals before an exec (init, or a zone_run process).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "zone-internal.h"

int zone_child_fail(struct zone_child *c, int errnum, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (errnum <= 0)
		errnum = EIO;
	c->errnum = errnum;
	errno = saved;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return -errnum;
}

void zone_child_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void zone_child_ready(struct zone_child *c)
{
	struct zone_child_msg m = {0};

	(void)!write(c->err_fd, &m, sizeof(m) - 1);
}

/*
 * zone-join.c - namespaces a zone_run process joins instead of making its
 * own (docs/architecture.md §24.3): an OCI config's namespace with a
 * `path` (a CNI-made network namespace, a pod's IPC and UTS).
 *
 * Owns: the parent's setns() around the clone3.  zoneadmd is single-
 * threaded, so the calling thread enters each namespace to join, clone3()
 * (without that namespace's flag) puts the child in it, and the thread
 * goes back to its own namespaces at once, from fds it opened first.
 *
 *     int saved[ZONE_JOIN_N];
 *     zone_join_enter(s, saved, &err);  clone3(flags & ~zone_join_flags(s));
 *     zone_join_leave(saved);
 *
 * The path must name a namespace of the right type (setns() checks it
 * with the type given).  The user namespace is always the zone's own.  A
 * PID namespace is refused: the zone's /proc must be mounted by a process
 * privileged over that namespace's owner, which a zone's root is not.
 * A joined UTS namespace keeps its host name (zone-ns.c skips
 * sethostname); a joined network namespace gets a sysfs made here, by the
 * parent, inside it (zone-extra.c), and no VNICs (zoneadmd's choice).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "macro.h"
#include "zone-internal.h"

static const struct {
	const char *name;
	int flag;
} kinds[ZONE_JOIN_N] = {
	[ZONE_JOIN_NET] = {"net", CLONE_NEWNET},
	[ZONE_JOIN_IPC] = {"ipc", CLONE_NEWIPC},
	[ZONE_JOIN_UTS] = {"uts", CLONE_NEWUTS},
	[ZONE_JOIN_PID] = {"pid", CLONE_NEWPID},
};

unsigned long zone_join_flags(const struct zone_spec *s)
{
	unsigned long f = 0;

	for (int i = 0; s->run && i < ZONE_JOIN_N; i++)
		if (s->run->join[i])
			f |= (unsigned long)kinds[i].flag;
	return f;
}

void zone_join_leave(int saved[ZONE_JOIN_N])
{
	for (int i = 0; i < ZONE_JOIN_N; i++) {
		/* Our own namespaces were open before we left them: this cannot fail. */
		if (saved[i] >= 0 && setns(saved[i], kinds[i].flag) < 0)
			abort();
		closep(&saved[i]);
	}
}

static int join_one(const struct zone_spec *s, int i, int saved[ZONE_JOIN_N], struct zh_error *err)
{
	char own[64];
	const char *path = s->run->join[i];
	_cleanup_close_ int fd = -EBADF;

	snprintf(own, sizeof(own), "/proc/self/ns/%s", kinds[i].name);
	if ((saved[i] = open(own, O_RDONLY | O_CLOEXEC)) < 0)
		return zh_error_set(err, errno, "namespaces", "cannot open %s: %m", own);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return zh_error_set(err, errno, "namespaces",
				    "namespaces: %s namespace path \"%s\": %m", kinds[i].name,
				    path);
	if (setns(fd, kinds[i].flag) < 0) {
		closep(&saved[i]);
		return zh_error_set(err, errno, "namespaces",
				    "namespaces: cannot join the %s namespace \"%s\": %m",
				    kinds[i].name, path);
	}
	return 0;
}

int zone_join_enter(const struct zone_spec *s, int saved[ZONE_JOIN_N], struct zh_error *err)
{
	for (int i = 0; i < ZONE_JOIN_N; i++)
		saved[i] = -EBADF;
	if (!s->run)
		return 0;
	if (s->run->join[ZONE_JOIN_PID])
		return zh_error_set(
			err, ENOTSUP, "namespaces",
			"namespaces: joining a pid namespace (\"%s\") is not supported: "
			"a zone has its own",
			s->run->join[ZONE_JOIN_PID]);
	for (int i = 0; i < ZONE_JOIN_N; i++)
		if (s->run->join[i] && join_one(s, i, saved, err) < 0) {
			zone_join_leave(saved);
			return -err->errnum;
		}
	return 0;
}

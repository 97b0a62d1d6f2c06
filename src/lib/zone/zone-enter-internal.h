/*
 * zone-enter-internal.h - what the zone_enter() modules share, not exported.
 *
 * Owns: struct enter_child, the state of zone_enter()'s intermediate
 * process C and session process S (zone-enter.c's design comment).  Every
 * function declared here that takes a struct enter_child runs in C or S:
 * it never allocates, logs or exits; on failure it records one message
 * with enter_fail() and returns -errno.  Split by concern:
 * zone-enter.c (the processes, the socket, the caller's checks),
 * zone-enter-user.c (the zone's /etc/passwd and /etc/group),
 * zone-enter-oci.c (what the OCI exec adds: ids, capabilities,
 * no_new_privs, the extra seccomp filter, cwd, stdio and preserved fds).
 */
#ifndef ZH_ZONE_ENTER_INTERNAL_H
#define ZH_ZONE_ENTER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "macro.h"
#include "zone.h"

#define ENTER_TEXT_MAX	 400
#define ENTER_GROUPS_MAX 64

#define PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATH_USER "/usr/local/bin:/usr/bin:/bin"

enum { M_GO = 'G', M_PIDFD = 'P', M_MASTER = 'M', M_ERROR = 'E' };

struct enter_msg {
	char tag;
	char prop[16]; /* "", "user", "command", "cwd", "stdio" ... */
	int errnum;
	int pts;
	pid_t pid; /* M_PIDFD: the session's, host view */
	char text[ENTER_TEXT_MAX];
};

struct enter_user {
	uid_t uid;
	gid_t gid;
	char name[256];
	char home[PATH_MAX];
	char shell[PATH_MAX];
	gid_t groups[ENTER_GROUPS_MAX];
	int ngroups;
};

struct enter_child {
	const struct zone_enter_spec *s;
	const struct cgroup_join *join; /* the zone's cgroups (cgroup.h) */
	int init_pidfd;
	int sock;
	int own_pts; /* pty: a devpts instance of P's, for when the zone has none left */
	struct enter_user u;
	struct enter_msg err;
};

/* zone-enter.c, C or S: record the one failure; returns -errnum. */
int enter_fail(struct enter_child *c, int errnum, const char *prop, const char *fmt, ...)
	_printf_(4, 5);

/* zone-enter-user.c, S as zone root: c->u from `user` (or root) / from the ids. */
int enter_user_lookup(struct enter_child *c);

/* zone-enter-oci.c, P: stdio (with oci_stdio) and preserved fds are of allowed types. */
int enter_oci_check_fds(const struct zone_enter_spec *s, struct zh_error *err);

/* zone-enter-oci.c, S as zone root after the zone's caps and filter: the bounding set. */
int enter_oci_bound(struct enter_child *c);

/* zone-enter-oci.c, S: around the switch to the user (keep caps), then the masks. */
int enter_oci_keepcaps(struct enter_child *c, bool on);
int enter_oci_caps(struct enter_child *c);

/* zone-enter-oci.c, S: the extra filter, early (zone root) or late (before execve). */
int enter_oci_seccomp(struct enter_child *c, bool late);

/* zone-enter-oci.c, S: chdir to cwd (or home, else /). */
int enter_oci_chdir(struct enter_child *c);

/* zone-enter-oci.c, S: fds >= 3 close-on-exec but the preserved ones. */
int enter_oci_fds(struct enter_child *c);

/* zone-enter-oci.c, S: the PATH the command is searched in. */
const char *enter_oci_path(const struct enter_child *c);

#endif

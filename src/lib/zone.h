/*
 * zone.h - building a zone: namespaces, id maps, mounts, /dev, seccomp,
 * capabilities, pivot_root and the exec of init.
 *
 * Owns: the zone's first process until it execs init, and the host-side
 * idmapped mount it needs (made before the clone, so the zone's mount
 * namespace copies it; detached from the host namespace right after).
 * Split by concern (STYLE.md 7): zone-ns.c (clone3, sync, error pipe),
 * zone-idmap.c, zone-mount.c (root, /proc, /sys, /tmp, filesystems),
 * zone-dev.c, zone-seccomp.c, zone-caps.c.
 *
 *     struct zone_spec s = { .uuid = u, .root = "/zones/<u>/root", ... };
 *     struct zone_proc zp;
 *     if (zone_spawn(&s, &zp, &err) < 0) ...     (zp.pid runs init)
 *
 * Sequence: parent makes the idmapped mount of s->root, clone3()s the child
 * into new user/mnt/pid/uts/ipc/net/cgroup namespaces (CLONE_INTO_CGROUP on
 * v2, else attaches it before releasing it), writes uid/gid maps, lets it
 * go; the child mounts, pivots, mounts /proc before detaching the old root,
 * sets hostname and rlimits, drops capabilities, loads seccomp, closes every
 * fd but 0-2 and execs init.  Any failure in the child comes back through a
 * CLOEXEC error pipe as one message; the parent then reaps it and undoes.
 */
#ifndef ZH_ZONE_H
#define ZH_ZONE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define ZONE_ID_COUNT 65536u

struct zone_spec {
	const char *uuid;
	const char *root;		/* host path of the zone's "/" */
	const char *hostname;
	uid_t id_base;			/* host uid/gid of zone root; ZONE_ID_COUNT ids */
	char *const *argv;		/* init and its arguments */
	char *const *envp;
	int console_fd;			/* becomes init's 0,1,2 and /dev/console; -1: /dev/null */
	uint64_t tmpfs_mib;		/* size of /tmp tmpfs; 0: no tmpfs */
	uint64_t memlock_mib;		/* RLIMIT_MEMLOCK; 0: leave */
	const json_t *filesystems;	/* payload "filesystems" array or NULL */
	int cgroup_fd;			/* v2: clone into it; -1 on v1 */
	const char *cgroup_uuid;	/* v1: attach the child to this zone's cgroups */
};

struct zone_proc {
	pid_t pid;			/* init, as seen from the host */
	int pidfd;
};

int zone_spawn(const struct zone_spec *s, struct zone_proc *out,
	       struct zh_error *err);

/* Apply the zone's seccomp filter to the calling thread (also used by zlogin). */
int zone_seccomp_load(struct zh_error *err);

/* Drop capabilities to the zone's bounding set (also used by zlogin). */
int zone_caps_drop(struct zh_error *err);

#endif

/*
 * cgroup.h - resource controls of a zone, cgroup v1 and v2 behind one
 * interface (docs/architecture.md §3: cgroup.c is the interface, cgroup-v1.c and
 * cgroup-v2.c fill a struct cgroup_ops).
 *
 * Owns: the zone cgroups "<hierarchy>/zonehost/<uuid>" (v1: in every
 * mounted controller hierarchy zonehost uses; v2: under the delegated
 * subtree) and the shared parent "zonehost", which is removed when its last
 * zone goes.  Never creates anything relative to the caller's own cgroup
 * (the build machine's shell sits in a cgroup that belongs to someone else).
 *
 *     struct cgroup_limits l;
 *     cgroup_limits_from_vm(vm, &l);
 *     if (cgroup_create(uuid, &err) < 0) ...
 *     cgroup_apply(uuid, &l, &err);           (also live, on update)
 *     cgroup_attach(uuid, pid, &err);
 *     ...
 *     cgroup_freeze(uuid, true, &err);        (pause: waits until frozen)
 *     cgroup_pids(uuid, &pids, &n, &err);     (every host pid of the subtree)
 *     cgroup_stats(uuid, &stats, &err);       (runc "events --stats" data)
 *     cgroup_freeze(uuid, false, &err);       (resume)
 *     cgroup_kill_all(uuid, &err);            (cgroup.kill, or freeze, SIGKILL, thaw;
 *                                              a paused zone ends up thawed)
 *     cgroup_destroy(uuid, &err);             (rmdir; parent too if empty)
 *
 * Mapping (docs/architecture.md §11.1): cpu_cap -> CFS quota (percent of one CPU, period
 * 100 ms; 0 = no cap); cpu_shares -> cpu.shares (v1, shares*1024/100) or
 * cpu.weight (v2); max_physical_memory -> memory limit; max_swap -> memory+
 * swap limit (v1 memsw when present; v2 memory.swap.max = swap - physical);
 * max_lwps -> pids.max; zfs_io_priority -> blkio/io weight where the kernel
 * has a weight knob (skipped, not failed, where it has none).
 * max_locked_memory is an rlimit (RLIMIT_MEMLOCK), not a cgroup knob.
 *
 * Pause, process list and usage (docs/architecture.md §11.5) serve the
 * OCI runtime's pause/resume, ps and events --stats: same ops table, one
 * meaning on both versions; only the files differ.
 *
 * The hierarchy root is /sys/fs/cgroup unless ZONEHOST_CGROUP_ROOT names
 * another (unit tests point it at a fake tree).
 */
#ifndef ZH_CGROUP_H
#define ZH_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CGROUP_PARENT "zonehost"

/*
 * Under systemd (cgroup-systemd.c): each zone's delegated scope
 * CGROUP_SLICE/zonehost-<uuid>.scope holds CGROUP_SUPERVISOR (zoneadmd)
 * and, on cgroup v2, CGROUP_ZONE (the zone's cgroup).  On every v2 host a
 * zone's cgroup gets a root-owned CGROUP_ZLOGIN leaf for zlogin sessions.
 */
#define CGROUP_SLICE	  "system.slice"
#define CGROUP_SUPERVISOR "supervisor"
#define CGROUP_ZONE	  "zone"
#define CGROUP_ZLOGIN	  "zlogin"
#define CGROUP_MDATA	  "metadata"

struct cgroup_limits {
	int64_t cpu_cap;	     /* percent of one CPU; <= 0: none */
	int64_t cpu_shares;	     /* < 0: leave default */
	int64_t max_physical_memory; /* MiB; <= 0: none */
	int64_t max_swap;	     /* MiB; <= 0: none */
	int64_t max_lwps;	     /* <= 0: none */
	int64_t zfs_io_priority;     /* < 0: leave default */
};

/* 1 or 2: what this host runs (v2 only when /sys/fs/cgroup is cgroup2 with controllers). */
int cgroup_version(void);

/* Read the limit properties of a VM config (missing ones = none/default). */
void cgroup_limits_from_vm(const json_t *vm, struct cgroup_limits *l);

int cgroup_create(const char *uuid, struct zh_error *err);
int cgroup_apply(const char *uuid, const struct cgroup_limits *l, struct zh_error *err);
int cgroup_attach(const char *uuid, pid_t pid, struct zh_error *err);

/* v2: an O_DIRECTORY fd of the zone cgroup, for clone3(CLONE_INTO_CGROUP); -ENOTSUP on v1. */
int cgroup_open_fd(const char *uuid, struct zh_error *err);

/*
 * Joining a zone's cgroups from inside the joining process.  A write to
 * cgroup.procs takes the kernel's global threadgroup rwsem, whose first
 * writer after a quiet spell waits a whole RCU grace period (~10 ms here,
 * on every zone start).  A single-threaded process that moves ITSELF by
 * writing "0" to a v1 "tasks" file skips that lock; a cgroup2 directory is
 * joined at fork with clone3(CLONE_INTO_CGROUP), which takes it only as a
 * reader.  So the parent opens the files (permission is checked against
 * the opener's credentials), the child writes.
 *
 *     struct cgroup_join j;
 *     cgroup_join_open(uuid, &j, &err);       (parent, before clone3)
 *     clone3(... CLONE_INTO_CGROUP, .cgroup = j.clone_fd if >= 0 ...)
 *     cgroup_join_self(&j);                   (child, single-threaded)
 *     cgroup_join_close(&j);                  (both)
 */
#define CGROUP_JOIN_MAX 16

struct cgroup_join {
	int fds[CGROUP_JOIN_MAX]; /* v1 "tasks" files, write-only */
	int n;
	int clone_fd; /* cgroup2 directory for CLONE_INTO_CGROUP, or -EBADF */
};

int cgroup_join_open(const char *uuid, struct cgroup_join *j, struct zh_error *err);
/* Async-signal-safe, allocates nothing: 0 or -errno of the first failed write. */
int cgroup_join_self(const struct cgroup_join *j);
void cgroup_join_close(struct cgroup_join *j);

/* Number of processes in the zone cgroup (0 when it does not exist). */
int cgroup_count_procs(const char *uuid);

/* Kill every process in the zone's cgroup (freeze first so nothing forks). */
int cgroup_kill_all(const char *uuid, struct zh_error *err);

/*
 * Pause or resume every process of the zone (docs/architecture.md §11.5).
 * v2: cgroup.freeze 1/0 on the zone's cgroup; v1: freezer.state
 * FROZEN/THAWED.  Freezing waits (at most CG_FREEZE_WAIT_MS, 2 s) until
 * the kernel reports the whole subtree frozen (v2 cgroup.events "frozen 1",
 * v1 freezer.state FROZEN, not FREEZING); when it does not, the zone is
 * thawed again and the call fails with ETIMEDOUT.  Errors name the file.
 */
int cgroup_freeze(const char *uuid, bool frozen, struct zh_error *err);

/* 1 when the kernel reports the zone frozen, 0 when not (also FREEZING), or -errno. */
int cgroup_frozen(const char *uuid);

/*
 * Every process of the zone's cgroup subtree (its sub-cgroups too: zlogin,
 * metadata, what its own init made), as host pids, sorted ascending,
 * without duplicates.  v1 reads the freezer hierarchy (else pids).  *out
 * is malloc'd (NULL when *n is 0); a missing cgroup is ENOENT.
 */
int cgroup_pids(const char *uuid, pid_t **out, size_t *n, struct zh_error *err);

/*
 * The zone's usage as the "data" object of runc's `events --stats`:
 *   {"cpu":{"usage":{"total":ns,"user":ns,"kernel":ns}},
 *    "memory":{"usage":{"usage","limit","max","failcnt"},"swap":{...},
 *              "cache":bytes,"raw":{<memory.stat key>:value,...}},
 *    "pids":{"current":n,"limit":n}}
 * A memory or swap limit of "max" (no limit) reads as CGROUP_STATS_NOLIMIT
 * (INT64_MAX: a JSON integer jansson can hold; runc prints UINT64_MAX on
 * v2 and the kernel's 9223372036854771712 on v1; all mean "no limit"),
 * a pids limit of "max" as 0, as runc.  Keys whose files the kernel lacks
 * are left out ("swap" without a swap knob; "cpu" without cpuacct on v1).
 */
#define CGROUP_STATS_NOLIMIT INT64_MAX
int cgroup_stats(const char *uuid, json_t **out, struct zh_error *err);

/* Remove the zone's cgroups (waits briefly for them to empty); missing is fine. */
int cgroup_destroy(const char *uuid, struct zh_error *err);

/* Paths of the zone's cgroup directories (for tests and `vmadm get`); NULL-terminated. */
char **cgroup_paths(const char *uuid);

/*
 * Hand the zone's cgroup directories to its root (uid/gid = the zone's id
 * base) so an init such as systemd can make sub-cgroups below them: the
 * directory and cgroup.procs, tasks, cgroup.clone_children,
 * notify_on_release (v1) / cgroup.procs, cgroup.subtree_control,
 * cgroup.threads (v2).  The limit files stay root's.  Call after
 * cgroup_create, before the zone unshares its cgroup namespace.
 */
int cgroup_chown(const char *uuid, uid_t uid, gid_t gid, struct zh_error *err);

/*
 * systemd: true when PID 1 is systemd and zonehost's cgroups live in
 * delegated scopes ($ZONEHOST_CGROUP_SYSTEMD=0/1 overrides; cached).
 */
bool cgroup_systemd(void);

/* "zonehost-<uuid>.scope" into buf: 0 or -ENAMETOOLONG. */
int cgroup_scope_name(const char *uuid, char *buf, size_t size);

/*
 * zoneadmd, before it makes anything: under systemd, move the calling
 * process into the zone's own transient scope (Delegate=yes), and on
 * cgroup v2 into its CGROUP_SUPERVISOR leaf, so no unit's stop can kill it
 * and cgroup_create() has a delegated subtree.  A no-op without systemd.
 */
int cgroup_scope_enter(const char *uuid, struct zh_error *err);

/*
 * v2: an O_DIRECTORY fd of the zone's CGROUP_ZLOGIN leaf (made when
 * missing), for zlogin's clone3(CLONE_INTO_CGROUP): the zone's top cgroup
 * may be an inner node (its systemd enabled controllers there), which the
 * kernel's no-internal-process rule closes to new members.  -ENOTSUP on v1.
 */
int cgroup_open_zlogin_fd(const char *uuid, struct zh_error *err);

/*
 * v2: likewise, the zone's root-owned CGROUP_MDATA leaf, where its
 * metadata server runs (docs/architecture.md §23).  -ENOTSUP on v1 (the
 * server joins the zone's cgroup itself: cgroup_attach).
 */
int cgroup_open_mdata_fd(const char *uuid, struct zh_error *err);

/*
 * Before a zone boots again in the same cgroup (reboot): kill what is
 * left and remove every sub-cgroup its last boot made (deepest first); on
 * v2 the zone's cgroup itself is made anew, an empty leaf that
 * clone3(CLONE_INTO_CGROUP) may enter.  Apply the limits again after.
 */
int cgroup_reset_zone(const char *uuid, struct zh_error *err);

/* Forget the cached version, root and mount table (tests that change ZONEHOST_CGROUP_ROOT). */
void cgroup_reset(void);

#endif

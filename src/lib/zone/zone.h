/*
 * zone.h - building a zone: namespaces, id maps, mounts, /dev, seccomp,
 * capabilities, pivot_root and the exec of init.
 *
 * Owns: the zone's first process until it execs init, and the idmapped
 * mount of its root (a detached clone made before the clone3, idmapped
 * through the zone's own user namespace, attached only inside the zone's
 * mount namespace: never mounted on the host side).
 * Split by concern (docs/architecture.md §3, §8): zone-ns.c (clone3, sync, error pipe),
 * zone-idmap.c, zone-mount.c (root, /proc, /sys, /tmp, filesystems),
 * zone-dev.c, zone-seccomp.c, zone-caps.c; a docker zone's or OCI
 * container's process (struct zone_run, §24.3): zone-run.c, zone-user.c,
 * zone-extra.c (its mounts), zone-join.c (namespaces it joins).
 *
 *     struct zone_spec s = { .uuid = u, .root = "/zones/<u>/root", ... };
 *     struct zone_proc zp;
 *     if (zone_spawn(&s, &zp, &err) < 0) ...     (zp.pid runs init)
 *
 * Sequence (docs/architecture.md §8): parent clones the mount tree of
 * s->root, clone3()s the child into new user/mnt/pid/uts/ipc/net/cgroup
 * namespaces (CLONE_INTO_CGROUP on v2; on v1 the child joins through
 * "tasks" files the parent opened), writes uid/gid maps, idmaps the tree,
 * lets it go; the child mounts, pivots, mounts /proc before detaching the
 * old root, sets hostname and rlimits, drops capabilities, loads seccomp,
 * marks every fd but 0-2 close-on-exec and execs init.  Any failure in the
 * child comes back through a CLOEXEC error pipe as one message; the parent
 * then reaps it and undoes.
 */
#ifndef ZH_ZONE_H
#define ZH_ZONE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define ZONE_ID_COUNT 65536u

struct zone_run;

struct zone_spec {
	const char *uuid;
	const char *root; /* host path of the zone's "/" */
	const char *hostname;
	uid_t id_base;	   /* host uid/gid of zone root; ZONE_ID_COUNT ids */
	char *const *argv; /* init and its arguments */
	char *const *envp;
	int console_fd; /* becomes init's 0,1,2 and /dev/console; -1: /dev/null */
	/*
	 * The metadata service (docs/architecture.md §23), each optional:
	 * serial_fd, a host pty slave bound at /dev/ttyS1 (used when > 2: 0
	 * is "none", fds 0-2 are never a pty zoneadmd holds); mdata_dir, a
	 * host directory bound read-only at mdata_at (/.zonecontrol, or
	 * /native/.zonecontrol for lx); mdata_tool, the static guest tool
	 * bound read-only at /native/usr/sbin/mdata-{get,put,delete,list}.
	 */
	int serial_fd;
	const char *mdata_dir, *mdata_at;
	const char *mdata_tool;
	uint64_t tmpfs_mib;	   /* size of /tmp tmpfs; 0: no tmpfs */
	uint64_t memlock_mib;	   /* RLIMIT_MEMLOCK; 0: leave */
	const json_t *filesystems; /* payload "filesystems" array or NULL */
	/*
	 * Host directories (canonical, NULL-ended: the pools' mounts, the run
	 * directory) that no `filesystems` source may lie in or contain, but
	 * for sources inside fs_own (the VM's own dataset).  NULL: none.
	 */
	char *const *fs_fenced;
	const char *fs_own;
	int cgroup_fd;		 /* v2: clone into it; -1 on v1 */
	const char *cgroup_uuid; /* v1: attach the child to this zone's cgroups */
	/*
	 * Called by the parent after the child's id maps are written, before
	 * it is let go: its namespaces (network included) exist and init has
	 * not run (zoneadmd moves the VNICs in here).  NULL: none.  A failure
	 * fails the spawn (the child is killed).
	 */
	int (*before_release)(void *ctx, pid_t pid, struct zh_error *err);
	void *hook_ctx;
	/* The payload's process and fences beyond a zone's (docs/architecture.md §24.3); or NULL.
	 */
	const struct zone_run *run;
};

/*
 * What a docker zone or an OCI container adds to a zone (zone-run.c,
 * zone-user.c, zone-extra.c; docs/architecture.md §24.3).  Everything is
 * optional; zeroes keep a zone's behaviour.  Nothing here can widen what
 * a zone may do: capability masks are intersected with the zone's kept
 * set, the extra seccomp program is loaded after the zone's own filter,
 * every mount target is resolved inside the root.
 */
enum zone_ns_join { ZONE_JOIN_NET, ZONE_JOIN_IPC, ZONE_JOIN_UTS, ZONE_JOIN_PID, ZONE_JOIN_N };

struct zone_rlimit {
	int type; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* An extra mount: a bind of a host path, or a fresh tmpfs (or proc-less fs) with data. */
struct zone_mount {
	const char *dest;	 /* absolute, inside the zone root */
	const char *type;	 /* "bind" or "tmpfs" (also "mqueue", "devpts" are skipped) */
	const char *source;	 /* bind: absolute host path */
	unsigned long long attr; /* MOUNT_ATTR_RDONLY | NOSUID | NODEV | NOEXEC ... */
	const char *data;	 /* tmpfs: "size=...,mode=..." or NULL */
	bool rec;		 /* rbind */
};

#define ZONE_RUN_FDS_MAX    64 /* extra fds a process may keep (--preserve-fds) */
#define ZONE_RUN_MOUNTS_MAX 128

struct zone_run {
	const char *cwd; /* NULL: "/" */
	/* user: "uid", "uid:gid", "name" or "name:group" resolved in the zone's /etc after pivot.
	 */
	const char *user;
	bool ids; /* uid/gid/gids below are set (numeric; user ignored) */
	uid_t uid;
	gid_t gid;
	const gid_t *gids; /* additional groups */
	size_t ngids;
	const struct zone_rlimit *rlimits;
	size_t nrlimits;
	bool caps; /* the five masks below are set (else the zone's kept set as it is) */
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	bool no_new_privs;
	bool stdio; /* stdio_fds replace the console as 0, 1, 2 (-1: /dev/null) */
	int stdio_fds[3];
	const int *keep_fds; /* become the process's fds 3, 4, ... in this order */
	size_t nkeep_fds;
	/*
	 * The start gate: the child does everything but the exec and waits
	 * for one byte on it; EOF means "do not start" (it _exit()s).  -1: none.
	 */
	int gate_fd;
	const void *seccomp; /* struct sock_fprog *, loaded after the zone's filter; or NULL */
	bool clone_parent;   /* CLONE_PARENT: the caller's parent is the process's parent */
	bool root_readonly;
	char *const *masked_paths;   /* NULL-ended, or NULL */
	char *const *readonly_paths; /* NULL-ended, or NULL */
	const struct zone_mount *mounts;
	size_t nmounts;
	/* A namespace file to join instead of a new namespace (pid: refused, see zone-join.c). */
	const char *join[ZONE_JOIN_N];
};

struct zone_proc {
	pid_t pid; /* init, as seen from the host */
	int pidfd;
	/*
	 * With s->run->gate_fd: zone_spawn() returns once the process waits at
	 * the gate, and this is the read end of its error pipe, for
	 * zone_spawn_await_exec() after the gate opened.  Else -EBADF.
	 */
	int exec_fd;
};

/*
 * argv[0] of a zone_run process may be a bare name, looked up in the PATH
 * of envp (default /usr/local/sbin:...:/bin) inside the zone; a missing
 * one fails with "executable file not found in $PATH" (or "no such file
 * or directory" for a path), the wording OCI callers classify.
 */
int zone_spawn(const struct zone_spec *s, struct zone_proc *out, struct zh_error *err);

/* After the gate opened: 0 once the process exec'd (EOF), or its error.  Closes exec_fd. */
int zone_spawn_await_exec(struct zone_proc *p, struct zh_error *err);

/* Apply the zone's seccomp filter to the calling thread (also used by zlogin). */
int zone_seccomp_load(struct zh_error *err);

/* Names of the syscalls the filter answers with EPERM; NULL-terminated, static. */
const char *const *zone_seccomp_denied_syscalls(void);

/* Those it answers with ENOSYS (native AIO: no zone may drain fs.aio-max-nr). */
const char *const *zone_seccomp_enosys_syscalls(void);

/* ioctl request numbers the filter answers with EPERM (btrfs subvolume/qgroup, TIOCSTI ...). */
const unsigned long *zone_seccomp_denied_ioctls(size_t *n);

/* Drop capabilities to the zone's bounding set (also used by zlogin). */
int zone_caps_drop(struct zh_error *err);

/* Names ("CAP_SYS_ADMIN" ...) a zone keeps / loses; NULL-terminated, static. */
const char *const *zone_caps_kept(void);
const char *const *zone_caps_dropped(void);

/*
 * Entering a running zone (zone-enter.c; zlogin).  zone_enter() checks that
 * init_pid is still the init of zone `uuid` (a pidfd, its cgroup, its
 * namespaces), starts a session process in the zone's cgroup and every one
 * of its namespaces, as `user` (looked up in the ZONE's /etc/passwd), with
 * the zone's capability bounding set and seccomp filter, and execs argv
 * from the zone's own file system (argv NULL or empty: the user's login
 * shell, argv[0] "-sh" style).  The session is a child of the caller.
 * With pty, the pty comes from the zone's devpts (when that has none left,
 * from a devpts instance of the caller's own, private to the session), is
 * the session's
 * controlling tty and its 0/1/2, and its master is returned; else the
 * session gets stdio[0..2], which must be pipes the caller relays (-1:
 * /dev/null; anything else is refused), as its 0/1/2 and no controlling
 * tty.
 * Returns once the command has been exec'd.  Errors: -ESRCH when the zone
 * is not (or no longer) running; prop "user" for an unknown user; prop
 * "command" when the command cannot be exec'd (-ENOENT: not found).
 *
 * The OCI `exec` (zonehost-runc) sets the optional fields below the line;
 * zeroed, the session is zlogin's.  envp replaces the whole environment
 * (its PATH is searched); cwd (absolute, in the zone; prop "cwd");
 * has_ids: uid/gid/groups (zone ids, at most 64 groups: prop "groups")
 * instead of `user`; no_new_privs; has_caps: the five masks (bit n =
 * capability n), always intersected with the zone's own set (zone-caps.c),
 * never widened; extra_seccomp: loaded after the zone's own filter (with
 * no_new_privs just before execve, else while still zone root), never
 * instead of it; oci_stdio: stdio[] may also be /dev/null, FIFOs, regular
 * files opened write-only, AF_UNIX sockets (prop "stdio"); preserve_fds:
 * the caller's fds 3..3+N-1 pass through, checked the same way (prop
 * "preserve_fds").  The design comment of zone-enter-oci.c says why each
 * is safe.  Errors name the property.
 */
struct termios;
struct winsize;
struct sock_fprog;

struct zone_enter_spec {
	const char *uuid;
	pid_t init_pid;	   /* host view, from runstate_read() */
	const char *user;  /* NULL: root */
	char *const *argv; /* NULL or empty: login shell */
	const char *term;  /* TERM for the session, or NULL */
	bool pty;
	const struct termios *termios; /* pty: initial modes, or NULL */
	const struct winsize *winsize; /* pty: initial size, or NULL */
	int stdio[3];		       /* no pty: the session's 0, 1, 2 (pipes, or -1) */
	/* ---- OCI exec, each optional ---- */
	char *const *envp; /* the whole environment, or NULL */
	const char *cwd;   /* absolute, in the zone, or NULL: home */
	bool has_ids;	   /* uid, gid, groups instead of user */
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	const gid_t *groups;
	bool no_new_privs;
	bool has_caps;
	uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
	const struct sock_fprog *extra_seccomp; /* after the zone's own, or NULL */
	bool oci_stdio;				/* stdio[] beyond pipes (see above) */
	int preserve_fds;			/* the caller's 3..3+N-1 pass through */
	bool outlive_caller;			/* no SIGHUP when the caller exits (exec -d) */
};

struct zone_session {
	pid_t pid;     /* the session process, host view */
	int pidfd;     /* the session process (caller's child) */
	int master_fd; /* pty master, or -EBADF */
	int pts;       /* pty number in the zone, or -1 (not the zone's) */
};

int zone_enter(const struct zone_enter_spec *s, struct zone_session *out, struct zh_error *err);

/* Reap the session: its exit status, or 128 + signal when killed. */
int zone_session_wait(struct zone_session *zs, int *code, struct zh_error *err);

/* Close the session's fds (does not wait).  Idempotent. */
void zone_session_close(struct zone_session *zs);

#endif

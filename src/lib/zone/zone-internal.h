/*
 * zone-internal.h - what the zone_spawn() modules share, not exported.
 *
 * Owns: struct zone_child, the state of a zone's first process between
 * clone3() and execve().  Everything declared here that takes a
 * struct zone_child runs IN THE CHILD: it must not log, print, exit or
 * take locks; on failure it fills c->errnum/c->msg with zone_child_fail()
 * and returns -errno, and zone-ns.c sends that one message up the error
 * pipe before _exit().  The child never allocates: messages go into the
 * fixed buffer, paths into stack buffers of PATH_MAX.
 *
 *     struct zone_child c = { .s = spec, .tree_fd = t, ... };
 *     if (zone_mount_prepare(&c) < 0 || zone_mount_setup(&c) < 0)
 *             send c.msg up the error pipe; _exit(1);
 *
 * Functions taking a struct zh_error run in the parent (zoneadmd).
 */
#ifndef ZH_ZONE_INTERNAL_H
#define ZH_ZONE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "zone.h"

#define ZONE_CHILD_MSG_MAX 480
#define ZONE_DEV_NODES	   6   /* null zero full random urandom tty */
#define ZONE_FS_MAX	   64  /* `filesystems` entries a zone may have */
#define ZONE_PTY_MAX	   256 /* ptys of a zone's /dev/pts (zone-dev.c) */
#define ZONE_TTY_GID	   5   /* the zone's "tty" group: its pts belong to it */
#define ZONE_GIDS_MAX	   64  /* supplementary groups of a zone_run process */
#define ZONE_RUN_FD_HIGH   (3 + ZONE_RUN_FDS_MAX + 16) /* scratch fds sit above the kept ones */

/* A process's ids (zone-user.c). */
struct zone_ids {
	uid_t uid;
	gid_t gid;
	gid_t gids[ZONE_GIDS_MAX];
	size_t ngids;
};

/* One `filesystems` entry: a detached clone of its source, and its attributes. */
struct zone_fs {
	int fd;
	unsigned long long attr; /* MOUNT_ATTR_* from "options" */
};

struct zone_child {
	const struct zone_spec *s;
	int tree_fd;			/* detached, idmapped clone of s->root (O_PATH) */
	int root_fd;			/* the zone root once attached in the child's mount ns */
	int sync_fd;			/* read end: the parent's "go" */
	int err_fd;			/* write end of the CLOEXEC error pipe */
	bool cgroupns;			/* still to unshare the cgroup namespace (v1) */
	const struct cgroup_join *join; /* v1: cgroups the child joins itself */
	/* Host objects, opened with the host's credentials (O_PATH): */
	int dev_fds[ZONE_DEV_NODES]; /* the device nodes to bind */
	int console_src;	     /* the console pty, by name in our ns */
	int serial_src;		     /* the metadata serial pty (/dev/ttyS1), likewise */
	int mdata_dir_src;	     /* the metadata socket's directory */
	int mdata_tool_src;	     /* the static mdata tool */
	int pts_fd;		     /* the zone's devpts, made by the parent (detached) */
	struct zone_fs *fs;	     /* `filesystems`, opened by the parent */
	size_t nfs;
	/* zone_run (zone-extra.c, zone-run.c): */
	struct zone_fs *xfs; /* one per s->run->mounts[]: a bind's detached tree, or fd -1 */
	int sys_fd;	     /* a sysfs of the joined network namespace (parent-made), or -1 */
	int gate_fd;	     /* our copy of s->run->gate_fd */
	bool extra_loaded;   /* the extra seccomp program is loaded */
	int errnum;
	char msg[ZONE_CHILD_MSG_MAX];
};

/* zone-child.c: record the child's one failure; returns -errnum. */
int zone_child_fail(struct zone_child *c, int errnum, const char *fmt, ...) _printf_(3, 4);

/* zone-child.c: no blocked or ignored signal, whatever the caller had. */
void zone_child_signals(void);

/* One message up the error pipe: a failure, or (errnum 0, full size) "at the gate". */
struct zone_child_msg {
	int errnum;
	char msg[ZONE_CHILD_MSG_MAX];
};

/* zone-child.c: tell the parent the child waits at the gate (a record with errnum 0). */
void zone_child_ready(struct zone_child *c);

/* zone-user.c, child after pivot: "uid[:gid]" / "name[:group]" from the zone's /etc. */
int zone_user_resolve(struct zone_child *c, const char *spec, struct zone_ids *ids);

/* zone-run.c, child after pivot: stdio, user, caps, gate, exec of s->run's process. */
int zone_run_exec(struct zone_child *c);

/*
 * zone-extra.c, parent before clone3: check s->run's mounts and join
 * paths, clone each bind's source (detached, private) into xfs[] (fd -1
 * for a non-bind); *sys_fd a sysfs of the joined netns, or -1.
 */
int zone_extra_open(const struct zone_spec *s, struct zone_fs *xfs, int *sys_fd,
		    struct zh_error *err);

/* zone-extra.c, parent: idmap the binds' trees through pid's user namespace. */
int zone_extra_idmap(const struct zone_spec *s, struct zone_fs *xfs, pid_t pid,
		     struct zh_error *err);

/* zone-extra.c, child before pivot: the extra mounts, masked and read-only paths, root ro. */
int zone_extra_setup(struct zone_child *c);

/* zone-extra.c, child: /sys for a joined netns (c->sys_fd moved on it); 1 when done. */
int zone_extra_sys(struct zone_child *c);

/*
 * zone-join.c, parent: enter the namespaces s->run joins (saving ours in
 * saved[]), and come back.  The flags of the joined ones leave clone3's.
 */
int zone_join_enter(const struct zone_spec *s, int saved[ZONE_JOIN_N], struct zh_error *err);
void zone_join_leave(int saved[ZONE_JOIN_N]);
unsigned long zone_join_flags(const struct zone_spec *s);

/* zone-caps.c: the capability masks of a zone_run process (never beyond the zone's). */
int zone_caps_bound(uint64_t keep, struct zh_error *err);
int zone_caps_set(uint64_t eff, uint64_t perm, uint64_t inh, uint64_t amb, struct zh_error *err);

/*
 * zone-idmap.c, parent: a detached recursive clone of root (O_PATH fd); an
 * overlayfs root is mounted anew on idmapped layers (zone-ovl.c) and
 * *mapped says it needs no idmapping of its own.
 */
int zone_idmap_open(const char *root, uid_t id_base, int *tree_fd, bool *mapped,
		    struct zh_error *err);

/* zone-ovl.c: is fd on overlayfs; the overlay at root remade on idmapped layers. */
bool zone_ovl_is(int fd);
int zone_ovl_open(const char *root, uid_t id_base, int *tree_fd, struct zh_error *err);

/*
 * zone-mount.c, parent, before clone3: check each `filesystems` entry,
 * parse its options and clone its source (detached); fs[] has ZONE_FS_MAX
 * slots, *n says how many were opened (close them, also on failure).
 */
int zone_fs_open(const struct zone_spec *s, struct zone_fs *fs, size_t *n, struct zh_error *err);

/*
 * zone-idmap.c, parent: idmap the detached root tree (made nodev) and the
 * `filesystems` trees (with their attributes) through the user namespace
 * of process pid, whose maps are written.
 */
int zone_idmap_apply(int tree_fd, bool mapped, const struct zone_fs *fs, size_t nfs, pid_t pid,
		     struct zh_error *err);

/* zone-idmap.c, child: attach the tree on s->root in the child's mount ns. */
int zone_idmap_attach(struct zone_child *c);

/*
 * zone-mount.c, child, still with the host's credentials (host uid 0, so
 * host paths in 0700 directories resolve): make / rprivate, attach the root
 * and open every host object the mounts need (zone_dev_prepare() too).
 */
int zone_mount_prepare(struct zone_child *c);

/*
 * zone-mount.c, child, as the zone's root: make / rprivate, attach the root, mount /proc, /sys,
 * cgroups, /dev (zone-dev.c), /tmp, /run and the `filesystems`, pivot into
 * the root and detach the old one.  On return the cwd and root are the zone's.
 */
int zone_mount_setup(struct zone_child *c);

/* An O_PATH fd on path resolved inside the zone root (RESOLVE_IN_ROOT); -1 + errno. */
int zone_open_in_root(int root_fd, const char *path);

/*
 * zone-mount.c, child: open path (absolute, inside the zone root) with
 * RESOLVE_IN_ROOT so no symlink leads out of the root; O_PATH.  With mkdir,
 * missing directories are created (mode 0755); with a file, a missing last
 * component is created as an empty regular file (bind-mount target).
 */
enum zone_target { ZONE_T_ANY, ZONE_T_DIR, ZONE_T_FILE };
int zone_mount_target(struct zone_child *c, const char *path, enum zone_target kind, int *out);

/* zone-mount.c, child: mount a fresh fs of type on path inside the root. */
int zone_mount_fs(struct zone_child *c, const char *path, const char *type, unsigned long flags,
		  const char *data);

/*
 * zone-mount.c, child: bind src_fd's object (an O_PATH fd, not recursive
 * unless rec) on path inside the root, then set attr (MOUNT_ATTR_*).
 */
int zone_mount_bind_fd(struct zone_child *c, int src_fd, const char *path, enum zone_target kind,
		       bool rec, unsigned long long attr);

/*
 * zone-dev.c, parent (zone_spawn, zone_enter): a new devpts instance,
 * detached (a mount fd, O_CLOEXEC), nosuid and noexec, of at most max
 * ptys, ptmx mode 0666; with tty_gid != -1 (a host gid) pts mode 0620
 * and that group, else pts owned by their opener, mode 0600.  Made in the
 * caller's user and mount namespaces: a zone cannot remount it, and from
 * the initial mount namespace it may use the kernel.pty.reserve ptys.
 */
int zone_devpts_open(gid_t tty_gid, unsigned max, int *out, struct zh_error *err);

/*
 * zone-mount.c, child: the metadata service's binds (zone.h: mdata_dir,
 * mdata_tool): prepare opens the host objects (host credentials), setup
 * binds them read-only (the zone's credentials, targets made in the root).
 */
int zone_mdata_prepare(struct zone_child *c);
int zone_mdata_setup(struct zone_child *c);

/* zone-dev.c, child, host credentials: open the host's nodes and console. */
int zone_dev_prepare(struct zone_child *c);

/* zone-dev.c, child: the zone's /dev (under the not yet pivoted root). */
int zone_dev_setup(struct zone_child *c);

#endif

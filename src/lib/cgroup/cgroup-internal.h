/*
 * cgroup-internal.h - what cgroup.c, cgroup-v1.c and cgroup-v2.c share.
 * Not part of the library's interface: only the cgroup module includes it.
 *
 *   cgroup.c     the interface, dispatch to an ops table, and the file
 *                helpers both versions use (write with a clear message,
 *                read, rmdir that tolerates a fake tree, tree walks)
 *   cgroup-v1.c  one directory per controller hierarchy
 *   cgroup-v2.c  the unified hierarchy's delegated subtree
 *   cgroup-systemd.c  the per-zone delegated scope under systemd
 *   cgroup-stats.c    the runc stats object from either version's files
 */
#ifndef ZH_CGROUP_INTERNAL_H
#define ZH_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

/* Period of the CFS bandwidth controller: cpu_cap 100 = one CPU. */
#define CG_CFS_PERIOD_US 100000

/* How long kill_all / destroy wait for a cgroup to empty. */
#define CG_EMPTY_WAIT_MS 5000

/* How long cgroup_freeze waits for the kernel to report the zone frozen. */
#define CG_FREEZE_WAIT_MS 2000

struct cgroup_ops {
	int (*create)(const char *uuid, struct zh_error *err);
	int (*apply)(const char *uuid, const struct cgroup_limits *l, struct zh_error *err);
	int (*attach)(const char *uuid, pid_t pid, struct zh_error *err);
	int (*open_fd)(const char *uuid, struct zh_error *err);
	int (*join_open)(const char *uuid, struct cgroup_join *j, struct zh_error *err);
	int (*count_procs)(const char *uuid);
	int (*kill_all)(const char *uuid, struct zh_error *err);
	int (*destroy)(const char *uuid, struct zh_error *err);
	char **(*paths)(const char *uuid);
	int (*open_leaf_fd)(const char *uuid, const char *leaf, struct zh_error *err);
	int (*reset_zone)(const char *uuid, struct zh_error *err);
	int (*chown)(const char *uuid, uid_t uid, gid_t gid, struct zh_error *err);
	int (*freeze)(const char *uuid, bool frozen, struct zh_error *err);
	int (*frozen)(const char *uuid);
	char *(*procs_dir)(const char *uuid); /* top of the tree whose cgroup.procs list the zone */
	int (*stats)(const char *uuid, json_t **out, struct zh_error *err);
	void (*reset)(void);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* cgroup-systemd.c: "<root>/CGROUP_SLICE/zonehost-<uuid>.scope" (malloc'd). */
char *cg_scope_dir(const char *uuid);
void cg_systemd_reset(void);

/* rmdir every cgroup strictly below path, deepest first; 0 or the first -errno. */
int cg_rmdir_children(const char *path);

/* The hierarchy root: $ZONEHOST_CGROUP_ROOT or /sys/fs/cgroup. */
const char *cg_root(void);

/* True when ZONEHOST_CGROUP_ROOT points at a fake tree (unit tests). */
bool cg_fake(void);

/* Forget the cached root and version (cgroup_reset()). */
void cg_fs_reset(void);

/*
 * Write value to dir/file (no O_CREAT: a knob the kernel lacks is ENOENT).
 * On failure the message reads "cannot set <prop>: write <value> to
 * <file>: <strerror>" (without the first part when prop is NULL).
 */
int cg_write(const char *dir, const char *file, const char *value, const char *prop,
	     struct zh_error *err);
int cg_write_i64(const char *dir, const char *file, int64_t value, const char *prop,
		 struct zh_error *err);

/* Read dir/file (at most 4 KiB) into buf, trailing newline removed. */
int cg_read(const char *dir, const char *file, char *buf, size_t size);

/* Does dir/file exist? */
bool cg_has(const char *dir, const char *file);

/* mkdir that treats EEXIST as success. */
int cg_mkdir(const char *path, struct zh_error *err);

/*
 * rmdir every cgroup below and including path, deepest first; missing is
 * fine.  On a fake tree, regular files in a directory without
 * subdirectories are unlinked first (cgroupfs needs no such step).
 */
int cg_rmdir_tree(const char *path);

/* rmdir one cgroup (same fake-tree rule); missing is fine; -errno. */
int cg_rmdir_one(const char *path);

/* Call fn(dir) for path and every cgroup below it (parents first). */
int cg_walk(const char *path, int (*fn)(const char *dir, void *u), void *u);

/* Sum of the pids listed in cgroup.procs of path and all its children. */
int cg_count_tree(const char *path);

/*
 * Every pid in cgroup.procs of path and its children, sorted, without
 * duplicates, into *out (malloc'd; NULL when *n is 0); -errno.
 */
int cg_pids_tree(const char *path, pid_t **out, size_t *n);

/* SIGKILL every pid in cgroup.procs of path and its children; count killed. */
int cg_kill_tree(const char *path);

/* SIGKILL what is left until path's tree is empty (at most CG_EMPTY_WAIT_MS); -EBUSY after. */
int cg_kill_until_empty(const char *path, struct zh_error *err);

/* Poll until cg_count_tree(path) is 0, at most ms milliseconds. */
int cg_wait_empty(const char *path, int ms);

/* chown a zone cgroup and the files a delegate needs (see cgroup_chown). */
int cg_chown_dir(const char *dir, bool v2, uid_t uid, gid_t gid, struct zh_error *err);

/* Sleep for ms milliseconds. */
void cg_sleep_ms(int ms);

/*
 * cgroup-stats.c: the runc stats object (see cgroup_stats) from a v2 zone
 * cgroup, or from v1 hierarchy directories (NULL: that hierarchy is not
 * mounted; its keys are left out).
 */
int cg_stats_v2(const char *dir, json_t **out, struct zh_error *err);
int cg_stats_v1(const char *cpuacct, const char *memory, const char *pids, json_t **out,
		struct zh_error *err);

/* Kernel values for the SmartOS properties (see cgroup.h's mapping). */
int64_t cg_cpu_quota_us(int64_t cpu_cap);
int64_t cg_v1_shares(int64_t cpu_shares);
int64_t cg_v2_weight(int64_t cpu_shares);

#endif

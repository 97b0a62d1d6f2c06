/*
 * fsutil.h - durable file writes and small file-system helpers.
 *
 * Owns: nothing persistent.  fsutil_write_atomic() is the only way library
 * code writes state: temp file in the same directory, write, fsync, rename,
 * fsync of the directory, so a reader sees the old or the new file, never a
 * torn one, even across a crash.
 *
 *     if (fsutil_write_atomic(path, buf, len, 0644, &err) < 0) ...
 */
#ifndef ZH_FSUTIL_H
#define ZH_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

int fsutil_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			struct zh_error *err);

/* write(2) all of data, retrying on EINTR and short writes: 0 or -errno. */
int fsutil_write_all(int fd, const void *data, size_t len);

/* read(2) until len bytes or EOF, retrying on EINTR: the count (< len only at EOF) or -errno. */
ssize_t fsutil_read_full(int fd, void *buf, size_t len);

/* Read a whole file (at most max bytes; -EFBIG beyond) into a NUL-terminated buffer. */
int fsutil_read_all(const char *path, size_t max, char **out, size_t *len, struct zh_error *err);

/* mkdir -p; existing directories are fine. */
int fsutil_mkdir_p(const char *path, mode_t mode, struct zh_error *err);

/* rm -rf without following symlinks or crossing mount points; missing is fine. */
int fsutil_rm_rf(const char *path, struct zh_error *err);

/*
 * Make a detached mount tree (an open_tree(OPEN_TREE_CLONE) fd) private,
 * recursively, and set attr (MOUNT_ATTR_*) on it: a clone of a shared mount
 * (systemd makes / shared) joins the source's peer group, and anything
 * later mounted in it would show in the host's mount table
 * (docs/architecture.md, "Mount propagation").  Async-signal-safe (a zone's
 * first process calls it): 0 or -errno.
 */
int fsutil_tree_private(int tree_fd, unsigned long long attr, bool recursive);

bool fsutil_exists(const char *path);
bool fsutil_is_dir(const char *path);

/* fsync the directory holding path. */
int fsutil_fsync_parent(const char *path);

#endif

/*
 * zone-ovl.c - a zone root that is an overlayfs mount (an OCI container's
 * rootfs from containerd's overlayfs snapshotter, docs/architecture.md
 * §24.3).
 *
 * An overlayfs mount cannot be idmapped itself, but its layers can (Linux
 * 5.19).  So the root is mounted anew from the same layers: each lower
 * layer is a detached clone idmapped through a user namespace with the
 * zone's map (0 -> id_base, ZONE_ID_COUNT ids), the upper layer and work
 * directory are the caller's, and the new overlay (host root as mounter,
 * so the layers' trusted.overlay.* xattrs, whiteouts and opaque
 * directories keep their meaning) becomes the zone's detached root tree.
 * A lower file owned by uid 0 on disk is the zone's root inside; what the
 * zone writes lands in the upper layer with its host ids (id_base + n), as
 * podman stores an idmapped container's writes; the upper directory's own
 * root, made by the caller as uid 0, is given to id_base so the zone's
 * root owns its "/" as it does with a dataset.
 *
 * The caller's mount is read from /proc/self/mountinfo (its options as
 * the kernel shows them, octal escapes decoded); the new one is made with
 * fsopen/fsconfig/fsmount and never attached on the host side.  The
 * lowerdir paths are /proc/self/fd/N of the idmapped clones: resolved by
 * this process while it makes the mount, which then holds the layers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "zone-internal.h"

#define OVL_LAYERS_MAX 128

bool zone_ovl_is(int fd)
{
	struct statfs st;

	return fstatfs(fd, &st) == 0 && st.f_type == OVERLAYFS_SUPER_MAGIC;
}

/* Decode mountinfo's \ooo escapes in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*o = *s;
	}
	*o = '\0';
}

/* The super options of the last mount on mount point mp (caller frees). */
static char *super_opts(const char *mp)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *found = NULL;
	size_t cap = 0;

	while (f && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), *fields[5], *save = NULL, *p = line;
		int n = 0;

		if (!sep)
			continue;
		while (n < 5 && (fields[n] = strtok_r(p, " ", &save)))
			n++, p = NULL;
		if (n < 5)
			continue;
		unescape(fields[4]);
		if (strcmp(fields[4], mp) != 0)
			continue;
		free(found);
		found = NULL;
		/* " - <fstype> <source> <super options>\n" */
		if (strncmp(sep + 3, "overlay ", 8) == 0 && (p = strrchr(sep + 3, ' ')))
			found = strndup(p + 1, strcspn(p + 1, "\n"));
	}
	free(line);
	return found;
}

/* A user namespace with the zone's map, held by a child that waits: its ns fd. */
static int map_userns(uid_t base, struct zh_error *err)
{
	int go[2], ready[2], fd = -1;
	char path[64], map[64];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %m");
	pid = fork();
	if (pid == 0) {
		char c;

		close(go[1]); /* else its read below never sees EOF */
		close(ready[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!write(ready[1], "r", 1);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(ready[1]);
	close(go[0]);
	if (pid > 0 && read(ready[0], map, 1) == 1) {
		int n = snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)base, ZONE_ID_COUNT);
		bool ok = true;

		for (const char *w = "uid_map"; w; w = streq(w, "uid_map") ? "gid_map" : NULL) {
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, w);
			_cleanup_close_ int m = open(path, O_WRONLY | O_CLOEXEC);
			ok = ok && m >= 0 && write(m, map, (size_t)n) == n;
		}
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = ok ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	}
	close(ready[0]);
	close(go[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (fd < 0)
		return zh_error_set(err, EIO, NULL, "cannot make a user namespace for the layers");
	return fd;
}

/* An idmapped detached clone of dir: its fd, kept in fds[]. */
static int idmapped_layer(const char *dir, int userns, struct zh_error *err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	int fd =
		open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "overlay layer %s: %m", dir);
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return zh_error_set(err, e, NULL, "cannot idmap the overlay layer %s: %s", dir,
				    strerror(e));
	}
	return fd;
}

struct ovl {
	int fs; /* fsopen("overlay") */
	int fds[OVL_LAYERS_MAX];
	size_t n;
	char lower[OVL_LAYERS_MAX * 24];
};

static int set_lowers(struct ovl *o, char *val, int userns, struct zh_error *err)
{
	char *save = NULL, *dir;
	size_t len = 0;

	for (dir = strtok_r(val, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		int fd;

		if (o->n >= OVL_LAYERS_MAX)
			return zh_error_set(err, E2BIG, NULL, "too many overlay layers");
		if ((fd = idmapped_layer(dir, userns, err)) < 0)
			return fd;
		o->fds[o->n++] = fd;
		len += (size_t)snprintf(o->lower + len, sizeof(o->lower) - len,
					"%s/proc/self/fd/%d", len ? ":" : "", fd);
	}
	return 0;
}

/* The upper layer's root is the zone root's "/": owned by its root (id_base). */
static int own_upper(const char *dir, uid_t base, struct zh_error *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return zh_error_set(err, errno, NULL, "overlay upper layer %s: %m", dir);
	if (st.st_uid == 0 && fchown(fd, base, base) < 0)
		return zh_error_set(err, errno, NULL, "overlay upper layer %s: chown: %m", dir);
	return 0;
}

/* One option of the caller's mount onto the new one. */
static int set_opt(struct ovl *o, char *opt, int userns, uid_t base, struct zh_error *err)
{
	char *eq = strchr(opt, '=');
	int r;

	if (streq(opt, "rw") || streq(opt, "ro"))
		return 0;
	if (!eq)
		r = fsconfig(o->fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
	else {
		*eq = '\0';
		unescape(eq + 1);
		if (streq(opt, "lowerdir")) {
			if ((r = set_lowers(o, eq + 1, userns, err)) < 0)
				return r;
			r = fsconfig(o->fs, FSCONFIG_SET_STRING, "lowerdir", o->lower, 0);
		} else if (streq(opt, "upperdir") && (r = own_upper(eq + 1, base, err)) < 0)
			return r;
		else
			r = fsconfig(o->fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
	}
	if (r < 0)
		return zh_error_set(err, errno, NULL, "overlay option %s: %m", opt);
	return 0;
}

static int make(struct ovl *o, char *opts, int userns, uid_t base, struct zh_error *err)
{
	char *save = NULL, *opt;
	int r, mfd;

	/* every option first (upperdir/workdir before lowerdir is fine for fsconfig) */
	for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if ((r = set_opt(o, opt, userns, base, err)) < 0)
			return r;
	if (fsconfig(o->fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return zh_error_set(err, errno, NULL,
				    "cannot mount the overlay with idmapped layers: %m");
	mfd = fsmount(o->fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mfd < 0)
		return zh_error_set(err, errno, NULL, "fsmount overlay: %m");
	return mfd;
}

int zone_ovl_open(const char *root, uid_t base, int *tree_fd, struct zh_error *err)
{
	_cleanup_free_ char *opts = super_opts(root);
	struct ovl o = {.fs = -1};
	int userns, r;

	if (!opts)
		return zh_error_set(err, EINVAL, NULL,
				    "zone root %s is an overlay that is not a mount point", root);
	if ((userns = map_userns(base, err)) < 0)
		return userns;
	o.fs = fsopen("overlay", FSOPEN_CLOEXEC);
	r = o.fs < 0 ? zh_error_set(err, errno, NULL, "fsopen overlay: %m")
		     : make(&o, opts, userns, base, err);
	for (size_t i = 0; i < o.n; i++)
		close(o.fds[i]);
	if (o.fs >= 0)
		close(o.fs);
	close(userns);
	if (r < 0)
		return r;
	*tree_fd = r;
	return 0;
}

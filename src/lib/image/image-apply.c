/*
 * image-apply.c - applying an incremental image's tar on top of its origin.
 *
 * Owns: the layer's root fd and the set of paths written so far, for the
 * length of one extraction.  What the extraction deletes (whited out
 * entries, directories replaced by non-directories) lives in the new
 * image's own dataset, a writable snapshot of the origin's @final, never in
 * the origin itself.
 *
 *     struct image_layer l;
 *     if (image_layer_open(&l, "img.tar.gz", &err) < 0) ...     (cwd = root)
 *     r = image_layer_entry(&l, archive_entry_pathname(e), is_dir, &err);
 *     if (r == 1) ... skip: it was a whiteout, now applied
 *     image_layer_close(&l);
 *
 * Invariants: paths are checked by image_layer_path() first (no "..", not
 * absolute).  A whiteout's directory is reached component by component
 * with O_NOFOLLOW, so a symlink (planted by this archive or by the origin)
 * can never lead a deletion out of the root; deletion walks by fd and never
 * follows a symlink either.  A whiteout may only delete what the origin
 * had: naming a path that this archive wrote (or an ancestor of one) is
 * refused, which also keeps libarchive's deferred directory fix-ups from
 * landing on a replaced path.  An opaque marker (".wh..wh..opq") empties
 * its directory of what the origin had there, keeping what this archive
 * wrote in it already (whatever the order of the entries), so it is
 * reached the same way and refused through a symlink.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"

#define REMOVE_DEPTH_MAX 1024

DEFINE_CLEANUP_FUNC(DIR, closedir)

int image_layer_open(struct image_layer *l, const char *label, struct zh_error *err)
{
	l->label = label;
	l->written = json_object();
	l->rootfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!l->written)
		return zh_error_oom(err);
	if (l->rootfd < 0)
		return zh_error_set(err, errno, NULL, "cannot open the image root: %m");
	return 0;
}

void image_layer_close(struct image_layer *l)
{
	closep(&l->rootfd);
	json_decref(l->written);
	l->written = NULL;
}

/* Add norm and its ancestors to the set (an ancestor present means all above it are). */
static int remember(json_t *set, const char *norm)
{
	_cleanup_free_ char *s = strdup(norm);
	char *slash;

	if (!s)
		return -ENOMEM;
	while (*s && !json_object_get(set, s)) {
		if (json_object_set_new_nocheck(set, s, json_true()) < 0)
			return -ENOMEM;
		slash = strrchr(s, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return 0;
}

/*
 * fd of the directory holding the last component of norm (which goes to
 * *name), walked from rootfd one component at a time without following
 * symlinks: -ENOENT when a component is missing, -ELOOP or -ENOTDIR when
 * one is a symlink or not a directory.
 */
static int open_parent(int rootfd, const char *norm, const char **name)
{
	_cleanup_free_ char *dir = strdup(norm);
	const char *slash = strrchr(norm, '/');
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	*name = slash ? slash + 1 : norm;
	if (!dir || fd < 0) {
		closep(&fd);
		return dir ? -errno : -ENOMEM;
	}
	dir[slash ? (size_t)(slash - norm) : 0] = '\0';
	for (char *c = strtok_r(dir, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
	}
	return fd;
}

static int remove_at(int dirfd, const char *name, int depth);

static int remove_contents(int fd, int depth)
{
	_cleanup_(closedirp) DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		int r;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = remove_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

/* rm -rf of name in dirfd, by fd, never following a symlink; missing is fine. */
static int remove_at(int dirfd, const char *name, int depth)
{
	int fd, r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	if (depth > REMOVE_DEPTH_MAX)
		return -ELOOP;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = remove_contents(fd, depth);
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

static int entry_fail(struct image_layer *l, const char *path, int errnum, const char *why,
		      struct zh_error *err)
{
	return zh_error_set(err, errnum, "-f", "-f %s: entry \"%s\" %s", l->label, path ? path : "",
			    why);
}

static int apply_whiteout(struct image_layer *l, const char *path, const char *target,
			  struct zh_error *err)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *name;
	char why[160];
	int r;

	if (json_object_get(l->written, target))
		return entry_fail(l, path, EINVAL,
				  "is a whiteout of what the same archive wrote (a whiteout may "
				  "only delete an entry of the origin)",
				  err);
	dfd = open_parent(l->rootfd, target, &name);
	if (dfd == -ENOENT)
		return 0; /* nothing there to delete */
	if (dfd == -ELOOP || dfd == -ENOTDIR)
		return entry_fail(l, path, EINVAL,
				  "is a whiteout reached through a symlink or a non-directory",
				  err);
	if (dfd < 0) {
		snprintf(why, sizeof(why), "cannot be applied: %s", strerror(-dfd));
		return entry_fail(l, path, -dfd, why, err);
	}
	r = remove_at(dfd, name, 0);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot delete \"%s\": %s", target, strerror(-r));
		return entry_fail(l, path, -r, why, err);
	}
	return 0;
}

/* Is dir/name a path this archive wrote (dir "" is the root)? */
static bool written_child(const struct image_layer *l, const char *dir, const char *name)
{
	_cleanup_free_ char *p = NULL;

	if (asprintf(&p, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		return true; /* keep it: never delete on doubt */
	return json_object_get(l->written, p) != NULL;
}

/* Delete the origin's entries in the directory fd (norm), keeping this archive's. */
static int clear_opaque(struct image_layer *l, int fd, const char *norm)
{
	_cleanup_(closedirp) DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		int r;

		if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
		    written_child(l, norm, de->d_name))
			continue;
		r = remove_at(dirfd(d), de->d_name, 0);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

/* The directory norm ("" the root), opened without following a symlink. */
static int open_dir(int rootfd, const char *norm)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *name;
	int fd;

	if (!*norm)
		fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if ((dfd = open_parent(rootfd, norm, &name)) < 0)
		return dfd;
	else
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int apply_opaque(struct image_layer *l, const char *path, const char *dir,
			struct zh_error *err)
{
	int fd = open_dir(l->rootfd, dir);
	char why[160];
	int r;

	if (fd == -ENOENT)
		return 0; /* the origin has no such directory */
	if (fd == -ELOOP || fd == -ENOTDIR)
		return entry_fail(l, path, EINVAL,
				  "is an opaque marker reached through a symlink or a "
				  "non-directory",
				  err);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot be applied: %s", strerror(-fd));
		return entry_fail(l, path, -fd, why, err);
	}
	r = clear_opaque(l, fd, dir);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot empty \"%s\": %s", dir, strerror(-r));
		return entry_fail(l, path, -r, why, err);
	}
	return 0;
}

/* A non-directory entry where the origin has a directory replaces the whole tree. */
static int clear_dir_in_way(struct image_layer *l, const char *path, const char *norm,
			    struct zh_error *err)
{
	_cleanup_close_ int dfd = -EBADF;
	const char *name;
	struct stat st;
	char why[160];
	int r;

	if (!*norm)
		return 0;
	dfd = open_parent(l->rootfd, norm, &name);
	if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0; /* nothing in the way; libarchive refuses what it must */
	if (json_object_get(l->written, norm))
		return entry_fail(l, path, EINVAL,
				  "replaces a directory that the same archive wrote", err);
	r = remove_at(dfd, name, 0);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot replace the directory there: %s", strerror(-r));
		return entry_fail(l, path, -r, why, err);
	}
	return 0;
}

int image_layer_entry(struct image_layer *l, const char *path, bool is_dir, struct zh_error *err)
{
	_cleanup_free_ char *norm = NULL;
	const char *why = NULL;
	int r = image_layer_path(path, &norm, &why);

	if (r == -ENOMEM)
		return zh_error_oom(err);
	if (r < 0)
		return entry_fail(l, path, EINVAL, why, err);
	if (r == IMAGE_LAYER_WHITEOUT || r == IMAGE_LAYER_OPAQUE) {
		r = r == IMAGE_LAYER_OPAQUE ? apply_opaque(l, path, norm, err)
					    : apply_whiteout(l, path, norm, err);
		return r < 0 ? r : 1;
	}
	if (!is_dir && (r = clear_dir_in_way(l, path, norm, err)) < 0)
		return r;
	return remember(l->written, norm) < 0 ? zh_error_oom(err) : 0;
}

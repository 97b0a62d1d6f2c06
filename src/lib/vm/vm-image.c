/*
 * vm-image.c - an image (manifest v2 + tar file) from a stopped VM.
 *
 * Owns: the two output files NAME-VERSION.imgmanifest and
 * NAME-VERSION.tar[.ext] in the output directory, written under hidden temp
 * names and renamed into place only when both are complete (a failure
 * unlinks the temps, so no partial output is ever visible under the final
 * names).
 *
 *     struct image_create_opts o = {.vm_uuid = u, .fields = m, .compression = "zstd"};
 *     if (image_create(&o, &manifest_path, &file_path, &err) < 0) ...
 *
 * Lock order: the VM lock (lock_vm) for the whole run, taken before the
 * state is read, so the VM cannot start while its root is archived.
 *
 * Invariants: the zone root is walked by file descriptor only (openat with
 * O_NOFOLLOW, fstatat with AT_SYMLINK_NOFOLLOW), so no symlink in the zone
 * is ever followed and nothing outside the root is read.  Owners are kept
 * numerically as on disk; modes and times are kept; symlinks are stored as
 * links; hard links as tar hard links; device nodes and sockets are
 * skipped (the zone runtime provides /dev).  The SHA-1 and size in the
 * manifest are computed from the very bytes written to the file.
 *
 * Incremental (-i): the VM root and its image's @final root are walked side
 * by side, both by fd the same way.  A VM entry goes into the tar when the
 * origin has none of that name or of that type, or when its metadata
 * differs (type, mode, uid, gid, size, mtime and ctime to the nanosecond,
 * symlink target; contents are never compared: the VM is a btrfs snapshot
 * of the origin, which keeps every inode's ctime, and any change to a file
 * moves its ctime).  A changed directory's own entry goes in; every
 * directory present in both is descended.  An origin entry with no VM
 * entry of that name becomes a whiteout ".wh.NAME" (after the entries of
 * its directory), and so does one the VM replaced by a device or socket.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image.h"
#include "vm-image.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "runstate.h"
#include "util.h"
#include "vm-view.h"
#include "vmstore.h"

#define COPY_BUF  (256u << 10)
#define ZERO_UUID "00000000-0000-0000-0000-000000000000"
#define MAX_DEPTH 512

DEFINE_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_CLEANUP_FUNC(struct archive_entry, archive_entry_free)
DEFINE_CLEANUP_FUNC(DIR, closedir)

static const struct {
	const char *name, *ext;
	int (*add)(struct archive *);
} filters[] = {
	{"none", "tar", archive_write_add_filter_none},
	{"gzip", "tar.gz", archive_write_add_filter_gzip},
	{"bzip2", "tar.bz2", archive_write_add_filter_bzip2},
	{"xz", "tar.xz", archive_write_add_filter_xz},
	{"zstd", "tar.zst", archive_write_add_filter_zstd},
};

static int filter_index(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(filters); i++)
		if (streq(filters[i].name, name))
			return (int)i;
	return -1;
}

/* ---- output: a temp file renamed into place at the end ---- */

struct out_file {
	char *tmp, *final;
	int fd;
};

static void out_file_done(struct out_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	free(f->tmp);
	free(f->final);
	f->fd = -EBADF;
	f->tmp = f->final = NULL;
}

static int out_file_open(struct out_file *f, const char *dir, const char *base,
			 struct zh_error *err)
{
	if (asprintf(&f->final, "%s/%s", dir, base) < 0 ||
	    asprintf(&f->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		f->final = f->tmp = NULL;
		return zh_error_oom(err);
	}
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;

		free(f->tmp);
		f->tmp = NULL;
		return zh_error_set(err, e, "-o", "cannot create a file in %s: %s", dir,
				    strerror(e));
	}
	if (fchmod(f->fd, 0644) < 0)
		return zh_error_set(err, errno, "-o", "%s: %m", f->tmp);
	return 0;
}

static int out_file_commit(struct out_file *f, struct zh_error *err)
{
	if (fsync(f->fd) < 0)
		return zh_error_set(err, errno, "-o", "%s: cannot sync: %m", f->final);
	if (rename(f->tmp, f->final) < 0)
		return zh_error_set(err, errno, "-o", "cannot rename to %s: %m", f->final);
	free(f->tmp);
	f->tmp = NULL;
	return 0;
}

/* ---- the archive's sink: file + SHA-1 + size ---- */

struct sink {
	int fd;
	EVP_MD_CTX *sha;
	uint64_t size;
};

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
	struct sink *s = data;
	int r = fsutil_write_all(s->fd, buf, len);

	if (r < 0) {
		archive_set_error(a, -r, "cannot write the image file: %s", strerror(-r));
		return -1;
	}
	if (EVP_DigestUpdate(s->sha, buf, len) != 1) {
		archive_set_error(a, EIO, "SHA-1 failed");
		return -1;
	}
	s->size += len;
	return (la_ssize_t)len;
}

/* ---- walking the zone root ---- */

struct walk {
	struct archive *a;
	struct archive_entry_linkresolver *links;
	char *buf;
	struct zh_error *err;
	bool incremental;
};

#define WH_PREFIX ".wh."

/* In an incremental image's tar, ".wh.*" names are whiteouts: a VM file cannot have one. */
static int check_reserved(struct walk *w, const char *name, const char *path)
{
	if (!w->incremental || strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return 0;
	return zh_error_set(w->err, EINVAL, "-i",
			    "-i: %s: names starting with \".wh.\" are reserved for whiteouts in "
			    "incremental images (rename it or make a full image)",
			    path);
}

static int arch_fail(struct walk *w, const char *path)
{
	int e = archive_errno(w->a);

	return zh_error_set(w->err, e > 0 ? e : EIO, NULL, "%s: %s", path,
			    archive_error_string(w->a) ? archive_error_string(w->a)
						       : "archive error");
}

static int copy_data(struct walk *w, int fd, const char *path)
{
	for (;;) {
		ssize_t n = read(fd, w->buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return zh_error_set(w->err, errno, NULL, "%s: cannot read: %m", path);
		if (n == 0)
			return 0;
		if (archive_write_data(w->a, w->buf, (size_t)n) < 0)
			return arch_fail(w, path);
	}
}

/* Header (after hard link resolution), then the data of a first regular link. */
static int write_entry(struct walk *w, struct archive_entry *e, int fd, const char *path)
{
	struct archive_entry *spare = NULL;

	if (archive_entry_filetype(e) != AE_IFDIR)
		archive_entry_linkify(w->links, &e, &spare);
	if (spare)
		archive_entry_free(spare);
	if (!e)
		return 0;
	if (archive_write_header(w->a, e) < ARCHIVE_WARN)
		return arch_fail(w, path);
	if (fd >= 0 && !archive_entry_hardlink(e) && archive_entry_size(e) > 0)
		return copy_data(w, fd, path);
	return 0;
}

static int add_regular(struct walk *w, int dirfd, const char *name, const char *path,
		       struct archive_entry *e)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return zh_error_set(w->err, errno, NULL, "%s: cannot open: %m", path);
	if (!S_ISREG(st.st_mode))
		return zh_error_set(w->err, EAGAIN, NULL, "%s: changed while being read", path);
	archive_entry_copy_stat(e, &st);
	return write_entry(w, e, fd, path);
}

static int add_symlink(struct walk *w, int dirfd, const char *name, const char *path,
		       struct archive_entry *e)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return zh_error_set(w->err, errno, NULL, "%s: cannot read link: %m", path);
	target[n] = '\0';
	archive_entry_set_size(e, 0);
	archive_entry_copy_symlink(e, target);
	return write_entry(w, e, -EBADF, path);
}

static int add_tree(struct walk *w, int dirfd, const char *rel, int depth);

static int add_dir(struct walk *w, int dirfd, const char *name, const char *path,
		   struct archive_entry *e, int depth)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return zh_error_set(w->err, errno, NULL, "%s: cannot open: %m", path);
	archive_entry_set_size(e, 0);
	r = write_entry(w, e, -EBADF, path);
	return r < 0 ? r : add_tree(w, fd, path, depth + 1);
}

static int add_one(struct walk *w, int dirfd, const char *name, const char *rel, int depth)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (!e || (rel ? asprintf(&path, "%s/%s", rel, name) : asprintf(&path, "%s", name)) < 0) {
		path = NULL;
		return zh_error_oom(w->err);
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return zh_error_set(w->err, errno, NULL, "%s: %m", path);
	if (check_reserved(w, name, path) < 0)
		return -w->err->errnum;
	archive_entry_copy_pathname(e, path);
	archive_entry_copy_stat(e, &st);
	if (S_ISDIR(st.st_mode))
		return add_dir(w, dirfd, name, path, e, depth);
	if (S_ISREG(st.st_mode))
		return add_regular(w, dirfd, name, path, e);
	if (S_ISLNK(st.st_mode))
		return add_symlink(w, dirfd, name, path, e);
	if (S_ISFIFO(st.st_mode)) {
		archive_entry_set_size(e, 0);
		return write_entry(w, e, -EBADF, path);
	}
	return 0; /* device nodes and sockets */
}

typedef int (*entry_fn)(struct walk *w, const char *name, void *ud);

/* fn on every entry of the directory dirfd (rel names it in messages). */
static int each_entry(struct walk *w, int dirfd, const char *rel, entry_fn fn, void *ud)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return zh_error_set(w->err, errno, NULL, "%s: cannot read directory: %m",
				    rel ? rel : ".");
	}
	while ((errno = 0, de = readdir(d))) {
		int r;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = fn(w, de->d_name, ud);
		if (r < 0)
			return r;
	}
	if (errno)
		return zh_error_set(w->err, errno, NULL, "%s: cannot read directory: %m",
				    rel ? rel : ".");
	return 0;
}

static int check_depth(struct walk *w, const char *rel, int depth)
{
	if (depth > MAX_DEPTH)
		return zh_error_set(w->err, ELOOP, NULL, "%s: directories nested too deeply", rel);
	return 0;
}

struct tree_ctx {
	int dirfd;
	const char *rel;
	int depth;
};

static int add_tree_entry(struct walk *w, const char *name, void *ud)
{
	struct tree_ctx *c = ud;

	return add_one(w, c->dirfd, name, c->rel, c->depth);
}

static int add_tree(struct walk *w, int dirfd, const char *rel, int depth)
{
	struct tree_ctx c = {.dirfd = dirfd, .rel = rel, .depth = depth};
	int r = check_depth(w, rel, depth);

	return r < 0 ? r : each_entry(w, dirfd, rel, add_tree_entry, &c);
}

/* ---- incremental: what differs from the origin ---- */

static char *join(const char *rel, const char *name)
{
	char *s = NULL;

	if ((rel ? asprintf(&s, "%s/%s", rel, name) : asprintf(&s, "%s", name)) < 0)
		return NULL;
	return s;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_link(int vfd, int ofd, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	ssize_t n = readlinkat(vfd, name, a, sizeof(a));
	ssize_t m = readlinkat(ofd, name, b, sizeof(b));

	return n >= 0 && n == m && memcmp(a, b, (size_t)n) == 0;
}

/* Metadata only: see the comment at the top. */
static bool unchanged(const struct stat *a, const struct stat *b, int vfd, int ofd,
		      const char *name)
{
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid ||
	    a->st_size != b->st_size || a->st_rdev != b->st_rdev ||
	    !same_time(&a->st_mtim, &b->st_mtim) || !same_time(&a->st_ctim, &b->st_ctim))
		return false;
	return !S_ISLNK(a->st_mode) || same_link(vfd, ofd, name);
}

/* The types a tar of ours holds (device nodes and sockets are left out). */
static bool archived_type(mode_t m)
{
	return S_ISDIR(m) || S_ISREG(m) || S_ISLNK(m) || S_ISFIFO(m);
}

static int add_whiteout(struct walk *w, const char *rel, const char *name)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *gone = join(rel, name);
	_cleanup_free_ char *path = NULL;

	if (!e || !gone ||
	    (rel ? asprintf(&path, "%s/" WH_PREFIX "%s", rel, name)
		 : asprintf(&path, WH_PREFIX "%s", name)) < 0) {
		path = NULL;
		return zh_error_oom(w->err);
	}
	if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return zh_error_set(w->err, EINVAL, "-i",
				    "-i: %s: the VM deleted an entry whose name starts with "
				    "\".wh.\", which an incremental image cannot carry (make a "
				    "full image)",
				    gone);
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_size(e, 0);
	if (archive_write_header(w->a, e) < ARCHIVE_WARN)
		return arch_fail(w, path);
	return 0;
}

static int diff_tree(struct walk *w, int vfd, int ofd, const char *rel, int depth);

/* A directory in both: its own entry if it changed, then what differs inside. */
static int diff_dir(struct walk *w, int vfd, int ofd, const char *name, const char *path,
		    const struct stat *st, bool same, int depth)
{
	_cleanup_close_ int vsub =
		openat(vfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int osub =
		openat(ofd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
	int r;

	if (vsub < 0 || osub < 0)
		return zh_error_set(w->err, errno, NULL, "%s: cannot open: %m", path);
	if ((r = check_reserved(w, name, path)) < 0)
		return r;
	if (!same) {
		if (!(e = archive_entry_new()))
			return zh_error_oom(w->err);
		archive_entry_copy_pathname(e, path);
		archive_entry_copy_stat(e, st);
		archive_entry_set_size(e, 0);
		if ((r = write_entry(w, e, -EBADF, path)) < 0)
			return r;
	}
	return diff_tree(w, vsub, osub, path, depth + 1);
}

struct diff_ctx {
	int vfd, ofd;
	const char *rel;
	int depth;
};

/* One VM entry against the origin's entry of the same name. */
static int diff_entry(struct walk *w, const char *name, void *ud)
{
	struct diff_ctx *c = ud;
	_cleanup_free_ char *path = join(c->rel, name);
	struct stat st, ost;

	if (!path)
		return zh_error_oom(w->err);
	if (fstatat(c->vfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return zh_error_set(w->err, errno, NULL, "%s: %m", path);
	if (fstatat(c->ofd, name, &ost, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? add_one(w, c->vfd, name, c->rel, c->depth)
				       : zh_error_set(w->err, errno, "-i", "origin %s: %m", path);
	if ((st.st_mode & S_IFMT) != (ost.st_mode & S_IFMT))
		return archived_type(st.st_mode) ? add_one(w, c->vfd, name, c->rel, c->depth)
						 : add_whiteout(w, c->rel, name);
	if (S_ISDIR(st.st_mode))
		return diff_dir(w, c->vfd, c->ofd, name, path, &st,
				unchanged(&st, &ost, c->vfd, c->ofd, name), c->depth);
	if (!archived_type(st.st_mode) || unchanged(&st, &ost, c->vfd, c->ofd, name))
		return 0;
	return add_one(w, c->vfd, name, c->rel, c->depth);
}

/* One origin entry: a whiteout when the VM has nothing of that name. */
static int gone_entry(struct walk *w, const char *name, void *ud)
{
	struct diff_ctx *c = ud;
	struct stat st;

	if (fstatat(c->vfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return zh_error_set(w->err, errno, NULL, "%s/%s: %m", c->rel ? c->rel : ".", name);
	return add_whiteout(w, c->rel, name);
}

static int diff_tree(struct walk *w, int vfd, int ofd, const char *rel, int depth)
{
	struct diff_ctx c = {.vfd = vfd, .ofd = ofd, .rel = rel, .depth = depth};
	int r = check_depth(w, rel, depth);

	if (r == 0)
		r = each_entry(w, vfd, rel, diff_entry, &c);
	return r < 0 ? r : each_entry(w, ofd, rel, gone_entry, &c);
}

/* ---- the tar file ---- */

static int open_archive(struct archive *a, int filter, struct sink *s, struct zh_error *err)
{
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    filters[filter].add(a) != ARCHIVE_OK || archive_write_set_bytes_in_last_block(a, 1) ||
	    archive_write_open2(a, s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
		return zh_error_set(err, EIO, "-c", "cannot start the %s archive: %s",
				    filters[filter].name, archive_error_string(a));
	return 0;
}

static int hex_digest(EVP_MD_CTX *sha, char hex[41], struct zh_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(sha, md, &len) != 1 || len != 20)
		return zh_error_set(err, EIO, NULL, "SHA-1 failed");
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

struct tar_result {
	char sha1[41];
	uint64_t size;
};

/* The tar of rootfd, or (originfd >= 0) of what differs from originfd. */
static int write_tar(int rootfd, int originfd, int outfd, int filter, struct tar_result *res,
		     struct zh_error *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sha = EVP_MD_CTX_new();
	_cleanup_free_ char *buf = malloc(COPY_BUF);
	struct sink s = {.fd = outfd, .sha = sha};
	struct walk w = {
		.a = archive_write_new(), .buf = buf, .err = err, .incremental = originfd >= 0};
	int r;

	w.links = archive_entry_linkresolver_new();
	if (!sha || !buf || !w.a || !w.links || EVP_DigestInit_ex(sha, EVP_sha1(), NULL) != 1)
		r = zh_error_oom(err);
	else if ((r = open_archive(w.a, filter, &s, err)) == 0) {
		archive_entry_linkresolver_set_strategy(w.links, archive_format(w.a));
		r = w.incremental ? diff_tree(&w, rootfd, originfd, NULL, 0)
				  : add_tree(&w, rootfd, NULL, 0);
		if (r == 0 && archive_write_close(w.a) != ARCHIVE_OK)
			r = arch_fail(&w, "image file");
	}
	if (w.links)
		archive_entry_linkresolver_free(w.links);
	if (w.a)
		archive_write_free(w.a);
	if (r == 0 && (r = hex_digest(sha, res->sha1, err)) == 0)
		res->size = s.size;
	return r;
}

/* ---- the manifest ---- */

static int set_default(json_t *m, const char *key, json_t *v)
{
	if (json_object_get(m, key)) {
		json_decref(v);
		return 0;
	}
	return json_object_set_new(m, key, v);
}

static int check_file_part(const json_t *m, const char *key, struct zh_error *err)
{
	const char *s = jsonutil_str(m, key);

	if (!json_object_get(m, key))
		return zh_error_set(err, EINVAL, key,
				    "manifest field \"%s\" is required (-m MANIFEST or %s=VALUE)",
				    key, key);
	if (!s || !*s || s[0] == '.' || strchr(s, '/'))
		return zh_error_set(err, EINVAL, key,
				    "manifest field \"%s\" must be a string, not empty, without "
				    "'/' or a leading '.'",
				    key);
	return 0;
}

/* os from the VM's source image, else "linux"; requirements.brand for lx. */
static int source_fields(json_t *m, const struct pool *p, const json_t *vm)
{
	const char *img = jsonutil_str(vm, "image_uuid");
	const char *brand = jsonutil_str(vm, "brand");
	_cleanup_json_ json_t *info = NULL;
	struct zh_error ignore = ZH_ERROR_INIT;
	const char *os = NULL;
	json_t *req;

	if (img && image_get(p, img, &info, &ignore) == 0)
		os = jsonutil_str(json_object_get(info, "manifest"), "os");
	zh_error_clear(&ignore);
	if (set_default(m, "os", json_string(os ? os : "linux")) < 0)
		return -ENOMEM;
	if (!brand || !streq(brand, "lx"))
		return 0;
	req = json_object_get(m, "requirements");
	if (!req && json_object_set_new(m, "requirements", req = json_object()) < 0)
		return -ENOMEM;
	return json_is_object(req) ? set_default(req, "brand", json_string("lx")) : 0;
}

static int build_manifest(const struct image_create_opts *o, const struct pool *p, const json_t *vm,
			  json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *m = o->fields ? json_deep_copy(o->fields) : json_object();
	char uuid[UTIL_UUID_LEN + 1], now[UTIL_TIMESTAMP_LEN + 1];
	int r;

	if (!m || !json_is_object(m))
		return m ? zh_error_set(err, EINVAL, "-m", "the manifest must be an object")
			 : zh_error_oom(err);
	if ((r = check_file_part(m, "name", err)) < 0 ||
	    (r = check_file_part(m, "version", err)) < 0)
		return r;
	if (util_uuid_generate(uuid) < 0)
		return zh_error_set(err, EIO, NULL, "cannot generate a uuid");
	util_timestamp_now(now);
	json_object_del(m, "origin");
	if (json_object_set_new(m, "v", json_integer(2)) < 0 ||
	    set_default(m, "uuid", json_string(uuid)) < 0 ||
	    set_default(m, "owner", json_string(ZERO_UUID)) < 0 ||
	    json_object_set_new(m, "state", json_string("active")) < 0 ||
	    set_default(m, "disabled", json_false()) < 0 ||
	    set_default(m, "public", json_false()) < 0 ||
	    json_object_set_new(m, "published_at", json_string(now)) < 0 ||
	    set_default(m, "type", json_string("zone-dataset")) < 0 || source_fields(m, p, vm) < 0)
		return zh_error_oom(err);
	*out = json_incref(m);
	return 0;
}

static int set_files(json_t *m, const char *sha1, uint64_t size, const char *comp)
{
	json_t *f = json_pack("[{s:s, s:I, s:s}]", "sha1", sha1, "size", (json_int_t)size,
			      "compression", comp);

	return f && json_object_set_new(m, "files", f) == 0 ? 0 : -ENOMEM;
}

/* ---- the VM ---- */

/* Find the VM and take its lock (returned: held while the image is made, so
 * the VM cannot start meanwhile); refuse it unless stopped. */
static int find_stopped_vm(const char *uuid, struct pool **p, json_t **vm, struct zh_error *err)
{
	_cleanup_close_ int vl = -EBADF;
	struct runstate rs = {0};
	int r = vmview_find(uuid, p, vm, err);

	if (r == -ENOENT) {
		zh_error_clear(err);
		return zh_error_set(err, ENOENT, "vm_uuid", "VM %s does not exist", uuid);
	}
	if (r < 0 || (vl = lock_vm(uuid, err)) < 0)
		return r < 0 ? r : vl;
	if (runstate_read(uuid, &rs) < 0)
		return zh_error_oom(err);
	if (rs.live)
		r = zh_error_set(err, EBUSY, "state",
				 "VM %s is %s: stop it before creating an image from it", uuid,
				 rs.state ? rs.state : "running");
	runstate_clear(&rs);
	return r < 0 ? r : TAKE_FD(vl);
}

static int open_root(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/%s/" PATHS_DS_ROOT, p->mountpoint, uuid) < 0)
		return zh_error_oom(err);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "%s: %m", path);
	return fd;
}

/*
 * create -i: the VM's image is the origin; it must be installed, with room
 * left in its chain.  Sets "origin" in the manifest; returns an fd on the
 * origin's @final root.
 */
static int open_origin(const struct pool *p, const json_t *vm, json_t *manifest,
		       struct zh_error *err)
{
	const char *img = jsonutil_str(vm, "image_uuid");
	_cleanup_free_ char *path = NULL;
	unsigned depth = 0;
	int fd, r;

	if (!img || !util_is_uuid(img))
		return zh_error_set(err, EINVAL, "-i",
				    "-i: the VM was not created from an image, so there is no "
				    "origin to compare it with");
	r = image_origin_depth(p, img, &depth, err);
	if (r == -ENOENT) {
		zh_error_clear(err);
		return zh_error_set(err, ENOENT, "-i",
				    "-i: the VM's image %s (the origin) is not installed", img);
	}
	if (r < 0)
		return r;
	if (depth >= IMAGE_ORIGIN_DEPTH_MAX)
		return zh_error_set(err, ELOOP, "-i",
				    "-i: image %s already has an origin chain of %u images, the "
				    "most there can be (make a full image instead)",
				    img, depth);
	if (json_object_set_new(manifest, "origin", json_string(img)) < 0 ||
	    asprintf(&path, "%s/%s@" PATHS_IMAGE_SNAP "/" PATHS_DS_ROOT, p->mountpoint, img) < 0)
		return zh_error_oom(err);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return zh_error_set(err, errno, "-i", "-i: %s: %m", path);
	return fd;
}

/* ---- putting it together ---- */

struct create_state {
	struct out_file tar, man;
	json_t *manifest;
};

static void create_state_done(struct create_state *c)
{
	out_file_done(&c->tar);
	out_file_done(&c->man);
	json_decref(c->manifest);
}

static int write_outputs(struct create_state *c, int rootfd, int originfd, int filter,
			 const char *dir, struct zh_error *err)
{
	const char *name = jsonutil_str(c->manifest, "name");
	const char *version = jsonutil_str(c->manifest, "version");
	_cleanup_free_ char *tarname = NULL, *manname = NULL, *text = NULL;
	struct tar_result res;
	int r;

	if (asprintf(&tarname, "%s-%s.%s", name, version, filters[filter].ext) < 0 ||
	    asprintf(&manname, "%s-%s.imgmanifest", name, version) < 0)
		return zh_error_oom(err);
	if ((r = out_file_open(&c->tar, dir, tarname, err)) < 0 ||
	    (r = out_file_open(&c->man, dir, manname, err)) < 0 ||
	    (r = write_tar(rootfd, originfd, c->tar.fd, filter, &res, err)) < 0)
		return r;
	if (set_files(c->manifest, res.sha1, res.size, filters[filter].name) < 0 ||
	    !(text = json_dumps(c->manifest, JSON_INDENT(2) | JSON_SORT_KEYS)))
		return zh_error_oom(err);
	if ((r = image_manifest_check(c->manifest, err)) < 0)
		return r;
	if ((r = fsutil_write_all(c->man.fd, text, strlen(text))) < 0 ||
	    (r = fsutil_write_all(c->man.fd, "\n", 1)) < 0)
		return zh_error_set(err, -r, "-o", "%s: cannot write: %s", c->man.final,
				    strerror(-r));
	return 0;
}

static int commit_outputs(struct create_state *c, struct zh_error *err)
{
	int r = out_file_commit(&c->tar, err);

	if (r < 0)
		return r;
	r = out_file_commit(&c->man, err);
	if (r < 0)
		unlink(c->tar.final);
	return r;
}

int image_create(const struct image_create_opts *o, char **manifest_out, char **file_out,
		 struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	_cleanup_close_ int rootfd = -EBADF, originfd = -EBADF, vl = -EBADF;
	_cleanup_(create_state_done) struct create_state c = {.tar.fd = -EBADF, .man.fd = -EBADF};
	int filter = filter_index(o->compression ? o->compression : "gzip");
	int r;

	if (filter < 0)
		return zh_error_set(err, EINVAL, "-c",
				    "-c %s: unknown compression (none, gzip, bzip2, xz, zstd)",
				    o->compression);
	if ((r = vl = find_stopped_vm(o->vm_uuid, &p, &vm, err)) < 0 ||
	    (r = build_manifest(o, p, vm, &c.manifest, err)) < 0 ||
	    (o->incremental && (r = originfd = open_origin(p, vm, c.manifest, err)) < 0) ||
	    (r = set_files(c.manifest, "0000000000000000000000000000000000000000", 0, "none")) <
		    0 ||
	    (r = image_manifest_check(c.manifest, err)) < 0)
		return r == -ENOMEM ? zh_error_oom(err) : r;
	if ((rootfd = open_root(p, o->vm_uuid, err)) < 0)
		return rootfd;
	if ((r = write_outputs(&c, rootfd, originfd, filter, o->output_dir ? o->output_dir : ".",
			       err)) < 0 ||
	    (r = commit_outputs(&c, err)) < 0)
		return r;
	*manifest_out = TAKE_PTR(c.man.final);
	*file_out = TAKE_PTR(c.tar.final);
	return 0;
}

/*
 * image-docker-spool.c - the files of a Docker or OCI image tar, copied
 * into a stage and hashed (docs/architecture.md §18, "Docker images").
 *
 * Owns: the stage (pool_stage_create) holding one file "b<N>" per regular
 * entry of the outer tar, and the map from each entry's normalised path to
 * {"file", "size", "sha256", "sha1"} (or {"link": path} for a symlink or
 * hard link entry, resolved inside the tar only).  The import
 * (image-docker-import.c) reads documents and layers from here; nothing is
 * ever written or read by a path taken from the tar.
 *
 *     struct docker_spool s = DOCKER_SPOOL_INIT;
 *     if (docker_spool_fill(p, "img.tar", &s, &err) < 0) ...
 *     const json_t *f = docker_spool_find(&s, "manifest.json");
 *     docker_spool_release(&s);
 *
 * Bounds: the stage holds at most the tar's size (four times it for a
 * compressed tar), at most DOCKER_SPOOL_FILES_MAX entries; a document is
 * read only when it is at most IMAGE_MANIFEST_MAX bytes; a compressed
 * layer is hashed uncompressed up to DOCKER_LAYER_MAX bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "util.h"

#define BUF_SIZE	       (256u << 10)
#define DOCKER_SPOOL_FILES_MAX 4096
#define DOCKER_LINK_HOPS       8
#define DOCKER_LAYER_MAX       (20ULL << 30)

DEFINE_CLEANUP_FUNC(struct archive, archive_read_free)
DEFINE_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)

void docker_spool_release(struct docker_spool *s)
{
	pool_stage_destroy(&s->stage);
	json_decref(s->files);
	s->files = NULL;
}

int docker_fail(const char *file, struct zh_error *err, int en, const char *fmt, ...)
{
	_cleanup_free_ char *why = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return zh_error_oom(err);
	return zh_error_set(err, en, "-f", "-f %s: %s", file, why);
}

/* "./a//b/" -> "a/b"; NULL (refused) for an absolute path or a ".." component. */
static char *normalise(const char *path)
{
	_cleanup_free_ char *out = path ? malloc(strlen(path) + 1) : NULL;
	size_t n = 0;

	if (!out || path[0] == '/')
		return NULL;
	for (const char *p = path; *p;) {
		const char *c = p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = (size_t)(p - c);
		while (*p == '/')
			p++;
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return NULL;
		if (n)
			out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
	}
	out[n] = '\0';
	return TAKE_PTR(out);
}

/* ---- hashing ---- */

struct hashes {
	EVP_MD_CTX *sha256, *sha1;
};

static void hashes_free(struct hashes *h)
{
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->sha1);
}

static int hashes_init(struct hashes *h)
{
	h->sha256 = EVP_MD_CTX_new();
	h->sha1 = EVP_MD_CTX_new();
	if (!h->sha256 || !h->sha1 || EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL) != 1)
		return -ENOMEM;
	return 0;
}

static void hex_final(EVP_MD_CTX *ctx, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	hex[0] = '\0';
	if (EVP_DigestFinal_ex(ctx, md, &len) != 1)
		return;
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- filling ---- */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy the entry's data into fd, hashing it; at most s->left bytes in all. */
static int copy_entry(struct docker_spool *s, struct archive *a, int fd, const char *path,
		      json_t *info, struct zh_error *err)
{
	_cleanup_(hashes_free) struct hashes h = {0};
	_cleanup_free_ char *buf = malloc(BUF_SIZE);
	char sha256[65], sha1[41];
	uint64_t size = 0;

	if (!buf || hashes_init(&h) < 0)
		return zh_error_oom(err);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BUF_SIZE);

		if (n == 0)
			break;
		if (n < 0)
			return docker_fail(s->label, err, EINVAL, "entry \"%s\": cannot read it",
					   path);
		size += (uint64_t)n;
		if (size > s->left)
			return docker_fail(s->label, err, EFBIG,
					   "entry \"%s\": the files unpack to more than the "
					   "archive's size allows",
					   path);
		if (EVP_DigestUpdate(h.sha256, buf, (size_t)n) != 1 ||
		    EVP_DigestUpdate(h.sha1, buf, (size_t)n) != 1)
			return zh_error_oom(err);
		if (write_all(fd, buf, (size_t)n) < 0)
			return zh_error_set(err, errno, NULL, "cannot write %s: %m", s->stage.path);
	}
	s->left -= size;
	hex_final(h.sha256, sha256);
	hex_final(h.sha1, sha1);
	if (json_object_set_new(info, "size", json_integer((json_int_t)size)) < 0 ||
	    json_object_set_new(info, "sha256", json_string(sha256)) < 0 ||
	    json_object_set_new(info, "sha1", json_string(sha1)) < 0)
		return zh_error_oom(err);
	return 0;
}

static int spool_file(struct docker_spool *s, struct archive *a, const char *path,
		      struct zh_error *err)
{
	_cleanup_json_ json_t *info = json_object();
	_cleanup_close_ int fd = -EBADF;
	char name[32];
	int r;

	snprintf(name, sizeof(name), "b%zu", json_object_size(s->files));
	fd = openat(s->stage.fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s/%s: %m", s->stage.path,
				    name);
	if (!info || json_object_set_new(info, "file", json_string(name)) < 0)
		return zh_error_oom(err);
	if ((r = copy_entry(s, a, fd, path, info, err)) < 0)
		return r;
	return json_object_set(s->files, path, info) < 0 ? zh_error_oom(err) : 0;
}

/* A symlink's target relative to its directory; a hard link's from the tar's root. */
static int spool_link(struct docker_spool *s, const char *path, const char *target, bool sym,
		      struct zh_error *err)
{
	_cleanup_free_ char *joined = NULL, *norm = NULL;
	const char *slash = strrchr(path, '/');

	if (sym && target[0] != '/' &&
	    asprintf(&joined, "%.*s%s%s", slash ? (int)(slash - path) : 0, path, slash ? "/" : "",
		     target) < 0)
		return zh_error_oom(err);
	norm = normalise(joined ? joined : target);
	if (!norm) /* leads out of the archive: never followed, so never found */
		return 0;
	if (json_object_set_new(s->files, path, json_pack("{ss}", "link", norm)) < 0)
		return zh_error_oom(err);
	return 0;
}

static int spool_entry(struct docker_spool *s, struct archive *a, struct archive_entry *e,
		       struct zh_error *err)
{
	_cleanup_free_ char *path = normalise(archive_entry_pathname(e));
	const char *hard = archive_entry_hardlink(e);

	if (!path)
		return docker_fail(s->label, err, EINVAL,
				   "entry \"%s\" is an absolute path or has a \"..\" component",
				   archive_entry_pathname(e));
	if (json_object_size(s->files) >= DOCKER_SPOOL_FILES_MAX)
		return docker_fail(s->label, err, EFBIG, "has more than %d files",
				   DOCKER_SPOOL_FILES_MAX);
	if (json_object_get(s->files, path))
		return docker_fail(s->label, err, EINVAL, "entry \"%s\" appears twice", path);
	if (hard)
		return spool_link(s, path, hard, false, err);
	if (archive_entry_filetype(e) == AE_IFLNK)
		return spool_link(s, path, archive_entry_symlink(e), true, err);
	if (archive_entry_filetype(e) != AE_IFREG)
		return 0; /* directories and the rest: nothing to keep */
	return spool_file(s, a, path, err);
}

static int read_all_entries(struct docker_spool *s, int fd, struct zh_error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	struct archive_entry *e;

	if (!a)
		return zh_error_oom(err);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK)
		return docker_fail(s->label, err, EINVAL, "not a tar archive: %s",
				   archive_error_string(a));
	for (;;) {
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return docker_fail(s->label, err, EINVAL, "not a valid tar archive: %s",
					   archive_error_string(a));
		if ((r = spool_entry(s, a, e, err)) < 0)
			return r;
	}
}

/* A compressed tar may hold more than its size: allow four times it. */
static uint64_t spool_room(int fd, uint64_t size)
{
	unsigned char m[4] = {0};
	bool compressed = pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m) &&
			  ((m[0] == 0x1f && m[1] == 0x8b) || (m[0] == 0x28 && m[1] == 0xb5) ||
			   (m[0] == 'B' && m[1] == 'Z') || (m[0] == 0xfd && m[1] == '7'));

	return compressed ? size * 4 : size;
}

int docker_spool_fill(const struct pool *p, const char *path, struct docker_spool *s,
		      struct zh_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r;

	s->label = path;
	if (fd < 0)
		return zh_error_set(err, errno, "-f", "-f %s: %m", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return zh_error_set(err, EINVAL, "-f", "-f %s: not a regular file", path);
	s->left = spool_room(fd, (uint64_t)st.st_size);
	if (!(s->files = json_object()))
		return zh_error_oom(err);
	r = pool_stage_create(p, s->left, &s->stage, err);
	if (r < 0)
		return zh_error_prefix(err, "cannot import %s", path);
	return read_all_entries(s, fd, err);
}

/* ---- reading ---- */

const json_t *docker_spool_find(const struct docker_spool *s, const char *path)
{
	_cleanup_free_ char *norm = normalise(path);
	const json_t *f = norm ? json_object_get(s->files, norm) : NULL;

	for (int hop = 0; f && jsonutil_str(f, "link") && hop < DOCKER_LINK_HOPS; hop++)
		f = json_object_get(s->files, jsonutil_str(f, "link"));
	return f && !jsonutil_str(f, "link") ? f : NULL;
}

int docker_spool_open(const struct docker_spool *s, const json_t *f, struct zh_error *err)
{
	int fd = openat(s->stage.fd, jsonutil_str(f, "file"), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s/%s: %m", s->stage.path,
				    jsonutil_str(f, "file"));
	return fd;
}

int docker_spool_read(const struct docker_spool *s, const char *path, char **text, size_t *len,
		      struct zh_error *err)
{
	const json_t *f = docker_spool_find(s, path);
	json_int_t size = json_integer_value(json_object_get(f, "size"));
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	ssize_t n;

	if (!f)
		return docker_fail(s->label, err, ENOENT, "has no file \"%s\"", path);
	if (size > (json_int_t)IMAGE_MANIFEST_MAX)
		return zh_error_set(err, EFBIG, "-f", "-f %s: \"%s\" is %lld bytes, more than %u",
				    s->label, path, (long long)size, IMAGE_MANIFEST_MAX);
	if ((fd = docker_spool_open(s, f, err)) < 0)
		return fd;
	if (!(buf = malloc((size_t)size + 1)))
		return zh_error_oom(err);
	n = pread(fd, buf, (size_t)size, 0);
	if (n != (ssize_t)size)
		return zh_error_set(err, EIO, NULL, "cannot read %s: short read", path);
	buf[size] = '\0';
	*text = TAKE_PTR(buf);
	*len = (size_t)size;
	return 0;
}

/* ---- a layer's uncompressed digest ---- */

static int raw_reader(int fd, struct archive **out)
{
	struct archive *a = archive_read_new();

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK) {
		archive_read_free(a);
		return -EINVAL;
	}
	*out = a;
	return 0;
}

/* sha256 of the layer's data once decompressed (what rootfs.diff_ids name). */
int docker_spool_diff_id(const struct docker_spool *s, const json_t *f, const char *what,
			 char hex[65], struct zh_error *err)
{
	_cleanup_(archive_read_freep) struct archive *a = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ char *buf = malloc(BUF_SIZE);
	_cleanup_close_ int fd = docker_spool_open(s, f, err);
	struct archive_entry *e;
	uint64_t total = 0;

	if (fd < 0)
		return fd;
	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return zh_error_oom(err);
	if (raw_reader(fd, &a) < 0 || archive_read_next_header(a, &e) != ARCHIVE_OK)
		return docker_fail(s->label, err, EINVAL, "layer \"%s\" cannot be decompressed",
				   what);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BUF_SIZE);

		if (n == 0)
			break;
		if (n < 0)
			return docker_fail(s->label, err, EINVAL,
					   "layer \"%s\" is corrupt (decompressing failed)", what);
		total += (uint64_t)n;
		if (total > DOCKER_LAYER_MAX)
			return docker_fail(s->label, err, EFBIG,
					   "layer \"%s\" is more than 20 GiB uncompressed", what);
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			return zh_error_oom(err);
	}
	hex_final(ctx, hex);
	return 0;
}

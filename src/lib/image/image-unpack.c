/*
 * image-unpack.c - checking an image file and unpacking it.
 *
 * Owns: the file descriptor of the image file while it is checked and read,
 * and the files written under the target root (which the caller removes,
 * with the subvolume, on failure).
 *
 *     _cleanup_close_ int fd = image_file_verify(manifest, path, &err);
 *     if (fd < 0) return fd;
 *     if (image_unpack(fd, "/zones/<uuid>/root", path, &err) < 0) ...
 *
 * Invariants: the size is checked before a byte is hashed, the SHA-1 before
 * a byte is unpacked, and the fd that was hashed is the one unpacked.  The
 * archive is hostile input: extraction runs with the working directory at
 * the root and libarchive's SECURE_NODOTDOT, SECURE_NOABSOLUTEPATHS and
 * SECURE_SYMLINKS, so no entry (hard link targets included) can name or
 * reach a path outside the root.  An incremental image's tar
 * (image_unpack_layer) is written over the origin's files: each entry goes
 * through image_layer_entry() (image-apply.c) first, which applies
 * whiteouts and clears directories that non-directories replace; an empty
 * archive (nothing changed) is fine there.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"

#define READ_BUF (256u << 10)

DEFINE_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
DEFINE_CLEANUP_FUNC(struct archive, archive_read_free)

static void archive_write_freep2(struct archive **a)
{
	if (*a) {
		archive_write_close(*a);
		archive_write_free(*a);
	}
	*a = NULL;
}

static int hash_fd(int fd, char hex[41], const char *label, struct zh_error *err)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ unsigned char *buf = malloc(READ_BUF);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1)
		return zh_error_oom(err);
	for (;;) {
		ssize_t n = read(fd, buf, READ_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return zh_error_set(err, errno, "-f", "-f %s: cannot read: %m", label);
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			return zh_error_set(err, EIO, "-f", "-f %s: SHA-1 failed", label);
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20)
		return zh_error_set(err, EIO, "-f", "-f %s: SHA-1 failed", label);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int check_size(int fd, const json_t *file0, const char *label, struct zh_error *err)
{
	json_int_t want = json_integer_value(json_object_get(file0, "size"));
	struct stat st;

	if (fstat(fd, &st) < 0)
		return zh_error_set(err, errno, "-f", "-f %s: %m", label);
	if (!S_ISREG(st.st_mode))
		return zh_error_set(err, EINVAL, "-f", "-f %s: not a regular file", label);
	if ((json_int_t)st.st_size != want)
		return zh_error_set(err, EINVAL, "-f",
				    "-f %s: file is %lld bytes but the manifest's "
				    "\"files[0].size\" is %lld (truncated or wrong file)",
				    label, (long long)st.st_size, (long long)want);
	return 0;
}

int image_file_verify(const json_t *manifest, const char *file_path, struct zh_error *err)
{
	const json_t *file0 = json_array_get(json_object_get(manifest, "files"), 0);
	const char *want = jsonutil_str(file0, "sha1");
	_cleanup_close_ int fd = -EBADF;
	char got[41];
	int r;

	if (!want)
		return zh_error_set(err, EINVAL, "files[0].sha1",
				    "manifest: \"files[0].sha1\" is required");
	fd = open(file_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return zh_error_set(err, errno, "-f", "-f %s: %m", file_path);
	r = check_size(fd, file0, file_path, err);
	if (r < 0)
		return r;
	r = hash_fd(fd, got, file_path, err);
	if (r < 0)
		return r;
	if (strcasecmp(got, want) != 0)
		return zh_error_set(err, EINVAL, "-f",
				    "-f %s: SHA-1 is %s but the manifest's "
				    "\"files[0].sha1\" is %s (corrupt or wrong file)",
				    file_path, got, want);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return zh_error_set(err, errno, "-f", "-f %s: %m", file_path);
	return TAKE_FD(fd);
}

static int archive_fail(struct archive *a, struct archive_entry *e, const char *label,
			struct zh_error *err)
{
	const char *why = archive_error_string(a);
	int en = archive_errno(a) > 0 ? archive_errno(a) : EINVAL;

	if (e)
		return zh_error_set(err, en, "-f", "-f %s: entry \"%s\": %s", label,
				    archive_entry_pathname(e), why ? why : "cannot extract");
	return zh_error_set(err, en, "-f", "-f %s: not a valid tar archive: %s", label,
			    why ? why : "read error");
}

static int copy_data(struct archive *in, struct archive *out, struct archive_entry *e,
		     const char *label, struct zh_error *err)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return archive_fail(in, e, label, err);
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
			return archive_fail(out, e, label, err);
	}
}

static bool is_device(struct archive_entry *e)
{
	mode_t t = archive_entry_filetype(e);

	return t == AE_IFCHR || t == AE_IFBLK;
}

static bool is_dir(struct archive_entry *e)
{
	return archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e);
}

/* 1: skip the entry (a whiteout, applied; a device node); 0: extract it. */
static int before_entry(struct image_layer *layer, struct archive_entry *e, struct zh_error *err)
{
	int r = 0;

	if (layer)
		r = image_layer_entry(layer, archive_entry_pathname(e), is_dir(e), err);
	return r != 0 ? r : is_device(e);
}

static int extract_entries(struct archive *in, struct archive *out, struct image_layer *layer,
			   const char *label, struct zh_error *err)
{
	struct archive_entry *e;
	size_t n = 0;

	for (;;) {
		int r = archive_read_next_header(in, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return archive_fail(in, NULL, label, err);
		n++;
		if ((r = before_entry(layer, e, err)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (archive_write_header(out, e) < ARCHIVE_WARN)
			return archive_fail(out, e, label, err);
		if (archive_entry_size(e) > 0 && copy_data(in, out, e, label, err) < 0)
			return -err->errnum;
		if (archive_write_finish_entry(out) < ARCHIVE_WARN)
			return archive_fail(out, e, label, err);
	}
	if (n == 0 && !layer)
		return zh_error_set(err, EINVAL, "-f", "-f %s: archive is empty", label);
	return 0;
}

static int open_reader(int fd, struct archive **out, const char *label, struct zh_error *err)
{
	struct archive *a = archive_read_new();

	if (!a)
		return zh_error_oom(err);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, READ_BUF) != ARCHIVE_OK) {
		int r = archive_fail(a, NULL, label, err);

		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

static struct archive *open_writer(void)
{
	struct archive *a = archive_write_disk_new();

	if (!a)
		return NULL;
	archive_write_disk_set_options(
		a, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
			   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_OWNER |
			   ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
			   ARCHIVE_EXTRACT_ACL);
	/* Numeric ids only: the host's passwd must not remap the image's. */
	return a;
}

static int unpack_here(int fd, const char *label, bool incremental, struct zh_error *err)
{
	_cleanup_(archive_read_freep) struct archive *in = NULL;
	_cleanup_(archive_write_freep2) struct archive *out = open_writer();
	_cleanup_(image_layer_close) struct image_layer layer = {.rootfd = -EBADF};
	int r;

	if (!out)
		return zh_error_oom(err);
	if (incremental && (r = image_layer_open(&layer, label, err)) < 0)
		return r;
	r = open_reader(fd, &in, label, err);
	if (r < 0)
		return r;
	r = extract_entries(in, out, incremental ? &layer : NULL, label, err);
	if (r < 0)
		return r;
	if (archive_write_close(out) < ARCHIVE_WARN)
		return archive_fail(out, NULL, label, err);
	return 0;
}

static int unpack_in(int fd, const char *root, const char *label, bool incremental,
		     struct zh_error *err)
{
	_cleanup_close_ int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (cwd < 0)
		cwd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return zh_error_set(err, errno, NULL, "cannot open working directory: %m");
	if (chdir(root) < 0)
		return zh_error_set(err, errno, NULL, "cannot enter %s: %m", root);
	r = unpack_here(fd, label, incremental, err);
	if (fchdir(cwd) < 0 && r == 0)
		r = zh_error_set(err, errno, NULL, "cannot restore working directory: %m");
	return r;
}

int image_unpack(int fd, const char *root, const char *label, struct zh_error *err)
{
	return unpack_in(fd, root, label, false, err);
}

int image_unpack_layer(int fd, const char *root, const char *label, struct zh_error *err)
{
	return unpack_in(fd, root, label, true, err);
}

/*
 * image-zvol.c - a zvol image's file into a raw disk (docs/architecture.md §18).
 *
 * Owns: the decompressor child and the file "disk" it fills in the image's
 * dataset (which the caller removes, with the dataset, on failure).
 *
 *     if (image_zvol_check(p, manifest, &err) < 0) ...     before the file is read
 *     if (image_zvol_write(fd, dsfd, manifest, label, &err) < 0) ...
 *
 * The image file (already verified: size and SHA-1) is hostile input: it is
 * decompressed by a child that holds only the file (read-only, fd 0), the
 * data pipe (fd 1) and an error pipe (fd 2), with no privileges: uid/gid
 * nobody, no groups, no_new_privs, no file it may create (RLIMIT_FSIZE 0),
 * bounded memory (RLIMIT_AS, except in sanitizer builds whose shadow
 * mappings exceed any limit), and a seccomp filter that allows only
 * reading, writing, memory management and exiting.  Only the manifest's
 * declared compression is accepted.  The parent writes what comes out of
 * the pipe into "disk", skipping all-zero blocks (the file stays sparse),
 * and refuses the image as soon as it has more than image_size MiB, or
 * when it ends with fewer: the disk is exactly image_size MiB or nothing.
 * Before a byte is read, image_size is checked against the pool's free
 * space, as if the disk were fully written (a zvol's refreservation).
 */
#include <archive.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "image-internal.h"
#include "jsonutil.h"
#include "seccomp-allow.h"
#include "util.h"

#define ZVOL_BUF      (1u << 20)   /* one write; a multiple of ZVOL_BLOCK */
#define ZVOL_BLOCK    4096u	   /* the unit of sparseness */
#define ZVOL_MAX_MIB  (1ull << 26) /* 64 TiB: larger is not a disk anyone ships */
#define ZVOL_CHILD_AS (2ull << 30) /* xz's decoder is capped at 1 GiB by libarchive */
#define ZVOL_NOBODY   65534
#define ZVOL_ERR_MAX  512

#if defined(__SANITIZE_ADDRESS__)
#define ZVOL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZVOL_SANITIZED 1
#endif
#endif

/* ---- checks before the file is read ---- */

static int image_size_mib(const json_t *m, uint64_t *mib, struct zh_error *err)
{
	const json_t *v = json_object_get(m, "image_size");

	if (!v)
		return zh_error_set(err, EINVAL, "image_size",
				    "manifest: \"image_size\" is required for a zvol image");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    (uint64_t)json_integer_value(v) > ZVOL_MAX_MIB)
		return zh_error_set(
			err, EINVAL, "image_size",
			"manifest: \"image_size\" must be an integer from 1 to %llu (MiB)",
			(unsigned long long)ZVOL_MAX_MIB);
	*mib = (uint64_t)json_integer_value(v);
	return 0;
}

static int check_room(const struct pool *p, uint64_t bytes, struct zh_error *err)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(p->mountpoint, &sv) < 0)
		return zh_error_set(err, errno, NULL, "cannot read the free space of %s: %m",
				    p->mountpoint);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (bytes > avail)
		return zh_error_set(
			err, ENOSPC, "image_size",
			"manifest: \"image_size\" is %llu MiB but zpool \"%s\" has only "
			"%llu MiB free",
			(unsigned long long)(bytes >> 20), p->name,
			(unsigned long long)(avail >> 20));
	return 0;
}

int image_zvol_check(const struct pool *p, const json_t *manifest, struct zh_error *err)
{
	uint64_t mib = 0;
	int r = image_size_mib(manifest, &mib, err);

	if (r < 0)
		return r;
	if (json_object_get(manifest, "origin"))
		return zh_error_set(
			err, EOPNOTSUPP, "origin",
			"manifest: a zvol image with an \"origin\" is not supported here");
	return check_room(p, mib << 20, err);
}

/* ---- the child ---- */

static int load_filter(void)
{
	struct sock_filter f[] = {
		SECCOMP_ALLOW_HEAD,
		SECCOMP_ALLOW(__NR_read),
		SECCOMP_ALLOW(__NR_write),
		SECCOMP_ALLOW(__NR_close),
		SECCOMP_ALLOW(__NR_lseek),
		SECCOMP_ALLOW(__NR_newfstatat),
		SECCOMP_ALLOW(__NR_mmap),
		SECCOMP_ALLOW(__NR_munmap),
		SECCOMP_ALLOW(__NR_mremap),
		SECCOMP_ALLOW(__NR_madvise),
		SECCOMP_ALLOW(__NR_brk),
		SECCOMP_ALLOW(__NR_futex),
		SECCOMP_ALLOW(__NR_rt_sigreturn),
		SECCOMP_ALLOW(__NR_rt_sigprocmask),
		SECCOMP_ALLOW(__NR_sigaltstack), /* the sanitizers, at exit */
		SECCOMP_ALLOW(__NR_exit),
		SECCOMP_ALLOW(__NR_exit_group),
#ifdef __NR_fstat
		SECCOMP_ALLOW(__NR_fstat),
#endif
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(f), .filter = f};

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static int drop_privileges(void)
{
	struct rlimit none = {0, 0};

	if (setgroups(0, NULL) < 0 || setresgid(ZVOL_NOBODY, ZVOL_NOBODY, ZVOL_NOBODY) < 0 ||
	    setresuid(ZVOL_NOBODY, ZVOL_NOBODY, ZVOL_NOBODY) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || setrlimit(RLIMIT_FSIZE, &none) < 0)
		return -1;
#ifndef ZVOL_SANITIZED
	struct rlimit as = {ZVOL_CHILD_AS, ZVOL_CHILD_AS};

	if (setrlimit(RLIMIT_AS, &as) < 0)
		return -1;
#endif
	return load_filter();
}

static void child_fail(const char *what)
{
	(void)!write(2, what, strlen(what));
	_exit(1);
}

static void enable_filter(struct archive *a, const char *comp)
{
	if (streq(comp, "gzip"))
		archive_read_support_filter_gzip(a);
	else if (streq(comp, "bzip2"))
		archive_read_support_filter_bzip2(a);
	else if (streq(comp, "xz"))
		archive_read_support_filter_xz(a);
	else if (streq(comp, "zstd"))
		archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
}

/* Decompress fd 0 to fd 1; only after privileges are dropped. */
static _Noreturn void child_run(const char *comp)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char buf[64 << 10];
	la_ssize_t n;

	if (!a)
		child_fail("out of memory");
	enable_filter(a, comp);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, 0, sizeof(buf)) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		child_fail(archive_error_string(a) ? archive_error_string(a) : "unreadable");
	if (!streq(comp, "none") && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE)
		child_fail("the file is not compressed as files[0].compression says");
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		if (fsutil_write_all(1, buf, (size_t)n) < 0)
			_exit(1); /* the parent stopped reading: it has the reason */
	if (n < 0)
		child_fail(archive_error_string(a) ? archive_error_string(a) : "read error");
	_exit(0);
}

/* In the forked child: never returns. */
static _Noreturn void child_main(int in, int out, int errw, const char *comp)
{
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errw, 2) < 0)
		_exit(1);
	if (close_range(3, ~0u, 0) < 0 || drop_privileges() < 0)
		child_fail("cannot drop privileges");
	child_run(comp);
}

struct zvol_child {
	pid_t pid;
	int out; /* decompressed data */
	int err; /* the child's reason, if it fails */
};

static int child_start(int fd, const char *comp, struct zvol_child *c, struct zh_error *err)
{
	int data[2], ep[2];

	if (pipe2(data, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "cannot make a pipe: %m");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(data[0]);
		close(data[1]);
		return zh_error_set(err, errno, NULL, "cannot make a pipe: %m");
	}
	c->pid = fork();
	if (c->pid == 0)
		child_main(fd, data[1], ep[1], comp);
	close(data[1]);
	close(ep[1]);
	c->out = data[0];
	c->err = ep[0];
	if (c->pid < 0)
		return zh_error_set(err, errno, NULL, "cannot fork: %m");
	return 0;
}

/* Reap the child (killed first when kill); its failure, if any, into err. */
static int child_end(struct zvol_child *c, bool kill_it, const char *label, struct zh_error *err)
{
	char why[ZVOL_ERR_MAX] = "";
	ssize_t n;
	int st = 0;

	if (c->pid > 0 && kill_it)
		kill(c->pid, SIGKILL);
	closep(&c->out);
	if (c->pid > 0)
		while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
			;
	n = read(c->err, why, sizeof(why) - 1);
	why[n > 0 ? n : 0] = '\0';
	closep(&c->err);
	if (kill_it || c->pid <= 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return 0;
	return zh_error_set(err, EINVAL, "-f", "-f %s: cannot decompress: %s", label,
			    why[0] ? why : "the decompressor failed");
}

/* ---- the parent: pipe -> sparse file ---- */

static size_t read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static bool all_zero(const char *b, size_t len)
{
	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

/* Write buf at off, block by block, leaving holes where a block is zeros. */
static int write_sparse(int out, const char *buf, size_t len, uint64_t off, struct zh_error *err)
{
	for (size_t i = 0; i < len; i += ZVOL_BLOCK) {
		size_t n = len - i < ZVOL_BLOCK ? len - i : ZVOL_BLOCK;

		if (all_zero(buf + i, n))
			continue;
		for (size_t done = 0; done < n;) {
			ssize_t w = pwrite(out, buf + i + done, n - done, (off_t)(off + i + done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return zh_error_set(err, errno, NULL, "cannot write the disk: %m");
			done += (size_t)w;
		}
	}
	return 0;
}

static int too_big(const char *label, uint64_t mib, struct zh_error *err)
{
	return zh_error_set(err, EINVAL, "image_size",
			    "-f %s: decompresses to more than the manifest's \"image_size\" "
			    "(%llu MiB)",
			    label, (unsigned long long)mib);
}

static int copy_out(int in, int out, uint64_t want, uint64_t *total, const char *label,
		    struct zh_error *err)
{
	_cleanup_free_ char *buf = malloc(ZVOL_BUF);
	size_t n;
	int r;

	if (!buf)
		return zh_error_oom(err);
	while ((n = read_full(in, buf, ZVOL_BUF)) > 0) {
		if (*total + n > want)
			return too_big(label, want >> 20, err);
		if ((r = write_sparse(out, buf, n, *total, err)) < 0)
			return r;
		*total += n;
	}
	return 0;
}

static int fill_disk(int fd, int out, const char *comp, uint64_t want, const char *label,
		     struct zh_error *err)
{
	struct zvol_child c = {.pid = -1, .out = -EBADF, .err = -EBADF};
	uint64_t total = 0;
	int r = child_start(fd, comp, &c, err);

	if (r == 0)
		r = copy_out(c.out, out, want, &total, label, err);
	if (child_end(&c, r < 0, label, err) < 0) /* 0 when killed: r has the reason */
		return -err->errnum;
	if (r < 0)
		return r;
	if (total != want)
		return zh_error_set(err, EINVAL, "image_size",
				    "-f %s: decompresses to %llu bytes but the manifest's "
				    "\"image_size\" is %llu MiB (%llu bytes)",
				    label, (unsigned long long)total,
				    (unsigned long long)(want >> 20), (unsigned long long)want);
	if (ftruncate(out, (off_t)want) < 0 || fsync(out) < 0)
		return zh_error_set(err, errno, NULL, "cannot write the disk: %m");
	return 0;
}

int image_zvol_write(int fd, int dsfd, const json_t *manifest, const char *label,
		     struct zh_error *err)
{
	const json_t *file0 = json_array_get(json_object_get(manifest, "files"), 0);
	const char *comp = jsonutil_str(file0, "compression");
	_cleanup_close_ int out = -EBADF;
	uint64_t mib = 0;
	int r = image_size_mib(manifest, &mib, err);

	if (r < 0)
		return r;
	out = openat(dsfd, IMAGE_ZVOL_DISK, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		return zh_error_set(err, errno, NULL, "cannot create the image's disk: %m");
	return fill_disk(fd, out, comp ? comp : "none", mib << 20, label, err);
}

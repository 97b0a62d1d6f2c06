/*
 * pool-loop.c - loop devices behind file-backed pools.
 *
 * Owns: nothing beyond the call.  A device is attached with
 * LO_FLAGS_AUTOCLEAR, so the kernel detaches it on its last close: the
 * caller's fd until the mount takes over, then the mount.  Hence a failure
 * anywhere only has to close the fd, and unmounting frees the device.
 *
 *     _cleanup_free_ char *dev = NULL;
 *     _cleanup_close_ int lfd = pool_loop_attach("/var/lib/zonehost/zones.img", &dev, &err);
 *     ... mkfs, mount(dev) ...   (then lfd closes: the mount owns the device)
 *
 * Race: LOOP_CTL_GET_FREE only names a free device; another process may
 * bind it first, in which case LOOP_CONFIGURE fails with EBUSY and we ask
 * for another one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "fsutil.h"
#include "pool-internal.h"

#define LOOP_ATTEMPTS 64

static int configure(int lfd, int ffd, const char *file, bool dio)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (uint32_t)ffd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (dio ? LO_FLAGS_DIRECT_IO : 0);
	memcpy(cfg.info.lo_file_name, file, strnlen(file, LO_NAME_SIZE - 1));
	return ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0 ? -errno : 0;
}

/* Bind one free device; -EAGAIN when someone took it first. */
static int attach_once(int ctl, int ffd, const char *file, char **dev, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int lfd = -EBADF;
	int n, r;

	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (n < 0)
		return zh_error_set(err, errno, NULL, "no free loop device: %m");
	if (asprintf(&path, "/dev/loop%d", n) < 0)
		return zh_error_oom(err);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0)
		return errno == ENOENT ? -EAGAIN
				       : zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	r = configure(lfd, ffd, file, true);
	if (r == -EINVAL)
		r = configure(lfd, ffd, file, false);
	if (r == -EBUSY)
		return -EAGAIN;
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot attach %s to %s: %s", file, path,
				    strerror(-r));
	*dev = TAKE_PTR(path);
	return TAKE_FD(lfd);
}

int pool_loop_attach(const char *file, char **dev, struct zh_error *err)
{
	_cleanup_close_ int ctl = -EBADF, ffd = -EBADF;

	ffd = open(file, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ffd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s: %m", file);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return zh_error_set(err, errno, NULL, "cannot open /dev/loop-control: %m");
	for (int i = 0; i < LOOP_ATTEMPTS; i++) {
		int r = attach_once(ctl, ffd, file, dev, err);

		if (r != -EAGAIN)
			return r;
	}
	return zh_error_set(err, EBUSY, NULL, "cannot attach %s: every free loop device was taken",
			    file);
}

/* Is any /sys/block/loop*\/loop/backing_file equal to file? */
static bool file_attached(const char *file)
{
	_cleanup_(closedirp) DIR *d = opendir("/sys/block");
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL, *buf = NULL;
		size_t len = 0;

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		if (asprintf(&p, "/sys/block/%s/loop/backing_file", de->d_name) < 0)
			return false;
		if (fsutil_read_all(p, 4096, &buf, &len, NULL) < 0)
			continue;
		while (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (streq(buf, file))
			return true;
	}
	return false;
}

int pool_loop_wait_detached(const char *file, struct zh_error *err)
{
	const struct timespec tick = {0, 5 * 1000 * 1000};

	for (int i = 0; i < 400; i++) {
		if (!file_attached(file))
			return 0;
		nanosleep(&tick, NULL);
	}
	return zh_error_set(err, EBUSY, NULL, "loop device backed by %s is still attached", file);
}

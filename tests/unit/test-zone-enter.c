/*
 * test-zone-enter.c - zone_enter()'s checks of the caller's fds (the OCI
 * exec's oci_stdio and preserve_fds, zone-enter-oci.c), which run before
 * anything else: a refused fd fails with prop "stdio" / "preserve_fds"
 * and a message naming it; an accepted one gets as far as the (absent)
 * zone: -ESRCH.  No zone and no privileges needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "zone.h"

#define UUID "00000000-0000-4000-8000-000000000000"

/* zone_enter() with fd as stdout; its errnum, and prop/msg into the buffers. */
static int try_stdout(int fd, bool oci, char *prop, char *msg)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct zone_enter_spec s = {.uuid = UUID, .stdio = {-1, fd, -1}, .oci_stdio = oci};
	struct zone_session zs;
	int r = zone_enter(&s, &zs, &err);

	snprintf(prop, 32, "%s", err.prop ? err.prop : "");
	snprintf(msg, 256, "%s", err.msg ? err.msg : "");
	zh_error_clear(&err);
	return -r;
}

static void refused(int fd, const char *why, const char *name)
{
	char prop[32], msg[256];

	is_int(try_stdout(fd, true, prop, msg), EINVAL, "%s refused", name);
	is_str(prop, "stdio", "%s: prop", name);
	ok(strstr(msg, "stdout (fd ") && strstr(msg, why), "%s: message '%s'", name, msg);
	close(fd);
}

static void accepted(int fd, const char *name)
{
	char prop[32], msg[256];

	is_int(try_stdout(fd, true, prop, msg), ESRCH, "%s accepted (%s)", name, msg);
	close(fd);
}

static void test_types(const char *dir)
{
	char file[512], prop[32], msg[256];
	int p[2], sv[2];

	snprintf(file, sizeof(file), "%s/f", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	refused(open(dir, O_RDONLY | O_DIRECTORY), "is a directory", "directory");
	refused(open(file, O_PATH), "is opened O_PATH", "O_PATH file");
	refused(open(file, O_RDWR), "not opened write-only", "O_RDWR file");
	refused(open(file, O_RDONLY), "not opened write-only", "O_RDONLY file");
	refused(open("/dev/zero", O_WRONLY), "other than /dev/null", "/dev/zero");
	refused(socket(AF_INET, SOCK_STREAM, 0), "other than AF_UNIX", "AF_INET socket");
	accepted(open(file, O_WRONLY | O_APPEND), "O_WRONLY|O_APPEND file");
	accepted(open("/dev/null", O_RDWR), "/dev/null");
	if (pipe(p) == 0) {
		accepted(p[1], "pipe");
		close(p[0]);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		accepted(sv[0], "AF_UNIX socket");
		close(sv[1]);
	}
	/* Without oci_stdio: pipes only, as zlogin's. */
	int fd = open(file, O_WRONLY);
	is_int(try_stdout(fd, false, prop, msg), EINVAL, "no oci_stdio: a file is refused");
	ok(strstr(msg, "must be a pipe") != NULL, "no oci_stdio: '%s'", msg);
	close(fd);
	unlink(file);
}

static int try_preserve(int n, char *prop, char *msg)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct zone_enter_spec s = {.uuid = UUID, .stdio = {-1, -1, -1}, .preserve_fds = n};
	struct zone_session zs;
	int r = zone_enter(&s, &zs, &err);

	snprintf(prop, 32, "%s", err.prop ? err.prop : "");
	snprintf(msg, 256, "%s", err.msg ? err.msg : "");
	zh_error_clear(&err);
	return -r;
}

static void test_preserve(const char *dir)
{
	char prop[32], msg[256];
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the lowest free fd */

	is_int(try_preserve(-1, prop, msg), EINVAL, "preserve_fds -1");
	is_str(prop, "preserve_fds", "preserve_fds -1: prop");
	if (d != 3) {
		ok(1, "# SKIP fd 3 in use");
	} else {
		is_int(try_preserve(1, prop, msg), EINVAL, "a directory at fd 3 is refused");
		ok(strstr(msg, "preserve_fds (fd 3) is a directory"), "'%s'", msg);
		close(d);
		d = -1;
		is_int(try_preserve(1, prop, msg), EBADF, "a closed fd 3 is refused");
	}
	if (d >= 0)
		close(d);
}

int main(void)
{
	char dir[] = "/tmp/test-zone-enter.XXXXXX";

	if (!mkdtemp(dir))
		tap_skip_all("mkdtemp");
	test_types(dir);
	test_preserve(dir);
	rmdir(dir);
	return tap_done();
}

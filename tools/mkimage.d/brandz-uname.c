/*
 * brandz-uname.c - uname(2) as a SmartOS lx zone reports it, for
 * cloud-init's units only (docs/debian-zone.md, "cloud-init").
 *
 * cloud-init 22.4's SmartOS data source recognises an lx zone by the
 * kernel version "BrandZ virtual linux" (and then reads the metadata
 * socket /native/.zonecontrol/metadata.sock, which zonehost presents);
 * its other test, the DMI product name, is never read in a container.  A
 * Linux kernel gives every UTS namespace the host's version, read-only,
 * so tools/mkimage-debian --cloud-init builds this library and preloads
 * it (LD_PRELOAD, a systemd drop-in) into cloud-init's four services: the
 * version field says "BrandZ virtual linux"; every other field is the
 * kernel's.  cloud-init's own code is not changed.
 *
 * Built by tools/mkimage-debian with the host's cc; it needs nothing of
 * libc but syscall() (GLIBC_2.2.5), so it loads with any glibc.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int uname(struct utsname *u)
{
	static const char version[] = "BrandZ virtual linux";
	long r = syscall(SYS_uname, u);

	if (r == 0) {
		size_t i;

		for (i = 0; i < sizeof(version) && i < sizeof(u->version) - 1; i++)
			u->version[i] = version[i];
		u->version[i] = '\0';
	}
	return (int)r;
}

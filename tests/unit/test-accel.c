/*
 * test-accel.c - the accelerator decision's cache (accel.h,
 * docs/architecture.md §22): a cached answer of this boot is used as is,
 * one of another boot is probed again and rewritten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "jsonutil.h"
#include "paths.h"
#include "tap.h"

static void write_cache(const char *path, const char *boot, const char *reason)
{
	FILE *f = fopen(path, "w");

	fprintf(f, "{\"boot_id\":\"%s\",\"kvm\":true,\"reason\":\"%s\"}", boot, reason);
	fclose(f);
}

int main(void)
{
	char dir[] = "/tmp/test-accel-XXXXXX", path[512], run[256], id[64] = "", why[256];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	bool kvm = false;

	if (!f || !fgets(id, sizeof(id), f) || !mkdtemp(dir))
		tap_skip_all("no boot id or no temporary directory");
	fclose(f);
	id[36] = '\0';
	setenv("ZONEHOST_ROOT", dir, 1);
	paths_reset();
	snprintf(run, sizeof(run), "%s/run", dir);
	mkdir(run, 0755);
	snprintf(run, sizeof(run), "%s", paths_run());
	mkdir(run, 0755);
	snprintf(path, sizeof(path), "%s/" ACCEL_CACHE, run);
	write_cache(path, id, "cached reason");
	accel_decide(&kvm, why, sizeof(why));
	ok(kvm, "this boot's cached answer is used");
	is_str(why, "cached reason", "with its reason");
	write_cache(path, "another-boot", "old");
	accel_decide(&kvm, why, sizeof(why));
	is_int(kvm, accel_probe(why, sizeof(why)), "another boot's answer: probed again");
	ok(strcmp(why, "old") != 0, "and a new reason: %s", why);
	unlink(path);
	rmdir(run);
	snprintf(run, sizeof(run), "%s/run", dir);
	rmdir(run);
	rmdir(dir);
	return tap_done();
}

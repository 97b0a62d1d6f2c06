/*
 * test-vmcfg-start.c - `vmadm start`'s one-boot extras (vmcfg-start.h)
 * and `vmadm info`/`sysrq`'s checks (vm-info.h): pure parsing.
 */
#include <string.h>

#include "jsonutil.h"
#include "tap.h"
#include "vm-info.h"
#include "vmcfg-start.h"

static int parse(const char *brand, const char *a, const char *b, json_t **out, char *msg,
		 size_t len)
{
	char *args[] = {(char *)a, (char *)b, NULL};
	struct zh_error err = ZH_ERROR_INIT;
	int r = vmcfg_start_opts(brand, a ? args : NULL, out, &err);

	snprintf(msg, len, "%s", err.msg ? err.msg : "");
	zh_error_clear(&err);
	return r;
}

static void test_good(void)
{
	json_t *o = NULL;
	char msg[256];

	is_int(parse("kvm", "order=cd,once=d", "cdrom=/iso/a.iso,ide", &o, msg, sizeof(msg)), 0,
	       "order and cdrom");
	is_str(jsonutil_str(o, "order"), "cd", "order");
	is_str(jsonutil_str(o, "once"), "d", "once");
	is_str(jsonutil_str(json_array_get(json_object_get(o, "cdroms"), 0), "path"), "/iso/a.iso",
	       "cdrom path");
	is_str(jsonutil_str(json_array_get(json_object_get(o, "cdroms"), 0), "model"), "ide",
	       "cdrom model");
	json_decref(o);
	is_int(parse("bhyve", "disk=/d/x.img,nvme", NULL, &o, msg, sizeof(msg)), 0, "bhyve disk");
	is_int((int)json_array_size(json_object_get(o, "disks")), 1, "one disk");
	json_decref(o);
	is_int(parse("kvm", NULL, NULL, &o, msg, sizeof(msg)), 0, "no extras");
	ok(!json_object_get(o, "order"), "no order");
	json_decref(o);
}

static void test_bad(void)
{
	json_t *o = NULL;
	char msg[256];

	is_int(parse("joyent", "order=cd", NULL, &o, msg, sizeof(msg)), -ENOTSUP, "OS brand");
	is_int(parse("joyent", "frob", NULL, &o, msg, sizeof(msg)), -EINVAL, "OS brand, junk");
	is_int(parse("kvm", "order=cd", "order=d", &o, msg, sizeof(msg)), -EINVAL, "order twice");
	ok(strstr(msg, "only once") != NULL, "says so: %s", msg);
	is_int(parse("kvm", "order=cx", NULL, &o, msg, sizeof(msg)), -EINVAL, "bad letter");
	is_int(parse("kvm", "order=cd,twice=d", NULL, &o, msg, sizeof(msg)), -EINVAL, "not once=");
	is_int(parse("kvm", "cdrom=/a.iso", NULL, &o, msg, sizeof(msg)), -EINVAL, "no model");
	is_int(parse("kvm", "cdrom=a.iso,ide", NULL, &o, msg, sizeof(msg)), -EINVAL, "relative");
	is_int(parse("kvm", "cdrom=/x/../../etc/shadow,ide", NULL, &o, msg, sizeof(msg)), -EINVAL,
	       "dot-dot refused");
	is_int(parse("kvm", "cdrom=/x//a,ide", NULL, &o, msg, sizeof(msg)), -EINVAL, "empty part");
	is_int(parse("kvm", "cdrom=/a.iso,nvme", NULL, &o, msg, sizeof(msg)), -EINVAL,
	       "nvme is bhyve's");
	ok(strstr(msg, "\"nvme\" is not a valid disk model for kvm brand") != NULL, "message: %s",
	   msg);
	is_int(parse("bhyve", "disk=/a,ide", NULL, &o, msg, sizeof(msg)), -EINVAL, "ide is kvm's");
	is_int(parse("kvm", "floppy=/a,ide", NULL, &o, msg, sizeof(msg)), -EINVAL, "unknown key");
}

static void test_info_checks(void)
{
	ok(vm_info_type_valid("kvm", "all"), "kvm all");
	ok(vm_info_type_valid("kvm", "blockstats"), "kvm blockstats");
	ok(vm_info_type_valid("bhyve", "vnc"), "bhyve vnc");
	ok(!vm_info_type_valid("bhyve", "block"), "bhyve has no block");
	ok(!vm_info_type_valid("joyent", "vnc"), "OS brands have none");
	ok(vm_sysrq_valid("kvm", "screenshot"), "kvm screenshot");
	ok(vm_sysrq_valid("bhyve", "nmi"), "bhyve nmi");
	ok(!vm_sysrq_valid("bhyve", "screenshot"), "bhyve: no screenshot");
	ok(!vm_sysrq_valid("kvm", "reset"), "not a sysrq");
}

int main(void)
{
	test_good();
	test_bad();
	test_info_checks();
	return tap_done();
}

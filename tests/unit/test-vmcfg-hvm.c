/*
 * test-vmcfg-hvm.c - unit tests of the kvm / bhyve rules: defaults,
 * memory, disks, nic models, vnc, bootrom, add_/update_/remove_disks.
 */
#include <string.h>

#include "jsonutil.h"
#include "tap.h"
#include "vmcfg.h"

#define ZVOL  "22222222-2222-4333-8444-555555555555"
#define OSIMG "33333333-2222-4333-8444-555555555555"
#define DU1   "44444444-2222-4333-8444-555555555555"

static char warnings[4096];

static int stub_image_type(void *ctx, const char *zpool, const char *uuid, char *buf, size_t len)
{
	if (strcmp(uuid, ZVOL) == 0)
		snprintf(buf, len, "zvol");
	else if (strcmp(uuid, OSIMG) == 0)
		snprintf(buf, len, "zone-dataset");
	else
		return -ENOENT;
	return 0;
}

static int stub_image_size(void *ctx, const char *zpool, const char *uuid, int64_t *mib)
{
	if (strcmp(uuid, ZVOL) != 0)
		return -ENOENT;
	*mib = 10240;
	return 0;
}

static struct vmcfg_env env = {.image_type = stub_image_type, .image_size = stub_image_size};

static void warn_cb(void *ctx, const char *line)
{
	size_t n = strlen(warnings);

	snprintf(warnings + n, sizeof(warnings) - n, "%s\n", line);
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		printf("# bad test JSON: %s (%s)\n", text, e.text);
	return j;
}

static json_t *create_ok(const char *text, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *vm = NULL;

	warnings[0] = '\0';
	if (!ok(vmcfg_create(p, &env, warn_cb, NULL, &vm, &err) == 0, "%s: create succeeds", name))
		printf("#   error: %s\n", err.msg);
	zh_error_clear(&err);
	json_decref(p);
	return vm;
}

static void create_fails(const char *text, const char *msg, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *vm = NULL;

	warnings[0] = '\0';
	ok(vmcfg_create(p, &env, warn_cb, NULL, &vm, &err) < 0 && !vm, "%s: create fails", name);
	is_str(err.msg, msg, "%s: message", name);
	zh_error_clear(&err);
	json_decref(vm);
	json_decref(p);
}

static void is_member(const json_t *o, const char *k, const char *want, const char *name)
{
	char *s = json_dumps(json_object_get(o, k), JSON_COMPACT | JSON_ENCODE_ANY);

	is_str(s ? s : "(absent)", want, "%s", name);
	free(s);
}

static json_t *disk_of(const json_t *vm, size_t i)
{
	return json_array_get(json_object_get(vm, "disks"), i);
}

#define KVM   "\"brand\":\"kvm\""
#define BHYVE "\"brand\":\"bhyve\""

/* ---- defaults and memory ---- */

static void test_defaults(void)
{
	json_t *k = create_ok("{" KVM "}", "kvm minimal");
	json_t *b = create_ok("{" BHYVE "}", "bhyve minimal");

	is_member(k, "ram", "256", "kvm ram");
	is_member(k, "vcpus", "1", "kvm vcpus");
	is_member(k, "cpu_type", "\"qemu64\"", "kvm cpu_type");
	is_member(k, "max_physical_memory", "1280", "kvm max_physical_memory = ram + 1024");
	is_member(k, "max_locked_memory", "1280", "kvm max_locked_memory");
	is_member(k, "max_swap", "1280", "kvm max_swap");
	is_member(k, "quota", "10", "kvm quota");
	is_member(k, "disks", "[]", "kvm disks");
	is_member(k, "dns_domain", "(absent)", "kvm no dns_domain");
	is_member(k, "bootrom", "(absent)", "kvm no bootrom");
	is_member(b, "max_physical_memory", "1536", "bhyve max_physical_memory = ram + 1280");
	is_member(b, "quota", "1", "bhyve quota");
	is_member(b, "bootrom", "\"bios\"", "bhyve bootrom");
	is_member(b, "cpu_type", "(absent)", "bhyve no cpu_type");
	json_decref(k);
	json_decref(b);
}

static void test_memory(void)
{
	json_t *b = create_ok("{" BHYVE ",\"ram\":2048,\"max_physical_memory\":2048}", "raise");

	is_member(b, "max_physical_memory", "2304", "max_physical_memory raised to ram + 256");
	is_member(b, "max_locked_memory", "2304", "max_locked_memory follows");
	json_decref(b);
	b = create_ok("{" KVM ",\"ram\":1024,\"max_physical_memory\":4096,"
		      "\"max_locked_memory\":512}",
		      "locked raise");
	is_member(b, "max_locked_memory", "1280", "max_locked_memory raised to ram + 256");
	json_decref(b);
	create_fails("{" KVM ",\"max_physical_memory\":4096,\"max_swap\":2048}",
		     "max_swap must be >= max_physical_memory", "max_swap below");
}

static void test_top(void)
{
	json_t *b = create_ok("{" BHYVE ",\"bootrom\":\"uefi\",\"vnc_port\":-1,"
			      "\"vnc_password\":\"12345678\",\"bhyve_extra_opts\":\"-x\"}",
			      "bhyve options");

	is_member(b, "bootrom", "\"uefi\"", "uefi kept");
	is_member(b, "bhyve_extra_opts", "\"-x\"", "bhyve_extra_opts stored");
	json_decref(b);
	create_fails("{" BHYVE ",\"bootrom\":\"coreboot\"}", "Invalid value(s) for: bootrom",
		     "bad bootrom");
	create_fails("{" KVM ",\"vnc_password\":\"123456789\"}",
		     "VNC password is too long, maximum length is 8 characters.", "vnc password");
	create_fails("{" KVM ",\"vnc_port\":65536}", "Invalid value(s) for: vnc_port",
		     "vnc_port too big");
	create_fails("{" KVM ",\"vnc_port\":-2}", "Invalid value(s) for: vnc_port",
		     "vnc_port too small");
	b = create_ok("{" KVM ",\"bootrom\":\"uefi\",\"qemu_opts\":\"-a\"}", "kvm bootrom");
	is_member(b, "bootrom", "(absent)", "kvm bootrom stripped");
	ok(strstr(warnings, "[bootrom]") != NULL, "kvm bootrom warned");
	is_member(b, "qemu_opts", "\"-a\"", "qemu_opts stored");
	json_decref(b);
}

/* ---- disks ---- */

static void test_disk_model(void)
{
	json_t *k = create_ok("{" KVM ",\"disk_driver\":\"ide\",\"disks\":[{\"size\":1024},"
			      "{\"size\":10,\"model\":\"scsi\"}]}",
			      "disk_driver");

	is_member(disk_of(k, 0), "model", "\"ide\"", "model from disk_driver");
	is_member(disk_of(k, 1), "model", "\"scsi\"", "explicit model");
	is_member(disk_of(k, 0), "media", "\"disk\"", "media default");
	is_member(disk_of(k, 0), "block_size", "8192", "block_size default");
	is_member(disk_of(k, 0), "uuid", "(absent)", "kvm: no disk uuid");
	is_member(disk_of(k, 0), "pci_slot", "(absent)", "kvm: no pci_slot");
	json_decref(k);
	create_fails("{" KVM ",\"disks\":[{\"size\":1}]}",
		     "missing .model option for disk: {\"size\":1,\"media\":\"disk\"}",
		     "missing model");
	create_fails(
		"{" KVM ",\"disks\":[{\"size\":1,\"model\":\"nvme\"}]}",
		"\"nvme\" is not a valid disk model for kvm brand. Valid are: virtio, ide, scsi",
		"kvm nvme");
	create_fails("{" BHYVE ",\"disks\":[{\"size\":1,\"model\":\"ide\"}]}",
		     "\"ide\" is not a valid disk model for bhyve brand. Valid are: virtio, ahci, "
		     "nvme",
		     "bhyve ide");
	create_fails("{" KVM ",\"disks\":[{\"size\":1,\"model\":\"virtio\",\"media\":\"tape\"}]}",
		     "Invalid value(s) for: disks.0.media", "bad media");
}

static void test_disk_image(void)
{
	json_t *k = create_ok("{" KVM ",\"disks\":[{\"image_uuid\":\"" ZVOL "\",\"boot\":true,"
			      "\"model\":\"virtio\"}]}",
			      "image disk");

	is_member(disk_of(k, 0), "image_size", "10240", "image_size filled in");
	is_member(disk_of(k, 0), "block_size", "(absent)", "no block_size with image");
	json_decref(k);
	create_fails("{" KVM ",\"disks\":[{\"image_uuid\":\"" OSIMG "\",\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.image_uuid", "not a zvol");
	create_fails("{" KVM ",\"disks\":[{\"image_uuid\":\"" ZVOL "\",\"image_size\":5,"
		     "\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.image_size", "image_size mismatch");
	create_fails("{" KVM ",\"disks\":[{\"image_size\":5,\"size\":5,\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.image_size", "image_size without image");
	k = create_ok("{" KVM ",\"disks\":[{\"image_uuid\":\"" ZVOL "\",\"size\":20480,"
		      "\"model\":\"virtio\"}]}",
		      "size with image, no flexible_disk_size");
	is_member(disk_of(k, 0), "size", "(absent)", "size stripped");
	ok(strstr(warnings, "[disks.0.size] removing") != NULL, "size strip warned");
	json_decref(k);
	k = create_ok("{" BHYVE ",\"flexible_disk_size\":40960,\"disks\":[{\"image_uuid\":"
		      "\"" ZVOL "\",\"size\":20480,\"model\":\"virtio\"}]}",
		      "size with flexible_disk_size");
	is_member(disk_of(k, 0), "size", "20480", "size kept");
	json_decref(k);
	create_fails("{" BHYVE ",\"flexible_disk_size\":40960,\"disks\":[{\"image_uuid\":"
		     "\"" ZVOL "\",\"size\":100,\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: size", "size below image_size");
	create_fails("{" KVM ",\"disks\":[{\"model\":\"virtio\"}]}",
		     "Missing required properties: disks.0.size", "size required");
}

static void test_disk_block_size(void)
{
	create_fails("{" KVM ",\"disks\":[{\"image_uuid\":\"" ZVOL "\",\"block_size\":4096,"
		     "\"model\":\"virtio\"}]}",
		     "setting both .block_size and .image_uuid on a volume is invalid",
		     "block_size with image");
	create_fails("{" KVM ",\"disks\":[{\"size\":1,\"block_size\":1000,\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.block_size", "block_size not power of 2");
	create_fails("{" KVM ",\"disks\":[{\"size\":1,\"block_size\":262144,"
		     "\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.block_size", "block_size too big");
	create_fails("{" KVM ",\"disks\":[{\"size\":1,\"block_size\":256,\"model\":\"virtio\"}]}",
		     "Invalid value(s) for: disks.0.block_size", "block_size too small");
}

static void test_disk_misc(void)
{
	create_fails("{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,\"boot\":true},"
		     "{\"size\":1,\"boot\":true}]}",
		     "multiple boot disks: 2", "two boot disks");
	create_fails("{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,"
		     "\"path\":\"/x\"}]}",
		     "Invalid value(s) for: disks.0.path", "path on a created disk");
	create_fails("{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"media\":\"cdrom\"}]}",
		     "Missing required properties: disks.0.path", "cdrom without path");
	create_fails(
		"{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,"
		"\"compression\":\"zstd\"}]}",
		"invalid compression type for zstd, must be one of: on, off, "
		"gzip, gzip-1, gzip-2, gzip-3, gzip-4, gzip-5, gzip-6, gzip-7, gzip-8, gzip-9, "
		"lz4, lzjb, zle",
		"disk compression");
	create_fails("{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,"
		     "\"refreservation\":-1}]}",
		     "Invalid value(s) for: disks.*.refreservation", "negative refreservation");
	json_t *k = create_ok("{" KVM ",\"disk_driver\":\"virtio\",\"disks\":[{\"media\":"
			      "\"cdrom\",\"path\":\"/iso/a.iso\"},{\"nocreate\":true,\"path\":"
			      "\"/dev/x\"},{\"size\":1,\"compression\":\"lz4\","
			      "\"refreservation\":0}]}",
			      "cdrom, nocreate, compression");

	is_member(disk_of(k, 0), "path", "\"/iso/a.iso\"", "cdrom path kept");
	is_member(disk_of(k, 0), "block_size", "(absent)", "cdrom: no block_size");
	is_member(disk_of(k, 2), "compression", "\"lz4\"", "compression kept");
	json_decref(k);
}

static void test_disk_bhyve(void)
{
	json_t *b = create_ok("{" BHYVE ",\"disk_driver\":\"nvme\",\"disks\":[{\"size\":1},"
			      "{\"media\":\"cdrom\",\"path\":\"/a.iso\"},{\"size\":2,"
			      "\"pci_slot\":\"0:4:0\"},{\"size\":3,\"uuid\":\"" DU1 "\"}]}",
			      "bhyve disks");
	const char *u0 = jsonutil_str(disk_of(b, 0), "uuid");

	is_member(disk_of(b, 0), "pci_slot", "\"0:4:1\"", "first free 0:4 slot");
	is_member(disk_of(b, 1), "pci_slot", "\"0:3:0\"", "cdrom on 0:3");
	is_member(disk_of(b, 3), "pci_slot", "\"0:4:2\"", "next free");
	ok(u0 && strlen(u0) == 36, "disk uuid generated");
	is_member(disk_of(b, 3), "uuid", "\"" DU1 "\"", "given disk uuid kept");
	json_decref(b);
	create_fails("{" BHYVE ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,\"uuid\":"
		     "\"" DU1 "\"},{\"size\":1,\"uuid\":\"" DU1 "\"}]}",
		     "duplicate disk uuid " DU1, "duplicate disk uuid");
	create_fails("{" BHYVE ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,\"pci_slot\":"
		     "\"4:0\"},{\"size\":1,\"pci_slot\":\"0:4:0\"}]}",
		     "VM has multiple disks in pci_slot \"4:0\"", "duplicate pci_slot");
	create_fails("{" BHYVE ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,\"pci_slot\":"
		     "\"0:31:0\"}]}",
		     "Invalid value(s) for: disks.0.pci_slot", "reserved pci_slot");
	create_fails("{" BHYVE ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":1,\"pci_slot\":"
		     "\"1:2:8\"}]}",
		     "Invalid value(s) for: disks.0.pci_slot", "function 8");
}

static void test_pci_parse(void)
{
	int b = -1, d = -1, f = -1;

	ok(vmcfg_pci_slot_parse("5", &b, &d, &f) == 0 && b == 0 && d == 5 && f == 0, "dev");
	ok(vmcfg_pci_slot_parse("5:3", &b, &d, &f) == 0 && d == 5 && f == 3, "dev:fn");
	ok(vmcfg_pci_slot_parse("255:31:7", &b, &d, &f) == 0 && b == 255, "bus:dev:fn max");
	ok(vmcfg_pci_slot_parse("1:0:0", &b, &d, &f) == 0, "device 0 on bus 1 free");
	is_int(vmcfg_pci_slot_parse("0:6:0", &b, &d, &f), -EBUSY, "0:6 reserved");
	is_int(vmcfg_pci_slot_parse("30", &b, &d, &f), -EBUSY, "30 reserved");
	is_int(vmcfg_pci_slot_parse("256:1:0", &b, &d, &f), -EINVAL, "bus 256");
	is_int(vmcfg_pci_slot_parse("32", &b, &d, &f), -EINVAL, "dev 32");
	is_int(vmcfg_pci_slot_parse("1:2:3:4", &b, &d, &f), -EINVAL, "four parts");
	is_int(vmcfg_pci_slot_parse("1::3", &b, &d, &f), -EINVAL, "empty part");
	is_int(vmcfg_pci_slot_parse("x", &b, &d, &f), -EINVAL, "not a number");
	is_int(vmcfg_pci_slot_parse("-1", &b, &d, &f), -EINVAL, "negative");
	is_int(vmcfg_pci_slot_parse("", &b, &d, &f), -EINVAL, "empty");
}

static void test_next_index(void)
{
	json_t *d = js("[{\"path\":\"/zones/u/disk0\"},{\"path\":\"/zones/u/disk2\"},"
		       "{\"path\":\"/iso/x.iso\"}]");

	is_int(vmcfg_disk_next_index(NULL), 0, "no disks: 0");
	is_int(vmcfg_disk_next_index(d), 1, "lowest unused");
	json_array_insert_new(d, 0, json_pack("{s:s}", "path", "/zones/u/disk1"));
	is_int(vmcfg_disk_next_index(d), 3, "after 0,1,2");
	json_decref(d);
}

/* ---- nics ---- */

static void test_nic_model(void)
{
	json_t *k = create_ok("{" KVM ",\"nic_driver\":\"e1000\",\"nics\":[{\"nic_tag\":\"admin\"},"
			      "{\"nic_tag\":\"admin\",\"model\":\"rtl8139\"}]}",
			      "nic_driver");

	is_member(json_array_get(json_object_get(k, "nics"), 0), "model", "\"e1000\"",
		  "model from nic_driver");
	is_member(json_array_get(json_object_get(k, "nics"), 1), "model", "\"rtl8139\"",
		  "explicit model");
	json_decref(k);
	create_fails("{" BHYVE ",\"nics\":[{\"nic_tag\":\"admin\"}]}",
		     "missing .model option for NIC: {\"nic_tag\":\"admin\"}", "nic model missing");
	create_fails("{" BHYVE ",\"nics\":[{\"nic_tag\":\"admin\",\"model\":\"ne2k\"}]}",
		     "Invalid value(s) for: nics.*.model", "nic model bad");
}

/* ---- update ---- */

static json_t *update(const json_t *vm, const char *text, struct zh_error *err)
{
	json_t *p = js(text), *out = NULL, *ch = NULL;

	warnings[0] = '\0';
	vmcfg_update(vm, p, &env, warn_cb, NULL, &out, &ch, err);
	json_decref(ch);
	json_decref(p);
	return out;
}

static void update_fails(const json_t *vm, const char *text, const char *msg, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *out = update(vm, text, &err);

	ok(!out, "%s: update fails", name);
	is_str(err.msg, msg, "%s: message", name);
	zh_error_clear(&err);
	json_decref(out);
}

static json_t *update_ok(const json_t *vm, const char *text, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *out = update(vm, text, &err);

	if (!ok(out != NULL, "%s: update succeeds", name))
		printf("#   error: %s\n", err.msg);
	zh_error_clear(&err);
	return out;
}

/* A created VM whose disks the VM layer named <zonepath>/disk<N>. */
static json_t *stored_bhyve(void)
{
	json_t *vm = create_ok("{" BHYVE ",\"disk_driver\":\"virtio\",\"disks\":[{\"size\":100},"
			       "{\"size\":200}]}",
			       "bhyve for update");

	json_object_set_new(disk_of(vm, 0), "path", json_string("/zones/u/disk0"));
	json_object_set_new(disk_of(vm, 1), "path", json_string("/zones/u/disk1"));
	return vm;
}

static void test_update_disks(void)
{
	json_t *vm = stored_bhyve(), *o;

	o = update_ok(vm,
		      "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"model\":\"nvme\","
		      "\"boot\":true,\"size\":300}]}",
		      "update model, boot, grow");
	is_member(disk_of(o, 0), "model", "\"nvme\"", "model updated");
	is_member(disk_of(o, 0), "size", "300", "size grown");
	json_decref(o);
	update_fails(vm, "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"size\":50}]}",
		     "cannot resize disk /zones/u/disk0 from 100 MiB to 50 MiB: shrinking needs "
		     "dangerous_allow_shrink",
		     "shrink refused");
	o = update_ok(vm,
		      "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"size\":50,"
		      "\"dangerous_allow_shrink\":true}]}",
		      "shrink allowed");
	is_member(disk_of(o, 0), "size", "50", "shrunk");
	is_member(disk_of(o, 0), "dangerous_allow_shrink", "(absent)", "flag not stored");
	json_decref(o);
	update_fails(vm, "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"block_size\":512}]}",
		     "cannot change .block_size for a disk after creation", "block_size fixed");
	update_fails(vm, "{\"update_disks\":[{\"model\":\"nvme\"}]}",
		     "disk object needs a .path property to update", "no path");
	update_fails(vm, "{\"update_disks\":[{\"path\":\"/nope\"}]}",
		     "There is no existing disk with that path", "unknown path");
	update_fails(vm, "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"model\":\"ide\"}]}",
		     "\"ide\" is not a valid disk model for bhyve brand. Valid are: virtio, ahci, "
		     "nvme",
		     "bad model on update");
	o = update_ok(vm,
		      "{\"update_disks\":[{\"path\":\"/zones/u/disk0\",\"image_uuid\":\"" ZVOL
		      "\"}]}",
		      "image_uuid not updatable");
	is_member(disk_of(o, 0), "image_uuid", "(absent)", "image_uuid ignored");
	ok(strstr(warnings, "[update_disks.*.image_uuid]") != NULL ||
		   strstr(warnings, "[disks.*.image_uuid]") != NULL,
	   "image_uuid warned");
	json_decref(o);
	update_fails(vm, "{\"add_disks\":{\"size\":1}}", "add_disks must be an array.",
		     "add_disks not an array");
	json_decref(vm);
}

static void test_add_remove_disks(void)
{
	json_t *vm = stored_bhyve(), *o;

	o = update_ok(vm,
		      "{\"remove_disks\":[\"/zones/u/disk0\",\"/nope\"],\"add_disks\":"
		      "[{\"size\":5},{\"media\":\"cdrom\",\"path\":\"/a.iso\"}]}",
		      "remove and add");
	is_int(json_array_size(json_object_get(o, "disks")), 3, "three disks");
	is_member(disk_of(o, 0), "path", "\"/zones/u/disk1\"", "disk1 kept");
	is_member(disk_of(o, 1), "model", "\"virtio\"", "added disk model from disk_driver");
	is_member(disk_of(o, 1), "path", "(absent)", "added disk path left to the vm layer");
	ok(strstr(warnings, "no disk with path /nope") != NULL, "unknown path warned");
	is_int(vmcfg_disk_next_index(json_object_get(o, "disks")), 0, "disk0 free again");
	json_decref(o);
	update_fails(vm, "{\"add_disks\":[{\"size\":1,\"path\":\"/x\"}]}",
		     "Invalid value(s) for: disks.2.path", "add path on created disk");
	update_fails(vm,
		     "{\"add_disks\":[{\"size\":1,\"boot\":true}],\"update_disks\":"
		     "[{\"path\":\"/zones/u/disk0\",\"boot\":true}]}",
		     "multiple boot disks: 2", "second boot disk");
	json_decref(vm);
}

static void test_update_memory(void)
{
	json_t *vm = create_ok("{" BHYVE ",\"ram\":1024}", "bhyve 1024"), *o;

	o = update_ok(vm, "{\"ram\":2048}", "ram raised");
	is_member(o, "max_physical_memory", "3328", "max_physical_memory = ram + 1280");
	json_decref(o);
	o = update_ok(vm, "{\"max_swap\":512}", "max_swap below ram");
	is_member(o, "max_swap", "2304", "max_swap raised to max_physical_memory");
	json_decref(o);
	o = update_ok(vm, "{\"max_physical_memory\":1100}", "max_physical_memory below ram");
	is_member(o, "max_physical_memory", "1280", "raised to ram + 256");
	json_decref(o);
	update_fails(vm, "{\"vnc_password\":\"123456789\"}",
		     "VNC password is too long, maximum length is 8 characters.", "vnc on update");
	json_decref(vm);
}

/* ---- vmadm validate ---- */

static void check_validate(const char *text, int want_rc, const char *want, const char *name)
{
	struct vmcfg_report rep = VMCFG_REPORT_INIT;
	json_t *p = js(text), *o;
	char *got;

	is_int(vmcfg_validate(NULL, VMCFG_CREATE, p, &env, &rep), want_rc, "%s: rc", name);
	o = vmcfg_report_json(&rep);
	got = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(got, want, "%s: report", name);
	free(got);
	json_decref(o);
	json_decref(p);
	vmcfg_report_clear(&rep);
}

#define REP(bp, bv, mp) \
	"{\"bad_properties\":[" bp "],\"bad_values\":[" bv "],\"missing_properties\":[" mp "]}"

static void test_validate(void)
{
	check_validate("{" BHYVE ",\"disks\":[{\"image_uuid\":\"" ZVOL "\",\"image_size\":10240,"
		       "\"model\":\"virtio\"}],\"vnc_port\":5900}",
		       0, REP("", "", ""), "valid bhyve");
	check_validate("{" KVM ",\"disks\":[{\"size\":1},{\"image_uuid\":\"" OSIMG "\"},"
		       "{\"image_uuid\":\"" ZVOL "\",\"image_size\":1,\"size\":5}]}",
		       -EINVAL,
		       REP("\"disks.2.size\"", "\"disks.1.image_uuid\",\"disks.2.image_size\"", ""),
		       "image checks");
	check_validate("{" BHYVE ",\"vnc_port\":65536,\"cpu_type\":\"host\",\"qemu_opts\":\"x\"}",
		       -EINVAL, REP("\"cpu_type\",\"qemu_opts\"", "\"vnc_port\"", ""),
		       "bhyve: kvm-only properties, vnc_port range");
}

int main(void)
{
	test_validate();
	test_defaults();
	test_memory();
	test_top();
	test_disk_model();
	test_disk_image();
	test_disk_block_size();
	test_disk_misc();
	test_disk_bhyve();
	test_pci_parse();
	test_next_index();
	test_nic_model();
	test_update_disks();
	test_add_remove_disks();
	test_update_memory();
	return tap_done();
}

/*
 * test-qemu-argv.c - QEMU's argv for a kvm and a bhyve VM (qemu-argv.h,
 * docs/architecture.md §22): fixed options, models, boot order, nics,
 * firmware, qemu_opts/qemu_extra_opts, bad models.
 */
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "qemu-argv.h"
#include "tap.h"

#define UUID "1a2b3c4d-0000-4000-8000-000000000001"

static char *joined(const char *json, bool kvm, const int *fds, size_t n, const char *start)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = json_loads(json, 0, NULL);
	_cleanup_json_ json_t *st = start ? json_loads(start, 0, NULL) : NULL;
	struct qemu_spec s = {.vm = vm, .kvm = kvm, .tap_fds = fds, .n_taps = n, .start = st};
	char **argv = NULL, *out = NULL;
	size_t len = 0;
	FILE *f;

	if (qemu_argv_build(&s, &argv, &err) < 0) {
		json_decref(vm);
		out = strdup(err.msg);
		zh_error_clear(&err);
		return out;
	}
	f = open_memstream(&out, &len);
	for (char **a = argv; *a; a++)
		fprintf(f, "%s%s", a == argv ? "" : " ", *a);
	fclose(f);
	strv_free(argv);
	json_decref(vm);
	return out;
}

static void has(const char *s, const char *want, const char *what)
{
	if (!ok(s && strstr(s, want), "%s", what))
		printf("#   missing %s in\n#   %s\n", want, s ? s : "(null)");
}

static void test_kvm(void)
{
	int fds[] = {7};
	_cleanup_free_ char *s =
		joined("{\"uuid\":\"" UUID "\",\"brand\":\"kvm\",\"ram\":512,\"vcpus\":2,"
		       "\"cpu_type\":\"host\",\"boot\":\"order=cd\","
		       "\"disks\":[{\"path\":\"/z/d0\",\"model\":\"virtio\",\"boot\":true},"
		       "{\"model\":\"ide\",\"media\":\"cdrom\"},{\"model\":\"scsi\"},{\"model\":"
		       "\"nvme\"}],"
		       "\"nics\":[{\"mac\":\"02:00:00:00:00:01\",\"model\":\"e1000\"}],"
		       "\"qemu_extra_opts\":\"-rtc base=utc\"}",
		       true, fds, 1, NULL);

	ok(!strncmp(s,
		    QEMU_BINARY " -nodefaults -no-user-config -sandbox on,obsolete=deny,"
				"elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
		    strlen(QEMU_BINARY) + 100),
	   "kvm: starts with the binary, -nodefaults, -no-user-config, -sandbox");
	has(s, "-machine q35,accel=kvm", "kvm: q35 with kvm");
	has(s,
	    "-smbios type=1,manufacturer=Joyent,product=SmartDC HVM,version=7.0,serial=" UUID
	    ",uuid=" UUID,
	    "kvm: SMBIOS as SmartOS");
	has(s, "-m 512 -smp 2 -cpu host", "kvm: ram, vcpus, cpu_type host");
	has(s,
	    "-chardev socket,id=serial0,path=/tmp/vm.console,server=on,wait=off -serial "
	    "chardev:serial0",
	    "kvm: serial 0 = vm.console");
	has(s, "path=/tmp/vm.ttyb", "kvm: serial 1 = vm.ttyb");
	has(s, "-chardev socket,id=qmp,path=/tmp/vm.qmp", "kvm: QMP on vm.qmp");
	has(s, "-vnc unix:/tmp/vm.vnc", "kvm: VNC unix socket");
	has(s, "-pidfile /tmp/vm.pid", "kvm: pid file");
	has(s,
	    "-drive file=/vm/disk0,if=none,id=disk0,format=raw,media=disk -device "
	    "virtio-blk-pci,drive=disk0,bootindex=1",
	    "kvm: virtio boot disk first");
	has(s, "media=cdrom,readonly=on -device ide-cd,drive=disk1,bus=ide.0,bootindex=4",
	    "kvm: ide cdrom after the disks (order=cd)");
	has(s, "-device virtio-scsi-pci,id=scsi0", "kvm: scsi controller");
	has(s, "scsi-hd,drive=disk2,bus=scsi0.0,bootindex=2", "kvm: scsi disk");
	has(s, "nvme,drive=disk3,serial=disk3,bootindex=3", "kvm: nvme disk");
	has(s, "-netdev tap,id=net0,fd=7 -device e1000,netdev=net0,mac=02:00:00:00:00:01",
	    "kvm: nic on the tap fd");
	ok(!strstr(s, "bootindex=5"), "kvm: nics do not boot with order=cd");
	ok(strstr(s, " -rtc base=utc") && !strcmp(s + strlen(s) - 13, "-rtc base=utc"),
	   "kvm: qemu_extra_opts appended last");
	ok(!strstr(s, "pflash"), "kvm: bios: no pflash");
}

static void test_bhyve(void)
{
	_cleanup_free_ char *s = joined(
		"{\"uuid\":\"" UUID "\",\"brand\":\"bhyve\",\"ram\":1024,\"bootrom\":\"uefi\","
		"\"disk_driver\":\"ahci\",\"nic_driver\":\"virtio\","
		"\"disks\":[{\"path\":\"/z/d0\"},{\"path\":\"/z/d1\",\"boot\":true}],"
		"\"nics\":[{\"mac\":\"02:00:00:00:00:02\"},{\"mac\":\"02:00:00:00:00:03\"}]}",
		false, NULL, 0,
		"{\"order\":\"cd\",\"once\":\"d\",\"cdroms\":[{\"path\":\"/"
		"a.iso\",\"model\":\"ide\"}],"
		"\"disks\":[{\"path\":\"/b.img\",\"model\":\"nvme\"}]}");

	has(s, "-machine q35,accel=tcg", "bhyve: tcg");
	has(s, "-cpu qemu64", "bhyve: default cpu");
	has(s, "if=pflash,format=raw,unit=0,readonly=on,file=" QEMU_OVMF_CODE, "uefi: OVMF code");
	has(s, "if=pflash,format=raw,unit=1,file=" QEMU_UEFI_VARS, "uefi: vars");
	has(s, "ide-hd,drive=disk0,bus=ide.0", "bhyve: disk_driver ahci -> ide-hd");
	has(s, "ide-hd,drive=disk1,bus=ide.1", "bhyve: second disk on the next bus");
	has(s,
	    "-drive file=/vm/xdisk0,if=none,id=xdisk0,format=raw,media=disk -device "
	    "nvme,drive=xdisk0,serial=xdisk0 "
	    "-drive file=/vm/cdrom0,if=none,id=cdrom0,format=raw,media=cdrom,readonly=on "
	    "-device ide-cd,drive=cdrom0,bus=ide.2,bootindex=1",
	    "start disk= after the disks; once=d: the start cdrom boots first, alone");
	ok(!strstr(s, "drive=disk0,bus=ide.0,bootindex"), "once=d: disks get no bootindex");
	ok(!strstr(s, "-netdev"), "no tap fds: no nics");
}

static void test_vnc_password(void)
{
	_cleanup_free_ char *s = joined("{\"uuid\":\"" UUID "\",\"brand\":\"kvm\",\"ram\":256,"
					"\"vnc_password\":\"s3cr3t!x\"}",
					false, NULL, 0, NULL);
	_cleanup_free_ char *none = joined("{\"uuid\":\"" UUID "\",\"brand\":\"kvm\",\"ram\":256,"
					   "\"vnc_password\":\"\"}",
					   false, NULL, 0, NULL);

	has(s, "-vnc unix:/tmp/vm.vnc,password=on -", "vnc_password: QEMU asks for one");
	ok(s && !strstr(s, "s3cr3t"), "the password itself is never in the argv");
	has(none, "-vnc unix:/tmp/vm.vnc -", "an empty vnc_password: none asked");
}

static void test_opts_and_errors(void)
{
	_cleanup_free_ char *a = joined("{\"uuid\":\"" UUID "\",\"ram\":256,"
					"\"qemu_opts\":\"  -m 128   -smp 1 \","
					"\"disks\":[{\"model\":\"virtio\"}]}",
					false, NULL, 0, NULL);
	_cleanup_free_ char *b = joined("{\"uuid\":\"" UUID "\",\"ram\":256,"
					"\"disks\":[{\"model\":\"floppy\"}]}",
					false, NULL, 0, NULL);
	_cleanup_free_ char *c = joined("{\"uuid\":\"" UUID "\"}", false, NULL, 0, NULL);
	_cleanup_free_ char *d = joined("{\"uuid\":\"" UUID "\",\"ram\":64,\"boot\":\"order=dc\","
					"\"disks\":[{},{\"media\":\"cdrom\"}]}",
					false, NULL, 0, NULL);

	has(a, "-parallel none -m 128 -smp 1", "qemu_opts replaces the hardware part");
	ok(!strstr(a, "-m 256") && !strstr(a, "disk0"), "qemu_opts: no generated -m or disks");
	has(a, "-sandbox on", "qemu_opts keeps the fixed part");
	has(b, "disks.0.model: unknown model", "unknown disk model named");
	has(c, "ram:", "missing ram named");
	has(d, "ide-cd,drive=disk1,bus=ide.0,bootindex=1", "order=dc: cdrom first");
	has(d, "virtio-blk-pci,drive=disk0,bootindex=2", "order=dc: then the disk");
	is_str(qemu_nic_device("rtl8139"), "rtl8139", "rtl8139");
	ok(qemu_nic_device("ne2k") == NULL, "unknown nic model");
}

int main(void)
{
	test_kvm();
	test_bhyve();
	test_vnc_password();
	test_opts_and_errors();
	return tap_done();
}

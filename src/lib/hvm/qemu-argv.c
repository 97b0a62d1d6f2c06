/*
 * qemu-argv.c - QEMU's argv for a hardware VM (docs/architecture.md §22).
 *
 * Pure: the stored config, the accelerator and the tap fds in, a strv out.
 * The argv has three parts:
 *   fixed     what the jail and zoneadmd rely on, never replaced:
 *             -nodefaults -no-user-config -sandbox ..., q35 and the
 *             accelerator, -name/-uuid, SMBIOS type 1 as SmartOS
 *             (manufacturer Joyent, product "SmartDC HVM": cloud-init's
 *             SmartOS data source keys on it), the pid file, QMP, serial 0
 *             (vm.console), serial 1 (vm.ttyb), VNC on vm.vnc (password=on
 *             when vnc_password is set: the password itself goes over
 *             QMP, never on the command line), firmware
 *   hardware  -m, -smp, -cpu, -vga std, the disks, the nics; replaced
 *             by the words of qemu_opts when it is set (SmartOS: "opts
 *             replaces defaults")
 *   extra     the words of qemu_extra_opts, appended
 * Disks and nics get explicit -device lines (q35's built-in AHCI serves
 * ide and ahci, one virtio-scsi-pci serves scsi) and a bootindex from the
 * boot order: c = the disks (boot=true first), d = the cdroms, n = the
 * nics; from `vmadm start` (vmcfg-start.h): its order replaces the
 * config's, its once wins over both for that boot, its cdroms and disks
 * are added after the config's.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "qemu-argv.h"

#define SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

struct qa {
	char **v;
	size_t n, cap;
	bool oom;
};

/* ---- the vector ---- */

static void qa_add(struct qa *q, const char *s)
{
	char **v;

	if (q->oom)
		return;
	if (q->n + 2 > q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		if (!(v = realloc(q->v, q->cap * sizeof(char *)))) {
			q->oom = true;
			return;
		}
		q->v = v;
	}
	if (!(q->v[q->n] = strdup(s)))
		q->oom = true;
	else
		q->v[++q->n] = NULL;
}

static _printf_(2, 3) void qa_addf(struct qa *q, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL;
		q->oom = true;
		return;
	}
	qa_add(q, s);
}

static void qa_pair(struct qa *q, const char *opt, const char *val)
{
	qa_add(q, opt);
	qa_add(q, val);
}

/* The whitespace-separated words of s (qemu_opts, qemu_extra_opts). */
static void qa_words(struct qa *q, const char *s)
{
	while (s && *s) {
		size_t n;

		while (isspace((unsigned char)*s))
			s++;
		for (n = 0; s[n] && !isspace((unsigned char)s[n]); n++)
			;
		if (n) {
			_cleanup_free_ char *w = strndup(s, n);

			if (!w)
				q->oom = true;
			else
				qa_add(q, w);
		}
		s += n;
	}
}

/* ---- models ---- */

const char *qemu_disk_device(const char *model, bool cdrom)
{
	if (!model || streq(model, "virtio"))
		return cdrom ? "ide-cd" : "virtio-blk-pci";
	if (streq(model, "ide") || streq(model, "ahci"))
		return cdrom ? "ide-cd" : "ide-hd";
	if (streq(model, "scsi"))
		return cdrom ? "scsi-cd" : "scsi-hd";
	if (streq(model, "nvme"))
		return cdrom ? "ide-cd" : "nvme";
	return NULL;
}

const char *qemu_nic_device(const char *model)
{
	if (!model || streq(model, "virtio"))
		return "virtio-net-pci";
	if (streq(model, "e1000"))
		return "e1000";
	if (streq(model, "rtl8139"))
		return "rtl8139";
	return NULL;
}

static const char *model_of(const json_t *item, const json_t *vm, const char *driver_key)
{
	const char *m = jsonutil_str(item, "model");

	return m ? m : jsonutil_str(vm, driver_key);
}

/* ---- the fixed part ---- */

static void add_smbios(struct qa *q, const char *uuid)
{
	qa_add(q, "-smbios");
	qa_addf(q,
		"type=1,manufacturer=Joyent,product=SmartDC HVM,version=7.0,"
		"serial=%s,uuid=%s,sku=001,family=Virtual Machine",
		uuid, uuid);
}

static void add_socket(struct qa *q, const char *id, const char *file)
{
	qa_add(q, "-chardev");
	qa_addf(q, "socket,id=%s,path=" QEMU_RUNDIR "/%s,server=on,wait=off", id, file);
}

static bool has_vnc_password(const json_t *vm)
{
	const char *pw = jsonutil_str(vm, "vnc_password");

	return pw && *pw;
}

static void add_fixed(struct qa *q, const struct qemu_spec *s, const char *uuid)
{
	qa_add(q, QEMU_BINARY);
	qa_add(q, "-nodefaults");
	qa_add(q, "-no-user-config");
	qa_pair(q, "-sandbox", SANDBOX);
	qa_pair(q, "-machine", s->kvm ? "q35,accel=kvm" : "q35,accel=tcg");
	qa_pair(q, "-name", uuid);
	qa_pair(q, "-uuid", uuid);
	add_smbios(q, uuid);
	qa_pair(q, "-pidfile", QEMU_RUNDIR "/vm.pid");
	add_socket(q, "qmp", "vm.qmp");
	qa_pair(q, "-mon", "chardev=qmp,mode=control");
	add_socket(q, "serial0", "vm.console");
	qa_pair(q, "-serial", "chardev:serial0");
	add_socket(q, "serial1", "vm.ttyb");
	qa_pair(q, "-serial", "chardev:serial1");
	/* with a vnc_password, QEMU refuses every client until QMP set_password gives it */
	qa_pair(q, "-vnc",
		has_vnc_password(s->vm) ? "unix:" QEMU_RUNDIR "/vm.vnc,password=on"
					: "unix:" QEMU_RUNDIR "/vm.vnc");
	qa_pair(q, "-parallel", "none");
}

static void add_firmware(struct qa *q, const json_t *vm)
{
	const char *rom = jsonutil_str(vm, "bootrom");

	if (!rom || !streq(rom, "uefi"))
		return; /* bios: QEMU's default for q35 is SeaBIOS */
	qa_pair(q, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" QEMU_OVMF_CODE);
	qa_pair(q, "-drive", "if=pflash,format=raw,unit=1,file=" QEMU_UEFI_VARS);
}

/* ---- boot order ---- */

enum { K_DISK, K_CDROM, K_NIC, K_N };

struct boot {
	char order[8];	   /* the kinds in boot order: letters c, d, n */
	int count[K_N];	   /* devices of each kind */
	int boot_disks;	   /* disks with boot=true: first among c */
	int seen[K_N + 1]; /* placed so far (K_N: boot=true disks) */
	size_t ide;	   /* next ide bus of q35's AHCI */
	bool scsi;	   /* virtio-scsi-pci added */
};

/* "order=cd,once=d" -> "d"; "order=cd" or "cd" -> "cd"; start's order, once win. */
static void boot_letters(const char *spec, const json_t *start, char out[8])
{
	const char *p = "cd", *once = spec ? strstr(spec, "once=") : NULL;
	const char *order = spec ? strstr(spec, "order=") : NULL;
	size_t n = 0;

	if (once)
		p = once + 5;
	else if (order)
		p = order + 6;
	else if (spec && *spec && !strchr(spec, '='))
		p = spec;
	if (jsonutil_str(start, "once"))
		p = jsonutil_str(start, "once");
	else if (jsonutil_str(start, "order"))
		p = jsonutil_str(start, "order");
	for (; *p && *p != ',' && n < 7; p++)
		if (strchr("cdn", *p) && !memchr(out, *p, n))
			out[n++] = *p;
	out[n] = '\0';
}

static int kind_of(char letter)
{
	return letter == 'c' ? K_DISK : letter == 'd' ? K_CDROM : K_NIC;
}

/*
 * The bootindex of the nth device of a kind; -1 when the kind does not
 * boot.  From 1: QEMU gives 0 to -kernel's option ROM (qemu_extra_opts).
 */
static int boot_index(const struct boot *b, int kind, int nth)
{
	int base = 1;

	for (const char *p = b->order; *p; p++) {
		if (kind_of(*p) == kind)
			return base + nth;
		base += b->count[kind_of(*p)];
	}
	return -1;
}

static bool disk_is_cdrom(const json_t *d)
{
	const char *m = jsonutil_str(d, "media");

	return m && streq(m, "cdrom");
}

static void boot_init(struct boot *b, const struct qemu_spec *s)
{
	const json_t *d;
	size_t i;

	memset(b, 0, sizeof(*b));
	boot_letters(jsonutil_str(s->vm, "boot"), s->start, b->order);
	json_array_foreach (json_object_get(s->vm, "disks"), i, d) {
		b->count[disk_is_cdrom(d) ? K_CDROM : K_DISK]++;
		if (!disk_is_cdrom(d) && json_is_true(json_object_get(d, "boot")))
			b->boot_disks++;
	}
	b->count[K_CDROM] += (int)json_array_size(json_object_get(s->start, "cdroms"));
	b->count[K_DISK] += (int)json_array_size(json_object_get(s->start, "disks"));
	b->count[K_NIC] = (int)json_array_size(json_object_get(s->vm, "nics"));
}

/* The bootindex of disk d: boot=true disks first, then the others, in order. */
static int disk_boot_index(struct boot *b, const json_t *d)
{
	if (disk_is_cdrom(d))
		return boot_index(b, K_CDROM, b->seen[K_CDROM]++);
	if (json_is_true(json_object_get(d, "boot")))
		return boot_index(b, K_DISK, b->seen[K_N]++);
	return boot_index(b, K_DISK, b->boot_disks + b->seen[K_DISK]++);
}

/* ---- disks ---- */

static void add_device(struct qa *q, struct boot *b, const char *dev, const char *id, int bi)
{
	char bus[32] = "", serial[48] = "", idx[32] = "";

	if (!strncmp(dev, "ide-", 4))
		snprintf(bus, sizeof(bus), ",bus=ide.%zu", b->ide++);
	else if (!strncmp(dev, "scsi-", 5))
		snprintf(bus, sizeof(bus), ",bus=scsi0.0");
	if (streq(dev, "nvme"))
		snprintf(serial, sizeof(serial), ",serial=%s", id);
	if (bi >= 0)
		snprintf(idx, sizeof(idx), ",bootindex=%d", bi);
	qa_add(q, "-device");
	qa_addf(q, "%s,drive=%s%s%s%s", dev, id, bus, serial, idx);
}

static void add_drive(struct qa *q, struct boot *b, const char *file, const char *id,
		      const char *dev, int bi)
{
	bool cdrom = strstr(dev, "-cd") != NULL;

	if (!strncmp(dev, "scsi-", 5) && !b->scsi) {
		qa_pair(q, "-device", "virtio-scsi-pci,id=scsi0");
		b->scsi = true;
	}
	qa_add(q, "-drive");
	qa_addf(q, "file=%s,if=none,id=%s,format=raw,media=%s%s", file, id,
		cdrom ? "cdrom" : "disk", cdrom ? ",readonly=on" : "");
	add_device(q, b, dev, id, bi);
}

/* `vmadm start` cdroms (QEMU_CDROM_FMT) and disks (QEMU_XDISK_FMT). */
static int add_extra(struct qa *q, struct boot *b, const json_t *list, bool cdrom,
		     struct zh_error *err)
{
	const json_t *x;
	size_t i;

	json_array_foreach (list, i, x) {
		const char *dev = qemu_disk_device(jsonutil_str(x, "model"), cdrom);
		char file[64], id[32];

		if (!dev)
			return zh_error_set(err, EINVAL, cdrom ? "cdrom" : "disk",
					    "%s: unknown model", cdrom ? "cdrom" : "disk");
		snprintf(file, sizeof(file), cdrom ? QEMU_CDROM_FMT : QEMU_XDISK_FMT, i);
		snprintf(id, sizeof(id), "%s%zu", cdrom ? "cdrom" : "xdisk", i);
		add_drive(q, b, file, id, dev,
			  cdrom ? boot_index(b, K_CDROM, b->seen[K_CDROM]++)
				: boot_index(b, K_DISK, b->boot_disks + b->seen[K_DISK]++));
	}
	return 0;
}

static int add_extras(struct qa *q, struct boot *b, const struct qemu_spec *s, struct zh_error *err)
{
	int r = add_extra(q, b, json_object_get(s->start, "disks"), false, err);

	return r < 0 ? r : add_extra(q, b, json_object_get(s->start, "cdroms"), true, err);
}

static int add_disks(struct qa *q, struct boot *b, const struct qemu_spec *s, struct zh_error *err)
{
	const json_t *d;
	size_t i;

	json_array_foreach (json_object_get(s->vm, "disks"), i, d) {
		const char *dev =
			qemu_disk_device(model_of(d, s->vm, "disk_driver"), disk_is_cdrom(d));
		char file[64], id[32];

		if (!dev)
			return zh_error_set(err, EINVAL, "disks.model",
					    "disks.%zu.model: unknown model", i);
		snprintf(file, sizeof(file), QEMU_DISK_FMT, i);
		snprintf(id, sizeof(id), "disk%zu", i);
		add_drive(q, b, file, id, dev, disk_boot_index(b, d));
	}
	return add_extras(q, b, s, err);
	return 0;
}

/* ---- nics ---- */

static int add_nics(struct qa *q, struct boot *b, const struct qemu_spec *s, struct zh_error *err)
{
	const json_t *n;
	size_t i;

	json_array_foreach (json_object_get(s->vm, "nics"), i, n) {
		const char *dev = qemu_nic_device(model_of(n, s->vm, "nic_driver"));
		const char *mac = jsonutil_str(n, "mac");
		int bi = boot_index(b, K_NIC, (int)i);
		char idx[32] = "";

		if (!dev)
			return zh_error_set(err, EINVAL, "nics.model",
					    "nics.%zu.model: unknown model", i);
		if (i >= s->n_taps || s->tap_fds[i] < 0)
			continue;
		if (bi >= 0)
			snprintf(idx, sizeof(idx), ",bootindex=%d", bi);
		qa_add(q, "-netdev");
		qa_addf(q, "tap,id=net%zu,fd=%d", i, s->tap_fds[i]);
		qa_add(q, "-device");
		qa_addf(q, "%s,netdev=net%zu%s%s%s", dev, i, mac ? ",mac=" : "", mac ? mac : "",
			idx);
	}
	return 0;
}

/* ---- the hardware part, the whole argv ---- */

static int add_hardware(struct qa *q, const struct qemu_spec *s, struct zh_error *err)
{
	json_t *ram = json_object_get(s->vm, "ram"), *vcpus = json_object_get(s->vm, "vcpus");
	const char *cpu = jsonutil_str(s->vm, "cpu_type");
	struct boot b;
	int r;

	if (!json_is_integer(ram) || json_integer_value(ram) <= 0)
		return zh_error_set(err, EINVAL, "ram", "ram: a positive number of MiB is needed");
	if (!cpu || (!s->kvm && streq(cpu, "host")))
		cpu = s->kvm ? "host" : "qemu64"; /* "host" needs KVM */
	qa_add(q, "-m");
	qa_addf(q, "%lld", (long long)json_integer_value(ram));
	qa_add(q, "-smp");
	qa_addf(q, "%lld", json_is_integer(vcpus) ? (long long)json_integer_value(vcpus) : 1LL);
	qa_pair(q, "-cpu", cpu);
	qa_pair(q, "-vga", "std");
	boot_init(&b, s);
	if ((r = add_disks(q, &b, s, err)) < 0)
		return r;
	return add_nics(q, &b, s, err);
}

int qemu_argv_build(const struct qemu_spec *s, char ***argv, struct zh_error *err)
{
	const char *uuid = jsonutil_str(s->vm, "uuid"), *opts = jsonutil_str(s->vm, "qemu_opts");
	struct qa q = {0};
	int r = 0;

	if (!uuid)
		return zh_error_set(err, EINVAL, "uuid", "uuid: missing");
	add_fixed(&q, s, uuid);
	add_firmware(&q, s->vm);
	if (opts && *opts)
		qa_words(&q, opts);
	else
		r = add_hardware(&q, s, err);
	qa_words(&q, jsonutil_str(s->vm, "qemu_extra_opts"));
	if (r == 0 && q.oom)
		r = zh_error_oom(err);
	if (r < 0) {
		strv_free(q.v);
		return r;
	}
	*argv = q.v;
	return 0;
}

/*
 * vmcfg-disk.c - the hardware VM (kvm, bhyve) properties: disks, nic
 * models' default, vnc, bootrom, memory floor (docs/architecture.md §4).
 *
 * Owns: create defaults of the HVM brands (vcpus, cpu_type, bootrom,
 * disks), every disks.* rule (model per brand, media, size/image_size
 * against the image, block_size, boot, pci_slot, uuid, compression),
 * add_/update_/remove_disks, and SmartOS's silent raise of
 * max_physical_memory / max_locked_memory to ram + 256.  Disk paths of
 * created disks are the VM layer's (<zonepath>/disk<N>, N from
 * vmcfg_disk_next_index()); cdrom and nocreate disks keep the user's.
 * Pure: the image manifest is asked through vmcfg_env.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"
#include "vmcfg-start.h"

#define HVM_MIN_OVERHEAD 256 /* MiB: ram + this <= max_physical/locked memory */
#define VNC_PASSWORD_MAX 8

/* ---- small helpers ---- */

static bool is_bhyve(const struct vmcfg_run *r)
{
	return r->brand->bit == PROPS_B_BHYVE;
}

/* "Invalid value(s) for: disks.<i>.<k>" */
static int bad_disk(struct vmcfg_run *r, size_t i, const char *k)
{
	_cleanup_free_ char *name = NULL;

	if (asprintf(&name, "disks.%zu.%s", i, k) < 0)
		return zh_error_oom(r->err);
	return zh_error_set(r->err, EINVAL, name, "Invalid value(s) for: %s", name);
}

static int set_new(struct vmcfg_run *r, json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v) < 0)
		return zh_error_oom(r->err);
	return 0;
}

static bool is_cdrom(const json_t *d)
{
	const char *m = jsonutil_str(d, "media");

	return m && streq(m, "cdrom");
}

static bool creates_file(const json_t *d)
{
	return !is_cdrom(d) && !json_is_true(json_object_get(d, "nocreate"));
}

int vmcfg_disk_next_index(const json_t *disks)
{
	for (int n = 0;; n++) {
		char suffix[32];
		size_t i, sl;
		json_t *d;
		bool used = false;

		sl = (size_t)snprintf(suffix, sizeof(suffix), "/disk%d", n);
		json_array_foreach (disks, i, d) {
			const char *p = jsonutil_str(d, "path");
			size_t pl = p ? strlen(p) : 0;

			if (pl >= sl && streq(p + pl - sl, suffix))
				used = true;
		}
		if (!used)
			return n;
	}
}

/* ---- pci_slot: "bus:dev:fn", "dev:fn" or "dev" ---- */

static bool parse_num(const char *s, long max, long *out)
{
	char *end = NULL;

	if (!*s || *s == '-' || *s == '+')
		return false;
	*out = strtol(s, &end, 10);
	return *end == '\0' && *out <= max;
}

int vmcfg_pci_slot_parse(const char *s, int *bus, int *dev, int *fn)
{
	long v[3] = {0, 0, 0}, max[3] = {255, 31, 7};
	_cleanup_free_ char *copy = s ? strdup(s) : NULL;
	char *parts[3], *save = NULL, *t;
	int n = 0;

	if (!copy)
		return -EINVAL;
	for (t = strtok_r(copy, ":", &save); t && n < 3; t = strtok_r(NULL, ":", &save))
		parts[n++] = t;
	if (n == 0 || t || strstr(s, "::") || s[0] == ':' || s[strlen(s) - 1] == ':')
		return -EINVAL;
	for (int i = 0, off = n == 3 ? 0 : 1; i < n; i++)
		if (!parse_num(parts[i], max[off + i], &v[off + i]))
			return -EINVAL;
	*bus = (int)v[0], *dev = (int)v[1], *fn = (int)v[2];
	if (*bus == 0 && (*dev == 0 || *dev == 6 || *dev == 30 || *dev == 31))
		return -EBUSY; /* reserved: host bridge, LPC, ... */
	return 0;
}

static int check_pci_slot(struct vmcfg_run *r, const json_t *d, size_t i)
{
	const char *s = jsonutil_str(d, "pci_slot");
	int b, dv, f;

	if (!json_object_get(d, "pci_slot"))
		return 0;
	if (!s || vmcfg_pci_slot_parse(s, &b, &dv, &f) < 0)
		return bad_disk(r, i, "pci_slot");
	return 0;
}

/* Normalised "b:d:f" of disk d into out; false when it has none. */
static bool slot_of(const json_t *d, char out[16])
{
	int b, dv, f;

	if (vmcfg_pci_slot_parse(jsonutil_str(d, "pci_slot"), &b, &dv, &f) < 0)
		return false;
	snprintf(out, 16, "%d:%d:%d", b, dv, f);
	return true;
}

static bool slot_used(const json_t *disks, const char *slot)
{
	char s[16];
	size_t i;
	json_t *d;

	json_array_foreach (disks, i, d)
		if (slot_of(d, s) && streq(s, slot))
			return true;
	return false;
}

/* bhyve: 0:4:<fn> for disks, 0:3:<fn> for cdroms, lowest free. */
static int assign_slot(struct vmcfg_run *r, const json_t *disks, json_t *d)
{
	char s[16];

	if (json_object_get(d, "pci_slot"))
		return 0;
	for (int fn = 0; fn < 8; fn++) {
		snprintf(s, sizeof(s), "0:%d:%d", is_cdrom(d) ? 3 : 4, fn);
		if (!slot_used(disks, s))
			return set_new(r, d, "pci_slot", json_string(s));
	}
	return 0; /* all eight taken: left to the hypervisor */
}

/* ---- whole-array checks ---- */

static int check_dup_slots(struct vmcfg_run *r, const json_t *disks)
{
	char a[16], b[16];
	size_t i, j;
	json_t *d, *e;

	json_array_foreach (disks, i, d) {
		if (!slot_of(d, a))
			continue;
		json_array_foreach (disks, j, e)
			if (j > i && slot_of(e, b) && streq(a, b))
				return zh_error_set(r->err, EINVAL, "disks",
						    "VM has multiple disks in pci_slot \"%s\"",
						    jsonutil_str(d, "pci_slot"));
	}
	return 0;
}

static int check_dup_uuids(struct vmcfg_run *r, const json_t *disks)
{
	size_t i, j;
	json_t *d, *e;

	json_array_foreach (disks, i, d) {
		const char *u = jsonutil_str(d, "uuid");

		json_array_foreach (disks, j, e)
			if (u && j > i && jsonutil_str(e, "uuid") &&
			    streq(u, jsonutil_str(e, "uuid")))
				return zh_error_set(r->err, EINVAL, "disks",
						    "duplicate disk uuid %s", u);
	}
	return 0;
}

static int check_boot(struct vmcfg_run *r, const json_t *disks)
{
	size_t i, n = 0;
	json_t *d;

	json_array_foreach (disks, i, d)
		n += json_is_true(json_object_get(d, "boot"));
	if (n > 1)
		return zh_error_set(r->err, EINVAL, "disks", "multiple boot disks: %zu", n);
	return 0;
}

static int check_array(struct vmcfg_run *r, json_t *disks)
{
	size_t i;
	json_t *d;
	int ret;

	if ((ret = check_boot(r, disks)) < 0 || (ret = check_dup_uuids(r, disks)) < 0 ||
	    !is_bhyve(r))
		return ret;
	json_array_foreach (disks, i, d)
		if ((ret = assign_slot(r, disks, d)) < 0)
			return ret;
	return check_dup_slots(r, disks);
}

/* ---- one disk ---- */

static int check_model(struct vmcfg_run *r, json_t *d, const char *driver)
{
	const char *m = jsonutil_str(d, "model");
	_cleanup_free_ char *txt = NULL;

	if (!m && driver) {
		if (set_new(r, d, "model", json_string(driver)) < 0)
			return -ENOMEM;
		m = driver;
	}
	if (!m) {
		txt = vmcfg_dump(d);
		return zh_error_set(r->err, EINVAL, "disks", "missing .model option for disk: %s",
				    txt);
	}
	if (vmcfg_disk_model_valid(r->brand->name, m))
		return 0;
	return zh_error_set(r->err, EINVAL, "disks",
			    "\"%s\" is not a valid disk model for %s brand. Valid are: %s", m,
			    r->brand->name,
			    is_bhyve(r) ? "virtio, ahci, nvme" : "virtio, ide, scsi");
}

static int check_block_size(struct vmcfg_run *r, json_t *d, size_t i)
{
	json_t *v = json_object_get(d, "block_size");
	int64_t n = vmcfg_int(d, "block_size", -1);

	if (v && json_object_get(d, "image_uuid"))
		return zh_error_set(
			r->err, EINVAL, "disks",
			"setting both .block_size and .image_uuid on a volume is invalid");
	if (v && (n < 512 || n > 131072 || (n & (n - 1))))
		return bad_disk(r, i, "block_size");
	if (!v && !json_object_get(d, "image_uuid") && creates_file(d))
		return set_new(r, d, "block_size", json_integer(8192));
	return 0;
}

/* image_uuid: an installed zvol image; image_size filled in or checked. */
static int check_image(struct vmcfg_run *r, json_t *d, size_t i, const char *zpool)
{
	const char *img = jsonutil_str(d, "image_uuid");
	const struct vmcfg_env *e = r->env;
	char type[64] = "";
	int64_t size = 0;

	if (!img)
		return json_object_get(d, "image_size") ? bad_disk(r, i, "image_size") : 0;
	if (e && e->image_type &&
	    (e->image_type(e->ctx, zpool, img, type, sizeof(type)) < 0 || !streq(type, "zvol")))
		return bad_disk(r, i, "image_uuid");
	if (!e || !e->image_size || e->image_size(e->ctx, zpool, img, &size) < 0)
		return json_object_get(d, "image_size") ? 0 : bad_disk(r, i, "image_size");
	if (!json_object_get(d, "image_size"))
		return set_new(r, d, "image_size", json_integer(size));
	return vmcfg_int(d, "image_size", -1) == size ? 0 : bad_disk(r, i, "image_size");
}

static int check_size(struct vmcfg_run *r, json_t *d, size_t i, bool flexible)
{
	bool img = json_object_get(d, "image_uuid") != NULL;
	json_t *size = json_object_get(d, "size");

	if (img && size && !flexible) {
		vmcfg_warnf(r,
			    "Warning, invalid %s property: [disks.%zu.size] removing from payload.",
			    r->action == PROPS_UPDATE ? "update" : "create", i);
		json_object_del(d, "size");
		return 0;
	}
	if (img && size && vmcfg_int(d, "size", 0) < vmcfg_int(d, "image_size", 0))
		return zh_error_set(r->err, EINVAL, "size", "Invalid value(s) for: size");
	if (!img && !size && creates_file(d))
		return zh_error_set(r->err, EINVAL, "disks.*.size",
				    "Missing required properties: disks.%zu.size", i);
	return 0;
}

static int check_media_path(struct vmcfg_run *r, json_t *d, size_t i)
{
	const char *m = jsonutil_str(d, "media");

	if (!m && set_new(r, d, "media", json_string("disk")) < 0)
		return -ENOMEM;
	if (m && !streq(m, "disk") && !streq(m, "cdrom"))
		return bad_disk(r, i, "media");
	if (json_object_get(d, "path") && creates_file(d))
		return bad_disk(r, i, "path");
	if (!json_object_get(d, "path") && !creates_file(d))
		return zh_error_set(r->err, EINVAL, "disks.*.path",
				    "Missing required properties: disks.%zu.path", i);
	return 0;
}

static int assign_uuid(struct vmcfg_run *r, json_t *d)
{
	char id[UTIL_UUID_LEN + 1];

	if (!is_bhyve(r) || json_object_get(d, "uuid"))
		return 0;
	if (util_uuid_generate(id) < 0)
		return zh_error_set(r->err, EIO, "disks", "cannot generate a UUID");
	return set_new(r, d, "uuid", json_string(id));
}

struct disk_ctx {
	const char *driver, *zpool;
	bool flexible;
};

static int check_disk(struct vmcfg_run *r, json_t *d, size_t i, const struct disk_ctx *c)
{
	int ret;

	if ((ret = check_media_path(r, d, i)) < 0 || (ret = check_model(r, d, c->driver)) < 0 ||
	    (ret = check_image(r, d, i, c->zpool)) < 0 ||
	    (ret = check_size(r, d, i, c->flexible)) < 0 || (ret = check_block_size(r, d, i)) < 0 ||
	    (ret = check_pci_slot(r, d, i)) < 0 || (ret = assign_uuid(r, d)) < 0)
		return ret;
	return vmcfg_check_compression_value(r, json_object_get(d, "compression"),
					     "disks.*.compression");
}

static void disk_ctx_of(const json_t *cfg, struct disk_ctx *c)
{
	const char *zpool = jsonutil_str(cfg, "zpool");

	c->driver = jsonutil_str(cfg, "disk_driver");
	c->zpool = zpool ? zpool : "zones";
	c->flexible = json_object_get(cfg, "flexible_disk_size") != NULL;
}

/* Check and append the disks of add (copies) to cur, then the array rules. */
static int disks_add(struct vmcfg_run *r, const json_t *cfg, json_t *cur, const json_t *add)
{
	struct disk_ctx c;
	size_t i;
	json_t *o;
	int ret;

	disk_ctx_of(cfg, &c);
	json_array_foreach (add, i, o) {
		_cleanup_json_ json_t *d = json_deep_copy(o);

		if (!d)
			return zh_error_oom(r->err);
		if ((ret = check_disk(r, d, json_array_size(cur), &c)) < 0)
			return ret;
		if (json_array_append(cur, d) < 0)
			return zh_error_oom(r->err);
	}
	return check_array(r, cur);
}

/* ---- top-level HVM properties ---- */

static int check_top(struct vmcfg_run *r, const json_t *cfg, bool create)
{
	const char *pw = jsonutil_str(cfg, "vnc_password");
	const char *rom = jsonutil_str(cfg, "bootrom");

	if (pw && strlen(pw) > VNC_PASSWORD_MAX)
		return zh_error_set(r->err, EINVAL, "vnc_password",
				    "VNC password is too long, maximum length is 8 characters.");
	if (create && rom && !streq(rom, "bios") && !streq(rom, "uefi"))
		return zh_error_set(r->err, EINVAL, "bootrom", "Invalid value(s) for: bootrom");
	return 0;
}

static int set_default(struct vmcfg_run *r, json_t *cfg, const char *k, json_t *v)
{
	if (!v)
		return zh_error_oom(r->err);
	if (json_object_get(cfg, k)) {
		json_decref(v);
		return 0;
	}
	return set_new(r, cfg, k, v);
}

static int hvm_defaults(struct vmcfg_run *r, json_t *cfg)
{
	int ret;

	if ((ret = set_default(r, cfg, "vcpus", json_integer(1))) < 0)
		return ret;
	if (!is_bhyve(r) && (ret = set_default(r, cfg, "cpu_type", json_string("qemu64"))) < 0)
		return ret;
	if (is_bhyve(r) && (ret = set_default(r, cfg, "bootrom", json_string("bios"))) < 0)
		return ret;
	return 0;
}

void vmcfg_hvm_memory(struct vmcfg_run *r, json_t *cfg)
{
	static const char *const keys[] = {"max_physical_memory", "max_locked_memory"};
	int64_t floor = vmcfg_int(cfg, "ram", 0) + HVM_MIN_OVERHEAD;

	if (!r->brand->hvm || !json_object_get(cfg, "ram"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (vmcfg_int(cfg, keys[i], floor) < floor)
			json_object_set_new(cfg, keys[i], json_integer(floor));
}

int vmcfg_hvm_create(struct vmcfg_run *r, json_t *cfg)
{
	_cleanup_json_ json_t *all = json_array();
	json_t *disks = json_object_get(cfg, "disks");
	int ret;

	if (!r->brand->hvm)
		return 0;
	if (!all)
		return zh_error_oom(r->err);
	if ((ret = hvm_defaults(r, cfg)) < 0 || (ret = check_top(r, cfg, true)) < 0 ||
	    (ret = disks_add(r, cfg, all, json_is_array(disks) ? disks : all)) < 0)
		return ret;
	return set_new(r, cfg, "disks", json_incref(all));
}

/* ---- vmadm validate: SmartOS's validateImages for disks ---- */

static int rep_disk(json_t **arr, size_t i, const char *k)
{
	_cleanup_free_ char *name = NULL;

	if (asprintf(&name, "disks.%zu.%s", i, k) < 0)
		return -ENOMEM;
	return vmcfg_rep_add(arr, name);
}

static int validate_disk(struct vmcfg_run *r, const json_t *d, size_t i, const struct disk_ctx *c)
{
	const char *img = jsonutil_str(d, "image_uuid");
	const struct vmcfg_env *e = r->env;
	char type[64] = "";
	int64_t size = 0;

	if (!img || !e)
		return 0;
	if (json_object_get(d, "size") && !c->flexible &&
	    rep_disk(&r->rep.bad_properties, i, "size"))
		return -ENOMEM;
	if (e->image_type &&
	    (e->image_type(e->ctx, c->zpool, img, type, sizeof(type)) < 0 || !streq(type, "zvol")))
		return rep_disk(&r->rep.bad_values, i, "image_uuid");
	if (e->image_size && json_object_get(d, "image_size") &&
	    e->image_size(e->ctx, c->zpool, img, &size) == 0 &&
	    vmcfg_int(d, "image_size", -1) != size)
		return rep_disk(&r->rep.bad_values, i, "image_size");
	return 0;
}

int vmcfg_hvm_validate(struct vmcfg_run *r, const json_t *payload)
{
	struct disk_ctx c;
	size_t i;
	json_t *d;
	int ret;

	/* create only: a received config is a stored one (sizes filled in, the
	 * image's data in the stream, the image perhaps not installed here) */
	if (!r->brand->hvm || r->action != PROPS_CREATE)
		return 0;
	disk_ctx_of(payload, &c);
	json_array_foreach (json_object_get(payload, "disks"), i, d)
		if (json_is_object(d) && (ret = validate_disk(r, d, i, &c)) < 0)
			return ret;
	return 0;
}

/* ---- update ---- */

/* Before the table strips them: what update_disks may never change. */
int vmcfg_hvm_precheck(struct vmcfg_run *r, const json_t *p)
{
	size_t i;
	json_t *d;

	json_array_foreach (json_object_get(p, "update_disks"), i, d)
		if (json_object_get(d, "block_size"))
			return zh_error_set(r->err, EINVAL, "update_disks",
					    "cannot change .block_size for a disk after creation");
	return 0;
}

static json_t *find_path(const json_t *disks, const char *path, size_t *idx)
{
	size_t i;
	json_t *d;

	json_array_foreach (disks, i, d) {
		const char *p = jsonutil_str(d, "path");

		if (path && p && streq(p, path)) {
			if (idx)
				*idx = i;
			return d;
		}
	}
	return NULL;
}

static int check_shrink(struct vmcfg_run *r, const json_t *disk, json_t *u)
{
	int64_t old = vmcfg_int(disk, "size", vmcfg_int(disk, "image_size", 0)),
		want = vmcfg_int(u, "size", old);
	bool allow = json_is_true(json_object_get(u, "dangerous_allow_shrink"));

	json_object_del(u, "dangerous_allow_shrink"); /* never stored */
	if (want >= old || allow)
		return 0;
	return zh_error_set(r->err, EINVAL, "update_disks",
			    "cannot resize disk %s from %" PRId64 " MiB to %" PRId64
			    " MiB: shrinking needs dangerous_allow_shrink",
			    jsonutil_str(disk, "path"), old, want);
}

static int merge_disk(struct vmcfg_run *r, json_t *disk, json_t *u)
{
	const char *k;
	json_t *v;
	int ret = check_shrink(r, disk, u);

	if (ret < 0)
		return ret;
	json_object_foreach (u, k, v)
		if (!streq(k, "path") && json_object_set(disk, k, v) < 0)
			return zh_error_oom(r->err);
	if ((ret = check_model(r, disk, NULL)) < 0)
		return ret;
	return vmcfg_check_compression_value(r, json_object_get(disk, "compression"),
					     "disks.*.compression");
}

static int disks_update(struct vmcfg_run *r, json_t *cur, const json_t *upd)
{
	size_t i;
	json_t *o, *disk;
	int ret;

	json_array_foreach (upd, i, o) {
		_cleanup_json_ json_t *u = json_deep_copy(o);

		if (!u)
			return zh_error_oom(r->err);
		if (!jsonutil_str(u, "path"))
			return zh_error_set(r->err, EINVAL, "update_disks",
					    "disk object needs a .path property to update");
		disk = find_path(cur, jsonutil_str(u, "path"), NULL);
		if (!disk)
			return zh_error_set(r->err, EINVAL, "update_disks",
					    "There is no existing disk with that path");
		if ((ret = check_pci_slot(r, u, i)) < 0 || (ret = merge_disk(r, disk, u)) < 0)
			return ret;
	}
	return 0;
}

static void disks_remove(struct vmcfg_run *r, json_t *cur, const json_t *paths)
{
	size_t i, idx = 0;
	json_t *e;

	json_array_foreach (paths, i, e) {
		const char *p = json_string_value(e);

		if (!find_path(cur, p, &idx)) {
			vmcfg_warnf(r, "Warning, no disk with path %s, skipping.",
				    p ? p : "(not a string)");
			continue;
		}
		json_array_remove(cur, idx);
	}
}

int vmcfg_hvm_update(struct vmcfg_run *r, json_t *cfg, const json_t *p)
{
	json_t *a = json_object_get(p, "add_disks"), *u = json_object_get(p, "update_disks");
	json_t *d = json_object_get(p, "remove_disks");
	_cleanup_json_ json_t *cur = NULL;
	int ret;

	if (!r->brand->hvm)
		return 0;
	if ((ret = check_top(r, p, false)) < 0)
		return ret;
	vmcfg_hvm_memory(r, cfg);
	if (!a && !u && !d)
		return 0;
	cur = json_deep_copy(json_object_get(cfg, "disks"));
	if (!cur && !(cur = json_array()))
		return zh_error_oom(r->err);
	disks_remove(r, cur, d);
	if ((ret = disks_update(r, cur, u)) < 0 || (ret = disks_add(r, cfg, cur, a)) < 0)
		return ret;
	return set_new(r, cfg, "disks", json_incref(cur));
}

/*
 * vmcfg-start.c - parsing `vmadm start`'s one-boot extras.  See
 * vmcfg-start.h.
 */
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-start.h"

#define START_PATH_MAX 1024

static const char *const kvm_models[] = {"virtio", "ide", "scsi", NULL};
static const char *const bhyve_models[] = {"virtio", "ahci", "nvme", NULL};

bool vmcfg_disk_model_valid(const char *brand, const char *model)
{
	const char *const *m = NULL;

	if (brand && streq(brand, "kvm"))
		m = kvm_models;
	else if (brand && streq(brand, "bhyve"))
		m = bhyve_models;
	for (; m && *m; m++)
		if (streq(*m, model))
			return true;
	return false;
}

static bool order_valid(const char *s)
{
	return *s && strlen(s) <= 3 && strspn(s, "cdn") == strlen(s);
}

/* "order=cdn[,once=cdn]": order given once. */
static int parse_order(const char *v, json_t *o, struct zh_error *err)
{
	_cleanup_free_ char *dup = strdup(v);
	char *once = dup ? strchr(dup, ',') : NULL;

	if (!dup)
		return zh_error_oom(err);
	if (json_object_get(o, "order"))
		return zh_error_set(err, EINVAL, "order", "order= may be given only once");
	if (once) {
		*once++ = '\0';
		if (strncmp(once, "once=", 5) || !order_valid(once + 5))
			return zh_error_set(err, EINVAL, "order",
					    "invalid once= in \"order=%s\" (letters c, d, n)", v);
	}
	if (!order_valid(dup))
		return zh_error_set(err, EINVAL, "order",
				    "invalid \"order=%s\" (letters c, d, n: disk, cdrom, network)",
				    v);
	if (json_object_set_new(o, "order", json_string(dup)) < 0 ||
	    (once && json_object_set_new(o, "once", json_string(once + 5)) < 0))
		return zh_error_oom(err);
	return 0;
}

/* An absolute path with no empty, "." or ".." component. */
static bool root_path_valid(const char *p, size_t len)
{
	if (len < 2 || len > START_PATH_MAX || p[0] != '/' || memchr(p, '\0', len))
		return false;
	for (const char *c = p + 1, *end = p + len; c < end;) {
		const char *s = memchr(c, '/', (size_t)(end - c));
		size_t n = s ? (size_t)(s - c) : (size_t)(end - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n + 1;
	}
	return true;
}

/* "<path>,<model>" of cdrom= or disk=, appended to o[key]. */
static int parse_media(const char *brand, const char *what, const char *v, json_t *o,
		       const char *key, struct zh_error *err)
{
	const char *comma = strrchr(v, ',');
	json_t *list = json_object_get(o, key);

	if (!comma || !root_path_valid(v, (size_t)(comma - v)))
		return zh_error_set(err, EINVAL, what,
				    "invalid \"%s=%s\": want %s=<path in the zone root>,<model>",
				    what, v, what);
	if (!vmcfg_disk_model_valid(brand, comma + 1))
		return zh_error_set(err, EINVAL, what,
				    "\"%s\" is not a valid disk model for %s brand", comma + 1,
				    brand);
	if (json_array_append_new(list, json_pack("{s:s%,s:s}", "path", v, (size_t)(comma - v),
						  "model", comma + 1)) < 0)
		return zh_error_oom(err);
	return 0;
}

static bool has_key(const char *a)
{
	return !strncmp(a, "order=", 6) || !strncmp(a, "cdrom=", 6) || !strncmp(a, "disk=", 5);
}

static int parse_one(const char *brand, const char *a, json_t *o, struct zh_error *err)
{
	if (!has_key(a))
		return zh_error_set(err, EINVAL, NULL,
				    "invalid start argument \"%s\" (order=, cdrom= or disk=)", a);
	if (!vmcfg_brand_is_hvm(brand))
		return zh_error_set(err, ENOTSUP, NULL,
				    "order=, cdrom= and disk= are for kvm and bhyve VMs");
	if (!strncmp(a, "order=", 6))
		return parse_order(a + 6, o, err);
	if (!strncmp(a, "cdrom=", 6))
		return parse_media(brand, "cdrom", a + 6, o, "cdroms", err);
	return parse_media(brand, "disk", a + 5, o, "disks", err);
}

int vmcfg_start_opts(const char *brand, char *const *args, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *o = json_pack("{s:[],s:[]}", "cdroms", "disks");
	int r;

	if (!o)
		return zh_error_oom(err);
	for (char *const *a = args; a && *a; a++)
		if ((r = parse_one(brand, *a, o, err)) < 0)
			return r;
	*out = TAKE_PTR(o);
	return 0;
}

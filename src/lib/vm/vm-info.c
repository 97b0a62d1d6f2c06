/*
 * vm-info.c - `vmadm info` and `vmadm sysrq`.  See vm-info.h.
 *
 * Design: the checks that need only the stored config (brand, types,
 * request) are made here, so a bad request never reaches zoneadmd; what
 * QEMU reports is asked by zoneadmd's brand (brand.h: info, sysrq), the
 * only process that holds the VM's QMP socket.  No lock: both only read.
 */
#include <string.h>

#include "ctl.h"
#include "jsonutil.h"
#include "macro.h"
#include "pool.h"
#include "util.h"
#include "vm-info.h"
#include "vmcfg-access.h"
#include "vmstore.h"

/* SmartOS's types per brand, and zonehost's own "accel" (which accelerator, and why). */
static const char *const kvm_types[] = {
	"accel", "block", "blockstats", "chardev", "cpus", "kvm",
	"pci",	 "spice", "status",	"version", "vnc",  NULL,
};
static const char *const bhyve_types[] = {"accel", "vnc", NULL};

static const char *const *brand_types(const char *brand)
{
	if (brand && streq(brand, "kvm"))
		return kvm_types;
	return brand && streq(brand, "bhyve") ? bhyve_types : NULL;
}

static bool in_list(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

bool vm_info_type_valid(const char *brand, const char *s)
{
	return brand_types(brand) && (streq(s, "all") || in_list(brand_types(brand), s));
}

bool vm_sysrq_valid(const char *brand, const char *s)
{
	if (!brand_types(brand))
		return false;
	return streq(s, "nmi") || (streq(s, "screenshot") && streq(brand, "kvm"));
}

/* The stored config's brand, refusing an OS VM. */
static int hvm_brand(const char *uuid, const char *what, char **brand, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(uuid, &p, &vm, err);

	if (r < 0)
		return r;
	if (!vmcfg_is_hvm(vm))
		return zh_error_set(err, ENOTSUP, NULL,
				    "%s is only for kvm and bhyve VMs (brand %s)", what,
				    vmcfg_brand(vm) ?: "?");
	*brand = strdup(vmcfg_brand(vm));
	return *brand ? 0 : zh_error_oom(err);
}

/* types checked and "all" expanded, as a JSON list. */
static int types_list(const char *brand, char *const *types, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *l = json_array();
	bool all = !types || !types[0];

	for (char *const *t = types; !all && *t; t++) {
		if (!vm_info_type_valid(brand, *t))
			return zh_error_set(err, EINVAL, "types",
					    "invalid info type \"%s\" for a %s VM", *t, brand);
		all = streq(*t, "all");
	}
	for (const char *const *t = all ? brand_types(brand) : (const char *const *)types; *t; t++)
		if (!l || json_array_append_new(l, json_string(*t)) < 0)
			return zh_error_oom(err);
	*out = TAKE_PTR(l);
	return 0;
}

/* ctl_call, with "not running" said the same way whatever zoneadmd's state. */
static int call_hvm(const char *uuid, uint16_t cmd, json_t *payload, json_t **reply,
		    struct zh_error *err)
{
	int r = ctl_call(uuid, cmd, payload, reply, err);

	if (r == -ENOTCONN || r == -ENOENT || r == -ESRCH) {
		zh_error_clear(err);
		return zh_error_set(err, ESRCH, NULL, "VM %s is not running", uuid);
	}
	return r;
}

int vm_info(const char *uuid, char *const *types, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *brand = NULL;
	json_t *list = NULL;
	int r = hvm_brand(uuid, "vmadm info", &brand, err);

	if (r < 0 || (r = types_list(brand, types, &list, err)) < 0)
		return r;
	return call_hvm(uuid, CTL_INFO, json_pack("{s:o}", "types", list), out, err);
}

int vm_sysrq(const char *uuid, const char *request, char **path_out, struct zh_error *err)
{
	_cleanup_free_ char *brand = NULL;
	_cleanup_json_ json_t *reply = NULL;
	int r = hvm_brand(uuid, "vmadm sysrq", &brand, err);

	if (r < 0)
		return r;
	if (!vm_sysrq_valid(brand, request))
		return zh_error_set(err, EINVAL, "request", "Invalid sysrq type: %s", request);
	r = call_hvm(uuid, CTL_SYSRQ, json_pack("{s:s}", "request", request), &reply, err);
	if (r == 0 && path_out && jsonutil_str(reply, "path") &&
	    !(*path_out = strdup(jsonutil_str(reply, "path"))))
		return zh_error_oom(err);
	return r;
}

/*
 * vmcfg-access.c - typed access to the fields of a VM config.  See
 * vmcfg-access.h.  Whether a brand is a hardware VM is the brand table's
 * answer (props.c), not a second list of brand names.
 */
#include <errno.h>

#include "jsonutil.h"
#include "props.h"
#include "vmcfg-access.h"

const char *vmcfg_uuid(const json_t *vm)
{
	return jsonutil_str(vm, VMCFG_UUID);
}

const char *vmcfg_brand(const json_t *vm)
{
	return jsonutil_str(vm, VMCFG_BRAND);
}

bool vmcfg_brand_is_hvm(const char *brand)
{
	const struct props_brand *b = props_brand_get(brand);

	return b && b->hvm;
}

bool vmcfg_is_hvm(const json_t *vm)
{
	return vmcfg_brand_is_hvm(vmcfg_brand(vm));
}

json_t *vmcfg_nics(const json_t *vm)
{
	return json_object_get(vm, VMCFG_NICS);
}

json_t *vmcfg_routes(const json_t *vm)
{
	return json_object_get(vm, VMCFG_ROUTES);
}

int64_t vmcfg_quota(const json_t *vm)
{
	return json_integer_value(json_object_get(vm, VMCFG_QUOTA));
}

const char *vmcfg_oci_bundle(const json_t *vm)
{
	return json_string_value(json_object_get(vm, VMCFG_OCI_BUNDLE));
}

bool vmcfg_autoboot(const json_t *vm)
{
	return json_is_true(json_object_get(vm, VMCFG_AUTOBOOT));
}

bool vmcfg_id_base(const json_t *vm, int64_t *base)
{
	json_t *b = json_object_get(vm, VMCFG_ID_BASE);

	if (!json_is_integer(b))
		return false;
	*base = json_integer_value(b);
	return true;
}

int vmcfg_set_id_base(json_t *vm, int64_t base)
{
	return json_object_set_new(vm, VMCFG_ID_BASE, json_integer(base)) < 0 ? -ENOMEM : 0;
}

void vmcfg_drop_id_base(json_t *vm)
{
	json_object_del(vm, VMCFG_ID_BASE);
}

/*
 * vmcfg-validate.c - `vmadm validate`: the table checks (vmcfg.c) and the
 * HVM rules (vmcfg-disk.c) and the docker:* keys (vmcfg-docker.c) of one
 * payload, as SmartOS's report.  Above
 * both, so neither calls back into the other (no module cycle).
 */
#include <string.h>

#include "macro.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

static int report_alloc(struct vmcfg_report *rep)
{
	json_t **a[] = {&rep->bad_values, &rep->bad_properties, &rep->missing_properties};

	for (size_t i = 0; i < ARRAY_SIZE(a); i++)
		if (!*a[i] && !(*a[i] = json_array()))
			return -ENOMEM;
	return 0;
}

static enum props_action props_action_of(enum vmcfg_action a)
{
	return a == VMCFG_UPDATE ? PROPS_UPDATE : a == VMCFG_RECEIVE ? PROPS_RECEIVE : PROPS_CREATE;
}

static int set_bad_brand(struct vmcfg_report *rep, const char *b)
{
	rep->bad_brand = strdup(b ? b : "undefined");
	return rep->bad_brand ? -EINVAL : -ENOMEM;
}

int vmcfg_validate(const char *brand, enum vmcfg_action action, const json_t *payload,
		   const struct vmcfg_env *env, struct vmcfg_report *rep)
{
	struct vmcfg_run r = {.action = props_action_of(action), .env = env};
	int ret;

	if (!brand && action != VMCFG_UPDATE)
		brand = vmcfg_brand(payload);
	r.brand = props_brand_get(brand);
	if (!r.brand)
		return set_bad_brand(rep, brand);
	if (!json_is_object(payload))
		return vmcfg_rep_add(&rep->bad_values, "payload") < 0 ? -ENOMEM : -EINVAL;
	r.rep = *rep;
	ret = vmcfg_check_payload(&r, payload);
	if (ret >= 0)
		ret = vmcfg_docker_check(&r, payload);
	if (ret >= 0)
		ret = vmcfg_hvm_validate(&r, payload);
	*rep = r.rep;
	if (ret < 0)
		return ret;
	if (report_alloc(rep) < 0)
		return -ENOMEM;
	if (vmcfg_arr_len(rep->bad_values) || vmcfg_arr_len(rep->bad_properties) ||
	    vmcfg_arr_len(rep->missing_properties))
		return -EINVAL;
	return 0;
}

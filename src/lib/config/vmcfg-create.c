/*
 * vmcfg-create.c - the create transaction's validation: defaults, renames,
 * brand and uuid, the NIC validator (vmcfg-nic.c), memory and zfs checks,
 * the docker:* keys (vmcfg-docker.c, filled from a docker image),
 * all on top of the table-driven engine in vmcfg.c.  See vmcfg.h.
 *
 * Kept apart from vmcfg.c so that the engine (vmcfg.c) is used by the
 * property validators (vmcfg-nic.c) and the two transactions (this file,
 * vmcfg-update.c) and uses none of them: no cycle between them.
 */
#include <stdarg.h>
#include <string.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

#define ZERO_UUID "00000000-0000-0000-0000-000000000000"

/* ---- create ---- */

static int check_memory(struct vmcfg_run *r, const json_t *cfg)
{
	int64_t phys = vmcfg_int(cfg, "max_physical_memory", 0);

	if (vmcfg_int(cfg, "max_locked_memory", 0) > phys)
		return zh_error_set(r->err, EINVAL, "max_locked_memory",
				    "max_locked_memory must be <= "
				    "max_physical_memory");
	if (vmcfg_int(cfg, "max_swap", phys) < phys)
		return zh_error_set(r->err, EINVAL, "max_swap",
				    "max_swap must be >= max_physical_memory");
	return 0;
}

static int set_default(json_t *cfg, const char *k, json_t *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_get(cfg, k)) {
		json_decref(v);
		return 0;
	}
	return json_object_set_new(cfg, k, v) < 0 ? -ENOMEM : 0;
}

static int apply_defaults(struct vmcfg_run *r, json_t *cfg)
{
	const struct props_brand *b = r->brand;
	int ret = 0;

	ret |= set_default(cfg, "autoboot", json_true());
	ret |= set_default(cfg, "owner_uuid", json_string(ZERO_UUID));
	ret |= set_default(cfg, "billing_id", json_string(ZERO_UUID));
	ret |= set_default(cfg, "zpool", json_string("zones"));
	if (!b->hvm)
		ret |= set_default(cfg, "dns_domain", json_string("local"));
	ret |= set_default(cfg, "cpu_shares", json_integer(100));
	ret |= set_default(cfg, "zfs_io_priority", json_integer(100));
	ret |= set_default(cfg, "max_lwps", json_integer(2000));
	ret |= set_default(cfg, "ram", json_integer(256));
	ret |= set_default(cfg, "max_msg_ids", json_integer(4096));
	ret |= set_default(cfg, "max_sem_ids", json_integer(4096));
	ret |= set_default(cfg, "max_shm_ids", json_integer(4096));
	ret |= set_default(cfg, "quota", json_integer(b->quota));
	ret |= set_default(cfg, "limit_priv", json_string(b->limit_priv));
	ret |= set_default(cfg, "firewall_enabled", json_false());
	ret |= set_default(cfg, "resolvers", json_array());
	ret |= set_default(cfg, "routes", json_object());
	ret |= set_default(cfg, "tags", json_object());
	ret |= set_default(cfg, "customer_metadata", json_object());
	ret |= set_default(cfg, "internal_metadata", json_object());
	ret |= set_default(cfg, "zfs_root_recsize", json_integer(131072));
	if (ret)
		return zh_error_oom(r->err);
	if (vmcfg_int(cfg, "cpu_shares", 0) > 65535)
		json_object_set_new(cfg, "cpu_shares", json_integer(65535));
	return 0;
}

static const char *const renames[][2] = {
	{"dataset_uuid", "image_uuid"},
	{"zone_dataset_uuid", "image_uuid"},
	{"zfs_storage_pool_name", "zpool"},
};

static int apply_renames(struct vmcfg_run *r, json_t *cfg)
{
	for (size_t i = 0; i < ARRAY_SIZE(renames); i++) {
		json_t *v = json_object_get(cfg, renames[i][0]);

		if (!v)
			continue;
		if (!json_object_get(cfg, renames[i][1]) &&
		    json_object_set(cfg, renames[i][1], v) < 0)
			return zh_error_oom(r->err);
		json_object_del(cfg, renames[i][0]);
	}
	return 0;
}

static int pick_brand(json_t *cfg, struct vmcfg_run *r)
{
	json_t *b = json_object_get(cfg, VMCFG_BRAND);

	if (!b && json_object_set_new(cfg, VMCFG_BRAND, json_string("joyent")) < 0)
		return zh_error_oom(r->err);
	r->brand = props_brand_get(vmcfg_brand(cfg));
	if (!r->brand)
		return zh_error_set(r->err, EINVAL, "brand", "Unsupported brand");
	return 0;
}

static int pick_uuid(json_t *cfg, struct vmcfg_run *r)
{
	char id[UTIL_UUID_LEN + 1];
	const char *u = vmcfg_uuid(cfg);

	if (json_object_get(cfg, VMCFG_UUID)) {
		if (!util_is_uuid(u))
			return 0; /* reported as a bad value by the table */
		if (r->env && r->env->vm_exists && r->env->vm_exists(r->env->ctx, u))
			return zh_error_set(r->err, EEXIST, "uuid",
					    "VM with UUID %s already exists", u);
		return 0;
	}
	if (util_uuid_generate(id) < 0)
		return zh_error_set(r->err, EIO, "uuid", "cannot generate a UUID");
	return json_object_set_new(cfg, VMCFG_UUID, json_string(id)) < 0 ? zh_error_oom(r->err) : 0;
}

static int finish_create(struct vmcfg_run *r, json_t *cfg)
{
	char ts[UTIL_TIMESTAMP_LEN + 1];
	json_t *nics = vmcfg_nics(cfg);
	_cleanup_json_ json_t *all = json_array();
	int ret;

	if (!all)
		return zh_error_oom(r->err);
	if ((ret = vmcfg_nics_add(r, all, nics ? nics : all)) < 0 ||
	    (ret = vmcfg_nics_finish(r, all)) < 0)
		return ret;
	if (json_object_set(cfg, VMCFG_NICS, all) < 0)
		return zh_error_oom(r->err);
	ret = vmcfg_check_routes(r, vmcfg_routes(cfg), all);
	if (ret < 0)
		return ret;
	util_timestamp_now(ts);
	if (set_default(cfg, "zonename", json_string(r->uuid)) < 0 ||
	    json_object_set_new(cfg, "create_timestamp", json_string(ts)) < 0 ||
	    json_object_set_new(cfg, "v", json_integer(1)) < 0)
		return zh_error_oom(r->err);
	return 0;
}

static int create_steps(struct vmcfg_run *r, json_t *cfg)
{
	int ret;

	if ((ret = pick_brand(cfg, r)) < 0 || (ret = pick_uuid(cfg, r)) < 0 ||
	    (ret = apply_renames(r, cfg)) < 0 || (ret = vmcfg_coerce(r, cfg)) < 0 ||
	    (ret = vmcfg_check_zfs(r, cfg)) < 0)
		return ret;
	if ((ret = vmcfg_check_payload(r, cfg)) < 0 || (ret = vmcfg_docker_check(r, cfg)) < 0)
		return zh_error_oom(r->err);
	if ((ret = vmcfg_fatal_or_strip(r, cfg)) < 0)
		return ret;
	r->uuid = vmcfg_uuid(cfg);
	if ((ret = apply_defaults(r, cfg)) < 0 || (ret = vmcfg_docker_fill(r, cfg)) < 0)
		return ret;
	vmcfg_hvm_memory(r, cfg); /* before the limits are derived */
	vmcfg_fix_memory(r, cfg, NULL);
	r->nic_driver = jsonutil_str(cfg, "nic_driver");
	if ((ret = check_memory(r, cfg)) < 0 || (ret = vmcfg_hvm_create(r, cfg)) < 0)
		return ret;
	return finish_create(r, cfg);
}

int vmcfg_create(const json_t *payload, const struct vmcfg_env *env, vmcfg_warn_fn warn, void *ctx,
		 json_t **vm_out, struct zh_error *err)
{
	struct vmcfg_run r = {
		.action = PROPS_CREATE, .env = env, .warn = warn, .wctx = ctx, .err = err};
	_cleanup_json_ json_t *cfg = NULL;
	int ret;

	if (!json_is_object(payload))
		return zh_error_set(err, EINVAL, NULL, "payload must be a JSON object");
	cfg = json_deep_copy(payload);
	if (!cfg)
		return zh_error_oom(err);
	ret = create_steps(&r, cfg);
	vmcfg_report_clear(&r.rep);
	if (ret < 0)
		return ret;
	*vm_out = TAKE_PTR(cfg);
	return 0;
}

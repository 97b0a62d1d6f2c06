/*
 * vmcfg-update.c - the `vmadm update` merge (docs/architecture.md §4).
 *
 * Owns: applying an update payload to a stored VM config: coercion of
 * key=value strings, the table checks for action update (create-only and
 * read-only properties are stripped with a warning), set_/remove_ of
 * tags, customer_metadata, internal_metadata and routes, add_/update_/
 * remove_ of nics and filesystems, unsetting with ''/null, the memory
 * fix-ups, and the list of changed top-level properties.
 *
 *     json_t *nvm = NULL, *changed = NULL;
 *     if (vmcfg_update(vm, payload, &env, warn, ctx, &nvm, &changed, &err) < 0)
 *             ...;
 *
 * Invariants: vm and payload are never modified; on failure nothing is
 * returned.
 */
#include <string.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

struct hash_op {
	const char *set, *remove, *target;
};

static const struct hash_op hash_ops[] = {
	{"set_tags", "remove_tags", "tags"},
	{"set_customer_metadata", "remove_customer_metadata", "customer_metadata"},
	{"set_internal_metadata", "remove_internal_metadata", "internal_metadata"},
	{"set_routes", "remove_routes", "routes"},
};

static bool is_unset(const json_t *v)
{
	return json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static bool is_special(const char *k)
{
	return strncmp(k, "set_", 4) == 0 || strncmp(k, "remove_", 7) == 0 ||
	       strncmp(k, "add_", 4) == 0 || strncmp(k, "update_", 7) == 0;
}

/* Keys given as ''/null: remembered before coercion drops them. */
static json_t *collect_unset(const json_t *p)
{
	json_t *a = json_array(), *v;
	const char *k;

	if (!a)
		return NULL;
	json_object_foreach ((json_t *)p, k, v)
		if (is_unset(v) && !streq(k, "quota") && !is_special(k))
			json_array_append_new(a, json_string(k));
	return a;
}

static int check_arrays(struct vmcfg_run *r, const json_t *p)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)p, k, v)
		if ((strncmp(k, "add_", 4) == 0 || strncmp(k, "update_", 7) == 0 ||
		     strncmp(k, "remove_", 7) == 0) &&
		    props_lookup(k) && !json_is_array(v))
			return zh_error_set(r->err, EINVAL, k, "%s must be an array.", k);
	return 0;
}

static int apply_unset(struct vmcfg_run *r, json_t *cfg, const json_t *unset)
{
	size_t i;
	json_t *e;

	json_array_foreach (unset, i, e) {
		const char *k = json_string_value(e);
		const struct props_prop *p = props_lookup(k);

		if (!props_allowed(p, r->brand->bit, PROPS_UPDATE)) {
			vmcfg_warnf(r,
				    "Warning, invalid update property: [%s] "
				    "removing from payload.",
				    k);
			continue;
		}
		json_object_del(cfg, k);
	}
	return 0;
}

static int apply_simple(struct vmcfg_run *r, json_t *cfg, const json_t *p)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)p, k, v) {
		if (is_special(k))
			continue;
		if (json_object_set(cfg, k, v) < 0)
			return zh_error_oom(r->err);
	}
	return 0;
}

static json_t *get_container(json_t *cfg, const char *k, bool array)
{
	json_t *c = json_object_get(cfg, k);

	if (array ? json_is_array(c) : json_is_object(c))
		return c;
	c = array ? json_array() : json_object();
	if (!c || json_object_set_new(cfg, k, c) < 0)
		return NULL;
	return c;
}

static int apply_hash(struct vmcfg_run *r, json_t *cfg, const json_t *p, const struct hash_op *op)
{
	json_t *set = json_object_get(p, op->set);
	json_t *rem = json_object_get(p, op->remove), *e, *h;
	size_t i;

	if (!set && !rem)
		return 0;
	h = get_container(cfg, op->target, false);
	if (!h || (set && json_object_update(h, set) < 0))
		return zh_error_oom(r->err);
	json_array_foreach (rem, i, e)
		if (json_string_value(e))
			json_object_del(h, json_string_value(e));
	return 0;
}

/* ---- filesystems ---- */

static json_t *find_target(const json_t *fss, const char *t, size_t *idx)
{
	size_t i;
	json_t *f;

	json_array_foreach (fss, i, f) {
		const char *ft = jsonutil_str(f, "target");

		if (t && ft && streq(t, ft)) {
			if (idx)
				*idx = i;
			return f;
		}
	}
	return NULL;
}

static int fs_add(struct vmcfg_run *r, json_t *fss, const json_t *add)
{
	size_t i;
	json_t *o;
	int ret;

	json_array_foreach (add, i, o) {
		_cleanup_json_ json_t *f = json_deep_copy(o);
		const char *t;

		if (!f || (ret = vmcfg_coerce_sub(r, "filesystems", f)) < 0)
			return f ? ret : zh_error_oom(r->err);
		t = jsonutil_str(f, "target");
		if (t && find_target(fss, t, NULL))
			return zh_error_set(r->err, EINVAL, "add_filesystems",
					    "Cannot add multiple filesystems "
					    "with the same target: %s",
					    t);
		if (json_array_append(fss, f) < 0)
			return zh_error_oom(r->err);
	}
	return 0;
}

static int fs_update(struct vmcfg_run *r, json_t *fss, const json_t *upd)
{
	size_t i;
	json_t *o, *f;
	int ret;

	json_array_foreach (upd, i, o) {
		_cleanup_json_ json_t *u = json_deep_copy(o);

		if (!u || (ret = vmcfg_coerce_sub(r, "filesystems", u)) < 0)
			return u ? ret : zh_error_oom(r->err);
		if (!jsonutil_str(u, "target"))
			return zh_error_set(r->err, EINVAL, "update_filesystems",
					    "filesystem object needs a .target "
					    "property to update");
		f = find_target(fss, jsonutil_str(u, "target"), NULL);
		if (!f)
			return zh_error_set(r->err, EINVAL, "update_filesystems",
					    "There is no existing filesystem "
					    "with that target");
		if (json_object_update(f, u) < 0)
			return zh_error_oom(r->err);
	}
	return 0;
}

static int fs_remove(struct vmcfg_run *r, json_t *fss, const json_t *rem)
{
	size_t i, idx = 0;
	json_t *e;

	json_array_foreach (rem, i, e) {
		const char *t = json_string_value(e);

		if (!find_target(fss, t, &idx)) {
			vmcfg_warnf(r,
				    "Warning, no filesystem with target %s, "
				    "skipping.",
				    t ? t : "(not a string)");
			continue;
		}
		json_array_remove(fss, idx);
	}
	return 0;
}

static int apply_filesystems(struct vmcfg_run *r, json_t *cfg, const json_t *p)
{
	json_t *a = json_object_get(p, "add_filesystems");
	json_t *u = json_object_get(p, "update_filesystems");
	json_t *d = json_object_get(p, "remove_filesystems"), *fss;
	int ret;

	if (!a && !u && !d)
		return 0;
	fss = get_container(cfg, "filesystems", true);
	if (!fss)
		return zh_error_oom(r->err);
	if ((ret = fs_remove(r, fss, d)) < 0 || (ret = fs_update(r, fss, u)) < 0)
		return ret;
	return fs_add(r, fss, a);
}

/* ---- nics ---- */

static int apply_nics(struct vmcfg_run *r, json_t *cfg, const json_t *p)
{
	json_t *a = json_object_get(p, "add_nics");
	json_t *u = json_object_get(p, "update_nics");
	json_t *d = json_object_get(p, "remove_nics"), *nics;
	int ret;

	if (!a && !u && !d)
		return 0;
	nics = get_container(cfg, VMCFG_NICS, true);
	if (!nics)
		return zh_error_oom(r->err);
	if (d && (ret = vmcfg_nics_remove(r, nics, d)) < 0)
		return ret;
	if (u && (ret = vmcfg_nics_update(r, nics, u)) < 0)
		return ret;
	if (a && (ret = vmcfg_nics_add(r, nics, a)) < 0)
		return ret;
	return vmcfg_nics_finish(r, nics);
}

/* ---- memory consistency after the merge (silent on update) ---- */

static void settle_memory(struct vmcfg_run *r, json_t *cfg)
{
	int64_t phys = vmcfg_int(cfg, "max_physical_memory", -1);

	if (phys < 0)
		return;
	if (vmcfg_int(cfg, "max_locked_memory", 0) > phys)
		json_object_set_new(cfg, "max_locked_memory", json_integer(phys));
	if (json_object_get(cfg, "max_swap") && vmcfg_int(cfg, "max_swap", phys) < phys)
		json_object_set_new(cfg, "max_swap", json_integer(phys));
	if (r->brand->use_tmpfs && vmcfg_int(cfg, "tmpfs", 0) > phys)
		json_object_set_new(cfg, "tmpfs", json_integer(phys));
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(json_string_value(*(json_t *const *)x),
		      json_string_value(*(json_t *const *)y));
}

/* Sorted array of the keys whose values differ between a and b. */
static json_t *sorted(json_t *arr)
{
	size_t n = arr ? json_array_size(arr) : 0;
	_cleanup_free_ json_t **v = calloc(n + 1, sizeof(*v));
	json_t *out = json_array();

	if (!v || !out || !arr) {
		json_decref(out);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	json_decref(arr);
	return out;
}

static json_t *diff_keys(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	const char *k;

	if (!out)
		return NULL;
	json_object_foreach ((json_t *)a, k, v)
		if (!json_equal(v, json_object_get(b, k)))
			json_array_append_new(out, json_string(k));
	json_object_foreach ((json_t *)b, k, v)
		if (!json_object_get(a, k))
			json_array_append_new(out, json_string(k));
	return sorted(out);
}

static int prepare(struct vmcfg_run *r, json_t *p)
{
	int ret;

	if ((ret = vmcfg_coerce(r, p)) < 0 || (ret = check_arrays(r, p)) < 0 ||
	    (ret = vmcfg_check_zfs(r, p)) < 0 || (ret = vmcfg_hvm_precheck(r, p)) < 0)
		return ret;
	if (vmcfg_check_payload(r, p) < 0)
		return zh_error_oom(r->err);
	return vmcfg_fatal_or_strip(r, p);
}

static int merge(struct vmcfg_run *r, json_t *cfg, json_t *p, const json_t *unset)
{
	int ret;

	vmcfg_fix_memory(r, p, cfg);
	if ((ret = apply_unset(r, cfg, unset)) < 0 || (ret = apply_simple(r, cfg, p)) < 0)
		return ret;
	r->nic_driver = jsonutil_str(cfg, "nic_driver");
	for (size_t i = 0; i < ARRAY_SIZE(hash_ops); i++)
		if ((ret = apply_hash(r, cfg, p, &hash_ops[i])) < 0)
			return ret;
	if ((ret = apply_filesystems(r, cfg, p)) < 0 || (ret = apply_nics(r, cfg, p)) < 0 ||
	    (ret = vmcfg_hvm_update(r, cfg, p)) < 0)
		return ret;
	settle_memory(r, cfg);
	return vmcfg_check_routes(r, vmcfg_routes(cfg), vmcfg_nics(cfg));
}

static int start(struct vmcfg_run *r, const json_t *vm, const json_t *payload)
{
	if (!json_is_object(vm) || !json_is_object(payload))
		return zh_error_set(r->err, EINVAL, NULL, "payload must be a JSON object");
	r->brand = props_brand_get(vmcfg_brand(vm));
	if (!r->brand)
		return zh_error_set(r->err, EINVAL, "brand", "Unsupported brand");
	r->uuid = vmcfg_uuid(vm);
	return 0;
}

int vmcfg_update(const json_t *vm, const json_t *payload, const struct vmcfg_env *env,
		 vmcfg_warn_fn warn, void *ctx, json_t **vm_out, json_t **changed,
		 struct zh_error *err)
{
	struct vmcfg_run r = {
		.action = PROPS_UPDATE, .env = env, .warn = warn, .wctx = ctx, .err = err};
	_cleanup_json_ json_t *p = NULL, *cfg = NULL, *unset = NULL;
	int ret = start(&r, vm, payload);

	if (ret < 0)
		return ret;
	p = json_deep_copy(payload);
	cfg = json_deep_copy(vm);
	unset = collect_unset(payload);
	if (!p || !cfg || !unset)
		return zh_error_oom(err);
	ret = prepare(&r, p);
	if (ret >= 0)
		ret = merge(&r, cfg, p, unset);
	vmcfg_report_clear(&r.rep);
	if (ret < 0)
		return ret;
	if (changed && !(*changed = diff_keys(vm, cfg)))
		return zh_error_oom(err);
	*vm_out = TAKE_PTR(cfg);
	return 0;
}

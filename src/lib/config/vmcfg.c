/*
 * vmcfg.c - the validation engine: payload -> validated, normalised VM
 * config, driven by the property table (props.c).
 *
 * Owns: coercion, the table checks, the validate report, memory fix-ups
 * and the zfs checks, which the create pipeline (vmcfg-create.c: uuid,
 * renames, defaults, NICs) and the update merge (vmcfg-update.c) are made
 * of.  NICs and routes live in vmcfg-nic.c.  This file calls none of
 * those three, so there is no cycle between them.  Pure: the host is
 * reached only through struct vmcfg_env.
 *
 *     json_t *vm = NULL;
 *     struct zh_error err = ZH_ERROR_INIT;
 *     if (vmcfg_create(payload, &env, warn, ctx, &vm, &err) < 0) ...
 *
 * Invariants: the payload is never modified (a deep copy is worked on);
 * every fatal message names its property in err->prop.  The HVM rules
 * (disks, nic models, vnc, memory floor) live in vmcfg-disk.c; the
 * validate entry point, which runs both, in vmcfg-validate.c.
 */
#include <stdarg.h>
#include <string.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

static const char *const sub_bases[] = {VMCFG_NICS, "disks", "filesystems", "pci_devices"};

/* ---- small helpers ---- */

char *vmcfg_dump(const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	return s ? s : strdup("null");
}

int64_t vmcfg_int(const json_t *obj, const char *key, int64_t def)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

void vmcfg_warnf(struct vmcfg_run *r, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;
	int n;

	if (!r->warn)
		return;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n >= 0)
		r->warn(r->wctx, line);
	else
		line = NULL;
}

int vmcfg_rep_add(json_t **arr, const char *name)
{
	size_t i;
	json_t *e;

	if (!*arr && !(*arr = json_array()))
		return -ENOMEM;
	json_array_foreach (*arr, i, e)
		if (streq(json_string_value(e), name))
			return 0;
	return json_array_append_new(*arr, json_string(name)) < 0 ? -ENOMEM : 0;
}

size_t vmcfg_arr_len(const json_t *a)
{
	return a ? json_array_size(a) : 0;
}

/* "add_nics" -> "nics" / PROPS_ADD; NULL when key has no sub-objects. */
static const char *sub_base(const char *key, enum props_action *sa)
{
	*sa = PROPS_ADD;
	if (strncmp(key, "add_", 4) == 0)
		key += 4;
	else if (strncmp(key, "update_", 7) == 0) {
		key += 7;
		*sa = PROPS_UPDATE_SUB;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sub_bases); i++)
		if (streq(key, sub_bases[i]))
			return sub_bases[i];
	return NULL;
}

static const struct props_prop *sub_prop(const char *base, const char *key)
{
	_cleanup_free_ char *name = NULL;

	if (asprintf(&name, "%s.*.%s", base, key) < 0)
		return NULL;
	return props_lookup(name);
}

/* ---- table checks ---- */

static int check_sub(struct vmcfg_run *r, const char *base, enum props_action sa, const char *key,
		     const json_t *v)
{
	_cleanup_free_ char *name = NULL;
	const struct props_prop *p;

	if (asprintf(&name, "%s.*.%s", base, key) < 0)
		return -ENOMEM;
	p = props_lookup(name);
	if (!props_allowed(p, r->brand->bit, sa))
		return vmcfg_rep_add(&r->rep.bad_properties, name);
	if (!props_value_ok(p, v))
		return vmcfg_rep_add(&r->rep.bad_values, name);
	return 0;
}

static int check_subs(struct vmcfg_run *r, const char *base, enum props_action sa,
		      const json_t *arr)
{
	size_t i;
	json_t *o, *v;
	const char *k;
	int ret;

	json_array_foreach (arr, i, o)
		json_object_foreach ((json_t *)o, k, v)
			if ((ret = check_sub(r, base, sa, k, v)) < 0)
				return ret;
	return 0;
}

static bool pool_ok(const struct vmcfg_run *r, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !r->env || !r->env->pool_exists)
		return true;
	return r->env->pool_exists(r->env->ctx, s);
}

static int check_one(struct vmcfg_run *r, const char *k, const json_t *v)
{
	const struct props_prop *p = props_lookup(k);
	enum props_action sa;
	const char *base;

	if (strchr(k, '*') || !props_allowed(p, r->brand->bit, r->action))
		return vmcfg_rep_add(&r->rep.bad_properties, k);
	if (!props_value_ok(p, v) || (p->type == PROPS_ZPOOL && !pool_ok(r, v)))
		return vmcfg_rep_add(&r->rep.bad_values, k);
	base = sub_base(k, &sa);
	if (base && json_is_array(v))
		return check_subs(r, base, sa, v);
	return 0;
}

static bool image_type_ok(const struct props_brand *b, const char *type)
{
	for (const char *const *t = b->image_types; t && *t; t++)
		if (streq(*t, type))
			return true;
	return false;
}

static int check_image(struct vmcfg_run *r, const json_t *payload)
{
	const char *img = jsonutil_str(payload, "image_uuid");
	const char *pool = jsonutil_str(payload, "zpool");
	char type[64] = "";

	if (r->action == PROPS_UPDATE || !r->env || !r->env->image_type || !util_is_uuid(img))
		return 0;
	if (r->env->image_type(r->env->ctx, pool ? pool : "zones", img, type, sizeof(type)) < 0 ||
	    !image_type_ok(r->brand, type))
		return vmcfg_rep_add(&r->rep.bad_values, "image_uuid");
	return 0;
}

static int check_required(struct vmcfg_run *r, const json_t *payload)
{
	for (size_t i = 0; i < props_count(); i++) {
		const struct props_prop *p = props_at(i);
		json_t *v = json_object_get(payload, p->name);
		int ret;

		if (!props_required(p, r->brand->bit, r->action))
			continue;
		if (streq(p->name, "image_uuid") && json_object_get(payload, VMCFG_OCI_BUNDLE))
			continue; /* an OCI container's root is its bundle's (§24) */
		if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0))
			continue;
		ret = vmcfg_rep_add(&r->rep.missing_properties, p->name);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* An OCI container (§24): an absolute bundle, and a docker VM. */
static int check_oci(struct vmcfg_run *r, const json_t *payload)
{
	const char *b = jsonutil_str(payload, VMCFG_OCI_BUNDLE);

	if (!json_object_get(payload, VMCFG_OCI_BUNDLE))
		return 0;
	if (!b || b[0] != '/' || !json_is_true(json_object_get(payload, "docker")))
		return vmcfg_rep_add(&r->rep.bad_values, VMCFG_OCI_BUNDLE);
	return 0;
}

int vmcfg_check_payload(struct vmcfg_run *r, const json_t *payload)
{
	const char *k;
	json_t *v;
	int ret;

	json_object_foreach ((json_t *)payload, k, v)
		if ((ret = check_one(r, k, v)) < 0)
			return ret;
	ret = check_required(r, payload);
	if (ret >= 0)
		ret = check_image(r, payload);
	if (ret >= 0)
		ret = check_oci(r, payload);
	return ret;
}

/* ---- report ---- */

void vmcfg_report_clear(struct vmcfg_report *rep)
{
	json_decref(rep->bad_values);
	json_decref(rep->bad_properties);
	json_decref(rep->missing_properties);
	free(rep->bad_brand);
	*rep = (struct vmcfg_report)VMCFG_REPORT_INIT;
}

static json_t *arr_or_empty(json_t *a)
{
	return a ? json_deep_copy(a) : json_array();
}

json_t *vmcfg_report_json(const struct vmcfg_report *rep)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (rep->bad_brand) {
		if (json_object_set_new(o, "bad_brand", json_string(rep->bad_brand)) < 0)
			goto fail;
		return o;
	}
	if (json_object_set_new(o, "bad_values", arr_or_empty(rep->bad_values)) < 0 ||
	    json_object_set_new(o, "bad_properties", arr_or_empty(rep->bad_properties)) < 0 ||
	    json_object_set_new(o, "missing_properties", arr_or_empty(rep->missing_properties)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- properties that reach outside the VM ---- */

static bool value_set(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return v && !json_is_null(v);
}

/* p is set in vm: at the top, or ("base.*.sub") in an element of vm[base]. */
static bool prop_set(const json_t *vm, const char *name)
{
	const char *dot = strstr(name, ".*.");
	_cleanup_free_ char *base = NULL;
	size_t i;
	json_t *e;

	if (!dot)
		return value_set(json_object_get(vm, name));
	if (!(base = strndup(name, (size_t)(dot - name))))
		return true; /* out of memory: refuse rather than miss one */
	json_array_foreach (json_object_get(vm, base), i, e)
		if (value_set(json_object_get(e, dot + 3)))
			return true;
	return false;
}

int vmcfg_host_props(const json_t *vm, json_t **out)
{
	_cleanup_json_ json_t *names = json_array();

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < props_count(); i++) {
		const struct props_prop *p = props_at(i);

		if ((p->flags & PROPS_F_HOST) && prop_set(vm, p->name) &&
		    json_array_append_new(names, json_string(p->name)) < 0)
			return -ENOMEM;
	}
	*out = TAKE_PTR(names);
	return 0;
}

/* ---- coercion ---- */

static int coerce_member(struct vmcfg_run *r, const struct props_prop *p, json_t *obj,
			 const char *key, const char *label)
{
	json_t *v = json_object_get(obj, key), *n = NULL;
	_cleanup_free_ char *txt = NULL;
	int ret = props_coerce(p, v, &n);

	if (ret == -ENOMEM)
		return zh_error_oom(r->err);
	if (ret < 0) {
		txt = vmcfg_dump(v);
		return zh_error_set(r->err, EINVAL, label, "Invalid value for %s: %s", label, txt);
	}
	if (!n) {
		json_object_del(obj, key);
		return 0;
	}
	return json_object_set_new(obj, key, n) < 0 ? zh_error_oom(r->err) : 0;
}

int vmcfg_coerce_sub(struct vmcfg_run *r, const char *base, json_t *obj)
{
	const char *k;
	json_t *v;
	void *tmp;
	int ret;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach_safe (obj, tmp, k, v) {
		_cleanup_free_ char *label = NULL, *key = NULL;
		const struct props_prop *p = sub_prop(base, k);

		if (!p)
			continue;
		if (!(key = strdup(k)))
			return zh_error_oom(r->err);
		k = key;
		if (asprintf(&label, "%s.*.%s", base, k) < 0)
			return zh_error_oom(r->err);
		if ((ret = coerce_member(r, p, obj, k, label)) < 0)
			return ret;
	}
	return 0;
}

static int coerce_subs(struct vmcfg_run *r, const char *k, json_t *arr)
{
	enum props_action sa;
	const char *base = sub_base(k, &sa);
	size_t i;
	json_t *o;
	int ret;

	if (!base || !json_is_array(arr))
		return 0;
	json_array_foreach (arr, i, o)
		if ((ret = vmcfg_coerce_sub(r, base, o)) < 0)
			return ret;
	return 0;
}

static bool is_unset(const json_t *v)
{
	return json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

int vmcfg_coerce(struct vmcfg_run *r, json_t *payload)
{
	const char *k;
	json_t *v;
	void *tmp;
	int ret;

	json_object_foreach_safe (payload, tmp, k, v) {
		const struct props_prop *p = props_lookup(k);
		_cleanup_free_ char *key = NULL;

		if (!p || p->type == PROPS_RO || strchr(k, '*'))
			continue;
		/* k dies with its member when coercion unsets it */
		if (!(key = strdup(k)))
			return zh_error_oom(r->err);
		k = key;
		if (streq(k, "quota") && is_unset(v)) {
			if (json_object_set_new(payload, k, json_integer(0)) < 0)
				return zh_error_oom(r->err);
			continue;
		}
		if ((ret = coerce_member(r, p, payload, k, k)) < 0)
			return ret;
		if ((ret = coerce_subs(r, k, json_object_get(payload, k))) < 0)
			return ret;
	}
	return 0;
}

/* ---- fatal / strip ---- */

static char *join_arr(const json_t *a)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, i;
	json_t *e;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_array_foreach (a, i, e)
		fprintf(f, "%s%s", i ? "," : "", json_string_value(e));
	if (fclose(f) != 0)
		return NULL;
	return TAKE_PTR(buf);
}

static int fatal_list(struct vmcfg_run *r, const json_t *a, const char *what)
{
	_cleanup_free_ char *list = join_arr(a);

	if (!list)
		return zh_error_oom(r->err);
	return zh_error_set(r->err, EINVAL, json_string_value(json_array_get(a, 0)), "%s: %s", what,
			    list);
}

static void strip_sub(json_t *payload, const char *name)
{
	static const char *const prefixes[] = {"", "add_", "update_"};
	const char *dot = strstr(name, ".*.");
	size_t i;
	json_t *o;

	if (!dot)
		return;
	for (size_t k = 0; k < ARRAY_SIZE(prefixes); k++) {
		_cleanup_free_ char *key = NULL;

		if (asprintf(&key, "%s%.*s", prefixes[k], (int)(dot - name), name) < 0)
			return;
		json_array_foreach (json_object_get(payload, key), i, o)
			json_object_del(o, dot + 3);
	}
}

static const char *action_word(enum props_action a)
{
	return a == PROPS_UPDATE ? "update" : a == PROPS_RECEIVE ? "receive" : "create";
}

int vmcfg_fatal_or_strip(struct vmcfg_run *r, json_t *payload)
{
	size_t i;
	json_t *e;

	if (vmcfg_arr_len(r->rep.bad_values))
		return fatal_list(r, r->rep.bad_values, "Invalid value(s) for");
	if (vmcfg_arr_len(r->rep.missing_properties))
		return fatal_list(r, r->rep.missing_properties, "Missing required properties");
	json_array_foreach (r->rep.bad_properties, i, e) {
		const char *name = json_string_value(e);

		vmcfg_warnf(r,
			    "Warning, invalid %s property: [%s] removing from "
			    "payload.",
			    action_word(r->action), name);
		if (json_object_get(payload, name))
			json_object_del(payload, name);
		else
			strip_sub(payload, name);
	}
	return 0;
}

/* ---- semantic checks ---- */

static const char *const compression_types[] = {
	"on",	  "off",    "gzip",   "gzip-1", "gzip-2", "gzip-3", "gzip-4", "gzip-5",
	"gzip-6", "gzip-7", "gzip-8", "gzip-9", "lz4",	  "lzjb",   "zle",
};

static int check_recsize(struct vmcfg_run *r, json_t *cfg, const char *k)
{
	json_t *v = json_object_get(cfg, k);
	int64_t n;
	_cleanup_free_ char *txt = NULL;

	if (!v)
		return 0;
	n = vmcfg_int(cfg, k, -1);
	if (json_is_integer(v) && n == 0)
		return json_object_set_new(cfg, k, json_integer(131072)) < 0 ? zh_error_oom(r->err)
									     : 0;
	if (json_is_integer(v) && n >= 512 && n <= 131072 && !(n & (n - 1)))
		return 0;
	txt = vmcfg_dump(v);
	return zh_error_set(r->err, EINVAL, k,
			    "invalid %s (%s), must be 512-131072 and a power of "
			    "2. (0 to disable)",
			    k, txt);
}

int vmcfg_check_compression_value(struct vmcfg_run *r, const json_t *v, const char *label)
{
	const char *s = json_string_value(v);
	_cleanup_free_ char *txt = NULL;

	if (!v)
		return 0;
	for (size_t i = 0; s && i < ARRAY_SIZE(compression_types); i++)
		if (streq(s, compression_types[i]))
			return 0;
	txt = s ? strdup(s) : vmcfg_dump(v);
	return zh_error_set(r->err, EINVAL, label,
			    "invalid compression type for %s, must be one of: "
			    "on, off, gzip, gzip-1, gzip-2, gzip-3, gzip-4, "
			    "gzip-5, gzip-6, gzip-7, gzip-8, gzip-9, lz4, lzjb, "
			    "zle",
			    txt ? txt : "?");
}

static int check_compression(struct vmcfg_run *r, const json_t *cfg, const char *k)
{
	return vmcfg_check_compression_value(r, json_object_get(cfg, k), k);
}

static int check_limit(struct vmcfg_run *r, const json_t *cfg, const char *k)
{
	json_t *v = json_object_get(cfg, k);
	_cleanup_free_ char *txt = NULL;

	if (!v || (json_is_integer(v) && json_integer_value(v) >= 0))
		return 0;
	txt = vmcfg_dump(v);
	return zh_error_set(r->err, EINVAL, k,
			    "invalid %s (%s), must be a number >= 0 (or '' to "
			    "disable)",
			    k, txt);
}

int vmcfg_check_zfs(struct vmcfg_run *r, json_t *cfg)
{
	int ret;

	if ((ret = check_recsize(r, cfg, "zfs_root_recsize")) < 0 ||
	    (ret = check_recsize(r, cfg, "zfs_data_recsize")) < 0 ||
	    (ret = check_compression(r, cfg, "zfs_root_compression")) < 0 ||
	    (ret = check_compression(r, cfg, "zfs_data_compression")) < 0 ||
	    (ret = check_limit(r, cfg, "zfs_filesystem_limit")) < 0)
		return ret;
	return check_limit(r, cfg, "zfs_snapshot_limit");
}

/* ---- memory (fixPayloadMemory) ---- */

static void set_int(json_t *o, const char *k, int64_t v)
{
	json_object_set_new(o, k, json_integer(v));
}

static bool has_int(const json_t *o, const char *k)
{
	return json_is_integer(json_object_get(o, k));
}

/* Derive max_locked_memory / max_swap from a new max_physical_memory. */
static void derive_limits(json_t *p, const json_t *old, int64_t phys)
{
	int64_t op = vmcfg_int(old, "max_physical_memory", -1);

	if (!has_int(p, "max_locked_memory")) {
		int64_t v = phys;

		if (op >= 0 && has_int(old, "max_locked_memory"))
			v = phys - (op - vmcfg_int(old, "max_locked_memory", op));
		set_int(p, "max_locked_memory", v < 0 ? 0 : v > phys ? phys : v);
	}
	if (!has_int(p, "max_swap")) {
		int64_t v = phys;

		if (op >= 0 && has_int(old, "max_swap"))
			v = phys + (vmcfg_int(old, "max_swap", op) - op);
		v = v < phys ? phys : v;
		set_int(p, "max_swap", v < 256 ? 256 : v);
	}
}

void vmcfg_fix_memory(struct vmcfg_run *r, json_t *p, const json_t *old)
{
	const struct props_brand *b = r->brand;
	int64_t phys;

	if (has_int(p, "ram") && !has_int(p, "max_physical_memory"))
		set_int(p, "max_physical_memory", vmcfg_int(p, "ram", 0) + b->mem_overhead);
	if (!b->hvm)
		json_object_del(p, "ram");
	if (!has_int(p, "max_physical_memory"))
		return;
	phys = vmcfg_int(p, "max_physical_memory", 0);
	derive_limits(p, old, phys);
	if (old && vmcfg_int(p, "max_locked_memory", 0) > phys)
		set_int(p, "max_locked_memory", phys);
	if (old && vmcfg_int(p, "max_swap", 0) < phys)
		set_int(p, "max_swap", phys);
	if (!old && !has_int(p, "max_shm_memory"))
		set_int(p, "max_shm_memory", phys);
	if (b->use_tmpfs && ((!old && !has_int(p, "tmpfs")) || vmcfg_int(p, "tmpfs", 0) > phys))
		set_int(p, "tmpfs", phys);
}

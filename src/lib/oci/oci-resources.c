/*
 * oci-resources.c - linux.resources (and `update --resources`) into struct
 * oci_resources, and from there into vmadm payload properties
 * (docs/architecture.md §24.2 has the mapping table).
 *
 * Owns: the strings and the devices reference inside a struct
 * oci_resources (oci_resources_clear).  Uses oci-json.c only.
 *
 *     struct oci_resources r = {0};
 *     if (oci_resources_parse(text, len, &r, &err) < 0) ...
 *     json_t *limits = oci_resources_to_payload(&r, &err);
 *     // {"max_physical_memory": 512, "cpu_cap": 50, ...}
 *
 * The payload holds only what the OCI side limits: an absent or unlimited
 * value (-1, 0) is left out so vmadm's default applies.  Values are those
 * config/props.c accepts (integers, MiB rounded up, max_swap >= 256 and >=
 * max_physical_memory, cpu_shares 1..65535, zfs_io_priority >= 1); memory.swap
 * (memory + swap, as max_swap) is mapped only with a memory.limit.
 * memory.reservation, cpu.cpus/mems and devices have no vmadm property.
 */
#include <errno.h>
#include <string.h>

#include "jsonutil.h"
#include "oci-internal.h"

#define MIB (INT64_C(1) << 20)

void oci_resources_clear(struct oci_resources *r)
{
	free(r->cpu_cpus);
	free(r->cpu_mems);
	json_decref(r->devices);
	memset(r, 0, sizeof(*r));
}

static int get_i64(const json_t *o, const char *path, const char *key, int64_t min,
		   struct oci_resources *r, unsigned int bit, int64_t *out, struct zh_error *err)
{
	bool set = false;
	int ret = oci_get_int(o, path, key, min, INT64_MAX, out, &set, err);

	if (set)
		r->set |= bit;
	return ret;
}

static int parse_memory(const json_t *o, const char *path, struct oci_resources *r,
			struct zh_error *err)
{
	const json_t *m = NULL;
	char q[OCI_JPATH_MAX];
	int ret = oci_get_obj(o, path, "memory", 0, &m, err);

	if (ret < 0 || !m)
		return ret;
	oci_jpath(q, path, "memory");
	if ((ret = get_i64(m, q, "limit", -1, r, OCI_RES_MEM_LIMIT, &r->memory_limit, err)) < 0 ||
	    (ret = get_i64(m, q, "reservation", -1, r, OCI_RES_MEM_RESERVATION,
			   &r->memory_reservation, err)) < 0 ||
	    (ret = get_i64(m, q, "swap", -1, r, OCI_RES_MEM_SWAP, &r->memory_swap, err)) < 0)
		return ret;
	return 0;
}

static int parse_cpu(const json_t *o, const char *path, struct oci_resources *r,
		     struct zh_error *err)
{
	const json_t *c = NULL;
	char q[OCI_JPATH_MAX];
	int64_t shares = 0, period = 0;
	int ret = oci_get_obj(o, path, "cpu", 0, &c, err);

	if (ret < 0 || !c)
		return ret;
	oci_jpath(q, path, "cpu");
	if ((ret = get_i64(c, q, "shares", 0, r, OCI_RES_CPU_SHARES, &shares, err)) < 0 ||
	    (ret = get_i64(c, q, "quota", -1, r, OCI_RES_CPU_QUOTA, &r->cpu_quota, err)) < 0 ||
	    (ret = get_i64(c, q, "period", 0, r, OCI_RES_CPU_PERIOD, &period, err)) < 0 ||
	    (ret = oci_get_str(c, q, "cpus", 0, &r->cpu_cpus, err)) < 0 ||
	    (ret = oci_get_str(c, q, "mems", 0, &r->cpu_mems, err)) < 0)
		return ret;
	r->cpu_shares = (uint64_t)shares;
	r->cpu_period = (uint64_t)period;
	return 0;
}

static int parse_small(const json_t *o, const char *path, struct oci_resources *r,
		       struct zh_error *err)
{
	const json_t *p = NULL, *b = NULL, *d = NULL;
	char q[OCI_JPATH_MAX];
	int64_t w = 0;
	bool set = false;
	int ret;

	if ((ret = oci_get_obj(o, path, "pids", 0, &p, err)) < 0 ||
	    (p && (ret = get_i64(p, oci_jpath(q, path, "pids"), "limit", INT64_MIN, r,
				 OCI_RES_PIDS_LIMIT, &r->pids_limit, err)) < 0))
		return ret;
	if ((ret = oci_get_obj(o, path, "blockIO", 0, &b, err)) < 0 ||
	    (b && (ret = oci_get_int(b, oci_jpath(q, path, "blockIO"), "weight", 0, 1000, &w, &set,
				     err)) < 0))
		return ret;
	if (set && w != 0) {
		if (w < 10)
			return oci_fail(err, oci_jpath(q, path, "blockIO.weight"),
					"%lld out of range (10 to 1000)", (long long)w);
		r->set |= OCI_RES_BLKIO_WEIGHT;
		r->blkio_weight = (uint16_t)w;
	}
	if ((ret = oci_get_arr(o, path, "devices", 0, &d, err)) < 0)
		return ret;
	r->devices = d ? json_incref((json_t *)d) : NULL;
	return 0;
}

int oci_resources_from_json(const json_t *o, const char *path, struct oci_resources *out,
			    struct zh_error *err)
{
	struct oci_resources r = {0};
	int ret;

	if (!json_is_object(o))
		return oci_fail(err, *path ? path : "resources", "must be an object");
	if ((ret = parse_memory(o, path, &r, err)) < 0 || (ret = parse_cpu(o, path, &r, err)) < 0 ||
	    (ret = parse_small(o, path, &r, err)) < 0) {
		oci_resources_clear(&r);
		return ret;
	}
	*out = r;
	return 0;
}

int oci_resources_parse(const char *json, size_t len, struct oci_resources *out,
			struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = oci_json_load(json, len, &j, err);

	return r < 0 ? r : oci_resources_from_json(j, "", out, err);
}

/* ceil(a / b) for a >= 0, b > 0, without overflow. */
static int64_t div_up(int64_t a, int64_t b)
{
	return a / b + (a % b != 0);
}

static int set_int(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer(v));
}

static int map_memory(const struct oci_resources *r, json_t *o)
{
	int64_t phys = 0, swap;
	int ret = 0;

	if ((r->set & OCI_RES_MEM_LIMIT) && r->memory_limit > 0) {
		phys = div_up(r->memory_limit, MIB);
		ret |= set_int(o, "max_physical_memory", phys);
	}
	if (phys > 0 && (r->set & OCI_RES_MEM_SWAP) && r->memory_swap > 0) {
		swap = div_up(r->memory_swap, MIB);
		swap = swap < phys ? phys : swap;
		ret |= set_int(o, "max_swap", swap < 256 ? 256 : swap);
	}
	return ret;
}

static int map_cpu(const struct oci_resources *r, json_t *o)
{
	uint64_t period = (r->set & OCI_RES_CPU_PERIOD) && r->cpu_period ? r->cpu_period : 100000;
	int64_t s;
	int ret = 0;

	if ((r->set & OCI_RES_CPU_QUOTA) && r->cpu_quota > 0) {
		/* quota <= INT64_MAX and period >= 1: compute in 128 bits. */
		unsigned __int128 pct =
			((unsigned __int128)r->cpu_quota * 100 + period - 1) / period;

		ret |= set_int(o, "cpu_cap", pct > INT32_MAX ? INT32_MAX : (int64_t)pct);
	}
	if ((r->set & OCI_RES_CPU_SHARES) && r->cpu_shares > 0) {
		s = r->cpu_shares > UINT32_MAX ? 65535
					       : (int64_t)((r->cpu_shares * 100 + 512) / 1024);
		ret |= set_int(o, "cpu_shares", s < 1 ? 1 : s > 65535 ? 65535 : s);
	}
	return ret;
}

static int map_small(const struct oci_resources *r, json_t *o)
{
	int ret = 0;
	int64_t p;

	if ((r->set & OCI_RES_PIDS_LIMIT) && r->pids_limit > 0)
		ret |= set_int(o, "max_lwps",
			       r->pids_limit > INT32_MAX ? INT32_MAX : r->pids_limit);
	if (r->set & OCI_RES_BLKIO_WEIGHT) {
		p = (r->blkio_weight + 2) / 5;
		ret |= set_int(o, "zfs_io_priority", p < 1 ? 1 : p);
	}
	return ret;
}

json_t *oci_resources_to_payload(const struct oci_resources *r, struct zh_error *err)
{
	json_t *o = json_object();

	if (!o || map_memory(r, o) || map_cpu(r, o) || map_small(r, o)) {
		json_decref(o);
		zh_error_oom(err);
		return NULL;
	}
	return o;
}

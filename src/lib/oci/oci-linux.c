/*
 * oci-linux.c - the `linux` object of config.json into struct oci_linux
 * (docs/architecture.md §24.1): namespaces, id mappings, cgroupsPath,
 * resources (through oci-resources.c), sysctl, masked and read-only paths,
 * the seccomp profile (kept as JSON for oci-seccomp.c), rootfsPropagation
 * and devices (kept as JSON).
 *
 * Owns: what struct oci_linux points to (oci_linux_clear).  Uses
 * oci-json.c, oci-resources.c and oci-mount.c's propagation names.
 *
 *     "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}]
 *     -> {OCI_NS_PID, NULL}, {OCI_NS_NETWORK, "/run/netns/x"}
 *
 * A namespace type given twice is an error; so is an unknown type.
 */
#include <errno.h>
#include <string.h>

#include "oci-internal.h"

static const char *const ns_names[OCI_NS_NTYPES] = {
	[OCI_NS_PID] = "pid",	    [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
	[OCI_NS_IPC] = "ipc",	    [OCI_NS_UTS] = "uts",	  [OCI_NS_USER] = "user",
	[OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_ns_name(enum oci_ns_type t)
{
	return (unsigned int)t < OCI_NS_NTYPES ? ns_names[t] : NULL;
}

void oci_linux_clear(struct oci_linux *l)
{
	for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	free(l->cgroups_path);
	oci_resources_clear(&l->resources);
	json_decref(l->sysctl);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	json_decref(l->seccomp);
	json_decref(l->devices);
	memset(l, 0, sizeof(*l));
}

static int parse_ns(const json_t *e, const char *path, struct oci_linux *l, struct zh_error *err)
{
	struct oci_namespace *ns = &l->namespaces[l->n_namespaces];
	_cleanup_free_ char *type = NULL;
	char q[OCI_JPATH_MAX];
	int t, r;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if ((r = oci_get_str(e, path, "type", OCI_REQ, &type, err)) < 0)
		return r;
	for (t = 0; t < OCI_NS_NTYPES && !streq(ns_names[t], type); t++)
		;
	if (t == OCI_NS_NTYPES)
		return oci_fail(err, oci_jpath(q, path, "type"), "unknown namespace type \"%s\"",
				type);
	for (size_t i = 0; i < l->n_namespaces; i++)
		if (l->namespaces[i].type == (enum oci_ns_type)t)
			return oci_fail(err, oci_jpath(q, path, "type"),
					"duplicate namespace type \"%s\"", type);
	ns->type = (enum oci_ns_type)t;
	if ((r = oci_get_str(e, path, "path", OCI_ABS, &ns->path, err)) < 0)
		return r;
	l->n_namespaces++;
	return 0;
}

static int parse_namespaces(const json_t *o, const char *path, struct oci_linux *l,
			    struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(o, path, "namespaces", 0, &a, err);

	if (r < 0 || !a)
		return r;
	oci_jpath(q, path, "namespaces");
	if (json_array_size(a) > OCI_NS_NTYPES)
		return oci_fail(err, q, "more than %d entries", OCI_NS_NTYPES);
	l->namespaces = calloc(OCI_NS_NTYPES, sizeof(*l->namespaces));
	if (!l->namespaces)
		return zh_error_oom(err);
	json_array_foreach (a, i, e) {
		if ((r = parse_ns(e, oci_jpath_idx(qi, q, i), l, err)) < 0)
			return r;
	}
	return 0;
}

static int parse_idmap(const json_t *e, const char *path, struct oci_idmap *m, struct zh_error *err)
{
	int64_t c = 0, h = 0, s = 0;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if (!oci_member(e, "containerID") || !oci_member(e, "hostID") || !oci_member(e, "size"))
		return oci_fail(err, path, "containerID, hostID and size are required");
	if (oci_get_int(e, path, "containerID", 0, UINT32_MAX, &c, NULL, err) < 0 ||
	    oci_get_int(e, path, "hostID", 0, UINT32_MAX, &h, NULL, err) < 0 ||
	    oci_get_int(e, path, "size", 1, UINT32_MAX, &s, NULL, err) < 0)
		return -EINVAL;
	*m = (struct oci_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
	return 0;
}

static int parse_idmaps(const json_t *o, const char *path, const char *key, struct oci_idmap **out,
			size_t *n, struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(o, path, key, 0, &a, err);

	if (r < 0 || !a)
		return r;
	if (json_array_size(a) > 340) /* the kernel's uid_map limit */
		return oci_fail(err, oci_jpath(q, path, key), "more than 340 entries");
	*out = calloc(json_array_size(a) + 1, sizeof(**out));
	if (!*out)
		return zh_error_oom(err);
	oci_jpath(q, path, key);
	json_array_foreach (a, i, e) {
		if ((r = parse_idmap(e, oci_jpath_idx(qi, q, i), &(*out)[i], err)) < 0)
			return r;
		(*n)++;
	}
	return 0;
}

static int parse_propagation(const json_t *o, const char *path, struct oci_linux *l,
			     struct zh_error *err)
{
	_cleanup_free_ char *p = NULL;
	char q[OCI_JPATH_MAX];
	int r = oci_get_str(o, path, "rootfsPropagation", 0, &p, err);

	if (r < 0 || !p)
		return r;
	l->rootfs_propagation = oci_propagation_flags(p);
	if (!l->rootfs_propagation)
		return oci_fail(err, oci_jpath(q, path, "rootfsPropagation"),
				"unknown propagation \"%s\"", p);
	return 0;
}

static int parse_json_members(const json_t *o, const char *path, struct oci_linux *l,
			      struct zh_error *err)
{
	const json_t *res = NULL, *sec = NULL, *dev = NULL;
	char q[OCI_JPATH_MAX];
	int r;

	if ((r = oci_get_obj(o, path, "resources", 0, &res, err)) < 0 ||
	    (res && (r = oci_resources_from_json(res, oci_jpath(q, path, "resources"),
						 &l->resources, err)) < 0))
		return r;
	if ((r = oci_get_obj(o, path, "seccomp", 0, &sec, err)) < 0 ||
	    (r = oci_get_arr(o, path, "devices", 0, &dev, err)) < 0)
		return r;
	l->seccomp = sec ? json_incref((json_t *)sec) : NULL;
	l->devices = dev ? json_incref((json_t *)dev) : NULL;
	return oci_get_strmap(o, path, "sysctl", &l->sysctl, err);
}

int oci_linux_from_json(const json_t *o, const char *path, struct oci_linux *out,
			struct zh_error *err)
{
	struct oci_linux l = {0};
	int r;

	if ((r = parse_namespaces(o, path, &l, err)) < 0 ||
	    (r = parse_idmaps(o, path, "uidMappings", &l.uid_mappings, &l.n_uid_mappings, err)) <
		    0 ||
	    (r = parse_idmaps(o, path, "gidMappings", &l.gid_mappings, &l.n_gid_mappings, err)) <
		    0 ||
	    (r = oci_get_str(o, path, "cgroupsPath", 0, &l.cgroups_path, err)) < 0 ||
	    (r = oci_get_strv(o, path, "maskedPaths", OCI_ABS, &l.masked_paths, err)) < 0 ||
	    (r = oci_get_strv(o, path, "readonlyPaths", OCI_ABS, &l.readonly_paths, err)) < 0 ||
	    (r = parse_propagation(o, path, &l, err)) < 0 ||
	    (r = parse_json_members(o, path, &l, err)) < 0) {
		oci_linux_clear(&l);
		return r;
	}
	*out = l;
	return 0;
}

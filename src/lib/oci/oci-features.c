/*
 * oci-features.c - the `features` document (runtime-spec features.md) as
 * runc prints it: 4-space indent and a newline (docs/architecture.md §24.3).
 *
 * Owns nothing but the string it returns.  Uses the name tables of
 * oci-config.c (hooks), oci-mount.c (options), oci-process.c
 * (capabilities), oci-linux.c (namespaces) and oci-seccomp.c (actions,
 * operators, architectures), so the document lists exactly what the
 * parsers accept.
 *
 *     char *f = oci_features_json();   // fputs(f, stdout)
 *
 * Advertised as absent: AppArmor, SELinux, idmapped mounts (containerd
 * then refuses idmap mounts itself), systemd cgroups, checkpoint.
 */
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "oci-internal.h"

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *names_json(const char *(*name)(int), int n)
{
	const char *v[64] = {0};

	for (int i = 0; i < n && i < 63; i++)
		v[i] = name(i);
	return strv_json(v);
}

static const char *hook_name(int i)
{
	return oci_hook_name((enum oci_hook_phase)i);
}

static const char *ns_name(int i)
{
	/* runc's order: alphabetical */
	static const enum oci_ns_type order[OCI_NS_NTYPES] = {
		OCI_NS_CGROUP, OCI_NS_IPC,  OCI_NS_MOUNT, OCI_NS_NETWORK,
		OCI_NS_PID,    OCI_NS_TIME, OCI_NS_USER,  OCI_NS_UTS,
	};

	return oci_ns_name(order[i]);
}

static json_t *enabled(bool on)
{
	return json_pack("{s:b}", "enabled", on);
}

static json_t *seccomp_json(void)
{
	return json_pack("{s:b, s:o, s:o, s:o}", "enabled", 1, "actions",
			 strv_json(oci_seccomp_action_names), "operators",
			 strv_json(oci_seccomp_op_names), "archs",
			 strv_json(oci_seccomp_arch_names));
}

static json_t *linux_json(void)
{
	return json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:o, s:o, s:{s:o}}", "namespaces",
			 names_json(ns_name, OCI_NS_NTYPES), "capabilities",
			 names_json(oci_cap_name, OCI_CAP_LAST + 1), "cgroup", "v1", 1, "v2", 1,
			 "systemd", 0, "systemdUser", 0, "seccomp", seccomp_json(), "apparmor",
			 enabled(false), "selinux", enabled(false), "mountExtensions", "idmap",
			 enabled(false));
}

static json_t *annotations_json(void)
{
	const struct scmp_version *v = seccomp_version();
	char ver[64];

	snprintf(ver, sizeof(ver), "%u.%u.%u", v ? v->major : 0, v ? v->minor : 0,
		 v ? v->micro : 0);
	return json_pack("{s:s, s:s}", "io.github.seccomp.libseccomp.version", ver,
			 "org.opencontainers.runc.checkpoint.enabled", "false");
}

char *oci_features_json(void)
{
	_cleanup_json_ json_t *f = json_pack(
		"{s:s, s:s, s:o, s:o, s:o, s:o}", "ociVersionMin", "1.0.0", "ociVersionMax",
		OCI_VERSION, "hooks", names_json(hook_name, OCI_HOOK_NPHASES), "mountOptions",
		strv_json(oci_mount_option_names), "linux", linux_json(), "annotations",
		annotations_json());
	_cleanup_free_ char *s = f ? json_dumps(f, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
	char *line = NULL;

	if (!s || asprintf(&line, "%s\n", s) < 0)
		return NULL;
	return line;
}

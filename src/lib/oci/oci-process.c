/*
 * oci-process.c - the `process` object of config.json (and of `exec
 * --process FILE`) into struct oci_process (docs/architecture.md §24.1).
 *
 * Owns: the struct oci_process it returns (oci_process_free) and the
 * capability and rlimit name tables.  Uses oci-json.c only.
 *
 *     struct oci_process *p = oci_process_parse(text, len, &err);
 *     // p->args, p->env, p->cwd, p->caps[OCI_CAP_BOUNDING], p->rlimits ...
 *
 * Capability sets become 64-bit masks (bit n = capability n); an unknown
 * CAP_ name is an error naming it.  apparmorProfile, selinuxLabel,
 * ioPriority, scheduler and execCPUAffinity are ignored.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "jsonutil.h"
#include "oci-internal.h"

static const char *const cap_names[OCI_CAP_LAST + 1] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static const char *const rlimit_names[RLIM_NLIMITS] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",	       [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",	       [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static const char *const cap_set_keys[OCI_CAP_NSETS] = {
	"bounding", "effective", "inheritable", "permitted", "ambient",
};

const char *oci_cap_name(int cap)
{
	return cap >= 0 && cap <= OCI_CAP_LAST ? cap_names[cap] : NULL;
}

const char *oci_rlimit_name(int type)
{
	return type >= 0 && type < RLIM_NLIMITS ? rlimit_names[type] : NULL;
}

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return i;
	return -1;
}

void oci_process_free(struct oci_process *p)
{
	if (!p)
		return;
	free(p->additional_gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p);
}

static int parse_caps(const json_t *o, const char *path, struct oci_process *p,
		      struct zh_error *err)
{
	const json_t *caps = NULL;
	char q[OCI_JPATH_MAX];
	int r = oci_get_obj(o, path, "capabilities", 0, &caps, err);

	if (r < 0 || !caps)
		return r;
	oci_jpath(q, path, "capabilities");
	for (int set = 0; set < OCI_CAP_NSETS; set++) {
		_cleanup_strv_ char **v = NULL;
		char e[OCI_JPATH_MAX];

		r = oci_get_strv(caps, q, cap_set_keys[set], 0, &v, err);
		if (r < 0)
			return r;
		if (!v)
			continue;
		p->has_caps[set] = true;
		for (size_t i = 0; v[i]; i++) {
			int c = lookup(cap_names, OCI_CAP_LAST + 1, v[i]);

			if (c < 0)
				return oci_fail(err, oci_jpath(e, q, cap_set_keys[set]),
						"unknown capability \"%s\"", v[i]);
			p->caps[set] |= UINT64_C(1) << c;
		}
	}
	return r;
}

static int parse_rlimit(const json_t *e, const char *path, struct oci_process *p,
			struct zh_error *err)
{
	struct oci_rlimit *l = &p->rlimits[p->n_rlimits];
	_cleanup_free_ char *type = NULL;
	int64_t soft = 0, hard = 0;
	int t, r;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if ((r = oci_get_str(e, path, "type", OCI_REQ, &type, err)) < 0 ||
	    (r = oci_get_int(e, path, "soft", -1, INT64_MAX, &soft, NULL, err)) < 0 ||
	    (r = oci_get_int(e, path, "hard", -1, INT64_MAX, &hard, NULL, err)) < 0)
		return r;
	t = lookup(rlimit_names, RLIM_NLIMITS, type);
	if (t < 0)
		return oci_fail(err, path, "unknown rlimit type \"%s\"", type);
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (p->rlimits[i].type == t)
			return oci_fail(err, path, "duplicate rlimit type \"%s\"", type);
	/* -1 (or 2^64-1, oci_json_load) is RLIM_INFINITY */
	if ((uint64_t)soft > (uint64_t)hard)
		return oci_fail(err, path, "soft limit %lld above hard limit %lld", (long long)soft,
				(long long)hard);
	*l = (struct oci_rlimit){t, soft < 0 ? RLIM_INFINITY : (uint64_t)soft,
				 hard < 0 ? RLIM_INFINITY : (uint64_t)hard};
	p->n_rlimits++;
	return 0;
}

static int parse_rlimits(const json_t *o, const char *path, struct oci_process *p,
			 struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], ei[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(o, path, "rlimits", 0, &a, err);

	if (r < 0 || !a)
		return r;
	if (json_array_size(a) > RLIM_NLIMITS)
		return oci_fail(err, oci_jpath(q, path, "rlimits"), "more than %d entries",
				RLIM_NLIMITS);
	p->rlimits = calloc(json_array_size(a) + 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return zh_error_oom(err);
	oci_jpath(q, path, "rlimits");
	json_array_foreach (a, i, e) {
		if ((r = parse_rlimit(e, oci_jpath_idx(ei, q, i), p, err)) < 0)
			return r;
	}
	return 0;
}

static int parse_gids(const json_t *u, const char *path, struct oci_process *p,
		      struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(u, path, "additionalGids", 0, &a, err);

	if (r < 0 || !a)
		return r;
	oci_jpath(q, path, "additionalGids");
	p->additional_gids = calloc(json_array_size(a) + 1, sizeof(gid_t));
	if (!p->additional_gids)
		return zh_error_oom(err);
	json_array_foreach (a, i, e) {
		json_int_t g = json_integer_value(e);

		if (!json_is_integer(e) || g < 0 || g > UINT32_MAX - 1)
			return oci_fail(err, q, "must be an array of group ids (0 to %u)",
					UINT32_MAX - 1);
		p->additional_gids[p->n_additional_gids++] = (gid_t)g;
	}
	return 0;
}

static int parse_user(const json_t *o, const char *path, struct oci_process *p,
		      struct zh_error *err)
{
	const json_t *u = NULL;
	char q[OCI_JPATH_MAX];
	int64_t uid = 0, gid = 0, umask = 0;
	int r = oci_get_obj(o, path, "user", 0, &u, err);

	if (r < 0 || !u)
		return r;
	oci_jpath(q, path, "user");
	if (oci_get_int(u, q, "uid", 0, UINT32_MAX - 1, &uid, NULL, err) < 0 ||
	    oci_get_int(u, q, "gid", 0, UINT32_MAX - 1, &gid, NULL, err) < 0 ||
	    oci_get_int(u, q, "umask", 0, 0777, &umask, &p->has_umask, err) < 0)
		return -EINVAL;
	p->uid = (uint32_t)uid;
	p->gid = (uint32_t)gid;
	p->umask = (mode_t)umask;
	return parse_gids(u, q, p, err);
}

static int parse_console(const json_t *o, const char *path, struct oci_process *p,
			 struct zh_error *err)
{
	const json_t *c = NULL;
	char q[OCI_JPATH_MAX];
	int64_t h = 0, w = 0;
	int r = oci_get_obj(o, path, "consoleSize", 0, &c, err);

	if (r < 0 || !c)
		return r;
	oci_jpath(q, path, "consoleSize");
	if (oci_get_int(c, q, "height", 0, UINT16_MAX, &h, NULL, err) < 0 ||
	    oci_get_int(c, q, "width", 0, UINT16_MAX, &w, NULL, err) < 0)
		return -EINVAL;
	p->console_height = (unsigned int)h;
	p->console_width = (unsigned int)w;
	return 0;
}

static int parse_scalars(const json_t *o, const char *path, struct oci_process *p,
			 struct zh_error *err)
{
	int64_t oom = 0;
	int r;

	if (oci_get_bool(o, path, "terminal", &p->terminal, err) < 0 ||
	    oci_get_bool(o, path, "noNewPrivileges", &p->no_new_privileges, err) < 0 ||
	    oci_get_int(o, path, "oomScoreAdj", -1000, 1000, &oom, &p->has_oom_score_adj, err) < 0)
		return -EINVAL;
	p->oom_score_adj = (int)oom;
	if ((r = oci_get_strv(o, path, "args", OCI_REQ | OCI_NONEMPTY, &p->args, err)) < 0 ||
	    (r = oci_get_strv(o, path, "env", 0, &p->env, err)) < 0 ||
	    (r = oci_get_str(o, path, "cwd", OCI_REQ | OCI_ABS, &p->cwd, err)) < 0)
		return r;
	if (!p->env) {
		p->env = calloc(1, sizeof(char *));
		if (!p->env)
			return zh_error_oom(err);
	}
	return 0;
}

int oci_process_from_json(const json_t *o, const char *path, struct oci_process **out,
			  struct zh_error *err)
{
	struct oci_process *p;
	int r;

	if (!json_is_object(o))
		return oci_fail(err, path, "must be an object");
	p = calloc(1, sizeof(*p));
	if (!p)
		return zh_error_oom(err);
	if ((r = parse_scalars(o, path, p, err)) < 0 || (r = parse_console(o, path, p, err)) < 0 ||
	    (r = parse_user(o, path, p, err)) < 0 || (r = parse_caps(o, path, p, err)) < 0 ||
	    (r = parse_rlimits(o, path, p, err)) < 0) {
		oci_process_free(p);
		return r;
	}
	*out = p;
	return 0;
}

struct oci_process *oci_process_parse(const char *json, size_t len, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	struct oci_process *p = NULL;

	if (oci_json_load(json, len, &j, err) < 0 ||
	    oci_process_from_json(j, "process", &p, err) < 0)
		return NULL;
	return p;
}

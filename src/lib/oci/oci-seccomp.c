/*
 * oci-seccomp.c - compile config.json's linux.seccomp profile with
 * libseccomp into a classic BPF program (docs/architecture.md §24.1).
 *
 * Owns: the program it returns (oci_seccomp_free) and the action,
 * operator and architecture tables (which `features` lists).  Uses
 * oci-json.c only.  It builds a program, it never loads one: the caller
 * (the zone's child, after zonehost's own filter) does, with
 *
 *     struct sock_fprog prog;
 *     unsigned int flags;
 *     if (oci_seccomp_compile(spec, &prog, &flags, &err) < 0) ...
 *     if (prog.len && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) ...
 *     oci_seccomp_free(&prog);
 *
 * As runc: a syscall name this libseccomp does not know is skipped; a rule
 * whose action is the default action is skipped; conditions on distinct
 * argument indexes make one rule (AND), two on the same index make one
 * rule each (OR).  An unknown action, operator, architecture or flag is an
 * error naming it.  The BPF leaves libseccomp through a memfd
 * (seccomp_export_bpf) and must fit BPF_MAXINSNS instructions.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonutil.h"
#include "oci-internal.h"

#define PROFILE "linux.seccomp"

struct name_val {
	const char *name;
	uint32_t val;
};

static const struct name_val arches[] = {
	{"SCMP_ARCH_X86", SCMP_ARCH_X86},
	{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
	{"SCMP_ARCH_X32", SCMP_ARCH_X32},
	{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
	{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
	{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
	{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
	{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
	{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
	{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
	{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
	{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
	{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
	{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
	{"SCMP_ARCH_S390", SCMP_ARCH_S390},
	{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
	{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
	{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
	{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

static const struct name_val ops[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE},
	{"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_LE", SCMP_CMP_LE},
	{"SCMP_CMP_EQ", SCMP_CMP_EQ},
	{"SCMP_CMP_GE", SCMP_CMP_GE},
	{"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct name_val flag_names[] = {
	{"SECCOMP_FILTER_FLAG_TSYNC", 0}, /* the caller is one thread */
	{"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0}, /* only with NOTIFY */
};

const char *const oci_seccomp_action_names[] = {
	"SCMP_ACT_ALLOW",	 "SCMP_ACT_ERRNO",	 "SCMP_ACT_KILL",
	"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
	"SCMP_ACT_TRACE",	 "SCMP_ACT_TRAP",	 NULL,
};

const char *const oci_seccomp_op_names[] = {
	"SCMP_CMP_EQ", "SCMP_CMP_GE",	     "SCMP_CMP_GT", "SCMP_CMP_LE",
	"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL,
};

const char *const oci_seccomp_arch_names[] = {
	"SCMP_ARCH_AARCH64",   "SCMP_ARCH_ARM",	     "SCMP_ARCH_MIPS",	   "SCMP_ARCH_MIPS64",
	"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",	   "SCMP_ARCH_PPC64",
	"SCMP_ARCH_PPC64LE",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_S390",	   "SCMP_ARCH_S390X",
	"SCMP_ARCH_X32",       "SCMP_ARCH_X86",	     "SCMP_ARCH_X86_64",   NULL,
};

static void ctx_releasep(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
	*c = NULL;
}

static const struct name_val *find(const struct name_val *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

/* An action name and its errnoRet (under path) -> SCMP_ACT_* value. */
static int parse_action(const json_t *o, const char *path, const char *key, const char *errno_key,
			uint32_t *out, struct zh_error *err)
{
	_cleanup_free_ char *a = NULL;
	char q[OCI_JPATH_MAX];
	int64_t e = EPERM;
	int r;

	if ((r = oci_get_str(o, path, key, OCI_REQ, &a, err)) < 0 ||
	    (r = oci_get_int(o, path, errno_key, 0, 4095, &e, NULL, err)) < 0)
		return r;
	if (streq(a, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (streq(a, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO((uint16_t)e);
	else if (streq(a, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE((uint16_t)e);
	else if (streq(a, "SCMP_ACT_KILL") || streq(a, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (streq(a, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (streq(a, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (streq(a, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else if (streq(a, "SCMP_ACT_NOTIFY"))
		return oci_fail(err, oci_jpath(q, path, key), "SCMP_ACT_NOTIFY is not supported");
	else
		return oci_fail(err, oci_jpath(q, path, key), "unknown action \"%s\"", a);
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, const json_t *p, struct zh_error *err)
{
	_cleanup_strv_ char **v = NULL;
	char q[OCI_JPATH_MAX];
	int r = oci_get_strv(p, PROFILE, "architectures", 0, &v, err);

	for (size_t i = 0; r == 0 && v && v[i]; i++) {
		const struct name_val *a = find(arches, ARRAY_SIZE(arches), v[i]);

		if (!a)
			return oci_fail(err, oci_jpath(q, PROFILE, "architectures"),
					"unknown architecture \"%s\"", v[i]);
		r = seccomp_arch_add(ctx, a->val);
		if (r == -EEXIST)
			r = 0;
		if (r < 0)
			return zh_error_set(err, -r, "architectures",
					    PROFILE ".architectures: cannot add %s: %s", v[i],
					    strerror(-r));
	}
	return r;
}

static int parse_flags(const json_t *p, unsigned int *flags, struct zh_error *err)
{
	_cleanup_strv_ char **v = NULL;
	char q[OCI_JPATH_MAX];
	int r = oci_get_strv(p, PROFILE, "flags", 0, &v, err);

	*flags = 0;
	for (size_t i = 0; r == 0 && v && v[i]; i++) {
		const struct name_val *f = find(flag_names, ARRAY_SIZE(flag_names), v[i]);

		if (!f)
			return oci_fail(err, oci_jpath(q, PROFILE, "flags"), "unknown flag \"%s\"",
					v[i]);
		*flags |= f->val;
	}
	return r;
}

static int parse_arg(const json_t *e, const char *path, struct scmp_arg_cmp *c,
		     struct zh_error *err)
{
	_cleanup_free_ char *op = NULL;
	const struct name_val *o;
	int64_t idx = 0, v = 0, v2 = 0;
	char q[OCI_JPATH_MAX];
	int r;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if (!oci_member(e, "index"))
		return oci_fail(err, oci_jpath(q, path, "index"), "required");
	if ((r = oci_get_int(e, path, "index", 0, 5, &idx, NULL, err)) < 0 ||
	    (r = oci_get_int(e, path, "value", -1, INT64_MAX, &v, NULL, err)) < 0 ||
	    (r = oci_get_int(e, path, "valueTwo", -1, INT64_MAX, &v2, NULL, err)) < 0 ||
	    (r = oci_get_str(e, path, "op", OCI_REQ, &op, err)) < 0)
		return r;
	o = find(ops, ARRAY_SIZE(ops), op);
	if (!o)
		return oci_fail(err, oci_jpath(q, path, "op"), "unknown operator \"%s\"", op);
	/* -1 (2^64-1 in the text, oci_json_load) is all ones */
	*c = (struct scmp_arg_cmp){(unsigned int)idx, (enum scmp_compare)o->val, (uint64_t)v,
				   (uint64_t)v2};
	return 0;
}

struct rule {
	uint32_t action;
	struct scmp_arg_cmp args[6];
	unsigned int n_args;
	bool same_index; /* two conditions on one index: one rule each */
};

static int parse_args(const json_t *s, const char *path, struct rule *rl, struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(s, path, "args", 0, &a, err);

	if (r < 0 || !a)
		return r;
	oci_jpath(q, path, "args");
	if (json_array_size(a) > 6)
		return oci_fail(err, q, "more than 6 conditions");
	json_array_foreach (a, i, e) {
		if ((r = parse_arg(e, oci_jpath_idx(qi, q, i), &rl->args[i], err)) < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			rl->same_index |= rl->args[k].arg == rl->args[i].arg;
		rl->n_args++;
	}
	return 0;
}

static int add_one(scmp_filter_ctx ctx, const struct rule *rl, int nr, const char *name,
		   const char *path, struct zh_error *err)
{
	int r = 0;

	if (!rl->same_index)
		r = seccomp_rule_add_array(ctx, rl->action, nr, rl->n_args, rl->args);
	for (unsigned int i = 0; rl->same_index && r == 0 && i < rl->n_args; i++)
		r = seccomp_rule_add_array(ctx, rl->action, nr, 1, &rl->args[i]);
	if (r < 0)
		return zh_error_set(err, -r, path, "%s: cannot add a rule for %s: %s", path, name,
				    strerror(-r));
	return 0;
}

static int add_syscall(scmp_filter_ctx ctx, const json_t *s, const char *path, uint32_t def,
		       struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	struct rule rl = {0};
	int r;

	if (!json_is_object(s))
		return oci_fail(err, path, "must be an object");
	if ((r = oci_get_strv(s, path, "names", OCI_REQ | OCI_NONEMPTY, &names, err)) < 0 ||
	    (r = parse_action(s, path, "action", "errnoRet", &rl.action, err)) < 0 ||
	    (r = parse_args(s, path, &rl, err)) < 0)
		return r;
	if (rl.action == def)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((r = add_one(ctx, &rl, nr, names[i], path, err)) < 0)
			return r;
	}
	return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, const json_t *p, uint32_t def, struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(p, PROFILE, "syscalls", 0, &a, err);

	if (r < 0 || !a)
		return r;
	oci_jpath(q, PROFILE, "syscalls");
	json_array_foreach (a, i, e) {
		if ((r = add_syscall(ctx, e, oci_jpath_idx(qi, q, i), def, err)) < 0)
			return r;
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *out, struct zh_error *err)
{
	_cleanup_close_ int fd = memfd_create("oci-seccomp", MFD_CLOEXEC);
	_cleanup_free_ struct sock_filter *f = NULL;
	struct stat st;
	int r;

	if (fd < 0)
		return zh_error_set(err, errno, NULL, PROFILE ": memfd_create: %m");
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		return zh_error_set(err, -r, NULL, PROFILE ": cannot export the filter: %s",
				    strerror(-r));
	if (fstat(fd, &st) < 0)
		return zh_error_set(err, errno, NULL, PROFILE ": stat: %m");
	if (st.st_size <= 0 || st.st_size % sizeof(*f) != 0 ||
	    st.st_size / sizeof(*f) > BPF_MAXINSNS)
		return zh_error_set(err, E2BIG, NULL,
				    PROFILE ": filter of %lld bytes (at most %d instructions)",
				    (long long)st.st_size, BPF_MAXINSNS);
	f = malloc((size_t)st.st_size);
	if (!f)
		return zh_error_oom(err);
	if (pread(fd, f, (size_t)st.st_size, 0) != st.st_size)
		return zh_error_set(err, EIO, NULL, PROFILE ": short read of the filter");
	out->len = (unsigned short)(st.st_size / sizeof(*f));
	out->filter = TAKE_PTR(f);
	return 0;
}

int oci_seccomp_compile_json(const json_t *p, struct sock_fprog *out, unsigned int *flags,
			     struct zh_error *err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	uint32_t def;
	int r;

	*out = (struct sock_fprog){0, NULL};
	*flags = 0;
	if (!p)
		return 0;
	if (!json_is_object(p))
		return oci_fail(err, PROFILE, "must be an object");
	if ((r = parse_action(p, PROFILE, "defaultAction", "defaultErrnoRet", &def, err)) < 0 ||
	    (r = parse_flags(p, flags, err)) < 0)
		return r;
	ctx = seccomp_init(def);
	if (!ctx)
		return zh_error_set(err, EINVAL, "defaultAction",
				    PROFILE ".defaultAction: libseccomp refused it");
	if ((r = add_arches(ctx, p, err)) < 0 || (r = add_syscalls(ctx, p, def, err)) < 0)
		return r;
	return export_bpf(ctx, out, err);
}

int oci_seccomp_compile(const struct oci_spec *s, struct sock_fprog *out, unsigned int *flags,
			struct zh_error *err)
{
	return oci_seccomp_compile_json(s->lnx.seccomp, out, flags, err);
}

void oci_seccomp_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}

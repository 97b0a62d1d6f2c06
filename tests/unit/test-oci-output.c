/*
 * test-oci-output.c - the oci layer beyond parsing (docs/architecture.md
 * §24): the seccomp compiler (a Docker-default-shaped profile and a Podman
 * one compile, load in a forked child after PR_SET_NO_NEW_PRIVS, and a
 * denied syscall returns the profile's errno), every compiler error, the
 * resources -> vmadm mapping (and that vmcfg_create accepts it), the state,
 * list, features and log JSON byte for byte, container ids and signals.
 * argv[1] is tests/unit/oci.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonutil.h"
#include "oci.h"
#include "tap.h"
#include "vmcfg.h"

static const char *datadir = ".";

static json_t *js(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	if (!j)
		printf("# bad test JSON: %s\n", text);
	return j;
}

static json_t *load_json(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", datadir, name);
	return json_load_file(p, 0, NULL);
}

/* ---- seccomp -------------------------------------------------------------- */

static long sys(long nr, long a)
{
	long r = syscall(nr, a, 0, 0);

	return r < 0 ? -errno : r;
}

/* In the child, after the filter: a bit per failed check. */
static int docker_checks(void)
{
	int bad = 0;

	bad |= (sys(SYS_getpid, 0) <= 0) << 0;
	bad |= (sys(SYS_acct, 0) != -EPERM) << 1;     /* not listed: defaultErrnoRet 1 */
	bad |= (sys(SYS_chroot, 0) != -ENOSPC) << 2;  /* errnoRet 28 */
	bad |= (sys(SYS_ptrace, 0) != -EPERM) << 3;   /* ERRNO without errnoRet */
	bad |= (sys(SYS_getpgid, 1) != -EACCES) << 4; /* args: index 0 == 1 ... */
	bad |= (sys(SYS_getpgid, 2) != -EACCES) << 5; /* ... or == 2 */
	bad |= (sys(SYS_getpgid, 0) != -EPERM) << 6;  /* neither: the default */
	bad |= (sys(SYS_personality, 0xffffffff) < 0) << 7;
	bad |= (sys(SYS_personality, 0x1234) != -EPERM) << 8;
	return bad;
}

static int podman_checks(void)
{
	return (sys(SYS_acct, 0) != -ENOSYS) | (sys(SYS_swapoff, 0) != -EPERM) << 1 |
	       (sys(SYS_getpid, 0) <= 0) << 2;
}

/* Load prog in a forked child and run checks there: its exit status. */
static int run_filtered(const struct sock_fprog *prog, unsigned int flags, int (*checks)(void))
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog) < 0)
			_exit(100 + errno);
		/* exit_group itself: _exit() under ASan first calls sigaltstack, which a
		 * default-deny profile refuses */
		syscall(SYS_exit_group, checks());
		_exit(99);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

static void test_seccomp_docker(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *p = load_json("docker-seccomp.json");
	struct sock_fprog prog;
	unsigned int flags = 99;
	int r = oci_seccomp_compile_json(p, &prog, &flags, &err);

	ok(r == 0, "the Docker-shaped profile compiles: %s", err.msg ? err.msg : "");
	if (r < 0)
		return;
	ok(prog.len > 100 && prog.filter, "a BPF program of %u instructions", prog.len);
	is_int(flags, 0, "no flags");
	is_int(run_filtered(&prog, flags, docker_checks), 0,
	       "loaded in a child: allowed, denied with the profile's errnos, argument rules");
	oci_seccomp_free(&prog);
	ok(!prog.filter && !prog.len, "freed");
}

static void test_seccomp_podman(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *cfg = load_json("podman.json");
	_cleanup_free_ char *text = json_dumps(cfg, 0);
	struct oci_spec *s = text ? oci_config_parse(text, strlen(text), &err) : NULL;
	struct sock_fprog prog = {0, NULL};
	unsigned int flags = 0;

	ok(s && oci_seccomp_compile(s, &prog, &flags, &err) == 0 && prog.len > 0,
	   "the Podman config's profile compiles");
	is_int(run_filtered(&prog, flags, podman_checks), 0,
	       "loaded: defaultErrnoRet 38 (ENOSYS), errnoRet 1 (EPERM)");
	oci_seccomp_free(&prog);
	oci_spec_free(s);
}

static char *compile_error(const char *profile, unsigned int *flags_out)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *p = js(profile);
	struct sock_fprog prog = {0, NULL};
	unsigned int flags = 0;
	int r = oci_seccomp_compile_json(p, &prog, &flags, &err);
	char *m = strdup(r == 0 ? "" : err.msg);

	if (r == 0 && !prog.len)
		printf("# compiled to an empty program\n");
	if (flags_out)
		*flags_out = flags;
	oci_seccomp_free(&prog);
	zh_error_clear(&err);
	return m;
}

#define is_compile_error(profile, want)                  \
	do {                                             \
		char *_m = compile_error(profile, NULL); \
		is_str(_m, want, "seccomp: %s", want);   \
		free(_m);                                \
	} while (0)

#define ALLOW	"{\"defaultAction\": \"SCMP_ACT_ALLOW\""
#define RULE(r) ALLOW ", \"syscalls\": [" r "]}"

static void test_seccomp_errors(void)
{
	unsigned int flags = 0;
	char *m;

	is_compile_error("{}", "linux.seccomp.defaultAction: required");
	is_compile_error("{\"defaultAction\": 1}", "linux.seccomp.defaultAction: must be a string");
	is_compile_error("{\"defaultAction\": \"SCMP_ACT_FOO\"}",
			 "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
	is_compile_error("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
			 "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported");
	is_compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 4096}",
			 "linux.seccomp.defaultErrnoRet: 4096 out of range (0 to 4095)");
	is_compile_error(ALLOW ", \"architectures\": [\"SCMP_ARCH_FOO\"]}",
			 "linux.seccomp.architectures: unknown architecture \"SCMP_ARCH_FOO\"");
	is_compile_error(ALLOW ", \"architectures\": \"SCMP_ARCH_X86\"}",
			 "linux.seccomp.architectures: must be an array of strings");
	is_compile_error(ALLOW ", \"flags\": [\"SECCOMP_FILTER_FLAG_FOO\"]}",
			 "linux.seccomp.flags: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
	is_compile_error(ALLOW ", \"syscalls\": {}}", "linux.seccomp.syscalls: must be an array");
	is_compile_error(RULE("1"), "linux.seccomp.syscalls[0]: must be an object");
	is_compile_error(RULE("{\"action\": \"SCMP_ACT_KILL\"}"),
			 "linux.seccomp.syscalls[0].names: required");
	is_compile_error(RULE("{\"names\": [], \"action\": \"SCMP_ACT_KILL\"}"),
			 "linux.seccomp.syscalls[0].names: must be a non-empty array of strings");
	is_compile_error(RULE("{\"names\": [\"read\"]}"),
			 "linux.seccomp.syscalls[0].action: required");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_NOTIFY\"}"),
			 "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\"}, {\"names\": "
			      "[\"write\"], \"action\": \"ALLOW\"}"),
			 "linux.seccomp.syscalls[1].action: unknown action \"ALLOW\"");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", "
			      "\"errnoRet\": -1}"),
			 "linux.seccomp.syscalls[0].errnoRet: -1 out of range (0 to 4095)");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_FOO\"}]}"),
			 "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"index\": 6, \"op\": \"SCMP_CMP_EQ\"}]}"),
			 "linux.seccomp.syscalls[0].args[0].index: 6 out of range (0 to 5)");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}"),
			 "linux.seccomp.syscalls[0].args[0].index: required");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"index\": 0}]}"),
			 "linux.seccomp.syscalls[0].args[0].op: required");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[1, 2, 3, 4, 5, 6, 7]}"),
			 "linux.seccomp.syscalls[0].args: more than 6 conditions");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"index\": 0, \"value\": -5, \"op\": \"SCMP_CMP_EQ\"}]}"),
			 "linux.seccomp.syscalls[0].args[0].value: -5 out of range (-1 to "
			 "9223372036854775807)");
	is_compile_error("[]", "linux.seccomp: must be an object");
	/* what compiles */
	is_compile_error(RULE("{\"names\": [\"no_such_syscall\", \"read\"], \"action\": "
			      "\"SCMP_ACT_ERRNO\"}"),
			 "");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}"), "");
	is_compile_error(RULE("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
			      "[{\"index\": 0, \"value\": 18446744073709551615, \"op\": "
			      "\"SCMP_CMP_EQ\"}]}"),
			 "");
	is_compile_error(
		"{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\", \"syscalls\": [{\"names\": "
		"[\"exit\"], \"action\": \"SCMP_ACT_LOG\"}, {\"names\": [\"read\"], "
		"\"action\": \"SCMP_ACT_TRAP\"}, {\"names\": [\"write\"], \"action\": "
		"\"SCMP_ACT_TRACE\"}, {\"names\": [\"open\"], \"action\": "
		"\"SCMP_ACT_KILL_THREAD\"}, {\"names\": [\"close\"], \"action\": "
		"\"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
		"\"SCMP_CMP_NE\"}, {\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_LT\"}, "
		"{\"index\": 2, \"value\": 1, \"op\": \"SCMP_CMP_LE\"}, {\"index\": 3, "
		"\"value\": 1, \"op\": \"SCMP_CMP_GE\"}, {\"index\": 4, \"value\": 1, \"op\": "
		"\"SCMP_CMP_GT\"}, {\"index\": 5, \"value\": 3, \"valueTwo\": 1, \"op\": "
		"\"SCMP_CMP_MASKED_EQ\"}]}]}",
		"");
	m = compile_error(ALLOW
			  ", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\", "
			  "\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}",
			  &flags);
	is_str(m, "", "flags compile");
	is_int(flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	       "LOG and SPEC_ALLOW passed on, TSYNC dropped");
	free(m);
}

static void test_seccomp_none(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *c = "{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"a\"], \"cwd\": "
			"\"/\"}, \"root\": {\"path\": \"r\"}}";
	struct oci_spec *s = oci_config_parse(c, strlen(c), &err);
	struct sock_fprog prog = {1, (struct sock_filter *)&err};
	unsigned int flags = 7;

	ok(s && oci_seccomp_compile(s, &prog, &flags, &err) == 0 && prog.len == 0 && !prog.filter &&
		   flags == 0,
	   "no profile: an empty program");
	oci_spec_free(s);
}

/* ---- resources ------------------------------------------------------------ */

static char *payload_of(const char *resources)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_resources r = {0};
	_cleanup_json_ json_t *o = NULL;
	char *s;

	if (oci_resources_parse(resources, strlen(resources), &r, &err) < 0) {
		s = strdup(err.msg);
		zh_error_clear(&err);
		return s;
	}
	o = oci_resources_to_payload(&r, &err);
	oci_resources_clear(&r);
	return o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : strdup("(oom)");
}

#define is_payload(res, want)                          \
	do {                                           \
		char *_m = payload_of(res);            \
		is_str(_m, want, "resources %s", res); \
		free(_m);                              \
	} while (0)

static void test_resources(void)
{
	is_payload("{}", "{}");
	is_payload("{\"memory\": {\"limit\": 536870912}}", "{\"max_physical_memory\":512}");
	is_payload("{\"memory\": {\"limit\": 1}}", "{\"max_physical_memory\":1}");
	is_payload("{\"memory\": {\"limit\": 1048577}}", "{\"max_physical_memory\":2}");
	is_payload("{\"memory\": {\"limit\": -1, \"swap\": -1, \"reservation\": 1024}}", "{}");
	is_payload("{\"memory\": {\"limit\": 536870912, \"swap\": 1073741824}}",
		   "{\"max_physical_memory\":512,\"max_swap\":1024}");
	is_payload("{\"memory\": {\"limit\": 536870912, \"swap\": 268435456}}",
		   "{\"max_physical_memory\":512,\"max_swap\":512}");
	is_payload("{\"memory\": {\"limit\": 52428800, \"swap\": 104857600}}",
		   "{\"max_physical_memory\":50,\"max_swap\":256}");
	is_payload("{\"memory\": {\"swap\": 104857600}}", "{}");
	is_payload("{\"cpu\": {\"quota\": 50000, \"period\": 100000}}", "{\"cpu_cap\":50}");
	is_payload("{\"cpu\": {\"quota\": 150001, \"period\": 100000}}", "{\"cpu_cap\":151}");
	is_payload("{\"cpu\": {\"quota\": 20000}}", "{\"cpu_cap\":20}");
	is_payload("{\"cpu\": {\"quota\": 25000, \"period\": 50000}}", "{\"cpu_cap\":50}");
	is_payload("{\"cpu\": {\"quota\": -1, \"period\": 100000}}", "{}");
	is_payload("{\"cpu\": {\"quota\": 9223372036854775807, \"period\": 1}}",
		   "{\"cpu_cap\":2147483647}");
	is_payload("{\"cpu\": {\"shares\": 1024}}", "{\"cpu_shares\":100}");
	is_payload("{\"cpu\": {\"shares\": 512}}", "{\"cpu_shares\":50}");
	is_payload("{\"cpu\": {\"shares\": 2}}", "{\"cpu_shares\":1}");
	is_payload("{\"cpu\": {\"shares\": 262144}}", "{\"cpu_shares\":25600}");
	is_payload("{\"cpu\": {\"shares\": 9223372036854775807}}", "{\"cpu_shares\":65535}");
	is_payload("{\"cpu\": {\"shares\": 0, \"cpus\": \"0-1\", \"mems\": \"0\"}}", "{}");
	is_payload("{\"pids\": {\"limit\": 2048}}", "{\"max_lwps\":2048}");
	is_payload("{\"pids\": {\"limit\": 0}}", "{}");
	is_payload("{\"pids\": {\"limit\": -1}}", "{}");
	is_payload("{\"blockIO\": {\"weight\": 500}}", "{\"zfs_io_priority\":100}");
	is_payload("{\"blockIO\": {\"weight\": 10}}", "{\"zfs_io_priority\":2}");
	is_payload("{\"blockIO\": {\"weight\": 1000}}", "{\"zfs_io_priority\":200}");
	is_payload("{\"blockIO\": {\"weight\": 0}}", "{}");
	is_payload("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}", "{}");
	/* update --resources messages have no linux.resources prefix */
	is_payload("{\"memory\": {\"limit\": \"1G\"}}", "memory.limit: must be an integer");
	is_payload("{\"pids\": []}", "pids: must be an object");
	is_payload("[]", "invalid JSON: not a JSON object");
}

static void test_resources_validate(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *res = "{\"memory\": {\"limit\": 536870912, \"swap\": 1073741824}, \"cpu\": "
			  "{\"shares\": 2, \"quota\": 1, \"period\": 1000000}, \"pids\": "
			  "{\"limit\": 1}, \"blockIO\": {\"weight\": 10}}";
	struct oci_resources r = {0};
	_cleanup_json_ json_t *p = NULL, *vm = NULL;
	json_t *lim;
	int ret;

	ok(oci_resources_parse(res, strlen(res), &r, &err) == 0, "smallest limits parse");
	lim = oci_resources_to_payload(&r, &err);
	p = js("{\"brand\": \"lx\", \"alias\": \"c1\", \"docker\": true, \"kernel_version\": "
	       "\"4.3.0\", \"image_uuid\": \"e4ba0d4c-8c6a-11e6-8e84-3b8b6c1e4c5a\"}");
	ok(lim && p && json_object_update(p, lim) == 0, "merged into a payload");
	ret = vmcfg_create(p, NULL, NULL, NULL, &vm, &err);
	ok(ret == 0, "vmcfg_create accepts the mapped limits: %s", err.msg ? err.msg : "");
	is_int(json_integer_value(json_object_get(vm, "cpu_cap")), 1, "cpu_cap 1");
	is_int(json_integer_value(json_object_get(vm, "max_lwps")), 1, "max_lwps 1");
	json_decref(lim);
	oci_resources_clear(&r);
	zh_error_clear(&err);
}

/* ---- state, list, features, log, ids, signals ----------------------------- */

static void test_state(void)
{
	_cleanup_json_ json_t *ann = js("{\"k\": \"v\"}");
	struct oci_state st = {
		"c1", "running", 4422, "/run/b/c1", "/run/b/c1/rootfs", {1714586651, 285123456},
		NULL, ann};
	_cleanup_free_ char *s = oci_state_format(&st), *l = NULL, *l0 = NULL;
	struct oci_state two[2];

	is_str(s,
	       "{\n  \"ociVersion\": \"1.2.0\",\n  \"id\": \"c1\",\n  \"pid\": 4422,\n  "
	       "\"status\": "
	       "\"running\",\n  \"bundle\": \"/run/b/c1\",\n  \"rootfs\": \"/run/b/c1/rootfs\",\n  "
	       "\"created\": \"2024-05-01T18:04:11.285123456Z\",\n  \"annotations\": {\n    \"k\": "
	       "\"v\"\n  },\n  \"owner\": \"\"\n}",
	       "state JSON, byte for byte");
	free(s);
	st.annotations = NULL;
	st.created.tv_nsec = 285000000;
	st.status = "stopped";
	st.pid = 0;
	s = oci_state_format(&st);
	is_str(s,
	       "{\n  \"ociVersion\": \"1.2.0\",\n  \"id\": \"c1\",\n  \"pid\": 0,\n  \"status\": "
	       "\"stopped\",\n  \"bundle\": \"/run/b/c1\",\n  \"rootfs\": \"/run/b/c1/rootfs\",\n  "
	       "\"created\": \"2024-05-01T18:04:11.285Z\",\n  \"owner\": \"\"\n}",
	       "no annotations; fraction's trailing zeros cut");
	two[0] = st;
	two[1] = st;
	two[0].created.tv_nsec = 0;
	two[0].owner = "root";
	two[1].id = "c2";
	two[1].owner = "root";
	l = oci_state_list_format(two, 2);
	is_str(l,
	       "[{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"pid\":0,\"status\":\"stopped\","
	       "\"bundle\":\"/run/b/c1\",\"rootfs\":\"/run/b/c1/rootfs\",\"created\":\"2024-05-"
	       "01T18:04:11Z\",\"owner\":\"root\"},{\"ociVersion\":\"1.2.0\",\"id\":\"c2\",\"pid\":"
	       "0,\"status\":\"stopped\",\"bundle\":\"/run/b/c1\",\"rootfs\":\"/run/b/c1/rootfs\","
	       "\"created\":\"2024-05-01T18:04:11.285Z\",\"owner\":\"root\"}]\n",
	       "list JSON, owner filled, no fraction at 0 ns");
	l0 = oci_state_list_format(NULL, 0);
	is_str(l0, "null\n", "an empty list is runc's null");
}

static void test_features(void)
{
	_cleanup_free_ char *f = oci_features_json();
	_cleanup_json_ json_t *j = f ? json_loads(f, 0, NULL) : NULL;
	const struct scmp_version *v = NULL;
	char want[4096];
	json_t *lin = json_object_get(j, "linux");

	ok(j != NULL, "features is JSON");
	snprintf(want, sizeof(want), "%s",
		 "{\n    \"ociVersionMin\": \"1.0.0\",\n    \"ociVersionMax\": \"1.2.0\",\n    "
		 "\"hooks\": [\n        \"prestart\",\n        \"createRuntime\",\n");
	ok(f && strncmp(f, want, strlen(want)) == 0, "4-space indent, runc's key order");
	ok(f && f[strlen(f) - 1] == '\n' && f[strlen(f) - 2] == '}', "ends with a newline");
	is_int(json_array_size(json_object_get(j, "hooks")), 6, "six hooks");
	is_int(json_array_size(json_object_get(lin, "namespaces")), 8, "eight namespaces");
	is_int(json_array_size(json_object_get(lin, "capabilities")), 41, "41 capabilities");
	is_str(json_string_value(json_array_get(json_object_get(lin, "capabilities"), 40)),
	       "CAP_CHECKPOINT_RESTORE", "last capability");
	ok(json_is_true(json_object_get(json_object_get(lin, "seccomp"), "enabled")),
	   "seccomp enabled");
	is_int(json_array_size(json_object_get(json_object_get(lin, "seccomp"), "actions")), 8,
	       "eight seccomp actions");
	is_int(json_array_size(json_object_get(json_object_get(lin, "seccomp"), "operators")), 7,
	       "seven operators");
	ok(json_is_false(json_object_get(json_object_get(lin, "apparmor"), "enabled")) &&
		   json_is_false(json_object_get(json_object_get(lin, "selinux"), "enabled")),
	   "no AppArmor, no SELinux");
	ok(json_is_false(json_object_get(
		   json_object_get(json_object_get(lin, "mountExtensions"), "idmap"), "enabled")),
	   "no idmap mounts");
	ok(json_is_true(json_object_get(json_object_get(lin, "cgroup"), "v2")) &&
		   json_is_false(json_object_get(json_object_get(lin, "cgroup"), "systemd")),
	   "cgroup v2, not systemd");
	is_str(jsonutil_str(json_object_get(j, "annotations"),
			    "org.opencontainers.runc.checkpoint.enabled"),
	       "false", "checkpoint not enabled");
	v = seccomp_version();
	snprintf(want, sizeof(want), "%u.%u.%u", v->major, v->minor, v->micro);
	is_str(jsonutil_str(json_object_get(j, "annotations"),
			    "io.github.seccomp.libseccomp.version"),
	       want, "libseccomp version");
	ok(strstr(f, "\"mountOptions\": [\n        \"async\",") != NULL, "mount options listed");
}

/* The whole document against tests/unit/oci/features.json (@LIBSECCOMP@: this host's). */
static void test_features_golden(void)
{
	_cleanup_free_ char *f = oci_features_json(), *want = NULL, *golden = NULL;
	const struct scmp_version *v = seccomp_version();
	char p[512], ver[32];
	size_t n = 0;
	FILE *in;
	char *at;

	snprintf(p, sizeof(p), "%s/features.json", datadir);
	in = fopen(p, "re");
	golden = calloc(1, 65536);
	if (in && golden)
		n = fread(golden, 1, 65535, in);
	if (in)
		fclose(in);
	at = n ? strstr(golden, "@LIBSECCOMP@") : NULL;
	ok(at != NULL, "golden features.json read");
	if (!at)
		return;
	*at = '\0';
	snprintf(ver, sizeof(ver), "%u.%u.%u", v->major, v->minor, v->micro);
	if (asprintf(&want, "%s%s%s", golden, ver, at + strlen("@LIBSECCOMP@")) < 0)
		return;
	is_str(f, want, "features, byte for byte");
}

static void test_log(void)
{
	_cleanup_free_ char *a =
		oci_log_json("error", "container \"c1\" does not exist", 1714586651);
	_cleanup_free_ char *b = oci_log_json("warning", "a\nb", 0);

	is_str(a,
	       "{\"level\":\"error\",\"msg\":\"container \\\"c1\\\" does not exist\",\"time\":"
	       "\"2024-05-01T18:04:11Z\"}\n",
	       "log record, byte for byte");
	is_str(b, "{\"level\":\"warning\",\"msg\":\"a\\nb\",\"time\":\"1970-01-01T00:00:00Z\"}\n",
	       "newline escaped, one record per line");
}

static void test_ids(void)
{
	char longid[OCI_ID_MAX + 2];

	ok(oci_id_valid("c1") && oci_id_valid("A-Z_a.z+0") && oci_id_valid("..."), "valid ids");
	ok(oci_id_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	   "Podman's 64-hex id");
	ok(!oci_id_valid("") && !oci_id_valid(NULL) && !oci_id_valid(".") && !oci_id_valid(".."),
	   "empty, . and .. refused");
	ok(!oci_id_valid("a/b") && !oci_id_valid("a b") && !oci_id_valid("a:b") &&
		   !oci_id_valid("\xc3\xa9"),
	   "slash, space, colon, non-ASCII refused");
	memset(longid, 'a', sizeof(longid));
	longid[OCI_ID_MAX] = '\0';
	ok(oci_id_valid(longid), "%d bytes allowed", OCI_ID_MAX);
	longid[OCI_ID_MAX] = 'a';
	longid[OCI_ID_MAX + 1] = '\0';
	ok(!oci_id_valid(longid), "%d bytes refused", OCI_ID_MAX + 1);
}

static void test_signals(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	int sig = 0;

	ok(oci_signal_parse("9", &sig, &err) == 0 && sig == SIGKILL, "number");
	ok(oci_signal_parse("SIGTERM", &sig, &err) == 0 && sig == SIGTERM, "SIGTERM");
	ok(oci_signal_parse("term", &sig, &err) == 0 && sig == SIGTERM, "term");
	ok(oci_signal_parse("sigHup", &sig, &err) == 0 && sig == SIGHUP, "sigHup");
	ok(oci_signal_parse("KILL", &sig, &err) == 0 && sig == SIGKILL, "KILL");
	ok(oci_signal_parse("SIGRTMIN+1", &sig, &err) == 0 && sig == SIGRTMIN + 1, "SIGRTMIN+1");
	ok(oci_signal_parse("SIGFOO", &sig, &err) == -EINVAL, "SIGFOO refused");
	is_str(err.msg, "unknown signal \"SIGFOO\"", "runc's message");
	zh_error_clear(&err);
	ok(oci_signal_parse("0", &sig, &err) == -EINVAL &&
		   oci_signal_parse("", &sig, &err) == -EINVAL,
	   "0 and empty refused");
	zh_error_clear(&err);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		datadir = argv[1];
	test_seccomp_docker();
	test_seccomp_podman();
	test_seccomp_errors();
	test_seccomp_none();
	test_resources();
	test_resources_validate();
	test_state();
	test_features();
	test_features_golden();
	test_log();
	test_ids();
	test_signals();
	return tap_done();
}

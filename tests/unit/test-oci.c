/*
 * test-oci.c - the oci layer's config.json parser (docs/architecture.md
 * §24.1): every field, every error path, config.json read from a bundle,
 * and real configs from containerd (`ctr oci spec`, with the process ctr
 * run adds) and Podman (tests/unit/oci/).  argv[1] is that directory.
 * The seccomp compiler, resources, state and features are in
 * test-oci-output.c.
 */
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonutil.h"
#include "oci.h"
#include "tap.h"

static const char *datadir = ".";

#define MIN_PROC "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}"
#define TOP(extra) \
	"{\"ociVersion\": \"1.0.2\", " MIN_PROC ", \"root\": {\"path\": \"rootfs\"}" extra "}"
#define PROC(extra)                                                                         \
	"{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": " \
	"[\"sh\"], \"cwd\": \"/\"" extra "}}"
#define LINUX(extra) TOP(", \"linux\": {" extra "}")

static struct oci_spec *parse(const char *json, struct zh_error *err)
{
	return oci_config_parse(json, strlen(json), err);
}

/* The message parse gives json, or "" when it parses. */
static char *error_of(const char *json)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(json, &err);
	char *m = strdup(s ? "" : err.msg);

	oci_spec_free(s);
	zh_error_clear(&err);
	return m;
}

#define is_error(json, want)                         \
	do {                                         \
		char *_m = error_of(json);           \
		is_str(_m, want, "error: %s", want); \
		free(_m);                            \
	} while (0)

static void test_minimal(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(TOP(""), &err);

	ok(s != NULL, "minimal config parses");
	if (!s)
		return;
	is_str(s->oci_version, "1.0.2", "ociVersion");
	is_str(s->process->args[0], "sh", "args[0]");
	ok(s->process->args[1] == NULL, "args NULL-terminated");
	ok(s->process->env && !s->process->env[0], "env defaults to empty");
	is_str(s->process->cwd, "/", "cwd");
	is_str(s->root_path, "rootfs", "root.path kept relative by parse");
	ok(!s->root_readonly && !s->process->terminal && !s->process->no_new_privileges,
	   "booleans default false");
	ok(!s->hostname && !s->domainname && !s->n_mounts && !s->annotations, "absent is NULL");
	ok(!s->lnx.seccomp && !s->lnx.n_namespaces && !s->lnx.resources.set, "no linux section");
	for (int i = 0; i < OCI_CAP_NSETS; i++)
		ok(!s->process->has_caps[i] && !s->process->caps[i], "cap set %d absent", i);
	oci_spec_free(s);
}

static void test_process(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		PROC(", \"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
		     "\"user\": {\"uid\": 1000, \"gid\": 100, \"umask\": 18, \"additionalGids\": "
		     "[5, "
		     "6]}, \"env\": [\"A=1\", \"B=2\"], \"noNewPrivileges\": true, "
		     "\"oomScoreAdj\": "
		     "-500, \"apparmorProfile\": \"x\", \"selinuxLabel\": \"y\", \"capabilities\": "
		     "{\"bounding\": [\"CAP_CHOWN\", \"CAP_SYS_ADMIN\"], \"effective\": "
		     "[\"CAP_KILL\"], \"inheritable\": [], \"permitted\": "
		     "[\"CAP_CHECKPOINT_RESTORE\"], "
		     "\"ambient\": [\"CAP_NET_RAW\"]}, \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", "
		     "\"soft\": 1024, \"hard\": 4096}, {\"type\": \"RLIMIT_CORE\"}]"),
		&err);
	struct oci_process *p = s ? s->process : NULL;

	ok(p != NULL, "process with every field parses: %s", err.msg ? err.msg : "");
	if (!p)
		return;
	ok(p->terminal && p->console_height == 24 && p->console_width == 80, "terminal, size");
	ok(p->uid == 1000 && p->gid == 100 && p->has_umask && p->umask == 022, "user");
	ok(p->n_additional_gids == 2 && p->additional_gids[0] == 5 && p->additional_gids[1] == 6,
	   "additionalGids");
	ok(p->env[0] && streq(p->env[0], "A=1") && streq(p->env[1], "B=2") && !p->env[2], "env");
	ok(p->no_new_privileges && p->has_oom_score_adj && p->oom_score_adj == -500, "nnp, oom");
	is_int(p->caps[OCI_CAP_BOUNDING], (1ull << 0) | (1ull << 21), "bounding mask");
	is_int(p->caps[OCI_CAP_EFFECTIVE], 1ull << 5, "effective mask");
	ok(p->has_caps[OCI_CAP_INHERITABLE] && p->caps[OCI_CAP_INHERITABLE] == 0,
	   "empty inheritable is given and empty");
	is_int(p->caps[OCI_CAP_PERMITTED], 1ull << 40, "CAP_CHECKPOINT_RESTORE is bit 40");
	is_int(p->caps[OCI_CAP_AMBIENT], 1ull << 13, "ambient CAP_NET_RAW");
	is_int(p->n_rlimits, 2, "two rlimits");
	ok(p->rlimits[0].type == RLIMIT_NOFILE && p->rlimits[0].soft == 1024 &&
		   p->rlimits[0].hard == 4096,
	   "RLIMIT_NOFILE 1024/4096");
	ok(p->rlimits[1].type == RLIMIT_CORE && !p->rlimits[1].soft && !p->rlimits[1].hard,
	   "RLIMIT_CORE 0/0");
	is_str(oci_cap_name(21), "CAP_SYS_ADMIN", "oci_cap_name");
	is_str(oci_rlimit_name(RLIMIT_NOFILE), "RLIMIT_NOFILE", "oci_rlimit_name");
	ok(!oci_cap_name(41) && !oci_rlimit_name(-1), "names out of range are NULL");
	oci_spec_free(s);
}

/* Go's uint64 -1 (RLIM_INFINITY) is read as -1, only where it is a number. */
static void test_u64_max(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CORE\", \"soft\": 18446744073709551615, "
		     "\"hard\":18446744073709551615}, {\"type\": \"RLIMIT_NOFILE\", \"soft\": -1, "
		     "\"hard\": -1}, {\"type\": \"RLIMIT_CPU\", \"soft\": 5, \"hard\": -1}], "
		     "\"env\": [\"X=18446744073709551615\", \"\\\"18446744073709551615\"]"),
		&err);

	ok(s != NULL, "18446744073709551615 parses: %s", err.msg ? err.msg : "");
	if (!s)
		return;
	ok(s->process->rlimits[0].soft == RLIM_INFINITY &&
		   s->process->rlimits[0].hard == RLIM_INFINITY,
	   "as RLIM_INFINITY");
	ok(s->process->rlimits[1].soft == RLIM_INFINITY &&
		   s->process->rlimits[1].hard == RLIM_INFINITY,
	   "-1 too");
	ok(s->process->rlimits[2].soft == 5 && s->process->rlimits[2].hard == RLIM_INFINITY,
	   "5 below infinity");
	is_str(s->process->env[0], "X=18446744073709551615", "strings untouched");
	is_str(s->process->env[1], "\"18446744073709551615", "after an escaped quote too");
	oci_spec_free(s);
}

static void test_top_fields(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		TOP(", \"hostname\": \"h1\", \"domainname\": \"example.org\", \"annotations\": "
		    "{\"a\": \"1\"}, \"unknownKey\": {\"x\": [1]}, \"solaris\": null"),
		&err);

	ok(s != NULL, "hostname, domainname, annotations, unknown keys");
	if (!s)
		return;
	is_str(s->hostname, "h1", "hostname");
	is_str(s->domainname, "example.org", "domainname");
	is_str(jsonutil_str(s->annotations, "a"), "1", "annotations kept");
	oci_spec_free(s);
	s = parse("{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, "
		  "\"root\": {\"path\": \"/abs/root\", \"readonly\": true}}",
		  &err);
	ok(s && s->root_readonly && streq(s->root_path, "/abs/root"), "root absolute, readonly");
	oci_spec_free(s);
}

static void test_versions(void)
{
	const char *good[] = {"1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1", "1.0.1+dev"};
	const char *bad[] = {"1.3.0", "2.0.0", "0.9.0"};
	char buf[256], want[256];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(buf, sizeof(buf),
			 "{\"ociVersion\": \"%s\", " MIN_PROC ", \"root\": {\"path\": \"r\"}}",
			 good[i]);
		is_error(buf, "");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(buf, sizeof(buf),
			 "{\"ociVersion\": \"%s\", " MIN_PROC ", \"root\": {\"path\": \"r\"}}",
			 bad[i]);
		snprintf(want, sizeof(want),
			 "ociVersion: unsupported version \"%s\" (1.0.0 to 1.2.x)", bad[i]);
		is_error(buf, want);
	}
	is_error("{\"ociVersion\": \"one\", " MIN_PROC ", \"root\": {\"path\": \"r\"}}",
		 "ociVersion: \"one\" is not a version");
	is_error("{\"ociVersion\": \"1.0\", " MIN_PROC ", \"root\": {\"path\": \"r\"}}",
		 "ociVersion: \"1.0\" is not a version");
	is_error("{" MIN_PROC ", \"root\": {\"path\": \"r\"}}", "ociVersion: required");
	is_error("{\"ociVersion\": 1, " MIN_PROC "}", "ociVersion: must be a string");
}

static void test_top_errors(void)
{
	is_error("", "invalid JSON: '[' or '{' expected near end of file at line 1, column 0");
	is_error("[1]", "invalid JSON: not a JSON object");
	is_error("{\"ociVersion\": \"1.0.0\", \"ociVersion\": \"1.0.0\"}",
		 "invalid JSON: duplicate object key near '\"ociVersion\"' at line 1, column 36");
	is_error("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}}", "process: required");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": null}", "process: required");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": []}", "process: must be an object");
	is_error("{\"ociVersion\": \"1.0.0\", " MIN_PROC "}", "root: required");
	is_error("{\"ociVersion\": \"1.0.0\", " MIN_PROC ", \"root\": \"r\"}",
		 "root: must be an object");
	is_error("{\"ociVersion\": \"1.0.0\", " MIN_PROC ", \"root\": {}}", "root.path: required");
	is_error("{\"ociVersion\": \"1.0.0\", " MIN_PROC ", \"root\": {\"path\": \"\"}}",
		 "root.path: must not be empty");
	is_error("{\"ociVersion\": \"1.0.0\", " MIN_PROC
		 ", \"root\": {\"path\": \"r\", \"readonly\": 1}}",
		 "root.readonly: must be true or false");
	is_error(TOP(", \"hostname\": 5"), "hostname: must be a string");
	is_error(TOP(", \"hostname\": \"0123456789012345678901234567890123456789012345678901234567"
		     "8901234\""),
		 "hostname: longer than 64 bytes");
	is_error(TOP(", \"domainname\": [\"x\"]"), "domainname: must be a string");
	is_error(TOP(", \"annotations\": []"), "annotations: must be an object");
	is_error(TOP(", \"annotations\": {\"k\": 1}"), "annotations.k: must be a string");
	is_error(TOP(", \"linux\": []"), "linux: must be an object");
	is_error(TOP(", \"mounts\": {}"), "mounts: must be an array");
	is_error(TOP(", \"hooks\": []"), "hooks: must be an object");
}

static void test_process_errors(void)
{
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\"}}",
		 "process.args: required");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [], \"cwd\": \"/\"}}",
		 "process.args: must be a non-empty array of strings");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"a\", 1], \"cwd\": \"/\"}}",
		 "process.args: must be a non-empty array of strings");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": \"sh\", \"cwd\": \"/\"}}",
		 "process.args: must be a non-empty array of strings");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"a\"]}}",
		 "process.cwd: required");
	is_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": [\"a\"], \"cwd\": \"x\"}}",
		 "process.cwd: must be an absolute path");
	is_error(PROC(", \"env\": [1]"), "process.env: must be an array of strings");
	is_error(PROC(", \"env\": {}"), "process.env: must be an array of strings");
	is_error(PROC(", \"terminal\": \"yes\""), "process.terminal: must be true or false");
	is_error(PROC(", \"noNewPrivileges\": 0"),
		 "process.noNewPrivileges: must be true or false");
	is_error(PROC(", \"oomScoreAdj\": 1001"),
		 "process.oomScoreAdj: 1001 out of range (-1000 to 1000)");
	is_error(PROC(", \"oomScoreAdj\": 1.5"), "process.oomScoreAdj: must be an integer");
	is_error(PROC(", \"consoleSize\": {\"height\": -1}"),
		 "process.consoleSize.height: -1 out of range (0 to 65535)");
	is_error(PROC(", \"consoleSize\": 3"), "process.consoleSize: must be an object");
	is_error(PROC(", \"user\": {\"uid\": -1}"),
		 "process.user.uid: -1 out of range (0 to 4294967294)");
	is_error(PROC(", \"user\": {\"gid\": \"0\"}"), "process.user.gid: must be an integer");
	is_error(PROC(", \"user\": {\"umask\": 512}"),
		 "process.user.umask: 512 out of range (0 to 511)");
	is_error(PROC(", \"user\": {\"additionalGids\": [1, \"2\"]}"),
		 "process.user.additionalGids: must be an array of group ids (0 to 4294967294)");
	is_error(PROC(", \"user\": {\"additionalGids\": 1}"),
		 "process.user.additionalGids: must be an array");
	is_error(PROC(", \"user\": []"), "process.user: must be an object");
	is_error(PROC(", \"capabilities\": {\"bounding\": [\"CAP_FOO\"]}"),
		 "process.capabilities.bounding: unknown capability \"CAP_FOO\"");
	is_error(PROC(", \"capabilities\": {\"ambient\": [\"cap_chown\"]}"),
		 "process.capabilities.ambient: unknown capability \"cap_chown\"");
	is_error(PROC(", \"capabilities\": {\"effective\": \"CAP_CHOWN\"}"),
		 "process.capabilities.effective: must be an array of strings");
	is_error(PROC(", \"capabilities\": []"), "process.capabilities: must be an object");
	is_error(PROC(", \"rlimits\": {}"), "process.rlimits: must be an array");
	is_error(PROC(", \"rlimits\": [1]"), "process.rlimits[0]: must be an object");
	is_error(PROC(", \"rlimits\": [{\"soft\": 1}]"), "process.rlimits[0].type: required");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_FOO\"}]"),
		 "process.rlimits[0]: unknown rlimit type \"RLIMIT_FOO\"");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\"}, {\"type\": \"RLIMIT_CPU\"}]"),
		 "process.rlimits[1]: duplicate rlimit type \"RLIMIT_CPU\"");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": 5, \"hard\": 4}]"),
		 "process.rlimits[0]: soft limit 5 above hard limit 4");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": -2}]"),
		 "process.rlimits[0].soft: -2 out of range (-1 to 9223372036854775807)");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": -1}]"),
		 "process.rlimits[0]: soft limit -1 above hard limit 0");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"soft\": "
		      "118446744073709551615}]"),
		 "invalid JSON: too big integer at line 1, column 151");
	is_error(PROC(", \"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"hard\": true}]"),
		 "process.rlimits[0].hard: must be an integer");
}

static void test_mounts(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		TOP(", \"mounts\": [{\"destination\": \"/a\", \"type\": \"tmpfs\", \"source\": "
		    "\"tmpfs\", \"options\": [\"nosuid\", \"ro\", \"rw\", \"mode=755\", "
		    "\"size=1k\", \"rshared\"]}, {\"destination\": \"/b\", \"source\": \"/host\", "
		    "\"options\": [\"rbind\", \"rro\", \"rnosuid\", \"rsuid\", \"nodev\", \"dev\", "
		    "\"strictatime\", \"defaults\"]}, {\"destination\": \"/c\"}, {\"destination\": "
		    "\"/d\", \"type\": \"tmpfs\", \"options\": [\"tmpcopyup\", \"mode=1777\"]}]"),
		&err);
	struct oci_mount *m = s ? s->mounts : NULL;

	ok(s && s->n_mounts == 4, "four mounts");
	if (!m)
		return;
	is_str(m[0].type, "tmpfs", "type");
	is_str(m[0].source, "tmpfs", "source");
	is_int(m[0].flags, MS_NOSUID, "ro then rw leaves nosuid only");
	is_int(m[0].clear, MS_RDONLY, "rw recorded as cleared");
	is_int(m[0].propagation, MS_SHARED | MS_REC, "rshared");
	is_str(m[0].data, "mode=755,size=1k", "filesystem data");
	is_str(m[1].type, "bind", "a typeless rbind mount is type bind");
	is_int(m[1].flags, MS_BIND | MS_REC | MS_STRICTATIME, "rbind, strictatime");
	is_int(m[1].clear, MS_NODEV, "dev clears nodev");
	is_int(m[1].attr_set, MOUNT_ATTR_RDONLY, "rro");
	is_int(m[1].attr_clr, MOUNT_ATTR_NOSUID, "rsuid after rnosuid");
	ok(!m[1].data && !m[1].propagation, "no data, no propagation");
	ok(!m[2].type && !m[2].source && !m[2].flags && !m[2].data && !m[2].tmpcopyup,
	   "bare mount");
	ok(m[3].tmpcopyup && streq(m[3].data, "mode=1777"), "tmpcopyup is not filesystem data");
	oci_spec_free(s);
	is_error(TOP(", \"mounts\": [1]"), "mounts[0]: must be an object");
	is_error(TOP(", \"mounts\": [{\"type\": \"tmpfs\"}]"), "mounts[0].destination: required");
	is_error(TOP(", \"mounts\": [{\"destination\": \"/a\"}, {\"destination\": \"rel\"}]"),
		 "mounts[1].destination: must be an absolute path");
	is_error(TOP(", \"mounts\": [{\"destination\": \"/a\", \"type\": 3}]"),
		 "mounts[0].type: must be a string");
	is_error(TOP(", \"mounts\": [{\"destination\": \"/a\", \"source\": {}}]"),
		 "mounts[0].source: must be a string");
	is_error(TOP(", \"mounts\": [{\"destination\": \"/a\", \"options\": \"ro\"}]"),
		 "mounts[0].options: must be an array of strings");
	is_error(TOP(", \"mounts\": [{\"destination\": \"/a\", \"options\": [\"ro,nosuid\"]}]"),
		 "mounts[0].options[0]: must not contain a comma");
}

static void test_hooks(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		TOP(", \"hooks\": {\"prestart\": [{\"path\": \"/bin/a\"}], \"createRuntime\": "
		    "[{\"path\": \"/bin/b\", \"args\": [\"b\", \"x\"], \"env\": [\"E=1\"], "
		    "\"timeout\": 5}, {\"path\": \"/bin/c\"}], \"poststop\": [], \"unknown\": 1}"),
		&err);

	ok(s != NULL, "hooks parse");
	if (!s)
		return;
	is_int(s->hooks[OCI_HOOK_PRESTART].n, 1, "one prestart hook");
	is_str(s->hooks[OCI_HOOK_PRESTART].v[0].path, "/bin/a", "prestart path");
	ok(!s->hooks[OCI_HOOK_PRESTART].v[0].args && !s->hooks[OCI_HOOK_PRESTART].v[0].timeout,
	   "no args, no timeout");
	is_int(s->hooks[OCI_HOOK_CREATE_RUNTIME].n, 2, "two createRuntime hooks");
	is_str(s->hooks[OCI_HOOK_CREATE_RUNTIME].v[0].args[1], "x", "hook args");
	is_str(s->hooks[OCI_HOOK_CREATE_RUNTIME].v[0].env[0], "E=1", "hook env");
	is_int(s->hooks[OCI_HOOK_CREATE_RUNTIME].v[0].timeout, 5, "hook timeout");
	ok(s->hooks[OCI_HOOK_POSTSTOP].n == 0 && s->hooks[OCI_HOOK_POSTSTART].n == 0,
	   "empty and absent phases");
	is_str(oci_hook_name(OCI_HOOK_START_CONTAINER), "startContainer", "hook name");
	oci_spec_free(s);
	is_error(TOP(", \"hooks\": {\"poststart\": {}}"), "hooks.poststart: must be an array");
	is_error(TOP(", \"hooks\": {\"poststart\": [\"x\"]}"),
		 "hooks.poststart[0]: must be an object");
	is_error(TOP(", \"hooks\": {\"startContainer\": [{}]}"),
		 "hooks.startContainer[0].path: required");
	is_error(TOP(", \"hooks\": {\"createContainer\": [{\"path\": \"rel\"}]}"),
		 "hooks.createContainer[0].path: must be an absolute path");
	is_error(TOP(", \"hooks\": {\"poststop\": [{\"path\": \"/a\", \"timeout\": 0}]}"),
		 "hooks.poststop[0].timeout: 0 out of range (1 to 2147483647)");
	is_error(TOP(", \"hooks\": {\"poststop\": [{\"path\": \"/a\", \"args\": [1]}]}"),
		 "hooks.poststop[0].args: must be an array of strings");
	is_error(TOP(", \"hooks\": {\"poststop\": [{\"path\": \"/a\", \"env\": 1}]}"),
		 "hooks.poststop[0].env: must be an array of strings");
}

static void test_linux(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(
		LINUX("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": "
		      "\"/run/netns/x\"}, {\"type\": \"mount\"}, {\"type\": \"ipc\"}, {\"type\": "
		      "\"uts\"}, {\"type\": \"user\"}, {\"type\": \"cgroup\"}, {\"type\": "
		      "\"time\"}],"
		      "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": "
		      "65536}],"
		      "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 200000, \"size\": 1}, "
		      "{\"containerID\": 1, \"hostID\": 300000, \"size\": 10}], \"cgroupsPath\": "
		      "\"/default/c1\", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}, "
		      "\"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\", "
		      "\"/proc/bus\"], \"rootfsPropagation\": \"rslave\", \"devices\": [{\"path\": "
		      "\"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229}], "
		      "\"seccomp\": "
		      "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}, \"mountLabel\": \"x\", "
		      "\"intelRdt\": {}"),
		&err);
	struct oci_linux *l = s ? &s->lnx : NULL;

	ok(l != NULL, "linux with every field parses");
	if (!l)
		return;
	is_int(l->n_namespaces, 8, "eight namespaces");
	ok(l->namespaces[0].type == OCI_NS_PID && !l->namespaces[0].path, "pid, new");
	ok(l->namespaces[1].type == OCI_NS_NETWORK && streq(l->namespaces[1].path, "/run/netns/x"),
	   "network, joined");
	ok(l->namespaces[7].type == OCI_NS_TIME, "time");
	is_str(oci_ns_name(OCI_NS_CGROUP), "cgroup", "ns name");
	ok(l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == 100000 &&
		   l->uid_mappings[0].size == 65536,
	   "uidMappings");
	ok(l->n_gid_mappings == 2 && l->gid_mappings[1].container_id == 1 &&
		   l->gid_mappings[1].host_id == 300000 && l->gid_mappings[1].size == 10,
	   "gidMappings");
	is_str(l->cgroups_path, "/default/c1", "cgroupsPath");
	is_str(jsonutil_str(l->sysctl, "net.ipv4.ip_forward"), "1", "sysctl");
	ok(streq(l->masked_paths[0], "/proc/kcore") && !l->masked_paths[1], "maskedPaths");
	ok(streq(l->readonly_paths[1], "/proc/bus") && !l->readonly_paths[2], "readonlyPaths");
	is_int(l->rootfs_propagation, MS_SLAVE | MS_REC, "rootfsPropagation");
	ok(json_array_size(l->devices) == 1, "devices kept");
	is_str(jsonutil_str(l->seccomp, "defaultAction"), "SCMP_ACT_ALLOW", "seccomp kept");
	oci_spec_free(s);
}

static void test_linux_errors(void)
{
	is_error(LINUX("\"namespaces\": {}"), "linux.namespaces: must be an array");
	is_error(LINUX("\"namespaces\": [\"pid\"]"), "linux.namespaces[0]: must be an object");
	is_error(LINUX("\"namespaces\": [{}]"), "linux.namespaces[0].type: required");
	is_error(LINUX("\"namespaces\": [{\"type\": \"net\"}]"),
		 "linux.namespaces[0].type: unknown namespace type \"net\"");
	is_error(LINUX("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]"),
		 "linux.namespaces[1].type: duplicate namespace type \"pid\"");
	is_error(LINUX("\"namespaces\": [{\"type\": \"pid\", \"path\": \"proc/1/ns/pid\"}]"),
		 "linux.namespaces[0].path: must be an absolute path");
	is_error(LINUX("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": "
		       "\"uts\"}, {\"type\": \"mount\"}, {\"type\": \"network\"}, {\"type\": "
		       "\"user\"}, {\"type\": \"cgroup\"}, {\"type\": \"time\"}, {\"type\": "
		       "\"pid\"}]"),
		 "linux.namespaces: more than 8 entries");
	is_error(LINUX("\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1}]"),
		 "linux.uidMappings[0]: containerID, hostID and size are required");
	is_error(LINUX("\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 0}]"),
		 "linux.gidMappings[0].size: 0 out of range (1 to 4294967295)");
	is_error(LINUX("\"gidMappings\": [{\"containerID\": -1, \"hostID\": 1, \"size\": 1}]"),
		 "linux.gidMappings[0].containerID: -1 out of range (0 to 4294967295)");
	is_error(LINUX("\"uidMappings\": [5]"), "linux.uidMappings[0]: must be an object");
	is_error(LINUX("\"cgroupsPath\": 1"), "linux.cgroupsPath: must be a string");
	is_error(LINUX("\"sysctl\": {\"a\": 1}"), "linux.sysctl.a: must be a string");
	is_error(LINUX("\"sysctl\": []"), "linux.sysctl: must be an object");
	is_error(LINUX("\"maskedPaths\": [\"proc\"]"),
		 "linux.maskedPaths[0]: must be an absolute path");
	is_error(LINUX("\"readonlyPaths\": [1]"),
		 "linux.readonlyPaths: must be an array of strings");
	is_error(LINUX("\"rootfsPropagation\": \"weird\""),
		 "linux.rootfsPropagation: unknown propagation \"weird\"");
	is_error(LINUX("\"seccomp\": []"), "linux.seccomp: must be an object");
	is_error(LINUX("\"devices\": {}"), "linux.devices: must be an array");
	is_error(LINUX("\"resources\": []"), "linux.resources: must be an object");
	is_error(LINUX("\"resources\": {\"memory\": {\"limit\": \"1G\"}}"),
		 "linux.resources.memory.limit: must be an integer");
	is_error(LINUX("\"resources\": {\"memory\": {\"swap\": -2}}"),
		 "linux.resources.memory.swap: -2 out of range (-1 to 9223372036854775807)");
	is_error(LINUX("\"resources\": {\"cpu\": {\"shares\": -1}}"),
		 "linux.resources.cpu.shares: -1 out of range (0 to 9223372036854775807)");
	is_error(LINUX("\"resources\": {\"cpu\": {\"cpus\": 1}}"),
		 "linux.resources.cpu.cpus: must be a string");
	is_error(LINUX("\"resources\": {\"blockIO\": {\"weight\": 5}}"),
		 "linux.resources.blockIO.weight: 5 out of range (10 to 1000)");
	is_error(LINUX("\"resources\": {\"blockIO\": {\"weight\": 1001}}"),
		 "linux.resources.blockIO.weight: 1001 out of range (0 to 1000)");
	is_error(LINUX("\"resources\": {\"pids\": {\"limit\": \"max\"}}"),
		 "linux.resources.pids.limit: must be an integer");
	is_error(LINUX("\"resources\": {\"devices\": {}}"),
		 "linux.resources.devices: must be an array");
}

static void test_err_prop(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = parse(PROC(", \"cwd\": 1"), &err);

	/* cwd given twice: the duplicate is caught by the JSON reader */
	ok(!s, "duplicate key refused");
	zh_error_clear(&err);
	s = parse(LINUX("\"maskedPaths\": [\"x\"]"), &err);
	ok(!s && err.errnum == EINVAL, "EINVAL");
	is_str(err.prop, "linux.maskedPaths[0]", "prop is the JSON path");
	zh_error_clear(&err);
}

/* ---- config.json in a bundle -------------------------------------------- */

static char bundle[64];

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", bundle, name);
	f = fopen(p, "we");
	fputs(text, f);
	fclose(f);
}

static char *load_error(const char *b)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = oci_config_load(AT_FDCWD, b, &err);
	char *m = strdup(s ? "" : err.msg);

	oci_spec_free(s);
	zh_error_clear(&err);
	return m;
}

#define is_load_error(b, want)                      \
	do {                                        \
		char *_m = load_error(b);           \
		is_str(_m, want, "load: %s", want); \
		free(_m);                           \
	} while (0)

static void test_load_errors(void)
{
	char want[256], p[128];

	is_load_error("/nonexistent-bundle-dir",
		      "open /nonexistent-bundle-dir/config.json: No such file or directory");
	snprintf(want, sizeof(want), "open %s/config.json: No such file or directory", bundle);
	is_load_error(bundle, want);
	snprintf(p, sizeof(p), "%s/config.json", bundle);
	ok(mkfifo(p, 0600) == 0, "a FIFO as config.json");
	snprintf(want, sizeof(want), "open %s/config.json: not a regular file", bundle);
	is_load_error(bundle, want);
	unlink(p);
	ok(symlink("/etc/hostname", p) == 0, "a symlink as config.json");
	snprintf(want, sizeof(want), "open %s/config.json: is a symbolic link", bundle);
	is_load_error(bundle, want);
	unlink(p);
	put("config.json", "{\"ociVersion\": ");
	is_load_error(bundle, "config.json: invalid JSON: unexpected token near end of file at "
			      "line 1, column 15");
	put("config.json", TOP(", \"mounts\": [{}]"));
	is_load_error(bundle, "config.json: mounts[0].destination: required");
	ok(truncate(p, OCI_CONFIG_MAX + 1) == 0, "config.json past the size bound");
	is_load_error(bundle, "config.json: larger than 4194304 bytes");
	unlink(p);
}

static void test_load(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s;
	char want[128], slash[80];
	int dfd;

	put("config.json", TOP(""));
	s = oci_config_load(AT_FDCWD, bundle, &err);
	snprintf(want, sizeof(want), "%s/rootfs", bundle);
	ok(s && streq(s->root_path, want), "relative root.path joined to the bundle");
	oci_spec_free(s);
	snprintf(slash, sizeof(slash), "%s/", bundle);
	s = oci_config_load(AT_FDCWD, slash, &err);
	ok(s && streq(s->root_path, want), "bundle with a trailing slash");
	oci_spec_free(s);
	put("config.json", "{\"ociVersion\": \"1.0.0\", " MIN_PROC ", \"root\": {\"path\": "
			   "\"./rootfs\"}}");
	s = oci_config_load(AT_FDCWD, bundle, &err);
	ok(s && streq(s->root_path, want), "./rootfs");
	oci_spec_free(s);
	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s = oci_config_load(dfd, ".", &err);
	ok(s && streq(s->root_path, "./rootfs"), "dirfd and bundle \".\"");
	oci_spec_free(s);
	ok(fchdir(dfd) == 0, "into the bundle");
	s = oci_config_load(AT_FDCWD, "", &err);
	ok(s && streq(s->root_path, "./rootfs"), "bundle \"\": the current directory");
	oci_spec_free(s);
	ok(chdir("/") == 0, "back to /");
	close(dfd);
	unlink(strcat(slash, "config.json"));
}

/* ---- real configs --------------------------------------------------------- */

static struct oci_spec *load_file(const char *name, struct zh_error *err)
{
	char p[512];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", datadir, name);
	f = fopen(p, "re");
	if (!f)
		return NULL;
	text = calloc(1, OCI_CONFIG_MAX);
	len = fread(text, 1, OCI_CONFIG_MAX, f);
	fclose(f);
	return oci_config_parse(text, len, err);
}

static void test_containerd(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = load_file("containerd.json", &err);
	uint64_t caps = 0;

	ok(s != NULL, "containerd's config parses: %s", err.msg ? err.msg : "");
	if (!s)
		return;
	is_str(s->oci_version, "1.0.2-dev", "ociVersion 1.0.2-dev");
	is_str(s->process->args[2], "exit 3", "args");
	ok(s->process->no_new_privileges, "noNewPrivileges");
	for (const char *c = "0 1 3 4 5 6 7 8 10 13 18 27 29 31"; *c;) {
		caps |= UINT64_C(1) << strtoul(c, (char **)&c, 10);
		while (*c == ' ')
			c++;
	}
	is_int(s->process->caps[OCI_CAP_BOUNDING], caps, "bounding set");
	is_int(s->process->caps[OCI_CAP_PERMITTED], caps, "permitted set");
	ok(!s->process->has_caps[OCI_CAP_AMBIENT], "no ambient set");
	ok(s->process->n_rlimits == 1 && s->process->rlimits[0].soft == 1024, "RLIMIT_NOFILE");
	is_int(s->n_mounts, 7, "seven mounts");
	is_str(s->mounts[1].data, "mode=755,size=65536k", "/dev tmpfs data");
	is_str(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts data");
	is_int(s->mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, "/sys flags");
	is_int(s->lnx.n_namespaces, 5, "five namespaces");
	is_int(s->lnx.resources.set, 0, "no resource limits");
	ok(json_array_size(s->lnx.resources.devices) == 1, "device rules kept");
	is_str(s->lnx.cgroups_path, "/default/c1", "cgroupsPath");
	ok(s->lnx.masked_paths && s->lnx.readonly_paths, "masked and readonly paths");
	oci_spec_free(s);
}

static void test_podman(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct oci_spec *s = load_file("podman.json", &err);

	ok(s != NULL, "a Podman config parses: %s", err.msg ? err.msg : "");
	if (!s)
		return;
	ok(s->process->terminal && s->process->console_width == 120, "terminal");
	ok(s->process->uid == 1000 && s->process->umask == 022 &&
		   s->process->n_additional_gids == 2,
	   "user");
	is_str(s->root_path, "/var/lib/containers/storage/vfs/dir/5f0c6a1b2c3d/", "absolute root");
	is_int(s->n_mounts, 10, "ten mounts");
	is_int(s->mounts[5].flags, MS_BIND, "bind");
	is_int(s->mounts[5].propagation, MS_PRIVATE | MS_REC, "rprivate");
	is_str(s->lnx.namespaces[1].path, "/run/netns/netns-4f0a5e7c", "joined netns");
	is_int(s->lnx.resources.pids_limit, 2048, "pids.limit");
	is_str(jsonutil_str(s->annotations, "io.container.manager"), "libpod", "annotation");
	ok(s->lnx.seccomp != NULL, "seccomp profile kept");
	oci_spec_free(s);
}

static void test_process_parse(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *j = "{\"args\": [\"ls\", \"-l\"], \"cwd\": \"/tmp\", \"terminal\": true}";
	struct oci_process *p = oci_process_parse(j, strlen(j), &err);

	ok(p && p->terminal && streq(p->args[1], "-l"), "exec --process object parses");
	oci_process_free(p);
	j = "{\"args\": [], \"cwd\": \"/\"}";
	p = oci_process_parse(j, strlen(j), &err);
	ok(!p, "exec --process without args fails");
	is_str(err.msg, "process.args: must be a non-empty array of strings", "its message");
	zh_error_clear(&err);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		datadir = argv[1];
	snprintf(bundle, sizeof(bundle), "/tmp/test-oci.XXXXXX");
	if (!mkdtemp(bundle))
		tap_skip_all("no temporary directory");
	test_minimal();
	test_process();
	test_top_fields();
	test_u64_max();
	test_versions();
	test_top_errors();
	test_process_errors();
	test_mounts();
	test_hooks();
	test_linux();
	test_linux_errors();
	test_err_prop();
	test_load_errors();
	test_load();
	test_containerd();
	test_podman();
	test_process_parse();
	rmdir(bundle);
	return tap_done();
}

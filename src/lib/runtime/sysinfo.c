/*
 * sysinfo.c - host facts for `zonehost sysinfo` and vmadm's read-only
 * properties.  See sysinfo.h for the contract and the KVM probe.
 *
 * Owns nothing; every reader here is bounded and side-effect free.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "config.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "net.h"
#include "paths.h"
#include "pool.h"
#include "accel.h"
#include "sysinfo.h"

#define CPUINFO_MAX (4u << 20)

/* ---- probes ---- */

int sysinfo_cgroup_version(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return 2;
	return 1;
}

/* "flags : ... vmx ..." in the first processor block: "vmx", "svm" or NULL. */
static const char *cpu_virt(const char *cpuinfo)
{
	const char *f = strstr(cpuinfo, "\nflags");
	const char *eol;

	if (!f)
		return NULL;
	eol = strchr(f + 1, '\n');
	for (const char *w = f; w && w < (eol ? eol : w + strlen(w)); w++) {
		if ((w[0] == ' ') && (!strncmp(w + 1, "vmx", 3) || !strncmp(w + 1, "svm", 3)) &&
		    (w[4] == ' ' || w[4] == '\n' || w[4] == '\0'))
			return w[1] == 'v' ? "vmx" : "svm";
	}
	return NULL;
}

static char *read_cpuinfo(void)
{
	char *buf = NULL;
	size_t len = 0;

	if (fsutil_read_all("/proc/cpuinfo", CPUINFO_MAX, &buf, &len, NULL) < 0)
		return NULL;
	return buf;
}

static bool kvm_api_ok(void)
{
	_cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd >= 0 && ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

static bool kvm_usable_with(const char *cpuinfo)
{
	if (!cpuinfo || !cpu_virt(cpuinfo))
		return false;
	if (fsutil_exists("/sys/module/kvm_pvm"))
		return false;
	return kvm_api_ok();
}

bool sysinfo_kvm_usable(void)
{
	_cleanup_free_ char *ci = read_cpuinfo();

	return kvm_usable_with(ci);
}

/* ---- host identity ---- */

/* 32 hex digits (machine-id) -> 8-4-4-4-12 lowercase. */
static bool uuid_from_hex(const char *hex, char out[37])
{
	static const int dash[] = {8, 12, 16, 20};
	size_t o = 0, d = 0;

	for (size_t i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)hex[i]))
			return false;
		if (d < ARRAY_SIZE(dash) && (int)i == dash[d]) {
			out[o++] = '-';
			d++;
		}
		out[o++] = (char)tolower((unsigned char)hex[i]);
	}
	out[o] = '\0';
	return true;
}

static void host_uuid(char out[37])
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (fsutil_read_all("/sys/class/dmi/id/product_uuid", 128, &buf, &len, NULL) == 0 &&
	    len >= 36) {
		for (size_t i = 0; i < 36; i++)
			out[i] = (char)tolower((unsigned char)buf[i]);
		out[36] = '\0';
		return;
	}
	freep(&buf);
	if (fsutil_read_all("/etc/machine-id", 128, &buf, &len, NULL) == 0 && len >= 32)
		uuid_from_hex(buf, out);
}

static long long boot_time(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	long long bt = 0;

	while (f && getline(&line, &cap, f) > 0)
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	return bt;
}

static json_t *cpu_fields(json_t *o, const char *ci)
{
	const char *m = ci ? strstr(ci, "model name") : NULL;
	const char *v = ci ? cpu_virt(ci) : NULL;
	char model[256] = "";

	if (m && (m = strchr(m, ':')))
		sscanf(m + 1, " %255[^\n]", model);
	json_object_set_new(o, "CPU Type", json_string(model));
	json_object_set_new(o, "CPU Virtualization", json_string(v ? v : "none"));
	json_object_set_new(o, "CPU Total Cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	return o;
}

/* "Zpool" and "Zpool Size in GiB" of the default pool, if recorded and mounted. */
static void pool_fields(json_t *o)
{
	struct zh_error e = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	struct statvfs sv;

	if (pool_load(POOL_DEFAULT_NAME, &p, &e) < 0) {
		zh_error_clear(&e);
		return;
	}
	json_object_set_new(o, "Zpool", json_string(p->name));
	if (pool_is_mounted(p) && statvfs(p->mountpoint, &sv) == 0)
		json_object_set_new(
			o, "Zpool Size in GiB",
			json_integer((json_int_t)((uint64_t)sv.f_blocks * sv.f_frsize >> 30)));
}

/* "NIC Tags": the names of the recorded nic tags (net.h), sorted. */
static json_t *nictag_names(void)
{
	struct zh_error e = ZH_ERROR_INIT;
	struct net_nictag *tags = NULL;
	json_t *a = json_array();
	size_t n = 0;

	if (a && net_nictag_list(&tags, &n, &e) == 0)
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(tags[i].name));
	zh_error_clear(&e);
	net_nictags_free(tags, n);
	return a;
}

static json_t *zonehost_fields(const char *ci)
{
	struct utsname u;

	if (uname(&u) < 0)
		u.release[0] = '\0';
	return json_pack("{s:i, s:b, s:b, s:s, s:s}", "cgroup_version", sysinfo_cgroup_version(),
			 "kvm_usable", kvm_usable_with(ci), "idmapped_mounts",
			 sysinfo_idmapped_mounts(), "version", ZH_VERSION, "kernel", u.release);
}

/* "HVM Accelerator" (kvm or tcg) and why (accel.c, docs/architecture.md §22). */
static int accel_fields(json_t *o)
{
	char why[256];
	bool kvm;

	accel_decide(&kvm, why, sizeof(why));
	if (json_object_set_new(o, "HVM Accelerator", json_string(kvm ? "kvm" : "tcg")) < 0)
		return -1;
	return json_object_set_new(o, "HVM Accelerator Reason", json_string(why));
}

int sysinfo_collect(json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *ci = read_cpuinfo();
	_cleanup_json_ json_t *o = NULL;
	struct sysinfo si;
	struct utsname u;
	char uuid[37], mib[32], bt[32];

	host_uuid(uuid);
	if (uname(&u) < 0 || sysinfo(&si) < 0)
		return zh_error_set(err, errno, NULL, "cannot read host information: %m");
	snprintf(mib, sizeof(mib), "%llu", (unsigned long long)si.totalram * si.mem_unit >> 20);
	snprintf(bt, sizeof(bt), "%lld", boot_time());
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:{}, s:{}, s:{}, s:o*, s:o*}", "UUID",
		      uuid, "Hostname", u.nodename, "System Type", "Linux", "Live Image",
		      ZH_VERSION, "MiB of Memory", mib, "Boot Time", bt, "VM Capable", true,
		      "Network Interfaces", "Virtual Network Interfaces", "Link Aggregations",
		      "NIC Tags", nictag_names(), "zonehost", zonehost_fields(ci));
	if (!o || !cpu_fields(o, ci))
		return zh_error_oom(err);
	pool_fields(o);
	if (accel_fields(o) < 0 ||
	    json_object_set_new(o, "Zone Features", sysinfo_zone_features()) < 0)
		return zh_error_oom(err);
	*out = TAKE_PTR(o);
	return 0;
}

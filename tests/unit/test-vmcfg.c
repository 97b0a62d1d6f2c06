/*
 * test-vmcfg.c - unit tests of the validate / create / update pipeline.
 */
#include <string.h>

#include "jsonutil.h"
#include "tap.h"
#include "props.h"
#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg.h"

#define IMG   "11111111-2222-4333-8444-555555555555"
#define LXIMG "66666666-2222-4333-8444-555555555555"
#define VMU   "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define MIN_J "\"brand\":\"joyent\",\"image_uuid\":\"" IMG "\""

/* ---- stub host ---- */

static json_t *others;
static char warnings[4096];
static int nwarn;

static int stub_image_type(void *ctx, const char *zpool, const char *uuid, char *buf, size_t len)
{
	if (strcmp(uuid, IMG) == 0)
		snprintf(buf, len, "zone-dataset");
	else if (strcmp(uuid, LXIMG) == 0)
		snprintf(buf, len, "lx-dataset");
	else
		return -ENOENT;
	return 0;
}

static bool stub_pool(void *ctx, const char *name)
{
	return strcmp(name, "zones") == 0 || strcmp(name, "data") == 0;
}

static bool stub_tag(void *ctx, const char *tag)
{
	return strcmp(tag, "nope") != 0;
}

static bool stub_exists(void *ctx, const char *uuid)
{
	return strcmp(uuid, VMU) == 0;
}

static struct vmcfg_env env = {
	.image_type = stub_image_type,
	.pool_exists = stub_pool,
	.nic_tag_exists = stub_tag,
	.vm_exists = stub_exists,
};

static void warn_cb(void *ctx, const char *line)
{
	size_t n = strlen(warnings);

	nwarn++;
	snprintf(warnings + n, sizeof(warnings) - n, "%s\n", line);
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		printf("# bad test JSON: %s (%s)\n", text, e.text);
	return j;
}

/* ---- validate helpers ---- */

static char *report_of(const char *brand, enum vmcfg_action a, const char *text, int *rc)
{
	struct vmcfg_report rep = VMCFG_REPORT_INIT;
	json_t *p = js(text), *o;
	char *s;

	*rc = vmcfg_validate(brand, a, p, &env, &rep);
	o = vmcfg_report_json(&rep);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	json_decref(p);
	vmcfg_report_clear(&rep);
	return s;
}

static void check_validate(const char *brand, enum vmcfg_action a, const char *text, int want_rc,
			   const char *want, const char *name)
{
	int rc;
	char *got = report_of(brand, a, text, &rc);

	is_int(rc, want_rc, "%s: rc", name);
	is_str(got, want, "%s: report", name);
	free(got);
}

#define EMPTY "{\"bad_properties\":[],\"bad_values\":[],\"missing_properties\":[]}"
#define REP(bp, bv, mp) \
	"{\"bad_properties\":[" bp "],\"bad_values\":[" bv "],\"missing_properties\":[" mp "]}"

static void test_validate(void)
{
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J "}", 0, EMPTY, "minimal ok");
	check_validate(NULL, VMCFG_CREATE, "{\"image_uuid\":\"" IMG "\"}", -EINVAL,
		       "{\"bad_brand\":\"undefined\"}", "no brand");
	check_validate(NULL, VMCFG_CREATE, "{\"brand\":\"solaris\"}", -EINVAL,
		       "{\"bad_brand\":\"solaris\"}", "unknown brand");
	check_validate("lx", VMCFG_CREATE, "{\"brand\":\"joyent\"}", -EINVAL,
		       REP("", "", "\"image_uuid\",\"kernel_version\""),
		       "explicit brand wins; lx requires two");
	check_validate(NULL, VMCFG_CREATE, "{\"brand\":\"joyent\"}", -EINVAL,
		       REP("", "", "\"image_uuid\""), "missing image_uuid");
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J ",\"vcpus\":2,\"foo\":1,\"state\":\"x\"}",
		       -EINVAL, REP("\"vcpus\",\"foo\",\"state\"", "", ""), "bad properties");
	check_validate(NULL, VMCFG_CREATE,
		       "{" MIN_J ",\"cpu_shares\":-1,\"autoboot\":\"yes\","
		       "\"max_swap\":100}",
		       -EINVAL, REP("", "\"cpu_shares\",\"autoboot\",\"max_swap\"", ""),
		       "bad values");
	check_validate(NULL, VMCFG_CREATE,
		       "{" MIN_J ",\"nics\":[{\"nic_tag\":\"admin\","
		       "\"allow_unfiltered_promisc\":true,\"vlan_id\":5000,"
		       "\"bogus\":1}]}",
		       -EINVAL,
		       REP("\"nics.*.allow_unfiltered_promisc\",\"nics.*.bogus\"",
			   "\"nics.*.vlan_id\"", ""),
		       "nic sub-properties");
	check_validate("kvm", VMCFG_CREATE,
		       "{\"brand\":\"kvm\",\"nics\":[{\"nic_tag\":\"admin\","
		       "\"allow_unfiltered_promisc\":true,\"model\":\"virtio\"}],"
		       "\"disks\":[{\"size\":1024,\"model\":\"virtio\"}],"
		       "\"vcpus\":2,\"ram\":1024}",
		       0, EMPTY, "kvm payload valid");
	check_validate(NULL, VMCFG_CREATE,
		       "{\"brand\":\"bhyve\",\"disks\":[{\"dangerous_allow_shrink\":"
		       "true}]}",
		       -EINVAL, REP("\"disks.*.dangerous_allow_shrink\"", "", ""),
		       "bhyve disk update-only sub-prop on create");
	check_validate(NULL, VMCFG_CREATE, "{\"brand\":\"joyent\",\"image_uuid\":\"" LXIMG "\"}",
		       -EINVAL, REP("", "\"image_uuid\"", ""), "lx image for joyent");
	check_validate(NULL, VMCFG_CREATE,
		       "{\"brand\":\"joyent\",\"image_uuid\":"
		       "\"99999999-2222-4333-8444-555555555555\"}",
		       -EINVAL, REP("", "\"image_uuid\"", ""), "image not installed");
	check_validate(NULL, VMCFG_CREATE,
		       "{\"brand\":\"lx\",\"image_uuid\":\"" LXIMG "\","
		       "\"kernel_version\":\"3.13.0\"}",
		       0, EMPTY, "lx valid");
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J ",\"zpool\":\"tank\"}", -EINVAL,
		       REP("", "\"zpool\"", ""), "unknown zpool");
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J ",\"zpool\":\"data\"}", 0, EMPTY,
		       "other zpool ok");
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J ",\"uuid\":\"bad\"}", -EINVAL,
		       REP("", "\"uuid\"", ""), "bad uuid");
	check_validate(NULL, VMCFG_CREATE, "{" MIN_J ",\"create_timestamp\":\"x\",\"v\":1}",
		       -EINVAL, REP("\"create_timestamp\",\"v\"", "", ""),
		       "receive-only props on create");
	check_validate(NULL, VMCFG_RECEIVE, "{" MIN_J ",\"create_timestamp\":\"x\",\"v\":1}", 0,
		       EMPTY, "receive-only props on receive");
	check_validate("joyent", VMCFG_UPDATE, "{\"uuid\":\"" IMG "\",\"alias\":\"x\",\"tags\":{}}",
		       -EINVAL, REP("\"uuid\",\"tags\"", "", ""), "update create-only");
	check_validate("joyent", VMCFG_UPDATE,
		       "{\"set_tags\":{\"a\":1},\"remove_tags\":[\"b\"],"
		       "\"update_nics\":[{\"mac\":\"b2:00:00:00:00:01\","
		       "\"primary\":true}],\"quota\":\"20\"}",
		       0, EMPTY, "update special keys");
	check_validate("joyent", VMCFG_UPDATE,
		       "{\"update_nics\":[{\"model\":\"virtio\"}],"
		       "\"add_disks\":[]}",
		       -EINVAL, REP("\"nics.*.model\",\"add_disks\"", "", ""),
		       "update sub-prop names");
	check_validate("joyent", VMCFG_UPDATE, "{}", 0, EMPTY, "empty update");
	check_validate("kvm", VMCFG_UPDATE,
		       "{\"update_disks\":[{\"block_size\":"
		       "512}]}",
		       -EINVAL, REP("\"disks.*.block_size\"", "", ""), "block_size not updatable");
	check_validate("bogus", VMCFG_UPDATE, "{}", -EINVAL, "{\"bad_brand\":\"bogus\"}",
		       "update unknown brand");
}

/* ---- create helpers ---- */

static json_t *create_ok(const char *text, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *vm = NULL;
	int r;

	warnings[0] = '\0';
	nwarn = 0;
	r = vmcfg_create(p, &env, warn_cb, NULL, &vm, &err);
	if (!ok(r == 0, "%s: create succeeds", name))
		printf("#   error: %s\n", err.msg);
	zh_error_clear(&err);
	json_decref(p);
	return vm;
}

static void create_fails(const char *text, const char *msg, const char *prop, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *vm = NULL;
	int r;

	warnings[0] = '\0';
	r = vmcfg_create(p, &env, warn_cb, NULL, &vm, &err);
	ok(r < 0 && vm == NULL, "%s: create fails", name);
	is_str(err.msg, msg, "%s: message", name);
	if (prop)
		is_str(err.prop, prop, "%s: prop", name);
	zh_error_clear(&err);
	json_decref(vm);
	json_decref(p);
}

static void is_json(const json_t *j, const char *want, const char *name)
{
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	is_str(got ? got : "(null)", want, "%s", name);
	free(got);
}

static void is_member(const json_t *o, const char *k, const char *want, const char *name)
{
	json_t *v = json_object_get(o, k);

	if (!want) {
		ok(v == NULL, "%s: %s absent", name, k);
		return;
	}
	is_json(v, want, name);
}

static void test_create_minimal(void)
{
	json_t *vm = create_ok("{" MIN_J "}", "minimal");
	const char *u = jsonutil_str(vm, "uuid");
	static const char *const want[][2] = {
		{"autoboot", "true"},
		{"brand", "\"joyent\""},
		{"billing_id", "\"00000000-0000-0000-0000-000000000000\""},
		{"owner_uuid", "\"00000000-0000-0000-0000-000000000000\""},
		{"cpu_shares", "100"},
		{"customer_metadata", "{}"},
		{"internal_metadata", "{}"},
		{"tags", "{}"},
		{"routes", "{}"},
		{"resolvers", "[]"},
		{"nics", "[]"},
		{"dns_domain", "\"local\""},
		{"firewall_enabled", "false"},
		{"limit_priv", "\"default\""},
		{"max_locked_memory", "256"},
		{"max_physical_memory", "256"},
		{"max_shm_memory", "256"},
		{"max_swap", "256"},
		{"tmpfs", "256"},
		{"max_lwps", "2000"},
		{"max_msg_ids", "4096"},
		{"max_sem_ids", "4096"},
		{"max_shm_ids", "4096"},
		{"quota", "10"},
		{"v", "1"},
		{"zfs_io_priority", "100"},
		{"zfs_root_recsize", "131072"},
		{"zpool", "\"zones\""},
		{"image_uuid", "\"" IMG "\""},
	};

	if (!vm)
		return;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_member(vm, want[i][0], want[i][1], want[i][0]);
	ok(util_is_uuid(u), "generated uuid is a v4 uuid");
	is_str(jsonutil_str(vm, "zonename"), u, "zonename = uuid");
	ok(jsonutil_str(vm, "create_timestamp") &&
		   strlen(jsonutil_str(vm, "create_timestamp")) == 24,
	   "create_timestamp ISO with ms");
	is_member(vm, "ram", NULL, "OS VM stores no ram");
	is_member(vm, "hostname", NULL, "hostname not defaulted");
	is_member(vm, "do_not_inventory", NULL, "do_not_inventory not shown");
	is_member(vm, "state", NULL, "no derived state");
	is_int(json_object_size(vm), 32, "minimal config has 32 members");
	is_int(nwarn, 0, "no warnings");
	json_decref(vm);
}

static void test_create_defaults(void)
{
	json_t *vm;

	vm = create_ok("{\"image_uuid\":\"" IMG "\"}", "brand defaults");
	is_member(vm, "brand", "\"joyent\"", "brand defaults to joyent");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"ram\":1024}", "ram");
	is_member(vm, "max_physical_memory", "1024", "ram -> max_physical");
	is_member(vm, "max_locked_memory", "1024", "ram -> max_locked");
	is_member(vm, "max_swap", "1024", "ram -> max_swap");
	is_member(vm, "max_shm_memory", "1024", "ram -> max_shm");
	is_member(vm, "tmpfs", "1024", "ram -> tmpfs");
	is_member(vm, "ram", NULL, "ram dropped");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"max_physical_memory\":128}", "small");
	is_member(vm, "max_swap", "256", "max_swap at least 256");
	is_member(vm, "max_locked_memory", "128", "locked = phys");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"max_physical_memory\":512,\"ram\":2048,"
		       "\"tmpfs\":4096,\"max_swap\":1024,\"max_locked_memory\":100}",
		       "explicit memory");
	is_member(vm, "max_physical_memory", "512", "explicit phys wins");
	is_member(vm, "tmpfs", "512", "tmpfs clamped");
	is_member(vm, "max_swap", "1024", "explicit swap kept");
	is_member(vm, "max_locked_memory", "100", "explicit locked kept");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"tmpfs\":0}", "tmpfs 0");
	is_member(vm, "tmpfs", "0", "tmpfs 0 kept");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"cpu_shares\":100000}", "shares cap");
	is_member(vm, "cpu_shares", "65535", "cpu_shares capped");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"uuid\":\"" IMG "\",\"zonename\":\"z1\","
		       "\"hostname\":\"h\",\"alias\":\"a\",\"autoboot\":false,"
		       "\"quota\":0,\"limit_priv\":[\"default\",\"-net_access\"]}",
		       "given values");
	is_member(vm, "uuid", "\"" IMG "\"", "given uuid kept");
	is_member(vm, "zonename", "\"z1\"", "given zonename");
	is_member(vm, "hostname", "\"h\"", "given hostname");
	is_member(vm, "alias", "\"a\"", "given alias");
	is_member(vm, "autoboot", "false", "given autoboot");
	is_member(vm, "quota", "0", "quota 0 kept");
	is_member(vm, "limit_priv", "\"default,-net_access\"", "limit_priv joined");
	json_decref(vm);

	vm = create_ok("{\"brand\":\"lx\",\"image_uuid\":\"" LXIMG "\","
		       "\"kernel_version\":\"3.13.0\","
		       "\"nics\":[{\"nic_tag\":\"admin\",\"ips\":[\"dhcp\"]},"
		       "{\"nic_tag\":\"admin\",\"ips\":[\"addrconf\"]}]}",
		       "lx");
	is_str(jsonutil_str(json_array_get(json_object_get(vm, "nics"), 0), "interface"), "eth0",
	       "lx eth0");
	is_str(jsonutil_str(json_array_get(json_object_get(vm, "nics"), 1), "interface"), "eth1",
	       "lx eth1");
	is_member(vm, "kernel_version", "\"3.13.0\"", "kernel_version kept");
	json_decref(vm);

	vm = create_ok("{\"brand\":\"joyent-minimal\",\"image_uuid\":\"" IMG "\","
		       "\"docker\":true}",
		       "joyent-minimal docker");
	is_member(vm, "docker", "true", "docker stored");
	json_decref(vm);

	vm = create_ok("{\"brand\":\"builder\",\"image_uuid\":\"" IMG "\"}", "builder");
	is_member(vm, "brand", "\"builder\"", "builder brand");
	json_decref(vm);
}

static void test_create_coercion(void)
{
	json_t *vm;

	vm = create_ok("{" MIN_J ",\"cpu_shares\":\"50\",\"quota\":\"\","
		       "\"alias\":null,\"autoboot\":\"false\","
		       "\"resolvers\":\"8.8.8.8,8.8.4.4\",\"max_lwps\":\"\","
		       "\"firewall_enabled\":1,\"do_not_inventory\":\"1\","
		       "\"fs_allowed\":[\"ufs\",\"pcfs\"]}",
		       "coercion");
	is_member(vm, "cpu_shares", "50", "integer string -> number");
	is_member(vm, "quota", "0", "quota '' -> 0");
	is_member(vm, "alias", NULL, "null -> unset");
	is_member(vm, "autoboot", "false", "'false' -> false");
	is_member(vm, "resolvers", "[\"8.8.8.8\",\"8.8.4.4\"]", "list split");
	is_member(vm, "max_lwps", "2000", "'' -> unset -> default");
	is_member(vm, "firewall_enabled", "true", "1 -> true");
	is_member(vm, "do_not_inventory", "true", "'1' -> true");
	is_member(vm, "fs_allowed", "\"ufs,pcfs\"", "fs_allowed joined");
	json_decref(vm);

	vm = create_ok("{\"brand\":\"joyent\",\"dataset_uuid\":\"" IMG "\","
		       "\"zfs_storage_pool_name\":\"data\"}",
		       "renames");
	is_member(vm, "image_uuid", "\"" IMG "\"", "dataset_uuid -> image_uuid");
	is_member(vm, "dataset_uuid", NULL, "dataset_uuid gone");
	is_member(vm, "zpool", "\"data\"", "zfs_storage_pool_name -> zpool");
	json_decref(vm);

	create_fails("{" MIN_J ",\"cpu_shares\":\"lots\"}",
		     "Invalid value for cpu_shares: \"lots\"", "cpu_shares", "NaN integer");
	create_fails("{" MIN_J ",\"cpu_cap\":\"1.5\"}", "Invalid value(s) for: cpu_cap", "cpu_cap",
		     "fraction");
	create_fails("{" MIN_J ",\"nics\":[{\"nic_tag\":\"a\",\"vlan_id\":\"x\"}]}",
		     "Invalid value for nics.*.vlan_id: \"x\"", "nics.*.vlan_id",
		     "NaN sub integer");
}

static void test_create_errors(void)
{
	create_fails("{\"brand\":\"solaris\",\"image_uuid\":\"" IMG "\"}", "Unsupported brand",
		     "brand", "unknown brand");
	create_fails("{\"brand\":5}", "Unsupported brand", "brand", "non-string brand");
	create_fails("{\"brand\":\"joyent\"}", "Missing required properties: image_uuid",
		     "image_uuid", "missing image");
	create_fails("{\"brand\":\"lx\"}", "Missing required properties: image_uuid,kernel_version",
		     "image_uuid", "lx missing two");
	create_fails("{\"brand\":\"lx\",\"image_uuid\":\"" IMG "\","
		     "\"kernel_version\":\"4.4\"}",
		     "Invalid value(s) for: image_uuid", "image_uuid", "zone-dataset image for lx");
	create_fails("{" MIN_J ",\"uuid\":\"" VMU "\"}", "VM with UUID " VMU " already exists",
		     "uuid", "exists");
	create_fails("{" MIN_J ",\"uuid\":\"NOT-A-UUID\"}", "Invalid value(s) for: uuid", "uuid",
		     "bad uuid");
	create_fails("{" MIN_J ",\"cpu_shares\":-5,\"max_lwps\":-1}",
		     "Invalid value(s) for: cpu_shares,max_lwps", "cpu_shares", "two bad values");
	create_fails("{\"brand\":\"joyent\",\"image_uuid\":\"x\"}",
		     "Invalid value(s) for: image_uuid", "image_uuid", "bad values before missing");
	create_fails("{" MIN_J ",\"zpool\":\"tank\"}", "Invalid value(s) for: zpool", "zpool",
		     "unknown pool");
	create_fails("{" MIN_J ",\"max_physical_memory\":512,"
		     "\"max_locked_memory\":1024}",
		     "max_locked_memory must be <= max_physical_memory", "max_locked_memory",
		     "locked > phys");
	create_fails("{" MIN_J ",\"max_physical_memory\":1024,\"max_swap\":512}",
		     "max_swap must be >= max_physical_memory", "max_swap", "swap < phys");
	create_fails("{" MIN_J ",\"zfs_root_recsize\":1000}",
		     "invalid zfs_root_recsize (1000), must be 512-131072 and a "
		     "power of 2. (0 to disable)",
		     "zfs_root_recsize", "recsize");
	create_fails("{" MIN_J ",\"zfs_data_recsize\":262144}",
		     "invalid zfs_data_recsize (262144), must be 512-131072 and "
		     "a power of 2. (0 to disable)",
		     "zfs_data_recsize", "data recsize too big");
	create_fails("{" MIN_J ",\"zfs_root_compression\":\"zstd\"}",
		     "invalid compression type for zstd, must be one of: on, off, "
		     "gzip, gzip-1, gzip-2, gzip-3, gzip-4, gzip-5, gzip-6, "
		     "gzip-7, gzip-8, gzip-9, lz4, lzjb, zle",
		     "zfs_root_compression", "compression");
	create_fails("{" MIN_J ",\"zfs_snapshot_limit\":-1}",
		     "invalid zfs_snapshot_limit (-1), must be a number >= 0 (or "
		     "'' to disable)",
		     "zfs_snapshot_limit", "snapshot limit");
	create_fails("{" MIN_J ",\"zfs_filesystem_limit\":\"-3\"}",
		     "invalid zfs_filesystem_limit (-3), must be a number >= 0 (or "
		     "'' to disable)",
		     "zfs_filesystem_limit", "fs limit");
}

static void test_create_zfs_ok(void)
{
	json_t *vm = create_ok("{" MIN_J ",\"zfs_root_recsize\":0,"
			       "\"zfs_data_recsize\":4096,\"zfs_root_compression\":"
			       "\"lz4\",\"zfs_snapshot_limit\":\"\","
			       "\"zfs_filesystem_limit\":5}",
			       "zfs ok");

	is_member(vm, "zfs_root_recsize", "131072", "recsize 0 -> 131072");
	is_member(vm, "zfs_data_recsize", "4096", "data recsize kept");
	is_member(vm, "zfs_root_compression", "\"lz4\"", "lz4 kept");
	is_member(vm, "zfs_snapshot_limit", NULL, "limit '' unset");
	is_member(vm, "zfs_filesystem_limit", "5", "limit kept");
	json_decref(vm);
}

static void test_create_strip(void)
{
	json_t *vm = create_ok("{" MIN_J ",\"vcpus\":4,\"state\":\"running\","
			       "\"nics\":[{\"nic_tag\":\"admin\",\"ips\":[\"dhcp\"],"
			       "\"allow_unfiltered_promisc\":true}]}",
			       "strip");
	json_t *nic = json_array_get(json_object_get(vm, "nics"), 0);

	is_member(vm, "vcpus", NULL, "vcpus stripped");
	is_member(vm, "state", NULL, "state stripped");
	is_member(nic, "allow_unfiltered_promisc", NULL, "sub-prop stripped");
	is_int(nwarn, 3, "three warnings");
	ok(strstr(warnings, "Warning, invalid create property: [vcpus] removing "
			    "from payload.\n") != NULL,
	   "vcpus warning text");
	ok(strstr(warnings, "[nics.*.allow_unfiltered_promisc]") != NULL, "sub-prop warning");
	json_decref(vm);
}

static json_t *nic_of(json_t *vm, size_t i)
{
	return json_array_get(json_object_get(vm, "nics"), i);
}

static void test_nics(void)
{
	json_t *vm, *n;
	const char *mac;

	vm = create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"admin\",\"ip\":"
		       "\"192.0.2.10\",\"netmask\":\"255.255.255.0\",\"gateway\":"
		       "\"192.0.2.1\"},{\"nic_tag\":\"external\",\"ips\":"
		       "[\"198.18.0.5/15\",\"2001:db8::5/64\"],\"mac\":"
		       "\"B2:1:2:3:4:5\",\"vlan_id\":\"7\",\"mtu\":\"1500\","
		       "\"allow_ip_spoofing\":\"true\"}]}",
		       "two nics");
	n = nic_of(vm, 0);
	is_member(n, "ips", "[\"192.0.2.10/24\"]", "ip+netmask -> ips");
	is_member(n, "gateways", "[\"192.0.2.1\"]", "gateway -> gateways");
	is_member(n, "ip", "\"192.0.2.10\"", "legacy ip");
	is_member(n, "netmask", "\"255.255.255.0\"", "legacy netmask");
	is_member(n, "gateway", "\"192.0.2.1\"", "legacy gateway");
	is_member(n, "interface", "\"net0\"", "net0");
	is_member(n, "primary", "true", "first NIC primary");
	mac = jsonutil_str(n, "mac");
	ok(mac && strlen(mac) == 17 && mac[1] == '2' && mac[0] != '0', "generated mac x2:..: %s",
	   mac ? mac : "(null)");
	n = nic_of(vm, 1);
	is_member(n, "mac", "\"b2:01:02:03:04:05\"", "mac normalised");
	is_member(n, "interface", "\"net1\"", "net1");
	is_member(n, "primary", NULL, "second not primary");
	is_member(n, "vlan_id", "7", "vlan coerced");
	is_member(n, "mtu", "1500", "mtu coerced");
	is_member(n, "allow_ip_spoofing", "true", "boolean coerced");
	is_member(n, "ip", "\"198.18.0.5\"", "legacy ip from ips");
	is_member(n, "netmask", "\"255.254.0.0\"", "legacy /15 mask");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"a\",\"ips\":[\"dhcp\"]},"
		       "{\"nic_tag\":\"b\",\"ips\":[\"dhcp\"],\"primary\":\"1\","
		       "\"interface\":\"net0\"},{\"nic_tag\":\"c\",\"primary\":false,"
		       "\"ips\":[\"addrconf\"]}]}",
		       "primary, interface");
	is_member(nic_of(vm, 0), "primary", NULL, "first not primary");
	is_member(nic_of(vm, 0), "interface", "\"net0\"", "first net0");
	is_member(nic_of(vm, 0), "ip", "\"dhcp\"", "dhcp legacy ip");
	is_member(nic_of(vm, 0), "netmask", NULL, "dhcp no netmask");
	is_member(nic_of(vm, 1), "primary", "true", "'1' primary");
	is_member(nic_of(vm, 2), "primary", NULL, "false dropped");
	is_member(nic_of(vm, 2), "interface", "\"net1\"", "lowest unused");
	is_member(nic_of(vm, 2), "ip", NULL, "addrconf no ip");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"a\",\"vrrp_vrid\":5,"
		       "\"ips\":[\"192.0.2.9/24\"]}]}",
		       "vrrp");
	is_member(nic_of(vm, 0), "mac", "\"00:00:5e:00:01:05\"", "vrrp mac");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"etherstub/x\","
		       "\"ip\":\"dhcp\"}]}",
		       "dhcp ip");
	is_member(nic_of(vm, 0), "ips", "[\"dhcp\"]", "ip dhcp -> ips");
	json_decref(vm);
}

#define NIC_ERR(nic, msg, name) create_fails("{" MIN_J ",\"nics\":[" nic "]}", msg, NULL, name)

static void test_nic_errors(void)
{
	NIC_ERR("{\"nic_tag\":\"admin\",\"ip\":\"300.1.1.1\",\"netmask\":"
		"\"255.0.0.0\"}",
		"Invalid IP for NIC: {\"nic_tag\":\"admin\",\"ip\":\"300.1.1.1\","
		"\"netmask\":\"255.0.0.0\"}",
		"bad ip");
	NIC_ERR("{\"nic_tag\":\"admin\",\"ip\":\"192.0.2.1\"}",
		"Missing .netmask option for NIC: {\"nic_tag\":\"admin\","
		"\"ip\":\"192.0.2.1\"}",
		"no netmask");
	NIC_ERR("{\"nic_tag\":\"admin\",\"ip\":\"192.0.2.1\",\"netmask\":"
		"\"255.0.255.0\"}",
		"Specified netmask value is invalid: 255.0.255.0", "bad netmask");
	NIC_ERR("{\"ips\":[\"dhcp\"]}",
		"invalid or missing .nic_tag option for NIC: {\"ips\":[\"dhcp\"]}", "missing tag");
	NIC_ERR("{\"nic_tag\":\"bad tag\",\"ips\":[\"dhcp\"]}",
		"invalid or missing .nic_tag option for NIC: {\"nic_tag\":"
		"\"bad tag\",\"ips\":[\"dhcp\"]}",
		"bad tag chars");
	NIC_ERR("{\"nic_tag\":\"nope\",\"ips\":[\"dhcp\"]}", "Invalid nic tag \"nope\"",
		"unknown tag");
	NIC_ERR("{\"nic_tag\":\"a\",\"ips\":[\"192.0.2.1\"]}",
		"Invalid IP for NIC: {\"nic_tag\":\"a\",\"ips\":[\"192.0.2.1\"]}",
		"ips without prefix");
	NIC_ERR("{\"nic_tag\":\"a\",\"ips\":[\"192.0.2.1/4\"]}",
		"Invalid IP for NIC: {\"nic_tag\":\"a\",\"ips\":[\"192.0.2.1/4\"]}",
		"ips prefix too short");
	NIC_ERR("{\"nic_tag\":\"a\",\"ips\":[\"2001:db8::1/129\"]}",
		"Invalid IP for NIC: {\"nic_tag\":\"a\",\"ips\":"
		"[\"2001:db8::1/129\"]}",
		"v6 prefix too long");
	NIC_ERR("{\"nic_tag\":\"a\",\"ips\":[\"dhcp\"],\"gateways\":"
		"[\"2001:db8::1\"]}",
		"Static gateways must be IPv4 addresses: 2001:db8::1", "v6 gateway");
	NIC_ERR("{\"nic_tag\":\"a\",\"primary\":\"yes\"}", "Invalid value(s) for: nics.*.primary",
		"primary bad value");
	NIC_ERR("{\"nic_tag\":\"a\",\"primary\":true},{\"nic_tag\":\"b\","
		"\"primary\":true}",
		"payload specifies more than 1 primary NIC", "two primaries");
	NIC_ERR("{\"nic_tag\":\"a\",\"mac\":\"b2:00:00:00:00:01\"},"
		"{\"nic_tag\":\"b\",\"mac\":\"B2:0:0:0:0:1\"}",
		"Cannot add multiple NICs with the same MAC: b2:00:00:00:00:01", "dup mac");
	NIC_ERR("{\"nic_tag\":\"a\",\"ips\":[\"192.0.2.5/24\"]},"
		"{\"nic_tag\":\"b\",\"ips\":[\"192.0.2.5/24\"]}",
		"Cannot add multiple NICs with the same IP: 192.0.2.5/24", "dup ip");
	NIC_ERR("{\"nic_tag\":\"a\",\"mac\":\"b2:00:00:00:00:01\","
		"\"vrrp_vrid\":1}",
		"Cannot set both .mac and .vrrp_vrid for NIC: {\"nic_tag\":\"a\","
		"\"mac\":\"b2:00:00:00:00:01\",\"vrrp_vrid\":1}",
		"mac and vrid");
	NIC_ERR("{\"nic_tag\":\"a\",\"allowed_ips\":[\"1.1.1.1\",\"1.1.1.2\","
		"\"1.1.1.3\",\"1.1.1.4\",\"1.1.1.5\",\"1.1.1.6\",\"1.1.1.7\","
		"\"1.1.1.8\",\"1.1.1.9\",\"1.1.1.10\",\"1.1.1.11\",\"1.1.1.12\","
		"\"1.1.1.13\",\"1.1.1.14\"]}",
		"Maximum of 13 allowed_ips per nic", "allowed_ips count");
	NIC_ERR("{\"nic_tag\":\"a\",\"allowed_ips\":[\"x\"]}", "invalid allowed_ips: x",
		"allowed_ips bad");
	NIC_ERR("{\"nic_tag\":\"a\",\"mac\":\"zz\"}", "Invalid value(s) for: nics.*.mac",
		"bad mac");
	NIC_ERR("{\"nic_tag\":\"a\",\"mtu\":100}", "Invalid value(s) for: nics.*.mtu", "mtu range");
	create_fails("{" MIN_J ",\"nics\":[1]}", "Invalid value(s) for: nics", "nics",
		     "nic not object");
	create_fails("{" MIN_J ",\"nics\":{}}", "Invalid value(s) for: nics", "nics",
		     "nics not array");
}

static void test_conflicts(void)
{
	others = js("[{\"uuid\":\"" VMU "\",\"nics\":[{\"mac\":\"b2:00:00:00:00:09\","
		    "\"ip\":\"192.0.2.50\",\"nic_tag\":\"admin\"}]}]");
	env.other_vms = others;
	NIC_ERR("{\"nic_tag\":\"a\",\"mac\":\"B2:0:0:0:0:9\"}",
		"Conflict detected with another vm, please check the MAC, IP, "
		"and VRID",
		"mac conflict");
	NIC_ERR("{\"nic_tag\":\"admin\",\"ips\":[\"192.0.2.50/24\"]}",
		"Conflict detected with another vm, please check the MAC, IP, "
		"and VRID",
		"ip conflict");
	json_decref(create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"other\","
			      "\"ips\":[\"192.0.2.50/24\"]}]}",
			      "same ip on another tag"));
	json_decref(create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"admin\","
			      "\"ips\":[\"192.0.2.50/24\"],\"vlan_id\":3}]}",
			      "same ip on another vlan"));
	env.other_vms = NULL;
	json_decref(others);
}

static void test_routes(void)
{
	json_t *vm;

	vm = create_ok("{" MIN_J ",\"nics\":[{\"nic_tag\":\"a\",\"ips\":"
		       "[\"192.0.2.5/24\"],\"mac\":\"b2:00:00:00:00:01\"}],"
		       "\"routes\":{\"10.0.0.0/8\":\"192.0.2.1\","
		       "\"198.18.0.1\":\"nics[0]\","
		       "\"198.19.0.0/16\":\"macs[b2:00:00:00:00:01]\"}}",
		       "routes ok");
	is_int(json_object_size(json_object_get(vm, "routes")), 3, "routes kept");
	json_decref(vm);
	create_fails("{" MIN_J ",\"routes\":{\"nowhere\":\"192.0.2.1\"}}",
		     "Invalid route destination: \"nowhere\" (must be IP address "
		     "or CIDR)",
		     "routes", "bad dst");
	create_fails("{" MIN_J ",\"routes\":{\"10.0.0.0/4\":\"192.0.2.1\"}}",
		     "Invalid route destination: \"10.0.0.0/4\" (must be IP "
		     "address or CIDR)",
		     "routes", "short prefix dst");
	create_fails("{" MIN_J ",\"routes\":{\"10.0.0.0/8\":\"gw\"}}",
		     "Invalid route gateway: \"gw\" (must be IP address, MAC "
		     "address, or nic)",
		     "routes", "bad gw");
	create_fails("{" MIN_J ",\"routes\":{\"10.0.0.0/8\":\"nics[0]\"}}",
		     "Route gateway: \"nics[0]\" refers to non-existent or DHCP "
		     "nic",
		     "routes", "missing nic");
	create_fails("{" MIN_J ",\"nics\":[{\"nic_tag\":\"a\",\"ips\":[\"dhcp\"]}],"
		     "\"routes\":{\"10.0.0.0/8\":\"nics[0]\"}}",
		     "Route gateway: \"nics[0]\" refers to non-existent or DHCP "
		     "nic",
		     "routes", "dhcp nic");
	create_fails("{" MIN_J ",\"routes\":{\"10.0.0.0/8\":"
		     "\"macs[b2:00:00:00:00:02]\"}}",
		     "Route gateway: \"macs[b2:00:00:00:00:02]\" refers to "
		     "non-existent or DHCP nic",
		     "routes", "missing mac");
	create_fails("{" MIN_J ",\"routes\":{\"10.0.0.0/8\":\"nics[x]\"}}",
		     "Route gateway: \"nics[x]\" refers to non-existent or DHCP "
		     "nic",
		     "routes", "bad nic index");
}

static void test_create_misc(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = NULL, *arr = json_array();

	ok(vmcfg_create(arr, &env, NULL, NULL, &vm, &err) == -EINVAL, "non-object payload refused");
	zh_error_clear(&err);
	json_decref(arr);

	vm = create_ok("{" MIN_J ",\"filesystems\":[{\"type\":\"lofs\",\"source\":"
		       "\"/srv\",\"target\":\"/data\",\"options\":\"ro,nodevices\"}]}",
		       "filesystems");
	is_json(json_object_get(json_array_get(json_object_get(vm, "filesystems"), 0), "options"),
		"[\"ro\",\"nodevices\"]", "filesystem options split");
	json_decref(vm);

	vm = create_ok("{" MIN_J ",\"tags\":{\"a\":1},\"customer_metadata\":"
		       "{\"user-script\":\"x\"},\"internal_metadata_namespaces\":"
		       "\"ns1,ns2\"}",
		       "metadata");
	is_member(vm, "tags", "{\"a\":1}", "tags kept");
	is_member(vm, "customer_metadata", "{\"user-script\":\"x\"}", "cm kept");
	is_member(vm, "internal_metadata_namespaces", "[\"ns1\",\"ns2\"]", "namespaces split");
	json_decref(vm);

	/* no env at all: every host check skipped */
	{
		json_t *p = js("{\"brand\":\"joyent\",\"image_uuid\":\"" LXIMG "\","
			       "\"nics\":[{\"nic_tag\":\"nope\"}]}");

		vm = NULL;
		ok(vmcfg_create(p, NULL, NULL, NULL, &vm, &err) == 0, "NULL env skips host checks");
		json_decref(vm);
		json_decref(p);
	}
}

/* ---- update ---- */

static json_t *base_vm(void)
{
	return create_ok("{" MIN_J ",\"uuid\":\"" IMG "\",\"alias\":\"web\","
			 "\"tags\":{\"a\":1,\"b\":2},\"customer_metadata\":"
			 "{\"k\":\"v\"},\"nics\":[{\"nic_tag\":\"admin\","
			 "\"mac\":\"b2:00:00:00:00:01\",\"ips\":[\"10.1.1.5/24\"],"
			 "\"gateways\":[\"10.1.1.1\"]},{\"nic_tag\":\"external\","
			 "\"mac\":\"b2:00:00:00:00:02\",\"ips\":"
			 "[\"198.18.1.5/24\"]}],\"max_physical_memory\":1024,"
			 "\"max_locked_memory\":768,\"max_swap\":2048}",
			 "base vm");
}

static json_t *update_ok(const json_t *vm, const char *text, json_t **changed, const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *out = NULL;
	char *before = json_dumps(vm, JSON_SORT_KEYS);
	char *after;
	int r;

	warnings[0] = '\0';
	nwarn = 0;
	r = vmcfg_update(vm, p, &env, warn_cb, NULL, &out, changed, &err);
	if (!ok(r == 0, "%s: update succeeds", name))
		printf("#   error: %s\n", err.msg);
	after = json_dumps(vm, JSON_SORT_KEYS);
	ok(strcmp(before, after) == 0, "%s: input vm unchanged", name);
	free(before);
	free(after);
	zh_error_clear(&err);
	json_decref(p);
	return out;
}

static void update_fails(const json_t *vm, const char *text, const char *msg, const char *prop,
			 const char *name)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js(text), *out = NULL, *ch = NULL;
	int r = vmcfg_update(vm, p, &env, warn_cb, NULL, &out, &ch, &err);

	ok(r < 0 && !out && !ch, "%s: update fails", name);
	is_str(err.msg, msg, "%s: message", name);
	if (prop)
		is_str(err.prop, prop, "%s: prop", name);
	zh_error_clear(&err);
	json_decref(p);
}

static void test_update_simple(json_t *vm)
{
	json_t *ch = NULL, *out;

	out = update_ok(vm,
			"{\"alias\":\"db\",\"quota\":\"20\",\"autoboot\":"
			"\"false\",\"cpu_cap\":\"150\",\"resolvers\":"
			"\"8.8.8.8,8.8.4.4\"}",
			&ch, "simple");
	is_member(out, "alias", "\"db\"", "alias updated");
	is_member(out, "quota", "20", "quota coerced");
	is_member(out, "autoboot", "false", "autoboot coerced");
	is_member(out, "cpu_cap", "150", "cpu_cap coerced");
	is_member(out, "resolvers", "[\"8.8.8.8\",\"8.8.4.4\"]", "resolvers split");
	is_json(ch, "[\"alias\",\"autoboot\",\"cpu_cap\",\"quota\",\"resolvers\"]", "changed list");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm, "{\"uuid\":\"" LXIMG "\",\"brand\":\"lx\"}", &ch,
			"create-only stripped");
	is_member(out, "uuid", "\"" IMG "\"", "uuid unchanged");
	is_member(out, "brand", "\"joyent\"", "brand unchanged");
	is_json(ch, "[]", "nothing changed");
	is_int(nwarn, 2, "two warnings");
	ok(strstr(warnings, "Warning, invalid update property: [uuid] removing "
			    "from payload.") != NULL,
	   "update warning text");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm, "{\"alias\":null,\"quota\":\"\"}", &ch, "unset");
	is_member(out, "alias", NULL, "alias unset");
	is_member(out, "quota", "0", "quota '' -> 0");
	is_json(ch, "[\"alias\",\"quota\"]", "changed on unset");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm, "{\"alias\":\"web\"}", &ch, "same value");
	is_json(ch, "[]", "same value is no change");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm, "{\"limit_priv\":\"default,-net_access\"}", NULL, "NULL changed");
	is_member(out, "limit_priv", "\"default,-net_access\"", "limit_priv");
	json_decref(out);
}

static void test_update_errors(json_t *vm)
{
	update_fails(vm, "{\"cpu_cap\":\"x\"}", "Invalid value for cpu_cap: \"x\"", "cpu_cap",
		     "NaN");
	update_fails(vm, "{\"max_swap\":10}", "Invalid value(s) for: max_swap", "max_swap",
		     "swap below min");
	update_fails(vm, "{\"autoboot\":\"maybe\"}", "Invalid value(s) for: autoboot", "autoboot",
		     "bad bool");
	update_fails(vm, "{\"add_nics\":{}}", "add_nics must be an array.", "add_nics",
		     "add_nics not array");
	update_fails(vm, "{\"update_nics\":5}", "update_nics must be an array.", "update_nics",
		     "update_nics not array");
	update_fails(vm, "{\"zfs_root_recsize\":3}",
		     "invalid zfs_root_recsize (3), must be 512-131072 and a "
		     "power of 2. (0 to disable)",
		     "zfs_root_recsize", "recsize");
	update_fails(vm, "{\"set_routes\":{\"x\":\"1.2.3.4\"}}",
		     "Invalid route destination: \"x\" (must be IP address or "
		     "CIDR)",
		     "routes", "bad set_routes");
	update_fails(vm, "{\"update_nics\":[{\"primary\":true}]}",
		     "NIC object needs a .mac property to update", "update_nics",
		     "update without mac");
	update_fails(vm, "{\"update_nics\":[{\"mac\":\"b2:00:00:00:00:99\"}]}",
		     "There is no existing NIC with that mac address", "update_nics",
		     "update unknown mac");
	update_fails(vm,
		     "{\"update_nics\":[{\"mac\":\"b2:00:00:00:00:01\","
		     "\"primary\":false}]}",
		     "invalid value for NIC's primary flag: false (must be true)", "nics.*.primary",
		     "primary false on update");
	update_fails(vm,
		     "{\"add_nics\":[{\"nic_tag\":\"x\",\"mac\":"
		     "\"b2:00:00:00:00:01\"}]}",
		     "Cannot add multiple NICs with the same MAC: "
		     "b2:00:00:00:00:01",
		     "nics", "add dup mac");
	update_fails(vm,
		     "{\"add_nics\":[{\"nic_tag\":\"x\",\"ips\":"
		     "[\"10.1.1.5/24\"]}]}",
		     "Cannot add multiple NICs with the same IP: 10.1.1.5/24", "nics",
		     "add dup ip");
	update_fails(vm,
		     "{\"update_nics\":[{\"mac\":\"b2:00:00:00:00:01\","
		     "\"nic_tag\":\"etherstub/x\"}]}",
		     "invalid or missing .nic_tag option for NIC: {\"mac\":"
		     "\"b2:00:00:00:00:01\",\"nic_tag\":\"etherstub/x\"}",
		     "nics", "update tag with slash");
	update_fails(vm,
		     "{\"update_nics\":[{\"mac\":\"b2:00:00:00:00:01\","
		     "\"nic_tag\":\"nope\"}]}",
		     "Invalid nic tag \"nope\"", "nics", "update unknown tag");
	update_fails(vm, "{\"update_filesystems\":[{\"type\":\"lofs\"}]}",
		     "filesystem object needs a .target property to update", "update_filesystems",
		     "fs update without target");
	update_fails(vm, "{\"update_filesystems\":[{\"target\":\"/nope\"}]}",
		     "There is no existing filesystem with that target", "update_filesystems",
		     "fs update unknown target");
	update_fails(vm,
		     "{\"remove_nics\":[\"b2:00:00:00:00:01\"],"
		     "\"set_routes\":{\"10.0.0.0/8\":\"nics[1]\"}}",
		     "Route gateway: \"nics[1]\" refers to non-existent or DHCP "
		     "nic",
		     "routes", "route to removed nic");
}

static void test_update_hashes(json_t *vm)
{
	json_t *ch = NULL, *out;

	out = update_ok(vm,
			"{\"set_tags\":{\"c\":3,\"a\":10},\"remove_tags\":"
			"[\"b\"],\"set_customer_metadata\":{\"x\":\"y\"},"
			"\"remove_customer_metadata\":\"k\","
			"\"set_internal_metadata\":{\"i\":\"j\"},"
			"\"set_routes\":{\"10.0.0.0/8\":\"10.1.1.1\"}}",
			&ch, "hashes");
	is_member(out, "tags", "{\"a\":10,\"c\":3}", "set/remove tags");
	is_member(out, "customer_metadata", "{\"x\":\"y\"}", "customer_metadata");
	is_member(out, "internal_metadata", "{\"i\":\"j\"}", "internal_metadata");
	is_member(out, "routes", "{\"10.0.0.0/8\":\"10.1.1.1\"}", "set_routes");
	is_json(ch,
		"[\"customer_metadata\",\"internal_metadata\",\"routes\","
		"\"tags\"]",
		"changed hashes");
	json_decref(ch);

	{
		json_t *o2 = update_ok(out,
				       "{\"remove_routes\":[\"10.0.0.0/8\","
				       "\"1.1.1.1\"]}",
				       &ch, "remove_routes");
		is_member(o2, "routes", "{}", "route removed");
		is_json(ch, "[\"routes\"]", "routes changed");
		json_decref(o2);
		json_decref(ch);
	}
	json_decref(out);
}

static void test_update_nics(json_t *vm)
{
	json_t *ch = NULL, *out, *n;

	out = update_ok(vm,
			"{\"add_nics\":[{\"nic_tag\":\"admin\",\"ip\":"
			"\"10.2.2.2\",\"netmask\":\"255.255.0.0\"}]}",
			&ch, "add_nics");
	n = nic_of(out, 2);
	is_member(n, "interface", "\"net2\"", "added net2");
	is_member(n, "ips", "[\"10.2.2.2/16\"]", "added ips");
	ok(jsonutil_str(n, "mac") != NULL, "mac generated");
	is_member(n, "primary", NULL, "added not primary");
	is_member(nic_of(out, 0), "primary", "true", "old primary kept");
	is_json(ch, "[\"nics\"]", "nics changed");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm,
			"{\"add_nics\":[{\"nic_tag\":\"admin\",\"primary\":"
			"true,\"ips\":[\"dhcp\"]}]}",
			NULL, "add primary");
	is_member(nic_of(out, 0), "primary", NULL, "old primary cleared");
	is_member(nic_of(out, 2), "primary", "true", "new primary");
	json_decref(out);

	out = update_ok(vm,
			"{\"update_nics\":[{\"mac\":\"B2:0:0:0:0:2\","
			"\"primary\":true,\"ip\":\"198.18.1.9\",\"vlan_id\":"
			"\"12\",\"interface\":\"net7\"}]}",
			&ch, "update_nics");
	is_member(nic_of(out, 0), "primary", NULL, "primary moved off");
	n = nic_of(out, 1);
	is_member(n, "primary", "true", "primary moved on");
	is_member(n, "ips", "[\"198.18.1.9/24\"]", "ip uses old netmask");
	is_member(n, "ip", "\"198.18.1.9\"", "legacy ip updated");
	is_member(n, "vlan_id", "12", "vlan coerced");
	is_member(n, "interface", "\"net1\"", "interface not updatable");
	is_int(nwarn, 0, "interface silently kept");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm,
			"{\"remove_nics\":[\"b2:00:00:00:00:01\","
			"\"b2:00:00:00:00:77\"]}",
			&ch, "remove primary");
	is_int(json_array_size(json_object_get(out, "nics")), 1, "one nic left");
	is_member(nic_of(out, 0), "primary", "true", "new primary picked");
	is_int(nwarn, 1, "unknown mac warned");
	ok(strstr(warnings, "b2:00:00:00:00:77") != NULL, "warning names mac");
	json_decref(out);
	json_decref(ch);

	out = update_ok(vm,
			"{\"remove_nics\":\"b2:00:00:00:00:01,"
			"b2:00:00:00:00:02\"}",
			NULL, "remove all");
	is_json(json_object_get(out, "nics"), "[]", "no nics left");
	json_decref(out);
}

static void test_update_memory(json_t *vm)
{
	json_t *out;

	out = update_ok(vm, "{\"max_physical_memory\":2048}", NULL, "phys up");
	is_member(out, "max_physical_memory", "2048", "phys");
	is_member(out, "max_locked_memory", "1792", "locked keeps delta");
	is_member(out, "max_swap", "3072", "swap keeps delta");
	is_member(out, "tmpfs", "1024", "tmpfs unchanged when below");
	json_decref(out);

	out = update_ok(vm, "{\"ram\":\"512\"}", NULL, "ram down");
	is_member(out, "max_physical_memory", "512", "ram -> phys");
	is_member(out, "max_locked_memory", "256", "locked delta");
	is_member(out, "max_swap", "1536", "swap delta");
	is_member(out, "tmpfs", "512", "tmpfs clamped");
	is_member(out, "ram", NULL, "OS stores no ram");
	json_decref(out);

	out = update_ok(vm, "{\"max_physical_memory\":100}", NULL, "phys tiny");
	is_member(out, "max_locked_memory", "0", "locked >= 0");
	is_member(out, "max_swap", "1124", "swap delta");
	json_decref(out);

	out = update_ok(vm, "{\"max_locked_memory\":4096,\"max_swap\":512}", NULL,
			"explicit memory");
	is_member(out, "max_locked_memory", "1024", "locked clamped silently");
	is_member(out, "max_swap", "1024", "swap raised silently");
	json_decref(out);
}

static void test_update_filesystems(json_t *vm)
{
	json_t *ch = NULL, *out, *o2;

	out = update_ok(vm,
			"{\"add_filesystems\":[{\"type\":\"lofs\",\"source\":"
			"\"/a\",\"target\":\"/x\",\"options\":\"ro\"}]}",
			&ch, "add fs");
	is_json(json_object_get(out, "filesystems"),
		"[{\"options\":[\"ro\"],\"source\":\"/a\",\"target\":\"/x\","
		"\"type\":\"lofs\"}]",
		"fs added");
	is_json(ch, "[\"filesystems\"]", "fs changed");
	json_decref(ch);
	update_fails(out, "{\"add_filesystems\":[{\"target\":\"/x\"}]}",
		     "Cannot add multiple filesystems with the same target: /x", "add_filesystems",
		     "dup target");
	o2 = update_ok(out,
		       "{\"update_filesystems\":[{\"target\":\"/x\","
		       "\"source\":\"/b\"}]}",
		       NULL, "update fs");
	is_str(jsonutil_str(json_array_get(json_object_get(o2, "filesystems"), 0), "source"), "/b",
	       "fs source updated");
	json_decref(o2);
	o2 = update_ok(out, "{\"remove_filesystems\":[\"/x\",\"/y\"]}", NULL, "remove fs");
	is_json(json_object_get(o2, "filesystems"), "[]", "fs removed");
	is_int(nwarn, 1, "unknown target warned");
	json_decref(o2);
	json_decref(out);
}

static void test_update_misc(json_t *vm)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *p = js("{}"), *out = NULL, *ch = NULL;
	json_t *kvm = js("{\"brand\":\"kvm\"}"), *bad = js("{\"brand\":\"x\"}");

	ok(vmcfg_update(kvm, p, &env, NULL, NULL, &out, &ch, &err) == 0, "kvm update accepted");
	json_decref(out);
	json_decref(ch);
	out = ch = NULL;
	ok(vmcfg_update(bad, p, &env, NULL, NULL, &out, &ch, &err) == -EINVAL,
	   "unknown brand update");
	is_str(err.msg, "Unsupported brand", "unknown brand message");
	zh_error_clear(&err);
	ok(vmcfg_update(vm, kvm, NULL, NULL, NULL, &out, &ch, &err) == 0,
	   "brand in payload stripped, NULL env/warn ok");
	is_json(ch, "[]", "no change");
	json_decref(out);
	json_decref(ch);
	json_decref(p);
	json_decref(kvm);
	json_decref(bad);
}

static void test_update(void)
{
	json_t *vm = base_vm();

	if (!vm)
		return;
	is_member(nic_of(vm, 0), "primary", "true", "base primary");
	test_update_simple(vm);
	test_update_errors(vm);
	test_update_hashes(vm);
	test_update_nics(vm);
	test_update_memory(vm);
	test_update_filesystems(vm);
	test_update_misc(vm);
	json_decref(vm);
}

static void test_report(void)
{
	struct vmcfg_report rep = VMCFG_REPORT_INIT;
	json_t *o = vmcfg_report_json(&rep);

	is_json(o, EMPTY, "empty report has all three arrays");
	json_decref(o);
	vmcfg_report_clear(&rep);
	vmcfg_report_clear(&rep);
	ok(rep.bad_values == NULL, "clear idempotent");
}

/* Typed access: names from the table, HVM from the brand table, id base as stored. */
static void test_access(void)
{
	static const char *const names[] = {VMCFG_UUID,	  VMCFG_BRAND, VMCFG_NICS,    VMCFG_ID_BASE,
					    VMCFG_ROUTES, VMCFG_QUOTA, VMCFG_AUTOBOOT};
	json_t *vm =
		json_pack("{s:s,s:s,s:[{s:s}]}", "uuid", VMU, "brand", "bhyve", "nics", "mac", "x");
	int64_t base = -1;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ok(props_lookup(names[i]) != NULL, "%s is in the property table", names[i]);
	is_str(vmcfg_uuid(vm), VMU, "uuid");
	is_str(vmcfg_brand(vm), "bhyve", "brand");
	ok(vmcfg_is_hvm(vm), "bhyve is hvm");
	ok(vmcfg_brand_is_hvm("kvm") && !vmcfg_brand_is_hvm("lx"), "kvm hvm, lx not");
	ok(!vmcfg_brand_is_hvm(NULL) && !vmcfg_brand_is_hvm("nope"), "unknown brand not hvm");
	is_int(json_array_size(vmcfg_nics(vm)), 1, "nics");
	ok(!vmcfg_routes(vm) && vmcfg_quota(vm) == 0 && !vmcfg_autoboot(vm),
	   "absent: none, 0, false");
	json_object_set_new(vm, "quota", json_integer(7));
	json_object_set_new(vm, "autoboot", json_true());
	json_object_set_new(vm, "routes", json_pack("{s:s}", "10.0.0.0/8", "10.0.0.1"));
	is_int(vmcfg_quota(vm), 7, "quota");
	ok(vmcfg_autoboot(vm), "autoboot");
	is_str(jsonutil_str(vmcfg_routes(vm), "10.0.0.0/8"), "10.0.0.1", "routes");
	ok(!vmcfg_id_base(vm, &base) && base == -1, "no id base");
	ok(vmcfg_set_id_base(vm, 1 << 20) == 0 && vmcfg_id_base(vm, &base), "id base set");
	is_int(base, 1 << 20, "id base read back");
	vmcfg_drop_id_base(vm);
	ok(!json_object_get(vm, "zonehost_id_base"), "id base dropped");
	json_decref(vm);
}

int main(void)
{
	test_access();
	test_validate();
	test_report();
	test_create_minimal();
	test_create_defaults();
	test_create_coercion();
	test_create_errors();
	test_create_zfs_ok();
	test_create_strip();
	test_nics();
	test_nic_errors();
	test_conflicts();
	test_routes();
	test_create_misc();
	test_update();
	return tap_done();
}

/*
 * test-props.c - unit tests of the property table (props.c).
 */
#include <string.h>

#include "jsonutil.h"
#include "props.h"
#include "vmstore.h"
#include "tap.h"

#define J PROPS_B_JOYENT
#define M PROPS_B_MINIMAL
#define B PROPS_B_BUILDER
#define L PROPS_B_LX
#define K PROPS_B_KVM
#define H PROPS_B_BHYVE

static json_t *js(const char *text)
{
	json_error_t e;

	return json_loads(text, JSON_DECODE_ANY, &e);
}

static int value_ok(const char *name, const char *text)
{
	json_t *v = js(text);
	int r = props_value_ok(props_lookup(name), v);

	json_decref(v);
	return r;
}

static void test_table_shape(void)
{
	size_t n = props_count();
	size_t ro = 0, sub = 0;

	ok(n >= 187, "table has at least the 187 proptable entries (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		const struct props_prop *p = props_at(i);

		ro += p->type == PROPS_RO;
		sub += strchr(p->name, '*') != NULL;
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(p->name, props_at(j)->name) == 0)
				ok(0, "duplicate entry %s", p->name);
		if (p->type == PROPS_RO && (p->create | p->update | p->receive))
			ok(0, "read-only %s has action masks", p->name);
	}
	ok(ro >= 25, "read-only entries present (%zu)", ro);
	ok(sub >= 50, "sub-properties present (%zu)", sub);
	ok(props_at(n) == NULL, "props_at past end is NULL");
	ok(props_lookup("no_such_prop") == NULL, "unknown lookup NULL");
	ok(props_lookup(NULL) == NULL, "NULL lookup NULL");
}

static void test_brands(void)
{
	const struct props_brand *b;

	is_int(props_brand_bit("joyent"), J, "joyent bit");
	is_int(props_brand_bit("joyent-minimal"), M, "joyent-minimal bit");
	is_int(props_brand_bit("builder"), B, "builder bit");
	is_int(props_brand_bit("lx"), L, "lx bit");
	is_int(props_brand_bit("kvm"), K, "kvm bit");
	is_int(props_brand_bit("bhyve"), H, "bhyve bit");
	is_int(props_brand_bit("solaris"), 0, "unknown brand 0");
	is_int(props_brand_bit(NULL), 0, "NULL brand 0");
	b = props_brand_get("lx");
	is_str(b->iface_prefix, "eth", "lx interfaces are eth<N>");
	is_str(b->image_types[0], "docker", "lx image type docker");
	is_str(b->image_types[1], "lx-dataset", "lx image type lx-dataset");
	b = props_brand_get("joyent");
	is_str(b->iface_prefix, "net", "joyent interfaces are net<N>");
	is_str(b->image_types[0], "zone-dataset", "joyent image zone-dataset");
	ok(b->image_types[1] == NULL, "joyent has one image type");
	ok(b->use_tmpfs && !b->hvm, "joyent uses tmpfs, not HVM");
	is_int(props_brand_get("kvm")->mem_overhead, 1024, "kvm overhead");
	is_int(props_brand_get("bhyve")->mem_overhead, 1280, "bhyve overhead");
	is_int(props_brand_get("bhyve")->quota, 1, "bhyve quota 1");
	is_int(props_brand_get("joyent")->quota, 10, "joyent quota 10");
	ok(strstr(props_brand_get("kvm")->limit_priv, "-proc_fork") != NULL,
	   "kvm limit_priv HVM list");
	is_str(props_brand_get("builder")->limit_priv, "default", "builder limit_priv default");
}

static void test_allowed(void)
{
	const struct props_prop *p;

	p = props_lookup("uuid");
	ok(props_allowed(p, J, PROPS_CREATE), "uuid create");
	ok(!props_allowed(p, J, PROPS_UPDATE), "uuid not update");
	p = props_lookup("kernel_version");
	ok(props_allowed(p, L, PROPS_CREATE), "kernel_version lx");
	ok(!props_allowed(p, J, PROPS_CREATE), "kernel_version not joyent");
	ok(props_required(p, L, PROPS_CREATE), "kernel_version required lx");
	ok(props_required(p, L, PROPS_RECEIVE), "kernel_version required recv");
	ok(!props_required(p, L, PROPS_UPDATE), "nothing required on update");
	p = props_lookup("image_uuid");
	ok(props_required(p, J, PROPS_CREATE), "image_uuid required joyent");
	ok(props_required(p, B, PROPS_CREATE), "image_uuid required builder");
	ok(!props_required(p, K, PROPS_CREATE), "image_uuid not required kvm");
	ok(!props_allowed(p, J, PROPS_UPDATE), "image_uuid create-only");
	p = props_lookup("brand");
	ok(props_required(p, K, PROPS_CREATE), "brand required kvm");
	ok(!props_required(p, H, PROPS_CREATE), "brand not required bhyve (PT)");
	p = props_lookup("vcpus");
	ok(props_allowed(p, K, PROPS_CREATE), "vcpus kvm");
	ok(props_allowed(p, H, PROPS_UPDATE), "vcpus bhyve update");
	ok(!props_allowed(p, J, PROPS_CREATE), "vcpus not joyent");
	p = props_lookup("tmpfs");
	ok(props_allowed(p, L, PROPS_UPDATE), "tmpfs lx");
	ok(!props_allowed(p, K, PROPS_CREATE), "tmpfs not kvm");
	p = props_lookup("docker");
	ok(props_allowed(p, M, PROPS_CREATE) && props_allowed(p, L, PROPS_CREATE),
	   "docker M and L");
	ok(!props_allowed(p, J, PROPS_CREATE), "docker not joyent");
	p = props_lookup("tags");
	ok(props_allowed(p, J, PROPS_CREATE), "tags create");
	ok(!props_allowed(p, J, PROPS_UPDATE), "tags only via set_tags");
	ok(props_allowed(props_lookup("set_tags"), J, PROPS_UPDATE), "set_tags");
	ok(!props_allowed(props_lookup("set_tags"), J, PROPS_CREATE), "set_tags not on create");
	ok(props_allowed(props_lookup("create_timestamp"), J, PROPS_RECEIVE),
	   "create_timestamp receive");
	ok(!props_allowed(props_lookup("create_timestamp"), J, PROPS_CREATE),
	   "create_timestamp not create");
	ok(!props_allowed(props_lookup("state"), J, PROPS_CREATE), "state RO");
	ok(!props_allowed(props_lookup("zonepath"), J, PROPS_RECEIVE), "zonepath RO");
	ok(props_allowed(props_lookup("add_disks"), K, PROPS_UPDATE), "add_disks kvm");
	ok(!props_allowed(props_lookup("add_disks"), J, PROPS_UPDATE), "add_disks not joyent");
	ok(!props_allowed(props_lookup("mdata_exec_timeout"), J, PROPS_UPDATE),
	   "mdata_exec_timeout create only");
	ok(!props_allowed(NULL, J, PROPS_CREATE), "NULL prop not allowed");
	ok(!props_allowed(props_lookup("alias"), 0, PROPS_CREATE), "brand 0 not allowed");
}

static void test_subprops(void)
{
	const struct props_prop *p;

	p = props_lookup("nics.*.allow_unfiltered_promisc");
	ok(p && !props_allowed(p, J, PROPS_ADD), "promisc not on OS NICs");
	ok(props_allowed(p, K, PROPS_ADD), "promisc on kvm NICs");
	p = props_lookup("nics.*.ip");
	ok(props_allowed(p, J, PROPS_ADD), "nics.*.ip add");
	ok(props_allowed(p, J, PROPS_UPDATE_SUB), "nics.*.ip update");
	ok(p->flags & PROPS_F_DEPRECATED, "nics.*.ip deprecated");
	p = props_lookup("nics.*.model");
	ok(!props_allowed(p, L, PROPS_ADD), "model not lx");
	ok(props_allowed(p, H, PROPS_ADD), "model bhyve");
	p = props_lookup("nics.*.allowed_dhcp_cids");
	ok(props_allowed(p, K, PROPS_ADD) && !props_allowed(p, H, PROPS_ADD),
	   "allowed_dhcp_cids JMBLK only");
	p = props_lookup("disks.*.block_size");
	ok(props_allowed(p, K, PROPS_ADD), "block_size add kvm");
	ok(!props_allowed(p, K, PROPS_UPDATE_SUB), "block_size never updated");
	p = props_lookup("disks.*.dangerous_allow_shrink");
	ok(props_allowed(p, H, PROPS_UPDATE_SUB) && !props_allowed(p, H, PROPS_ADD),
	   "dangerous_allow_shrink update only bhyve");
	p = props_lookup("filesystems.*.target");
	ok(props_allowed(p, L, PROPS_ADD) && (p->flags & PROPS_F_UPDATABLE),
	   "filesystems.*.target OS updatable");
	ok(!props_allowed(p, K, PROPS_ADD), "filesystems target not kvm add");
	p = props_lookup("pci_devices.*.pci_slot");
	ok(props_allowed(p, H, PROPS_UPDATE_SUB), "pci_slot bhyve");
	p = props_lookup("nics.*.interface");
	ok(!(p->flags & PROPS_F_UPDATABLE), "interface not updatable");
	p = props_lookup("nics.*.mac");
	ok(p->valid == props_valid_mac, "mac has validator");
}

static void test_flags(void)
{
	static const char *const nolx[] = {
		"limit_priv",		"fs_allowed",	      "zfs_root_compression",
		"zfs_data_compression", "zfs_root_recsize",   "zfs_data_recsize",
		"max_msg_ids",		"max_sem_ids",	      "max_shm_ids",
		"zfs_filesystem_limit", "zfs_snapshot_limit",
	};

	for (size_t i = 0; i < sizeof(nolx) / sizeof(nolx[0]); i++)
		ok(props_lookup(nolx[i])->flags & PROPS_F_NO_LINUX, "%s flagged no effect on Linux",
		   nolx[i]);
	ok(!(props_lookup("cpu_cap")->flags & PROPS_F_NO_LINUX), "cpu_cap works");
	ok(props_lookup("quota")->flags & PROPS_F_LIVE, "quota live");
	ok(!(props_lookup("max_locked_memory")->flags & PROPS_F_LIVE), "memlock at next boot");
	ok(props_has_flags("max_swap", PROPS_F_LIVE | PROPS_F_CGROUP), "max_swap live cgroup");
	ok(!props_has_flags("quota", PROPS_F_CGROUP), "quota not cgroup");
	ok(!props_has_flags("no_such_prop", 0), "unknown has no flags");
	size_t cg = 0;
	for (size_t i = 0; i < props_count(); i++)
		cg += props_has_flags(props_at(i)->name, PROPS_F_LIVE | PROPS_F_CGROUP);
	is_int(cg, 6, "six cgroup limits apply live (cgroup_limits_from_vm)");
	ok(props_lookup("state")->flags & PROPS_F_DERIVED, "state derived");
	ok(props_lookup("zfs_filesystem")->flags & PROPS_F_DERIVED, "zfs_filesystem derived");
	ok(props_lookup("failed_reason")->flags & PROPS_F_DERIVED, "failed_reason derived");
	ok(!(props_lookup("zonehost_id_base")->flags & PROPS_F_DERIVED), "id base stored");
	ok(!(props_lookup("create_timestamp")->flags & PROPS_F_DERIVED), "create_timestamp stored");
	ok(props_lookup("limit_priv")->flags & PROPS_F_JOINED, "limit_priv joined");
	ok(props_lookup("tmpfs")->flags & PROPS_F_KEEP_ZERO, "tmpfs keep_zero");
	ok(props_lookup("dataset_uuid")->flags & PROPS_F_DEPRECATED, "dataset_uuid deprecated");
	is_str(props_lookup("quota")->unit, "GiB", "quota unit GiB");
	is_str(props_lookup("max_physical_memory")->unit, "MiB", "memory MiB");
	is_str(props_lookup("max_lwps")->def, "2000", "max_lwps default");
	is_str(props_lookup("zpool")->def, "zones", "zpool default");
	is_int(props_lookup("max_swap")->min, 256, "max_swap min 256");
	ok(props_lookup("nics.*.mtu")->has_max, "mtu has max");
	is_int(props_lookup("nics.*.mtu")->max, 9000, "mtu max 9000");
	is_int(props_lookup("vnc_port")->min, -1, "vnc_port min -1");
}

/* vmstore strips what the table marks derived, and only that. */
static void test_strip_derived(void)
{
	json_t *vm = json_pack("{s:s,s:s,s:s,s:i,s:s,s:b}", "uuid", "u", "state", "running",
			       "zfs_filesystem", "zones/u", "zonehost_id_base", 1 << 20,
			       "failed_reason", "x", "hvm", 0);

	vmstore_strip_derived(vm);
	ok(!json_object_get(vm, "state") && !json_object_get(vm, "zfs_filesystem") &&
		   !json_object_get(vm, "failed_reason") && !json_object_get(vm, "hvm"),
	   "derived fields stripped");
	ok(json_object_get(vm, "uuid") && json_object_get(vm, "zonehost_id_base"),
	   "stored fields kept");
	json_decref(vm);
}

static void test_values(void)
{
	ok(value_ok("cpu_shares", "100"), "integer");
	ok(value_ok("cpu_shares", "\"100\""), "numeric string integer");
	ok(!value_ok("cpu_shares", "\"abc\""), "non-numeric string");
	ok(!value_ok("cpu_shares", "-1"), "below min");
	ok(!value_ok("cpu_shares", "1.5"), "fraction");
	ok(value_ok("cpu_shares", "2.0"), "integral real");
	ok(!value_ok("cpu_shares", "true"), "boolean rejected for integer");
	ok(value_ok("cpu_shares", "null"), "null = unset");
	ok(value_ok("cpu_shares", "\"\""), "'' = unset");
	ok(!value_ok("max_swap", "255"), "max_swap 255 < 256");
	ok(value_ok("max_swap", "256"), "max_swap 256");
	ok(!value_ok("nics.*.vlan_id", "4096"), "vlan 4096");
	ok(value_ok("nics.*.vlan_id", "4095"), "vlan 4095");
	ok(!value_ok("nics.*.mtu", "575"), "mtu 575");
	ok(value_ok("nics.*.mtu", "9000"), "mtu 9000");
	ok(value_ok("vnc_port", "-1"), "vnc_port -1");
	ok(!value_ok("vnc_port", "-2"), "vnc_port -2");
	ok(value_ok("autoboot", "true"), "bool true");
	ok(value_ok("autoboot", "\"false\""), "bool 'false'");
	ok(value_ok("autoboot", "1"), "bool 1 (deprecated)");
	ok(value_ok("autoboot", "\"1\""), "bool '1'");
	ok(!value_ok("autoboot", "\"yes\""), "bool 'yes'");
	ok(!value_ok("autoboot", "2"), "bool 2");
	ok(!value_ok("autoboot", "{}"), "bool object");
	ok(value_ok("uuid", "\"a1b2c3d4-0000-4000-8000-0123456789ab\""), "uuid");
	ok(!value_ok("uuid", "\"A1B2C3D4-0000-4000-8000-0123456789AB\""),
	   "uppercase uuid rejected");
	ok(!value_ok("uuid", "\"nope\""), "bad uuid");
	ok(!value_ok("uuid", "5"), "uuid number");
	ok(value_ok("alias", "\"x\""), "string");
	ok(!value_ok("alias", "5"), "number is not a string");
	ok(!value_ok("alias", "[]"), "array is not a string");
	ok(value_ok("resolvers", "[\"8.8.8.8\",\"2001:db8::1\"]"), "resolvers");
	ok(value_ok("resolvers", "\"8.8.8.8,8.8.4.4\""), "resolvers comma");
	ok(!value_ok("resolvers", "[\"8.8.8\"]"), "bad resolver");
	ok(!value_ok("resolvers", "\"8.8.8.8,x\""), "bad resolver in string");
	ok(!value_ok("resolvers", "{}"), "resolvers object");
	ok(!value_ok("fs_allowed", "[\"ufs,pcfs\"]"), "list element with comma");
	ok(value_ok("fs_allowed", "[\"ufs\",\"pcfs\"]"), "list array");
	ok(value_ok("fs_allowed", "\"ufs,pcfs\""), "list string");
	ok(!value_ok("fs_allowed", "[{}]"), "list of objects");
	ok(value_ok("nics.*.blocked_outgoing_ports", "[25, 80]"), "list of ints");
	ok(value_ok("internal_metadata_namespaces", "[\"a-b.c_d\"]"), "namespace ok");
	ok(!value_ok("internal_metadata_namespaces", "[\"a b\"]"), "namespace with space");
	ok(value_ok("tags", "{\"a\":1,\"b\":\"x\",\"c\":true}"), "flat object");
	ok(!value_ok("tags", "{\"a\":{}}"), "nested object");
	ok(!value_ok("tags", "{\"a\":[]}"), "array value");
	ok(!value_ok("tags", "[]"), "array not flat object");
	ok(value_ok("nics", "[{}, {\"a\":1}]"), "object-array");
	ok(!value_ok("nics", "[1]"), "object-array of ints");
	ok(!value_ok("nics", "{}"), "object not object-array");
	ok(value_ok("zpool", "\"zones\""), "zpool string");
	ok(!value_ok("zpool", "1"), "zpool number");
	ok(!value_ok("state", "\"running\""), "RO never ok");
	ok(value_ok("nics.*.mac", "\"b2:1:2:3:4:5\""), "mac short octet");
	ok(!value_ok("nics.*.mac", "\"b2:01:02:03:04\""), "mac 5 octets");
	ok(!value_ok("nics.*.mac", "\"b2-01-02-03-04-05\""), "mac dashes");
	ok(!value_ok("nics.*.mac", "\"b2:001:02:03:04:05\""), "mac 3 digits");
	ok(value_ok("nics.*.allowed_dhcp_cids", "[\"0xabcd\"]"), "cid ok");
	ok(!value_ok("nics.*.allowed_dhcp_cids", "[\"0xabc\"]"), "cid odd");
	ok(!value_ok("nics.*.allowed_dhcp_cids", "[\"abcd\"]"), "cid no 0x");
}

static void test_validators(void)
{
	ok(props_valid_ipv4("192.0.2.1"), "ipv4");
	ok(!props_valid_ipv4("192.0.2"), "short ipv4");
	ok(!props_valid_ipv4("2001:db8::1"), "v6 not v4");
	ok(props_valid_ip("2001:db8::1"), "ipv6");
	ok(!props_valid_ip(NULL), "NULL ip");
	ok(props_valid_mac("AA:bb:CC:dd:EE:ff"), "mixed-case mac");
	ok(!props_valid_mac(""), "empty mac");
	ok(!props_valid_mac("aa:bb:cc:dd:ee:ff:00"), "7 octets");
	ok(!props_valid_mac("aa::cc:dd:ee:ff"), "empty octet");
	ok(props_valid_attr_value("ns1"), "attr value");
	ok(!props_valid_attr_value(""), "empty attr value");
	ok(props_valid_cid("0x0102"), "cid");
}

static int coerce(const char *name, const char *in, const char *want)
{
	json_t *v = js(in), *out = NULL;
	int r = props_coerce(props_lookup(name), v, &out), good;
	char *got = out ? json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	if (r < 0)
		good = want == NULL;
	else if (!want)
		good = 0;
	else
		good = strcmp(got ? got : "unset", want) == 0;
	if (!good)
		printf("#   %s %s -> %s (r=%d), want %s\n", name, in, got ? got : "unset", r,
		       want ? want : "error");
	free(got);
	json_decref(out);
	json_decref(v);
	return good;
}

static void test_coerce(void)
{
	ok(coerce("cpu_shares", "\"150\"", "150"), "integer string");
	ok(coerce("cpu_shares", "150", "150"), "integer stays");
	ok(coerce("cpu_shares", "\"1.5\"", "1.5"), "fraction string -> real");
	ok(coerce("cpu_shares", "\"abc\"", NULL), "NaN is an error");
	ok(coerce("cpu_shares", "\" 5\"", NULL), "leading space NaN");
	ok(coerce("cpu_shares", "\"\"", "unset"), "'' unset");
	ok(coerce("cpu_shares", "null", "unset"), "null unset");
	ok(coerce("alias", "\"\"", "unset"), "'' string unset");
	ok(coerce("autoboot", "\"true\"", "true"), "'true'");
	ok(coerce("autoboot", "\"0\"", "false"), "'0'");
	ok(coerce("autoboot", "1", "true"), "1");
	ok(coerce("autoboot", "\"maybe\"", "\"maybe\""), "bad bool kept");
	ok(coerce("resolvers", "\"8.8.8.8,,8.8.4.4\"", "[\"8.8.8.8\",\"8.8.4.4\"]"),
	   "list split, empties dropped");
	ok(coerce("resolvers", "[\"1.1.1.1\"]", "[\"1.1.1.1\"]"), "list array");
	ok(coerce("limit_priv", "[\"default\",\"-net_access\"]", "\"default,-net_access\""),
	   "joined list from array");
	ok(coerce("limit_priv", "\"default\"", "\"default\""), "joined string");
	ok(coerce("tags", "{\"a\":1}", "{\"a\":1}"), "object copied");
	is_int(props_bool_loose(NULL), -1, "NULL not boolean");
}

static void test_letters(void)
{
	char buf[8];

	is_str(props_brand_letters(PROPS_B_ALL, buf, sizeof(buf)), "all", "all");
	is_str(props_brand_letters(PROPS_B_OS, buf, sizeof(buf)), "OS", "OS");
	is_str(props_brand_letters(PROPS_B_HVM, buf, sizeof(buf)), "HVM", "HVM");
	is_str(props_brand_letters(PROPS_B_OS | K, buf, sizeof(buf)), "JMBLK", "JMBLK");
	is_str(props_brand_letters(M | L, buf, sizeof(buf)), "ML", "ML");
	is_str(props_brand_letters(0, buf, sizeof(buf)), "", "none");
}

static void test_doc(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	props_doc_markdown(f);
	fclose(f);
	ok(strncmp(buf, "# vmadm properties", 18) == 0 && strstr(buf, "\n| Property |"),
	   "markdown header");
	ok(strstr(buf, "| limit_priv | list |") != NULL, "limit_priv row");
	ok(strstr(buf, "no effect on Linux") != NULL, "no-effect note");
	ok(strstr(buf, "| nics.*.vlan_id | integer |") != NULL, "sub row");
	ok(strstr(buf, "0-4095") != NULL, "range shown");
	free(buf);
}

int main(void)
{
	test_table_shape();
	test_brands();
	test_allowed();
	test_subprops();
	test_flags();
	test_strip_derived();
	test_values();
	test_validators();
	test_coerce();
	test_letters();
	test_doc();
	return tap_done();
}

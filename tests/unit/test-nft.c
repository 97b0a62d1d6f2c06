/*
 * test-nft.c - the per-VM nft script (nft.h): the rules each allow_*
 * combination produces, VLAN marks, address formatting, hostile input.
 * As root, every generated script is also loaded with nft_vm_apply into a
 * private network namespace (unshare), so the kernel accepts each one.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "net.h"
#include "nft.h"
#include "tap.h"

#define UUID "0123abcd-4567-489a-8bcd-ef0123456789"
#define MAC  "02:00:C6:12:00:01"
#define VID  "v0123abcd4567489a8bcdef0123456789" /* the VM's object prefix: the whole uuid */
#define BASE 1048576				 /* zonehost_id_base: slot 0x0010 */

/* vmjson, with a zonehost_id_base unless it has one (VNIC names need it). */
static json_t *vm_of(const char *vmjson)
{
	json_t *vm = json_loads(vmjson, 0, NULL);

	if (json_is_object(vm) && !json_object_get(vm, "zonehost_id_base"))
		json_object_set_new(vm, "zonehost_id_base", json_integer(BASE));
	return vm;
}

static void port_of(unsigned idx, char out[NET_IFNAMSIZ])
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = vm_of("{}");
	char pre[NET_IFNAMSIZ] = "";

	net_vnic_prefix(UUID, vm, pre, &err);
	net_vnic_host_name(pre, idx, out);
	json_decref(vm);
	zh_error_clear(&err);
}

static char *script_of(const char *vmjson, struct zh_error *err)
{
	json_t *vm = vm_of(vmjson);
	char *s = NULL;

	if (!vm)
		return NULL;
	if (nft_vm_script(UUID, vm, &s, err) < 0)
		s = NULL;
	json_decref(vm);
	return s;
}

static bool has(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

static void test_default(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char port[NET_IFNAMSIZ], want[256];
	char *s = script_of("{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\","
			    "\"ips\":[\"198.18.0.1/24\",\"2001:db8::5/64\"],\"nic_tag\":\"x\"}]}",
			    &err);

	ok(s != NULL, "default NIC: script built (%s)", err.msg ? err.msg : "");
	ok(has(s, "table bridge zonehost {\n\tmap ports_in {\n\t\ttype ifname : verdict\n"),
	   "the shared table and its maps, declared idempotently");
	ok(!has(s, "delete") && !has(s, "add rule"),
	   "no deletion, no base rule in the pure script");
	port_of(0, port);
	snprintf(want, sizeof(want),
		 "add element bridge zonehost ports_in { \"%s\" : jump " VID "_n0_in }", port);
	ok(has(s, want), "ports_in keyed on the host port name %s", port);
	snprintf(want, sizeof(want),
		 "add element bridge zonehost ports_out { \"%s\" : jump " VID "_n0_out }", port);
	ok(has(s, want), "ports_out keyed on the host port name");
	ok(has(s, "hook prerouting priority -200"), "prerouting at -200");
	ok(has(s, "hook forward priority 0"), "forward at 0");
	ok(has(s, "ether saddr != 02:00:c6:12:00:01 counter name " VID "_n0_bad_mac drop"),
	   "MAC check");
	ok(has(s, "arp saddr ether != 02:00:c6:12:00:01 counter name " VID "_n0_bad_arp drop"),
	   "ARP sender MAC check");
	ok(has(s, "ip saddr 198.18.0.1 return\n"), "ips entry is the host address only");
	ok(has(s, "ip6 saddr 2001:db8::5 return\n\t\tip6 saddr fe80::c6ff:fe12:1 return\n"),
	   "IPv6 ips + EUI-64 link-local");
	ok(has(s, "counter name " VID "_n0_bad_ip4 drop"), "IPv4 source check");
	ok(has(s, "arp saddr ip 198.18.0.1 return"), "ARP sender IP check");
	ok(has(s, "counter name " VID "_n0_bad_ip6 drop"), "IPv6 source check");
	ok(has(s, "ip6 saddr :: meta l4proto 58 return"), ":: for DAD");
	ok(has(s, "\t\tudp dport 68 counter name " VID "_n0_dhcp_server drop"),
	   "anything to the DHCP client port dropped, whatever its source port");
	ok(has(s, "udp dport 67 @th,64,8 2 counter name " VID "_n0_dhcp_server drop"),
	   "a BOOTREPLY to the server port (a relay agent) dropped");
	ok(has(s, "\t\tudp dport 546 counter name " VID "_n0_dhcp_server drop"),
	   "DHCPv6: anything to the client port");
	ok(has(s,
	       "udp dport 547 @th,64,8 { 2, 7, 10, 13 } counter name " VID "_n0_dhcp_server drop"),
	   "DHCPv6: server message types to the server port");
	ok(!has(s, "sport 67") && !has(s, "sport 547"), "no rule keyed on a source port");
	ok(has(s, "icmp type redirect counter name " VID "_n0_bad_ra drop"),
	   "IPv4 redirects dropped");
	ok(has(s, "meta l4proto 58 jump " VID "_n0_nd\n"), "ICMPv6 through the nd chain");
	ok(has(s,
	       "icmpv6 type { nd-router-advert, nd-redirect } counter name " VID "_n0_bad_ra drop"),
	   "router advertisements and redirects dropped");
	ok(has(s, "icmpv6 type nd-neighbor-advert goto " VID "_n0_nt\n"), "NA target checked");
	ok(has(s, "ip6 saddr :: icmpv6 type nd-neighbor-solicit goto " VID "_n0_nt\n"),
	   "DAD NS target checked");
	ok(has(s, "\t\t@th,64,128 0x20010db8000000000000000000000005 return\n"
		  "\t\t@th,64,128 0xfe800000000000000000c6fffe120001 return\n"
		  "\t\tcounter name " VID "_n0_bad_nd drop\n"),
	   "NA targets: the NIC's IPv6 addresses and link-local");
	ok(has(s, "@th,208,48 != 0x0200c6120001 counter name " VID "_n0_bad_nd drop"),
	   "NS/NA link-layer address option is the NIC's MAC");
	ok(has(s, "icmpv6 type nd-router-solicit @th,80,48 != 0x0200c6120001"),
	   "RS source link-layer address option is the NIC's MAC");
	ok(has(s, "@th,256,8 0-255 counter name " VID "_n0_bad_nd drop"),
	   "a second NS/NA option is refused");
	ok(has(s, "counter name " VID "_n0_bad_type drop"), "other ethertypes dropped");
	ok(has(s, "meta mark set 0x5a000000"), "VLAN 0 mark");
	ok(has(s, "meta mark 0x00000000 return\n\t\tmeta mark != 0x5a000000 counter name "
		  "" VID "_n0_vlan drop"),
	   "VLAN 0 port takes unmarked and VLAN 0 frames");
	ok(!has(s, "lease") && !has(s, "ports_snoop { \""), "no DHCP snooping without dhcp");
	ok(!has(s, "interval"), "no interval sets (libnftables would fetch their elements)");
	ok(!has(s, "::ffff:ffff:ffff:ffff"), "no SLAAC rule without addrconf");
	free(s);
	zh_error_clear(&err);
}

/* Every combination of the four allow_* flags lifts exactly its parts. */
static void test_flags(void)
{
	for (unsigned m = 0; m < 16; m++) {
		struct zh_error err = ZH_ERROR_INIT;
		bool mac = m & 1, ip = m & 2, dhcp = m & 4, rt = m & 8;
		char vm[512];
		char *s;

		snprintf(vm, sizeof(vm),
			 "{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\","
			 "\"ips\":[\"198.18.0.1/24\"],\"allow_mac_spoofing\":%s,"
			 "\"allow_ip_spoofing\":%s,\"allow_dhcp_spoofing\":%s,"
			 "\"allow_restricted_traffic\":%s}]}",
			 mac ? "true" : "false", ip ? "true" : "false", dhcp ? "true" : "false",
			 rt ? "true" : "false");
		s = script_of(vm, &err);
		ok(s != NULL, "flags %u: script", m);
		ok(has(s, "ether saddr !=") == !mac, "flags %u: MAC check iff !allow_mac_spoofing",
		   m);
		ok(has(s, "arp saddr ether !=") == !mac, "flags %u: ARP MAC check iff !mac", m);
		ok(has(s, "ip saddr 198.18.0.1 return") == !(ip || dhcp),
		   "flags %u: IPv4 check iff !(allow_ip || allow_dhcp)", m);
		ok(has(s, "arp saddr ip 198.18.0.1") == !(ip || dhcp), "flags %u: ARP IP check", m);
		ok(has(s, "counter name " VID "_n0_bad_ip6 drop") == !(ip || dhcp),
		   "flags %u: IPv6 check", m);
		ok(has(s, "n0_dhcp_server drop") == !dhcp, "flags %u: DHCP check iff !dhcp", m);
		ok(has(s, "n0_bad_ra drop") == !(ip || dhcp), "flags %u: RA/redirect check iff !ip",
		   m);
		ok(has(s, "goto " VID "_n0_nt") == !(ip || dhcp),
		   "flags %u: NA/NS target check iff !ip", m);
		ok(has(s, "@th,208,48 !=") == !mac, "flags %u: ND address option check iff !mac",
		   m);
		ok(has(s, "jump " VID "_n0_nd") == !(mac && (ip || dhcp)),
		   "flags %u: nd chain iff a check is left", m);
		ok(has(s, "counter name " VID "_n0_bad_type drop") == !rt,
		   "flags %u: ethertypes iff !rt", m);
		ok(has(s, "arp hlen != 6") == !(mac && (ip || dhcp)), "flags %u: ARP shape check",
		   m);
		free(s);
		zh_error_clear(&err);
	}
}

static void test_dhcp_server_alias(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char *s = script_of("{\"nics\":[{\"mac\":\"" MAC "\",\"dhcp_server\":true}]}", &err);

	ok(s && !has(s, "dhcp_server drop") && !has(s, "ip saddr 198.18.0.1"),
	   "dhcp_server is allow_dhcp_spoofing (and implies ip spoofing)");
	free(s);
	zh_error_clear(&err);
}

static void test_dhcp_addrconf(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char *s = script_of("{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\","
			    "\"ips\":[\"dhcp\",\"addrconf\"]}]}",
			    &err);

	ok(has(s, "set " VID "_n0_lease {"), "dhcp: lease set");
	ok(has(s, "ip saddr @" VID "_n0_lease return"), "dhcp: leased source allowed");
	ok(has(s, "arp saddr ip @" VID "_n0_lease return"), "dhcp: leased ARP sender allowed");
	ok(has(s, "ip saddr 0.0.0.0 udp sport 68 udp dport 67 return"),
	   "dhcp: DISCOVER from 0.0.0.0");
	ok(has(s, "@th,288,48 0x0200c6120001 update @" VID "_n0_lease { @th,192,32 }"),
	   "dhcp: snoop replies to our chaddr");
	ok(has(s, "hook output priority 0") && has(s, "ports_snoop { \"") &&
		   has(s, ": jump " VID "_n0_snoop"),
	   "dhcp: host-sent replies snooped too");
	ok(has(s, "ip6 saddr & ::ffff:ffff:ffff:ffff == ::c6ff:fe12:1 return"),
	   "addrconf: EUI-64 interface id allowed");
	ok(!has(s, "ip saddr 198"), "no static IPv4");
	free(s);
	zh_error_clear(&err);
}

static void test_vlan_and_allowed(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char p0[NET_IFNAMSIZ], p3[NET_IFNAMSIZ], want[256];
	char *s = script_of(
		"{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\",\"vlan_id\":10,"
		"\"ips\":[\"198.18.0.1/24\"],\"allowed_ips\":[\"10.1.2.3/8\","
		"\"198.18.0.0/24\",\"2001:db8:1::77/48\",\"192.0.2.9\"]},"
		"{\"interface\":\"net3\",\"mac\":\"02:00:c6:12:00:03\",\"vlan_id\":4095}]}",
		&err);

	ok(has(s, "meta mark set 0x5a00000a"), "vlan 10 mark");
	ok(has(s, "meta mark != 0x5a00000a counter name " VID "_n0_vlan drop"),
	   "vlan 10 egress check");
	ok(has(s, "meta mark set 0x5a000fff") && has(s, "meta mark != 0x5a000fff"), "vlan 4095");
	ok(has(s, "ip saddr 198.18.0.1 return\n\t\tip saddr 10.0.0.0/8 return\n"
		  "\t\tip saddr 198.18.0.0/24 return\n\t\tip saddr 192.0.2.9 return\n"),
	   "allowed_ips masked to their networks");
	ok(has(s, "2001:db8:1::/48"), "IPv6 allowed_ips");
	port_of(0, p0);
	port_of(3, p3);
	snprintf(want, sizeof(want),
		 "ports_in { \"%s\" : jump " VID "_n0_in, \"%s\" : jump " VID "_n1_in }", p0, p3);
	ok(has(s, want), "port names follow the interface number (%s, %s)", p0, p3);
	free(s);
	zh_error_clear(&err);
}

static void expect_fail(const char *uuid, const char *vmjson, const char *what)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = vm_of(vmjson);
	char *s = NULL;
	int r = nft_vm_script(uuid, vm, &s, &err);

	ok(r < 0 && s == NULL && err.msg, "rejects %s (%s)", what, err.msg ? err.msg : "");
	free(s);
	json_decref(vm);
	zh_error_clear(&err);
}

static void test_bad(void)
{
	expect_fail("0123abcd-4567-489a-8bcd-ef012345678\"", "{}", "a uuid with a quote");
	expect_fail("x", "{}", "a short uuid");
	expect_fail(UUID, "[]", "a VM that is not an object");
	expect_fail(UUID, "{\"nics\":{}}", "nics not a list");
	expect_fail(UUID, "{\"nics\":[{\"ips\":[]}]}", "a NIC without mac");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"02:00:00:00:00:01\\\" } ; flush ruleset ; #\"}]}",
		    "a mac with nft syntax");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"02:00:00:00:00:1\"}]}", "a short mac");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"ips\":[\"1.2.3.4/24 } ; flush\"]}]}",
		    "an address with nft syntax");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"ips\":[\"1.2.3.4/33\"]}]}",
		    "prefix 33");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"allowed_ips\":[\"1.2.3.4/+8\"]}]}",
		    "prefix +8");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"ips\":[7]}]}", "a number in ips");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"vlan_id\":4096}]}", "vlan_id 4096");
	expect_fail(UUID, "{\"nics\":[{\"mac\":\"" MAC "\",\"vlan_id\":\"1\"}]}", "vlan_id string");
}

static void test_no_nics(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	char *s = script_of("{\"brand\":\"joyent-minimal\"}", &err);

	ok(s && has(s, "chain prerouting {") && !has(s, "" VID "_"), "no nics: base only");
	free(s);
	zh_error_clear(&err);
}

/*
 * Two VMs whose uuids share all but their last digit (a chosen uuid can do
 * that) get distinct host port names and distinct nft objects.
 */
static void test_names_unique(void)
{
	static const char u1[] = "0123abcd-4567-489a-8bcd-ef0123456780";
	static const char u2[] = "0123abcd-4567-489a-8bcd-ef0123456781";
	struct zh_error err = ZH_ERROR_INIT;
	json_t *a = json_pack("{s:I}", "zonehost_id_base", (json_int_t)BASE);
	json_t *b = json_pack("{s:I}", "zonehost_id_base", (json_int_t)BASE + 65536);
	json_t *none = json_pack("{s:[{s:s}]}", "nics", "mac", MAC);
	char pa[NET_IFNAMSIZ] = "", pb[NET_IFNAMSIZ] = "", na[NET_IFNAMSIZ], nb[NET_IFNAMSIZ];
	char want[128];
	char *s = NULL;

	ok(net_vnic_prefix(u1, a, pa, &err) == 0 && net_vnic_prefix(u2, b, pb, &err) == 0,
	   "prefixes of two VMs (%s, %s)", pa, pb);
	ok(streq(pa, "z0123ab0010n") && streq(pb, "z0123ab0011n"),
	   "z + 6 hex of the uuid + the 4-hex id slot + n");
	net_vnic_host_name(pa, 999, na);
	net_vnic_host_name(pb, 999, nb);
	ok(!streq(na, nb) && strlen(na) == 15, "port names differ and fit IFNAMSIZ (%s)", na);
	ok(net_vnic_prefix(u1, none, pa, &err) == -EINVAL && streq(err.prop, "zonehost_id_base"),
	   "no id base: no VNIC name (%s)", err.msg ? err.msg : "");
	zh_error_clear(&err);
	ok(nft_vm_script(u1, none, &s, &err) < 0 && !s, "nor nft rules for its NICs");
	zh_error_clear(&err);
	json_object_set_new(none, "zonehost_id_base", json_integer(BASE + 1));
	ok(net_vnic_prefix(u1, none, pa, &err) == -EINVAL, "an id base off the 65536 grid refused");
	zh_error_clear(&err);
	json_object_set_new(a, "nics", json_pack("[{s:s,s:s}]", "interface", "net0", "mac", MAC));
	json_object_set_new(b, "nics", json_pack("[{s:s,s:s}]", "interface", "net0", "mac", MAC));
	net_vnic_prefix(u1, a, pa, &err);
	net_vnic_host_name(pa, 0, na);
	snprintf(want, sizeof(want), "{ \"%s\" : jump v0123abcd4567489a8bcdef0123456780_n0_in }",
		 na);
	ok(nft_vm_script(u1, a, &s, &err) == 0 && has(s, want),
	   "objects carry the whole uuid, elements the slot's port name");
	free(s);
	json_decref(a);
	json_decref(b);
	json_decref(none);
	zh_error_clear(&err);
}

/* An HVM VM: rules keyed on its taps, unicast to other MACs filtered. */
static void test_hvm(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *nic = json_pack("{s:s}", "interface", "net3");
	char name[NET_IFNAMSIZ] = "";
	char *s = script_of("{\"brand\":\"kvm\",\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC
			    "\",\"ips\":[\"198.18.0.1/24\"]},{\"interface\":\"net1\",\"mac\":"
			    "\"02:00:00:00:00:02\",\"allow_unfiltered_promisc\":true}]}",
			    &err);

	ok(net_tap_name(UUID, nic, 0, name, &err) == 0 && streq(name, "vt0123abcd3"),
	   "tap name vt + 8 hex + interface number (%s)", name);
	ok(net_tap_name("0123abcd\"-4567", nic, 0, name, &err) < 0, "a bad uuid names no tap");
	zh_error_clear(&err);
	ok(has(s, "\"vt0123abcd0\" : jump " VID "_n0_in") && has(s, "\"vt0123abcd1\" : jump"),
	   "rules keyed on the taps");
	ok(has(s, "ether daddr != 02:00:c6:12:00:01 counter name " VID "_n0_promisc drop"),
	   "unicast to other MACs filtered by default");
	ok(!has(s, VID "_n1_promisc drop"), "allow_unfiltered_promisc lifts it");
	free(s);
	s = script_of("{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\"}]}", &err);
	ok(s && !has(s, "_promisc drop"), "zones are not filtered");
	free(s);
	json_decref(nic);
	zh_error_clear(&err);
}

/* As root: the kernel accepts every script (private network namespace). */
static void test_load(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	static const char *const vms[] = {
		"{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC "\",\"ips\":[\"198.18.0.1/24\","
		"\"2001:db8::5/64\"],\"allowed_ips\":[\"198.18.0.0/24\",\"0.0.0.0/0\",\"::/0\"]}]}",
		"{\"nics\":[{\"interface\":\"net0\",\"mac\":\"" MAC
		"\",\"ips\":[\"dhcp\",\"addrconf\"]},"
		"{\"interface\":\"net1\",\"mac\":\"02:00:00:00:00:02\",\"allow_ip_spoofing\":true,"
		"\"allow_mac_spoofing\":true,\"allow_restricted_traffic\":true,\"vlan_id\":7}]}",
		"{\"nics\":[{\"mac\":\"" MAC "\",\"allow_dhcp_spoofing\":true}]}",
		"{\"brand\":\"bhyve\",\"nics\":[{\"mac\":\"" MAC "\",\"vlan_id\":3}]}",
		"{}",
	};
	char dir[] = "/tmp/test-nft-XXXXXX";

	if (getuid() != 0 || unshare(CLONE_NEWNET) < 0 || !mkdtemp(dir)) {
		ok(1, "# SKIP loading: needs root and a private network namespace");
		return;
	}
	setenv("ZONEHOST_ROOT", dir, 1);
	for (size_t i = 0; i < ARRAY_SIZE(vms); i++) {
		json_t *vm = vm_of(vms[i]);
		int r = nft_vm_apply(UUID, vm, &err);

		ok(r == 0, "kernel loads script %zu (%s)", i, err.msg ? err.msg : "");
		ok(nft_vm_apply(UUID, vm, &err) == 0, "and replaces it atomically");
		json_decref(vm);
		zh_error_clear(&err);
	}
	ok(nft_vm_remove(UUID, &err) == 0, "remove");
	ok(nft_vm_remove(UUID, &err) == 0, "remove is idempotent");
	zh_error_clear(&err);
	rmdir(dir);
}

int main(void)
{
	test_default();
	test_flags();
	test_dhcp_server_alias();
	test_dhcp_addrconf();
	test_vlan_and_allowed();
	test_bad();
	test_no_nics();
	test_names_unique();
	test_hvm();
	test_load();
	return tap_done();
}

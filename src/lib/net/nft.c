/*
 * nft.c - per-VM anti-spoofing and VLAN segment rules (libnftables,
 * bridge family).
 *
 * Owns: the table "bridge zonehost" of each network namespace, shared by
 * all VMs, and in it the objects of each VM, all named "v<the uuid's 32
 * hex digits>_..." - nothing else.  A frame costs one verdict map lookup per
 * hook however many VMs there are:
 *
 *   chain prerouting   hook prerouting, priority -200: iifname vmap @ports_in
 *   chain forward      hook forward, priority 0:       oifname vmap @ports_out
 *   chain output       hook output, priority 0:        oifname vmap @ports_snoop
 *   map ports_in/ports_out/ports_snoop   ifname : verdict, one element per
 *                      host port P of a VM: "P" : jump V_nI_in (_out, _snoop)
 *
 * and per NIC I of VM V (host port P = net_port_name(): the VNIC's host end
 * net_vnic_host_name(prefix, idx) with the VM's net_vnic_prefix(), unique
 * per VM on the host as V is; the tap net_tap_name() of an HVM VM):
 *
 *   chain V_nI_in      meta mark set 0x5a000000|vlan_id; source MAC check;
 *                      ether type ip/arp/ip6 goto V_nI_ip4/arp/ip6; other
 *                      ethertypes dropped
 *   chain V_nI_ip4/arp/ip6  DHCP(v6) server messages and ICMP redirects
 *                      dropped; ICMPv6 through V_nI_nd; sender address
 *                      must be one of the NIC's (a rule per address or
 *                      prefix) or in the set V_nI_lease
 *   chain V_nI_nd      ICMPv6: router advertisements and redirects dropped;
 *                      the link-layer address option of an RS, NS or NA
 *                      must be the NIC's MAC (one option at most); the
 *                      target of an NA or a DAD NS goes to V_nI_nt
 *   chain V_nI_nt      that target must be one of the NIC's IPv6 addresses
 *   chain V_nI_out     DHCP lease snooping; for an HVM NIC no unicast to
 *                      another MAC (allow_unfiltered_promisc or
 *                      allow_mac_spoofing lift it); then the VLAN check: a frame may
 *                      leave by P only if its mark says P's VLAN (mark 0 -
 *                      the host, an uplink, a port zonehost does not manage -
 *                      counts as VLAN 0)
 *   chain V_nI_snoop   DHCP replies to the NIC's MAC add the offered address
 *                      to set V_nI_lease (frames the host sends reach it by
 *                      ports_snoop from the output hook)
 *   counter V_nI_bad_mac, _bad_ip4, _bad_arp, _bad_ip6, _bad_nd (NS/NA/RS
 *                      target or address option), _bad_ra (RA, redirect),
 *                      _dhcp_server, _bad_type, _vlan, _promisc
 *
 * No VM has an interval set: libnftables fetches the elements of every
 * interval set of the table for any element change, which made an apply
 * cost grow with the number of VMs.
 *
 * nft_vm_apply() lists ports_in and ports_snoop (cheap: no rules are
 * fetched; ports_out always holds the keys of ports_in) to find the VM's
 * current objects (their chains are named by the jump
 * targets; nothing else is trusted), then in ONE transaction deletes them
 * (elements first, then chains, sets and counters; "add X; delete X" for
 * those that may not exist, as nft 1.0.6 has no `destroy`) and adds the new
 * ones, so a live update never opens a window without rules.  The base
 * table, maps and chains are (re)declared idempotently by every apply; the
 * base chains' rules are added when the table is created.  nft_vm_remove()
 * deletes the VM's objects, or the whole table when the VM was its last
 * user (deleting a table waits for an RCU grace period, so only then).
 * Applies and removals of one ZONEHOST_ROOT are serialised by the lock
 * "nft" (lock.h), so "list, then change" never races.
 *
 *     nft_vm_apply(uuid, vm, &err);    (before or after the VNICs exist:
 *                                        rules match port NAMES)
 *     nft_vm_remove(uuid, &err);       (idempotent; needs only the uuid)
 *
 * Defaults and the allow_* properties (per NIC):
 *   - source MAC must be `mac` (frames and ARP sender)   allow_mac_spoofing
 *   - IPv4 source / ARP sender IP in `ips` (the host addresses),
 *     `allowed_ips` (CIDRs), 0.0.0.0 for ARP probes; a `dhcp` NIC also its
 *     snooped leases (set V_nI_lease, filled from DHCP replies to its MAC)
 *     and 0.0.0.0 -> DHCP server for DISCOVER/REQUEST       allow_ip_spoofing
 *   - IPv6 source in `ips`, `allowed_ips`, fe80::EUI-64 of the MAC, :: for
 *     ICMPv6 (DAD, MLD); an `addrconf` NIC also any address whose interface
 *     id is the MAC's EUI-64 (SLAAC; privacy addresses are refused)
 *                                                         allow_ip_spoofing
 *   - no router: no IPv6 router advertisement or redirect, no IPv4 ICMP
 *     redirect (a router VM spoofs IP anyway)             allow_ip_spoofing
 *   - neighbour discovery about the NIC only: the target of an NA, and of
 *     a DAD NS, is one of the addresses above           allow_ip_spoofing;
 *     the link-layer address option of an RS, NS or NA is `mac`, and no
 *     second option hides behind it                    allow_mac_spoofing
 *   - no DHCP server traffic, by what it is, not by its source port:
 *     nothing to a client port (UDP 68, 546: only servers send there), no
 *     server message to a server port (BOOTREPLY; DHCPv6 ADVERTISE, REPLY,
 *     RECONFIGURE, RELAY-REPL: a relay agent's input)   allow_dhcp_spoofing
 *     (which implies allow_ip_spoofing; `dhcp_server` is its alias)
 *   - only IPv4, ARP and IPv6 ethertypes (no 802.1Q tagged frames, no
 *     LLDP, no raw 802.3 ...) - SmartOS's "restricted" link protection:
 *                                                    allow_restricted_traffic
 *     (the IP checks above see untagged frames only: a NIC allowed other
 *     ethertypes may send 802.1Q-tagged IP past them)
 * Each check counts what it drops (nft list counters table bridge zonehost).
 *
 * Every string in the script is re-formatted from parsed binary values
 * (addresses via inet_ntop, MACs via %02x, port and object names from the
 * uuid's hex digits); nothing of the VM's JSON is copied into it, and of
 * the kernel's listing only names that pass a strict check.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <string.h>

#include "jsonutil.h"
#include "lock.h"
#include "net.h"
#include "nft.h"
#include "util.h"
#include "vmcfg-access.h"

#define NFT_MARK      0x5a000000u
#define MAX_NICS      64
#define MAX_PREFIXES  64
#define LEASE_TIMEOUT "2d"
#define VM_ID_SIZE    34 /* "v" + the uuid's 32 hex digits + NUL */
#define TABLE	      "bridge zonehost"

struct pfx {
	int family; /* AF_INET or AF_INET6 */
	unsigned char a[16];
	unsigned len;
};

struct nic {
	char port[NET_IFNAMSIZ];
	unsigned char mac[6];
	unsigned vlan;
	bool dhcp, addrconf;
	bool allow_mac, allow_ip, allow_dhcp, allow_restricted;
	bool filter_promisc; /* HVM: no unicast to other MACs out (allow_unfiltered_promisc) */
	struct pfx p[MAX_PREFIXES];
	size_t np;
};

struct vmrules {
	char id[VM_ID_SIZE];
	struct nic *nics;
	size_t n;
};

enum { PORTS_IN, PORTS_OUT, PORTS_SNOOP };
static const char *const maps[] = {"ports_in", "ports_out", "ports_snoop"};

static void vmrules_free(struct vmrules *r)
{
	free(r->nics);
	r->nics = NULL;
}

/* ---- parsing (everything ends up binary) ---- */

/*
 * "v" + the 32 hex digits of the uuid: the prefix of the VM's objects.
 * The whole uuid (nft names may be 256 bytes long), so two VMs never share
 * it, whatever uuids they were given.
 */
static int vm_id(const char *uuid, char out[VM_ID_SIZE], struct zh_error *err)
{
	size_t k = 1;

	if (!uuid || !util_is_uuid_shape(uuid))
		return zh_error_set(err, EINVAL, "uuid", "invalid uuid for nft rules");
	out[0] = 'v';
	for (const char *c = uuid; *c; c++) {
		if (*c == '-')
			continue;
		if (!isxdigit((unsigned char)*c))
			return zh_error_set(err, EINVAL, "uuid", "invalid uuid for nft rules");
		if (k < VM_ID_SIZE - 1)
			out[k++] = (char)tolower((unsigned char)*c);
	}
	out[k] = '\0';
	return 0;
}

static bool parse_mac(const char *s, unsigned char mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;

		for (int d = 0; d < 2; d++, s++) {
			if (!isxdigit((unsigned char)*s))
				return false;
			v = v * 16 + (unsigned)(isdigit((unsigned char)*s)
							? *s - '0'
							: (tolower((unsigned char)*s) - 'a' + 10));
		}
		mac[i] = (unsigned char)v;
		if (*s != (i == 5 ? '\0' : ':'))
			return false;
		if (i < 5)
			s++;
	}
	return true;
}

static void mask_host_bits(struct pfx *p)
{
	unsigned bytes = p->family == AF_INET ? 4 : 16;

	for (unsigned b = 0; b < bytes; b++) {
		unsigned keep = p->len >= (b + 1) * 8 ? 8 : (p->len > b * 8 ? p->len - b * 8 : 0);

		p->a[b] &= (unsigned char)(0xff00u >> keep);
	}
}

/* "addr" or "addr/len"; host: keep only the address (an `ips` entry). */
static bool parse_prefix(const char *s, bool host, struct pfx *p)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t len;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->a) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->a) == 1)
		p->family = AF_INET6;
	else
		return false;
	p->len = p->family == AF_INET ? 32 : 128;
	if (slash) {
		if (strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
		    util_parse_u64(slash + 1, &len) < 0 || len > p->len)
			return false;
		if (!host)
			p->len = (unsigned)len;
	}
	mask_host_bits(p);
	return true;
}

static int add_prefix(struct nic *nic, const struct pfx *p)
{
	if (nic->np >= MAX_PREFIXES)
		return -E2BIG;
	nic->p[nic->np++] = *p;
	return 0;
}

static int nic_err(struct zh_error *err, size_t i, const char *what)
{
	return zh_error_set(err, EINVAL, VMCFG_NICS, "nic %zu: %s", i, what);
}

static int parse_ips(struct nic *nic, size_t i, const json_t *arr, bool host, struct zh_error *err)
{
	size_t k;
	json_t *e;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return nic_err(err, i, host ? "ips is not a list" : "allowed_ips is not a list");
	json_array_foreach (arr, k, e) {
		const char *s = json_string_value(e);
		struct pfx p;

		if (!s)
			return nic_err(err, i, "address is not a string");
		if (host && streq(s, "dhcp")) {
			nic->dhcp = true;
			continue;
		}
		if (host && streq(s, "addrconf")) {
			nic->addrconf = true;
			continue;
		}
		if (!parse_prefix(s, host, &p))
			return nic_err(err, i, host ? "invalid IP in ips" : "invalid allowed_ips");
		if (add_prefix(nic, &p) < 0)
			return nic_err(err, i, "too many addresses");
	}
	return 0;
}

static bool flag(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static int parse_vlan(struct nic *nic, size_t i, const json_t *o, struct zh_error *err)
{
	json_t *v = json_object_get(o, "vlan_id");

	nic->vlan = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
		return nic_err(err, i, "vlan_id must be an integer 0-4095");
	nic->vlan = (unsigned)json_integer_value(v);
	return 0;
}

static int parse_nic(const char *uuid, const json_t *vm, size_t i, const json_t *o, struct nic *nic,
		     struct zh_error *err)
{
	const char *mac;
	int r;

	if (!json_is_object(o))
		return nic_err(err, i, "not an object");
	mac = json_string_value(json_object_get(o, "mac"));
	if (!mac || !parse_mac(mac, nic->mac))
		return nic_err(err, i, "invalid or missing mac");
	if ((r = parse_vlan(nic, i, o, err)) < 0)
		return r;
	nic->allow_mac = flag(o, "allow_mac_spoofing");
	nic->allow_dhcp = flag(o, "allow_dhcp_spoofing") || flag(o, "dhcp_server");
	nic->allow_ip = flag(o, "allow_ip_spoofing") || nic->allow_dhcp;
	nic->allow_restricted = flag(o, "allow_restricted_traffic");
	nic->filter_promisc =
		vmcfg_is_hvm(vm) && !flag(o, "allow_unfiltered_promisc") && !nic->allow_mac;
	if ((r = parse_ips(nic, i, json_object_get(o, "ips"), true, err)) < 0 ||
	    (r = parse_ips(nic, i, json_object_get(o, "allowed_ips"), false, err)) < 0)
		return r;
	if ((r = net_port_name(uuid, vm, o, i, nic->port, err)) < 0)
		return r;
	for (const char *c = nic->port; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return nic_err(err, i, "unexpected host port name");
	if (!nic->port[0])
		return nic_err(err, i, "empty host port name");
	return 0;
}

static int vmrules_parse(const char *uuid, const json_t *vm, struct vmrules *r,
			 struct zh_error *err)
{
	json_t *nics = json_is_object(vm) ? vmcfg_nics(vm) : NULL, *o;
	size_t i;
	int ret;

	if (!json_is_object(vm))
		return zh_error_set(err, EINVAL, NULL, "VM config is not an object");
	if ((ret = vm_id(uuid, r->id, err)) < 0)
		return ret;
	if (!nics || json_is_null(nics))
		return 0;
	if (!json_is_array(nics))
		return zh_error_set(err, EINVAL, VMCFG_NICS, "nics is not a list");
	if (json_array_size(nics) > MAX_NICS)
		return zh_error_set(err, E2BIG, VMCFG_NICS, "too many nics (at most %d)", MAX_NICS);
	r->nics = calloc(json_array_size(nics) + 1, sizeof(*r->nics));
	if (!r->nics)
		return zh_error_oom(err);
	json_array_foreach (nics, i, o) {
		if ((ret = parse_nic(uuid, vm, i, o, &r->nics[i], err)) < 0)
			return ret;
		r->n = i + 1;
	}
	return 0;
}

/* ---- formatting ---- */

static const char *const counters[] = {"bad_mac", "bad_ip4",	 "bad_arp",  "bad_ip6", "bad_nd",
				       "bad_ra",  "dhcp_server", "bad_type", "vlan",	"promisc"};

static void put_mac(FILE *f, const unsigned char m[6])
{
	fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void put_addr(FILE *f, int family, const unsigned char *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family, a, buf, sizeof(buf)))
		fputs(buf, f);
}

static void put_pfx(FILE *f, const struct pfx *p)
{
	put_addr(f, p->family, p->a);
	if (p->len != (p->family == AF_INET ? 32u : 128u))
		fprintf(f, "/%u", p->len);
}

/* fe80::/64 + the EUI-64 interface id of mac (RFC 4291 2.5.1). */
static void eui64(const unsigned char m[6], bool link_local, unsigned char out[16])
{
	memset(out, 0, 16);
	if (link_local) {
		out[0] = 0xfe;
		out[1] = 0x80;
	}
	out[8] = m[0] ^ 0x02;
	out[9] = m[1];
	out[10] = m[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = m[3];
	out[14] = m[4];
	out[15] = m[5];
}

/* One "<match> <prefix> return" rule per address of the family. */
static void put_addr_rules(FILE *f, const struct nic *n, int family, const char *match)
{
	for (size_t k = 0; k < n->np; k++) {
		if (n->p[k].family != family)
			continue;
		fprintf(f, "\t\t%s ", match);
		put_pfx(f, &n->p[k]);
		fputs(" return\n", f);
	}
}

static void put_nic_objects(FILE *f, const char *id, size_t i, const struct nic *n)
{
	for (size_t c = 0; c < ARRAY_SIZE(counters); c++)
		fprintf(f, "\tcounter %s_n%zu_%s {\n\t}\n", id, i, counters[c]);
	if (n->dhcp)
		fprintf(f,
			"\tset %s_n%zu_lease {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
			"\t\ttimeout " LEASE_TIMEOUT "\n\t}\n",
			id, i);
}

static void put_in_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain %s_n%zu_in {\n\t\tmeta mark set 0x%08x\n", id, i, NFT_MARK | n->vlan);
	if (!n->allow_mac) {
		fputs("\t\tether saddr != ", f);
		put_mac(f, n->mac);
		fprintf(f, " counter name %s_n%zu_bad_mac drop\n", id, i);
	}
	fprintf(f,
		"\t\tether type ip goto %s_n%zu_ip4\n\t\tether type arp goto %s_n%zu_arp\n"
		"\t\tether type ip6 goto %s_n%zu_ip6\n",
		id, i, id, i, id, i);
	if (!n->allow_restricted)
		fprintf(f, "\t\tcounter name %s_n%zu_bad_type drop\n", id, i);
	fputs("\t}\n", f);
}

/*
 * DHCP server traffic, by what it is rather than by its source port: any
 * datagram to a client port (68, 546) - only a server or relay sends there
 * - and a server's message to the server port (a BOOTREPLY, or a DHCPv6
 * ADVERTISE, REPLY, RECONFIGURE or RELAY-REPL: what a relay agent listens
 * for).  The first payload byte is the BOOTP op / the DHCPv6 msg-type.
 */
static void put_dhcp_rules(FILE *f, const char *id, size_t i, bool v6)
{
	fprintf(f, "\t\tudp dport %d counter name %s_n%zu_dhcp_server drop\n", v6 ? 546 : 68, id,
		i);
	fprintf(f, "\t\tudp dport %d @th,64,8 %s counter name %s_n%zu_dhcp_server drop\n",
		v6 ? 547 : 67, v6 ? "{ 2, 7, 10, 13 }" : "2", id, i);
}

static void put_ip4_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain %s_n%zu_ip4 {\n", id, i);
	if (!n->allow_dhcp)
		put_dhcp_rules(f, id, i, false);
	if (!n->allow_ip) {
		fprintf(f, "\t\ticmp type redirect counter name %s_n%zu_bad_ra drop\n", id, i);
		put_addr_rules(f, n, AF_INET, "ip saddr");
		if (n->dhcp)
			fprintf(f,
				"\t\tip saddr @%s_n%zu_lease return\n"
				"\t\tip saddr 0.0.0.0 udp sport 68 udp dport 67 return\n",
				id, i);
		fprintf(f, "\t\tcounter name %s_n%zu_bad_ip4 drop\n", id, i);
	}
	fputs("\t}\n", f);
}

static void put_arp_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain %s_n%zu_arp {\n", id, i);
	if (!n->allow_mac || !n->allow_ip)
		fprintf(f,
			"\t\tarp htype != 1 counter name %s_n%zu_bad_arp drop\n"
			"\t\tarp ptype != ip counter name %s_n%zu_bad_arp drop\n"
			"\t\tarp hlen != 6 counter name %s_n%zu_bad_arp drop\n"
			"\t\tarp plen != 4 counter name %s_n%zu_bad_arp drop\n",
			id, i, id, i, id, i, id, i);
	if (!n->allow_mac) {
		fputs("\t\tarp saddr ether != ", f);
		put_mac(f, n->mac);
		fprintf(f, " counter name %s_n%zu_bad_arp drop\n", id, i);
	}
	if (!n->allow_ip) {
		put_addr_rules(f, n, AF_INET, "arp saddr ip");
		fputs("\t\tarp saddr ip 0.0.0.0 return\n", f);
		if (n->dhcp)
			fprintf(f, "\t\tarp saddr ip @%s_n%zu_lease return\n", id, i);
		fprintf(f, "\t\tcounter name %s_n%zu_bad_arp drop\n", id, i);
	}
	fputs("\t}\n", f);
}

/* "@th,OFF,128 [& MASK ==] 0xADDR": p at bit offset off of the transport header. */
static void put_th_addr(FILE *f, unsigned off, const struct pfx *p)
{
	fprintf(f, "@th,%u,128 ", off);
	if (p->len < 128) {
		fputs("& 0x", f);
		for (unsigned b = 0; b < 16; b++) {
			unsigned keep =
				p->len >= (b + 1) * 8 ? 8 : (p->len > b * 8 ? p->len - b * 8 : 0);

			fprintf(f, "%02x", (0xff00u >> keep) & 0xffu);
		}
		fputs(" == ", f);
	}
	fputs("0x", f);
	for (unsigned b = 0; b < 16; b++)
		fprintf(f, "%02x", p->a[b]);
}

/*
 * The target of an NA, or of a DAD NS (source ::), must be one of the
 * NIC's IPv6 addresses: the same list as the source check.
 */
static void put_nt_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	struct pfx ll = {.family = AF_INET6, .len = 128};

	fprintf(f, "\tchain %s_n%zu_nt {\n", id, i);
	for (size_t k = 0; k < n->np; k++) {
		if (n->p[k].family != AF_INET6)
			continue;
		fputs("\t\t", f);
		put_th_addr(f, 64, &n->p[k]);
		fputs(" return\n", f);
	}
	eui64(n->mac, true, ll.a);
	fputs("\t\t", f);
	put_th_addr(f, 64, &ll);
	fputs(" return\n", f);
	if (n->addrconf) {
		eui64(n->mac, false, ll.a);
		fputs("\t\t@th,128,64 0x", f);
		for (unsigned b = 8; b < 16; b++)
			fprintf(f, "%02x", ll.a[b]);
		fputs(" return\n", f);
	}
	fprintf(f, "\t\tcounter name %s_n%zu_bad_nd drop\n\t}\n", id, i);
}

/*
 * Link-layer address options (RFC 4861 4.6.1) must name the NIC's MAC:
 * an RS carries at most one option (at byte 8), an NS or NA at most one
 * (at byte 24): an address option (1 source, 2 target) or, in a DAD NS, a
 * nonce (14, RFC 7527).  A second option is refused, so none can hide
 * behind the first.  A rule whose payload lies beyond the packet does not
 * match ("0-255": any byte there).
 */
static void put_lla_rules(FILE *f, const char *id, size_t i, const struct nic *n)
{
	static const char ns_na[] = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }";
	static const char rs[] = "icmpv6 type nd-router-solicit";
	char mac[16];

	snprintf(mac, sizeof(mac), "0x%02x%02x%02x%02x%02x%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	fprintf(f,
		"\t\t%s @th,128,8 0-255 counter name %s_n%zu_bad_nd drop\n"
		"\t\t%s @th,64,16 != 0x0101 counter name %s_n%zu_bad_nd drop\n"
		"\t\t%s @th,80,48 != %s counter name %s_n%zu_bad_nd drop\n",
		rs, id, i, rs, id, i, rs, mac, id, i);
	fprintf(f,
		"\t\t%s @th,256,8 0-255 counter name %s_n%zu_bad_nd drop\n"
		"\t\t%s @th,192,16 != { 0x0101, 0x0201, 0x0e01 } counter name %s_n%zu_bad_nd drop\n"
		"\t\t%s @th,192,16 { 0x0101, 0x0201 } @th,208,48 != %s counter name %s_n%zu_bad_nd "
		"drop\n",
		ns_na, id, i, ns_na, id, i, ns_na, mac, id, i);
}

/*
 * ICMPv6 from the NIC: no router advertisement or redirect (a zone is no
 * router unless it may spoof IP), neighbour discovery only about its own
 * addresses and MAC.
 */
static void put_nd_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain %s_n%zu_nd {\n", id, i);
	if (!n->allow_ip)
		fprintf(f,
			"\t\ticmpv6 type { nd-router-advert, nd-redirect } counter name "
			"%s_n%zu_bad_ra drop\n",
			id, i);
	if (!n->allow_mac)
		put_lla_rules(f, id, i, n);
	if (!n->allow_ip)
		fprintf(f,
			"\t\ticmpv6 type nd-neighbor-advert goto %s_n%zu_nt\n"
			"\t\tip6 saddr :: icmpv6 type nd-neighbor-solicit goto %s_n%zu_nt\n",
			id, i, id, i);
	fputs("\t}\n", f);
}

static void put_ip6_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	unsigned char a[16];

	fprintf(f, "\tchain %s_n%zu_ip6 {\n", id, i);
	if (!n->allow_dhcp)
		put_dhcp_rules(f, id, i, true);
	/* 58 (ICMPv6) by number: nft resolves names through /etc/protocols,
	 * which a minimal host may lack (netbase). */
	if (!n->allow_ip || !n->allow_mac)
		fprintf(f, "\t\tmeta l4proto 58 jump %s_n%zu_nd\n", id, i);
	if (!n->allow_ip) {
		put_addr_rules(f, n, AF_INET6, "ip6 saddr");
		eui64(n->mac, true, a);
		fputs("\t\tip6 saddr ", f);
		put_addr(f, AF_INET6, a);
		fputs(" return\n", f);
		if (n->addrconf) {
			eui64(n->mac, false, a);
			fputs("\t\tip6 saddr & ::ffff:ffff:ffff:ffff == ", f);
			put_addr(f, AF_INET6, a);
			fputs(" return\n", f);
		}
		fprintf(f,
			"\t\tip6 saddr :: meta l4proto 58 return\n"
			"\t\tcounter name %s_n%zu_bad_ip6 drop\n",
			id, i);
	}
	fputs("\t}\n", f);
}

/* DHCP replies to this NIC's MAC (chaddr) add the offered address (yiaddr). */
static void put_snoop_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f,
		"\tchain %s_n%zu_snoop {\n\t\tether type ip udp sport 67 udp dport 68 "
		"@th,288,48 0x",
		id, i);
	for (int k = 0; k < 6; k++)
		fprintf(f, "%02x", n->mac[k]);
	fprintf(f, " update @%s_n%zu_lease { @th,192,32 }\n\t}\n", id, i);
}

static void put_out_chain(FILE *f, const char *id, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain %s_n%zu_out {\n", id, i);
	if (n->dhcp)
		fprintf(f, "\t\tjump %s_n%zu_snoop\n", id, i);
	if (n->filter_promisc) {
		fputs("\t\tether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00 ether daddr != ",
		      f);
		put_mac(f, n->mac);
		fprintf(f, " counter name %s_n%zu_promisc drop\n", id, i);
	}
	if (n->vlan == 0)
		fprintf(f, "\t\tmeta mark 0x00000000 return\n\t\tmeta mark != 0x%08x", NFT_MARK);
	else
		fprintf(f, "\t\tmeta mark != 0x%08x", NFT_MARK | n->vlan);
	fprintf(f, " counter name %s_n%zu_vlan drop\n\t}\n", id, i);
}

/* add element ... map { "P0" : jump V_n0_<suffix>, ... } (only dhcp NICs if dhcp_only). */
static void put_elements(FILE *f, const struct vmrules *r, const char *map, const char *suffix,
			 bool dhcp_only)
{
	const char *sep = "";

	for (size_t i = 0; i < r->n; i++) {
		if (dhcp_only && !r->nics[i].dhcp)
			continue;
		if (!*sep)
			fprintf(f, "add element " TABLE " %s { ", map);
		fprintf(f, "%s\"%s\" : jump %s_n%zu_%s", sep, r->nics[i].port, r->id, i, suffix);
		sep = ", ";
	}
	if (*sep)
		fputs(" }\n", f);
}

/* The shared table, its maps and base chains: idempotent, no rules. */
static void put_base(FILE *f)
{
	static const char *const hooks[][3] = {{"prerouting", "prerouting", "-200"},
					       {"forward", "forward", "0"},
					       {"output", "output", "0"}};

	fputs("table " TABLE " {\n", f);
	for (size_t m = 0; m < ARRAY_SIZE(maps); m++)
		fprintf(f, "\tmap %s {\n\t\ttype ifname : verdict\n\t}\n", maps[m]);
	for (size_t h = 0; h < ARRAY_SIZE(hooks); h++)
		fprintf(f,
			"\tchain %s {\n\t\ttype filter hook %s priority %s; policy accept;\n\t}\n",
			hooks[h][0], hooks[h][1], hooks[h][2]);
	fputs("}\n", f);
}

/* The base chains' dispatch rules: once, when the table is created. */
static void put_base_rules(FILE *f)
{
	fputs("add rule " TABLE " prerouting iifname vmap @ports_in\n"
	      "add rule " TABLE " forward oifname vmap @ports_out\n"
	      "add rule " TABLE " output oifname vmap @ports_snoop\n",
	      f);
}

/* The VM's objects and its map elements (after put_base). */
static void put_vm(FILE *f, const struct vmrules *r)
{
	if (r->n == 0)
		return;
	fputs("table " TABLE " {\n", f);
	for (size_t i = 0; i < r->n; i++) {
		const struct nic *n = &r->nics[i];

		put_nic_objects(f, r->id, i, n);
		put_ip4_chain(f, r->id, i, n);
		put_arp_chain(f, r->id, i, n);
		if (!n->allow_ip)
			put_nt_chain(f, r->id, i, n);
		if (!n->allow_ip || !n->allow_mac)
			put_nd_chain(f, r->id, i, n);
		put_ip6_chain(f, r->id, i, n);
		if (n->dhcp)
			put_snoop_chain(f, r->id, i, n);
		put_out_chain(f, r->id, i, n);
		put_in_chain(f, r->id, i, n);
	}
	fputs("}\n", f);
	put_elements(f, r, "ports_in", "in", false);
	put_elements(f, r, "ports_out", "out", false);
	put_elements(f, r, "ports_snoop", "snoop", true);
}

/* ---- the VM's current objects (from the kernel's listing) ---- */

struct old {
	bool exists; /* the table exists */
	bool others; /* it has elements of other VMs */
	size_t n[ARRAY_SIZE(maps)];
	char key[ARRAY_SIZE(maps)][MAX_NICS][NET_IFNAMSIZ];
	bool nic[MAX_NICS];
};

static bool port_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NET_IFNAMSIZ)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

/* "<id>_n<I>_<suffix>" -> I, or -1 if the target is not the VM's. */
static int target_nic(const char *t, const char *id)
{
	size_t l = strlen(id);
	unsigned v = 0;
	const char *c;

	if (!t || strncmp(t, id, l) != 0 || strncmp(t + l, "_n", 2) != 0)
		return -1;
	for (c = t + l + 2; isdigit((unsigned char)*c) && v < MAX_NICS; c++)
		v = v * 10 + (unsigned)(*c - '0');
	if (c == t + l + 2 || *c != '_' || v >= MAX_NICS)
		return -1;
	return (int)v;
}

static int scan_elem(const json_t *e, size_t m, const char *id, struct old *o)
{
	const char *key = json_string_value(json_array_get(e, 0));
	const json_t *v = json_array_get(e, 1);
	const char *t = json_string_value(json_object_get(json_object_get(v, "jump"), "target"));
	int nic = target_nic(t, id);

	if (nic < 0) {
		o->others = true;
		return 0;
	}
	if (!key || !port_ok(key) || o->n[m] >= MAX_NICS)
		return -EIO;
	memcpy(o->key[m][o->n[m]++], key, strlen(key) + 1);
	o->nic[nic] = true;
	return 0;
}

static int scan_doc(const json_t *doc, const char *id, struct old *o)
{
	const json_t *item, *e;
	size_t i, k;

	json_array_foreach (json_object_get(doc, "nftables"), i, item) {
		const json_t *map = json_object_get(item, "map");
		const char *name = json_string_value(json_object_get(map, "name"));

		for (size_t m = 0; name && m < ARRAY_SIZE(maps); m++) {
			if (!streq(name, maps[m]))
				continue;
			json_array_foreach (json_object_get(map, "elem"), k, e)
				if (scan_elem(e, m, id, o) < 0)
					return -EIO;
		}
	}
	return 0;
}

/* The JSON output of several list commands: one document each. */
static int parse_listing(const char *out, const char *id, struct old *o)
{
	size_t len = out ? strlen(out) : 0, off = 0;

	while (off < len) {
		json_error_t je;
		json_t *doc;
		int r;

		off += strspn(out + off, " \t\r\n");
		if (off >= len)
			break;
		doc = json_loadb(out + off, len - off, JSON_DISABLE_EOF_CHECK, &je);
		if (!doc)
			return -EIO;
		off += (size_t)je.position;
		r = scan_doc(doc, id, o);
		json_decref(doc);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *const first[] = {"in", "out"}; /* jump to the others */
/* Jumped to, in an order where each is deleted after every chain that jumps to it. */
static const char *const then[] = {"ip4", "arp", "ip6", "snoop", "nd", "nt"};

/* Declare (add) every object NIC i of the VM may have, so all can be deleted. */
static void put_all_decls(FILE *f, const char *id, size_t i)
{
	for (size_t c = 0; c < ARRAY_SIZE(first); c++)
		fprintf(f, "\tchain %s_n%zu_%s {\n\t}\n", id, i, first[c]);
	for (size_t c = 0; c < ARRAY_SIZE(then); c++)
		fprintf(f, "\tchain %s_n%zu_%s {\n\t}\n", id, i, then[c]);
	fprintf(f,
		"\tset %s_n%zu_lease {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
		"\t\ttimeout " LEASE_TIMEOUT "\n\t}\n",
		id, i);
	for (size_t c = 0; c < ARRAY_SIZE(counters); c++)
		fprintf(f, "\tcounter %s_n%zu_%s {\n\t}\n", id, i, counters[c]);
}

static void put_all_deletes(FILE *f, const char *id, size_t i)
{
	for (size_t c = 0; c < ARRAY_SIZE(then); c++)
		fprintf(f, "delete chain " TABLE " %s_n%zu_%s\n", id, i, then[c]);
	fprintf(f, "delete set " TABLE " %s_n%zu_lease\n", id, i);
	for (size_t c = 0; c < ARRAY_SIZE(counters); c++)
		fprintf(f, "delete counter " TABLE " %s_n%zu_%s\n", id, i, counters[c]);
}

/*
 * Delete the VM's current objects: its map elements, then the chains that
 * jump (so nothing refers to the rest), then the rest ("add X; delete X":
 * which of them exist depends on the NIC's old properties).
 */
static void put_removal(FILE *f, const char *id, const struct old *o)
{
	for (size_t m = 0; m < ARRAY_SIZE(maps); m++)
		for (size_t k = 0; k < o->n[m]; k++)
			fprintf(f, "delete element " TABLE " %s { \"%s\" }\n", maps[m],
				o->key[m][k]);
	fputs("table " TABLE " {\n", f);
	for (size_t i = 0; i < MAX_NICS; i++)
		if (o->nic[i])
			put_all_decls(f, id, i);
	fputs("}\n", f);
	for (size_t i = 0; i < MAX_NICS; i++)
		for (size_t c = 0; o->nic[i] && c < ARRAY_SIZE(first); c++)
			fprintf(f, "delete chain " TABLE " %s_n%zu_%s\n", id, i, first[c]);
	for (size_t i = 0; i < MAX_NICS; i++)
		if (o->nic[i])
			put_all_deletes(f, id, i);
}

static int vm_script(const struct vmrules *r, const struct old *o, char **out, struct zh_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return zh_error_oom(err);
	put_base(f);
	if (o && !o->exists)
		put_base_rules(f);
	if (o)
		put_removal(f, r->id, o);
	put_vm(f, r);
	if (ferror(f) | fclose(f))
		return zh_error_oom(err);
	*out = TAKE_PTR(buf);
	return 0;
}

int nft_vm_script(const char *uuid, const json_t *vm, char **out, struct zh_error *err)
{
	struct vmrules r = {.nics = NULL};
	int ret = vmrules_parse(uuid, vm, &r, err);

	if (ret == 0)
		ret = vm_script(&r, NULL, out, err);
	vmrules_free(&r);
	return ret;
}

/* ---- loading ---- */

static void nft_ctx_freep(struct nft_ctx **c)
{
	if (*c)
		nft_ctx_free(*c);
	*c = NULL;
}

static struct nft_ctx *nft_open(bool json, struct zh_error *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx) {
		zh_error_oom(err);
		return NULL;
	}
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		nft_ctx_free(ctx);
		zh_error_oom(err);
		return NULL;
	}
	return ctx;
}

static int nft_fail(struct nft_ctx *ctx, const char *what, struct zh_error *err)
{
	const char *msg = nft_ctx_get_error_buffer(ctx);
	size_t n = msg ? strlen(msg) : 0;

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return zh_error_set(err, EIO, VMCFG_NICS, "%s: nft: %.*s", what, (int)n,
			    n ? msg : "failed (no message)");
}

/* Run script in one transaction; nft's own message on failure. */
static int nft_run(const char *script, const char *what, struct zh_error *err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_open(false, err);

	if (!ctx)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(ctx, script) == 0)
		return 0;
	return nft_fail(ctx, what, err);
}

/* The VM's current objects, from the shared maps (no rules are fetched). */
static int list_old(const char *id, struct old *o, struct zh_error *err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_open(true, err);
	char cmd[64];
	const char *msg;

	memset(o, 0, sizeof(*o));
	if (!ctx)
		return -ENOMEM;
	for (size_t m = 0; m < ARRAY_SIZE(maps); m++) {
		if (m == PORTS_OUT)
			continue; /* the same ports as ports_in, in every transaction */
		snprintf(cmd, sizeof(cmd), "list map " TABLE " %s", maps[m]);
		if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
			msg = nft_ctx_get_error_buffer(ctx);
			if (m == 0 && msg && strstr(msg, "No such file or directory"))
				return 0; /* no table yet */
			return nft_fail(ctx, "listing the packet filter", err);
		}
		if (parse_listing(nft_ctx_get_output_buffer(ctx), id, o) < 0)
			return zh_error_set(err, EIO, VMCFG_NICS,
					    "unexpected nft listing of " TABLE);
	}
	memcpy(o->key[PORTS_OUT], o->key[PORTS_IN], sizeof(o->key[PORTS_IN]));
	o->n[PORTS_OUT] = o->n[PORTS_IN];
	o->exists = true;
	return 0;
}

int nft_vlan_supported(const char *tag, int vlan_id, struct zh_error *err)
{
	struct net_nictag *tags = NULL;
	size_t n = 0;
	int r = 0;

	if (vlan_id == 0 || !tag)
		return 0;
	if ((r = net_nictag_list(&tags, &n, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!streq(tags[i].name, tag) || !tags[i].uplink)
			continue;
		r = zh_error_set(err, EOPNOTSUPP, VMCFG_NICS,
				 "vlan_id %d on nic tag \"%s\" needs 802.1Q VLAN filtering, which "
				 "this kernel lacks (use an etherstub for VLAN segments)",
				 vlan_id, tag);
		break;
	}
	net_nictags_free(tags, n);
	return r;
}

static int check_vlans(const json_t *vm, struct zh_error *err)
{
	json_t *nics = vmcfg_nics(vm), *o;
	size_t i;
	int r;

	json_array_foreach (nics, i, o) {
		json_t *v = json_object_get(o, "vlan_id");

		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		r = nft_vlan_supported(json_string_value(json_object_get(o, "nic_tag")),
				       (int)json_integer_value(v), err);
		if (r < 0)
			return r;
	}
	return 0;
}

int nft_vm_apply(const char *uuid, const json_t *vm, struct zh_error *err)
{
	struct vmrules r = {.nics = NULL};
	_cleanup_free_ struct old *o = calloc(1, sizeof(*o));
	_cleanup_free_ char *script = NULL;
	_cleanup_close_ int lock = -EBADF;
	int ret;

	if (!o)
		return zh_error_oom(err);
	if ((ret = check_vlans(vm, err)) < 0)
		return ret;
	if ((ret = vmrules_parse(uuid, vm, &r, err)) < 0 ||
	    (ret = lock = lock_take(LOCK_NFT, err)) < 0 || (ret = list_old(r.id, o, err)) < 0 ||
	    (ret = vm_script(&r, o, &script, err)) < 0) {
		vmrules_free(&r);
		return ret;
	}
	vmrules_free(&r);
	return nft_run(script, "loading the VM's packet filter", err);
}

int nft_vm_remove(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ struct old *o = calloc(1, sizeof(*o));
	_cleanup_free_ char *script = NULL;
	_cleanup_close_ int lock = -EBADF;
	char id[VM_ID_SIZE];
	size_t len = 0;
	FILE *f;
	int r;

	if (!o)
		return zh_error_oom(err);
	if ((r = vm_id(uuid, id, err)) < 0 || (r = lock = lock_take(LOCK_NFT, err)) < 0 ||
	    (r = list_old(id, o, err)) < 0)
		return r;
	if (!o->exists)
		return 0;
	if (o->others && o->n[PORTS_IN] + o->n[PORTS_SNOOP] == 0)
		return 0; /* nothing of this VM */
	if (!(f = open_memstream(&script, &len)))
		return zh_error_oom(err);
	if (o->others)
		put_removal(f, id, o);
	else
		fputs("delete table " TABLE "\n", f); /* the last VM: no empty table left */
	if (ferror(f) | fclose(f))
		return zh_error_oom(err);
	return nft_run(script, "removing the VM's packet filter", err);
}

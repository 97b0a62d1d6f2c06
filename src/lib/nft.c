/*
 * nft.c - per-VM anti-spoofing and VLAN segment rules (libnftables,
 * bridge family).
 *
 * Owns: the table "bridge zh_<uuid hex>" of each VM, nothing else.  The
 * table is built from the VM's `nics` by nft_vm_script() (pure) and loaded
 * by nft_vm_apply() in ONE nft transaction that creates, deletes and
 * re-creates it, so a live update never opens a window without rules (nft
 * 1.0.6 has no `destroy`; `table {}` + `delete table` is its idiom).
 *
 *     nft_vm_apply(uuid, vm, &err);    (before or after the VNICs exist:
 *                                        rules match port NAMES)
 *     nft_vm_remove(uuid, &err);       (idempotent)
 *
 * Layout of a table (NIC i, host port P = net_vnic_host_name(uuid, i)):
 *
 *   chain prerouting   hook prerouting, priority -200 ("filter"):
 *                      iifname vmap { P : jump nI_in }
 *   chain nI_in        meta mark set 0x5a000000|vlan_id; source MAC check;
 *                      ether type vmap { ip: goto nI_ip4, arp: goto nI_arp,
 *                      ip6: goto nI_ip6 }; other ethertypes dropped
 *   chain nI_ip4/arp/ip6  DHCP(v6) server replies dropped; sender address
 *                      must be in set nI_ip4 / nI_ip6 (or nI_lease)
 *   chain forward_out  hook forward, priority 0: oifname vmap { P : jump nI_out }
 *   chain nI_out       DHCP lease snooping, then the VLAN check: a frame may
 *                      leave by P only if its mark says P's VLAN (mark 0 -
 *                      the host, an uplink, a port zonehost does not manage -
 *                      counts as VLAN 0)
 *   chain output_out   hook output (frames the host itself sends, e.g. a DHCP
 *                      server on the bridge): lease snooping only
 *
 * Since each VM's table marks its own ports' ingress in prerouting and
 * guards its own ports' egress in forward (a later hook than every
 * prerouting chain), isolation holds with independent per-VM tables.
 *
 * Defaults and the allow_* properties (per NIC):
 *   - source MAC must be `mac` (frames and ARP sender)   allow_mac_spoofing
 *   - IPv4 source / ARP sender IP in `ips` (the host addresses),
 *     `allowed_ips` (CIDRs), 0.0.0.0 for ARP probes; a `dhcp` NIC also its
 *     snooped leases (set nI_lease, filled from DHCP replies to its MAC)
 *     and 0.0.0.0 -> DHCP server for DISCOVER/REQUEST       allow_ip_spoofing
 *   - IPv6 source in `ips`, `allowed_ips`, fe80::EUI-64 of the MAC, :: for
 *     ICMPv6 (DAD, MLD); an `addrconf` NIC also any address whose interface
 *     id is the MAC's EUI-64 (SLAAC; privacy addresses are refused)
 *                                                         allow_ip_spoofing
 *   - no DHCP server replies (UDP 67->68, 547->546)       allow_dhcp_spoofing
 *     (which implies allow_ip_spoofing; `dhcp_server` is its alias)
 *   - only IPv4, ARP and IPv6 ethertypes (no 802.1Q tagged frames, no
 *     LLDP, no raw 802.3 ...) - SmartOS's "restricted" link protection:
 *                                                    allow_restricted_traffic
 *
 * Every string in the script is re-formatted from parsed binary values
 * (addresses via inet_ntop, MACs via %02x, port names from the uuid's hex
 * digits); nothing of the VM's JSON is copied into it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <string.h>

#include "net.h"
#include "nft.h"
#include "util.h"

#define NFT_MARK	0x5a000000u
#define MAX_NICS	64
#define MAX_PREFIXES	64
#define LEASE_TIMEOUT	"2d"
#define TABLE_NAME_SIZE 40 /* "zh_" + 32 hex + NUL */

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
	struct pfx p[MAX_PREFIXES];
	size_t np;
};

struct vmrules {
	char table[TABLE_NAME_SIZE];
	struct nic *nics;
	size_t n;
};

static void vmrules_free(struct vmrules *r)
{
	free(r->nics);
	r->nics = NULL;
}

/* ---- parsing (everything ends up binary) ---- */

static int table_name(const char *uuid, char out[TABLE_NAME_SIZE], struct zh_error *err)
{
	size_t k = 0;

	if (!uuid || !util_is_uuid_shape(uuid))
		return zh_error_set(err, EINVAL, "uuid", "invalid uuid for nft table");
	memcpy(out, "zh_", 3);
	k = 3;
	for (const char *c = uuid; *c; c++) {
		if (*c == '-')
			continue;
		if (!isxdigit((unsigned char)*c))
			return zh_error_set(err, EINVAL, "uuid", "invalid uuid for nft table");
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
	return zh_error_set(err, EINVAL, "nics", "nic %zu: %s", i, what);
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

static int parse_nic(const char *uuid, size_t i, const json_t *o, struct nic *nic,
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
	if ((r = parse_ips(nic, i, json_object_get(o, "ips"), true, err)) < 0 ||
	    (r = parse_ips(nic, i, json_object_get(o, "allowed_ips"), false, err)) < 0)
		return r;
	net_vnic_host_name(uuid, net_nic_index(o, i), nic->port);
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
	json_t *nics = json_is_object(vm) ? json_object_get(vm, "nics") : NULL, *o;
	size_t i;
	int ret;

	if (!json_is_object(vm))
		return zh_error_set(err, EINVAL, NULL, "VM config is not an object");
	if ((ret = table_name(uuid, r->table, err)) < 0)
		return ret;
	if (!nics || json_is_null(nics))
		return 0;
	if (!json_is_array(nics))
		return zh_error_set(err, EINVAL, "nics", "nics is not a list");
	if (json_array_size(nics) > MAX_NICS)
		return zh_error_set(err, E2BIG, "nics", "too many nics (at most %d)", MAX_NICS);
	r->nics = calloc(json_array_size(nics) + 1, sizeof(*r->nics));
	if (!r->nics)
		return zh_error_oom(err);
	json_array_foreach (nics, i, o) {
		if ((ret = parse_nic(uuid, i, o, &r->nics[i], err)) < 0)
			return ret;
		r->n = i + 1;
	}
	return 0;
}

/* ---- formatting ---- */

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

static void put_set(FILE *f, size_t i, const struct nic *n, int family)
{
	bool first = true;

	fprintf(f, "\tset n%zu_%s {\n\t\ttype %s\n\t\tflags interval\n\t\tauto-merge\n", i,
		family == AF_INET ? "ip4" : "ip6", family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	for (size_t k = 0; k < n->np; k++) {
		if (n->p[k].family != family)
			continue;
		fputs(first ? "\t\telements = { " : ", ", f);
		put_pfx(f, &n->p[k]);
		first = false;
	}
	if (family == AF_INET6) {
		unsigned char ll[16];

		eui64(n->mac, true, ll);
		fputs(first ? "\t\telements = { " : ", ", f);
		put_addr(f, AF_INET6, ll);
		first = false;
	}
	if (!first)
		fputs(" }\n", f);
	fputs("\t}\n", f);
}

static void put_nic_objects(FILE *f, size_t i, const struct nic *n)
{
	static const char *const counters[] = {"bad_mac",     "bad_ip4",  "bad_arp", "bad_ip6",
					       "dhcp_server", "bad_type", "vlan"};

	for (size_t c = 0; c < ARRAY_SIZE(counters); c++)
		fprintf(f, "\tcounter n%zu_%s {\n\t}\n", i, counters[c]);
	put_set(f, i, n, AF_INET);
	put_set(f, i, n, AF_INET6);
	if (n->dhcp)
		fprintf(f,
			"\tset n%zu_lease {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
			"\t\ttimeout " LEASE_TIMEOUT "\n\t}\n",
			i);
}

static void put_in_chain(FILE *f, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain n%zu_in {\n\t\tmeta mark set 0x%08x\n", i, NFT_MARK | n->vlan);
	if (!n->allow_mac) {
		fputs("\t\tether saddr != ", f);
		put_mac(f, n->mac);
		fprintf(f, " counter name n%zu_bad_mac drop\n", i);
	}
	fprintf(f,
		"\t\tether type vmap { ip : goto n%zu_ip4, arp : goto n%zu_arp, ip6 : goto "
		"n%zu_ip6 }\n",
		i, i, i);
	if (!n->allow_restricted)
		fprintf(f, "\t\tcounter name n%zu_bad_type drop\n", i);
	fputs("\t}\n", f);
}

static void put_ip4_chain(FILE *f, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain n%zu_ip4 {\n", i);
	if (!n->allow_dhcp)
		fprintf(f, "\t\tudp sport 67 udp dport 68 counter name n%zu_dhcp_server drop\n", i);
	if (!n->allow_ip) {
		fprintf(f, "\t\tip saddr @n%zu_ip4 return\n", i);
		if (n->dhcp)
			fprintf(f,
				"\t\tip saddr @n%zu_lease return\n"
				"\t\tip saddr 0.0.0.0 udp sport 68 udp dport 67 return\n",
				i);
		fprintf(f, "\t\tcounter name n%zu_bad_ip4 drop\n", i);
	}
	fputs("\t}\n", f);
}

static void put_arp_chain(FILE *f, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain n%zu_arp {\n", i);
	if (!n->allow_mac || !n->allow_ip)
		fprintf(f,
			"\t\tarp htype != 1 counter name n%zu_bad_arp drop\n"
			"\t\tarp ptype != ip counter name n%zu_bad_arp drop\n"
			"\t\tarp hlen != 6 counter name n%zu_bad_arp drop\n"
			"\t\tarp plen != 4 counter name n%zu_bad_arp drop\n",
			i, i, i, i);
	if (!n->allow_mac) {
		fputs("\t\tarp saddr ether != ", f);
		put_mac(f, n->mac);
		fprintf(f, " counter name n%zu_bad_arp drop\n", i);
	}
	if (!n->allow_ip) {
		fprintf(f, "\t\tarp saddr ip @n%zu_ip4 return\n\t\tarp saddr ip 0.0.0.0 return\n",
			i);
		if (n->dhcp)
			fprintf(f, "\t\tarp saddr ip @n%zu_lease return\n", i);
		fprintf(f, "\t\tcounter name n%zu_bad_arp drop\n", i);
	}
	fputs("\t}\n", f);
}

static void put_ip6_chain(FILE *f, size_t i, const struct nic *n)
{
	unsigned char id[16];

	fprintf(f, "\tchain n%zu_ip6 {\n", i);
	if (!n->allow_dhcp)
		fprintf(f, "\t\tudp sport 547 udp dport 546 counter name n%zu_dhcp_server drop\n",
			i);
	if (!n->allow_ip) {
		fprintf(f, "\t\tip6 saddr @n%zu_ip6 return\n", i);
		if (n->addrconf) {
			eui64(n->mac, false, id);
			fputs("\t\tip6 saddr & ::ffff:ffff:ffff:ffff == ", f);
			put_addr(f, AF_INET6, id);
			fputs(" return\n", f);
		}
		fprintf(f,
			"\t\tip6 saddr :: meta l4proto ipv6-icmp return\n"
			"\t\tcounter name n%zu_bad_ip6 drop\n",
			i);
	}
	fputs("\t}\n", f);
}

/* DHCP replies to this NIC's MAC (chaddr) add the offered address (yiaddr). */
static void put_snoop_chain(FILE *f, size_t i, const struct nic *n)
{
	fprintf(f,
		"\tchain n%zu_snoop {\n\t\tether type ip udp sport 67 udp dport 68 @th,288,48 0x",
		i);
	for (int k = 0; k < 6; k++)
		fprintf(f, "%02x", n->mac[k]);
	fprintf(f, " update @n%zu_lease { @th,192,32 }\n\t}\n", i);
}

static void put_out_chain(FILE *f, size_t i, const struct nic *n)
{
	fprintf(f, "\tchain n%zu_out {\n", i);
	if (n->dhcp)
		fprintf(f, "\t\tjump n%zu_snoop\n", i);
	if (n->vlan == 0)
		fprintf(f, "\t\tmeta mark != { 0x00000000, 0x%08x }", NFT_MARK);
	else
		fprintf(f, "\t\tmeta mark != 0x%08x", NFT_MARK | n->vlan);
	fprintf(f, " counter name n%zu_vlan drop\n\t}\n", i);
}

/* The vmap body: "P0" : jump n0_<suffix>, ... (only dhcp NICs if dhcp_only). */
static void put_port_vmap(FILE *f, const struct vmrules *r, const char *suffix, bool dhcp_only)
{
	const char *sep = "";

	for (size_t i = 0; i < r->n; i++) {
		if (dhcp_only && !r->nics[i].dhcp)
			continue;
		fprintf(f, "%s\"%s\" : jump n%zu_%s", sep, r->nics[i].port, i, suffix);
		sep = ", ";
	}
}

static void put_base_chain(FILE *f, const struct vmrules *r, const char *name, const char *hook,
			   int prio, const char *key, const char *suffix, bool dhcp_only)
{
	bool any = false;

	for (size_t i = 0; i < r->n; i++)
		any = any || !dhcp_only || r->nics[i].dhcp;
	fprintf(f, "\tchain %s {\n\t\ttype filter hook %s priority %d; policy accept;\n", name,
		hook, prio);
	if (any) {
		fprintf(f, "\t\t%s vmap { ", key);
		put_port_vmap(f, r, suffix, dhcp_only);
		fputs(" }\n", f);
	}
	fputs("\t}\n", f);
}

static bool any_dhcp(const struct vmrules *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->nics[i].dhcp)
			return true;
	return false;
}

/*
 * replace: "table {} + delete table + table {...}" swaps an existing table
 * in one transaction; else "create table" + contents, which fails if the
 * table exists.  A transaction that deletes a table waits for an RCU grace
 * period in the kernel (~10 ms here), so a zone start, whose table cannot
 * exist yet, loads the create form first (nft_vm_apply).
 */
static void put_table(FILE *f, const struct vmrules *r, bool replace)
{
	if (replace)
		fprintf(f, "table bridge %s {}\ndelete table bridge %s\n", r->table, r->table);
	else
		fprintf(f, "create table bridge %s\n", r->table);
	fprintf(f, "table bridge %s {\n", r->table);
	for (size_t i = 0; i < r->n; i++)
		put_nic_objects(f, i, &r->nics[i]);
	put_base_chain(f, r, "prerouting", "prerouting", -200, "iifname", "in", false);
	put_base_chain(f, r, "forward_out", "forward", 0, "oifname", "out", false);
	if (any_dhcp(r))
		put_base_chain(f, r, "output_out", "output", 0, "oifname", "snoop", true);
	for (size_t i = 0; i < r->n; i++) {
		const struct nic *n = &r->nics[i];

		put_in_chain(f, i, n);
		put_ip4_chain(f, i, n);
		put_arp_chain(f, i, n);
		put_ip6_chain(f, i, n);
		if (n->dhcp)
			put_snoop_chain(f, i, n);
		put_out_chain(f, i, n);
	}
	fputs("}\n", f);
}

static int vm_script(const char *uuid, const json_t *vm, bool replace, char **out,
		     struct zh_error *err)
{
	struct vmrules r = {.nics = NULL};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	ret = vmrules_parse(uuid, vm, &r, err);
	if (ret < 0) {
		vmrules_free(&r);
		return ret;
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		vmrules_free(&r);
		return zh_error_oom(err);
	}
	put_table(f, &r, replace);
	vmrules_free(&r);
	if (ferror(f) | fclose(f))
		return zh_error_oom(err);
	*out = TAKE_PTR(buf);
	return 0;
}

int nft_vm_script(const char *uuid, const json_t *vm, char **out, struct zh_error *err)
{
	return vm_script(uuid, vm, true, out, err);
}

/* ---- loading ---- */

static void nft_ctx_freep(struct nft_ctx **c)
{
	if (*c)
		nft_ctx_free(*c);
	*c = NULL;
}

/* Run script in one transaction; nft's own message on failure. */
static int nft_run(const char *script, const char *what, struct zh_error *err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *msg;
	size_t n;

	if (!ctx)
		return zh_error_oom(err);
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
		return zh_error_oom(err);
	if (nft_run_cmd_from_buffer(ctx, script) == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(ctx);
	n = msg ? strlen(msg) : 0;
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	return zh_error_set(err, EIO, "nics", "%s: nft: %.*s", what, (int)n,
			    n ? msg : "failed (no message)");
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
		r = zh_error_set(err, EOPNOTSUPP, "nics",
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
	json_t *nics = json_object_get(vm, "nics"), *o;
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
	_cleanup_free_ char *fresh = NULL, *script = NULL;
	struct zh_error e = ZH_ERROR_INIT;
	int r;

	if ((r = check_vlans(vm, err)) < 0 || (r = vm_script(uuid, vm, false, &fresh, err)) < 0)
		return r;
	if (nft_run(fresh, "loading the VM's packet filter", &e) == 0)
		return 0;
	zh_error_clear(&e); /* most likely: the table exists; swap it */
	if ((r = nft_vm_script(uuid, vm, &script, err)) < 0)
		return r;
	return nft_run(script, "loading the VM's packet filter", err);
}

int nft_vm_remove(const char *uuid, struct zh_error *err)
{
	char t[TABLE_NAME_SIZE];
	_cleanup_free_ char *script = NULL;
	int r;

	if ((r = table_name(uuid, t, err)) < 0)
		return r;
	if (asprintf(&script, "table bridge %s {}\ndelete table bridge %s\n", t, t) < 0)
		return zh_error_oom(err);
	return nft_run(script, "removing the VM's packet filter", err);
}

/*
 * vmcfg-nic.c - NIC normalisation and the route checks (docs/architecture.md §4).
 *
 * Owns: turning the NIC objects of a payload (nics, add_nics, update_nics,
 * remove_nics) into stored NICs: deprecated ip/netmask/gateway upgraded to
 * ips/gateways, MACs normalised or generated, interface net<N>/eth<N>,
 * exactly one primary, legacy representative ip/netmask/gateway fields, and
 * the NIC messages of SmartOS (duplicate MAC/IP, conflicts with other VMs,
 * unknown nic tag).  Does not own the table checks (vmcfg.c).
 *
 *     json_t *all = json_array();
 *     vmcfg_nics_add(r, all, payload_nics);   -> normalised copies appended
 *     vmcfg_nics_finish(r, all);              -> primary, duplicates
 *
 * Invariants: input NIC objects are never modified (copies are stored);
 * every error names the property ("nics" or "routes").
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"
#include "vmcfg-access.h"
#include "vmcfg-internal.h"

#define MAX_IPS		20
#define MAX_ALLOWED_IPS 13

/* ---- addresses ---- */

bool vmcfg_mac_normalize(const char *in, char out[18])
{
	unsigned o[6];
	int n = 0;

	if (!props_valid_mac(in))
		return false;
	if (sscanf(in, "%x:%x:%x:%x:%x:%x%n", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &n) != 6 ||
	    in[n] != '\0')
		return false;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", o[0], o[1], o[2], o[3], o[4], o[5]);
	return true;
}

static int gen_mac(char out[18])
{
	unsigned char b[6];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	b[0] = (unsigned char)(((1 + b[0] % 15) << 4) | 0x2);
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
}

/* Split "a/p" into addr (family 4 or 6) and prefix; prefix -1 if absent. */
static int split_cidr(const char *s, char addr[64], int *prefix)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int64_t p = -1;

	if (n == 0 || n >= 64)
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (slash && util_parse_i64(slash + 1, &p) < 0)
		return 0;
	*prefix = (int)(p < -1 || p > 128 ? 999 : p);
	if (props_valid_ipv4(addr))
		return 4;
	return props_valid_ip(addr) ? 6 : 0;
}

static bool ips_entry_ok(const char *s)
{
	char a[64];
	int pfx = -1, fam;

	if (!s)
		return false;
	if (streq(s, "dhcp") || streq(s, "addrconf"))
		return true;
	fam = split_cidr(s, a, &pfx);
	if (fam == 4)
		return pfx >= 8 && pfx <= 32;
	return fam == 6 && pfx >= 0 && pfx <= 128;
}

static bool ip_or_cidr_ok(const char *s)
{
	char a[64];
	int pfx = -1, fam = s ? split_cidr(s, a, &pfx) : 0;

	if (fam == 4)
		return pfx <= 32;
	return fam == 6 && pfx <= 128;
}

static int netmask_bits(const char *mask)
{
	struct in_addr a;
	uint32_t m;
	int bits = 0;

	if (!mask || inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (m & 0x80000000u) {
		bits++;
		m <<= 1;
	}
	return m ? -1 : bits;
}

static void bits_to_mask(int bits, char out[INET_ADDRSTRLEN])
{
	struct in_addr a;
	uint32_t m = bits <= 0 ? 0 : 0xffffffffu << (32 - bits);

	a.s_addr = htonl(m);
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static bool is_private_v4(const char *addr)
{
	struct in_addr a;
	uint32_t v;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return false;
	v = ntohl(a.s_addr);
	return (v >> 24) == 10 || (v >> 20) == 0xac1 || (v >> 16) == 0xc0a8;
}

/* ---- messages ---- */

/* "<what>{nic as JSON}", the SmartOS shape of every per-NIC message. */
static int nic_error(struct vmcfg_run *r, const char *what, const json_t *nic)
{
	_cleanup_free_ char *txt = vmcfg_dump(nic);

	return zh_error_set(r->err, EINVAL, VMCFG_NICS, "%s%s", what, txt);
}

/* ---- per-NIC steps ---- */

static int set_str_array(struct vmcfg_run *r, json_t *nic, const char *k, const char *v)
{
	json_t *a = json_array();

	if (!a || json_array_append_new(a, json_string(v)) < 0 ||
	    json_object_set_new(nic, k, a) < 0)
		return zh_error_oom(r->err);
	return 0;
}

/* ip + netmask -> ips, gateway -> gateways (NIC upgradeNic). */
static int upgrade_nic(struct vmcfg_run *r, json_t *nic, const json_t *orig, const char *old_mask)
{
	const char *ip = jsonutil_str(nic, "ip");
	const char *mask = jsonutil_str(nic, "netmask");
	const char *gw = jsonutil_str(nic, "gateway");
	_cleanup_free_ char *cidr = NULL;
	int bits, ret;

	if (gw && !json_object_get(nic, "gateways") &&
	    (ret = set_str_array(r, nic, "gateways", gw)) < 0)
		return ret;
	if (!ip)
		return 0;
	if (streq(ip, "dhcp"))
		return set_str_array(r, nic, "ips", "dhcp");
	if (!props_valid_ipv4(ip))
		return nic_error(r, "Invalid IP for NIC: ", orig);
	mask = mask ? mask : old_mask;
	if (!mask)
		return nic_error(r, "Missing .netmask option for NIC: ", orig);
	bits = netmask_bits(mask);
	if (bits < 0)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "Specified netmask value is invalid: %s", mask);
	if (asprintf(&cidr, "%s/%d", ip, bits) < 0)
		return zh_error_oom(r->err);
	return set_str_array(r, nic, "ips", cidr);
}

/* Is v4 address a inside the IPv4 CIDR c? */
static bool in_cidr(const char *a, const char *c)
{
	char net[64];
	int pfx = -1;
	struct in_addr x, y;
	uint32_t m;

	if (split_cidr(c, net, &pfx) != 4 || pfx < 0 || pfx > 32 ||
	    inet_pton(AF_INET, a, &x) != 1 || inet_pton(AF_INET, net, &y) != 1)
		return false;
	m = pfx == 0 ? 0 : 0xffffffffu << (32 - pfx);
	return (ntohl(x.s_addr) & m) == (ntohl(y.s_addr) & m);
}

/*
 * A gateway must lie inside one of the NIC's static IPv4 networks (an
 * address outside its netmask is unreachable); NICs without one (dhcp)
 * are not checked.  Message: the gateway, the networks, the NIC.
 */
static int check_gateway(struct vmcfg_run *r, const json_t *nic, const char *gw, const json_t *orig)
{
	json_t *ips = json_object_get(nic, "ips"), *e;
	_cleanup_free_ char *txt = NULL, *nets = NULL;
	bool any = false;
	size_t i;

	json_array_foreach (ips, i, e) {
		char a[64];
		int pfx = -1;
		const char *s = json_string_value(e);

		if (!s || split_cidr(s, a, &pfx) != 4)
			continue;
		if (in_cidr(gw, s))
			return 0;
		any = true;
	}
	if (!any)
		return 0;
	nets = vmcfg_dump(ips);
	txt = vmcfg_dump(orig);
	return zh_error_set(r->err, EINVAL, VMCFG_NICS,
			    "Invalid gateway for NIC: %s is outside the NIC's networks %s: %s", gw,
			    nets, txt);
}

static int check_ips(struct vmcfg_run *r, const json_t *nic, const json_t *orig)
{
	json_t *ips = json_object_get(nic, "ips"), *e;
	json_t *gws = json_object_get(nic, "gateways");
	size_t i;

	if (ips && (!json_is_array(ips) || json_array_size(ips) > MAX_IPS))
		return nic_error(r, "Invalid IP for NIC: ", orig);
	json_array_foreach (ips, i, e)
		if (!ips_entry_ok(json_string_value(e)))
			return nic_error(r, "Invalid IP for NIC: ", orig);
	json_array_foreach (gws, i, e) {
		if (props_valid_ipv4(json_string_value(e))) {
			int ret = check_gateway(r, nic, json_string_value(e), orig);

			if (ret < 0)
				return ret;
			continue;
		}
		_cleanup_free_ char *t = vmcfg_dump(e);
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "Static gateways must be IPv4 addresses: %s",
				    json_string_value(e) ? json_string_value(e) : t);
	}
	return 0;
}

static int check_allowed_ips(struct vmcfg_run *r, const json_t *nic)
{
	json_t *a = json_object_get(nic, "allowed_ips"), *e;
	size_t i;

	if (json_array_size(a) > MAX_ALLOWED_IPS)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "Maximum of 13 allowed_ips per nic");
	json_array_foreach (a, i, e)
		if (!ip_or_cidr_ok(json_string_value(e)))
			return zh_error_set(r->err, EINVAL, VMCFG_NICS, "invalid allowed_ips: %s",
					    json_string_value(e) ? json_string_value(e) : "?");
	return 0;
}

static bool tag_chars_ok(const char *t, bool update)
{
	if (!t || !*t)
		return false;
	for (const char *p = t; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || (*p == '/' && !update)))
			return false;
	return true;
}

/* A VLAN the host cannot isolate on this tag (e.g. uplink without 802.1Q). */
static int check_vlan(struct vmcfg_run *r, const json_t *nic, const char *tag)
{
	json_t *v = json_object_get(nic, "vlan_id");
	char msg[256];

	if (!r->env || !r->env->nic_vlan_ok || !json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 4095)
		return 0;
	if (r->env->nic_vlan_ok(r->env->ctx, tag, (int)json_integer_value(v), msg, sizeof(msg)) < 0)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS, "%s", msg);
	return 0;
}

static int check_tag(struct vmcfg_run *r, const json_t *nic, const json_t *orig, bool update)
{
	const char *tag = jsonutil_str(nic, "nic_tag");

	if (!tag_chars_ok(tag, update))
		return nic_error(r,
				 "invalid or missing .nic_tag option for "
				 "NIC: ",
				 orig);
	if (r->env && r->env->nic_tag_exists && !r->env->nic_tag_exists(r->env->ctx, tag))
		return zh_error_set(r->err, EINVAL, VMCFG_NICS, "Invalid nic tag \"%s\"", tag);
	return check_vlan(r, nic, tag);
}

static const char *const nic_models[] = {"virtio", "e1000", "rtl8139"};

/* HVM: .model from nic_driver when absent; required, one of nic_models. */
static int check_model(struct vmcfg_run *r, json_t *nic, const json_t *orig)
{
	const char *m = jsonutil_str(nic, "model");

	if (!r->brand->hvm)
		return 0;
	if (!m && r->nic_driver) {
		if (json_object_set_new(nic, "model", json_string(r->nic_driver)) < 0)
			return zh_error_oom(r->err);
		m = r->nic_driver;
	}
	if (!m)
		return nic_error(r, "missing .model option for NIC: ", orig);
	for (size_t i = 0; i < ARRAY_SIZE(nic_models); i++)
		if (streq(m, nic_models[i]))
			return 0;
	return zh_error_set(r->err, EINVAL, "nics.*.model", "Invalid value(s) for: nics.*.model");
}

static int check_nic(struct vmcfg_run *r, json_t *nic, const json_t *orig, bool update)
{
	int ret;

	if ((ret = check_model(r, nic, orig)) < 0)
		return ret;

	if ((ret = check_ips(r, nic, orig)) < 0 || (ret = check_allowed_ips(r, nic)) < 0)
		return ret;
	return check_tag(r, nic, orig, update);
}

static int assign_mac(struct vmcfg_run *r, json_t *nic, const json_t *orig)
{
	const char *mac = jsonutil_str(nic, "mac");
	json_t *vrid = json_object_get(nic, "vrrp_vrid");
	char m[18];

	if (vrid && mac)
		return nic_error(r,
				 "Cannot set both .mac and .vrrp_vrid for "
				 "NIC: ",
				 orig);
	if (vrid)
		snprintf(m, sizeof(m), "00:00:5e:00:01:%02x",
			 (unsigned)(vmcfg_int(nic, "vrrp_vrid", 0) & 0xff));
	else if (mac && !vmcfg_mac_normalize(mac, m))
		return zh_error_set(r->err, EINVAL, "nics.*.mac",
				    "Invalid value(s) for: nics.*.mac");
	else if (!mac && gen_mac(m) < 0)
		return zh_error_set(r->err, EIO, VMCFG_NICS, "cannot generate a MAC address");
	return json_object_set_new(nic, "mac", json_string(m)) < 0 ? zh_error_oom(r->err) : 0;
}

/* primary: true stays, false/0 dropped on add; anything else is an error. */
static int fix_primary(struct vmcfg_run *r, json_t *nic, bool update)
{
	json_t *v = json_object_get(nic, "primary");
	int b = props_bool_loose(v);
	_cleanup_free_ char *t = NULL;

	if (!v)
		return 0;
	if (b == 1)
		return json_object_set_new(nic, "primary", json_true()) < 0 ? zh_error_oom(r->err)
									    : 0;
	if (b == 0 && !update) {
		json_object_del(nic, "primary");
		return 0;
	}
	t = vmcfg_dump(v);
	return zh_error_set(r->err, EINVAL, "nics.*.primary",
			    "invalid value for NIC's primary flag: %s (must be "
			    "true)",
			    t);
}

static bool iface_used(const json_t *cur, const char *name)
{
	size_t i;
	json_t *n;

	json_array_foreach (cur, i, n)
		if (jsonutil_str(n, "interface") && streq(jsonutil_str(n, "interface"), name))
			return true;
	return false;
}

static int assign_interface(struct vmcfg_run *r, const json_t *cur, json_t *nic)
{
	char name[32];

	if (jsonutil_str(nic, "interface"))
		return 0;
	for (unsigned n = 0;; n++) {
		snprintf(name, sizeof(name), "%s%u", r->brand->iface_prefix, n);
		if (!iface_used(cur, name))
			break;
	}
	return json_object_set_new(nic, "interface", json_string(name)) < 0 ? zh_error_oom(r->err)
									    : 0;
}

/* Representative ip/netmask/gateway from ips/gateways (docs/architecture.md §4). */
static void set_legacy(json_t *nic)
{
	json_t *ips = json_object_get(nic, "ips"), *e;
	size_t i;

	json_object_del(nic, "ip");
	json_object_del(nic, "netmask");
	json_object_del(nic, "gateway");
	json_array_foreach (ips, i, e) {
		const char *s = json_string_value(e);
		char a[64], mask[INET_ADDRSTRLEN];
		int pfx = -1;

		if (s && streq(s, "dhcp")) {
			json_object_set_new(nic, "ip", json_string("dhcp"));
			break;
		}
		if (!s || split_cidr(s, a, &pfx) != 4)
			continue;
		bits_to_mask(pfx, mask);
		json_object_set_new(nic, "ip", json_string(a));
		json_object_set_new(nic, "netmask", json_string(mask));
		break;
	}
	json_array_foreach (json_object_get(nic, "gateways"), i, e)
		if (props_valid_ipv4(json_string_value(e))) {
			json_object_set(nic, "gateway", e);
			break;
		}
}

static void clear_primary(json_t *cur)
{
	size_t i;
	json_t *n;

	json_array_foreach (cur, i, n)
		json_object_del(n, "primary");
}

static size_t count_primary(const json_t *nics)
{
	size_t i, c = 0;
	json_t *n;

	json_array_foreach (nics, i, n)
		c += props_bool_loose(json_object_get(n, "primary")) == 1;
	return c;
}

static int add_one(struct vmcfg_run *r, json_t *cur, const json_t *orig)
{
	_cleanup_json_ json_t *nic = json_deep_copy(orig);
	int ret;

	if (!nic)
		return zh_error_oom(r->err);
	if ((ret = vmcfg_coerce_sub(r, VMCFG_NICS, nic)) < 0 ||
	    (ret = upgrade_nic(r, nic, orig, NULL)) < 0 ||
	    (ret = check_nic(r, nic, orig, false)) < 0 || (ret = assign_mac(r, nic, orig)) < 0 ||
	    (ret = fix_primary(r, nic, false)) < 0 || (ret = assign_interface(r, cur, nic)) < 0)
		return ret;
	if (json_object_get(nic, "primary"))
		clear_primary(cur);
	set_legacy(nic);
	return json_array_append(cur, nic) < 0 ? zh_error_oom(r->err) : 0;
}

int vmcfg_nics_add(struct vmcfg_run *r, json_t *cur, const json_t *add)
{
	size_t i, n = json_array_size(add);
	int ret;

	if (!json_is_array(add))
		return zh_error_set(r->err, EINVAL, VMCFG_NICS, "Invalid value(s) for: nics");
	if (count_primary(add) > 1)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "payload specifies more than 1 primary NIC");
	for (i = 0; i < n; i++) {
		const json_t *o = json_array_get(add, i);

		if (!json_is_object(o))
			return zh_error_set(r->err, EINVAL, VMCFG_NICS,
					    "Invalid value(s) for: nics");
		if ((ret = add_one(r, cur, o)) < 0)
			return ret;
	}
	return 0;
}

/* ---- update / remove ---- */

static json_t *find_mac(const json_t *cur, const char *mac, size_t *idx)
{
	size_t i;
	json_t *n;
	char a[18], b[18];

	if (!vmcfg_mac_normalize(mac, a))
		return NULL;
	json_array_foreach (cur, i, n) {
		const char *m = jsonutil_str(n, "mac");

		if (m && vmcfg_mac_normalize(m, b) && streq(a, b)) {
			if (idx)
				*idx = i;
			return n;
		}
	}
	return NULL;
}

/* Copy the updatable members of u into nic. */
static int merge_nic(struct vmcfg_run *r, json_t *nic, const json_t *u)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)u, k, v) {
		_cleanup_free_ char *name = NULL;
		const struct props_prop *p;

		if (asprintf(&name, "nics.*.%s", k) < 0)
			return zh_error_oom(r->err);
		p = props_lookup(name);
		if (streq(k, "mac") || !p || !(p->flags & PROPS_F_UPDATABLE))
			continue;
		if (json_object_set(nic, k, v) < 0)
			return zh_error_oom(r->err);
	}
	return 0;
}

static int update_one(struct vmcfg_run *r, json_t *cur, const json_t *orig)
{
	_cleanup_json_ json_t *u = json_deep_copy(orig);
	const char *mac;
	json_t *nic;
	int ret;

	if (!u || (ret = vmcfg_coerce_sub(r, VMCFG_NICS, u)) < 0)
		return u ? ret : zh_error_oom(r->err);
	mac = jsonutil_str(u, "mac");
	if (!mac)
		return zh_error_set(r->err, EINVAL, "update_nics",
				    "NIC object needs a .mac property to update");
	nic = find_mac(cur, mac, NULL);
	if (!nic)
		return zh_error_set(r->err, EINVAL, "update_nics",
				    "There is no existing NIC with that mac "
				    "address");
	if ((ret = upgrade_nic(r, u, orig, jsonutil_str(nic, "netmask"))) < 0 ||
	    (ret = fix_primary(r, u, true)) < 0)
		return ret;
	if (json_object_get(u, "primary"))
		clear_primary(cur);
	if ((ret = merge_nic(r, nic, u)) < 0 || (ret = check_nic(r, nic, orig, true)) < 0)
		return ret;
	set_legacy(nic);
	return 0;
}

int vmcfg_nics_update(struct vmcfg_run *r, json_t *cur, const json_t *upd)
{
	size_t i;
	json_t *o;
	int ret;

	if (!json_is_array(upd))
		return zh_error_set(r->err, EINVAL, "update_nics", "update_nics must be an array.");
	json_array_foreach (upd, i, o) {
		if (!json_is_object(o))
			return zh_error_set(r->err, EINVAL, "update_nics",
					    "Invalid value(s) for: update_nics");
		if ((ret = update_one(r, cur, o)) < 0)
			return ret;
	}
	return 0;
}

/* New primary after the old one was removed: a public IPv4 NIC first. */
static void pick_primary(json_t *cur)
{
	size_t i, j;
	json_t *n, *e;

	json_array_foreach (cur, i, n)
		json_array_foreach (json_object_get(n, "ips"), j, e) {
			char a[64];
			int pfx;
			const char *s = json_string_value(e);

			if (s && split_cidr(s, a, &pfx) == 4 && !is_private_v4(a)) {
				json_object_set_new(n, "primary", json_true());
				return;
			}
		}
	if (json_array_size(cur))
		json_object_set_new(json_array_get(cur, 0), "primary", json_true());
}

int vmcfg_nics_remove(struct vmcfg_run *r, json_t *cur, const json_t *macs)
{
	size_t i, idx = 0;
	json_t *e;
	bool lost_primary = false;

	json_array_foreach (macs, i, e) {
		const char *m = json_string_value(e);
		json_t *nic = m ? find_mac(cur, m, &idx) : NULL;

		if (!nic) {
			vmcfg_warnf(r, "Warning, no NIC with mac %s, skipping.",
				    m ? m : "(not a string)");
			continue;
		}
		lost_primary |= json_is_true(json_object_get(nic, "primary"));
		json_array_remove(cur, idx);
	}
	if (lost_primary && count_primary(cur) == 0)
		pick_primary(cur);
	return 0;
}

/* ---- whole-VM checks ---- */

static int check_dups(struct vmcfg_run *r, const json_t *cur)
{
	size_t i, j, k, l;
	json_t *a, *b, *x, *y;

	json_array_foreach (cur, i, a) {
		for (j = i + 1; j < json_array_size(cur); j++) {
			b = json_array_get(cur, j);
			const char *ma = jsonutil_str(a, "mac");

			if (ma && jsonutil_str(b, "mac") && streq(ma, jsonutil_str(b, "mac")))
				return zh_error_set(r->err, EINVAL, VMCFG_NICS,
						    "Cannot add multiple NICs with "
						    "the same MAC: %s",
						    ma);
			json_array_foreach (json_object_get(a, "ips"), k, x)
				json_array_foreach (json_object_get(b, "ips"), l, y) {
					const char *s = json_string_value(x);

					if (!s || streq(s, "dhcp") || streq(s, "addrconf") ||
					    !json_equal(x, y))
						continue;
					return zh_error_set(r->err, EINVAL, VMCFG_NICS,
							    "Cannot add multiple NICs "
							    "with the same IP: %s",
							    s);
				}
		}
	}
	return 0;
}

static bool same_ip(const json_t *a, const json_t *b)
{
	const char *x = jsonutil_str(a, "ip"), *y = jsonutil_str(b, "ip");

	if (!x || !y || streq(x, "dhcp") || !streq(x, y))
		return false;
	return jsonutil_str(a, "nic_tag") && jsonutil_str(b, "nic_tag") &&
	       streq(jsonutil_str(a, "nic_tag"), jsonutil_str(b, "nic_tag")) &&
	       vmcfg_int(a, "vlan_id", 0) == vmcfg_int(b, "vlan_id", 0);
}

static bool nic_conflicts(const json_t *nic, const json_t *vm)
{
	size_t i;
	json_t *o;
	const char *m = jsonutil_str(nic, "mac");

	json_array_foreach (vmcfg_nics(vm), i, o) {
		const char *om = jsonutil_str(o, "mac");
		char a[18];

		if (m && om && vmcfg_mac_normalize(om, a) && streq(a, m))
			return true;
		if (same_ip(nic, o))
			return true;
	}
	return false;
}

static bool vm_conflicts(struct vmcfg_run *r, const json_t *cur, const json_t *vm)
{
	const char *u = vmcfg_uuid(vm);
	size_t i;
	json_t *n;

	if (!json_is_object(vm) || (u && r->uuid && streq(u, r->uuid)))
		return false;
	json_array_foreach (cur, i, n)
		if (nic_conflicts(n, vm))
			return true;
	return false;
}

/* env's other VMs, or those nic_neighbours() names for cur (into *owned). */
static int others_for(struct vmcfg_run *r, const json_t *cur, json_t **owned, const json_t **all)
{
	int ret;

	*all = r->env ? r->env->other_vms : NULL;
	if (!r->env || !r->env->nic_neighbours)
		return 0;
	ret = r->env->nic_neighbours(r->env->ctx, cur, owned);
	if (ret < 0)
		return zh_error_set(r->err, -ret, "nics",
				    "cannot check the NICs against other VMs: %s", strerror(-ret));
	*all = *owned;
	return 0;
}

static int check_conflicts(struct vmcfg_run *r, const json_t *cur)
{
	_cleanup_json_ json_t *owned = NULL;
	const json_t *all = NULL;
	const char *k;
	size_t i;
	json_t *vm;
	bool bad = false;
	int ret = others_for(r, cur, &owned, &all);

	if (ret < 0)
		return ret;
	if (json_is_array(all))
		json_array_foreach (all, i, vm)
			bad = bad || vm_conflicts(r, cur, vm);
	else if (json_is_object(all))
		json_object_foreach ((json_t *)all, k, vm)
			bad = bad || vm_conflicts(r, cur, vm);
	if (bad)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "Conflict detected with another vm, please "
				    "check the MAC, IP, and VRID");
	return 0;
}

int vmcfg_nics_conflicts(const json_t *vm, const struct vmcfg_env *env, struct zh_error *err)
{
	struct vmcfg_run r = {.env = env, .uuid = vmcfg_uuid(vm), .err = err};
	const json_t *nics = vmcfg_nics(vm);

	return json_is_array(nics) ? check_conflicts(&r, nics) : 0;
}

int vmcfg_nics_finish(struct vmcfg_run *r, json_t *cur)
{
	int ret;

	if (count_primary(cur) > 1)
		return zh_error_set(r->err, EINVAL, VMCFG_NICS,
				    "payload specifies more than 1 primary NIC");
	if (count_primary(cur) == 0 && json_array_size(cur) > 0 &&
	    json_object_set_new(json_array_get(cur, 0), "primary", json_true()) < 0)
		return zh_error_oom(r->err);
	if ((ret = check_dups(r, cur)) < 0)
		return ret;
	return check_conflicts(r, cur);
}

/* ---- routes ---- */

static bool nic_static(const json_t *nic)
{
	const char *ip = jsonutil_str(nic, "ip");

	return nic && ip && !streq(ip, "dhcp");
}

/* Resolve "nics[N]" / "macs[m]"; 1 ok, 0 not such a form, -1 bad nic. */
static int route_nic_gw(const char *gw, const json_t *nics)
{
	size_t n = strlen(gw);
	_cleanup_free_ char *in = NULL;
	int64_t idx;

	if (n < 7 || gw[n - 1] != ']')
		return 0;
	if (strncmp(gw, "nics[", 5) == 0) {
		in = strndup(gw + 5, n - 6);
		if (!in || util_parse_i64(in, &idx) < 0 || idx < 0)
			return -1;
		return nic_static(json_array_get(nics, (size_t)idx)) ? 1 : -1;
	}
	if (strncmp(gw, "macs[", 5) == 0) {
		in = strndup(gw + 5, n - 6);
		return in && nic_static(find_mac(nics, in, NULL)) ? 1 : -1;
	}
	return 0;
}

static bool route_dst_ok(const char *d)
{
	char a[64];
	int pfx = -1;

	if (!d || split_cidr(d, a, &pfx) != 4)
		return false;
	return pfx == -1 || (pfx >= 8 && pfx <= 32);
}

static int check_route(struct vmcfg_run *r, const char *dst, const json_t *gwv, const json_t *nics)
{
	const char *gw = json_string_value(gwv);
	int res;

	if (!route_dst_ok(dst))
		return zh_error_set(r->err, EINVAL, VMCFG_ROUTES,
				    "Invalid route destination: \"%s\" (must be "
				    "IP address or CIDR)",
				    dst);
	if (gw && props_valid_ip(gw))
		return 0;
	res = gw ? route_nic_gw(gw, nics) : 0;
	if (res == 0)
		return zh_error_set(r->err, EINVAL, VMCFG_ROUTES,
				    "Invalid route gateway: \"%s\" (must be IP "
				    "address, MAC address, or nic)",
				    gw ? gw : "");
	if (res < 0)
		return zh_error_set(r->err, EINVAL, VMCFG_ROUTES,
				    "Route gateway: \"%s\" refers to non-existent "
				    "or DHCP nic",
				    gw);
	return 0;
}

int vmcfg_check_routes(struct vmcfg_run *r, const json_t *routes, const json_t *nics)
{
	const char *k;
	json_t *v;
	int ret;

	json_object_foreach ((json_t *)routes, k, v)
		if ((ret = check_route(r, k, v, nics)) < 0)
			return ret;
	return 0;
}

/*
 * net-vnic.c - VNICs: one veth pair per NIC (net.h).
 *
 * Owns: the host end of every VNIC, named net_vnic_host_name(prefix,
 * net_nic_index(nic, pos)) with the VM's net_vnic_prefix(), a port of the bridge its nic tag names,
 * up, with the NIC's MTU; and, through it, the zone end (deleting either end of a veth pair deletes
 * both).  The zone end is created directly inside the zone's network namespace (IFLA_NET_NS_PID on
 * the peer) under its final name (`interface`), MAC and MTU; net-addr.c then brings it up and
 * configures it from a socket made inside that namespace.  Not: the bridges
 * (net-nictag.c), the nft rules (nft.c).
 *
 *     net_vnics_create(uuid, vm, init_pid, &err);         before init runs
 *     net_vnics_sync(uuid, old, new, init_pid, &err);     vmadm update
 *     net_vnics_destroy(uuid, vm, &err);                  any process, any time
 *
 * Invariants: names depend only on the VM's uuid, its id slot and the
 * NIC's interface number, so destroy needs only the config zoneadmd loaded
 * at start (its sentinel keeps a copy): it removes every link of the
 * calling namespace whose name starts with the VM's prefix
 * "z<6 hex of the uuid><4 hex of the slot>n".  The slot is
 * zonehost_id_base / 65536, allocated under the host lock and never shared
 * by two VMs of this host, so two VMs whose uuids share a prefix (a chosen
 * uuid, in a payload or a stream) still get distinct names; the uuid digits
 * only help an operator read them.  create either succeeds whole or leaves
 * no VNIC of the VM behind.
 */
#include <ctype.h>
#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "net-vnic-internal.h"
#include "net.h"
#include "util.h"
#include "vmcfg-access.h"

#define IDX_FALLBACK   500u
#define VNIC_UUID_HEX  6
#define VNIC_SLOT_SIZE 65536 /* zonehost_id_base / this: the VM's id slot */
#define TAP_UUID_HEX   8

DEFINE_CLEANUP_FUNC(struct rtnl_link, rtnl_link_put)
DEFINE_CLEANUP_FUNC(struct nl_cache, nl_cache_free)
DEFINE_CLEANUP_FUNC(struct nl_addr, nl_addr_put)

/* ---- names ---- */

int net_vnic_prefix(const char *uuid, const json_t *vm, char out[NET_IFNAMSIZ],
		    struct zh_error *err)
{
	int64_t base = 0;
	size_t n = 0;

	if (!uuid || !util_is_uuid_shape(uuid))
		return zh_error_set(err, EINVAL, "uuid", "invalid uuid for VNIC names");
	vmcfg_id_base(vm, &base);
	if (base < VNIC_SLOT_SIZE || base % VNIC_SLOT_SIZE || base / VNIC_SLOT_SIZE > 0xffff)
		return zh_error_set(err, EINVAL, VMCFG_ID_BASE,
				    "VM %s has no valid uid/gid range (zonehost_id_base) to name "
				    "its VNICs by",
				    uuid);
	out[n++] = 'z';
	for (const char *p = uuid; *p && n < 1 + VNIC_UUID_HEX; p++)
		if (isxdigit((unsigned char)*p))
			out[n++] = (char)tolower((unsigned char)*p);
	snprintf(out + n, NET_IFNAMSIZ - n, "%04xn", (unsigned)(base / VNIC_SLOT_SIZE));
	return 0;
}

void net_vnic_host_name(const char *prefix, unsigned idx, char out[NET_IFNAMSIZ])
{
	snprintf(out, NET_IFNAMSIZ, "%.12s%u", prefix, idx % 1000u); /* 12 + 3 digits fit */
}

unsigned net_nic_index(const json_t *nic, size_t pos)
{
	const char *i = jsonutil_str(nic, "interface");
	const char *d = i;
	int64_t v;

	while (d && *d && !isdigit((unsigned char)*d))
		d++;
	if (d && *d && d != i && util_parse_i64(d, &v) == 0 && v >= 0 && v < IDX_FALLBACK)
		return (unsigned)v;
	return IDX_FALLBACK + (unsigned)(pos % IDX_FALLBACK);
}

int net_tap_name(const char *uuid, const json_t *nic, size_t pos, char out[NET_IFNAMSIZ],
		 struct zh_error *err)
{
	size_t n = 0;

	if (!uuid || !util_is_uuid_shape(uuid))
		return zh_error_set(err, EINVAL, "uuid", "invalid uuid for tap names");
	out[n++] = 'v';
	out[n++] = 't';
	for (const char *p = uuid; *p && n < 2 + TAP_UUID_HEX; p++)
		if (isxdigit((unsigned char)*p))
			out[n++] = (char)tolower((unsigned char)*p);
	snprintf(out + n, NET_IFNAMSIZ - n, "%u", net_nic_index(nic, pos) % 1000u);
	return 0;
}

int net_port_name(const char *uuid, const json_t *vm, const json_t *nic, size_t pos,
		  char out[NET_IFNAMSIZ], struct zh_error *err)
{
	char pre[NET_IFNAMSIZ];
	int r;

	if (vmcfg_is_hvm(vm))
		return net_tap_name(uuid, nic, pos, out, err);
	if ((r = net_vnic_prefix(uuid, vm, pre, err)) < 0)
		return r;
	net_vnic_host_name(pre, net_nic_index(nic, pos), out);
	return 0;
}

static void nic_host_name(const char *prefix, const json_t *nic, size_t pos, char out[NET_IFNAMSIZ])
{
	net_vnic_host_name(prefix, net_nic_index(nic, pos), out);
}

/* ---- sockets and errors ---- */

static int nl_fail(struct zh_error *err, int r, const char *what, const char *name)
{
	return zh_error_set(err, net_nlerr(r), VMCFG_NICS, "cannot %s %s: %s", what, name,
			    nl_geterror(r));
}

/* ---- host ends ---- */

static int link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out)
{
	int r = rtnl_link_get_kernel(sk, 0, name, out);

	return r < 0 ? -net_nlerr(r) : 0;
}

static int bridge_index(struct nl_sock *sk, const char *tag, int *idx, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL;

	if (!tag || link_get(sk, tag, &br) < 0)
		return zh_error_set(err, ENODEV, VMCFG_NICS,
				    "nic tag \"%s\" has no bridge on this host (nictagadm add?)",
				    tag ? tag : "");
	*idx = rtnl_link_get_ifindex(br);
	return 0;
}

static int parse_mac(const char *s, struct nl_addr **out)
{
	unsigned o[6];
	unsigned char b[6];
	int n = 0;

	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &n) !=
		    6 ||
	    s[n] != '\0')
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)o[i];
	*out = nl_addr_build(AF_LLC, b, sizeof(b));
	return *out ? 0 : -ENOMEM;
}

static unsigned nic_mtu(const json_t *nic)
{
	json_t *m = json_object_get(nic, "mtu");

	return json_is_integer(m) && json_integer_value(m) > 0 ? (unsigned)json_integer_value(m)
							       : 0;
}

/* The zone end: in the zone's netns, its final name, MAC, MTU. */
static int fill_peer(struct rtnl_link *veth, const json_t *nic, pid_t zone_pid,
		     struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
	_cleanup_(nl_addr_putp) struct nl_addr *mac = NULL;
	const char *ifname = jsonutil_str(nic, "interface");

	if (!peer)
		return zh_error_oom(err);
	if (!ifname || !*ifname || strlen(ifname) >= NET_IFNAMSIZ)
		return zh_error_set(err, EINVAL, VMCFG_NICS, "NIC has no valid interface name");
	if (parse_mac(jsonutil_str(nic, "mac"), &mac) < 0)
		return zh_error_set(err, EINVAL, VMCFG_NICS, "NIC %s has no valid MAC", ifname);
	rtnl_link_set_name(peer, ifname);
	rtnl_link_set_addr(peer, mac);
	rtnl_link_set_ns_pid(peer, zone_pid); /* up later, from inside (veth_open: -ENOTCONN now) */
	if (nic_mtu(nic))
		rtnl_link_set_mtu(peer, nic_mtu(nic));
	return 0;
}

static int veth_add(struct nl_sock *sk, const char *host, const json_t *nic, pid_t zone_pid,
		    struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *veth = rtnl_link_veth_alloc();
	int br, r;

	if (!veth)
		return zh_error_oom(err);
	if ((r = bridge_index(sk, jsonutil_str(nic, "nic_tag"), &br, err)) < 0 ||
	    (r = fill_peer(veth, nic, zone_pid, err)) < 0)
		return r;
	rtnl_link_set_name(veth, host);
	rtnl_link_set_master(veth, br);
	rtnl_link_set_flags(veth, IFF_UP);
	if (nic_mtu(nic))
		rtnl_link_set_mtu(veth, nic_mtu(nic));
	r = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		return zh_error_set(err, net_nlerr(r), VMCFG_NICS,
				    "cannot create VNIC %s for %s: %s", host,
				    jsonutil_str(nic, "interface"), nl_geterror(r));
	return 0;
}

static int host_del(struct nl_sock *sk, const char *name)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_alloc();
	int r;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	r = rtnl_link_delete(sk, l);
	return r < 0 && net_nlerr(r) != ENODEV ? -net_nlerr(r) : 0;
}

/* One NIC: its veth pair, then its addresses from inside the zone. */
static int nic_up(struct nl_sock *sk, struct nl_sock *zs, const char *pre, const json_t *nic,
		  size_t pos, pid_t zone_pid, struct zh_error *err)
{
	char host[NET_IFNAMSIZ];
	int r;

	nic_host_name(pre, nic, pos, host);
	r = veth_add(sk, host, nic, zone_pid, err);
	if (r < 0)
		return r;
	r = net_zone_addrs(zs, NULL, nic, err);
	if (r < 0)
		host_del(sk, host);
	return r;
}

/* ---- create / destroy ---- */

static int destroy_prefix(struct nl_sock *sk, const char *pre, struct zh_error *err)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	size_t plen = strlen(pre);
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache), first = 0;

	if (r < 0)
		return zh_error_set(err, net_nlerr(r), NULL, "cannot list links: %s",
				    nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		const char *name = rtnl_link_get_name((struct rtnl_link *)o);

		if (!name || strncmp(name, pre, plen) != 0 || !isdigit((unsigned char)name[plen]))
			continue;
		r = host_del(sk, name);
		if (r < 0 && first == 0)
			first = zh_error_set(err, -r, NULL, "cannot remove VNIC %s: %s", name,
					     strerror(-r));
	}
	return first;
}

int net_vnics_destroy(const char *uuid, const json_t *vm, struct zh_error *err)
{
	_cleanup_(net_sock_freep) struct nl_sock *sk = NULL;
	char pre[NET_IFNAMSIZ];
	int r;

	/* By the VM's prefix, not its NIC list: NICs added live are found too. */
	if ((r = net_vnic_prefix(uuid, vm, pre, err)) < 0 || (r = net_sock_open(&sk, err)) < 0)
		return r;
	return destroy_prefix(sk, pre, err);
}

static int create_all(struct nl_sock *sk, struct nl_sock *zs, const char *pre, const json_t *vm,
		      pid_t zone_pid, struct zh_error *err)
{
	json_t *nics = vmcfg_nics(vm), *nic;
	size_t i;
	int r;

	if ((r = net_zone_lo_up(zs, err)) < 0)
		return r;
	json_array_foreach (nics, i, nic)
		if ((r = nic_up(sk, zs, pre, nic, i, zone_pid, err)) < 0)
			return r;
	return net_zone_routes(zs, NULL, vm, err);
}

int net_vnics_create(const char *uuid, const json_t *vm, pid_t zone_pid, struct zh_error *err)
{
	_cleanup_(net_sock_freep) struct nl_sock *sk = NULL, *zs = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;
	char pre[NET_IFNAMSIZ];
	int r;

	if ((r = net_vnic_prefix(uuid, vm, pre, err)) < 0 || (r = net_sock_open(&sk, err)) < 0 ||
	    (r = net_sock_open_pid(zone_pid, &zs, err)) < 0)
		return r;
	r = create_all(sk, zs, pre, vm, zone_pid, err);
	if (r < 0) {
		destroy_prefix(sk, pre, &ignored);
		zh_error_clear(&ignored);
	}
	return r;
}

/* ---- live changes ---- */

static const json_t *find_nic(const json_t *vm, const char *mac, size_t *pos)
{
	json_t *nic;
	size_t i;

	json_array_foreach (vmcfg_nics(vm), i, nic) {
		const char *m = jsonutil_str(nic, "mac");

		if (m && mac && strcasecmp(m, mac) == 0) {
			*pos = i;
			return nic;
		}
	}
	return NULL;
}

static bool str_differs(const json_t *a, const json_t *b, const char *key)
{
	const char *x = jsonutil_str(a, key), *y = jsonutil_str(b, key);

	return (x == NULL) != (y == NULL) || (x && !streq(x, y));
}

/* A NIC kept across the update: bridge, MTU (both ends) and addresses. */
static int nic_change(struct nl_sock *sk, struct nl_sock *zs, const char *host, const json_t *old,
		      const json_t *nic, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL, *chg = rtnl_link_alloc();
	_cleanup_(rtnl_link_putp) struct rtnl_link *zcur = NULL, *zchg = rtnl_link_alloc();
	const char *ifname = jsonutil_str(nic, "interface");
	int br, r;

	if (!chg || !zchg)
		return zh_error_oom(err);
	if (!str_differs(old, nic, "nic_tag") && nic_mtu(old) == nic_mtu(nic))
		return net_zone_addrs(zs, old, nic, err);
	if (link_get(sk, host, &cur) < 0 || !ifname || link_get(zs, ifname, &zcur) < 0)
		return zh_error_set(err, ENODEV, VMCFG_NICS, "VNIC %s of %s is missing", host,
				    ifname ? ifname : "?");
	if ((r = bridge_index(sk, jsonutil_str(nic, "nic_tag"), &br, err)) < 0)
		return r;
	rtnl_link_set_master(chg, br);
	if (nic_mtu(nic)) {
		rtnl_link_set_mtu(chg, nic_mtu(nic));
		rtnl_link_set_mtu(zchg, nic_mtu(nic));
		if ((r = rtnl_link_change(zs, zcur, zchg, 0)) < 0)
			return nl_fail(err, r, "change the MTU of", ifname);
	}
	if ((r = rtnl_link_change(sk, cur, chg, 0)) < 0)
		return nl_fail(err, r, "change", host);
	return net_zone_addrs(zs, old, nic, err);
}

static int sync_removed(struct nl_sock *sk, const char *pre, const json_t *old_vm,
			const json_t *new_vm, struct zh_error *err)
{
	char host[NET_IFNAMSIZ];
	json_t *nic;
	size_t i, pos;
	int r;

	json_array_foreach (vmcfg_nics(old_vm), i, nic) {
		if (find_nic(new_vm, jsonutil_str(nic, "mac"), &pos))
			continue;
		nic_host_name(pre, nic, i, host);
		if ((r = host_del(sk, host)) < 0)
			return zh_error_set(err, -r, VMCFG_NICS, "cannot remove VNIC %s: %s", host,
					    strerror(-r));
	}
	return 0;
}

static int sync_kept(struct nl_sock *sk, struct nl_sock *zs, const char *pre, const json_t *old_vm,
		     const json_t *new_vm, pid_t zone_pid, struct zh_error *err)
{
	char host[NET_IFNAMSIZ];
	const json_t *old;
	json_t *nic;
	size_t i, pos;
	int r;

	json_array_foreach (vmcfg_nics(new_vm), i, nic) {
		old = find_nic(old_vm, jsonutil_str(nic, "mac"), &pos);
		if (!old)
			r = nic_up(sk, zs, pre, nic, i, zone_pid, err);
		else if (json_equal((json_t *)old, nic))
			continue;
		else {
			nic_host_name(pre, old, pos, host);
			r = nic_change(sk, zs, host, old, nic, err);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int net_vnics_sync(const char *uuid, const json_t *old_vm, const json_t *new_vm, pid_t zone_pid,
		   struct zh_error *err)
{
	_cleanup_(net_sock_freep) struct nl_sock *sk = NULL, *zs = NULL;
	char pre[NET_IFNAMSIZ];
	int r;

	if ((r = net_vnic_prefix(uuid, new_vm, pre, err)) < 0 ||
	    (r = net_sock_open(&sk, err)) < 0 || (r = net_sock_open_pid(zone_pid, &zs, err)) < 0)
		return r;
	if ((r = sync_removed(sk, pre, old_vm, new_vm, err)) < 0 ||
	    (r = sync_kept(sk, zs, pre, old_vm, new_vm, zone_pid, err)) < 0)
		return r;
	return net_zone_routes(zs, old_vm, new_vm, err);
}

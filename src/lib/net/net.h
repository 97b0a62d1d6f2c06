/*
 * net.h - nic tags, VNICs, hardware VMs' taps, addresses and routes
 * (netlink); docs/architecture.md §12.
 *
 * Owns: the nic tag records (<config>/nictags.json, written atomically),
 * the Linux bridge each tag names (a nic tag IS a bridge of that name: with
 * a physical uplink as a port, or without one as an etherstub), and every
 * VNIC: a veth pair whose host end (net_vnic_host_name()) is a port of the
 * tag's bridge and whose zone end is moved into the zone's network
 * namespace and named after the NIC's `interface` (net0, net1, ...).
 * Never changes the host's own addresses, routes or foreign interfaces.
 *
 *     if (!net_nictag_exists("admin")) ...
 *     net_vnics_create(uuid, vm, zone_pid, &err);     (before init runs)
 *     ...
 *     net_vnics_destroy(uuid, vm, &err);              (zone end; idempotent)
 *
 * Names are derived from the VM's uuid, its id slot (zonehost_id_base /
 * 65536, unique per VM on the host) and the NIC's index only, so any
 * process holding the VM's config (zoneadmd, its sentinel) can remove what
 * another made: host end "z<6 hex of the uuid><4 hex of the slot>n<index>"
 * (<= 15 chars), never the same for two VMs of one host.
 *
 * All functions act on the network namespace of the calling process (tests
 * and operators may run the whole host side in a namespace of their own).
 */
#ifndef ZH_NET_H
#define ZH_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define NET_IFNAMSIZ 16

/* ---- nic tags ---- */

struct net_nictag {
	char *name;   /* also the bridge's name */
	char *uplink; /* physical interface, or NULL for an etherstub */
	char *mac;    /* uplink's MAC as given, or NULL (net_nictag_list: else
			 the live uplink's MAC when it has one) */
	unsigned mtu; /* 0: default */
};

/* A nic tag name must be a valid Linux interface name: [A-Za-z0-9_]{1,15}. */
bool net_nictag_name_valid(const char *name);

/* All recorded tags (array of n); free with net_nictags_free. */
int net_nictag_list(struct net_nictag **tags, size_t *n, struct zh_error *err);
void net_nictags_free(struct net_nictag *tags, size_t n);

bool net_nictag_exists(const char *name);

/* Record a tag and create its bridge (and enslave the uplink); -EEXIST if taken. */
int net_nictag_add(const struct net_nictag *t, struct zh_error *err);
int net_nictag_update(const struct net_nictag *t, struct zh_error *err);
/* Remove the record and the bridge (the caller refuses while VMs use the tag). */
int net_nictag_delete(const char *name, struct zh_error *err);

/* Make sure every recorded tag's bridge exists (host boot, first use). */
int net_nictags_ensure(struct zh_error *err);

/* ---- VNICs ---- */

/*
 * The prefix of the host ends of VM uuid's VNICs, "z<6 hex of the uuid><4
 * hex of its slot>n" (12 chars), the slot being zonehost_id_base / 65536
 * of vm.  -EINVAL (prop "zonehost_id_base") when vm has no valid id base.
 */
int net_vnic_prefix(const char *uuid, const json_t *vm, char out[NET_IFNAMSIZ],
		    struct zh_error *err);

/* prefix + idx: the host end of NIC idx of the VM whose prefix it is. */
void net_vnic_host_name(const char *prefix, unsigned idx, char out[NET_IFNAMSIZ]);

/*
 * The idx of net_vnic_host_name() for a NIC at position pos of `nics`:
 * the number N of its `interface` (net<N>, eth<N>; < 500), so a NIC keeps
 * its host-end name when an earlier NIC is removed; 500 + pos when the
 * interface carries no such number.  Every user of host-end names (nft.c
 * too) must name NIC pos as net_vnic_host_name(prefix, net_nic_index(nic, pos)).
 */
unsigned net_nic_index(const json_t *nic, size_t pos);

/*
 * The host port of NIC pos of an HVM VM (kvm, bhyve): a tap device named
 * "vt<first 8 hex of the uuid><net_nic_index(nic, pos)>" (<= 13 chars).
 * Two VMs whose uuids share their first 8 hex digits would get the same
 * names: the second one's taps and rules are then refused (EEXIST), never
 * shared, and removal checks the tap's owner mark (net-tap.c).
 */
int net_tap_name(const char *uuid, const json_t *nic, size_t pos, char out[NET_IFNAMSIZ],
		 struct zh_error *err);

/*
 * The host port name of NIC pos of vm, whatever its brand: the tap of an
 * HVM VM (net_tap_name), else the host end of the VNIC
 * (net_vnic_host_name(net_vnic_prefix(), net_nic_index())).  nft.c keys
 * the VM's rules on it.
 */
int net_port_name(const char *uuid, const json_t *vm, const json_t *nic, size_t pos,
		  char out[NET_IFNAMSIZ], struct zh_error *err);

/*
 * Create the VM's VNICs: veth pairs, host ends on the tags' bridges (up,
 * with the MTU), zone ends moved into the network namespace of zone_pid,
 * renamed, given their MAC, addresses (static `ips`), MTU, brought up, lo
 * up, routes (the primary NIC's gateway as default route, `routes`), all
 * from the host side before init runs.  `dhcp`/`addrconf` NICs are only
 * brought up.  On failure everything made is removed.
 */
int net_vnics_create(const char *uuid, const json_t *vm, pid_t zone_pid, struct zh_error *err);

/*
 * Remove the host ends of every VNIC of the VM (missing ones are fine),
 * found by the prefix vm's id slot gives, whatever its nics say.
 */
int net_vnics_destroy(const char *uuid, const json_t *vm, struct zh_error *err);

/* Live changes on a running zone: make the VNICs and addresses match vm. */
int net_vnics_sync(const char *uuid, const json_t *old_vm, const json_t *new_vm, pid_t zone_pid,
		   struct zh_error *err);

/* ---- taps (hardware VMs: kvm, bhyve) ---- */

/*
 * Make the taps of HVM VM vm (net-tap.c): first its nft rules
 * (nft_vm_apply, the same anti-spoofing and VLAN rules as a zone's VNICs,
 * keyed on the tap names), then per NIC i a tap net_tap_name(uuid, nic, i)
 * on the NIC's nic tag's bridge, up, with its MTU; fds[i] is its
 * close-on-exec descriptor (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), to hand
 * to QEMU as -netdev tap,fd=N (the tap is not persistent: it goes with the
 * last copy of its fd).  n must be at least the number of NICs; the other
 * fds[] are -EBADF.  All or nothing: on failure no tap and no rule of the
 * VM is left and every fds[] is -EBADF.  Needs CAP_NET_ADMIN in the
 * caller's network namespace.
 */
int net_tap_create_all(const json_t *vm, int *fds, size_t n, struct zh_error *err);

/*
 * Remove every tap of vm and its nft rules, from the config alone (any
 * process, e.g. zoneadmd's sentinel; idempotent): the links named
 * "vt<8 hex of the uuid><digits>" that carry the VM's owner mark.  Keeps
 * going after an error; returns the first.
 */
int net_tap_remove_all(const json_t *vm, struct zh_error *err);

/*
 * A NIC with static IPv4 `ips` also needs its DHCP responder on its tap:
 * dhcp_responder_spawn(vm, nic, name, &pid, &err) in dhcp.h (name from
 * net_tap_name; the caller kills and reaps pid at the VM's end).
 */

/* Write /etc/resolv.conf, /etc/hostname and /etc/hosts into the zone root (before boot). */
int net_zone_files(const char *zone_root, const json_t *vm, struct zh_error *err);

#endif

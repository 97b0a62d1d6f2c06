/*
 * net-vnic-internal.h - what net-vnic.c (host side: veth pairs, bridges)
 * and net-addr.c (zone side: addresses, links, routes) share.
 *
 * A zone-side socket is a NETLINK_ROUTE socket created inside the zone's
 * network namespace (a socket stays bound to the namespace it was made
 * in), so every request on it acts on the zone's interfaces.
 */
#ifndef ZH_NET_VNIC_INTERNAL_H
#define ZH_NET_VNIC_INTERNAL_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

struct nl_sock;

/* errno value for a (negative) libnl error code. */
int net_nlerr(int nlerr);

/* A connected NETLINK_ROUTE socket in the caller's network namespace. */
int net_sock_open(struct nl_sock **out, struct zh_error *err);
/* The same, made inside the network namespace of pid. */
int net_sock_open_pid(pid_t pid, struct nl_sock **out, struct zh_error *err);
void net_sock_freep(struct nl_sock **sk);

/* Zone side: lo up. */
int net_zone_lo_up(struct nl_sock *zs, struct zh_error *err);

/*
 * Zone side: make the static `ips` of the NIC's interface go from those
 * of old_nic (NULL: none) to those of nic, and bring the link up.
 */
int net_zone_addrs(struct nl_sock *zs, const json_t *old_nic, const json_t *nic,
		   struct zh_error *err);

/*
 * Zone side: the default route (primary NIC's gateways[0]) and `routes`,
 * going from those of old_vm (NULL: none) to those of vm.
 */
int net_zone_routes(struct nl_sock *zs, const json_t *old_vm, const json_t *vm,
		    struct zh_error *err);

#endif

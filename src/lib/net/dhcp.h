/*
 * dhcp.h - the host-side DHCP responder of a hardware VM's NIC with static
 * `ips` (docs/architecture.md §12.1), as SmartOS's kvm
 * answered from inside QEMU: a stock guest with a DHCP client gets the
 * NIC's address, mask, router, resolvers and hostname.
 *
 * dhcp.c holds the pure part (what to answer, parsing hostile frames,
 * building the answer); dhcp-run.c the process that answers on a tap.
 *
 *     struct dhcp_lease l;
 *     dhcp_lease_from_nic(vm, nic, &l, &err);       what the NIC is told
 *     dhcp_parse(frame, len, &m);                   a client's message?
 *     n = dhcp_answer(&l, &m, out, sizeof(out));     0: stay silent
 *     dhcp_responder_spawn(vm, nic, "vt...0", &pid, &err);
 */
#ifndef ZH_DHCP_H
#define ZH_DHCP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define DHCP_MAX_DNS	  8
#define DHCP_HOSTNAME_MAX 63
#define DHCP_FRAME_MAX	  600 /* the largest answer, Ethernet header included */
#define DHCP_LEASE_SECS	  86400u
#define DHCP_SERVER_LL	  "169.254.0.1" /* server id of a NIC without a gateway */
#define DHCP_UID_OFFSET	  1001		/* the responder's uid/gid: zonehost_id_base + this */

enum {
	DHCP_DISCOVER = 1,
	DHCP_OFFER,
	DHCP_REQUEST,
	DHCP_DECLINE,
	DHCP_ACK,
	DHCP_NAK,
	DHCP_RELEASE,
	DHCP_INFORM
};

/* What a NIC's guest is told; addresses in network byte order, 0: none. */
struct dhcp_lease {
	uint8_t mac[6];	       /* the NIC's MAC: the only client answered */
	uint8_t server_mac[6]; /* source of the answers: the tap's own MAC (net-tap.c) */
	uint32_t addr, mask, router, server;
	uint32_t dns[DHCP_MAX_DNS];
	size_t ndns;
	uint16_t mtu;
	uint32_t lease_secs;
	char hostname[DHCP_HOSTNAME_MAX + 1]; /* "" : not sent */
};

/* A client's message, as parsed from an Ethernet frame. */
struct dhcp_msg {
	uint8_t type; /* option 53; 0: none (plain BOOTP, never answered) */
	uint32_t xid;
	uint16_t flags;
	uint8_t src_mac[6], chaddr[6];
	uint32_t ciaddr, requested, server_id; /* network byte order, 0: absent */
};

/*
 * The lease of NIC nic of vm: its first IPv4 `ips` entry and that prefix's
 * mask, its first IPv4 gateway as router, the VM's IPv4 `resolvers` (at
 * most DHCP_MAX_DNS), its `hostname` when it is a valid host name, the
 * NIC's `mtu`, a lease of DHCP_LEASE_SECS.  The server identifier is the
 * router when the NIC has one (as QEMU's own server is its guest's
 * gateway), else DHCP_SERVER_LL; answers reach the guest whatever it
 * later sends its renewals to, since the responder sees every frame of the
 * tap.  -ENOENT (no message) when the NIC has no static IPv4 address
 * (dhcp, addrconf, IPv6 only): no responder then; -EINVAL for a bad mac.
 */
int dhcp_lease_from_nic(const json_t *vm, const json_t *nic, struct dhcp_lease *l,
			struct zh_error *err);

/*
 * Parse an Ethernet frame as a DHCP client message (untagged IPv4, not a
 * fragment, UDP to port 67, BOOTREQUEST, Ethernet hardware addresses, the
 * magic cookie, options well formed within the datagram).  Every length
 * is checked against len; 0 or -EINVAL.
 */
int dhcp_parse(const uint8_t *frame, size_t len, struct dhcp_msg *m);

/*
 * The answer to m, an Ethernet frame written to out (cap >=
 * DHCP_FRAME_MAX), its length; 0 when there is none: not from the lease's
 * MAC (both the frame's source and chaddr), a REQUEST for another server,
 * RELEASE, DECLINE, BOOTP.  DISCOVER -> OFFER; REQUEST of the lease's
 * address -> ACK, of another -> NAK; INFORM -> ACK without lease.
 */
size_t dhcp_answer(const struct dhcp_lease *l, const struct dhcp_msg *m, uint8_t *out, size_t cap);

/*
 * Start the responder of NIC nic of vm on tap ifname (dhcp-run.c): a
 * child that opens an AF_PACKET socket on the tap (as root, in the
 * caller's network namespace), then drops everything - uid/gid
 * zonehost_id_base + DHCP_UID_OFFSET, no groups, no capabilities (bounding
 * set too), no_new_privs, a seccomp filter allowing only recvfrom, sendto,
 * clock_gettime, close and exit - and answers until the tap goes or its
 * parent dies (PR_SET_PDEATHSIG).  At most 10 answers a second, fixed
 * buffers.  *pid is the child (the caller reaps it), or 0 when the NIC
 * needs none (no static IPv4).  The child has been set up when this
 * returns 0.
 */
int dhcp_responder_spawn(const json_t *vm, const json_t *nic, const char *ifname, pid_t *pid,
			 struct zh_error *err);

#endif

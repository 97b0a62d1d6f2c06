/*
 * nft.h - per-VM packet filtering on the bridges: anti-spoofing and VLAN
 * segments (libnftables, bridge family).
 *
 * Owns: the VM's objects in the shared table "bridge zonehost" (nft.c
 * explains the layout), keyed on the host ends of the VM's VNICs
 * (net_vnic_host_name()) and named by the VM's whole uuid.  By default a
 * VNIC may only send frames from its own MAC, IPv4 and ARP from its
 * `ips`/`allowed_ips`, IPv6 from its own addresses and its MAC-derived
 * link-local, neighbour discovery about itself only, no router
 * advertisement or redirect, and no DHCP server traffic; each allow_*
 * property lifts its part.  `vlan_id` is enforced as segment isolation: a
 * frame entering from a VNIC is marked with its VLAN and may leave only by
 * ports of the same VLAN (so VLANs exchange no frame, broadcasts included).
 *
 *     nft_vm_apply(uuid, vm, &err);     (replace the VM's objects atomically;
 *                                        vm needs its zonehost_id_base)
 *     nft_vm_remove(uuid, &err);        (idempotent)
 *
 * Never touches an object it did not make.
 */
#ifndef ZH_NFT_H
#define ZH_NFT_H

#include <jansson.h>

#include "error.h"

int nft_vm_apply(const char *uuid, const json_t *vm, struct zh_error *err);
int nft_vm_remove(const char *uuid, struct zh_error *err);

/* The nft script nft_vm_apply would load (pure; for tests and the fuzzer). */
int nft_vm_script(const char *uuid, const json_t *vm, char **out, struct zh_error *err);

/*
 * 0 if a NIC on nic tag `tag` may use vlan_id: always for vlan_id 0 and on
 * etherstubs (segment isolation by nft); -EOPNOTSUPP with a clear message
 * for a VLAN on a tag with a physical uplink (that needs 802.1Q bridge VLAN
 * filtering, which zonehost does not use on this kernel).  nft_vm_apply
 * checks every NIC with it; callers may check earlier (vmadm validate).
 */
int nft_vlan_supported(const char *tag, int vlan_id, struct zh_error *err);

#endif

/*
 * vmcfg-access.h - typed access to the fields of a VM config.
 *
 * Owns: the spelling of the VM fields the code reads and writes by name
 * (VMCFG_* below, each a property of the table in props.c; test-vmcfg
 * checks them there) and one accessor per field, so no other module
 * repeats a field's name or its shape.  A VM config stays a json_t object
 * (what vmstore stores and `vmadm get` prints); these functions only read
 * or set one field of the object they are given.  Pure: no host access.
 *
 *     json_t *nic;
 *     size_t i;
 *     json_array_foreach (vmcfg_nics(vm), i, nic) ...
 *     int64_t base;
 *     if (!vmcfg_id_base(vm, &base)) ... no uid/gid range allocated yet
 *     if (vmcfg_is_hvm(vm)) ...
 *
 * Validation is not done here: the accessors return what is stored (vmcfg
 * checked it against the table when it was written); callers that need a
 * range check (net_vnic_prefix, zoneadmd) make it and name VMCFG_ID_BASE.
 */
#ifndef ZH_VMCFG_ACCESS_H
#define ZH_VMCFG_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VMCFG_UUID	 "uuid"
#define VMCFG_BRAND	 "brand"
#define VMCFG_NICS	 "nics"
#define VMCFG_ID_BASE	 "zonehost_id_base" /* first host uid/gid of the zone's range */
#define VMCFG_ROUTES	 "routes"
#define VMCFG_QUOTA	 "quota"
#define VMCFG_AUTOBOOT	 "autoboot"
#define VMCFG_OCI_BUNDLE "oci_bundle" /* an OCI container's bundle (§24) */

/* The VM's uuid, or NULL when absent or not a string. */
const char *vmcfg_uuid(const json_t *vm);

/* The VM's brand, or NULL when absent or not a string. */
const char *vmcfg_brand(const json_t *vm);

/* Is brand a hardware VM brand (kvm, bhyve: props_brand.hvm)?  false for NULL or unknown. */
bool vmcfg_brand_is_hvm(const char *brand);

/* vmcfg_brand_is_hvm(vmcfg_brand(vm)). */
bool vmcfg_is_hvm(const json_t *vm);

/* The VM's nics value (an array in a valid config), or NULL when absent. */
json_t *vmcfg_nics(const json_t *vm);

/* The VM's routes object (destination -> gateway), or NULL when absent. */
json_t *vmcfg_routes(const json_t *vm);

/* The VM's quota in GiB; 0 (none) when absent or not an integer. */
int64_t vmcfg_quota(const json_t *vm);

/* The bundle of an OCI container (zonehost-runc, §24), or NULL for any other VM. */
const char *vmcfg_oci_bundle(const json_t *vm);

/* Is the VM's autoboot true (a stored boolean; absent is false)? */
bool vmcfg_autoboot(const json_t *vm);

/* true and *base when the VM has an integer id base; false (base untouched) when not. */
bool vmcfg_id_base(const json_t *vm, int64_t *base);

/* Set the VM's id base: 0, or -ENOMEM. */
int vmcfg_set_id_base(json_t *vm, int64_t base);

/* Remove the VM's id base (another host's, or one to allocate again). */
void vmcfg_drop_id_base(json_t *vm);

#endif

/*
 * vmcfg-internal.h - what vmcfg.c, vmcfg-nic.c and vmcfg-update.c share.
 *
 * Not a public contract: only the vmcfg*.c files include it.  A struct
 * vmcfg_run carries one create/update/validate run: the brand, the action,
 * the host callbacks, the warning sink, and the three report arrays that
 * the table checks fill.
 */
#ifndef ZH_VMCFG_INTERNAL_H
#define ZH_VMCFG_INTERNAL_H

#include "jsonutil.h"
#include "props.h"
#include "vmcfg.h"

struct vmcfg_run {
	const struct props_brand *brand;
	enum props_action action; /* PROPS_CREATE/RECEIVE/UPDATE */
	const struct vmcfg_env *env;
	vmcfg_warn_fn warn;
	void *wctx;
	struct vmcfg_report rep;
	const char *uuid;	/* the VM's uuid (conflict checks) */
	const char *nic_driver; /* HVM: default nics.*.model */
	struct zh_error *err;
};

/* Append name to *arr (created on demand) unless already there. */
int vmcfg_rep_add(json_t **arr, const char *name);

/* Table checks of one payload (vmadm validate): fills r->rep. */
int vmcfg_check_payload(struct vmcfg_run *r, const json_t *payload);

/* Coerce top-level values (and sub-objects) in place; "Invalid value for". */
int vmcfg_coerce(struct vmcfg_run *r, json_t *payload);
int vmcfg_coerce_sub(struct vmcfg_run *r, const char *base, json_t *obj);

/* bad_values / missing_properties -> error; strip bad_properties. */
int vmcfg_fatal_or_strip(struct vmcfg_run *r, json_t *payload);

/* Emit a warning line. */
void vmcfg_warnf(struct vmcfg_run *r, const char *fmt, ...) _printf_(2, 3);

/* zfs_* recsize / compression / limit checks (docs/architecture.md §4). */
int vmcfg_check_zfs(struct vmcfg_run *r, json_t *cfg);

/* fixPayloadMemory: payload is changed; old is the stored VM or NULL. */
void vmcfg_fix_memory(struct vmcfg_run *r, json_t *payload, const json_t *old);

/* Compact JSON text of j (for messages); never NULL. Free with free(). */
char *vmcfg_dump(const json_t *j);

/* Integer member or def. */
int64_t vmcfg_int(const json_t *obj, const char *key, int64_t def);

/* NICs (vmcfg-nic.c). */
int vmcfg_nics_add(struct vmcfg_run *r, json_t *cur, const json_t *add);
int vmcfg_nics_update(struct vmcfg_run *r, json_t *cur, const json_t *upd);
int vmcfg_nics_remove(struct vmcfg_run *r, json_t *cur, const json_t *macs);
int vmcfg_nics_finish(struct vmcfg_run *r, json_t *cur);
int vmcfg_check_routes(struct vmcfg_run *r, const json_t *routes, const json_t *nics);
/* Lower-case, two digits per octet; false if not a MAC. */
bool vmcfg_mac_normalize(const char *in, char out[18]);

/* Disks and the other HVM properties (vmcfg-disk.c). */
int vmcfg_hvm_create(struct vmcfg_run *r, json_t *cfg);
int vmcfg_hvm_precheck(struct vmcfg_run *r, const json_t *p);
int vmcfg_hvm_update(struct vmcfg_run *r, json_t *cfg, const json_t *p);
int vmcfg_hvm_validate(struct vmcfg_run *r, const json_t *payload);

/* json_array_size, 0 for NULL (a report list not made yet). */
size_t vmcfg_arr_len(const json_t *a);
void vmcfg_hvm_memory(struct vmcfg_run *r, json_t *cfg);
int vmcfg_check_compression_value(struct vmcfg_run *r, const json_t *v, const char *label);

/*
 * docker:* keys of internal_metadata (vmcfg-docker.c): check the ones a
 * payload gives (bad values "internal_metadata.docker:cmd", ...); on
 * create of a docker VM, fill the missing ones from its image.
 */
int vmcfg_docker_check(struct vmcfg_run *r, const json_t *payload);
int vmcfg_docker_fill(struct vmcfg_run *r, json_t *cfg);

#endif

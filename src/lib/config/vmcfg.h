/*
 * vmcfg.h - payload -> validated, normalised VM config.
 *
 * Owns: the validation pipeline (docs/architecture.md §4: coercion,
 * defaults, renames, per-brand allowed/required checks from the property
 * table in props.c, semantic checks, NIC rules) and the update merge.
 * Pure: it touches no file; what it needs to know about the host
 * (installed images, pools, other VMs, nic tags) it asks through struct
 * vmcfg_env, so it is unit-tested and fuzzed without a host.
 *
 *     struct vmcfg_report rep = VMCFG_REPORT_INIT;
 *     if (vmcfg_validate("joyent", VMCFG_CREATE, payload, &env, &rep) < 0)
 *             print(vmcfg_report_json(&rep));
 *     vmcfg_report_clear(&rep);
 *
 *     json_t *vm = NULL;
 *     if (vmcfg_create(payload, &env, warn, ctx, &vm, &err) < 0) ...
 *
 * Error messages are SmartOS's: "Invalid value(s) for: a,b",
 * "Missing required properties: a,b", "Unsupported brand", NIC and route
 * messages; err->prop names the first offending property.
 */
#ifndef ZH_VMCFG_H
#define ZH_VMCFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum vmcfg_action { VMCFG_CREATE, VMCFG_UPDATE, VMCFG_RECEIVE };

/* What vmcfg may ask about the host.  Any callback may be NULL (= check skipped). */
struct vmcfg_env {
	void *ctx;
	/* Installed image's manifest "type" into buf; -ENOENT if not installed. */
	int (*image_type)(void *ctx, const char *zpool, const char *uuid, char *buf, size_t len);
	bool (*pool_exists)(void *ctx, const char *name);
	bool (*nic_tag_exists)(void *ctx, const char *tag);
	/* Can vlan_id (!= 0) be used on tag?  Else 0 > return, reason in msg. */
	int (*nic_vlan_ok)(void *ctx, const char *tag, int vlan_id, char *msg, size_t len);
	bool (*vm_exists)(void *ctx, const char *uuid);
	/* Other VMs (stored configs) for MAC/IP conflict checks; may be NULL. */
	const json_t *other_vms;
	/*
	 * Instead of other_vms when set: the other VMs (stored configs, a new
	 * array in *out) that may share a MAC or an IP with one of nics; a
	 * superset is fine, the check itself is vmcfg's.  < 0: cannot tell.
	 */
	int (*nic_neighbours)(void *ctx, const json_t *nics, json_t **out);
	/* Installed image's manifest image_size (MiB) into *mib; -ENOENT if none. */
	int (*image_size)(void *ctx, const char *zpool, const char *uuid, int64_t *mib);
	/*
	 * A docker image's run settings (its manifest's tags "docker:config":
	 * {Entrypoint, Cmd, Env, WorkingDir, User}) as a new object in *out;
	 * -ENOENT if not installed or not a docker image.
	 */
	int (*image_docker_config)(void *ctx, const char *zpool, const char *uuid, json_t **out);
};

struct vmcfg_report {
	json_t *bad_values; /* array of property names */
	json_t *bad_properties;
	json_t *missing_properties;
	char *bad_brand; /* set instead of the arrays when the brand is unknown */
};

#define VMCFG_REPORT_INIT              \
	{                              \
		NULL, NULL, NULL, NULL \
	}

typedef void (*vmcfg_warn_fn)(void *ctx, const char *line);

/*
 * `vmadm validate`: brand is payload.brand for create (NULL/absent ->
 * bad_brand "undefined"), the given brand for update.  Returns 0 when all
 * lists are empty, -EINVAL otherwise (report filled), -ENOMEM.
 */
int vmcfg_validate(const char *brand, enum vmcfg_action action, const json_t *payload,
		   const struct vmcfg_env *env, struct vmcfg_report *rep);

/*
 * A whole VM's NICs against env->other_vms (MAC, or IP on the same tag and
 * VLAN, in another VM): "Conflict detected with another vm..." (-EINVAL).
 */
int vmcfg_nics_conflicts(const json_t *vm, const struct vmcfg_env *env, struct zh_error *err);

/*
 * The properties of config vm that reach outside the VM (PROPS_F_HOST)
 * and are set in it (true, or a non-empty value; for a sub-property, in
 * any element of its array): their names in a new array *out (empty when
 * none).  -ENOMEM.
 */
int vmcfg_host_props(const json_t *vm, json_t **out);

/* {"bad_brand":..} or {"bad_values":[..],"bad_properties":[..],"missing_properties":[..]}. New
 * reference. */
json_t *vmcfg_report_json(const struct vmcfg_report *rep);
void vmcfg_report_clear(struct vmcfg_report *rep);

/*
 * `vmadm create`: a full, normalised VM config (uuid generated when absent,
 * defaults, MACs, create_timestamp, v=1) ready for vmstore_save().
 * Disallowed properties are stripped with a warning through warn().
 */
int vmcfg_create(const json_t *payload, const struct vmcfg_env *env, vmcfg_warn_fn warn, void *ctx,
		 json_t **vm_out, struct zh_error *err);

/*
 * `vmadm update`: apply payload (JSON object, or key=value strings already
 * turned into an object of strings) to the stored config vm, returning the
 * new config; vm is not modified.  *changed lists the top-level properties
 * whose value changed (so callers apply live changes, e.g. quota).
 */
int vmcfg_update(const json_t *vm, const json_t *payload, const struct vmcfg_env *env,
		 vmcfg_warn_fn warn, void *ctx, json_t **vm_out, json_t **changed,
		 struct zh_error *err);

/*
 * HVM disks (vmcfg-disk.c).  The lowest N such that no disk of the array
 * disks (may be NULL) has a path ending in "/disk<N>": the VM layer names
 * a new disk <zonepath>/disk<N> (docs/architecture.md §4).
 */
int vmcfg_disk_next_index(const json_t *disks);

/*
 * A bhyve pci_slot "bus:dev:fn", "dev:fn" or "dev" (bus 0-255, dev 0-31,
 * fn 0-7): -EINVAL if malformed, -EBUSY for a reserved device (0, 6, 30,
 * 31 on bus 0), else 0 with the numbers filled in.
 */
int vmcfg_pci_slot_parse(const char *s, int *bus, int *dev, int *fn);

#endif

/*
 * vm.h - whole-VM transactions: create, update, delete.
 *
 * Owns: the order of steps and their undo.  Each function takes the VM's
 * lock, validates through vmcfg, changes the pool through pool, and stores
 * the config through vmstore.  Any failure undoes every step already taken
 * (docs/architecture.md §5), so bad input leaves the host as it
 * was.
 *
 *     char uuid[37];
 *     if (vm_create(payload, warn_cb, NULL, uuid, &err) < 0) ...
 *
 * warn() receives each non-fatal warning (a stripped property) as one line.
 */
#ifndef ZH_VM_H
#define ZH_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "util.h"
#include "vmcfg.h"

struct pool;

typedef void (*vm_warn_fn)(void *ctx, const char *line);

int vm_create(json_t *payload, vm_warn_fn warn, void *ctx, char uuid_out[UTIL_UUID_LEN + 1],
	      struct zh_error *err);
int vm_update(const char *uuid, json_t *payload, vm_warn_fn warn, void *ctx, struct zh_error *err);
int vm_delete(const char *uuid, struct zh_error *err);

/*
 * Lifecycle (vm-run.c).  vm_start spawns zoneadmd (next to the running
 * executable, or $ZONEHOST_ZONEADMD) and waits until it reports the zone's
 * init running or an error; it sets autoboot=true.  -EALREADY: already
 * running (err: "VM <uuid> is already 'running'").
 * vm_stop sets autoboot=false, sends the halt signal, waits up to timeout
 * seconds (< 0: the brand's, 60 for zones, 180 for hardware VMs; zoneadmd
 * decides) then kills what is left; force kills at once.  Returns
 * after zoneadmd has removed every trace.  -ENOTCONN: not running (err:
 * "VM <uuid> is already not 'running' (currently: <state>)").
 * vm_kill: -ESRCH "Cannot find running init PID for VM <uuid>".
 * vm_start_with: vm_start with `vmadm start`'s one-boot extras of a
 * hardware VM (order=, cdrom=, disk=: vmcfg-start.h), checked before
 * anything changes and handed to zoneadmd for this boot only.
 */
int vm_start(const char *uuid, struct zh_error *err);
int vm_start_with(const char *uuid, char *const *extras, struct zh_error *err);
int vm_stop(const char *uuid, int timeout, bool force, struct zh_error *err);

/*
 * OCI containers (zonehost-runc, docs/architecture.md §24).  vm_start_oci
 * spawns the container's zoneadmd as our child with --oci: its init is
 * made as our child (CLONE_PARENT) and waits at the start gate; *pid gets
 * its host pid.  Our stdio and fds 3..3+preserve_fds-1 become its own;
 * with console_socket the pty master is sent there.  autoboot stays false.
 * vm_oci_start_process opens the gate (CTL_START): returns once the
 * container's process has been exec'd.
 */
struct vm_oci_start {
	const char *console_socket; /* or NULL */
	int preserve_fds;
};
int vm_start_oci(const char *uuid, const struct vm_oci_start *o, pid_t *pid, struct zh_error *err);
int vm_oci_start_process(const char *uuid, struct zh_error *err);
int vm_reboot(const char *uuid, bool force, struct zh_error *err);
int vm_kill(const char *uuid, int sig, struct zh_error *err);

/*
 * Crash recovery (docs/testing.md "Crash consistency").  A create or
 * a receive of a new VM marks its uuid (vmstore_mark_new) before it makes
 * a dataset and unmarks it once the config is saved.  vm_recover_new, with
 * uuid's lock held, removes what a killed one left: the dataset and its
 * snapshots when no config was saved (never an image's), and the mark.
 * vm_sweep_new does that for every mark in pool p whose lock is free, and
 * for every delete mark (<run>/deleting/<uuid>, vm.c) whose lock is free
 * removes the lock file and run directory of a VM that no longer exists
 * (a delete killed after its config went).  It reads the marks only,
 * never every VM or lock file.  Caller holds the host lock.
 */
void vm_recover_new(const struct pool *p, const char *uuid);
void vm_sweep_new(const struct pool *p);

/* vm_stop without the lock and autoboot change: the caller holds the VM lock. */
int vm_stop_locked(const char *uuid, int timeout, bool force, struct zh_error *err);

/*
 * Give vm (a config being created, or a stored one lacking it) a
 * "zonehost_id_base": the lowest multiple of 65536 from 65536*16 that no
 * other VM on this host has, from the host index's id slots (vmstore.h;
 * a slot a killed command took stays taken until the index is rebuilt).
 * Caller holds the host lock.  No-op when set.
 */
int vm_id_base_alloc(json_t *vm, struct zh_error *err);

/*
 * `vmadm validate`: vmcfg_validate() with this host's images, pools and
 * VMs behind the environment callbacks.  Same returns as vmcfg_validate().
 */
int vm_validate(const char *brand, enum vmcfg_action action, const json_t *payload,
		struct vmcfg_report *rep);

/*
 * A config received from another host (vmadm receive), without its derived
 * fields: the receive rules of the property table and this host's checks
 * (conflicts with other VMs, nic tags, the pool), but not that its image is
 * installed here (the stream carries all the data).
 */
int vm_validate_received(const json_t *vm, struct vmcfg_report *rep);

/* A received config's NICs against this host's other VMs (as create checks them). */
int vm_check_received_nics(const json_t *vm, struct zh_error *err);

/*
 * -EPERM, naming them, when a received config sets properties that reach
 * outside the VM (props.h PROPS_F_HOST: host paths, host devices,
 * hypervisor options, anti-spoofing exemptions).
 */
int vm_check_received_host(const json_t *vm, struct zh_error *err);

/*
 * Snapshots (vm-snapshot.c): the read-only subvolume "<uuid>@vmsnap-<name>".
 * Names: 1-64 chars of [a-zA-Z0-9-_.:%] (-EINVAL otherwise); duplicate:
 * -EEXIST `snapshot with name "x" already exists.`; missing: -ENOENT.
 * Rollback stops a running zone, swaps the dataset for a writable clone of
 * the snapshot (the config, beside the dataset, stays), trashes newer snapshots,
 * re-applies the quota and starts the zone again if it was running.
 */
bool vm_snapshot_name_valid(const char *name);
int vm_snapshot_create(const char *uuid, const char *name, struct zh_error *err);
int vm_snapshot_delete(const char *uuid, const char *name, struct zh_error *err);
int vm_snapshot_rollback(const char *uuid, const char *name, struct zh_error *err);

/* [{name, created_at}] newest first, into *out (a new array). */
int vm_snapshot_list(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err);
/* Destroy every "<uuid>@..." snapshot (vm_delete). */
int vm_snapshot_destroy_all(const struct pool *p, const char *uuid, struct zh_error *err);

/*
 * Send/receive (vm-send.c): the VM bundle stream.  vm_send writes the VM
 * (full, or incremental from its snapshot from) to fd out; vm_receive reads
 * one from fd in and creates the VM (or updates it, for an incremental
 * onto the same stopped VM holding the base snapshot), its uuid in
 * uuid_out.  A bad stream leaves nothing behind.  Callers ignore SIGPIPE.
 */
int vm_send(const char *uuid, const char *from, int out, struct zh_error *err);

/* The receive's low-speed rule (vm-send.c): fewer than LIMIT bytes/s over TIME s ends it. */
#define VM_RECEIVE_SPEED_LIMIT 1024
#define VM_RECEIVE_SPEED_TIME  30

struct vm_receive_opts {
	bool allow_host;      /* accept properties that reach outside the VM */
	uint64_t speed_limit; /* bytes/s; 0: no low-speed rule */
	unsigned speed_time;  /* seconds */
};

#define VM_RECEIVE_OPTS_INIT                                                               \
	{                                                                                  \
		.speed_limit = VM_RECEIVE_SPEED_LIMIT, .speed_time = VM_RECEIVE_SPEED_TIME \
	}

int vm_receive(int in, const struct vm_receive_opts *o, char uuid_out[UTIL_UUID_LEN + 1],
	       struct zh_error *err);

#endif

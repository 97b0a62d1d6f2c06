/*
 * paths.h - the on-disk layout: where host state lives and every name
 * zonehost gives a file or directory there.
 *
 * Owns: the mapping from logical locations to file-system paths, and the
 * names inside them.  Nothing else spells an on-disk name: a module that
 * needs one calls the function or uses the constant below.  With
 * ZONEHOST_ROOT=DIR in the environment every location moves under DIR, so
 * test runs and benchmarks never touch each other or the host's own state:
 *
 *     location            default                     with ZONEHOST_ROOT=R
 *     host config         /etc/zonehost               R/etc/zonehost
 *     run directory       /run/zonehost               R/run/zonehost
 *     state (pool files)  /var/lib/zonehost           R/var/lib/zonehost
 *     pool mount point    /<pool name>  (/zones)      R/<pool name>
 *
 * Inside them (owner module in brackets):
 *
 *     <config>/pools/<pool>.json     a pool's record              [pool]
 *     <config>/nictags.json          nic tags                     [net-nictag]
 *     <config>/imgadm-sources.json   image sources                [image-source]
 *     <config>/vnc.json              VNC listen address (HVM)     [vnc]
 *     <state>/<pool>.img             a loop pool's backing file   [pool]
 *     <run>/locks/<name>.lock        the advisory locks (names: lock.h) [lock]
 *     <run>/index/                   the host index: stamp, id slots, nics/ [vmstore-index]
 *     <run>/deleting/<uuid>          mark of a delete at work     [vm]
 *     <run>/<uuid>/                  a VM's run directory         [runstate, ctl]
 *         zoneadmd.lock state.json exit.json control.sock
 *     <mount>/.vmadm/<uuid>.json     a VM's config, beside its dataset [vmstore]
 *     <mount>/.vmadm-new/            .vmadm/ being made by the migration [vmstore]
 *     <mount>/.imgadm/<uuid>.json    an installed image's record  [image]
 *     <mount>/<uuid>/                a VM's or image's dataset:
 *         root/ config/ logs/        (logs: zoneadmd.log console.log) [zoneadmd]
 *         config/vm.json             an older zonehost's config, moved to .vmadm/
 *     <mount>/<uuid>@final           an image's snapshot, what VMs clone [image]
 *     <mount>/<uuid>@vmsnap-<name>   a VM's snapshot              [vm-snapshot]
 *     <mount>/<uuid>@sending         what `vmadm send` sends last [vm-send]
 *     <mount>/<uuid>-rollback        the clone a rollback swaps in [vm-snapshot]
 *     <mount>/<uuid>-recv            a receive onto a VM, before the swap [vm-send]
 *     <mount>/.new/<uuid>            mark of a VM being created   [vmstore]
 *     <mount>/.recv-<tag>/           a receive's inbox; .base-<ds> inside [pool-recv]
 *     <mount>/.trash-<hex>/          the trash                    [pool-trash]
 *     <mount>/.stage-<hex>/          an image download's stage    [pool-stage]
 *
 * Names at a pool's top that start with '.' are never datasets, so marks,
 * inboxes, trash and stages never collide with one.
 *
 *     _cleanup_free_ char *p = paths_vm_config(pool->mountpoint, uuid);
 *
 * docs/architecture.md §13 describes the layout, §15 the locks.
 *
 * Returned const strings are owned by this module and live for the
 * process; every char * is newly allocated (NULL on ENOMEM).
 */
#ifndef ZH_PATHS_H
#define ZH_PATHS_H

#include <stdbool.h>

#include "util.h"

/* ---- the locations ---- */

/* "" when ZONEHOST_ROOT is unset, else the (absolute) root without a trailing slash. */
const char *paths_root(void);
const char *paths_config(void);
const char *paths_run(void);
const char *paths_state(void);

/* "<paths_root()>/<pool_name>". */
char *paths_pool_mount(const char *pool_name);

/* "a/b". */
char *paths_join(const char *a, const char *b);

/* Forget cached values (tests that change ZONEHOST_ROOT in-process). */
void paths_reset(void);

/* ---- host config and state ---- */

#define PATHS_NICTAGS	    "nictags.json"	  /* in paths_config() */
#define PATHS_IMAGE_SOURCES "imgadm-sources.json" /* in paths_config() */
#define PATHS_VNC	    "vnc.json"		  /* in paths_config() */

/* "<config>/pools", the pool records' directory. */
char *paths_pool_records(void);
/* "<config>/pools/<pool>.json". */
char *paths_pool_record(const char *pool);
/* "<state>/<pool>.img", a loop pool's backing file. */
char *paths_pool_image(const char *pool);

/* ---- the run directory ---- */

#define PATHS_LOCK_SUFFIX ".lock"

/* "<run>/locks", the lock files' directory. */
char *paths_locks(void);
/* "<run>/locks/<name>.lock". */
char *paths_lock(const char *name);

/* "<run>/index", the host index (vmstore-index.c). */
#define PATHS_INDEX "index"
char *paths_index(void);
/* "<run>/deleting" and "<run>/deleting/<uuid>", the mark of a delete at work. */
#define PATHS_DELETING "deleting"
char *paths_deleting_marks(void);
char *paths_deleting_mark(const char *uuid);

/* Names in a VM's run directory (zoneadmd's lock, its state, the last run's end, ctl). */
#define PATHS_RUN_LOCK	"zoneadmd.lock"
#define PATHS_RUN_STATE "state.json"
#define PATHS_RUN_EXIT	"exit.json"
#define PATHS_RUN_SOCK	"control.sock"
/* The metadata socket's directory (bound into a zone) and the socket (docs/architecture.md §23). */
#define PATHS_RUN_MDATA_DIR  "zonecontrol"
#define PATHS_RUN_MDATA_SOCK "zonecontrol/metadata.sock"

/* "<run>/<uuid>", a VM's run directory. */
char *paths_vm_run(const char *uuid);
/* "<run>/<uuid>/<name>". */
char *paths_vm_run_file(const char *uuid, const char *name);

/* ---- a pool (mount is the pool's mount point) ---- */

#define PATHS_JSON_SUFFIX  ".json"
#define PATHS_VM_CONFIGS   ".vmadm"
#define PATHS_IMAGE_RECS   ".imgadm"
#define PATHS_NEW_MARKS	   ".new"
#define PATHS_RECV_PREFIX  ".recv-"
#define PATHS_BASE_PREFIX  ".base-" /* inside an inbox: the dataset a stream lands on */
#define PATHS_TRASH_PREFIX ".trash-"
#define PATHS_STAGE_PREFIX ".stage-"

/* "<mount>/.vmadm" and "<mount>/.vmadm-new" (made, then renamed into place). */
char *paths_vm_configs(const char *mount);
char *paths_vm_configs_new(const char *mount);
/* "<mount>/.vmadm/<uuid>.json". */
char *paths_vm_config(const char *mount, const char *uuid);

/* "<mount>/.imgadm" and "<mount>/.imgadm/<uuid>.json". */
char *paths_image_records(const char *mount);
char *paths_image_record(const char *mount, const char *uuid);

/* "<mount>/.new" and "<mount>/.new/<uuid>", the mark of a VM being created. */
char *paths_new_marks(const char *mount);
char *paths_new_mark(const char *mount, const char *uuid);
/* "<mount>/.recv-<tag>", a receive's inbox. */
char *paths_recv_inbox(const char *mount, const char *tag);

/*
 * Snapshots: "<image>@final", what VMs clone; "<uuid>@vmsnap-<name>",
 * `vmadm snapshot`; "<uuid>@sending", the last of a `vmadm send` stream.
 */
#define PATHS_IMAGE_SNAP    "final"
#define PATHS_VMSNAP_PREFIX "vmsnap-"
#define PATHS_SEND_SNAP	    "sending"

/* "<image>@final", the dataset name of an image's snapshot. */
char *paths_image_final(const char *image);
/* "<uuid>@vmsnap-<name>", the dataset name of a VM snapshot. */
char *paths_vmsnap(const char *uuid, const char *name);
/* "<uuid>@sending". */
char *paths_send_snap(const char *uuid);

/*
 * Datasets parked beside a VM's "<uuid>": the clone a rollback swaps in,
 * and an incremental receive onto an existing VM before its swap.
 */
#define PATHS_ROLLBACK_SUFFIX "-rollback"
#define PATHS_RECV_SUFFIX     "-recv"

/* Top-level directories of a VM's dataset. */
#define PATHS_DS_ROOT	"root"
#define PATHS_DS_CONFIG "config"
#define PATHS_DS_LOGS	"logs"
/* In an older zonehost's <dataset>/config/: the VM config, now in .vmadm/. */
#define PATHS_LEGACY_CONFIG "vm.json"
/* In <dataset>/logs/. */
#define PATHS_LOG_ZONEADMD "zoneadmd.log"
#define PATHS_LOG_CONSOLE  "console.log"

/*
 * Is name "<uuid><suffix>" (a config, a record, a lock file)?  The uuid
 * into uuid when it is.
 */
bool paths_uuid_entry(const char *name, const char *suffix, char uuid[UTIL_UUID_LEN + 1]);

/* Does name start with prefix (a mark, an inbox, a trash or stage directory)? */
bool paths_has_prefix(const char *name, const char *prefix);

#endif

/*
 * runstate.h - runtime state of a VM, derived, never guessed (DESIGN.md §3).
 *
 * Owns: <run>/<uuid>/ : zoneadmd.lock (flock held by zoneadmd for its whole
 * life), state.json ({"state","pid","boot_timestamp","zoneadmd_pid"},
 * written atomically by zoneadmd), control.sock, and exit.json (written by
 * zoneadmd as it ends: {"exit_status","exit_timestamp","failed"?}).
 *
 * A VM is running (or stopping/…) exactly while zoneadmd holds the lock;
 * otherwise it is stopped, or "failed" if exit.json says so.
 *
 *     struct runstate rs;
 *     runstate_read(uuid, &rs);          (cheap: one open for a stopped VM)
 *     if (rs.live) ... rs.pid ...
 *     runstate_clear(&rs);
 */
#ifndef ZH_RUNSTATE_H
#define ZH_RUNSTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct runstate {
	bool live;   /* zoneadmd holds the lock */
	char *state; /* running, stopping, ready, stopped, failed */
	pid_t pid;   /* init pid (host view); 0 if none */
	pid_t zoneadmd_pid;
	char *boot_timestamp;
	json_t *exit; /* exit.json contents or NULL */
};

/* "<run>/<uuid>" / "<run>/<uuid>/<name>"; NULL on ENOMEM. */
char *runstate_dir(const char *uuid);
char *runstate_path(const char *uuid, const char *name);

int runstate_read(const char *uuid, struct runstate *rs);
void runstate_clear(struct runstate *rs);

/* Whether a zoneadmd holds the VM's run lock (the zone is up or coming up). */
bool runstate_is_live(const char *uuid);

/* zoneadmd side: take the lock (non-blocking; -EBUSY if another holds it). */
int runstate_lock(const char *uuid, struct zh_error *err);
int runstate_write(const char *uuid, const char *state, pid_t pid, const char *boot_timestamp,
		   struct zh_error *err);
int runstate_write_exit(const char *uuid, int exit_status, const char *failed,
			struct zh_error *err);

/*
 * zoneadmd side, at the very end (or its sentinel after zoneadmd died):
 * remove state.json and control.sock and unlink the lock file while the
 * lock is still held, so readers see "not live" from then on.  Missing
 * files are fine.  exit.json stays (it is what `vmadm get` shows).
 */
void runstate_finish(const char *uuid);

/*
 * Callers that must know zoneadmd is gone (stop, delete): open its lock file
 * while it runs (-ENOENT if none), then wait (at most ms) until no process
 * holds that lock any more: zoneadmd and its sentinel have both ended.
 */
int runstate_open_lock(const char *uuid);
int runstate_wait_released(int fd, int ms);

/* Remove the run directory (delete of the VM). */
int runstate_remove(const char *uuid, struct zh_error *err);

#endif

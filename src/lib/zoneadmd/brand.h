/*
 * brand.h - what differs between the kinds of payload zoneadmd runs
 * (docs/architecture.md §7).  The core (zoneadmd.c) owns the
 * phases, the timer, the clients, the cgroup and the runtime files; a
 * brand owns the payload and what it makes on the host for it.  The OS
 * zone (brand-zone.c) is the first implementation; a hardware VM brand
 * arrives as a second file and a row in brand_find(), not as conditionals.
 *
 *     const struct brand_ops *ops = brand_find(vm, &err);
 *     z->ops = ops;  ...  z->ops->boot(z, &err);
 *
 * Every op gets the zoneadmd state; an op that can fail returns 0 or a
 * negative errno with *err filled (error.h).  Calls the core makes:
 *   prepare      after each load of the config (set-up, reboot, update):
 *                check the payload, set z->halt_sig and z->reboot_sig
 *   console      once at set-up: the console the payload will use
 *   boot         start the payload: fill z->zp (pid, pidfd), run the
 *                network hook (z->net_made), log "booted"
 *   signal       send a signal to the payload (halt, reboot, vmadm kill)
 *   kill         end the payload and everything it left, now
 *   reap         the payload's pidfd is readable: 0 with its exit status
 *                (128+signal when killed) and whether it asked for a
 *                reboot; -EAGAIN when it has not ended
 *   net_update   nics/routes changed (old: the config before) on the
 *                running payload: apply, or put the old network back
 *   net_release  remove the network objects (also called by the sentinel
 *                with no state but the config, so it works by name)
 *   info         (optional) `vmadm info`: the runtime facts of each type
 *                asked for, types already checked against the brand's
 *   sysrq        (optional) `vmadm sysrq`: "nmi" or "screenshot" (*out
 *                gets {"path"} of the picture)
 *   mdata        the payload gets a metadata server (false: none)
 *   mdata_connect (optional) a connected fd of the payload's metadata
 *                serial line (HVM: QEMU's vm.ttyb), or -errno to retry;
 *                without it the core makes a zone's transports (a socket
 *                and a pty, docs/architecture.md §23)
 *   start        (optional) CTL_START: open the start gate of a process
 *                that waits at it (OCI), return once it exec'd
 *   free         (optional) free what the brand keeps in z (at the end)
 * A brand without info or sysrq (the OS zone) answers -ENOTSUP for them;
 * one without start answers CTL_START "already started".
 */
#ifndef ZH_BRAND_H
#define ZH_BRAND_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct zad;

struct brand_ops {
	const char *name;
	int (*prepare)(struct zad *z, struct zh_error *err);
	int (*console)(struct zad *z, struct zh_error *err);
	int (*boot)(struct zad *z, struct zh_error *err);
	int (*signal)(struct zad *z, int sig);
	void (*kill)(struct zad *z);
	int (*reap)(struct zad *z, int *status, bool *reboot);
	int (*net_update)(struct zad *z, const json_t *old, struct zh_error *err);
	void (*net_release)(struct zad *z);
	int (*info)(struct zad *z, const json_t *types, json_t **out, struct zh_error *err);
	int (*sysrq)(struct zad *z, const char *request, json_t **out, struct zh_error *err);
	int (*mdata_connect)(struct zad *z);
	int (*start)(struct zad *z, struct zh_error *err);
	void (*free)(struct zad *z);
	bool mdata; /* the payload gets a metadata server (a test's fake brand: none) */
};

/* OS zones: joyent, joyent-minimal, lx and every brand that is not HVM. */
extern const struct brand_ops brand_zone;

/*
 * docker: true VMs made by vmadm (brand-docker.c): the process from
 * internal_metadata docker:*, stdout/stderr to logs/stdio.log; and OCI
 * containers (brand-oci.c, a VM with oci_bundle): the process from the
 * bundle's config.json, behind the start gate.
 */
extern const struct brand_ops brand_docker;
extern const struct brand_ops brand_oci;

/* Hardware VMs: kvm and bhyve, QEMU in its jail (brand-hvm.c). */
extern const struct brand_ops brand_hvm;

/* The ops for the VM's brand (never NULL today; err for a future refusal). */
const struct brand_ops *brand_find(const json_t *vm, struct zh_error *err);

#endif

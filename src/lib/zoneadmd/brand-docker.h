/*
 * brand-docker.h - what the docker zone (brand-docker.c) and the OCI
 * container (brand-oci.c) brands share (docs/architecture.md §24.3): the
 * payload is ONE process (no init), stopped with SIGTERM then SIGKILL to
 * the cgroup after the docker timeout, never restarted when it ends.
 */
#ifndef ZH_BRAND_DOCKER_H
#define ZH_BRAND_DOCKER_H

#include <stdbool.h>

#include "error.h"
#include "zone.h"

struct zad;

#define DOCKER_STOP_TIMEOUT 10 /* seconds, docker's default */

/* prepare: halt_signal (default SIGTERM), reboot SIGTERM, the docker stop timeout. */
int docker_prepare(struct zad *z, struct zh_error *err);
int docker_signal(struct zad *z, int sig);
/* SIGKILL to the process and to everything in the zone's cgroup. */
void docker_kill(struct zad *z);
/* Its exit status; when CLONE_PARENT made it the caller's child: -1 ("reaped by caller"). */
int docker_reap(struct zad *z, int *status, bool *reboot);
/* zone_spawn() s with the zone's common fields filled (root, ids, cgroup, hostname). */
int docker_spawn(struct zad *z, struct zone_spec *s, struct zh_error *err);

#endif

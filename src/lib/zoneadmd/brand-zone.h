/*
 * brand-zone.h - what the two files of the OS zone brand share
 * (brand-zone.c: the payload; brand-zone-net.c: its network).
 */
#ifndef ZH_BRAND_ZONE_H
#define ZH_BRAND_ZONE_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

struct zad;

/* Before the boot: the old VNICs go, nic tags, the zone's resolv.conf etc. */
void zone_net_prepare(struct zad *z);
/* zone_spawn's before_release: the child's netns exists, init has not run. */
int zone_net_hook(void *ctx, pid_t pid, struct zh_error *err);
int zone_net_update(struct zad *z, const json_t *old, struct zh_error *err);
void zone_net_release(struct zad *z);

#endif

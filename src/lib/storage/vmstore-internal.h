/*
 * vmstore-internal.h - shared by vmstore.c and vmstore-index.c only.
 */
#ifndef ZH_VMSTORE_INTERNAL_H
#define ZH_VMSTORE_INTERNAL_H

#include "error.h"
#include "pool.h"

/*
 * Move an older zonehost's configs (<uuid>/config/vm.json) of pool p to
 * .vmadm/ when .vmadm/ is missing (vmstore.c); it invalidates the host
 * index when it moved any, so never call it with the index lock held.
 */
int vmstore_migrate(const struct pool *p, struct zh_error *err);

#endif

/*
 * vmstore-internal.h - shared by vmstore.c, vmstore-read.c and vmstore-index.c only.
 */
#ifndef ZH_VMSTORE_INTERNAL_H
#define ZH_VMSTORE_INTERNAL_H

#include "error.h"
#include "pool.h"

#include <jansson.h>

#define VMSTORE_CONFIG_MAX (4u << 20)

/*
 * vmstore-read.c.  vmstore_migrate: move an older zonehost's configs
 * (<uuid>/config/vm.json) of pool p to .vmadm/ when .vmadm/ is missing;
 * returns how many it moved (the caller tells the host index:
 * vmstore_index_invalidate(), never with the index lock held).
 * vmstore_read_one: one stored config (-ENOENT if absent).
 * vmstore_read_pool: append pool p's stored configs to arr, no migration.
 */
int vmstore_migrate(const struct pool *p, struct zh_error *err);
int vmstore_read_one(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err);
int vmstore_read_pool(const struct pool *p, json_t *arr, struct zh_error *err);

#endif

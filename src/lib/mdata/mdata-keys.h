/*
 * mdata-keys.h - what a metadata key holds, read from a VM's config, and
 * what a guest's PUT or DELETE asks of `vmadm update` (docs/architecture.md
 * §23).
 *
 * Owns: SmartOS's answer rules: the `sdc:` keys (uuid, hostname, nics,
 * resolvers, routes, tmpfs, operator-script, volumes, tags.<k> and any
 * field by flattening the VM), customer_metadata, the readable
 * internal_metadata (`*_pw` keys and the prefixes listed in
 * internal_metadata_namespaces), KEYS, and the namespace guards of PUT and
 * DELETE.  Does not own the VM: vm is the object `vmadm get` prints (so
 * derived fields such as server_uuid are there), and the update payload is
 * applied by the caller through the path `vmadm update` takes.  Pure.
 *
 *     struct mdata_answer a = {0};
 *     mdata_keys_get(vm, "sdc:hostname", &a);            SUCCESS "web0"
 *     json_t *upd = NULL;
 *     mdata_keys_put(vm, "foo", "bar", 3, &upd, &a);
 *             upd = {"set_customer_metadata":{"foo":"bar"}}, a = SUCCESS "OK"
 */
#ifndef ZH_MDATA_KEYS_H
#define ZH_MDATA_KEYS_H

#include <jansson.h>
#include <stddef.h>

#include "mdata-wire.h"

/*
 * Answer GET key: SUCCESS with the value (strings as they are, numbers and
 * booleans as text, the JSON of nics/resolvers/routes/tmpfs), NOTFOUND
 * when absent, FAILURE for an object or array.  0 or -ENOMEM.
 */
int mdata_keys_get(const json_t *vm, const char *key, struct mdata_answer *a);

/* Answer KEYS: the guest-visible keys, one per line (SUCCESS, maybe empty).  0 or -ENOMEM. */
int mdata_keys_list(const json_t *vm, struct mdata_answer *a);

/*
 * PUT key=val (len bytes; empty removes the key).  Allowed: *update is the
 * `vmadm update` payload (set_ or remove_ of customer_metadata, or of
 * internal_metadata for `*_pw` and operator-script) and a is SUCCESS "OK";
 * the caller applies it and answers FAILURE with its error if that fails.
 * Refused (the sdc or an internal namespace, a value that is not UTF-8):
 * *update is NULL and a is FAILURE with SmartOS's message.  0 or -ENOMEM.
 */
int mdata_keys_put(const json_t *vm, const char *key, const char *val, size_t len, json_t **update,
		   struct mdata_answer *a);

/* DELETE key: as mdata_keys_put with an empty value (an absent key succeeds). */
int mdata_keys_delete(const json_t *vm, const char *key, json_t **update, struct mdata_answer *a);

#endif

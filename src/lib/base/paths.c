/*
 * paths.c - the on-disk layout: host state locations, honouring
 * ZONEHOST_ROOT, and the names inside them.  See paths.h (the table).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "paths.h"
#include "util.h"

static char *root_s, *config_s, *run_s, *state_s;

static const char *cached(char **slot, const char *suffix)
{
	if (!*slot && asprintf(slot, "%s%s", paths_root(), suffix) < 0)
		*slot = NULL;
	return *slot ? *slot : suffix;
}

const char *paths_root(void)
{
	if (!root_s) {
		const char *r = getenv("ZONEHOST_ROOT");
		size_t n;

		root_s = strdup(r ? r : "");
		if (!root_s)
			return "";
		n = strlen(root_s);
		while (n > 0 && root_s[n - 1] == '/')
			root_s[--n] = '\0';
	}
	return root_s;
}

const char *paths_config(void)
{
	return cached(&config_s, "/etc/zonehost");
}

const char *paths_run(void)
{
	return cached(&run_s, "/run/zonehost");
}

const char *paths_state(void)
{
	return cached(&state_s, "/var/lib/zonehost");
}

char *paths_pool_mount(const char *pool_name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", paths_root(), pool_name) < 0)
		return NULL;
	return p;
}

char *paths_join(const char *a, const char *b)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

void paths_reset(void)
{
	freep(&root_s);
	freep(&config_s);
	freep(&run_s);
	freep(&state_s);
}

/* A newly allocated path from fmt; NULL on ENOMEM. */
__attribute__((format(printf, 1, 2))) static char *fmt(const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : p;
}

/* ---- host config and state ---- */

char *paths_pool_records(void)
{
	return fmt("%s/pools", paths_config());
}

char *paths_pool_record(const char *pool)
{
	return fmt("%s/pools/%s" PATHS_JSON_SUFFIX, paths_config(), pool);
}

char *paths_pool_image(const char *pool)
{
	return fmt("%s/%s.img", paths_state(), pool);
}

/* ---- the run directory ---- */

char *paths_locks(void)
{
	return fmt("%s/locks", paths_run());
}

char *paths_lock(const char *name)
{
	return fmt("%s/locks/%s" PATHS_LOCK_SUFFIX, paths_run(), name);
}

char *paths_index(void)
{
	return fmt("%s/" PATHS_INDEX, paths_run());
}

char *paths_deleting_marks(void)
{
	return fmt("%s/" PATHS_DELETING, paths_run());
}

char *paths_deleting_mark(const char *uuid)
{
	return fmt("%s/" PATHS_DELETING "/%s", paths_run(), uuid);
}

char *paths_vm_run(const char *uuid)
{
	return fmt("%s/%s", paths_run(), uuid);
}

char *paths_vm_run_file(const char *uuid, const char *name)
{
	return fmt("%s/%s/%s", paths_run(), uuid, name);
}

/* ---- a pool ---- */

char *paths_vm_configs(const char *mount)
{
	return fmt("%s/" PATHS_VM_CONFIGS, mount);
}

char *paths_vm_configs_new(const char *mount)
{
	return fmt("%s/" PATHS_VM_CONFIGS "-new", mount);
}

char *paths_vm_config(const char *mount, const char *uuid)
{
	return fmt("%s/" PATHS_VM_CONFIGS "/%s" PATHS_JSON_SUFFIX, mount, uuid);
}

char *paths_image_records(const char *mount)
{
	return fmt("%s/" PATHS_IMAGE_RECS, mount);
}

char *paths_image_record(const char *mount, const char *uuid)
{
	return fmt("%s/" PATHS_IMAGE_RECS "/%s" PATHS_JSON_SUFFIX, mount, uuid);
}

char *paths_new_marks(const char *mount)
{
	return fmt("%s/" PATHS_NEW_MARKS, mount);
}

char *paths_new_mark(const char *mount, const char *uuid)
{
	return fmt("%s/" PATHS_NEW_MARKS "/%s", mount, uuid);
}

char *paths_recv_inbox(const char *mount, const char *tag)
{
	return fmt("%s/" PATHS_RECV_PREFIX "%s", mount, tag);
}

char *paths_image_final(const char *image)
{
	return fmt("%s@" PATHS_IMAGE_SNAP, image);
}

char *paths_vmsnap(const char *uuid, const char *name)
{
	return fmt("%s@" PATHS_VMSNAP_PREFIX "%s", uuid, name);
}

char *paths_send_snap(const char *uuid)
{
	return fmt("%s@" PATHS_SEND_SNAP, uuid);
}

bool paths_uuid_entry(const char *name, const char *suffix, char uuid[UTIL_UUID_LEN + 1])
{
	size_t n = strlen(suffix);

	if (strlen(name) != UTIL_UUID_LEN + n || !streq(name + UTIL_UUID_LEN, suffix))
		return false;
	memcpy(uuid, name, UTIL_UUID_LEN);
	uuid[UTIL_UUID_LEN] = '\0';
	return util_is_uuid(uuid);
}

bool paths_has_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

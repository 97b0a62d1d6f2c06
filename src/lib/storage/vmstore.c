/*
 * vmstore.c - the stored configs of this host's VMs.  See vmstore.h.
 *
 * Design: a VM exists iff <pool mount>/.vmadm/<uuid>.json exists, its
 * config (the only truth about it, DESIGN.md §3).  The config lives beside
 * the VM's dataset, not in it: outside the dataset's quota, so a tenant who
 * fills the quota never blocks the operator's changes, and out of the
 * tenant's data (a received stream, a rollback, a snapshot never carry or
 * replace it; `vmadm send` carries it in the stream's JSON chunk).  A pool
 * written by an older zonehost keeps it in <uuid>/config/vm.json: the
 * first read of a pool without .vmadm/ moves every such config out (read
 * by file descriptor, links never followed).  Listing reads .vmadm/ and
 * each config once: no subprocess, no btrfs ioctl, so `vmadm list` stays
 * linear and cheap.  This module knows stored configs only; the derived
 * fields of `vmadm get` are added one layer up (vm/vm-view.c) and stripped
 * again by vmstore_save(), so they are never stored.
 *
 * Lock order: callers that write hold lock_vm(uuid); reads take no lock
 * (the config is replaced atomically, so a reader sees old or new).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "util.h"
#include "vmstore-internal.h"
#include "vmstore.h"

#define VMSTORE_CONFIG_MAX (4u << 20)
#define CONFIG_DIR	   ".vmadm"

/* Fields derived at read time: never stored. */
static const char *const derived_fields[] = {
	"state",	 "zone_state",
	"zonepath",	 "zfs_filesystem",
	"server_uuid",	 "platform_buildstamp",
	"last_modified", "snapshots",
	"pid",		 "boot_timestamp",
	"zoneid",	 "zonedid",
	"hvm",		 "type",
	"transition_to", "transition_expire",
	"exit_status",	 "exit_timestamp",
	"failed_reason", NULL,
};

char *vmstore_config_path(const struct pool *p, const char *uuid)
{
	char *s = NULL;

	if (asprintf(&s, "%s/" CONFIG_DIR "/%s.json", p->mountpoint, uuid) < 0)
		return NULL;
	return s;
}

/* ---- configs of an older zonehost, <uuid>/config/vm.json, moved out ---- */

/* The legacy config of dataset uuid, read by fd without following links. */
static int legacy_read(const struct pool *p, const char *uuid, char **buf, size_t *len)
{
	struct zh_error e = ZH_ERROR_INIT;
	_cleanup_close_ int ds = pool_dataset_open(p, uuid, &e), cfg = -EBADF, fd = -EBADF;
	struct stat st;

	zh_error_clear(&e);
	if (ds < 0)
		return ds;
	cfg = openat(ds, "config", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	fd = cfg < 0 ? -EBADF
		     : openat(cfg, "vm.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > VMSTORE_CONFIG_MAX)
		return -EINVAL;
	if (!(*buf = calloc(1, (size_t)st.st_size + 1)))
		return -ENOMEM;
	*len = (size_t)st.st_size;
	return fsutil_read_full(fd, *buf, *len) == (ssize_t)*len ? 0 : -EIO;
}

/* Write the legacy config of uuid (if any) into dir, made on first use; 1 if moved. */
static int legacy_move(const struct pool *p, const char *dir, const char *uuid)
{
	_cleanup_free_ char *buf = NULL, *path = NULL;
	struct zh_error e = ZH_ERROR_INIT;
	size_t len = 0;
	int r;

	if (legacy_read(p, uuid, &buf, &len) < 0)
		return 0;
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    asprintf(&path, "%s/%s.json", dir, uuid) < 0)
		return -errno;
	r = fsutil_write_atomic(path, buf, len, 0644, &e);
	zh_error_clear(&e);
	return r < 0 ? r : 1;
}

/*
 * A pool without .vmadm/ may hold an older zonehost's VMs: move their
 * configs there, through a new directory renamed into place when complete
 * (.vmadm/ marks the pool done; a pool with no VM gets it at its first).
 */
int vmstore_migrate(const struct pool *p, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(p->mountpoint, CONFIG_DIR);
	_cleanup_free_ char *tmp = paths_join(p->mountpoint, CONFIG_DIR "-new");
	_cleanup_strv_ char **names = NULL;
	struct zh_error e = ZH_ERROR_INIT;
	struct stat st;
	int r, moved = 0;

	if (!dir || !tmp)
		return zh_error_oom(err);
	if (lstat(dir, &st) == 0)
		return 0;
	if ((r = pool_dataset_list(p, &names, err)) < 0)
		return r;
	for (char **n = names; *n; n++)
		if (util_is_uuid(*n) && (r = legacy_move(p, tmp, *n)) != 0) {
			if (r < 0)
				return zh_error_set(err, -r, NULL,
						    "cannot move VM %s's config to %s: %s", *n, dir,
						    strerror(-r));
			moved++;
		}
	if (moved && rename(tmp, dir) < 0) /* another process was first: its copy stands */
		fsutil_rm_rf(tmp, &e);
	zh_error_clear(&e);
	if (moved) /* configs the host index has not seen */
		vmstore_index_invalidate();
	fsutil_fsync_parent(dir);
	return 0;
}

/* ---- load ---- */

static int load_one(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return zh_error_oom(err);
	r = fsutil_read_all(path, VMSTORE_CONFIG_MAX, &buf, &len, err);
	if (r < 0)
		return r;
	r = jsonutil_parse(buf, len, path, out, err);
	if (r < 0)
		return r;
	if (!json_is_string(json_object_get(*out, "uuid")) &&
	    json_object_set_new(*out, "uuid", json_string(uuid)) < 0)
		return zh_error_oom(err);
	return 0;
}

bool vmstore_has_config(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);

	return path && access(path, F_OK) == 0;
}

/* "<uuid>.json" of a config: the uuid in out. */
static bool config_name(const char *name, char out[UTIL_UUID_LEN + 1])
{
	if (strlen(name) != UTIL_UUID_LEN + 5 || !streq(name + UTIL_UUID_LEN, ".json"))
		return false;
	memcpy(out, name, UTIL_UUID_LEN);
	out[UTIL_UUID_LEN] = '\0';
	return util_is_uuid(out);
}

static int load_pool(const struct pool *p, json_t *arr, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(p->mountpoint, CONFIG_DIR);
	char uuid[UTIL_UUID_LEN + 1];
	struct dirent *de;
	int r = dir ? vmstore_migrate(p, err) : zh_error_oom(err);
	DIR *d;

	if (r < 0)
		return r;
	if (!(d = opendir(dir)))
		return errno == ENOENT
			       ? 0 /* no VM yet */
			       : zh_error_set(err, errno, p->name, "cannot read pool %s: %s",
					      p->name, strerror(errno));
	while ((de = readdir(d))) {
		json_t *vm = NULL;

		if (!config_name(de->d_name, uuid))
			continue;
		r = load_one(p, uuid, &vm, err);
		if (r == -ENOENT) { /* an image, or a VM being deleted */
			zh_error_clear(err);
			r = 0;
			continue;
		}
		if (r == 0 && json_array_append_new(arr, vm) < 0)
			r = zh_error_oom(err);
		else if (r < 0)
			json_decref(vm);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int vmstore_load_pool(const struct pool *p, json_t **out, struct zh_error *err)
{
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return zh_error_oom(err);
	r = load_pool(p, arr, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(arr);
	return 0;
}

static int no_such_vm(const char *uuid, struct zh_error *err)
{
	return zh_error_set(err, ENOENT, "uuid", "zoneadm: %s: No such zone configured", uuid);
}

int vmstore_find_pool(const char *uuid, struct pool **pool_out, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r;

	r = pool_list(&names, err);
	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_pool_ struct pool *p = NULL;

		r = pool_open(*n, &p, err);
		if (r < 0 || (r = vmstore_migrate(p, err)) < 0)
			return r;
		if (!vmstore_has_config(p, uuid))
			continue;
		*pool_out = TAKE_PTR(p);
		return 0;
	}
	return no_such_vm(uuid, err);
}

int vmstore_load(const struct pool *p, const char *uuid, json_t **vm_out, struct zh_error *err)
{
	int r = load_one(p, uuid, vm_out, err);

	if (r == -ENOENT) { /* deleted meanwhile */
		zh_error_clear(err);
		return no_such_vm(uuid, err);
	}
	return r;
}

int vmstore_find_stored(const char *uuid, struct pool **pool_out, json_t **vm_out,
			struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	int r = vmstore_find_pool(uuid, &p, err);

	if (r < 0 || (r = vmstore_load(p, uuid, vm_out, err)) < 0)
		return r;
	*pool_out = TAKE_PTR(p);
	return 0;
}

/* ---- save ---- */

void vmstore_strip_derived(json_t *vm)
{
	for (const char *const *f = derived_fields; *f; f++)
		json_object_del(vm, *f);
}

/*
 * The host index learns the config before it is written (so it never
 * lacks a slot or NIC key that a config holds); if it cannot, it is
 * invalidated after the write, so the next use rescans.
 */
static int save_indexed(const char *path, const json_t *vm, struct zh_error *err)
{
	struct zh_error e = ZH_ERROR_INIT;
	int ix = vmstore_index_add(vm, &e), r;

	zh_error_clear(&e);
	r = jsonutil_store_file(path, vm, err);
	if (ix < 0)
		vmstore_index_invalidate();
	return r;
}

int vmstore_save(const struct pool *p, const json_t *vm, struct zh_error *err)
{
	_cleanup_json_ json_t *copy = json_deep_copy(vm);
	_cleanup_free_ char *path = NULL, *dir = NULL;
	const char *uuid = jsonutil_str(vm, "uuid");

	if (!uuid)
		return zh_error_set(err, EINVAL, "uuid", "VM config has no uuid");
	if (!copy || !(path = vmstore_config_path(p, uuid)) ||
	    !(dir = paths_join(p->mountpoint, CONFIG_DIR)))
		return zh_error_oom(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
	vmstore_strip_derived(copy);
	return save_indexed(path, copy, err);
}

int vmstore_remove(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);

	if (!path)
		return zh_error_oom(err);
	if (unlink(path) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot remove %s: %m", path);
	fsutil_fsync_parent(path);
	return 0;
}

/* ---- the marks of VMs being made ---- */

#define MARK_DIR ".new" /* at the pool's top: '.' names are never datasets */

static char *mark_path(const struct pool *p, const char *uuid)
{
	char *path = NULL;

	if (asprintf(&path, "%s/" MARK_DIR "/%s", p->mountpoint, uuid) < 0)
		return NULL;
	return path;
}

int vmstore_mark_new(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = mark_path(p, uuid);
	_cleanup_free_ char *dir = paths_join(p->mountpoint, MARK_DIR);
	_cleanup_close_ int fd = -EBADF;

	if (!path || !dir)
		return zh_error_oom(err);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s: %m", path);
	/* No fsync: the snapshot or subvolume made next commits the pool's
	 * transaction, and the mark with it. */
	return 0;
}

void vmstore_unmark_new(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *path = mark_path(p, uuid);

	if (path) /* a mark that outlives a power cut, config saved, is only dropped */
		unlink(path);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

int vmstore_marked_new(const struct pool *p, char ***out, struct zh_error *err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	_cleanup_free_ char *dir = paths_join(p->mountpoint, MARK_DIR);
	size_t n = 0;
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (!v || !dir)
		return zh_error_oom(err);
	d = opendir(dir); /* only the marks: O(VMs being made), not O(VMs) */
	while (d && r == 0 && (de = readdir(d)))
		if (util_is_uuid(de->d_name))
			r = strv_push(&v, &n, de->d_name);
	if (d)
		closedir(d);
	if (r < 0)
		return zh_error_oom(err);
	*out = TAKE_PTR(v);
	return 0;
}

/*
 * vmstore-read.c - reading stored configs, and moving an older
 * zonehost's into place.  See vmstore.h and vmstore-internal.h.
 *
 * Design: the bottom of the vmstore module, below the host index
 * (vmstore-index.c, which rebuilds itself from what this reads) and
 * vmstore.c (which also writes).  A VM exists iff <pool
 * mount>/.vmadm/<uuid>.json exists.  A pool written by an older zonehost
 * keeps it in <uuid>/config/vm.json: vmstore_migrate() moves every such
 * config out (read by file descriptor, links never followed), through
 * .vmadm-new/ renamed into place when complete.  Reads take no lock (a
 * config is replaced atomically, so a reader sees old or new).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "paths.h"
#include "util.h"
#include "vmcfg-access.h"
#include "vmstore-internal.h"
#include "vmstore.h"

char *vmstore_config_path(const struct pool *p, const char *uuid)
{
	return paths_vm_config(p->mountpoint, uuid);
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
	cfg = openat(ds, PATHS_DS_CONFIG, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	fd = cfg < 0 ? -EBADF
		     : openat(cfg, PATHS_LEGACY_CONFIG,
			      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
	    asprintf(&path, "%s/%s" PATHS_JSON_SUFFIX, dir, uuid) < 0)
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
	_cleanup_free_ char *dir = paths_vm_configs(p->mountpoint);
	_cleanup_free_ char *tmp = paths_vm_configs_new(p->mountpoint);
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
	fsutil_fsync_parent(dir);
	return moved;
}

/* ---- load ---- */

int vmstore_read_one(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err)
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
	if (!vmcfg_uuid(*out) && json_object_set_new(*out, VMCFG_UUID, json_string(uuid)) < 0)
		return zh_error_oom(err);
	return 0;
}

bool vmstore_has_config(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);

	return path && access(path, F_OK) == 0;
}

int vmstore_read_pool(const struct pool *p, json_t *arr, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_vm_configs(p->mountpoint);
	char uuid[UTIL_UUID_LEN + 1];
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (!dir)
		return zh_error_oom(err);
	if (!(d = opendir(dir)))
		return errno == ENOENT
			       ? 0 /* no VM yet */
			       : zh_error_set(err, errno, p->name, "cannot read pool %s: %s",
					      p->name, strerror(errno));
	while ((de = readdir(d))) {
		json_t *vm = NULL;

		if (!paths_uuid_entry(de->d_name, PATHS_JSON_SUFFIX, uuid))
			continue;
		r = vmstore_read_one(p, uuid, &vm, err);
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

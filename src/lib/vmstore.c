/*
 * vmstore.c - the VMs of this host, read from their own datasets.
 * See vmstore.h.
 *
 * Design: a VM exists iff <pool mount>/.vmadm/<uuid>.json exists, its
 * config (the only truth about it, docs/architecture.md §14).  The config lives beside
 * the VM's dataset, not in it: outside the dataset's quota, so a tenant who
 * fills the quota never blocks the operator's changes, and out of the
 * tenant's data (a received stream, a rollback, a snapshot never carry or
 * replace it; `vmadm send` carries it in the stream's JSON chunk).  A pool
 * written by an older zonehost keeps it in <uuid>/config/vm.json: the
 * first read of a pool without .vmadm/ moves every such config out (read
 * by file descriptor, links never followed).  Listing reads .vmadm/ and
 * each config once: no subprocess, no btrfs ioctl, so `vmadm list` stays
 * linear and cheap.  The derived fields of `vmadm get` are added by
 * vmstore_decorate() and stripped again by vmstore_save(), so they are
 * never stored.
 *
 * Runtime state comes from vm_runtime_state() alone, which asks runstate:
 * zoneadmd's lock under <paths_run()>/<uuid>/ decides "running" there and
 * only there (one failed open() for a VM that never ran).
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
#include "runstate.h"
#include "util.h"
#include "vm.h"
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
static int migrate(const struct pool *p, struct zh_error *err)
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
	fsutil_fsync_parent(dir);
	return 0;
}

/* ---- host facts, read once per process ---- */

static void uuid_from_hex(const char *hex, char out[UTIL_UUID_LEN + 1])
{
	size_t j = 0;

	for (size_t i = 0; i < 32 && hex[i]; i++) {
		if (j == 8 || j == 13 || j == 18 || j == 23)
			out[j++] = '-';
		out[j++] = hex[i];
	}
	out[j] = '\0';
}

static bool read_line(const char *path, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f || !fgets(buf, (int)len, f))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* DMI product UUID when readable, else /etc/machine-id shaped as a UUID. */
static const char *server_uuid(void)
{
	static char cached[UTIL_UUID_LEN + 1];
	char buf[64];

	if (cached[0])
		return cached;
	if (read_line("/sys/class/dmi/id/product_uuid", buf, sizeof(buf)) &&
	    util_is_uuid_shape(buf)) {
		for (size_t i = 0; i < UTIL_UUID_LEN; i++)
			cached[i] = (char)((buf[i] >= 'A' && buf[i] <= 'F') ? buf[i] + 32 : buf[i]);
		cached[UTIL_UUID_LEN] = '\0';
	} else if (read_line("/etc/machine-id", buf, sizeof(buf)) && strlen(buf) >= 32) {
		uuid_from_hex(buf, cached);
	} else {
		snprintf(cached, sizeof(cached), "00000000-0000-0000-0000-000000000000");
	}
	return cached;
}

/* SmartOS-style "YYYYMMDDTHHMMSSZ" stamp of the installed binary (its mtime). */
static const char *platform_buildstamp(void)
{
	static char cached[32];
	struct stat st;
	struct tm tm;

	if (cached[0])
		return cached;
	if (stat("/proc/self/exe", &st) < 0 || !gmtime_r(&st.st_mtime, &tm) ||
	    strftime(cached, sizeof(cached), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(cached, sizeof(cached), "%s", "00000000T000000Z");
	return cached;
}

/* ---- runtime state: the one place that knows whether a VM runs ---- */

static const char *zone_state_of(const char *state)
{
	if (streq(state, "running"))
		return "running";
	if (streq(state, "stopping"))
		return "shutting_down";
	if (streq(state, "ready"))
		return "ready";
	return "installed";
}

static int set_int(json_t *vm, const char *key, json_int_t v)
{
	return json_object_set_new(vm, key, json_integer(v)) < 0 ? -ENOMEM : 0;
}

static int set_str(json_t *vm, const char *key, const char *val);

/* Copy exit.json's fields (the last run) into a VM that is not live. */
static int runtime_exit(json_t *vm, const json_t *ex)
{
	const char *ts = jsonutil_str(ex, "exit_timestamp");
	const char *failed = jsonutil_str(ex, "failed");
	json_t *st = json_object_get(ex, "exit_status");

	if (json_is_integer(st) && set_int(vm, "exit_status", json_integer_value(st)) < 0)
		return -ENOMEM;
	if (ts && set_str(vm, "exit_timestamp", ts) < 0)
		return -ENOMEM;
	if (failed && set_str(vm, "failed_reason", failed) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * state, zone_state and the runtime fields, from runstate (zoneadmd's
 * lock under <run>/<uuid>/): pid and boot_timestamp while live,
 * exit_status, exit_timestamp and failed_reason from exit.json when not.
 */
static int vm_runtime_state(const char *uuid, json_t *vm)
{
	struct runstate rs;
	int r = runstate_read(uuid, &rs);

	if (r < 0)
		return r;
	if (set_str(vm, "state", rs.state) < 0 ||
	    set_str(vm, "zone_state", zone_state_of(rs.state)) < 0)
		r = -ENOMEM;
	else if (rs.live && rs.pid > 0 && set_int(vm, "pid", rs.pid) < 0)
		r = -ENOMEM;
	else if (rs.live && rs.boot_timestamp &&
		 set_str(vm, "boot_timestamp", rs.boot_timestamp) < 0)
		r = -ENOMEM;
	else if (!rs.live && rs.exit)
		r = runtime_exit(vm, rs.exit);
	runstate_clear(&rs);
	return r;
}

/* ---- decorate ---- */

static int set_str(json_t *vm, const char *key, const char *val)
{
	return json_object_set_new(vm, key, json_string(val)) < 0 ? -ENOMEM : 0;
}

static bool brand_is_hvm(const char *brand)
{
	return brand && (streq(brand, "kvm") || streq(brand, "bhyve"));
}

static int decorate_paths(const struct pool *p, json_t *vm, const char *uuid)
{
	_cleanup_free_ char *zp = NULL, *fs = NULL;

	if (asprintf(&zp, "%s/%s", p->mountpoint, uuid) < 0 ||
	    asprintf(&fs, "%s/%s", p->name, uuid) < 0)
		return -ENOMEM;
	if (set_str(vm, "zonepath", zp) < 0 || set_str(vm, "zfs_filesystem", fs) < 0 ||
	    set_str(vm, "zpool", p->name) < 0)
		return -ENOMEM;
	if (!json_object_get(vm, "zonename") && set_str(vm, "zonename", uuid) < 0)
		return -ENOMEM;
	return 0;
}

/* Whether a command holds uuid's lock (an inbox whose receive was killed is debris). */
static bool receive_at_work(const char *uuid)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	int l = lock_try(uuid, &ignored);

	zh_error_clear(&ignored);
	if (l >= 0)
		close(l);
	return l == -EWOULDBLOCK;
}

/* A stopped VM with a receive in progress (vm-send.c's "<pool>/.recv-<uuid>"): "receiving". */
static int decorate_receiving(const struct pool *p, json_t *vm, const char *uuid)
{
	const char *state = jsonutil_str(vm, "state");
	_cleanup_free_ char *tmp = NULL;

	if (!state || !streq(state, "stopped"))
		return 0;
	if (asprintf(&tmp, "%s/.recv-%s", p->mountpoint, uuid) < 0)
		return -ENOMEM;
	if (!fsutil_is_dir(tmp) || !receive_at_work(uuid))
		return 0;
	if (set_str(vm, "state", "receiving") < 0 || set_str(vm, "zone_state", "installed") < 0)
		return -ENOMEM;
	return 0;
}

static int decorate_mtime(const struct pool *p, json_t *vm, const char *uuid)
{
	_cleanup_free_ char *path = vmstore_config_path(p, uuid);
	char ts[UTIL_TIMESTAMP_LEN + 1];
	struct stat st;

	if (!path)
		return -ENOMEM;
	if (stat(path, &st) < 0)
		return 0;
	util_timestamp_from(ts, (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
	return set_str(vm, "last_modified", ts);
}

int vmstore_decorate(const struct pool *p, json_t *vm, struct zh_error *err)
{
	const char *uuid = jsonutil_str(vm, "uuid");

	if (!uuid)
		return zh_error_set(err, EINVAL, "uuid", "VM config has no uuid");
	if (vm_runtime_state(uuid, vm) < 0 || decorate_receiving(p, vm, uuid) < 0 ||
	    decorate_paths(p, vm, uuid) < 0 || set_str(vm, "server_uuid", server_uuid()) < 0 ||
	    set_str(vm, "platform_buildstamp", platform_buildstamp()) < 0 ||
	    decorate_mtime(p, vm, uuid) < 0 ||
	    json_object_set_new(vm, "hvm", json_boolean(brand_is_hvm(jsonutil_str(vm, "brand")))) <
		    0 ||
	    json_object_set_new(vm, "snapshots", json_array()) < 0)
		return zh_error_oom(err);
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

static int load_pool(const struct pool *p, bool decorate, json_t *arr, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(p->mountpoint, CONFIG_DIR);
	char uuid[UTIL_UUID_LEN + 1];
	struct dirent *de;
	int r = dir ? migrate(p, err) : zh_error_oom(err);
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
		if (r == 0 && decorate)
			r = vmstore_decorate(p, vm, err);
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
	r = load_pool(p, false, arr, err);
	if (r < 0)
		return r;
	*out = TAKE_PTR(arr);
	return 0;
}

int vmstore_load_all(json_t **out, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_json_ json_t *arr = json_array();
	int r;

	if (!arr)
		return zh_error_oom(err);
	r = pool_list(&names, err);
	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_pool_ struct pool *p = NULL;

		r = pool_open(*n, &p, err);
		if (r < 0)
			return r;
		r = load_pool(p, true, arr, err);
		if (r < 0)
			return r;
	}
	*out = TAKE_PTR(arr);
	return 0;
}

static int find_stored(const char *uuid, struct pool **pool_out, json_t **vm_out,
		       struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r;

	r = pool_list(&names, err);
	if (r < 0)
		return r;
	for (char **n = names; *n; n++) {
		_cleanup_pool_ struct pool *p = NULL;

		r = pool_open(*n, &p, err);
		if (r < 0 || (r = migrate(p, err)) < 0)
			return r;
		if (!vmstore_has_config(p, uuid))
			continue;
		r = load_one(p, uuid, vm_out, err);
		if (r < 0)
			return r;
		*pool_out = TAKE_PTR(p);
		return 0;
	}
	return zh_error_set(err, ENOENT, "uuid", "zoneadm: %s: No such zone configured", uuid);
}

/* Only for one VM (get): listing snapshots reads the pool's top directory. */
static int decorate_snapshots(const struct pool *p, json_t *vm, const char *uuid,
			      struct zh_error *err)
{
	json_t *snaps = NULL;
	int r = vm_snapshot_list(p, uuid, &snaps, err);

	if (r < 0)
		return r;
	return json_object_set_new(vm, "snapshots", snaps) < 0 ? zh_error_oom(err) : 0;
}

int vmstore_find(const char *uuid, struct pool **pool_out, json_t **vm_out, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r;

	r = find_stored(uuid, &p, &vm, err);
	if (r < 0)
		return r;
	r = vmstore_decorate(p, vm, err);
	if (r < 0 || (r = decorate_snapshots(p, vm, uuid, err)) < 0)
		return r;
	*pool_out = TAKE_PTR(p);
	*vm_out = TAKE_PTR(vm);
	return 0;
}

/* ---- save ---- */

void vmstore_strip_derived(json_t *vm)
{
	for (const char *const *f = derived_fields; *f; f++)
		json_object_del(vm, *f);
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
	return jsonutil_store_file(path, copy, err);
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

#define MARK_PREFIX ".new-" /* at the pool's top: '.' names are never datasets */

static char *mark_path(const struct pool *p, const char *uuid)
{
	char *path = NULL;

	if (asprintf(&path, "%s/" MARK_PREFIX "%s", p->mountpoint, uuid) < 0)
		return NULL;
	return path;
}

int vmstore_mark_new(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *path = mark_path(p, uuid);
	_cleanup_close_ int fd = -EBADF;

	if (!path)
		return zh_error_oom(err);
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
	size_t n = 0, pl = strlen(MARK_PREFIX);
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (!v)
		return zh_error_oom(err);
	d = opendir(p->mountpoint);
	while (d && r == 0 && (de = readdir(d)))
		if (strncmp(de->d_name, MARK_PREFIX, pl) == 0 && util_is_uuid(de->d_name + pl))
			r = strv_push(&v, &n, de->d_name + pl);
	if (d)
		closedir(d);
	if (r < 0)
		return zh_error_oom(err);
	*out = TAKE_PTR(v);
	return 0;
}

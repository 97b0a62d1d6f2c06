/*
 * vm-view.c - a VM as `vmadm get` and `vmadm list` show it: its stored
 * config (vmstore.c) plus the derived read-only fields.  See vm-view.h.
 *
 * Runtime state comes from vm_runtime_state() alone, which asks runstate:
 * zoneadmd's lock under <paths_run()>/<uuid>/ decides "running" there and
 * only there (one failed open() for a VM that never ran).  Snapshots are
 * listed only for one VM (vmview_find), never for a listing.
 *
 * Reads take no lock (a config is replaced atomically).
 */
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
#include "vm-view.h"
#include "vm.h"
#include "vmstore.h"

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

int vmview_decorate(const struct pool *p, json_t *vm, struct zh_error *err)
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

/* Decorate every VM of arr (stored configs of pool p), in place. */
static int decorate_all(const struct pool *p, json_t *arr, struct zh_error *err)
{
	size_t i;
	json_t *vm;

	json_array_foreach (arr, i, vm) {
		int r = vmview_decorate(p, vm, err);

		if (r < 0)
			return r;
	}
	return 0;
}

int vmview_load_all(json_t **out, struct zh_error *err)
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
		_cleanup_json_ json_t *vms = NULL;

		r = vmstore_load_pool(p, &vms, err);
		if (r < 0 || (r = decorate_all(p, vms, err)) < 0)
			return r;
		if (json_array_extend(arr, vms) < 0)
			return zh_error_oom(err);
	}
	*out = TAKE_PTR(arr);
	return 0;
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

int vmview_find(const char *uuid, struct pool **pool_out, json_t **vm_out, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r;

	r = vmstore_find_stored(uuid, &p, &vm, err);
	if (r < 0)
		return r;
	r = vmview_decorate(p, vm, err);
	if (r < 0 || (r = decorate_snapshots(p, vm, uuid, err)) < 0)
		return r;
	*pool_out = TAKE_PTR(p);
	*vm_out = TAKE_PTR(vm);
	return 0;
}

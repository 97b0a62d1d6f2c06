/*
 * vm.c - whole-VM transactions: create, update, delete.  See vm.h.
 *
 * Design: each transaction is a short list of steps, each undone in
 * reverse order by the `undo` label when a later one fails, so the host is
 * left exactly as it was (docs/architecture.md §5).  Validation is vmcfg's; what
 * vmcfg needs to know about the host it asks through the callbacks below.
 *
 *     create:  lock host -> vmcfg_create -> duplicate check -> lock VM ->
 *              id range -> sweep what killed creates left -> mark uuid
 *              (<pool>/.new/<uuid>) -> clone <image>@final -> chmod 700 ->
 *              quota -> save (the config, beside the dataset: the commit
 *              point) -> unmark -> (unlock) -> start if autoboot
 *     update:  lock VM -> vmcfg_update -> live changes (cgroup limits when
 *              running, quota) -> save -> CTL_UPDATE_NET to zoneadmd when
 *              nics/routes changed (it syncs them; if it cannot, or is an
 *              older zoneadmd without that command, the old config goes
 *              back and the update fails), else CTL_UPDATE (re-read);
 *              then CTL_MDATA (the metadata server's view re-read)
 *     delete:  lock VM -> indestructible check -> halt (-F) if running ->
 *              destroy snapshots, dataset -> mark <run>/deleting/<uuid> ->
 *              run dir -> config -> free its id slot -> lock file -> unmark
 *              (a delete cut short leaves a VM listed that the next delete
 *              finishes)
 *
 * No step reads every VM: the uid/gid range and the VMs a NIC may
 * conflict with come from the host index (vmstore.h, <run>/index/), the
 * sweep reads only the marks, so create costs the same at 10 VMs and at
 * 10,000 (tests/system/test_scale.py, bench/scale).
 *
 * Lock order (lock.h): host lock, then the VM's lock, then the leaf lock
 * "index" inside vmstore.  create allocates the VM's uid/gid range
 * (zonehost_id_base) under the host lock and, with autoboot, starts it
 * after both locks are released (vm-run.c).  update of a running zone
 * applies cgroup limits live; delete halts it first.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "crashpoint.h"
#include "ctl.h"
#include "jsonutil.h"
#include "lock.h"
#include "net.h"
#include "nft.h"
#include "props.h"
#include "runstate.h"
#include "paths.h"
#include "fsutil.h"
#include "image.h"
#include "pool.h"
#include "util.h"
#include "vm-disk.h"
#include "vm.h"
#include "vmcfg-access.h"
#include "vmcfg.h"
#include "vmstore.h"

/* ---- what vmcfg may ask ---- */

/*
 * The installed image's manifest type, read from its record (image.h:
 * <pool mount>/.imgadm/<uuid>.json) rather than image_get(), which also
 * counts the image's clones by reading every VM config: O(VMs) per create.
 */
static int read_manifest(const char *zpool, const char *uuid, json_t **out)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_free_ char *rec = NULL, *snap = NULL;
	json_t *info = NULL;
	int r = pool_open(zpool ? zpool : POOL_DEFAULT_NAME, &p, &err);

	if (r < 0)
		goto out;
	r = -ENOMEM;
	if (!(rec = paths_image_record(p->mountpoint, uuid)) || !(snap = paths_image_final(uuid)))
		goto out;
	r = -ENOENT;
	if (!util_is_uuid(uuid) || !pool_dataset_exists(p, snap))
		goto out;
	r = jsonutil_load_file(rec, 1u << 20, &info, &err);
	*out = info;
out:
	zh_error_clear(&err);
	return r;
}

static int env_image_type(void *ctx, const char *zpool, const char *uuid, char *buf, size_t len)
{
	_cleanup_json_ json_t *info = NULL;
	const char *type;
	int r = read_manifest(zpool, uuid, &info);

	if (r < 0)
		return r;
	type = jsonutil_str(json_object_get(info, "manifest"), "type");
	snprintf(buf, len, "%s", type ? type : "");
	return 0;
}

/* A zvol image's manifest image_size (MiB). */
static int env_image_size(void *ctx, const char *zpool, const char *uuid, int64_t *mib)
{
	_cleanup_json_ json_t *info = NULL;
	json_t *v;
	int r = read_manifest(zpool, uuid, &info);

	if (r < 0)
		return r;
	v = json_object_get(json_object_get(info, "manifest"), "image_size");
	if (!json_is_integer(v))
		return -ENOENT;
	*mib = json_integer_value(v);
	return 0;
}

/* A docker image's run settings: its manifest's tags "docker:config". */
static int env_image_docker_config(void *ctx, const char *zpool, const char *uuid, json_t **out)
{
	_cleanup_json_ json_t *info = NULL;
	const json_t *m, *dc;
	int r = read_manifest(zpool, uuid, &info);

	if (r < 0)
		return r;
	m = json_object_get(info, "manifest");
	dc = json_object_get(json_object_get(m, "tags"), "docker:config");
	if (!jsonutil_str(m, "type") || !streq(jsonutil_str(m, "type"), "docker") ||
	    !json_is_object(dc))
		return -ENOENT;
	*out = json_incref((json_t *)dc);
	return 0;
}

static bool env_pool_exists(void *ctx, const char *name)
{
	_cleanup_strv_ char **names = NULL;
	struct zh_error err = ZH_ERROR_INIT;

	if (pool_list(&names, &err) < 0) {
		zh_error_clear(&err);
		return false;
	}
	for (char **n = names; *n; n++)
		if (streq(*n, name))
			return true;
	return false;
}

static bool env_vm_exists(void *ctx, const char *uuid)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	struct zh_error err = ZH_ERROR_INIT;
	int r = vmstore_find_stored(uuid, &p, &vm, &err);

	zh_error_clear(&err);
	return r == 0;
}

/*
 * The VMs that may share a MAC or IP with nics, from the host index
 * (vmstore.h): their stored configs, read one by one, instead of every
 * VM's.  vmcfg compares them as it compared all of them.
 */
static const int validate_only; /* env.ctx of vm_validate: unreadable VMs are skipped */

static int env_nic_neighbours(void *ctx, const json_t *nics, json_t **out)
{
	_cleanup_json_ json_t *arr = json_array();
	_cleanup_strv_ char **uuids = NULL;
	struct zh_error err = ZH_ERROR_INIT;
	int r = arr ? vmstore_index_nic_vms(nics, &uuids, &err) : -ENOMEM;

	zh_error_clear(&err);
	for (char **u = uuids; r >= 0 && *u; u++) {
		_cleanup_pool_ struct pool *p = NULL;
		json_t *vm = NULL;

		r = vmstore_find_stored(*u, &p, &vm, &err);
		zh_error_clear(&err);
		if (r == -ENOENT) /* deleted since: no conflict */
			r = 0;
		else if (r == 0 && json_array_append_new(arr, vm) < 0)
			r = -ENOMEM;
	}
	if (r < 0 && ctx != &validate_only)
		return r;
	*out = TAKE_PTR(arr); /* validate: what could be read (as before, no check if none) */
	return 0;
}

/* A nic tag exists when it is recorded (net.h); its bridge is made on use. */
static bool env_nic_tag_exists(void *ctx, const char *tag)
{
	return net_nictag_exists(tag);
}

static int env_nic_vlan_ok(void *ctx, const char *tag, int vlan_id, char *msg, size_t len)
{
	struct zh_error e = ZH_ERROR_INIT;
	int r = nft_vlan_supported(tag, vlan_id, &e);

	if (r < 0)
		snprintf(msg, len, "%s", e.msg ? e.msg : "VLAN not supported");
	zh_error_clear(&e);
	return r;
}

static bool wants_nics(const json_t *payload)
{
	return vmcfg_nics(payload) || json_object_get(payload, "add_nics") ||
	       json_object_get(payload, "update_nics");
}

/*
 * Fill env.  NIC conflicts are checked against the VMs the host index
 * names (env_nic_neighbours), never by loading every VM.
 */
static void env_init(struct vmcfg_env *env, const json_t *payload)
{
	*env = (struct vmcfg_env){
		.image_type = env_image_type,
		.image_size = env_image_size,
		.image_docker_config = env_image_docker_config,
		.pool_exists = env_pool_exists,
		.vm_exists = env_vm_exists,
		.nic_tag_exists = env_nic_tag_exists,
		.nic_vlan_ok = env_nic_vlan_ok,
	};
	if (wants_nics(payload))
		env->nic_neighbours = env_nic_neighbours;
}

/* ---- the VM's lock file ---- */

/*
 * Remove the VM's lock file (lock.c names it <run>/locks/<uuid>.lock) while
 * we hold it, so a failed create or a delete leaves no trace.  A process
 * still waiting on the old inode finds the VM gone and stops there.
 */
static void drop_lock_file(const char *uuid)
{
	_cleanup_free_ char *path = paths_lock(uuid);

	if (path)
		unlink(path);
}

/* Take the VM's lock only for a VM that exists (no lock file for a typo). */
static int lock_existing(const char *uuid, struct zh_error *err)
{
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	int r = vmstore_find_stored(uuid, &p, &vm, err);

	if (r < 0)
		return r;
	return lock_vm(uuid, err);
}

/* ---- what killed commands left ---- */

/* The datasets a killed rollback or receive of uuid parks beside it. */
static void destroy_parked(const struct pool *p, const char *uuid)
{
	static const char *const sfx[] = {PATHS_ROLLBACK_SUFFIX, PATHS_RECV_SUFFIX};
	struct zh_error ignored = ZH_ERROR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		_cleanup_free_ char *ds = NULL;

		if (asprintf(&ds, "%s%s", uuid, sfx[i]) >= 0)
			pool_subvol_destroy(p, ds, &ignored);
		zh_error_clear(&ignored);
	}
}

void vm_recover_new(const struct pool *p, const char *uuid)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_free_ char *rec = image_record_path(p, uuid);

	if (!vmstore_has_config(p, uuid) && rec && !fsutil_exists(rec)) {
		vm_snapshot_destroy_all(p, uuid, &ignored);
		zh_error_clear(&ignored);
		pool_subvol_destroy(p, uuid, &ignored);
		zh_error_clear(&ignored);
		pool_recv_clear(p, uuid, &ignored);
		zh_error_clear(&ignored);
	}
	vmstore_unmark_new(p, uuid);
}

/* The pools of this host, opened once for a sweep; NULL when unsure of any. */
static struct pool **open_pools(void)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	struct pool **v = NULL;

	if (pool_open_all(&v, &ignored) < 0)
		zh_error_clear(&ignored); /* unsure of any: sweep nothing */
	return v;
}

static bool config_in(struct pool *const *pools, const char *uuid)
{
	for (struct pool *const *p = pools; *p; p++)
		if (vmstore_has_config(*p, uuid))
			return true;
	return false;
}

/*
 * The mark of a delete at work, <run>/deleting/<uuid>: made before the
 * VM's run directory and config go, removed once its lock file has gone,
 * so a killed delete is found without reading every lock file.
 */
static char *deleting_path(const char *uuid)
{
	return paths_deleting_mark(uuid);
}

static int mark_deleting(const char *uuid, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_deleting_marks();
	_cleanup_free_ char *path = deleting_path(uuid);
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!dir || !path)
		return zh_error_oom(err);
	for (int i = 0; i < 3 && fd < 0; i++) { /* ENOENT: an unmark took the empty dir away */
		if ((r = fsutil_mkdir_p(dir, 0700, err)) < 0)
			return r;
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != ENOENT)
			break;
	}
	return fd < 0 ? zh_error_set(err, errno, NULL, "cannot create %s: %m", path) : 0;
}

static void unmark_deleting(const char *uuid)
{
	_cleanup_free_ char *path = deleting_path(uuid);
	_cleanup_free_ char *dir = paths_deleting_marks();

	if (path)
		unlink(path);
	if (dir)
		rmdir(dir); /* ENOTEMPTY while another delete is at work */
}

/*
 * A killed delete's mark, whose lock is free: with its config gone, its
 * lock file and run directory go too; with its config still there the VM
 * stays (listed, the next delete finishes it) and only the mark goes.
 */
static void sweep_deleting_one(struct pool *const *pools, const char *uuid)
{
	_cleanup_free_ char *run = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_close_ int l = -EBADF;

	if (!util_is_uuid(uuid) || (l = lock_try(uuid, &ignored)) < 0) {
		zh_error_clear(&ignored);
		return;
	}
	if (!config_in(pools, uuid)) {
		if ((run = paths_vm_run(uuid)))
			fsutil_rm_rf(run, &ignored);
		zh_error_clear(&ignored);
		drop_lock_file(uuid);
	}
	unmark_deleting(uuid);
}

static void sweep_deleting(void)
{
	_cleanup_free_ char *dir = paths_deleting_marks();
	struct pool **pools = NULL;
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;

	if (d && (pools = open_pools()))
		while ((de = readdir(d)))
			sweep_deleting_one(pools, de->d_name);
	if (d)
		closedir(d);
	pool_free_all(pools);
}

void vm_sweep_new(const struct pool *p)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_strv_ char **v = NULL;

	if (vmstore_marked_new(p, &v, &ignored) < 0) {
		zh_error_clear(&ignored);
		return;
	}
	for (char **u = v; *u; u++) {
		_cleanup_close_ int l = lock_try(*u, &ignored);

		zh_error_clear(&ignored);
		if (l < 0) /* its command is still at work */
			continue;
		vm_recover_new(p, *u);
		if (!vmstore_has_config(p, *u))
			drop_lock_file(*u);
	}
	sweep_deleting();
}

/* ---- create ---- */

static int make_root(const struct pool *p, const char *uuid, const char *image,
		     struct zh_error *err)
{
	_cleanup_free_ char *src = NULL;

	if (!image) /* HVM: a plain dataset for its jail root and disks (vm-disk.c) */
		return pool_subvol_create(p, uuid, err);
	if (!(src = paths_image_final(image)))
		return zh_error_oom(err);
	return pool_clone(p, src, uuid, err);
}

/*
 * quota (GiB) in bytes, plus what an HVM VM's disks add (vm-disk.h); 0 =
 * none.  A quota beyond 2^64 bytes is a bad value.
 */
static int quota_bytes(const json_t *vm, uint64_t *bytes, struct zh_error *err)
{
	json_int_t q = vmcfg_quota(vm);
	uint64_t extra = vm_disks_quota_extra(vm);

	if (q > (json_int_t)(UINT64_MAX >> 31) || extra > UINT64_MAX - ((uint64_t)q << 30))
		return zh_error_set(err, EINVAL, VMCFG_QUOTA, "Invalid value(s) for: quota");
	*bytes = q > 0 ? ((uint64_t)q << 30) + extra : 0;
	return 0;
}

static int build_vm(const struct pool *p, json_t *vm, struct zh_error *err)
{
	const char *uuid = vmcfg_uuid(vm);
	struct zh_error ignored = ZH_ERROR_INIT;
	uint64_t quota = 0;
	int r;

	/* HVM and OCI containers (§24, root from the bundle): a plain dataset */
	r = make_root(p, uuid,
		      vmcfg_is_hvm(vm) || vmcfg_oci_bundle(vm) ? NULL
							       : jsonutil_str(vm, "image_uuid"),
		      err);
	if (r < 0)
		return r;
	crashpoint("create.cloned");
	r = pool_dataset_private(p, uuid, err); /* its root/ is the zone's / */
	if (r < 0 || (r = vm_disks_create(p, vm, err)) < 0 ||
	    (r = quota_bytes(vm, &quota, err)) < 0)
		goto undo;
	if (quota && (r = pool_quota_set(p, uuid, quota, err)) < 0)
		goto undo;
	crashpoint("create.quota");
	r = vmstore_save(p, vm, err);
	if (r < 0)
		goto undo;
	crashpoint("create.saved");
	return 0;
undo:
	pool_subvol_destroy(p, uuid, &ignored);
	zh_error_clear(&ignored);
	return r;
}

static int create_locked(json_t *payload, vm_warn_fn warn, void *ctx,
			 char uuid_out[UTIL_UUID_LEN + 1], bool *autoboot, struct zh_error *err)
{
	_cleanup_json_ json_t *vm = NULL;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_close_ int vl = -EBADF;
	struct vmcfg_env env;
	const char *uuid, *zpool;
	int r;

	env_init(&env, payload);
	r = vmcfg_create(payload, &env, warn, ctx, &vm, err);
	if (r < 0)
		return r;
	uuid = vmcfg_uuid(vm);
	if (!uuid)
		return zh_error_set(err, EINVAL, "uuid", "Invalid value(s) for: uuid");
	if (env_vm_exists(NULL, uuid))
		return zh_error_set(err, EEXIST, "uuid", "VM with UUID %s already exists", uuid);
	vl = lock_vm(uuid, err);
	if (vl < 0)
		return vl;
	zpool = jsonutil_str(vm, "zpool");
	r = pool_open(zpool ? zpool : POOL_DEFAULT_NAME, &p, err);
	if (r == 0)
		r = vm_id_base_alloc(vm, err);
	if (r < 0) {
		drop_lock_file(uuid);
		return r;
	}
	crashpoint("create.ids"); /* a slot handed out, no config holds it yet */
	*autoboot = vmcfg_autoboot(vm);
	vm_sweep_new(p);	 /* what killed creates left, before this one adds a mark */
	vm_recover_new(p, uuid); /* this uuid's, whose lock we hold */
	r = vmstore_mark_new(p, uuid, err);
	if (r == 0) {
		crashpoint("create.marked");
		r = build_vm(p, vm, err);
		vmstore_unmark_new(p, uuid);
	}
	if (r < 0) {
		drop_lock_file(uuid);
		return r;
	}
	snprintf(uuid_out, UTIL_UUID_LEN + 1, "%s", uuid);
	return 0;
}

int vm_create(json_t *payload, vm_warn_fn warn, void *ctx, char uuid_out[UTIL_UUID_LEN + 1],
	      struct zh_error *err)
{
	_cleanup_close_ int hl = lock_host(err);
	bool autoboot = false;
	int r;

	if (hl < 0)
		return hl;
	r = create_locked(payload, warn, ctx, uuid_out, &autoboot, err);
	closep(&hl);
	if (r < 0 || !autoboot)
		return r;
	r = vm_start(uuid_out, err); /* the VM stays, "failed" with the reason */
	if (r < 0)
		zh_error_prefix(err, "VM %s created but failed to start", uuid_out);
	return r;
}

/* ---- update ---- */

static bool changed_has(const json_t *changed, const char *key)
{
	size_t i;
	json_t *e;

	json_array_foreach (changed, i, e)
		if (json_is_string(e) && streq(json_string_value(e), key))
			return true;
	return false;
}

/* Load the VM's stored (undecorated) config and its pool. */
static int load_stored(const char *uuid, struct pool **p, json_t **vm, struct zh_error *err)
{
	return vmstore_find_stored(uuid, p, vm, err);
}

/* Did the update change a cgroup limit applied live (the property table says which)? */
static bool limits_changed(const json_t *changed)
{
	size_t i;
	json_t *e;

	json_array_foreach (changed, i, e)
		if (props_has_flags(json_string_value(e), PROPS_F_LIVE | PROPS_F_CGROUP))
			return true;
	return false;
}

/* Put the old config's limits back on the running zone (best effort: they applied before). */
static void restore_limits(const char *uuid, const json_t *old)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	struct cgroup_limits l;

	cgroup_limits_from_vm(old, &l);
	cgroup_apply(uuid, &l, &ignored);
	zh_error_clear(&ignored);
}

/*
 * A running zone gets its new cgroup limits now; if the kernel refuses
 * them the old ones go back and the update fails, naming the cause.
 * Which limits: PROPS_F_LIVE | PROPS_F_CGROUP in the property table; tmpfs
 * and max_locked_memory (not live there) apply at the next boot (docs/architecture.md §11.1).
 * 1 when limits were changed (restore_limits() undoes it), 0 when none.
 */
static int apply_limits(const char *uuid, const json_t *old, const json_t *vm,
			const json_t *changed, struct zh_error *err)
{
	struct cgroup_limits l;
	int r;

	if (!limits_changed(changed) || !runstate_is_live(uuid))
		return 0;
	cgroup_limits_from_vm(vm, &l);
	r = cgroup_apply(uuid, &l, err);
	if (r < 0) {
		restore_limits(uuid, old);
		return r;
	}
	return 1;
}

/* Tell a running zone's zoneadmd to re-read its config (halt_signal ...). */
static void notify_zoneadmd(const char *uuid)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	if (runstate_is_live(uuid))
		ctl_call(uuid, CTL_UPDATE, NULL, NULL, &ignored);
	zh_error_clear(&ignored);
}

/*
 * Every stored change of a running VM reaches its guest's metadata at
 * once: zoneadmd re-reads the config for its metadata server (CTL_MDATA,
 * docs/architecture.md §23).  A zoneadmd from before that command answers
 * -ENOSYS: it runs no metadata server, so there is nothing to refresh.
 */
static void notify_mdata(const char *uuid)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	if (runstate_is_live(uuid))
		ctl_call(uuid, CTL_MDATA, NULL, NULL, &ignored);
	zh_error_clear(&ignored);
}

/*
 * A zoneadmd started before an upgrade does not know CTL_UPDATE_NET
 * (ctl.h, versioning): it answers -ENOSYS, and the update fails, naming
 * the way out, rather than storing nics the running zone does not have.
 */
static int too_old(const char *uuid, struct zh_error *err)
{
	zh_error_clear(err);
	return zh_error_set(err, ENOSYS, "nics",
			    "VM %s runs under a zoneadmd from before an upgrade, which cannot "
			    "change nics or routes live; nothing was changed: restart the VM "
			    "(vmadm stop, vmadm start) and update again",
			    uuid);
}

/*
 * NICs and routes of a running zone change at once: its zoneadmd (which
 * owns the VNICs) re-reads the saved config and syncs them (CTL_UPDATE_NET).
 * If it cannot, it restores the old network; the old config goes back here
 * and the update fails with zoneadmd's reason.  A zone that stopped
 * meanwhile gets the new config at its next start.
 */
static int apply_network(const struct pool *p, const char *uuid, const json_t *old,
			 const json_t *changed, struct zh_error *err)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	int r;

	if (!changed_has(changed, VMCFG_NICS) && !changed_has(changed, VMCFG_ROUTES))
		return 1;
	if (!runstate_is_live(uuid))
		return 0;
	r = ctl_call(uuid, CTL_UPDATE_NET, NULL, NULL, err);
	if (r == 0 || r == -ENOTCONN || r == -ENOENT || r == -ECONNREFUSED) {
		zh_error_clear(err);
		return 0;
	}
	if (r == -ENOSYS)
		r = too_old(uuid, err);
	if (vmstore_save(p, old, &ignored) == 0)
		notify_zoneadmd(uuid);
	zh_error_clear(&ignored);
	return r;
}

/* A quota below what the dataset already uses is refused. */
static int quota_fits(const struct pool *p, const char *uuid, uint64_t bytes, struct zh_error *err)
{
	uint64_t used = 0;
	int r;

	if (!bytes)
		return 0;
	r = pool_quota_used(p, uuid, &used, err);
	if (r < 0)
		return r;
	if (used > bytes)
		return zh_error_set(err, ENOSPC, VMCFG_QUOTA,
				    "Cannot set quota to %" PRIu64
				    " GiB: VM %s already uses %" PRIu64 " MiB",
				    bytes >> 30, uuid, (used + (1u << 20) - 1) >> 20);
	return 0;
}

/* What apply_and_store() changed on the host, to undo it. */
struct applied {
	bool limits, quota;
	uint64_t old_quota;
};

static void undo_applied(const struct pool *p, const char *uuid, const json_t *old,
			 const struct applied *a)
{
	struct zh_error ignored = ZH_ERROR_INIT;

	if (a->quota)
		pool_quota_set(p, uuid, a->old_quota, &ignored);
	zh_error_clear(&ignored);
	if (a->limits)
		restore_limits(uuid, old);
}

static int apply_quota(const struct pool *p, const char *uuid, const json_t *old, const json_t *vm,
		       struct applied *a, struct zh_error *err)
{
	uint64_t bytes = 0;
	int r;

	if ((r = quota_bytes(vm, &bytes, err)) < 0 ||
	    (r = quota_bytes(old, &a->old_quota, err)) < 0 ||
	    (r = quota_fits(p, uuid, bytes, err)) < 0 ||
	    (r = pool_quota_set(p, uuid, bytes, err)) < 0)
		return r;
	a->quota = true;
	return 0;
}

static bool quota_changed(const json_t *changed)
{
	return changed_has(changed, VMCFG_QUOTA) || changed_has(changed, "disks") ||
	       changed_has(changed, "flexible_disk_size");
}

/*
 * The update whole or not at all: live limits, quota, the config (beside
 * the dataset, so a tenant's full quota never refuses it), then a running
 * zone's network; any failure puts back what was changed before it, so
 * the kernel's state and the stored config always agree.
 */
static int apply_rest(const struct pool *p, const char *uuid, const json_t *old, const json_t *vm,
		      const json_t *changed, struct zh_error *err)
{
	struct applied a = {0};
	int r = apply_limits(uuid, old, vm, changed, err);

	if (r < 0)
		return r;
	a.limits = r > 0;
	crashpoint("update.limits");
	if (quota_changed(changed) && (r = apply_quota(p, uuid, old, vm, &a, err)) < 0)
		goto undo;
	crashpoint("update.quota");
	if ((r = vmstore_save(p, vm, err)) < 0)
		goto undo;
	crashpoint("update.saved");
	if (json_array_size(changed) == 0)
		return 0;
	r = apply_network(p, uuid, old, changed, err);
	if (r > 0)
		notify_zoneadmd(uuid);
	if (r >= 0) {
		notify_mdata(uuid);
		return 0;
	}
undo:
	undo_applied(p, uuid, old, &a);
	return r;
}

/* An HVM VM's disk files first (vm-disk.c), kept only if the rest succeeds. */
static int apply_and_store(const struct pool *p, const char *uuid, const json_t *old, json_t *vm,
			   const json_t *changed, struct zh_error *err)
{
	struct vm_disk_journal j = VM_DISK_JOURNAL_INIT;
	int r = vm_disks_update(p, old, vm, &j, err);

	if (r < 0)
		return r;
	crashpoint("update.disks");
	r = apply_rest(p, uuid, old, vm, changed, err);
	vm_disk_journal_end(&j, r >= 0);
	return r;
}

int vm_update(const char *uuid, json_t *payload, vm_warn_fn warn, void *ctx, struct zh_error *err)
{
	_cleanup_close_ int vl = lock_existing(uuid, err);
	_cleanup_json_ json_t *old = NULL, *vm = NULL, *changed = NULL;
	_cleanup_pool_ struct pool *p = NULL;
	struct vmcfg_env env;
	int r;

	if (vl < 0)
		return vl;
	r = load_stored(uuid, &p, &old, err);
	if (r < 0)
		return r;
	env_init(&env, payload);
	r = vmcfg_update(old, payload, &env, warn, ctx, &vm, &changed, err);
	if (r < 0)
		return r;
	return apply_and_store(p, uuid, old, vm, changed, err);
}

/* ---- delete ---- */

static bool flag_set(const json_t *vm, const char *key)
{
	return json_is_true(json_object_get(vm, key));
}

static void free_id_base(const json_t *vm)
{
	int64_t b;

	if (vmcfg_id_base(vm, &b) && b > 0)
		vmstore_index_id_free((uint64_t)b);
}

int vm_delete(const char *uuid, struct zh_error *err)
{
	_cleanup_close_ int vl = lock_existing(uuid, err);
	_cleanup_json_ json_t *vm = NULL;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_free_ char *run = NULL;
	int r;

	if (vl < 0)
		return vl;
	r = vmstore_find_stored(uuid, &p, &vm, err);
	if (r < 0)
		return r;
	if (flag_set(vm, "indestructible_zoneroot"))
		return zh_error_set(err, EPERM, "indestructible_zoneroot",
				    "indestructible_zoneroot is set, cannot delete");
	if (flag_set(vm, "indestructible_delegated"))
		return zh_error_set(err, EPERM, "indestructible_delegated",
				    "indestructible_delegated is set, cannot delete");
	if (runstate_is_live(uuid) && (r = vm_stop_locked(uuid, 0, true, err)) < 0 &&
	    r != -ENOTCONN)
		return r; /* SmartOS halts a running VM before deleting it */
	zh_error_clear(err);
	crashpoint("delete.stopped");
	destroy_parked(p, uuid);
	pool_recv_clear(p, uuid, err); /* a killed receive's inbox */
	zh_error_clear(err);
	r = vm_snapshot_destroy_all(p, uuid, err);
	if (r < 0)
		return r;
	crashpoint("delete.snapshots");
	if ((r = pool_subvol_destroy(p, uuid, err)) < 0)
		return r;
	crashpoint("delete.dataset");
	run = paths_vm_run(uuid);
	if (!run)
		return zh_error_oom(err);
	if ((r = mark_deleting(uuid, err)) < 0 || (r = fsutil_rm_rf(run, err)) < 0 ||
	    (r = vmstore_remove(p, uuid, err)) < 0)
		return r;
	free_id_base(vm); /* after its config: a kill before leaks the slot, never shares it */
	vmstore_unmark_new(p, uuid); /* a create killed once its config was saved */
	crashpoint("delete.config");
	drop_lock_file(uuid); /* a kill before this leaves it to vm_sweep_new() */
	unmark_deleting(uuid);
	return 0;
}

/* ---- validate ---- */

int vm_validate(const char *brand, enum vmcfg_action action, const json_t *payload,
		struct vmcfg_report *rep)
{
	struct vmcfg_env env;

	env_init(&env, payload);
	env.ctx = (void *)&validate_only;
	return vmcfg_validate(brand, action, payload, &env, rep);
}

int vm_validate_received(const json_t *vm, struct vmcfg_report *rep)
{
	struct vmcfg_env env;

	env_init(&env, vm);
	env.image_type = NULL;
	return vmcfg_validate(NULL, VMCFG_RECEIVE, vm, &env, rep);
}

int vm_check_received_host(const json_t *vm, struct zh_error *err)
{
	_cleanup_json_ json_t *names = NULL;
	_cleanup_free_ char *list = NULL;

	if (vmcfg_host_props(vm, &names) < 0)
		return zh_error_oom(err);
	if (json_array_size(names) == 0)
		return 0;
	if (!(list = json_dumps(names, JSON_COMPACT)))
		return zh_error_oom(err);
	return zh_error_set(err, EPERM, json_string_value(json_array_get(names, 0)),
			    "VM config in stream reaches outside the VM: %s (host paths, devices, "
			    "hypervisor options or network exemptions only this host's operator "
			    "grants); receive it with --allow-host-access only if you trust its "
			    "sender",
			    list);
}

int vm_check_received_nics(const json_t *vm, struct zh_error *err)
{
	struct vmcfg_env env;

	env_init(&env, vm);
	return vmcfg_nics_conflicts(vm, &env, err);
}

/*
 * vmstore-index.c - the host index of stored VMs: which uid/gid slots are
 * taken and which VMs may hold a MAC or an IP.  See vmstore.h.
 *
 * Design: what create and update would otherwise learn by reading every
 * config of every pool, kept as a cache under <run>/index/
 * (docs/architecture.md §13, §21):
 *
 *     stamp       "zonehost-index 2\nboot <boot_id>\npools <fingerprint>\n"
 *     id-slots    a bitmap, bit k set: the id slot k (zonehost_id_base /
 *                 65536) is taken or was handed out
 *     nics/<h>    one uuid a line: the VMs whose config held the NIC key
 *                 whose 64-bit FNV-1a hash is h ("mac <mac>" or
 *                 "ip <nic_tag> <vlan_id> <ip>")
 *
 * The configs stay the only truth; the index only ever errs on the safe
 * side.  A slot is set before any config holding it is written (the
 * allocator sets it, vmstore_save() sets it again) and cleared only after
 * the config that held it is gone (vm delete), so a kill at any step
 * leaves at worst a slot taken by no VM, never one handed out twice.  A
 * NIC key is added before the config holding it is written and never
 * removed, so a lookup returns a superset; callers read the configs of the
 * VMs it names and decide on those.
 *
 * The index is rebuilt from the configs (one scan of every pool) when it
 * is missing or cannot be trusted: after a reboot (the stamp's boot id
 * differs: everything is wiped first) and when the set of pools changed
 * (a pool created, destroyed, or re-created: the scan is merged into what
 * is there, which keeps the slots of commands in flight).  Anything that
 * writes configs behind vmstore_save()'s back calls
 * vmstore_index_invalidate().
 *
 * Lock order: the leaf lock "index" (lock.h), taken after the host and VM
 * locks and held only inside these functions.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashpoint.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "pool.h"
#include "util.h"
#include "vmcfg-access.h"
#include "vmstore-internal.h"
#include "vmstore.h"

#define STAMP_MAGIC  "zonehost-index 2"
#define SLOT_COUNT   65536u
#define SLOT_BYTES   (SLOT_COUNT / 8)
#define KEY_FILE_MAX (1u << 20)
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* An open, trusted index: its lock and directory. */
struct ix {
	int lock, dir;
};

static void ix_close(struct ix *x)
{
	closep(&x->dir);
	closep(&x->lock);
}

/* ---- the stamp ---- */

static void read_boot_id(char *buf, size_t len)
{
	_cleanup_close_ int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Append " <name>:<record inode>:<record mtime>" to *fp. */
static int fp_add(char **fp, const char *name)
{
	struct stat st = {0};
	char *n = NULL;

	pool_record_stat(name, &st);
	if (asprintf(&n, "%s %s:%llu:%lld.%09ld", *fp, name, (unsigned long long)st.st_ino,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0)
		return -ENOMEM;
	free(*fp);
	*fp = n;
	return 0;
}

/* Which pools there are, each by its record's identity. */
static int pools_fingerprint(char *const *names, char **out, struct zh_error *err)
{
	_cleanup_free_ char *fp = strdup("");

	if (!fp)
		return zh_error_oom(err);
	for (char *const *n = names; *n; n++)
		if (fp_add(&fp, *n) < 0)
			return zh_error_oom(err);
	*out = TAKE_PTR(fp);
	return 0;
}

static int stamp_write(int dir, const char *boot, const char *pools)
{
	_cleanup_free_ char *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&s, STAMP_MAGIC "\nboot %s\npools %s\n", boot, pools) < 0)
		return -ENOMEM;
	fd = openat(dir, "stamp.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = fsutil_write_all(fd, s, strlen(s));
	if (r < 0)
		return r;
	return renameat(dir, "stamp.tmp", dir, "stamp") < 0 ? -errno : 0;
}

/* 0 trusted, 1 pools changed (merge a scan), 2 other boot or unreadable (wipe). */
static int stamp_check(int dir, const char *boot, const char *pools)
{
	_cleanup_free_ char *want = NULL;
	char buf[8192];
	_cleanup_close_ int fd = openat(dir, "stamp", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : fsutil_read_full(fd, buf, sizeof(buf) - 1);
	size_t head;

	if (n < 0 || asprintf(&want, STAMP_MAGIC "\nboot %s\npools ", boot) < 0)
		return 2;
	buf[n] = '\0';
	head = strlen(want);
	if (strncmp(buf, want, head) != 0 || !*boot)
		return 2;
	return strlen(buf) == head + strlen(pools) + 1 &&
			       strncmp(buf + head, pools, strlen(pools)) == 0
		       ? 0
		       : 1;
}

/* ---- id slots ---- */

static int slots_read(int dir, uint8_t map[SLOT_BYTES])
{
	_cleanup_close_ int fd = openat(dir, "id-slots", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	memset(map, 0, SLOT_BYTES);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	return fsutil_read_full(fd, map, SLOT_BYTES) < 0 ? -EIO : 0;
}

/* Set or clear slot k in place: one byte, so a kill never tears it. */
static int slot_put(int dir, uint64_t k, bool used)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t b = 0;

	if (k >= SLOT_COUNT)
		return 0;
	fd = openat(dir, "id-slots", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (pread(fd, &b, 1, (off_t)(k / 8)) < 0)
		return -errno;
	b = used ? (uint8_t)(b | (1u << (k % 8))) : (uint8_t)(b & ~(1u << (k % 8)));
	return pwrite(fd, &b, 1, (off_t)(k / 8)) == 1 ? 0 : -EIO;
}

/* A base not on a slot boundary (never handed out here) takes both slots it overlaps. */
static int base_take(int dir, uint64_t base)
{
	int r = slot_put(dir, base / VMSTORE_ID_SLOT, true);

	if (r == 0 && base % VMSTORE_ID_SLOT)
		r = slot_put(dir, base / VMSTORE_ID_SLOT + 1, true);
	return r;
}

/* ---- NIC keys ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static int key_open(int dir, const char *key, int flags)
{
	char name[32];

	snprintf(name, sizeof(name), "nics/%016llx", (unsigned long long)fnv1a(key));
	return openat(dir, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* The uuids listed in a key file (one a line), into buf. */
static int key_read(int fd, char **buf)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size > KEY_FILE_MAX)
		return -EIO;
	if (!(*buf = calloc(1, (size_t)st.st_size + 1)))
		return -ENOMEM;
	n = fsutil_read_full(fd, *buf, (size_t)st.st_size);
	return n < 0 ? -EIO : 0;
}

static bool key_lists(const char *buf, const char *uuid)
{
	for (const char *p = buf; (p = strstr(p, uuid)); p++)
		if ((p == buf || p[-1] == '\n') && p[UTIL_UUID_LEN] == '\n')
			return true;
	return false;
}

static int key_add(int dir, const char *key, const char *uuid)
{
	_cleanup_close_ int fd = key_open(dir, key, O_RDWR | O_CREAT | O_APPEND);
	_cleanup_free_ char *buf = NULL, *line = NULL;
	int r;

	if (fd < 0)
		return -errno;
	if ((r = key_read(fd, &buf)) < 0)
		return r;
	if (key_lists(buf, uuid))
		return 0;
	if (asprintf(&line, "%s\n", uuid) < 0)
		return -ENOMEM;
	return fsutil_write_all(fd, line, strlen(line));
}

/* "mac <lower-case 6 octets>": the form vmcfg compares MACs in. */
static int mac_key(const char *mac, char *buf, size_t len)
{
	unsigned o[6];
	int n = 0;

	if (sscanf(mac, "%x:%x:%x:%x:%x:%x%n", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &n) != 6 ||
	    mac[n] != '\0')
		return snprintf(buf, len, "mac %s", mac);
	return snprintf(buf, len, "mac %02x:%02x:%02x:%02x:%02x:%02x", o[0] & 255, o[1] & 255,
			o[2] & 255, o[3] & 255, o[4] & 255, o[5] & 255);
}

/* vlan_id as vmcfg reads it (vmcfg_int): an integer, a real truncated, else 0. */
static long long vlan_of(const json_t *nic)
{
	json_t *v = json_object_get(nic, "vlan_id");

	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	return json_is_real(v) ? (long long)json_real_value(v) : 0;
}

/*
 * A NIC's keys (0, 1 or 2) into keys[], each under 256 bytes: its MAC,
 * and its IP on its tag and VLAN (vmcfg's conflict rule: a NIC without a
 * tag or with "dhcp" conflicts by IP with none).
 */
static int nic_keys(const json_t *nic, char keys[2][256])
{
	const char *mac = jsonutil_str(nic, "mac"), *ip = jsonutil_str(nic, "ip");
	const char *tag = jsonutil_str(nic, "nic_tag");
	int n = 0;

	if (mac && mac_key(mac, keys[n], sizeof(keys[n])) < 256)
		n++;
	if (ip && tag && !streq(ip, "dhcp") &&
	    snprintf(keys[n], sizeof(keys[n]), "ip %s %lld %s", tag, vlan_of(nic), ip) < 256)
		n++;
	return n;
}

/* ---- adding a config ---- */

static int add_vm(int dir, const json_t *vm)
{
	const char *uuid = vmcfg_uuid(vm);
	char keys[2][256];
	int64_t base;
	json_t *nic;
	size_t i;
	int r = 0;

	if (vmcfg_id_base(vm, &base) && base >= 0)
		r = base_take(dir, (uint64_t)base);
	if (!uuid || !util_is_uuid(uuid))
		return r;
	json_array_foreach (vmcfg_nics(vm), i, nic)
		for (int k = nic_keys(nic, keys); r == 0 && k > 0; k--)
			r = key_add(dir, keys[k - 1], uuid);
	return r;
}

static int scan_pool(int dir, const struct pool *p, struct zh_error *err)
{
	_cleanup_json_ json_t *vms = json_array();
	size_t i;
	json_t *vm;
	int r = vms ? vmstore_read_pool(p, vms, err) : zh_error_oom(err);

	if (r < 0)
		return r;
	json_array_foreach (vms, i, vm)
		if ((r = add_vm(dir, vm)) < 0)
			return zh_error_set(err, -r, NULL, "cannot update the VM index: %s",
					    strerror(-r));
	return 0;
}

/* Empty the index; the stamp first says "this boot, no pools", so a kill midway merges next. */
static int wipe(int dir, const char *boot, struct zh_error *err)
{
	_cleanup_free_ char *nics = paths_join(paths_run(), PATHS_INDEX "/nics");
	int r = stamp_write(dir, boot, "-");

	if (r < 0 || !nics)
		return zh_error_set(err, r < 0 ? -r : ENOMEM, NULL, "cannot reset the VM index: %s",
				    strerror(r < 0 ? -r : ENOMEM));
	if (unlinkat(dir, "id-slots", 0) < 0 && errno != ENOENT)
		return zh_error_set(err, errno, NULL, "cannot reset the VM index: %m");
	return fsutil_rm_rf(nics, err);
}

static int rebuild(int dir, int how, const char *boot, const char *fp, struct pool *const *pools,
		   struct zh_error *err)
{
	int r = how == 2 ? wipe(dir, boot, err) : 0;

	if (r < 0)
		return r;
	if (mkdirat(dir, "nics", 0700) < 0 && errno != EEXIST)
		return zh_error_set(err, errno, NULL, "cannot make the VM index: %m");
	for (struct pool *const *p = pools; *p; p++)
		if ((r = scan_pool(dir, *p, err)) < 0)
			return r;
	crashpoint("index.scanned");
	r = stamp_write(dir, boot, fp);
	return r < 0 ? zh_error_set(err, -r, NULL, "cannot stamp the VM index: %s", strerror(-r))
		     : 0;
}

/*
 * The pools named, opened (mounted) and migrated before the index lock is
 * taken: mounting takes "pool-<name>" and a migration invalidates the index.
 */
static int open_pools(char *const *names, struct pool ***out, struct zh_error *err)
{
	struct pool **v = NULL;
	int r = pool_open_names(names, &v, err);

	for (size_t i = 0; r == 0 && v[i]; i++)
		if ((r = vmstore_migrate(v[i], err)) > 0) {
			vmstore_index_invalidate(); /* the stamp may be current: not any more */
			r = 0;
		}
	if (r < 0) {
		pool_free_all(v);
		return r;
	}
	*out = v;
	return 0;
}

/* Take the index lock and open its directory. */
static int ix_lock(struct ix *x, struct zh_error *err)
{
	_cleanup_free_ char *path = paths_index();
	int r;

	*x = (struct ix){.lock = -EBADF, .dir = -EBADF};
	if (!path)
		return zh_error_oom(err);
	if ((r = fsutil_mkdir_p(path, 0700, err)) < 0 || (x->lock = lock_take(LOCK_INDEX, err)) < 0)
		return r < 0 ? r : x->lock;
	x->dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->dir >= 0)
		return 0;
	r = zh_error_set(err, errno, NULL, "cannot open %s: %m", path);
	ix_close(x);
	return r;
}

/* Rebuild (how: 1 merge, 2 wipe first; slots_anew: the id slots from the configs alone). */
static int ix_rebuild(struct ix *x, char *const *names, const char *boot, const char *fp,
		      bool slots_anew, struct zh_error *err)
{
	struct pool **pools = NULL;
	int r = open_pools(names, &pools, err), how;

	if (r == 0 && (r = ix_lock(x, err)) == 0) {
		how = stamp_check(x->dir, boot, fp); /* another process may have rebuilt it */
		if (slots_anew && how < 2 && unlinkat(x->dir, "id-slots", 0) < 0 && errno != ENOENT)
			r = zh_error_set(err, errno, NULL, "cannot reset the VM index: %m");
		if (r == 0 && (how || slots_anew))
			r = rebuild(x->dir, how ? how : 1, boot, fp, pools, err);
		if (r < 0)
			ix_close(x);
	}
	pool_free_all(pools);
	return r;
}

/*
 * Lock the index and make it trustworthy: rebuilt when its stamp does not
 * match this boot and these pools (or, slots_anew, to forget leaked slots).
 */
static int ix_open(struct ix *x, bool slots_anew, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_free_ char *fp = NULL;
	char boot[64];
	int r;

	read_boot_id(boot, sizeof(boot));
	if ((r = pool_list(&names, err)) < 0 || (r = pools_fingerprint(names, &fp, err)) < 0)
		return r;
	if (!slots_anew) {
		if ((r = ix_lock(x, err)) < 0)
			return r;
		if (stamp_check(x->dir, boot, fp) == 0)
			return 0;
		ix_close(x);
	}
	return ix_rebuild(x, names, boot, fp, slots_anew, err);
}

/* ---- the interface ---- */

int vmstore_index_add(const json_t *vm, struct zh_error *err)
{
	struct ix x;
	int r = ix_open(&x, false, err);

	if (r < 0)
		return r;
	r = add_vm(x.dir, vm);
	ix_close(&x);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot update the VM index: %s", strerror(-r));
	return 0;
}

void vmstore_index_invalidate(void)
{
	_cleanup_free_ char *path = paths_index();
	struct zh_error ignored = ZH_ERROR_INIT;
	_cleanup_close_ int l = lock_take(LOCK_INDEX, &ignored), dir = -EBADF;
	char boot[64];

	zh_error_clear(&ignored);
	if (!path || (dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	read_boot_id(boot, sizeof(boot));
	if (stamp_check(dir, boot, "-") < 2) /* keep what this boot set: merge a scan */
		stamp_write(dir, boot, "-");
	else
		unlinkat(dir, "stamp", 0);
}

static int lowest_free(const uint8_t map[SLOT_BYTES])
{
	for (uint64_t k = VMSTORE_ID_SLOT_FIRST; k <= VMSTORE_ID_SLOT_LAST; k++)
		if (!(map[k / 8] & (1u << (k % 8))))
			return (int)k;
	return -ENOSPC;
}

/* The lowest free slot, taken; -ENOSPC when none (err untouched). */
static int take_slot(struct ix *x, uint64_t *k, struct zh_error *err)
{
	uint8_t map[SLOT_BYTES];
	int r = slots_read(x->dir, map);

	if (r == 0 && (r = lowest_free(map)) == -ENOSPC)
		return r;
	if (r >= 0) {
		*k = (uint64_t)r;
		r = slot_put(x->dir, *k, true);
	}
	return r < 0 ? zh_error_set(err, -r, NULL, "cannot update the VM index: %s", strerror(-r))
		     : 0;
}

/*
 * When every slot looks taken, the slots kills leaked are forgotten by a
 * scan of the configs (the caller's host lock means no slot is in flight).
 */
int vmstore_index_id_alloc(uint64_t *base, struct zh_error *err)
{
	uint64_t k = 0;
	struct ix x;
	int r = ix_open(&x, false, err);

	if (r < 0)
		return r;
	r = take_slot(&x, &k, err);
	ix_close(&x);
	if (r == -ENOSPC) {
		if ((r = ix_open(&x, true, err)) < 0)
			return r;
		r = take_slot(&x, &k, err);
		ix_close(&x);
	}
	if (r == -ENOSPC)
		return zh_error_set(err, ENOSPC, VMCFG_ID_BASE,
				    "no free uid/gid range left on this host");
	if (r == 0)
		*base = k * VMSTORE_ID_SLOT;
	return r;
}

/* Only a base on a slot boundary (one handed out here) is given back; any other stays taken. */
void vmstore_index_id_free(uint64_t base)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	struct ix x;

	if (base % VMSTORE_ID_SLOT || ix_open(&x, false, &ignored) < 0) {
		zh_error_clear(&ignored);
		return;
	}
	slot_put(x.dir, base / VMSTORE_ID_SLOT, false);
	ix_close(&x);
}

/* Append to *v (NULL-terminated, *n entries) each uuid of buf not in it yet. */
static int push_uuids(char ***v, size_t *n, const char *buf)
{
	for (const char *p = buf; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		char **nv;
		bool seen = false;

		if (strcspn(p, "\n") != UTIL_UUID_LEN)
			continue;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = strncmp((*v)[i], p, UTIL_UUID_LEN) == 0;
		if (seen)
			continue;
		if (!(nv = realloc(*v, (*n + 2) * sizeof(char *))))
			return -ENOMEM;
		*v = nv;
		if (!(nv[*n] = strndup(p, UTIL_UUID_LEN)))
			return -ENOMEM;
		nv[++*n] = NULL;
	}
	return 0;
}

static int lookup_key(int dir, const char *key, char ***v, size_t *n)
{
	_cleanup_close_ int fd = key_open(dir, key, O_RDONLY);
	_cleanup_free_ char *buf = NULL;
	int r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if ((r = key_read(fd, &buf)) < 0)
		return r;
	return push_uuids(v, n, buf);
}

int vmstore_index_nic_vms(const json_t *nics, char ***out, struct zh_error *err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	char keys[2][256];
	size_t i, n = 0;
	json_t *nic;
	struct ix x;
	int r = v ? ix_open(&x, false, err) : zh_error_oom(err);

	if (r < 0)
		return r;
	json_array_foreach (nics, i, nic)
		for (int k = nic_keys(nic, keys); r == 0 && k > 0; k--)
			r = lookup_key(x.dir, keys[k - 1], &v, &n);
	ix_close(&x);
	if (r < 0)
		return zh_error_set(err, -r, NULL, "cannot read the VM index: %s", strerror(-r));
	*out = TAKE_PTR(v);
	return 0;
}

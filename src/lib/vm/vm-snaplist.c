/*
 * vm-snaplist.c - the snapshots of a VM as they are on the pool: list them
 * (for `vmadm get` and `list-snapshots`) and destroy them all (delete).
 * See vm.h.
 *
 * Reads the pool only; takes no lock (callers that change snapshots hold
 * lock_vm(), vm-snapshot.c).  Kept out of vm-snapshot.c so that vm-view.c
 * can list snapshots without depending on the snapshot transactions, which
 * themselves use vm-view.c and vm-run.c: no cycle.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "macro.h"
#include "paths.h"
#include "pool.h"
#include "util.h"
#include "vm.h"
#include "vmstore.h"

/* ---- list ---- */

/* Names of "<uuid>@<prefix>*" subvolumes (full dataset names). */
static int list_snaps(const struct pool *p, const char *uuid, const char *prefix, char ***out,
		      struct zh_error *err)
{
	_cleanup_strv_ char **all = NULL;
	_cleanup_free_ char *want = NULL;
	int r;

	if (asprintf(&want, "%s@%s", uuid, prefix) < 0)
		return zh_error_oom(err);
	r = pool_dataset_list_prefix(p, want, &all, err); /* stats only this VM's */
	if (r < 0)
		return r;
	*out = TAKE_PTR(all);
	return (int)util_strv_len(*out);
}

static int cmp_created(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "ms"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "ms"));

	return x < y ? 1 : x > y ? -1 : 0;
}

static int snap_entry(const struct pool *p, const char *ds, json_t **out, struct zh_error *err)
{
	char ts[UTIL_TIMESTAMP_LEN + 1];
	const char *at = strchr(ds, '@');
	int64_t ms = 0;
	int r = pool_subvol_otime(p, ds, &ms, err);

	if (r < 0)
		return r;
	util_timestamp_from(ts, ms);
	*out = json_pack("{s:s,s:s,s:I}", "name", at + 1 + strlen(PATHS_VMSNAP_PREFIX),
			 "created_at", ts, "ms", (json_int_t)ms);
	return *out ? 0 : zh_error_oom(err);
}

/* Entries with a private "ms" key, newest first. */
static int list_sorted(const struct pool *p, const char *uuid, json_t ***v, size_t *n,
		       struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r = list_snaps(p, uuid, PATHS_VMSNAP_PREFIX, &names, err);

	if (r < 0)
		return r;
	*n = 0;
	if (!(*v = calloc((size_t)r + 1, sizeof(json_t *))))
		return zh_error_oom(err);
	for (size_t i = 0; names[i]; i++, (*n)++)
		if ((r = snap_entry(p, names[i], &(*v)[i], err)) < 0)
			return r;
	qsort(*v, *n, sizeof(json_t *), cmp_created);
	return 0;
}

static void free_entries(json_t **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		json_decref(v[i]);
	free(v);
}

int vm_snapshot_list(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err)
{
	json_t **v = NULL, *arr = json_array();
	size_t n = 0;
	int r = arr ? list_sorted(p, uuid, &v, &n, err) : zh_error_oom(err);

	for (size_t i = 0; r == 0 && i < n; i++) {
		json_object_del(v[i], "ms");
		if (json_array_append(arr, v[i]) < 0)
			r = zh_error_oom(err);
	}
	free_entries(v, n);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return 0;
}

int vm_snapshot_destroy_all(const struct pool *p, const char *uuid, struct zh_error *err)
{
	_cleanup_strv_ char **names = NULL;
	int r = list_snaps(p, uuid, "", &names, err);

	for (size_t i = 0; r >= 0 && names[i]; i++)
		r = pool_subvol_destroy(p, names[i], err);
	return r < 0 ? r : 0;
}

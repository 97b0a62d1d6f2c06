/*
 * image-source.c - image sources (IMGAPI servers): the source list, what
 * they offer, and importing an image from them.  The requests themselves,
 * and every rule that bounds them, are image-http.c's.
 *
 * Owns: <config>/imgadm-sources.json, a JSON array of sources (a URL
 * string, or {"url", "speed_limit"?, "speed_time"?, "max_time"?} for a
 * source with limits of its own), always rewritten atomically; and, during
 * an import, its stage (pool_stage_create) holding the downloaded files,
 * removed before returning whatever happens.
 *
 *     struct image_fetch f = {.limits = IMAGE_HTTP_LIMITS_UNSET, .cancel = &stop};
 *     if (image_source_import(p, uuid, &f, &manifests, &err) < 0) ...
 *
 * Invariants: no network request is made with the host lock (or a VM lock)
 * held.  An import holds "import.<uuid>" throughout; it fetches and checks
 * every manifest of the chain (no cycle, at most IMAGE_ORIGIN_DEPTH_MAX
 * images) before a byte of any file, then downloads and verifies every
 * file into its stage, and only then takes the host lock to install them,
 * origins first.  An install failure deletes the origins that this import
 * installed, so the pool is as it was.  Lock order: "import.<uuid>", then
 * the host lock; callers hold neither (source edits: the caller holds the
 * host lock).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "lock.h"
#include "paths.h"
#include "util.h"

#define SOURCES_FILE "imgadm-sources.json"
#define SOURCES_MAX  (1024 * 1024)

static char *sources_path(void)
{
	return paths_join(paths_config(), SOURCES_FILE);
}

/* ---- limits ---- */

static const struct limit_def {
	const char *name; /* option: "speed-limit" */
	const char *key;  /* in the source list: "speed_limit" */
	long max;
	size_t off;
} limit_defs[] = {
	{"speed-limit", "speed_limit", 1L << 30, offsetof(struct image_http_limits, speed_limit)},
	{"speed-time", "speed_time", 86400L, offsetof(struct image_http_limits, speed_time)},
	{"max-time", "max_time", 30 * 86400L, offsetof(struct image_http_limits, max_time)},
};

static long *limit_field(struct image_http_limits *l, const struct limit_def *d)
{
	return (long *)((char *)l + d->off);
}

static const struct limit_def *limit_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(limit_defs); i++)
		if (streq(limit_defs[i].name, name) || streq(limit_defs[i].key, name))
			return &limit_defs[i];
	return NULL;
}

static bool limit_ok(const struct limit_def *d, int64_t v)
{
	return v >= 0 && v <= d->max;
}

int image_http_limit_parse(const char *name, const char *text, long *out, struct zh_error *err)
{
	const struct limit_def *d = limit_find(name);
	int64_t v = -1;

	if (!d)
		return zh_error_set(err, EINVAL, name, "unknown limit \"%s\"", name);
	if (util_parse_i64(text, &v) < 0)
		return zh_error_set(err, EINVAL, d->name, "--%s %s: not a whole number", d->name,
				    text);
	if (!limit_ok(d, v))
		return zh_error_set(err, EINVAL, d->name, "--%s %s: must be 0 (no limit) to %ld",
				    d->name, text, d->max);
	*out = (long)v;
	return 0;
}

const char *image_source_url(const json_t *source)
{
	return json_is_object(source) ? jsonutil_str(source, "url") : json_string_value(source);
}

void image_source_limits(const json_t *source, const struct image_http_limits *cli, bool file,
			 struct image_http_limits *out)
{
	*out = (struct image_http_limits){IMAGE_SPEED_LIMIT_DEFAULT, IMAGE_SPEED_TIME_DEFAULT,
					  file ? IMAGE_MAX_TIME_FILE_DEFAULT
					       : IMAGE_MAX_TIME_API_DEFAULT};
	for (size_t i = 0; i < ARRAY_SIZE(limit_defs); i++) {
		const struct limit_def *d = &limit_defs[i];
		const json_t *v = json_object_get(source, d->key);
		long c = cli ? *limit_field((struct image_http_limits *)cli, d) : -1;

		if (c >= 0)
			*limit_field(out, d) = c;
		else if (json_is_integer(v))
			*limit_field(out, d) = (long)json_integer_value(v);
	}
}

/* ---- the source list ---- */

static bool url_valid(const char *url)
{
	return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

/* A URL string, or an object with a URL and known limits in range. */
static int entry_check(const json_t *e, const char *path, struct zh_error *err)
{
	const char *key;
	json_t *v;

	if (!url_valid(image_source_url(e)))
		return zh_error_set(err, EINVAL, NULL,
				    "%s: a source that is not an http:// or https:// URL", path);
	json_object_foreach ((json_t *)e, key, v) {
		const struct limit_def *d = limit_find(key);

		if (streq(key, "url"))
			continue;
		if (!d || !streq(d->key, key))
			return zh_error_set(err, EINVAL, NULL, "%s: unknown source setting \"%s\"",
					    path, key);
		if (!json_is_integer(v))
			return zh_error_set(err, EINVAL, NULL, "%s: \"%s\" must be a number", path,
					    key);
		if (!limit_ok(d, json_integer_value(v)))
			return zh_error_set(err, EINVAL, NULL,
					    "%s: \"%s\" must be 0 (no limit) to %ld", path, key,
					    d->max);
	}
	return 0;
}

int image_sources_get(json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = sources_path();
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *list = NULL;
	size_t len = 0, i;
	json_error_t je;
	json_t *e;
	int r;

	if (!path)
		return zh_error_oom(err);
	if (!fsutil_exists(path)) {
		*out = json_array();
		return *out ? 0 : zh_error_oom(err);
	}
	r = fsutil_read_all(path, SOURCES_MAX, &text, &len, err);
	if (r < 0)
		return r;
	list = json_loadb(text, len, 0, &je);
	if (!list || !json_is_array(list))
		return zh_error_set(err, EINVAL, NULL, "%s: not a JSON array of sources", path);
	json_array_foreach (list, i, e)
		if ((r = entry_check(e, path, err)) < 0)
			return r;
	*out = TAKE_PTR(list);
	return 0;
}

static int sources_put(const json_t *list, struct zh_error *err)
{
	_cleanup_free_ char *path = sources_path();
	_cleanup_free_ char *text = json_dumps(list, JSON_INDENT(2));
	int r;

	if (!path || !text)
		return zh_error_oom(err);
	r = fsutil_mkdir_p(paths_config(), 0755, err);
	if (r < 0)
		return r;
	return fsutil_write_atomic(path, text, strlen(text), 0644, err);
}

static ssize_t sources_find(const json_t *list, const char *url)
{
	size_t i;
	json_t *v;

	json_array_foreach (list, i, v)
		if (streq(image_source_url(v) ?: "", url))
			return (ssize_t)i;
	return -1;
}

/* A canonical URL (no trailing slash) or an error naming the argument. */
static int url_normalize(const char *url, char **out, struct zh_error *err)
{
	size_t n = strlen(url);

	if (!url_valid(url))
		return zh_error_set(err, EINVAL, "url",
				    "invalid source URL \"%s\" (http:// or https://)", url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	return *out ? 0 : zh_error_oom(err);
}

/* The list entry for url: the URL itself, or an object when it has limits of its own. */
static json_t *entry_new(const char *url, const struct image_http_limits *lim)
{
	json_t *e = json_pack("{ss}", "url", url);

	for (size_t i = 0; e && lim && i < ARRAY_SIZE(limit_defs); i++) {
		long v = *limit_field((struct image_http_limits *)lim, &limit_defs[i]);

		if (v >= 0 && json_object_set_new(e, limit_defs[i].key, json_integer(v)) < 0) {
			json_decref(e);
			return NULL;
		}
	}
	if (e && json_object_size(e) == 1) {
		json_decref(e);
		return json_string(url);
	}
	return e;
}

int image_sources_add(const char *url, const struct image_http_limits *lim, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	_cleanup_free_ char *u = NULL;
	int r = url_normalize(url, &u, err);

	if (r < 0 || (r = image_sources_get(&list, err)) < 0)
		return r;
	if (sources_find(list, u) >= 0)
		return zh_error_set(err, EEXIST, "url", "source \"%s\" is already configured", u);
	if (json_array_append_new(list, entry_new(u, lim)) < 0)
		return zh_error_oom(err);
	return sources_put(list, err);
}

int image_sources_delete(const char *url, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	_cleanup_free_ char *u = NULL;
	ssize_t i;
	int r = url_normalize(url, &u, err);

	if (r < 0 || (r = image_sources_get(&list, err)) < 0)
		return r;
	i = sources_find(list, u);
	if (i < 0)
		return zh_error_set(err, ENOENT, "url", "source \"%s\" is not configured", u);
	json_array_remove(list, (size_t)i);
	return sources_put(list, err);
}

/* ---- requests ---- */

/* GET <source><path> as JSON text, within the source's limits for an API answer. */
static int source_get(const json_t *source, const char *path, const struct image_fetch *f,
		      size_t max, const char *what, char **url, char **text, size_t *len,
		      struct zh_error *err)
{
	struct image_http_limits lim;

	if (asprintf(url, "%s%s", image_source_url(source), path) < 0) {
		*url = NULL;
		return zh_error_oom(err);
	}
	image_source_limits(source, &f->limits, false, &lim);
	return image_http_get(*url, &lim, f, max, what, text, len, err);
}

/* GET <source><path> as parsed JSON; every error names the URL. */
static int source_get_json(const json_t *source, const char *path, const struct image_fetch *f,
			   size_t max, const char *what, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *url = NULL, *text = NULL;
	size_t len = 0;
	json_error_t je;
	int r = source_get(source, path, f, max, what, &url, &text, &len, err);

	if (r < 0)
		return r;
	*out = json_loadb(text, len, 0, &je);
	if (!*out)
		return zh_error_set(err, EPROTO, "url", "%s: server answered %s", url, je.text);
	return 0;
}

int image_source_avail(const json_t *source, const struct image_fetch *f, json_t **out,
		       struct zh_error *err)
{
	int r = source_get_json(source, "/images", f, IMAGE_ANSWER_MAX, "an image list", out, err);

	if (r < 0 || json_is_array(*out))
		return r;
	json_decref(*out);
	*out = NULL;
	return zh_error_set(err, EPROTO, "url",
			    "%s/images: server answered JSON that is not an array of manifests",
			    image_source_url(source));
}

int image_source_ping(const json_t *source, const struct image_fetch *f, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;

	return source_get_json(source, "/ping", f, IMAGE_MANIFEST_MAX, "a ping answer", &j, err);
}

/* The checked manifest of uuid at source; -ENOENT on HTTP 404. */
static int fetch_manifest(const json_t *source, const char *uuid, const struct image_fetch *f,
			  json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL, *url = NULL, *text = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "/images/%s", uuid) < 0)
		return zh_error_oom(err);
	r = source_get(source, path, f, IMAGE_MANIFEST_MAX, "a manifest", &url, &text, &len, err);
	if (r < 0)
		return r;
	if ((r = image_manifest_parse(text, len, out, err)) < 0)
		return zh_error_prefix(err, "%s", url);
	if (!streq(jsonutil_str(*out, "uuid") ?: "", uuid)) {
		json_decref(*out);
		*out = NULL;
		return zh_error_set(err, EPROTO, "uuid", "%s: manifest has a different uuid", url);
	}
	return 0;
}

/*
 * The manifest of uuid from the first source that has it, as the chain
 * record {"manifest","source"}; -ENOENT when none has it.  child names the
 * image whose origin uuid is (NULL for the image asked for).
 */
static int find_manifest(const json_t *sources, const char *uuid, const char *child,
			 const struct image_fetch *f, json_t **out, struct zh_error *err)
{
	size_t i;
	json_t *s;

	json_array_foreach (sources, i, s) {
		_cleanup_json_ json_t *m = NULL;
		int r = fetch_manifest(s, uuid, f, &m, err);

		if (r == -ENOENT) {
			zh_error_clear(err);
			continue;
		}
		if (r < 0 && child)
			return zh_error_prefix(err, "origin image %s of image %s", uuid, child);
		if (r < 0)
			return r;
		*out = json_pack("{sOsO}", "manifest", m, "source", s);
		return *out ? 0 : zh_error_oom(err);
	}
	if (child)
		return zh_error_set(err, ENOENT, "origin",
				    "origin image %s of image %s was not found in any source", uuid,
				    child);
	return zh_error_set(err, ENOENT, "source", "image %s was not found in any source", uuid);
}

static bool chain_has(const json_t *chain, const char *uuid)
{
	size_t i;
	json_t *c;

	json_array_foreach (chain, i, c)
		if (streq(jsonutil_str(json_object_get(c, "manifest"), "uuid") ?: "", uuid))
			return true;
	return false;
}

/* Is uuid installed in p (its record exists)? */
static bool installed(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *rec = image_record_path(p, uuid);

	return rec && fsutil_exists(rec);
}

/* The next origin to fetch after the chain's first (oldest) image, or NULL when done. */
static int next_origin(const struct pool *p, const json_t *chain, const char **next,
		       struct zh_error *err)
{
	const json_t *m = json_object_get(json_array_get(chain, 0), "manifest");
	const char *uuid = jsonutil_str(m, "uuid");
	const char *o = jsonutil_str(m, "origin");

	*next = NULL;
	if (!o || installed(p, o))
		return 0;
	if (chain_has(chain, o))
		return zh_error_set(err, ELOOP, "origin",
				    "image %s has origin %s, which is already in its origin chain "
				    "(a cycle)",
				    uuid, o);
	if (json_array_size(chain) >= IMAGE_ORIGIN_DEPTH_MAX)
		return zh_error_set(err, ELOOP, "origin",
				    "image %s: the origin chain is longer than %d images", uuid,
				    IMAGE_ORIGIN_DEPTH_MAX);
	*next = o;
	return 0;
}

/* Records {"manifest","source"} of uuid and the origins it needs, oldest first. */
static int resolve_chain(const struct pool *p, const json_t *sources, const char *uuid,
			 const struct image_fetch *f, json_t *chain, struct zh_error *err)
{
	const char *want = uuid, *child = NULL;
	int r;

	while (want) {
		json_t *rec = NULL;

		if ((r = find_manifest(sources, want, child, f, &rec, err)) < 0)
			return r;
		if (json_array_insert_new(chain, 0, rec) < 0)
			return zh_error_oom(err);
		child = want;
		if ((r = next_origin(p, chain, &want, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- import ---- */

struct import {
	const struct pool *p;
	const struct image_fetch *f;
	json_t *chain; /* records {"manifest","source"}, oldest first */
	struct pool_stage stage;
	int fds[IMAGE_ORIGIN_DEPTH_MAX]; /* the verified file of each chain image */
	json_t *done;			 /* the manifests this import installed */
};

static void import_release(struct import *im)
{
	for (size_t i = 0; i < ARRAY_SIZE(im->fds); i++)
		closep(&im->fds[i]);
	pool_stage_destroy(&im->stage);
	json_decref(im->chain);
	json_decref(im->done);
}

static int check_cancel(const struct image_fetch *f, struct zh_error *err)
{
	if (f->cancel && *f->cancel)
		return zh_error_set(err, EINTR, NULL, "interrupted");
	return 0;
}

static const json_t *file0_of(const json_t *rec)
{
	return json_array_get(json_object_get(json_object_get(rec, "manifest"), "files"), 0);
}

static const char *uuid_of(const json_t *rec)
{
	return jsonutil_str(json_object_get(rec, "manifest"), "uuid");
}

/* A stage for the chain's files, as large as they are declared. */
static int stage_chain(struct import *im, struct zh_error *err)
{
	uint64_t total = 0;
	size_t i;
	json_t *c;
	int r;

	json_array_foreach (im->chain, i, c)
		total += (uint64_t)json_integer_value(json_object_get(file0_of(c), "size"));
	r = pool_stage_create(im->p, total, &im->stage, err);
	if (r < 0)
		return zh_error_prefix(
			err, "cannot import image %s",
			uuid_of(json_array_get(im->chain, json_array_size(im->chain) - 1)));
	return 0;
}

static int download_one(struct import *im, size_t i, struct zh_error *err)
{
	const json_t *rec = json_array_get(im->chain, i);
	const json_t *source = json_object_get(rec, "source");
	_cleanup_free_ char *url = NULL;
	struct image_http_limits lim;

	if (asprintf(&url, "%s/images/%s/file", image_source_url(source), uuid_of(rec)) < 0)
		return zh_error_oom(err);
	im->fds[i] = openat(im->stage.fd, uuid_of(rec),
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (im->fds[i] < 0)
		return zh_error_set(err, errno, NULL, "cannot create %s/%s: %m", im->stage.path,
				    uuid_of(rec));
	image_source_limits(source, &im->f->limits, true, &lim);
	return image_http_download(url, &lim, im->f, file0_of(rec), im->fds[i], err);
}

static int download_chain(struct import *im, struct zh_error *err)
{
	size_t n = json_array_size(im->chain);

	for (size_t i = 0; i < n; i++) {
		int r = download_one(im, i, err);

		if (r < 0 && i + 1 < n)
			zh_error_prefix(err, "origin image %s",
					uuid_of(json_array_get(im->chain, i)));
		if (r == 0)
			r = check_cancel(im->f, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Name the URL instead of the staged file in an install error. */
static void install_error(struct zh_error *err, const char *file, const char *url)
{
	const char *at = err->msg ? strstr(err->msg, file) : NULL;
	_cleanup_free_ char *rest = NULL;

	if (at && strncmp(at + strlen(file), ": ", 2) == 0 &&
	    (rest = strdup(at + strlen(file) + 2))) {
		zh_error_reword(err, "%s: %s", url, rest);
		return;
	}
	zh_error_prefix(err, "%s", url);
}

static int install_one(struct import *im, size_t i, struct zh_error *err)
{
	const json_t *rec = json_array_get(im->chain, i);
	const json_t *m = json_object_get(rec, "manifest");
	const char *source = image_source_url(json_object_get(rec, "source"));
	_cleanup_free_ char *file = NULL, *url = NULL;
	int r;

	if (asprintf(&file, "%s/%s", im->stage.path, uuid_of(rec)) < 0 ||
	    asprintf(&url, "%s/images/%s/file", source, uuid_of(rec)) < 0)
		return zh_error_oom(err);
	r = image_install_verified(im->p, m, im->fds[i], file, source, err);
	if (r < 0)
		install_error(err, file, url);
	else if (json_array_append(im->done, (json_t *)m) < 0)
		r = zh_error_oom(err);
	return r;
}

static void delete_quietly(const struct pool *p, const char *uuid)
{
	struct zh_error ignore = ZH_ERROR_INIT;

	image_delete(p, uuid, &ignore);
	zh_error_clear(&ignore);
}

/* Under the host lock: install what is not installed yet, origins first; all or nothing. */
static int install_chain(struct import *im, struct zh_error *err)
{
	_cleanup_close_ int hl = lock_take_until(LOCK_HOST, im->f->cancel, err);
	size_t n = json_array_size(im->chain);
	int r = hl < 0 ? hl : 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((r = check_cancel(im->f, err)) < 0)
			break;
		if (installed(im->p, uuid_of(json_array_get(im->chain, i))))
			continue; /* another command installed it meanwhile */
		r = install_one(im, i, err);
		if (r < 0 && i + 1 < n)
			zh_error_prefix(err, "origin image %s",
					uuid_of(json_array_get(im->chain, i)));
	}
	if (r == 0)
		r = check_cancel(im->f, err);
	for (size_t k = json_array_size(im->done); r < 0 && hl >= 0 && k-- > 0;)
		delete_quietly(im->p, jsonutil_str(json_array_get(im->done, k), "uuid"));
	return r;
}

/* With "import.<uuid>" held: resolve, stage, download, install. */
static int import_locked(struct import *im, const char *uuid, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	int r;

	if ((r = image_sources_get(&list, err)) < 0)
		return r;
	if (json_array_size(list) == 0)
		return zh_error_set(err, ENOENT, "sources", "no image sources configured");
	if ((r = resolve_chain(im->p, list, uuid, im->f, im->chain, err)) < 0 ||
	    (r = check_cancel(im->f, err)) < 0 || (r = stage_chain(im, err)) < 0 ||
	    (r = download_chain(im, err)) < 0)
		return r;
	return install_chain(im, err);
}

int image_source_import(const struct pool *p, const char *uuid, const struct image_fetch *f,
			json_t **installed_out, struct zh_error *err)
{
	_cleanup_free_ char *lock_name = NULL;
	_cleanup_close_ int il = -EBADF;
	struct import im = {.p = p, .f = f, .stage = POOL_STAGE_INIT};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(im.fds); i++)
		im.fds[i] = -EBADF;
	if (!util_is_uuid(uuid))
		return zh_error_set(err, EINVAL, "uuid", "invalid image uuid \"%s\"", uuid);
	if (asprintf(&lock_name, "import.%s", uuid) < 0)
		return zh_error_oom(err);
	if ((il = lock_take_until(lock_name, f->cancel, err)) < 0)
		return il;
	im.chain = json_array();
	im.done = json_array();
	if (!im.chain || !im.done)
		r = zh_error_oom(err);
	else if (installed(p, uuid)) /* by the import we waited for */
		r = 0;
	else
		r = import_locked(&im, uuid, err);
	if (r == 0)
		*installed_out = json_incref(im.done);
	import_release(&im);
	return r;
}

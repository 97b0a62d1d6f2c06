/*
 * image-source.c - image sources (IMGAPI servers): the source list, what
 * they offer, and importing an image from them through libcurl.
 *
 * Owns: <config>/imgadm-sources.json, a JSON array of source URLs (no
 * trailing slash), always rewritten atomically; and, during an import, the
 * temp file <pool mount>/.imgadm/.import-XXXXXX, removed before returning
 * whatever happens.
 *
 *     if (image_source_import(p, uuid, progress, ud, &manifest, &err) < 0) ...
 *
 * Invariants: a download is verified (size, SHA-1 of files[0]) and
 * installed by image_install_manifest(), which leaves nothing on failure;
 * a dropped connection restarts the download from byte 0, at most
 * IMPORT_ATTEMPTS times in all.  An incremental image brings its origin
 * chain: all its manifests are fetched and checked (no cycle, at most
 * IMAGE_ORIGIN_DEPTH_MAX images) before a byte of any file is downloaded,
 * then the images are installed origins first; a failure deletes the
 * origins that this import installed, so the pool is as it was.  Lock
 * order: callers hold the host lock for source edits and imports.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "image.h"
#include "jsonutil.h"
#include "paths.h"
#include "util.h"

#define SOURCES_FILE	"imgadm-sources.json"
#define SOURCES_MAX	(1024 * 1024)
#define JSON_MAX	(64 * 1024 * 1024)
#define IMPORT_ATTEMPTS 3

static char *sources_path(void)
{
	return paths_join(paths_config(), SOURCES_FILE);
}

int image_sources_get(json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = sources_path();
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	json_error_t je;
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
	*out = json_loadb(text, len, 0, &je);
	if (!*out || !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return zh_error_set(err, EINVAL, NULL, "%s: not a JSON array of URLs", path);
	}
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
		if (json_is_string(v) && streq(json_string_value(v), url))
			return (ssize_t)i;
	return -1;
}

/* A canonical URL (no trailing slash) or an error naming the argument. */
static int url_normalize(const char *url, char **out, struct zh_error *err)
{
	size_t n = strlen(url);

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return zh_error_set(err, EINVAL, "url",
				    "invalid source URL \"%s\" (http:// or https://)", url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	return *out ? 0 : zh_error_oom(err);
}

int image_sources_add(const char *url, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	_cleanup_free_ char *u = NULL;
	int r = url_normalize(url, &u, err);

	if (r < 0 || (r = image_sources_get(&list, err)) < 0)
		return r;
	if (sources_find(list, u) >= 0)
		return zh_error_set(err, EEXIST, "url", "source \"%s\" is already configured", u);
	if (json_array_append_new(list, json_string(u)) < 0)
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

/* ---- HTTP ---- */

struct membuf {
	char *data;
	size_t len;
};

static size_t mem_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct membuf *b = ud;
	size_t n = size * nmemb;
	char *d;

	if (b->len + n > JSON_MAX || !(d = realloc(b->data, b->len + n + 1)))
		return 0;
	memcpy(d + b->len, ptr, n);
	b->data = d;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static CURL *http_new(const char *url)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "zonehost-imgadm");
	return c;
}

/* Map a finished transfer to 0, -ENOENT (HTTP 404) or an error naming url. */
static int http_result(CURL *c, CURLcode rc, const char *url, struct zh_error *err)
{
	long code = 0;

	if (rc == CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_HTTP_RETURNED_ERROR && code == 404)
		return zh_error_set(err, ENOENT, "url", "%s: HTTP 404 (not found)", url);
	if (rc == CURLE_HTTP_RETURNED_ERROR)
		return zh_error_set(err, EIO, "url", "%s: HTTP error %ld", url, code);
	return zh_error_set(err, EIO, "url", "%s: %s", url, curl_easy_strerror(rc));
}

static void curl_cleanupp(CURL **c)
{
	if (*c)
		curl_easy_cleanup(*c);
}

static int http_get_mem(const char *url, struct membuf *b, struct zh_error *err)
{
	_cleanup_(curl_cleanupp) CURL *c = http_new(url);
	CURLcode rc;

	if (!c)
		return zh_error_oom(err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(c);
	return http_result(c, rc, url, err);
}

int image_source_avail(const char *source, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *url = NULL;
	struct membuf b = {0};
	json_error_t je;
	int r;

	if (asprintf(&url, "%s/images", source) < 0)
		return zh_error_oom(err);
	r = http_get_mem(url, &b, err);
	if (r == 0) {
		*out = json_loadb(b.data ? b.data : "", b.len, 0, &je);
		if (!*out || !json_is_array(*out))
			r = zh_error_set(err, EPROTO, "url", "%s: server answered %s", url,
					 *out ? "JSON that is not an array of manifests" : je.text);
	}
	free(b.data);
	if (r < 0 && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return r;
}

/* The checked manifest of uuid at source; -ENOENT on HTTP 404. */
static int fetch_manifest(const char *source, const char *uuid, json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *url = NULL;
	struct membuf b = {0};
	int r;

	if (asprintf(&url, "%s/images/%s", source, uuid) < 0)
		return zh_error_oom(err);
	r = http_get_mem(url, &b, err);
	if (r == 0 && (r = image_manifest_parse(b.data ? b.data : "", b.len, out, err)) < 0)
		zh_error_prefix(err, "%s", url);
	free(b.data);
	if (r == 0 && !streq(jsonutil_str(*out, "uuid") ?: "", uuid)) {
		json_decref(*out);
		*out = NULL;
		r = zh_error_set(err, EPROTO, "uuid", "%s: manifest has a different uuid", url);
	}
	return r;
}

/*
 * The manifest of uuid from the first source that has it, as the chain
 * record {"manifest","source"}; -ENOENT when none has it.  child names the
 * image whose origin uuid is (NULL for the image asked for).
 */
static int find_manifest(const json_t *sources, const char *uuid, const char *child, json_t **out,
			 struct zh_error *err)
{
	size_t i;
	json_t *s;

	json_array_foreach (sources, i, s) {
		_cleanup_json_ json_t *m = NULL;
		int r = fetch_manifest(json_string_value(s), uuid, &m, err);

		if (r == -ENOENT) {
			zh_error_clear(err);
			continue;
		}
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
			 json_t *chain, struct zh_error *err)
{
	const char *want = uuid, *child = NULL;
	int r;

	while (want) {
		json_t *rec = NULL;

		if ((r = find_manifest(sources, want, child, &rec, err)) < 0)
			return r;
		if (json_array_insert_new(chain, 0, rec) < 0)
			return zh_error_oom(err);
		child = want;
		if ((r = next_origin(p, chain, &want, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- download ---- */

struct download {
	int fd;
	image_progress_fn progress;
	void *ud;
	uint64_t total;
};

static size_t file_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct download *d = ud;
	size_t n = size * nmemb;

	for (size_t off = 0; off < n;) {
		ssize_t w = write(d->fd, ptr + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	return n;
}

static int file_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	struct download *d = ud;

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (d->progress)
		d->progress(d->ud, (uint64_t)dlnow, d->total);
	return 0;
}

static bool retryable(CURLcode rc)
{
	return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR;
}

static int download_once(const char *url, struct download *d, CURLcode *rc, struct zh_error *err)
{
	_cleanup_(curl_cleanupp) CURL *c = http_new(url);

	if (!c)
		return zh_error_oom(err);
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return zh_error_set(err, errno, NULL, "truncate download file: %m");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, file_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	*rc = curl_easy_perform(c);
	return http_result(c, *rc, url, err);
}

static int download(const char *url, struct download *d, struct zh_error *err)
{
	CURLcode rc = CURLE_OK;
	int r = -EIO;

	for (int i = 0; i < IMPORT_ATTEMPTS; i++) {
		zh_error_clear(err);
		r = download_once(url, d, &rc, err);
		if (r == 0 || !retryable(rc))
			return r;
	}
	return zh_error_prefix(err, "after %d attempts", IMPORT_ATTEMPTS);
}

/* Name the URL instead of the (removed) temp file in an install error. */
static void install_error(struct zh_error *err, const char *tmp, const char *url)
{
	const char *at = err->msg ? strstr(err->msg, tmp) : NULL;
	_cleanup_free_ char *rest = NULL;

	if (at && strncmp(at + strlen(tmp), ": ", 2) == 0 &&
	    (rest = strdup(at + strlen(tmp) + 2))) {
		zh_error_reword(err, "%s: %s", url, rest);
		return;
	}
	zh_error_prefix(err, "%s", url);
}

static int import_from(const struct pool *p, const char *source, const json_t *m,
		       struct download *d, struct zh_error *err)
{
	_cleanup_free_ char *dir = paths_join(p->mountpoint, ".imgadm");
	_cleanup_free_ char *tmp = NULL, *url = NULL;
	const json_t *f = json_array_get(json_object_get(m, "files"), 0);
	int r;

	if (!dir || asprintf(&tmp, "%s/.import-XXXXXX", dir) < 0 ||
	    asprintf(&url, "%s/images/%s/file", source, jsonutil_str(m, "uuid")) < 0)
		return zh_error_oom(err);
	r = fsutil_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	d->fd = mkostemp(tmp, O_CLOEXEC);
	if (d->fd < 0)
		return zh_error_set(err, errno, NULL, "create %s: %m", tmp);
	d->total = (uint64_t)json_integer_value(json_object_get(f, "size"));
	r = download(url, d, err);
	if (r == 0 && (r = image_install_manifest(p, m, tmp, source, err)) < 0)
		install_error(err, tmp, url);
	unlink(tmp);
	closep(&d->fd);
	return r;
}

static void delete_quietly(const struct pool *p, const char *uuid)
{
	struct zh_error ignore = ZH_ERROR_INIT;

	image_delete(p, uuid, &ignore);
	zh_error_clear(&ignore);
}

/* Delete, newest first, the images of done (which this import installed). */
static void undo_installed(const struct pool *p, const json_t *done)
{
	for (size_t i = json_array_size(done); i-- > 0;)
		delete_quietly(p, jsonutil_str(json_array_get(done, i), "uuid"));
}

static int install_chain(const struct pool *p, const json_t *chain, struct download *d,
			 json_t *done, struct zh_error *err)
{
	size_t i;
	json_t *c;

	json_array_foreach (chain, i, c) {
		json_t *m = json_object_get(c, "manifest");
		int r = import_from(p, jsonutil_str(c, "source"), m, d, err);

		if (r == 0 && json_array_append(done, m) < 0) {
			r = zh_error_oom(err);
			delete_quietly(p, jsonutil_str(m, "uuid"));
		}
		if (r < 0) {
			if (i + 1 < json_array_size(chain))
				zh_error_prefix(err, "origin image %s", jsonutil_str(m, "uuid"));
			undo_installed(p, done);
			return r;
		}
	}
	return 0;
}

int image_source_import(const struct pool *p, const char *uuid, image_progress_fn progress,
			void *ud, json_t **installed_out, struct zh_error *err)
{
	_cleanup_json_ json_t *list = NULL;
	_cleanup_json_ json_t *chain = json_array();
	_cleanup_json_ json_t *done = json_array();
	struct download d = {.fd = -EBADF, .progress = progress, .ud = ud};
	int r;

	if (!chain || !done)
		return zh_error_oom(err);
	if ((r = image_sources_get(&list, err)) < 0)
		return r;
	if (json_array_size(list) == 0)
		return zh_error_set(err, ENOENT, "sources", "no image sources configured");
	if ((r = resolve_chain(p, list, uuid, chain, err)) < 0 ||
	    (r = install_chain(p, chain, &d, done, err)) < 0)
		return r;
	*installed_out = TAKE_PTR(done);
	return 0;
}

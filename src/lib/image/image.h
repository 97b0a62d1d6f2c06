/*
 * image.h - installed zone images and their manifests (SmartOS image
 * manifest v2).
 *
 * Owns: the image datasets "<uuid>" (read-only subvolume holding root/)
 * and "<uuid>@final" (its read-only snapshot, which VMs clone), and the
 * image records <pool mount>/.imgadm/<uuid>.json holding
 * {"manifest":{...},"zpool":"<pool>","source"?:...}.  A record is written
 * last, atomically, so an image is either fully installed (record present)
 * or absent; an install that fails removes everything it made.
 *
 *     if (image_install(p, "img.json", "img.tar.gz", &err) < 0) ...
 *     json_t *info = NULL;
 *     if (image_get(p, uuid, &info, &err) == -ENOENT) ...   (imgadm exit 3)
 *
 * An incremental image (manifest "origin") is a writable snapshot of its
 * origin's @final with the image's tar applied on top (whiteouts delete),
 * then made read-only with its own @final like any image; its origin must
 * be installed first and cannot be deleted while it is installed.
 *
 * Lock order: callers hold the host lock for install/delete.
 */
#ifndef ZH_IMAGE_H
#define ZH_IMAGE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

/*
 * Check a manifest object (pure: no I/O).  Fills err with the field name
 * in prop and the reason.  Fuzzed by tests/fuzz/fuzz-manifest.c.
 */
int image_manifest_check(const json_t *manifest, struct zh_error *err);

/* Parse + check manifest text (len bytes, need not be NUL-terminated). */
int image_manifest_parse(const char *text, size_t len, json_t **out, struct zh_error *err);

/* A zvol image's dataset holds this one raw disk file (docs/architecture.md §13). */
#define IMAGE_ZVOL_DISK "disk"

/*
 * Install: verify the file's size and SHA-1 against files[0], unpack the
 * tar (none|gzip|bzip2|xz|zstd) into <uuid>/root (a zvol image: decompress
 * its raw disk into <uuid>/IMAGE_ZVOL_DISK), make it read-only,
 * snapshot @final, write the record.  -EEXIST if already installed.  With
 * an "origin": -ENOENT (prop "origin", naming it) unless the origin is
 * installed in the pool; the dataset starts as a snapshot of the origin's
 * @final and the tar is applied with image_unpack_layer().
 */
int image_install(const struct pool *p, const char *manifest_path, const char *file_path,
		  struct zh_error *err);

/* {"manifest":{...},"zpool":..,"clones":N}; -ENOENT when not installed. */
int image_get(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err);

/* Array of image_get() objects, sorted by manifest published_at then name. */
int image_list(const struct pool *p, json_t **out, struct zh_error *err);

/*
 * -ENOENT when not installed; -EBUSY (with the VM count) while VMs use it,
 * or (naming the child) while it is the origin of an installed image.
 */
int image_delete(const struct pool *p, const char *uuid, struct zh_error *err);

/* ---- additions beyond the original contract ---- */

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (the manifest's published_at form). */
bool image_timestamp_valid(const char *s);

/*
 * Read (at most 1 MiB), parse and check the manifest at path.  Messages
 * name the file: "manifest <path>: ..." (JSON errors with line/column).
 */
int image_manifest_load(const char *path, json_t **out, struct zh_error *err);

/*
 * image_install() with an already loaded and checked manifest; source (the
 * image server it came from, or NULL) is kept in the record for imgadm get.
 */
int image_install_manifest(const struct pool *p, const json_t *manifest, const char *file_path,
			   const char *source, struct zh_error *err);

/*
 * image_install_manifest() of a file already verified against the
 * manifest's files[0] (size and SHA-1; image-http.c does it as it
 * downloads): fd is open on it, at offset 0, and only this process can
 * write it.  label names it in messages.
 */
int image_install_verified(const struct pool *p, const json_t *manifest, int fd, const char *label,
			   const char *source, struct zh_error *err);

/*
 * Open file_path and check it against files[0] of the manifest: regular
 * file, size first, then SHA-1 (streamed).  Returns an fd positioned at 0
 * (O_CLOEXEC), so what is unpacked is what was verified.
 */
int image_file_verify(const json_t *manifest, const char *file_path, struct zh_error *err);

/*
 * Unpack the tar stream on fd (any compression libarchive knows) under the
 * existing directory root, refusing "..", absolute paths and extraction
 * through symlinks; owners, modes, times, xattrs and ACLs are kept, device
 * nodes are skipped (the zone runtime provides /dev).  label names the
 * file in messages.  On failure, what was written stays under root for the
 * caller to remove.  Changes the process's working directory while it
 * runs (restored before returning): not for threaded callers.
 */
int image_unpack(int fd, const char *root, const char *label, struct zh_error *err);

/*
 * image_unpack() for an incremental image: root already holds the origin's
 * files, and the tar holds what changed.  Each entry's path is checked with
 * image_layer_path(); a whiteout deletes the entry it names (without
 * following symlinks: one reached through a symlink is refused); a
 * non-directory replaces a directory (its whole tree) as well as a file;
 * an empty archive is fine.  On failure, root is left for the caller to
 * remove, with the whole dataset.
 */
int image_unpack_layer(int fd, const char *root, const char *label, struct zh_error *err);

/* ---- incremental images (origin chains) ---- */

/*
 * The longest origin chain, in images (the newest one included), that an
 * import follows and that create -i makes.
 */
#define IMAGE_ORIGIN_DEPTH_MAX 32

#define IMAGE_LAYER_ENTRY    0
#define IMAGE_LAYER_WHITEOUT 1
#define IMAGE_LAYER_OPAQUE   2

/*
 * Classify the path of an entry of an incremental image's tar (pure; OCI
 * layer rules).  IMAGE_LAYER_ENTRY: an ordinary entry, *norm its path
 * without "." and empty components ("" for the root).
 * IMAGE_LAYER_WHITEOUT: a ".wh.NAME" entry, *norm the path of the entry it
 * deletes ("a/.wh.b" -> "a/b").  IMAGE_LAYER_OPAQUE: a ".wh..wh..opq"
 * entry, *norm the directory whose origin entries it deletes ("a/b/.wh..wh..opq"
 * -> "a/b", "" for the root).  -EINVAL, with *why a reason to follow the
 * entry's name ("has a \"..\" component"), for an absolute path, a ".."
 * component, a ".wh." component that is not the last, any other
 * reserved ".wh..wh.*" name, a whiteout of "", "." or "..", a path of
 * PATH_MAX bytes or more.  -ENOMEM.  *norm is freed by the caller.
 * Fuzzed by tests/fuzz/fuzz-layer.c.
 */
int image_layer_path(const char *path, char **norm, const char **why);

/*
 * Installed images in p whose origin is uuid: their number into *count,
 * the first one's uuid into *first (which may be NULL).
 */
int image_children(const struct pool *p, const char *uuid, size_t *count, char **first,
		   struct zh_error *err);

/*
 * Number of images in uuid's chain (uuid, its origin, that one's origin,
 * ...) as far as they are installed; stops, with ELOOP, past
 * IMAGE_ORIGIN_DEPTH_MAX.  -ENOENT when uuid itself is not installed.
 */
int image_origin_depth(const struct pool *p, const char *uuid, unsigned *depth,
		       struct zh_error *err);

/*
 * imgadm vacuum: the image_list() records of the images that can go, in
 * the order to delete them.  An image can go when no VM uses it and every
 * installed image that has it as origin goes too; children come before
 * their origins, so an origin is deleted only with (after) all its
 * children, and the origins of a kept image are kept.
 */
int image_vacuum_plan(const struct pool *p, json_t **out, struct zh_error *err);

/* "<pool mount>/.imgadm/<uuid>.json"; NULL on ENOMEM. */
char *image_record_path(const struct pool *p, const char *uuid);

/* Number of VMs in the pool whose image_uuid (or a disk's) is uuid; first one's uuid into first
 * (may be NULL). */
int image_clones(const struct pool *p, const char *uuid, size_t *count, char **first,
		 struct zh_error *err);

/* ---- image sources (image-source.c, image-http.c) ---- */

/* Called while downloading: bytes so far and the expected total. */
typedef void (*image_progress_fn)(void *ud, uint64_t done, uint64_t total);

/*
 * Limits on each HTTP request to an image source (docs/man/imgadm.8,
 * LIMITS).  A request during which fewer than speed_limit bytes/s arrive
 * for speed_time s is abandoned (connecting must succeed within speed_time
 * s too), and so is one that lasts max_time s (a file download's retries
 * included).  In a setting, -1 means "not set here" (the source's setting
 * applies, else the default) and 0 means "no limit".
 */
struct image_http_limits {
	long speed_limit; /* bytes/s */
	long speed_time;  /* s */
	long max_time;	  /* s */
};

#define IMAGE_HTTP_LIMITS_UNSET \
	{                       \
		-1, -1, -1      \
	}
#define IMAGE_SPEED_LIMIT_DEFAULT   1024L  /* bytes/s */
#define IMAGE_SPEED_TIME_DEFAULT    30L	   /* s */
#define IMAGE_MAX_TIME_API_DEFAULT  300L   /* s, a manifest, an image list, a ping */
#define IMAGE_MAX_TIME_FILE_DEFAULT 86400L /* s, an image file */
#define IMAGE_REDIRECTS_MAX	    5
#define IMAGE_MANIFEST_MAX	    (1u << 20)	/* bytes of a manifest, local or remote */
#define IMAGE_ANSWER_MAX	    (64u << 20) /* bytes of any other JSON answer */
#define IMAGE_JSON_VALUES_MAX	    (1u << 20)	/* values in any JSON answer (memory) */

/*
 * Check a limit given as text (an option) or JSON (a source's setting):
 * name is "speed-limit" (bytes/s, at most 1 GiB/s), "speed-time" (s, at
 * most a day) or "max-time" (s, at most 30 days); 0 turns it off.
 * -EINVAL (prop name) otherwise.
 */
int image_http_limit_parse(const char *name, const char *text, long *out, struct zh_error *err);

/* What one import, avail or check is told by its caller. */
struct image_fetch {
	struct image_http_limits limits; /* from the command line; -1: unset */
	/*
	 * Set by the caller's SIGINT/SIGTERM handler (installed without
	 * SA_RESTART): the request in flight stops within about a second,
	 * what was made is removed, and the call returns -EINTR.
	 */
	const volatile sig_atomic_t *cancel;
	image_progress_fn progress; /* bytes so far and the file's size; may be NULL */
	void *ud;
};

/*
 * The configured sources, in the order they are tried: a JSON array whose
 * entries are URL strings or {"url", "speed_limit"?, "speed_time"?,
 * "max_time"?} objects (empty when none).  A file that is not that is an
 * error naming it.
 */
int image_sources_get(json_t **out, struct zh_error *err);

/* A source entry's URL (NULL for a malformed entry). */
const char *image_source_url(const json_t *source);

/*
 * The limits for a request to source: each of cli's that is set (>= 0),
 * else the source's, else the default; max_time's default is that of an
 * image file when file, else that of an API answer.
 */
void image_source_limits(const json_t *source, const struct image_http_limits *cli, bool file,
			 struct image_http_limits *out);

/*
 * Add a source URL (http:// or https://) with its own limits (lim may be
 * NULL; -1 fields are not stored); remove one.  -EEXIST / -ENOENT.
 */
int image_sources_add(const char *url, const struct image_http_limits *lim, struct zh_error *err);
int image_sources_delete(const char *url, struct zh_error *err);

/* GET <source>/images: the JSON array of manifests the source offers. */
int image_source_avail(const json_t *source, const struct image_fetch *f, json_t **out,
		       struct zh_error *err);

/* GET <source>/ping: 0 when the source answers with JSON (imgadm sources -c). */
int image_source_ping(const json_t *source, const struct image_fetch *f, struct zh_error *err);

/*
 * Import uuid from the first source that has it.  Holds the lock
 * "import.<uuid>" throughout (a second import of the same image waits, then
 * finds it installed: *installed_out empty) and no other lock while it
 * talks to the network: the manifest (and every manifest of the origin
 * chain) is fetched and checked; the files are downloaded into one stage
 * (pool_stage_create: a qgroup limit of their declared sizes, refused when
 * the pool lacks the space), each one's size and SHA-1 checked as it
 * arrives (image-http.c); then the host lock is taken and the images are
 * installed from the verified files, origins first, skipping any that
 * another command installed meanwhile.  A chain is refused before any
 * download when it has a cycle or is longer than IMAGE_ORIGIN_DEPTH_MAX.
 * Nothing is left on failure or cancellation (-EINTR): the stage goes and
 * the images this import installed are deleted again.  *installed_out
 * gets the array of the manifests installed, origins first.  -ENOENT when
 * no source has uuid (or an origin: prop "origin").
 */
int image_source_import(const struct pool *p, const char *uuid, const struct image_fetch *f,
			json_t **installed_out, struct zh_error *err);

/*
 * Counting the values of JSON text as it streams in, to refuse an answer
 * that would take too much memory to parse: values (start at 1) is an
 * upper bound of the values and keys in the text seen so far, whatever
 * the chunks it came in (the '[', '{', ',' and ':' outside strings, plus
 * one).  Pure; fuzzed by tests/fuzz/fuzz-json-scan.c.
 */
struct image_json_scan {
	size_t values;
	bool in_str, esc;
};

#define IMAGE_JSON_SCAN_INIT    \
	{                       \
		1, false, false \
	}

void image_json_scan(struct image_json_scan *s, const char *p, size_t n);

#endif

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

/*
 * Install: verify the file's size and SHA-1 against files[0], unpack the
 * tar (none|gzip|bzip2|xz|zstd) into <uuid>/root, make it read-only,
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

/*
 * Classify the path of an entry of an incremental image's tar (pure; OCI
 * layer rules).  IMAGE_LAYER_ENTRY: an ordinary entry, *norm its path
 * without "." and empty components ("" for the root).
 * IMAGE_LAYER_WHITEOUT: a ".wh.NAME" entry, *norm the path of the entry it
 * deletes ("a/.wh.b" -> "a/b").  -EINVAL, with *why a reason to follow the
 * entry's name ("has a \"..\" component"), for an absolute path, a ".."
 * component, a ".wh." component that is not the last, an opaque or
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

/*
 * imgadm create: an image (manifest v2 + tar file) from a stopped VM's zone
 * root.  fields holds manifest fields from -m and field=value (name and
 * version required); compression is none|gzip|bzip2|xz|zstd (NULL: gzip);
 * output_dir NULL means ".".  Writes NAME-VERSION.imgmanifest and
 * NAME-VERSION.tar[.ext] through temp names renamed at the end, so a
 * failure leaves no output file.  The paths written go to *manifest_out and
 * *file_out.  -ENOENT (prop "vm_uuid") for an unknown VM, -EBUSY (prop
 * "state") for a VM that is not stopped.
 *
 * incremental (imgadm create -i): the VM's image O must be installed; the
 * tar holds only what differs from O's @final, and the manifest gets
 * "origin": O.  An entry is unchanged when its type, mode, uid, gid, size,
 * mtime, ctime (both to the nanosecond) and, for a symlink, target are the
 * same; contents are not read (a btrfs snapshot keeps ctime, and any write,
 * chmod, chown or link bumps it).  Entries of O missing from the VM become
 * whiteouts ".wh.NAME"; a name starting with ".wh." in the VM is refused
 * (prop "-i"), as is an origin chain that would pass IMAGE_ORIGIN_DEPTH_MAX.
 */
struct image_create_opts {
	const char *vm_uuid;
	const json_t *fields;
	const char *compression;
	const char *output_dir;
	bool incremental;
};

int image_create(const struct image_create_opts *o, char **manifest_out, char **file_out,
		 struct zh_error *err);

/* ---- image sources (image-source.c) ---- */

/* The configured source URLs: a JSON array of strings (empty when none). */
int image_sources_get(json_t **out, struct zh_error *err);

/* Add / remove a source URL (http:// or https://); -EEXIST / -ENOENT. */
int image_sources_add(const char *url, struct zh_error *err);
int image_sources_delete(const char *url, struct zh_error *err);

/* GET <source>/images: the JSON array of manifests the source offers. */
int image_source_avail(const char *source, json_t **out, struct zh_error *err);

/* Called while downloading: bytes so far and the expected total. */
typedef void (*image_progress_fn)(void *ud, uint64_t done, uint64_t total);

/*
 * Import uuid from the first source that has it: fetch and check the
 * manifest, download the file to a temp file in the pool (a dropped
 * connection restarts it, 3 attempts in all), install it with
 * image_install_manifest(), remove the temp file.  An image with an origin
 * that is not installed brings its chain: every manifest is fetched first
 * (each from the first source that has it) until an origin that is
 * installed or an image with none, refusing a cycle and a chain longer
 * than IMAGE_ORIGIN_DEPTH_MAX before any download; then the images are
 * installed, origins first.  Nothing is left on failure: the origins this
 * import installed are deleted again.  *installed_out gets the array of
 * the manifests installed, origins first.  -ENOENT when no source has uuid
 * (or an origin: prop "origin").
 */
int image_source_import(const struct pool *p, const char *uuid, image_progress_fn progress,
			void *ud, json_t **installed_out, struct zh_error *err);

#endif

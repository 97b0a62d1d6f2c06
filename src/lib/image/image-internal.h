/*
 * image-internal.h - what the image module's files share.  Not part of the
 * library's interface: only the files of src/lib/image include it.
 *
 *   image.c          the store: records, install, get, list, delete
 *   image-unpack.c   verifying and unpacking an image file
 *   image-apply.c    whiteouts and replaced entries of an incremental image
 *   image-origin.c   origin chains: children, depth, vacuum order
 *   image-source.c   image sources and imports
 *   image-http.c     bounded HTTP requests to image sources
 *   image-docker*.c  Docker and OCI image tars (image-docker.h)
 */
#ifndef ZH_IMAGE_INTERNAL_H
#define ZH_IMAGE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "image.h"
#include "pool.h"

/* The record {"manifest",...} of an installed image; -ENOENT (prop "uuid") if none. */
int image_record_load(const struct pool *p, const char *uuid, json_t **out, struct zh_error *err);

/* Append the uuids of every record in p (unsorted) to the array arr. */
int image_record_uuids(const struct pool *p, json_t *arr, struct zh_error *err);

/*
 * Applying an incremental image's tar on top of its origin's files
 * (image-apply.c).  rootfd is the root being written (the working
 * directory of the extraction); written is the set of paths that the
 * archive has written so far, with their ancestors.
 */
struct image_layer {
	int rootfd;
	json_t *written;
	const char *label;
};

/* Open the working directory as the layer's root. */
int image_layer_open(struct image_layer *l, const char *label, struct zh_error *err);
void image_layer_close(struct image_layer *l);

/*
 * Called before each entry is extracted.  A whiteout is applied here: the
 * entry it names is deleted, without following symlinks (a missing entry
 * is fine), and 1 is returned (skip the entry).  For any other entry, a
 * directory that a non-directory replaces is deleted, the path is
 * remembered, and 0 is returned (extract it).  A path that is not valid
 * (image_layer_path), a whiteout of what this archive wrote itself, or a
 * whiteout reached through a symlink is refused with an error naming the
 * entry.
 */
int image_layer_entry(struct image_layer *l, const char *path, bool is_dir, struct zh_error *err);

/*
 * GET url into *text (NUL-terminated, *len bytes; freed by the caller),
 * within lim and the rules of image-http.c; an answer over max bytes or
 * IMAGE_JSON_VALUES_MAX values is refused (-EFBIG) as soon as it is, what
 * ("a manifest") naming the cap.  -ENOENT on HTTP 404; every error names
 * url.
 */
int image_http_get(const char *url, const struct image_http_limits *lim,
		   const struct image_fetch *f, size_t max, const char *what, char **text,
		   size_t *len, struct zh_error *err);

/*
 * Download url into fd (truncated first, and on each retry), never more
 * than file0's "size" bytes; 0 once its size and SHA-1 match file0, with
 * fd back at offset 0.  Every error names url.
 */
int image_http_download(const char *url, const struct image_http_limits *lim,
			const struct image_fetch *f, const json_t *file0, int fd,
			struct zh_error *err);

/*
 * A zvol image's manifest before its file is read (image-zvol.c):
 * "image_size" an integer of MiB (1 to 64 TiB), no "origin", and room for
 * the whole disk in the pool's free space.
 */
int image_zvol_check(const struct pool *p, const json_t *manifest, struct zh_error *err);

/*
 * Decompress the verified file on fd (files[0].compression) into the new
 * file IMAGE_ZVOL_DISK in the dataset dsfd, by an unprivileged child;
 * sparse; refused unless it is exactly image_size MiB.  On failure the
 * partial file stays for the caller to remove with the dataset.
 */
int image_zvol_write(int fd, int dsfd, const json_t *manifest, const char *label,
		     struct zh_error *err);

/* The "origin" of an image record's manifest, or NULL. */
const char *image_origin_of(const json_t *rec);

/* Write the record that makes manifest's image installed (atomic; source may be NULL). */
int image_record_write(const struct pool *p, const json_t *manifest, const char *source,
		       struct zh_error *err);

/*
 * The files of a Docker or OCI image tar, staged and hashed
 * (image-docker-spool.c).  files maps each entry's normalised path to
 * {"file": name in the stage, "size", "sha256", "sha1"} or {"link": path}.
 */
struct docker_spool {
	struct pool_stage stage;
	json_t *files;
	const char *label; /* the tar's path, for messages */
	uint64_t left;	   /* bytes the stage may still take */
};

#define DOCKER_SPOOL_INIT                \
	{                                \
		.stage = POOL_STAGE_INIT \
	}

int docker_spool_fill(const struct pool *p, const char *path, struct docker_spool *s,
		      struct zh_error *err);
void docker_spool_release(struct docker_spool *s);

/* A docker import's failure: "-f <file>: <why>", prop "-f"; returns -en. */
int docker_fail(const char *file, struct zh_error *err, int en, const char *fmt, ...)
	_printf_(4, 5);
/* The file entry at path (links followed inside the tar), or NULL. */
const json_t *docker_spool_find(const struct docker_spool *s, const char *path);
/* A new read-only fd on the staged file of f, at offset 0. */
int docker_spool_open(const struct docker_spool *s, const json_t *f, struct zh_error *err);
/* The document at path, at most IMAGE_MANIFEST_MAX bytes (-EFBIG naming it). */
int docker_spool_read(const struct docker_spool *s, const char *path, char **text, size_t *len,
		      struct zh_error *err);
/* The sha256 (hex) of f's data decompressed; what names the layer in messages. */
int docker_spool_diff_id(const struct docker_spool *s, const json_t *f, const char *what,
			 char hex[65], struct zh_error *err);

#endif

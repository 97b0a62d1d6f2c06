/*
 * image-docker.h - Docker and OCI image tars as zone images of type
 * "docker" (docs/architecture.md §18, "Docker images").
 *
 * Two parts: the parsers of the JSON documents such a tar holds
 * (image-docker.c: pure, fuzzed by tests/fuzz/fuzz-docker-manifest.c) and
 * the import of a whole tar (image-docker-import.c).
 *
 *     struct image_docker_ref ref = IMAGE_DOCKER_REF_INIT;
 *     if (image_docker_archive_parse(text, len, "manifest.json", &ref, &err) < 0) ...
 *     image_docker_ref_clear(&ref);
 *
 *     json_t *done = NULL;
 *     if (image_docker_import(p, "busybox.tar", &done, &err) < 0) ...
 *
 * Every parser error names the document and the field, as
 * "manifest.json: [0].Layers: must be an array of 1 to 32 strings", with
 * prop "-f" (the file the document came from).
 */
#ifndef ZH_IMAGE_DOCKER_H
#define ZH_IMAGE_DOCKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pool.h"

/* "sha256:" and 64 lowercase hex digits: the only digest form accepted. */
#define IMAGE_DIGEST_LEN (7 + 64)

/* The most layers an image may have: each is an image of the origin chain. */
#define IMAGE_DOCKER_LAYERS_MAX 32

/* Caps on what a config may hold (strings in bytes). */
#define IMAGE_DOCKER_ARGS_MAX 4096
#define IMAGE_DOCKER_STR_MAX  (64u << 10)

/* A document or blob the image names. */
struct image_docker_desc {
	char *ref;    /* docker-archive: its path in the tar; OCI: its digest */
	int64_t size; /* OCI: the descriptor's size; -1 for docker-archive */
};

/* What an image's top document names: its config, its layers, its names. */
struct image_docker_ref {
	struct image_docker_desc config;
	struct image_docker_desc layers[IMAGE_DOCKER_LAYERS_MAX];
	size_t nlayers;
	json_t *repo_tags; /* array of "repo:tag" strings, maybe empty */
};

#define IMAGE_DOCKER_REF_INIT           \
	{                               \
		.config = {.size = -1 } \
	}

void image_docker_ref_clear(struct image_docker_ref *ref);

/* What the image config says (the parts kept). */
struct image_docker_config {
	/* {"Entrypoint"?: [..], "Cmd"?: [..], "Env"?: [..], "WorkingDir"?: "", "User"?: ""} */
	json_t *run;
	char *diff_ids[IMAGE_DOCKER_LAYERS_MAX]; /* "sha256:<hex>", one per layer */
	size_t ndiff;
	char *created; /* "YYYY-MM-DDTHH:MM:SSZ", or NULL */
	char *os, *arch;
};

void image_docker_config_clear(struct image_docker_config *c);

/* Is s "sha256:" followed by 64 lowercase hex digits? */
bool image_digest_valid(const char *s);

/* docker save's manifest.json: [{"Config","RepoTags","Layers"}], exactly one image. */
int image_docker_archive_parse(const char *text, size_t len, const char *what,
			       struct image_docker_ref *out, struct zh_error *err);

/*
 * An OCI layout's index.json: the one image manifest it names (nested
 * indexes are refused) into *manifest; its name, if any, into *name (NULL
 * otherwise): the "io.containerd.image.name" annotation, else
 * "org.opencontainers.image.ref.name".
 */
int image_oci_index_parse(const char *text, size_t len, const char *what,
			  struct image_docker_desc *manifest, char **name, struct zh_error *err);

/* An OCI (or Docker v2.2) image manifest: config and layer descriptors. */
int image_oci_manifest_parse(const char *text, size_t len, const char *what,
			     struct image_docker_ref *out, struct zh_error *err);

/* An image config: the run settings, rootfs.diff_ids, created, os, architecture. */
int image_docker_config_parse(const char *text, size_t len, const char *what,
			      struct image_docker_config *out, struct zh_error *err);

/*
 * The uuid of the image for a chain of n digests ("sha256:<hex>" each):
 * the first 16 bytes of the SHA-256 of the digests' text one after the
 * other, as a version 5 (name-based, SHA) uuid.  Layer i of an image is
 * the chain of diff_ids 0..i; the top image adds the config's digest, so
 * two images differing only in their config share every layer but the top.
 */
int image_docker_uuid(char *const *digests, size_t n, char out[37]);

/*
 * Import a docker-archive (`docker save`) or OCI image layout tar: every
 * blob is copied into a stage and checked (sha256 against its digest, each
 * layer's uncompressed sha256 against the config's rootfs.diff_ids) before
 * any layer is unpacked; then, under the host lock, each layer not
 * installed yet becomes an image of type docker whose origin is the one
 * below.  Nothing is left on failure: the stage goes and the images this
 * import installed are deleted again.  *installed_out: the manifests
 * installed, base first (empty when all were installed already); *top_out
 * (may be NULL): the top image's uuid.
 */
int image_docker_import(const struct pool *p, const char *path, json_t **installed_out,
			char **top_out, struct zh_error *err);

#endif

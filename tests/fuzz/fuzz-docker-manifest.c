/*
 * fuzz-docker-manifest.c - libFuzzer target for the documents of Docker and
 * OCI image tars (image-docker.c): docker save's manifest.json, an OCI
 * index.json, an OCI image manifest and an image config.  The first byte
 * picks the parser; the rest is the document.  Seeds in
 * tests/fuzz/corpus/fuzz-docker-manifest/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image-docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int r, const struct zh_error *err)
{
	if (r < 0 && (!err->msg || !err->errnum))
		__builtin_trap();
}

static void one(unsigned which, const char *text, size_t len)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct image_docker_ref ref = IMAGE_DOCKER_REF_INIT;
	struct image_docker_config cfg = {0};
	struct image_docker_desc d = {.size = -1};
	char *name = NULL;
	int r;

	switch (which % 4) {
	case 0: r = image_docker_archive_parse(text, len, "manifest.json", &ref, &err); break;
	case 1: r = image_oci_index_parse(text, len, "index.json", &d, &name, &err); break;
	case 2: r = image_oci_manifest_parse(text, len, "manifest", &ref, &err); break;
	default: r = image_docker_config_parse(text, len, "config", &cfg, &err); break;
	}
	check_error(r, &err);
	if (r == 0 && which % 4 != 1 && which % 4 != 3 &&
	    (ref.nlayers == 0 || ref.nlayers > IMAGE_DOCKER_LAYERS_MAX || !ref.config.ref))
		__builtin_trap();
	if (r == 0 && which % 4 == 3 && (cfg.ndiff == 0 || !cfg.run))
		__builtin_trap();
	image_docker_ref_clear(&ref);
	image_docker_config_clear(&cfg);
	free(d.ref);
	free(name);
	zh_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	one(data[0], (const char *)data + 1, size - 1);
	return 0;
}

/*
 * imgadm-docker.c - `imgadm import -f FILE`: a docker-archive (docker save)
 * or OCI image layout tar as images of type docker (imgadm.8; the library
 * side is src/lib/image/image-docker.h, docs/architecture.md §18).
 *
 * Prints one line per image installed, base layer first:
 *     Imported image <uuid> (docker-layer@<short diff_id>)
 *     Imported image <uuid> (<repo>@<tag>)
 * or, when every layer was installed already,
 *     Image <uuid> (<repo>@<tag>) is already installed, skipping
 * Errors: "imgadm: error: -f FILE: <what is wrong>", exit 1, nothing left.
 */
#include <stdio.h>

#include "cmdutil.h"
#include "image-docker.h"
#include "image.h"
#include "imgadm.h"
#include "jsonutil.h"

static void print_done(const struct pool *p, const json_t *done, const char *top)
{
	_cleanup_json_ json_t *info = NULL;
	struct zh_error err = ZH_ERROR_INIT;
	size_t i;
	json_t *m;

	json_array_foreach (done, i, m)
		printf("Imported image %s (%s@%s)\n", jsonutil_str(m, "uuid"),
		       jsonutil_str(m, "name"), jsonutil_str(m, "version"));
	if (json_array_size(done) > 0)
		return;
	if (image_get(p, top, &info, &err) < 0) {
		zh_error_clear(&err);
		return;
	}
	m = json_object_get(info, "manifest");
	printf("Image %s (%s@%s) is already installed, skipping\n", top, jsonutil_str(m, "name"),
	       jsonutil_str(m, "version"));
}

int imgadm_import_file(const struct pool *p, const char *file, bool quiet)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *done = NULL;
	_cleanup_free_ char *top = NULL;

	if (image_docker_import(p, file, &done, &top, &err) < 0) {
		fprintf(stderr, "imgadm: error: %s\n", err.msg);
		zh_error_clear(&err);
		return EXIT_ERR;
	}
	if (!quiet)
		print_done(p, done, top);
	return EXIT_OK;
}

/*
 * image-docker.c - the JSON documents of Docker and OCI image tars (pure).
 *
 * Owns nothing at run time: each parser turns one document's text into a
 * plain struct or refuses it, naming the document and the field.  The
 * import (image-docker-import.c) acts on the result; the fuzzer
 * (tests/fuzz/fuzz-docker-manifest.c) drives every parser.
 *
 * Documents (docs/architecture.md §18, "Docker images"):
 *   manifest.json  (docker save)  [{"Config": path, "RepoTags": [..]|null,
 *                                   "Layers": [path, ..]}]
 *   index.json     (OCI layout)   {"manifests": [{"mediaType", "digest",
 *                                   "size", "annotations"?}]}
 *   image manifest (OCI, v2.2)    {"config": desc, "layers": [desc, ..]}
 *   image config                  {"config": {Entrypoint, Cmd, Env,
 *                                   WorkingDir, User}, "rootfs":
 *                                   {"type": "layers", "diff_ids": [..]},
 *                                   "created", "os", "architecture"}
 * Bounds: at most IMAGE_DOCKER_LAYERS_MAX layers, IMAGE_DOCKER_ARGS_MAX
 * strings in an array, IMAGE_DOCKER_STR_MAX bytes in a string; digests are
 * sha256 only.  Unknown fields are ignored, as Docker does.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "image-docker.h"
#include "image.h"
#include "jsonutil.h"
#include "util.h"

#define PROP "-f"

/* streq() for a string that may be NULL. */
static bool str_is(const char *s, const char *want)
{
	return s && streq(s, want);
}

static int bad(struct zh_error *err, const char *what, const char *field, const char *why)
{
	return zh_error_set(err, EINVAL, PROP, "%s: %s: %s", what, field, why);
}

static int load(const char *text, size_t len, const char *what, json_t **out, struct zh_error *err)
{
	json_error_t je;

	if (len > IMAGE_MANIFEST_MAX)
		return zh_error_set(err, EFBIG, PROP, "%s: %zu bytes is more than %u", what, len,
				    IMAGE_MANIFEST_MAX);
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return zh_error_set(err, EINVAL, PROP, "%s: %s at line %d, column %d", what,
				    je.text, je.line, je.column);
	return 0;
}

bool image_digest_valid(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != IMAGE_DIGEST_LEN)
		return false;
	for (s += 7; *s; s++)
		if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
			return false;
	return true;
}

/* A bounded string without NUL (jansson refuses \u0000 already). */
static bool is_str(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) <= IMAGE_DOCKER_STR_MAX;
}

static bool is_str_array(const json_t *v, size_t max)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > max)
		return false;
	json_array_foreach (v, i, e)
		if (!is_str(e))
			return false;
	return true;
}

static int dup_str(const json_t *v, char **out, struct zh_error *err)
{
	*out = strdup(json_string_value(v));
	return *out ? 0 : zh_error_oom(err);
}

void image_docker_ref_clear(struct image_docker_ref *ref)
{
	free(ref->config.ref);
	for (size_t i = 0; i < ref->nlayers; i++)
		free(ref->layers[i].ref);
	json_decref(ref->repo_tags);
	*ref = (struct image_docker_ref)IMAGE_DOCKER_REF_INIT;
}

void image_docker_config_clear(struct image_docker_config *c)
{
	json_decref(c->run);
	for (size_t i = 0; i < c->ndiff; i++)
		free(c->diff_ids[i]);
	free(c->created);
	free(c->os);
	free(c->arch);
	*c = (struct image_docker_config){0};
}

/* ---- docker save: manifest.json ---- */

static int archive_layers(const json_t *v, const char *what, struct image_docker_ref *out,
			  struct zh_error *err)
{
	size_t i;
	json_t *e;

	if (!is_str_array(v, IMAGE_DOCKER_LAYERS_MAX) || json_array_size(v) == 0)
		return bad(err, what, "[0].Layers", "must be an array of 1 to 32 file names");
	json_array_foreach (v, i, e) {
		out->layers[i].size = -1;
		if (dup_str(e, &out->layers[i].ref, err) < 0)
			return -ENOMEM;
		out->nlayers = i + 1;
	}
	return 0;
}

static int archive_tags(const json_t *v, const char *what, struct image_docker_ref *out,
			struct zh_error *err)
{
	if (!v || json_is_null(v))
		out->repo_tags = json_array();
	else if (!is_str_array(v, IMAGE_DOCKER_ARGS_MAX))
		return bad(err, what, "[0].RepoTags", "must be an array of strings or null");
	else
		out->repo_tags = json_deep_copy(v);
	return out->repo_tags ? 0 : zh_error_oom(err);
}

int image_docker_archive_parse(const char *text, size_t len, const char *what,
			       struct image_docker_ref *out, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	const json_t *img, *cfg;
	int r = load(text, len, what, &j, err);

	if (r < 0)
		return r;
	if (!json_is_array(j) || json_array_size(j) != 1)
		return bad(err, what, "top level",
			   "must be an array of exactly one image (one image per import)");
	img = json_array_get(j, 0);
	cfg = json_object_get(img, "Config");
	if (!json_is_object(img))
		return bad(err, what, "[0]", "must be an object");
	if (!is_str(cfg) || json_string_length(cfg) == 0)
		return bad(err, what, "[0].Config", "must be a file name");
	if ((r = dup_str(cfg, &out->config.ref, err)) < 0 ||
	    (r = archive_layers(json_object_get(img, "Layers"), what, out, err)) < 0 ||
	    (r = archive_tags(json_object_get(img, "RepoTags"), what, out, err)) < 0)
		return r;
	return 0;
}

/* ---- OCI: descriptors, index.json, the image manifest ---- */

static const char *const manifest_types[] = {
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	NULL,
};

static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
	NULL,
};

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (streq(s, *list))
			return true;
	return false;
}

/* A descriptor {mediaType (one of types, or absent when optional), digest, size}. */
static int desc_parse(const json_t *d, const char *what, const char *field,
		      const char *const *types, bool type_optional, struct image_docker_desc *out,
		      struct zh_error *err)
{
	const json_t *mt = json_object_get(d, "mediaType");
	const json_t *size = json_object_get(d, "size");
	const char *digest = jsonutil_str(d, "digest");
	char f[96];

	if (!json_is_object(d))
		return bad(err, what, field, "must be an object (a descriptor)");
	snprintf(f, sizeof(f), "%s.mediaType", field);
	if (!(mt == NULL && type_optional) && !in_list(json_string_value(mt), types))
		return bad(err, what, f, "is not a supported media type");
	snprintf(f, sizeof(f), "%s.digest", field);
	if (!image_digest_valid(digest))
		return bad(err, what, f, "must be \"sha256:\" and 64 lowercase hex digits");
	snprintf(f, sizeof(f), "%s.size", field);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return bad(err, what, f, "must be a number of bytes");
	out->size = json_integer_value(size);
	out->ref = strdup(digest);
	return out->ref ? 0 : zh_error_oom(err);
}

/* containerd's full name (io.containerd.image.name), else the OCI ref name. */
static int index_name(const json_t *m, char **name, struct zh_error *err)
{
	const json_t *a = json_object_get(m, "annotations");
	const json_t *n = json_object_get(a, "io.containerd.image.name");

	*name = NULL;
	if (!is_str(n))
		n = json_object_get(a, "org.opencontainers.image.ref.name");
	if (!is_str(n))
		return 0;
	*name = strdup(json_string_value(n));
	return *name ? 0 : zh_error_oom(err);
}

int image_oci_index_parse(const char *text, size_t len, const char *what,
			  struct image_docker_desc *manifest, char **name, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	const json_t *ms, *m;
	int r = load(text, len, what, &j, err);

	*name = NULL;
	if (r < 0)
		return r;
	ms = json_object_get(j, "manifests");
	if (!json_is_object(j))
		return bad(err, what, "top level", "must be an object");
	if (!json_is_array(ms) || json_array_size(ms) != 1)
		return bad(err, what, "manifests",
			   "must be an array of exactly one image manifest (one image per import)");
	m = json_array_get(ms, 0);
	if (str_is(jsonutil_str(m, "mediaType"), "application/vnd.oci.image.index.v1+json"))
		return bad(err, what, "manifests[0].mediaType",
			   "names a nested index, which is not supported");
	r = desc_parse(m, what, "manifests[0]", manifest_types, true, manifest, err);
	if (r < 0)
		return r;
	return index_name(m, name, err);
}

static int manifest_layers(const json_t *v, const char *what, struct image_docker_ref *out,
			   struct zh_error *err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > IMAGE_DOCKER_LAYERS_MAX)
		return bad(err, what, "layers", "must be an array of 1 to 32 descriptors");
	json_array_foreach (v, i, e) {
		char f[32];
		int r;

		snprintf(f, sizeof(f), "layers[%zu]", i);
		r = desc_parse(e, what, f, layer_types, false, &out->layers[i], err);
		if (r < 0)
			return r;
		out->nlayers = i + 1;
	}
	return 0;
}

int image_oci_manifest_parse(const char *text, size_t len, const char *what,
			     struct image_docker_ref *out, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *mt;
	int r = load(text, len, what, &j, err);

	if (r < 0)
		return r;
	if (!json_is_object(j))
		return bad(err, what, "top level", "must be an object");
	if (json_integer_value(json_object_get(j, "schemaVersion")) != 2)
		return bad(err, what, "schemaVersion", "must be 2");
	mt = jsonutil_str(j, "mediaType");
	if (mt && !in_list(mt, manifest_types))
		return bad(err, what, "mediaType", "is not an image manifest's");
	if ((r = desc_parse(json_object_get(j, "config"), what, "config", config_types, false,
			    &out->config, err)) < 0 ||
	    (r = manifest_layers(json_object_get(j, "layers"), what, out, err)) < 0)
		return r;
	out->repo_tags = json_array();
	return out->repo_tags ? 0 : zh_error_oom(err);
}

/* ---- the image config ---- */

static const char *const run_arrays[] = {"Entrypoint", "Cmd", "Env"};
static const char *const run_strings[] = {"WorkingDir", "User"};

static int run_copy(const json_t *cfg, const char *what, json_t *run, struct zh_error *err)
{
	char f[32];

	for (size_t i = 0; i < ARRAY_SIZE(run_arrays); i++) {
		const json_t *v = json_object_get(cfg, run_arrays[i]);

		snprintf(f, sizeof(f), "config.%s", run_arrays[i]);
		if (!v || json_is_null(v))
			continue;
		if (!is_str_array(v, IMAGE_DOCKER_ARGS_MAX))
			return bad(err, what, f, "must be an array of strings or null");
		if (json_object_set(run, run_arrays[i], (json_t *)v) < 0)
			return zh_error_oom(err);
	}
	for (size_t i = 0; i < ARRAY_SIZE(run_strings); i++) {
		const json_t *v = json_object_get(cfg, run_strings[i]);

		snprintf(f, sizeof(f), "config.%s", run_strings[i]);
		if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
			continue;
		if (!is_str(v))
			return bad(err, what, f, "must be a string");
		if (json_object_set(run, run_strings[i], (json_t *)v) < 0)
			return zh_error_oom(err);
	}
	return 0;
}

static int config_diff_ids(const json_t *rootfs, const char *what, struct image_docker_config *c,
			   struct zh_error *err)
{
	const json_t *ids = json_object_get(rootfs, "diff_ids");
	size_t i;
	json_t *e;

	if (!json_is_object(rootfs) || !str_is(jsonutil_str(rootfs, "type"), "layers"))
		return bad(err, what, "rootfs",
			   "must be {\"type\": \"layers\", \"diff_ids\": [..]}");
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > IMAGE_DOCKER_LAYERS_MAX)
		return bad(err, what, "rootfs.diff_ids", "must be an array of 1 to 32 digests");
	json_array_foreach (ids, i, e) {
		if (!image_digest_valid(json_string_value(e)))
			return bad(err, what, "rootfs.diff_ids",
				   "must hold \"sha256:\" and 64 lowercase hex digits");
		if (dup_str(e, &c->diff_ids[i], err) < 0)
			return -ENOMEM;
		c->ndiff = i + 1;
	}
	return 0;
}

/* "created" to the manifest's published_at form, seconds only; NULL if not a date. */
static int config_created(const json_t *v, struct image_docker_config *c, struct zh_error *err)
{
	char ts[24];

	if (!json_is_string(v) || json_string_length(v) < 19)
		return 0;
	snprintf(ts, sizeof(ts), "%.19sZ", json_string_value(v));
	if (!image_timestamp_valid(ts))
		return 0;
	c->created = strdup(ts);
	return c->created ? 0 : zh_error_oom(err);
}

static int config_platform(const json_t *j, const char *what, struct image_docker_config *c,
			   struct zh_error *err)
{
	const json_t *os = json_object_get(j, "os"), *arch = json_object_get(j, "architecture");

	if (os && !(json_is_string(os) && json_string_length(os) <= 64))
		return bad(err, what, "os", "must be a string");
	if (arch && !(json_is_string(arch) && json_string_length(arch) <= 64))
		return bad(err, what, "architecture", "must be a string");
	if (os && !(c->os = strdup(json_string_value(os))))
		return zh_error_oom(err);
	if (arch && !(c->arch = strdup(json_string_value(arch))))
		return zh_error_oom(err);
	return 0;
}

int image_docker_config_parse(const char *text, size_t len, const char *what,
			      struct image_docker_config *out, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	const json_t *cfg;
	int r = load(text, len, what, &j, err);

	if (r < 0)
		return r;
	if (!json_is_object(j))
		return bad(err, what, "top level", "must be an object");
	cfg = json_object_get(j, "config");
	if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
		return bad(err, what, "config", "must be an object or null");
	if (!(out->run = json_object()))
		return zh_error_oom(err);
	if ((r = run_copy(cfg, what, out->run, err)) < 0 ||
	    (r = config_diff_ids(json_object_get(j, "rootfs"), what, out, err)) < 0 ||
	    (r = config_platform(j, what, out, err)) < 0)
		return r;
	return config_created(json_object_get(j, "created"), out, err);
}

/* ---- uuids ---- */

int image_docker_uuid(char *const *digests, size_t n, char out[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, digests[i], strlen(digests[i])) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -ENOMEM;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10],
		 md[11], md[12], md[13], md[14], md[15]);
	return 0;
}

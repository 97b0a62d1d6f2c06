/*
 * image-docker-import.c - `imgadm import -f`: a docker-archive or OCI
 * image layout tar becomes a chain of images of type docker
 * (docs/architecture.md §18, "Docker images").
 *
 * Owns: one import's state, from the staged files (image-docker-spool.c)
 * to the images it installed (deleted again if a later one fails).
 *
 * Steps: stage and hash every file of the tar; find the format
 * (manifest.json: docker save; oci-layout + index.json: OCI); parse the
 * documents (image-docker.c); check every blob the image names against
 * its digest (and, OCI, its size), and each layer's uncompressed sha256
 * against the config's rootfs.diff_ids; only then, under the host lock,
 * install each layer not installed yet with image_install_verified(), the
 * layer rules of image-apply.c applying (whiteouts, opaque directories,
 * no path out of the root, no symlink followed).
 *
 * Identity: layer i is the image image_docker_uuid(diff_ids[0..i]), so
 * images with the same lower layers share them; the top layer's image adds
 * the config digest and carries the image: name (the repo), version (the
 * tag), tags "docker:repo", "docker:id" (the config digest, Docker's image
 * id), "docker:tag:<tag>": true, "docker:architecture" and "docker:config"
 * ({Entrypoint, Cmd, Env, WorkingDir, User}), which vmadm create reads.
 * Importing the same image again installs nothing; tags of its repo that
 * the installed top image lacks are added to its record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image-docker.h"
#include "image-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "lock.h"
#include "util.h"

#define ZERO_UUID    "00000000-0000-0000-0000-000000000000"
#define EPOCH	     "1970-01-01T00:00:00Z"
#define BLOBS	     "blobs/sha256/"
#define SHORT_ID_LEN 12

struct dimport {
	const struct pool *p;
	const char *path;
	struct docker_spool spool;
	struct image_docker_ref ref;
	struct image_docker_config cfg;
	char config_digest[IMAGE_DIGEST_LEN + 1];
	char *name; /* OCI: the image's reference name, or NULL */
	const json_t *layer[IMAGE_DOCKER_LAYERS_MAX];
	json_t *manifests; /* base first */
	json_t *done;	   /* those this import installed */
};

static void dimport_release(struct dimport *im)
{
	docker_spool_release(&im->spool);
	image_docker_ref_clear(&im->ref);
	image_docker_config_clear(&im->cfg);
	free(im->name);
	json_decref(im->manifests);
	json_decref(im->done);
}

/* ---- blobs ---- */

/* 64 hex digits at s, then end (or ".tar"/".json" when ext)? */
static bool hex_name(const char *s, bool ext)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && (!s[64] || (ext && (streq(s + 64, ".tar") || streq(s + 64, ".json"))));
}

/* A file whose name is its digest must hash to it. */
static int check_named_digest(struct dimport *im, const char *path, const json_t *f,
			      struct zh_error *err)
{
	const char *base = strrchr(path, '/');
	const char *got = jsonutil_str(f, "sha256");

	base = base ? base + 1 : path;
	if (!(hex_name(base, true) && (strncmp(path, BLOBS, strlen(BLOBS)) == 0 || base == path)))
		return 0;
	if (strncmp(base, got, 64) != 0)
		return docker_fail(im->path, err, EINVAL,
				   "\"%s\" has sha256 %s, not the digest its name says "
				   "(corrupt or tampered)",
				   path, got);
	return 0;
}

static int file_at(struct dimport *im, const char *path, const json_t **out, struct zh_error *err)
{
	*out = docker_spool_find(&im->spool, path);
	if (!*out)
		return docker_fail(im->path, err, ENOENT, "has no file \"%s\"", path);
	return check_named_digest(im, path, *out, err);
}

/* The blob a descriptor names: present, of its size, of its digest. */
static int blob_at(struct dimport *im, const struct image_docker_desc *d, const json_t **out,
		   struct zh_error *err)
{
	char path[sizeof(BLOBS) + 64], size[32];

	snprintf(path, sizeof(path), BLOBS "%s", d->ref + 7);
	*out = docker_spool_find(&im->spool, path);
	if (!*out)
		return docker_fail(im->path, err, ENOENT, "has no blob %s", d->ref);
	snprintf(size, sizeof(size), "%lld", (long long)d->size);
	if (json_integer_value(json_object_get(*out, "size")) != d->size)
		return docker_fail(im->path, err, EINVAL,
				   "blob %s is not %s bytes, as its descriptor says", d->ref, size);
	if (!streq(jsonutil_str(*out, "sha256"), d->ref + 7))
		return docker_fail(im->path, err, EINVAL,
				   "blob %s does not match its digest (sha256 %s)", d->ref,
				   jsonutil_str(*out, "sha256"));
	return 0;
}

static int read_doc(struct dimport *im, const char *path, char **text, size_t *len,
		    struct zh_error *err)
{
	return docker_spool_read(&im->spool, path, text, len, err);
}

/* ---- the two formats ---- */

static int read_config(struct dimport *im, const char *path, const json_t *f, struct zh_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_doc(im, path, &text, &len, err);

	if (r < 0)
		return r;
	snprintf(im->config_digest, sizeof(im->config_digest), "sha256:%s",
		 jsonutil_str(f, "sha256"));
	r = image_docker_config_parse(text, len, path, &im->cfg, err);
	return r < 0 ? zh_error_prefix(err, "-f %s", im->path) : 0;
}

static int load_archive(struct dimport *im, struct zh_error *err)
{
	_cleanup_free_ char *text = NULL;
	const json_t *f;
	size_t len = 0;
	int r = read_doc(im, "manifest.json", &text, &len, err);

	if (r < 0)
		return r;
	if (image_docker_archive_parse(text, len, "manifest.json", &im->ref, err) < 0)
		return zh_error_prefix(err, "-f %s", im->path);
	if ((r = file_at(im, im->ref.config.ref, &f, err)) < 0 ||
	    (r = read_config(im, im->ref.config.ref, f, err)) < 0)
		return r;
	for (size_t i = 0; i < im->ref.nlayers; i++)
		if ((r = file_at(im, im->ref.layers[i].ref, &im->layer[i], err)) < 0)
			return r;
	return 0;
}

static int load_blob_doc(struct dimport *im, const struct image_docker_desc *d, char **text,
			 size_t *len, const json_t **f, struct zh_error *err)
{
	char path[sizeof(BLOBS) + 64];
	int r = blob_at(im, d, f, err);

	snprintf(path, sizeof(path), BLOBS "%s", d->ref + 7);
	return r < 0 ? r : read_doc(im, path, text, len, err);
}

static int load_oci(struct dimport *im, struct zh_error *err)
{
	_cleanup_free_ char *text = NULL, *mtext = NULL;
	struct image_docker_desc md = {.size = -1};
	const json_t *f;
	size_t len = 0;
	int r;

	if (!docker_spool_find(&im->spool, "oci-layout"))
		return docker_fail(im->path, err, EINVAL, "%s",
				   "has index.json but no oci-layout (not an OCI layout)");
	if ((r = read_doc(im, "index.json", &text, &len, err)) < 0)
		return r;
	if (image_oci_index_parse(text, len, "index.json", &md, &im->name, err) < 0) {
		free(md.ref);
		return zh_error_prefix(err, "-f %s", im->path);
	}
	r = load_blob_doc(im, &md, &mtext, &len, &f, err);
	if (r == 0 && image_oci_manifest_parse(mtext, len, md.ref, &im->ref, err) < 0)
		r = zh_error_prefix(err, "-f %s", im->path);
	free(md.ref);
	if (r < 0)
		return r;
	free(text);
	text = NULL;
	if ((r = load_blob_doc(im, &im->ref.config, &text, &len, &f, err)) < 0)
		return r;
	snprintf(im->config_digest, sizeof(im->config_digest), "%s", im->ref.config.ref);
	if (image_docker_config_parse(text, len, "config", &im->cfg, err) < 0)
		return zh_error_prefix(err, "-f %s", im->path);
	for (size_t i = 0; i < im->ref.nlayers; i++)
		if ((r = blob_at(im, &im->ref.layers[i], &im->layer[i], err)) < 0)
			return r;
	return 0;
}

/* ---- layers against rootfs.diff_ids ---- */

static const char *compression_of(const struct dimport *im, const json_t *f)
{
	unsigned char m[6] = {0};
	_cleanup_close_ int fd = -EBADF;
	struct zh_error ignored = ZH_ERROR_INIT;

	fd = docker_spool_open(&im->spool, f, &ignored);
	zh_error_clear(&ignored);
	if (fd < 0 || pread(fd, m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return "none";
	if (m[0] == 0x1f && m[1] == 0x8b)
		return "gzip";
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return "zstd";
	if (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
		return "bzip2";
	if (m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X' && m[4] == 'Z')
		return "xz";
	return "none";
}

static int check_layer(struct dimport *im, size_t i, struct zh_error *err)
{
	const json_t *f = im->layer[i];
	const char *want = im->cfg.diff_ids[i] + 7;
	char hex[65], what[32];
	int r;

	snprintf(what, sizeof(what), "%zu", i);
	if (streq(compression_of(im, f), "none"))
		snprintf(hex, sizeof(hex), "%s", jsonutil_str(f, "sha256"));
	else if ((r = docker_spool_diff_id(&im->spool, f, what, hex, err)) < 0)
		return r;
	if (!streq(hex, want))
		return docker_fail(
			im->path, err, EINVAL,
			"layer %s does not match the config's rootfs.diff_ids (its sha256 is "
			"%s: corrupt or tampered)",
			what, hex);
	return 0;
}

static int check_layers(struct dimport *im, struct zh_error *err)
{
	char n[24], m[24];

	if (im->cfg.ndiff != im->ref.nlayers) {
		snprintf(n, sizeof(n), "%zu", im->cfg.ndiff);
		snprintf(m, sizeof(m), "%zu", im->ref.nlayers);
		return docker_fail(
			im->path, err, EINVAL,
			"the config's rootfs.diff_ids has %s digests but the image has %s "
			"layers",
			n, m);
	}
	for (size_t i = 0; i < im->ref.nlayers; i++) {
		int r = check_layer(im, i, err);

		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- manifests ---- */

/* "repo:tag" -> repo and tag (tag NULL when there is none); false if not printable. */
static bool split_ref(const char *s, char **repo, char **tag)
{
	const char *slash = strrchr(s, '/'), *colon = strrchr(s, ':');

	*repo = *tag = NULL;
	for (const char *c = s; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@",
			    *c))
			return false;
	if (colon && (!slash || colon > slash)) {
		*repo = strndup(s, (size_t)(colon - s));
		*tag = strdup(colon + 1);
	} else {
		*repo = strdup(s);
	}
	return *repo != NULL;
}

/* The names the image is known by: from RepoTags (docker save) or the OCI ref name. */
static int name_tags(struct dimport *im, json_t *tags, char **repo, char **first_tag,
		     struct zh_error *err)
{
	size_t i;
	json_t *e;

	if (im->name && json_array_append_new(im->ref.repo_tags, json_string(im->name)) < 0)
		return zh_error_oom(err);
	json_array_foreach (im->ref.repo_tags, i, e) {
		_cleanup_free_ char *r = NULL, *t = NULL;
		char key[512];

		if (!split_ref(json_string_value(e), &r, &t))
			return docker_fail(im->path, err, EINVAL,
					   "image name \"%s\" has characters not allowed in one",
					   json_string_value(e));
		if (!t && !strchr(r, '/') && im->name && i == 0) {
			t = TAKE_PTR(r); /* an OCI ref name without '/' or ':' is a tag only */
			r = strdup("");
		}
		if (t && !*t) { /* "repo:" names no tag */
			free(t);
			t = NULL;
		}
		if (!*repo && r && *r)
			*repo = strdup(r);
		if (t && (!*repo || !r || !*r || streq(*repo, r))) {
			snprintf(key, sizeof(key), "docker:tag:%s", t);
			if (json_object_set_new(tags, key, json_true()) < 0)
				return zh_error_oom(err);
			if (!*first_tag)
				*first_tag = strdup(t);
		}
	}
	return 0;
}

static json_t *base_manifest(struct dimport *im, size_t i, const char *uuid, const char *origin)
{
	const json_t *f = im->layer[i];
	json_t *m = json_pack("{si ss ss ss ss ss sb sb ss ss ss s[{ss sI ss ss ss}]}", "v", 2,
			      "uuid", uuid, "owner", ZERO_UUID, "name", "docker-layer", "version",
			      "", "state", "active", "disabled", 0, "public", 0, "published_at",
			      im->cfg.created ? im->cfg.created : EPOCH, "type", "docker", "os",
			      im->cfg.os && streq(im->cfg.os, "linux") ? "linux" : "other", "files",
			      "sha1", jsonutil_str(f, "sha1"), "size",
			      json_integer_value(json_object_get(f, "size")), "compression",
			      compression_of(im, f), "digest", "", "uncompressedDigest",
			      im->cfg.diff_ids[i]);
	char digest[IMAGE_DIGEST_LEN + 1], version[SHORT_ID_LEN + 1];

	if (!m)
		return NULL;
	snprintf(digest, sizeof(digest), "sha256:%s", jsonutil_str(f, "sha256"));
	snprintf(version, sizeof(version), "%s", im->cfg.diff_ids[i] + 7);
	json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "digest",
			    json_string(digest));
	json_object_set_new(m, "version", json_string(version));
	if (origin && json_object_set_new(m, "origin", json_string(origin)) < 0)
		return json_decref(m), NULL;
	return m;
}

static int top_manifest(struct dimport *im, json_t *m, struct zh_error *err)
{
	_cleanup_json_ json_t *tags = json_object();
	_cleanup_free_ char *repo = NULL, *tag = NULL, *desc = NULL;
	char version[129];
	int r;

	if (!tags)
		return zh_error_oom(err);
	if ((r = name_tags(im, tags, &repo, &tag, err)) < 0)
		return r;
	snprintf(version, sizeof(version), "%s", tag ? tag : im->config_digest + 7);
	if (!tag)
		version[SHORT_ID_LEN] = '\0';
	if (asprintf(&desc, "Docker image %s:%s", repo ? repo : "(no name)", version) < 0 ||
	    json_object_set_new(tags, "docker:id", json_string(im->config_digest)) < 0 ||
	    (repo && json_object_set_new(tags, "docker:repo", json_string(repo)) < 0) ||
	    (im->cfg.arch &&
	     json_object_set_new(tags, "docker:architecture", json_string(im->cfg.arch)) < 0) ||
	    json_object_set(tags, "docker:config", im->cfg.run) < 0 ||
	    json_object_set_new(m, "name",
				json_stringn(repo ? repo : "docker-image",
					     repo ? strnlen(repo, 512) : 12)) < 0 ||
	    json_object_set_new(m, "version", json_string(version)) < 0 ||
	    json_object_set_new(m, "description", json_stringn(desc, strnlen(desc, 512))) < 0 ||
	    json_object_set(m, "tags", tags) < 0)
		return zh_error_oom(err);
	return 0;
}

static int make_manifests(struct dimport *im, struct zh_error *err)
{
	char *chain[IMAGE_DOCKER_LAYERS_MAX + 1];
	char uuid[37], origin[37] = "";
	size_t n = im->ref.nlayers;

	if (!(im->manifests = json_array()))
		return zh_error_oom(err);
	for (size_t i = 0; i < n; i++)
		chain[i] = im->cfg.diff_ids[i];
	chain[n] = im->config_digest;
	for (size_t i = 0; i < n; i++) {
		json_t *m;

		if (image_docker_uuid(chain, i + 1 + (i + 1 == n), uuid) < 0 ||
		    !(m = base_manifest(im, i, uuid, *origin ? origin : NULL)) ||
		    json_array_append_new(im->manifests, m) < 0)
			return zh_error_oom(err);
		if (i + 1 == n && top_manifest(im, m, err) < 0)
			return -err->errnum;
		snprintf(origin, sizeof(origin), "%s", uuid);
	}
	return 0;
}

/* ---- install ---- */

static bool installed(const struct pool *p, const char *uuid)
{
	_cleanup_free_ char *rec = image_record_path(p, uuid);

	return rec && access(rec, F_OK) == 0;
}

static int install_layer(struct dimport *im, size_t i, struct zh_error *err)
{
	const json_t *m = json_array_get(im->manifests, i);
	_cleanup_free_ char *label = NULL;
	_cleanup_close_ int fd = docker_spool_open(&im->spool, im->layer[i], err);
	int r;

	if (fd < 0)
		return fd;
	if (asprintf(&label, "%s layer %zu", im->path, i) < 0)
		return zh_error_oom(err);
	r = image_install_verified(im->p, m, fd, label, NULL, err);
	if (r == 0 && json_array_append(im->done, (json_t *)m) < 0)
		r = zh_error_oom(err);
	return r;
}

/*
 * The top image installed already (by another import of the same image):
 * the tags "docker:tag:<tag>" of this import that its record lacks are
 * added to it, when it is of the same repo (docker tag, then save again).
 */
static int add_tags(struct dimport *im, const json_t *m, struct zh_error *err)
{
	const json_t *want = json_object_get(m, "tags");
	_cleanup_json_ json_t *rec = NULL;
	json_t *have, *v;
	bool changed = false;
	const char *k, *repo;
	int r = image_record_load(im->p, jsonutil_str(m, "uuid"), &rec, err);

	if (r < 0)
		return r;
	have = json_object_get(json_object_get(rec, "manifest"), "tags");
	repo = jsonutil_str(have, "docker:repo");
	if (!json_is_object(have) || !repo || !jsonutil_str(want, "docker:repo") ||
	    !streq(repo, jsonutil_str(want, "docker:repo")))
		return 0;
	json_object_foreach ((json_t *)want, k, v) {
		if (strncmp(k, "docker:tag:", 11) != 0 || json_object_get(have, k))
			continue;
		if (json_object_set(have, k, v) < 0)
			return zh_error_oom(err);
		changed = true;
	}
	if (!changed)
		return 0;
	return image_record_write(im->p, json_object_get(rec, "manifest"),
				  jsonutil_str(rec, "source"), err);
}

static int install_all(struct dimport *im, struct zh_error *err)
{
	_cleanup_close_ int hl = lock_take_until(LOCK_HOST, NULL, err);
	size_t n = json_array_size(im->manifests);
	int r = hl < 0 ? hl : 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		const json_t *m = json_array_get(im->manifests, i);

		if (!installed(im->p, jsonutil_str(m, "uuid")))
			r = install_layer(im, i, err);
		else if (i + 1 == n)
			r = add_tags(im, m, err);
	}
	for (size_t k = json_array_size(im->done); r < 0 && hl >= 0 && k-- > 0;) {
		struct zh_error ignore = ZH_ERROR_INIT;

		image_delete(im->p, jsonutil_str(json_array_get(im->done, k), "uuid"), &ignore);
		zh_error_clear(&ignore);
	}
	return r;
}

static int import_steps(struct dimport *im, struct zh_error *err)
{
	int r = docker_spool_fill(im->p, im->path, &im->spool, err);

	if (r < 0)
		return r;
	if (docker_spool_find(&im->spool, "manifest.json"))
		r = load_archive(im, err);
	else if (docker_spool_find(&im->spool, "index.json"))
		r = load_oci(im, err);
	else
		r = docker_fail(
			im->path, err, EINVAL,
			"is neither a docker-archive (manifest.json) nor an OCI image layout "
			"(oci-layout, index.json)");
	if (r < 0 || (r = check_layers(im, err)) < 0 || (r = make_manifests(im, err)) < 0)
		return r;
	return install_all(im, err);
}

int image_docker_import(const struct pool *p, const char *path, json_t **installed_out,
			char **top_out, struct zh_error *err)
{
	struct dimport im = {
		.p = p, .path = path, .spool = DOCKER_SPOOL_INIT, .ref = IMAGE_DOCKER_REF_INIT};
	int r;

	if (!(im.done = json_array()))
		return zh_error_oom(err);
	r = import_steps(&im, err);
	if (r == 0) {
		const json_t *top = json_array_get(im.manifests, json_array_size(im.manifests) - 1);

		*installed_out = json_incref(im.done);
		if (top_out && !(*top_out = strdup(jsonutil_str(top, "uuid"))))
			r = zh_error_oom(err);
	}
	dimport_release(&im);
	return r;
}

/*
 * test-docker.c - the documents of Docker and OCI image tars
 * (image-docker.c): what each parser keeps, what it refuses (naming the
 * field), and the uuids of layer chains.
 */
#include <string.h>

#include "image-docker.h"
#include "tap.h"

int main(void);

#define D0 "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void refused(int (*fn)(const char *, struct zh_error *), const char *text, const char *want)
{
	struct zh_error err = ZH_ERROR_INIT;
	int r = fn(text, &err);

	is_int(r, r == -EFBIG ? -EFBIG : -EINVAL, "refused: %.60s", text);
	ok(err.msg && strstr(err.msg, want), "  message names \"%s\": %s", want,
	   err.msg ? err.msg : "(none)");
	zh_error_clear(&err);
}

static int archive(const char *t, struct zh_error *err)
{
	struct image_docker_ref ref = IMAGE_DOCKER_REF_INIT;
	int r = image_docker_archive_parse(t, strlen(t), "manifest.json", &ref, err);

	image_docker_ref_clear(&ref);
	return r;
}

static int config(const char *t, struct zh_error *err)
{
	struct image_docker_config c = {0};
	int r = image_docker_config_parse(t, strlen(t), "config", &c, err);

	image_docker_config_clear(&c);
	return r;
}

static int oci_manifest(const char *t, struct zh_error *err)
{
	struct image_docker_ref ref = IMAGE_DOCKER_REF_INIT;
	int r = image_oci_manifest_parse(t, strlen(t), "manifest", &ref, err);

	image_docker_ref_clear(&ref);
	return r;
}

static void test_archive(void)
{
	static const char good[] =
		"[{\"Config\":\"c.json\",\"RepoTags\":[\"a/b:1\"],\"Layers\":[\"x/layer.tar\","
		"\"y/layer.tar\"]}]";
	struct image_docker_ref ref = IMAGE_DOCKER_REF_INIT;
	struct zh_error err = ZH_ERROR_INIT;

	is_int(image_docker_archive_parse(good, strlen(good), "manifest.json", &ref, &err), 0,
	       "docker save manifest.json");
	is_str(ref.config.ref, "c.json", "  config");
	is_int((int)ref.nlayers, 2, "  two layers");
	is_str(ref.layers[1].ref, "y/layer.tar", "  layer 1");
	is_str(json_string_value(json_array_get(ref.repo_tags, 0)), "a/b:1", "  repo tag");
	image_docker_ref_clear(&ref);
	refused(archive, "[]", "exactly one image");
	refused(archive, "[{\"Config\":\"c\",\"Layers\":[]}]", "[0].Layers");
	refused(archive, "[{\"Config\":\"c\",\"Layers\":[1]}]", "[0].Layers");
	refused(archive, "[{\"Layers\":[\"l\"]}]", "[0].Config");
	refused(archive, "[{\"Config\":\"c\",\"Layers\":[\"l\"],\"RepoTags\":\"x\"}]",
		"[0].RepoTags");
	refused(archive, "[{", "line 1");
}

static void test_oci(void)
{
	static const char idx[] =
		"{\"manifests\":[{\"digest\":\"" D0 "\",\"size\":3,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}";
	struct image_docker_desc d = {.size = -1};
	struct zh_error err = ZH_ERROR_INIT;
	char *name = NULL;

	is_int(image_oci_index_parse(idx, strlen(idx), "index.json", &d, &name, &err), 0,
	       "index.json");
	is_str(d.ref, D0, "  manifest digest");
	is_str(name, "v1", "  ref name");
	free(d.ref);
	free(name);
	{
		static const char ctr[] =
			"{\"manifests\":[{\"digest\":\"" D0 "\",\"size\":3,\"annotations\":{"
			"\"org.opencontainers.image.ref.name\":\"v1\",\"io.containerd.image.name\":"
			"\"docker.io/library/busybox:v1\"}}]}";

		is_int(image_oci_index_parse(ctr, strlen(ctr), "index.json", &d, &name, &err), 0,
		       "index.json of containerd");
		is_str(name, "docker.io/library/busybox:v1", "  its full name wins");
		free(d.ref);
		free(name);
	}
	refused(oci_manifest, "{\"schemaVersion\":1}", "schemaVersion");
	refused(oci_manifest,
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D0
		"\",\"size\":1},\"layers\":[]}",
		"config.mediaType");
	refused(oci_manifest,
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config."
		"v1+json\",\"digest\":\"sha512:00\",\"size\":1},\"layers\":[]}",
		"config.digest");
	refused(oci_manifest,
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config."
		"v1+json\",\"digest\":\"" D0 "\",\"size\":1},\"layers\":[]}",
		"layers");
}

static void test_config(void)
{
	static const char good[] =
		"{\"os\":\"linux\",\"created\":\"2024-05-01T12:00:00.5+02:00\",\"config\":{\"Cmd\":"
		"[\"a\"],\"Entrypoint\":null,\"WorkingDir\":\"\",\"User\":\"u\"},\"rootfs\":{"
		"\"type\":\"layers\",\"diff_ids\":[\"" D0 "\",\"" D1 "\"]}}";
	struct image_docker_config c = {0};
	struct zh_error err = ZH_ERROR_INIT;

	is_int(image_docker_config_parse(good, strlen(good), "config", &c, &err), 0, "config");
	is_int((int)c.ndiff, 2, "  two diff_ids");
	is_str(c.created, "2024-05-01T12:00:00Z", "  created, seconds");
	ok(json_object_get(c.run, "Cmd") && !json_object_get(c.run, "Entrypoint") &&
		   !json_object_get(c.run, "WorkingDir"),
	   "  null and empty settings dropped");
	is_str(json_string_value(json_object_get(c.run, "User")), "u", "  user");
	image_docker_config_clear(&c);
	refused(config, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"x\"]}}",
		"rootfs.diff_ids");
	refused(config, "{\"rootfs\":{\"diff_ids\":[]}}", "rootfs");
	refused(config,
		"{\"config\":{\"Cmd\":\"sh\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D0
		"\"]}}",
		"config.Cmd");
}

static void test_uuid(void)
{
	char *chain[] = {D0, D1};
	char a[37], b[37], c[37];

	ok(image_docker_uuid(chain, 1, a) == 0 && image_docker_uuid(chain, 2, b) == 0 &&
		   image_docker_uuid(chain, 1, c) == 0,
	   "uuids");
	is_str(a, c, "  deterministic");
	ok(strcmp(a, b) != 0, "  the chain matters");
	ok(a[14] == '5' && strchr("89ab", a[19]), "  version 5, RFC 4122 variant: %s", a);
	ok(image_digest_valid(D0) && !image_digest_valid("sha256:ABC") &&
		   !image_digest_valid("sha256:00") && !image_digest_valid(NULL),
	   "digest form");
}

int main(void)
{
	test_archive();
	test_oci();
	test_config();
	test_uuid();
	return tap_done();
}

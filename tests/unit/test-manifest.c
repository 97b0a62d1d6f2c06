/*
 * test-manifest.c - image manifest v2 checks (image_manifest_check/_parse),
 * one case per field rule of image-manifest.c.
 */
#include <string.h>

#include "image.h"
#include "jsonutil.h"
#include "tap.h"

int main(void);

static const char good[] = "{\"v\":2,\"uuid\":\"2d2bd9ff-2f0e-4bcc-8c3e-7b0d7cb1b3c1\","
			   "\"owner\":\"00000000-0000-0000-0000-000000000000\","
			   "\"name\":\"busybox\",\"version\":\"1.35.0\",\"state\":\"active\","
			   "\"disabled\":false,\"public\":false,\"type\":\"zone-dataset\","
			   "\"os\":\"linux\",\"published_at\":\"2024-01-02T03:04:05.678Z\","
			   "\"files\":[{\"sha1\":\"89ded3774b523bd5157bafdf3ff44e8ed3e844a8\","
			   "\"size\":1036170,\"compression\":\"gzip\"}]}";

static json_t *base(void)
{
	return json_loads(good, 0, NULL);
}

/* Apply "key"=value (JSON text, or NULL to delete) to a copy of good; expect prop/message. */
static void expect(const char *key, const char *value, const char *prop, const char *msg)
{
	json_t *m = base();
	json_t *target = m;
	const char *k = key;
	struct zh_error err = ZH_ERROR_INIT;
	int r;

	if (strncmp(key, "files[0].", 9) == 0) {
		target = json_array_get(json_object_get(m, "files"), 0);
		k = key + 9;
	}
	if (value)
		json_object_set_new(target, k, json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(target, k);
	r = image_manifest_check(m, &err);
	if (!prop) {
		is_int(r, 0, "%s=%s accepted", key, value ? value : "(deleted)");
		if (r < 0)
			printf("#   %s\n", err.msg);
	} else {
		is_int(r, -EINVAL, "%s=%s refused", key, value ? value : "(deleted)");
		is_str(err.prop, prop, "  prop names %s", prop);
		if (msg)
			is_str(err.msg, msg, "  message for %s", key);
	}
	zh_error_clear(&err);
	json_decref(m);
}

static void test_required(void)
{
	static const char *const req[] = {"v",
					  "uuid",
					  "owner",
					  "name",
					  "version",
					  "state",
					  "disabled",
					  "public",
					  "type",
					  "os",
					  "files",
					  "files[0].sha1",
					  "files[0].size",
					  "files[0].compression"};
	char msg[128];

	for (size_t i = 0; i < ARRAY_SIZE(req); i++) {
		snprintf(msg, sizeof(msg), "manifest: \"%s\" is required", req[i]);
		expect(req[i], NULL, req[i], msg);
	}
	expect("published_at", NULL, NULL, NULL);
}

static void test_fields(void)
{
	expect("v", "1", "v", "manifest: \"v\" must be 2");
	expect("v", "\"2\"", "v", NULL);
	expect("uuid", "\"not-a-uuid\"", "uuid", "manifest: \"uuid\" must be a UUID");
	expect("uuid", "\"2D2BD9FF-2F0E-4BCC-8C3E-7B0D7CB1B3C1\"", "uuid", NULL);
	expect("uuid", "42", "uuid", "manifest: \"uuid\" must be a string");
	expect("owner", "\"x\"", "owner", NULL);
	expect("name", "\"\"", "name", "manifest: \"name\" must not be empty");
	expect("name", "[\"busybox\"]", "name", NULL);
	expect("version", "1", "version", NULL);
	expect("state", "\"bogus\"", "state", NULL);
	expect("state", "\"disabled\"", NULL, NULL);
	expect("disabled", "\"no\"", "disabled", "manifest: \"disabled\" must be true or false");
	expect("public", "0", "public", NULL);
	expect("type", "\"tarball\"", "type",
	       "manifest: \"type\" must be one of zone-dataset, lx-dataset, zvol, "
	       "docker, lxd, other");
	expect("type", "\"lx-dataset\"", NULL, NULL);
	expect("type", "\"zvol\"", NULL, NULL);
	expect("os", "\"plan9\"", "os", NULL);
	expect("os", "\"smartos\"", NULL, NULL);
	expect("published_at", "\"yesterday\"", "published_at", NULL);
	expect("published_at", "\"2024-01-02T03:04:05Z\"", NULL, NULL);
	expect("published_at", "\"2024-01-02T03:04:05.Z\"", "published_at", NULL);
	expect("origin", "\"nope\"", "origin", NULL);
	expect("origin", "\"3c1b8f0e-5a4d-4c2b-9e7f-0a1b2c3d4e5f\"", NULL, NULL);
	expect("origin", "\"2d2bd9ff-2f0e-4bcc-8c3e-7b0d7cb1b3c1\"", "origin",
	       "manifest: \"origin\" must not be the image's own uuid");
	expect("description", "7", "description", NULL);
	expect("requirements", "[]", "requirements", NULL);
	expect("requirements", "{\"brand\":\"lx\"}", NULL, NULL);
	expect("tags", "\"x\"", "tags", NULL);
	expect("acl", "[\"x\"]", "acl", NULL);
	expect("billing_tags", "[1]", "billing_tags", NULL);
	expect("icon", "\"yes\"", "icon", NULL);
}

static void test_lengths(void)
{
	char big[600];

	memset(big, 'a', sizeof(big));
	big[0] = '"';
	big[514] = '"';
	big[515] = '\0'; /* 513 characters */
	expect("name", big, "name", "manifest: \"name\" must be at most 512 characters");
	expect("description", big, "description", NULL);
	big[513] = '"';
	big[514] = '\0'; /* 512 */
	expect("name", big, NULL, NULL);
	expect("version", big, "version", "manifest: \"version\" must be at most 128 characters");
	big[129] = '"';
	big[130] = '\0'; /* 128 */
	expect("version", big, NULL, NULL);
	big[129] = '\0';
	expect("homepage", "\"http://example.com/\"", NULL, NULL);
}

static void test_files(void)
{
	const char *bad_sha = "manifest: \"files[0].sha1\" must be 40 hex digits";

	expect("files", "[]", "files", NULL);
	expect("files", "{}", "files", NULL);
	expect("files", "[1]", "files[0]", NULL);
	expect("files[0].sha1", "\"89ded3774b523bd5157bafdf3ff44e8ed3e844a\"", "files[0].sha1",
	       bad_sha);
	expect("files[0].sha1", "\"89ded3774b523bd5157bafdf3ff44e8ed3e844a8a\"", "files[0].sha1",
	       bad_sha);
	expect("files[0].sha1", "\"z9ded3774b523bd5157bafdf3ff44e8ed3e844a8\"", "files[0].sha1",
	       bad_sha);
	expect("files[0].sha1", "40", "files[0].sha1", bad_sha);
	expect("files[0].sha1", "\"89DED3774B523BD5157BAFDF3FF44E8ED3E844A8\"", NULL, NULL);
	expect("files[0].size", "-1", "files[0].size", NULL);
	expect("files[0].size", "\"100\"", "files[0].size", NULL);
	expect("files[0].size", "21474836481", "files[0].size", NULL);
	expect("files[0].size", "0", NULL, NULL);
	expect("files[0].compression", "\"lz4\"", "files[0].compression",
	       "manifest: \"files[0].compression\" must be one of none, gzip, bzip2, xz, zstd");
	for (const char *const *c = (const char *const[]){"\"none\"", "\"gzip\"", "\"bzip2\"",
							  "\"xz\"", "\"zstd\"", NULL};
	     *c; c++)
		expect("files[0].compression", *c, NULL, NULL);
}

static void test_parse(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *m = NULL;

	is_int(image_manifest_parse(good, strlen(good), &m, &err), 0, "good manifest parses");
	ok(m && json_is_object(m), "  object returned");
	json_decref(m);
	m = NULL;
	is_int(image_manifest_parse("{\"v\":2,", 7, &m, &err), -EINVAL, "truncated JSON refused");
	ok(err.msg && strstr(err.msg, "line 1") && strstr(err.msg, "column"),
	   "  message has line and column: %s", err.msg);
	zh_error_clear(&err);
	is_int(image_manifest_parse("[1]", 3, &m, &err), -EINVAL, "array refused");
	zh_error_clear(&err);
	is_int(image_manifest_parse(good, 10, &m, &err), -EINVAL, "length respected");
	zh_error_clear(&err);
	ok(m == NULL, "nothing returned on failure");
	is_int(image_manifest_check(NULL, &err), -EINVAL, "NULL manifest refused");
	zh_error_clear(&err);
}

int main(void)
{
	test_required();
	test_fields();
	test_lengths();
	test_files();
	test_parse();
	return tap_done();
}

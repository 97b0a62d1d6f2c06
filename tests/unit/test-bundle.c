/*
 * test-bundle.c - the VM bundle codec (bundle.h): header format and parse,
 * the checksum, and the JSON chunk.
 */
#include <string.h>

#include "bundle.h"
#include "jsonutil.h"
#include "tap.h"

static void test_sum(void)
{
	char sum[BUNDLE_SUM_HEX + 1];

	bundle_sum("", 0, sum);
	is_str(sum, "99aa06d3014798d86001c324468d497f", "XXH3-128 of nothing (reference value)");
	bundle_sum("abc", 3, sum);
	is_int(strlen(sum), 32, "32 hex digits");
	is_int(bundle_pad(0), 0, "pad 0");
	is_int(bundle_pad(1), 512, "pad 1");
	is_int(bundle_pad(512), 512, "pad 512");
	is_int(bundle_pad(513), 1024, "pad 513");
}

static void test_header(void)
{
	char hdr[BUNDLE_HDR_SIZE], sum[BUNDLE_SUM_HEX + 1], name[600];
	struct bundle_hdr h;

	bundle_sum("hello", 5, sum);
	is_int(bundle_hdr_format(hdr, "JSON", 5, sum), 0, "format");
	ok(memcmp(hdr,
		  "MAGIC-VMBUNDLE\0"
		  "1\0CHECKSUM\0JSON\0"
		  "5\0"
		  "512\0",
		  30) == 0,
	   "SmartOS layout");
	is_int(bundle_hdr_parse(hdr, &h), 0, "parse");
	is_str(h.name, "JSON", "name");
	is_int(h.size, 5, "size");
	is_int(h.padded, 512, "padded");
	ok(bundle_payload_ok(&h, "hello"), "payload matches");
	ok(!bundle_payload_ok(&h, "hellO"), "a changed byte does not");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	is_int(bundle_hdr_format(hdr, name, 5, sum), -ENAMETOOLONG, "a name too long");
}

static int parse_raw(const char *fields, size_t len)
{
	char hdr[BUNDLE_HDR_SIZE] = {0};
	struct bundle_hdr h;

	memcpy(hdr, fields, len);
	return bundle_hdr_parse(hdr, &h);
}

#define SUM32  "0123456789abcdef0123456789abcdef"
#define RAW(s) parse_raw(s, sizeof(s) - 1)

static void test_bad_headers(void)
{
	char full[BUNDLE_HDR_SIZE];

	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "5\0"
		   "512\0" SUM32 "\0"),
	       0, "good");
	is_int(RAW("MAGIC-VMBUNDLX\0"
		   "1\0CHECKSUM\0x\0"
		   "5\0"
		   "512\0" SUM32 "\0"),
	       -EINVAL, "magic");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "2\0CHECKSUM\0x\0"
		   "5\0"
		   "512\0" SUM32 "\0"),
	       -EINVAL, "version");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUX\0x\0"
		   "5\0"
		   "512\0" SUM32 "\0"),
	       -EINVAL, "CHECKSUM field");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0\0"
		   "5\0"
		   "512\0" SUM32 "\0"),
	       -EINVAL, "empty name");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "5\0"
		   "1024\0" SUM32 "\0"),
	       -EINVAL, "padding that does not match");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "-5\0"
		   "0\0" SUM32 "\0"),
	       -EINVAL, "negative size");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "16777217\0"
		   "16777728\0" SUM32 "\0"),
	       -EINVAL, "payload over 16 MiB");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "5\0"
		   "512\0"
		   "abc\0"),
	       -EINVAL, "short checksum");
	is_int(RAW("MAGIC-VMBUNDLE\0"
		   "1\0CHECKSUM\0x\0"
		   "5\0"
		   "512\0"),
	       -EINVAL, "missing checksum");
	memset(full, 'A', sizeof(full));
	is_int(bundle_hdr_parse(full, &(struct bundle_hdr){0}), -EINVAL, "no NUL at all");
}

static int json(const char *s, char **from)
{
	struct zh_error err = ZH_ERROR_INIT;
	char uuid[UTIL_UUID_LEN + 1];
	json_t *vm = NULL;
	int r = bundle_json_parse(s, strlen(s), &vm, from, uuid, &err);

	if (r == 0 && strcmp(uuid, jsonutil_str(vm, "uuid")) != 0)
		r = -1;
	json_decref(vm);
	zh_error_clear(&err);
	return r;
}

#define U "5e1e5b0e-3c1a-4f55-9f0e-2f7f6b3c9a11"

static void test_json(void)
{
	json_t *vm = json_pack("{s:s,s:s}", "uuid", U, "alias", "a");
	char *s = bundle_json_format(vm, "s1"), *from = NULL;

	is_int(json(s, &from), 0, "format, then parse");
	is_str(from, "s1", "from");
	free(from);
	free(s);
	s = bundle_json_format(vm, NULL);
	is_int(json(s, &from), 0, "a full stream");
	ok(from == NULL, "from null");
	free(s);
	is_int(json("{\"vm\":{\"uuid\":\"" U "\"},\"from\":null}", &from), 0, "explicit null");
	is_int(json("{\"vm\":{\"uuid\":\"nope\"}}", &from), -EINVAL, "bad uuid");
	is_int(json("{\"vm\":[]}", &from), -EINVAL, "vm not an object");
	is_int(json("{\"vm\":{\"uuid\":\"" U "\"},\"from\":\"a/b\"}", &from), -EINVAL,
	       "bad snapshot name");
	is_int(json("{\"vm\":{\"uuid\":\"" U "\"},\"from\":7}", &from), -EINVAL,
	       "from not a string");
	is_int(json("{\"vm\":", &from), -EINVAL, "not JSON");
	json_decref(vm);
}

int main(void)
{
	test_sum();
	test_header();
	test_bad_headers();
	test_json();
	return tap_done();
}

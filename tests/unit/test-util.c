/* Unit tests for util.c, error.c and paths.c. */
#include <errno.h>
#include <stdlib.h>

#include "error.h"
#include "paths.h"
#include "tap.h"
#include "util.h"

static void test_uuid(void)
{
	char a[UTIL_UUID_LEN + 1], b[UTIL_UUID_LEN + 1];

	ok(util_uuid_generate(a) == 0 && util_uuid_generate(b) == 0, "generate");
	ok(util_is_uuid(a), "generated uuid is valid: %s", a);
	ok(strcmp(a, b) != 0, "two uuids differ");
	ok(a[14] == '4', "version 4");
	ok(!util_is_uuid("ABCDEF00-0000-4000-8000-000000000000"), "uppercase rejected");
	ok(util_is_uuid_shape("ABCDEF00-0000-4000-8000-000000000000"), "shape accepts uppercase");
	ok(!util_is_uuid("0000000-00000-0000-0000-000000000000"), "dash position");
	ok(!util_is_uuid(""), "empty");
	ok(!util_is_uuid(NULL), "NULL");
}

static void test_numbers(void)
{
	int64_t v = 0;
	uint64_t u = 0;

	ok(util_parse_i64("123", &v) == 0 && v == 123, "parse 123");
	ok(util_parse_i64("-5", &v) == 0 && v == -5, "parse -5");
	is_int(util_parse_i64("12x", &v), -EINVAL, "trailing garbage");
	is_int(util_parse_i64("", &v), -EINVAL, "empty");
	is_int(util_parse_i64(" 1", &v), -EINVAL, "leading space");
	is_int(util_parse_i64("99999999999999999999", &v), -ERANGE, "overflow");
	is_int(util_parse_u64("-1", &u), -ERANGE, "negative unsigned");
	ok(util_parse_size("20G", &u) == 0 && u == 20ULL << 30, "20G");
	ok(util_parse_size("512m", &u) == 0 && u == 512ULL << 20, "512m");
	ok(util_parse_size("4096", &u) == 0 && u == 4096, "bytes");
	is_int(util_parse_size("G", &u), -EINVAL, "unit alone");
	is_int(util_parse_size("99999999999P", &u), -ERANGE, "size overflow");
}

static void test_timestamp(void)
{
	char t[UTIL_TIMESTAMP_LEN + 1];

	util_timestamp_from(t, 1325313522457LL);
	is_str(t, "2011-12-31T06:38:42.457Z", "timestamp format");
	util_timestamp_now(t);
	is_int(strlen(t), UTIL_TIMESTAMP_LEN, "now has fixed length");
}

static void test_split(void)
{
	char **v = util_split("a,,b,c,", ',');

	is_int(util_strv_len(v), 3, "empty fields dropped");
	is_str(v[0], "a", "first");
	is_str(v[2], "c", "last");
	strv_free(v);
}

static void test_error(void)
{
	struct zh_error err = ZH_ERROR_INIT;

	is_int(zh_error_set(&err, ENOENT, "quota", "bad %d", 1), -ENOENT, "set returns -errno");
	is_str(err.msg, "bad 1", "message");
	is_str(err.prop, "quota", "prop");
	zh_error_prefix(&err, "ctx");
	is_str(err.msg, "ctx: bad 1", "prefix");
	zh_error_clear(&err);
	ok(err.msg == NULL && err.prop == NULL && err.errnum == 0, "clear");
	zh_error_clear(&err);
	ok(1, "clear is idempotent");
}

static void test_paths(void)
{
	char *p;

	setenv("ZONEHOST_ROOT", "/tmp/zr/", 1);
	paths_reset();
	is_str(paths_config(), "/tmp/zr/etc/zonehost", "config under root");
	is_str(paths_run(), "/tmp/zr/run/zonehost", "run under root");
	p = paths_pool_mount("zones");
	is_str(p, "/tmp/zr/zones", "pool mount under root");
	free(p);
	unsetenv("ZONEHOST_ROOT");
	paths_reset();
	is_str(paths_config(), "/etc/zonehost", "default config");
	p = paths_pool_mount("zones");
	is_str(p, "/zones", "default pool mount");
	free(p);
	paths_reset();
}

/* The layout's names: what the table in paths.h says, under ZONEHOST_ROOT. */
static void is_path(char *got, const char *want, const char *what)
{
	is_str(got, want, "%s", what);
	free(got);
}

static void test_layout(void)
{
	static const char u[] = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
	char uuid[UTIL_UUID_LEN + 1];

	setenv("ZONEHOST_ROOT", "/r", 1);
	paths_reset();
	is_path(paths_pool_record("z"), "/r/etc/zonehost/pools/z.json", "pool record");
	is_path(paths_pool_image("z"), "/r/var/lib/zonehost/z.img", "pool image");
	is_path(paths_lock("host"), "/r/run/zonehost/locks/host.lock", "lock");
	is_path(paths_vm_run_file(u, PATHS_RUN_EXIT),
		"/r/run/zonehost/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/exit.json", "exit.json");
	is_path(paths_vm_config("/m", u), "/m/.vmadm/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.json",
		"vm config");
	is_path(paths_vm_configs_new("/m"), "/m/.vmadm-new", "configs being migrated");
	is_path(paths_image_record("/m", u), "/m/.imgadm/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.json",
		"image record");
	is_path(paths_new_mark("/m", u), "/m/.new/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "mark");
	is_path(paths_new_marks("/m"), "/m/.new", "marks");
	is_path(paths_recv_inbox("/m", u), "/m/.recv-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
		"inbox");
	ok(paths_uuid_entry("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.lock", PATHS_LOCK_SUFFIX, uuid),
	   "lock file entry");
	is_str(uuid, u, "its uuid");
	ok(!paths_uuid_entry("host.lock", PATHS_LOCK_SUFFIX, uuid), "host lock is no uuid");
	ok(!paths_uuid_entry("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.json", PATHS_LOCK_SUFFIX, uuid),
	   "wrong suffix");
	ok(paths_has_prefix(".trash-0123", PATHS_TRASH_PREFIX), "trash prefix");
	unsetenv("ZONEHOST_ROOT");
	paths_reset();
}

int main(void)
{
	test_uuid();
	test_numbers();
	test_timestamp();
	test_split();
	test_error();
	test_paths();
	test_layout();
	return tap_done();
}

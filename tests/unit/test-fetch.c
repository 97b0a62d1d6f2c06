/*
 * test-fetch.c - the pure parts of fetching from image sources: counting
 * JSON values as they stream in (image_json_scan), limit options
 * (image_http_limit_parse) and which limit applies (image_source_limits).
 */
#include <string.h>

#include "image.h"
#include "jsonutil.h"
#include "tap.h"

int main(void);

static size_t scan_all(const char *s)
{
	struct image_json_scan sc = IMAGE_JSON_SCAN_INIT;

	image_json_scan(&sc, s, strlen(s));
	return sc.values;
}

/* The same count whatever the chunks. */
static size_t scan_bytewise(const char *s)
{
	struct image_json_scan sc = IMAGE_JSON_SCAN_INIT;

	for (size_t i = 0; s[i]; i++)
		image_json_scan(&sc, s + i, 1);
	return sc.values;
}

static void test_scan(void)
{
	static const struct {
		const char *text;
		size_t values;
	} cases[] = {
		{"1", 1},
		{"[]", 2},
		{"[1,2,3]", 4},
		{"{\"a\":1,\"b\":[true]}", 6},
		{"\"[{,:}]\"", 1},		    /* structure inside a string does not count */
		{"[\"a\\\"b,\", \"c\\\\\", 1]", 4}, /* escaped quote, escaped backslash */
		{"[{},{},{}]", 7},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		is_int(scan_all(cases[i].text), cases[i].values, "scan %s", cases[i].text);
		is_int(scan_bytewise(cases[i].text), cases[i].values, "  byte by byte");
	}
}

static void test_limit_parse(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	long v = -1;

	is_int(image_http_limit_parse("speed-limit", "2048", &v, &err), 0, "speed-limit 2048");
	is_int(v, 2048, "  value");
	is_int(image_http_limit_parse("max-time", "0", &v, &err), 0, "max-time 0 (off)");
	is_int(v, 0, "  value");
	is_int(image_http_limit_parse("speed-time", "86401", &v, &err), -EINVAL,
	       "speed-time past a day");
	is_str(err.prop, "speed-time", "  prop");
	is_str(err.msg, "--speed-time 86401: must be 0 (no limit) to 86400", "  message");
	zh_error_clear(&err);
	is_int(image_http_limit_parse("speed-limit", "-1", &v, &err), -EINVAL, "negative");
	zh_error_clear(&err);
	is_int(image_http_limit_parse("max-time", "10s", &v, &err), -EINVAL, "not a number");
	is_str(err.msg, "--max-time 10s: not a whole number", "  message");
	zh_error_clear(&err);
	is_int(image_http_limit_parse("speed", "1", &v, &err), -EINVAL, "unknown limit");
	zh_error_clear(&err);
}

static void test_source_limits(void)
{
	json_t *plain = json_string("http://192.0.2.1");
	json_t *own = json_pack("{sssi}", "url", "http://192.0.2.2", "speed_time", 5);
	struct image_http_limits cli = IMAGE_HTTP_LIMITS_UNSET, l;

	is_str(image_source_url(plain), "http://192.0.2.1", "url of a string");
	is_str(image_source_url(own), "http://192.0.2.2", "url of an object");
	image_source_limits(plain, &cli, false, &l);
	ok(l.speed_limit == 1024 && l.speed_time == 30 && l.max_time == 300, "defaults (answer)");
	image_source_limits(plain, NULL, true, &l);
	is_int(l.max_time, 86400, "default max-time of a file");
	image_source_limits(own, &cli, true, &l);
	is_int(l.speed_time, 5, "the source's own speed-time");
	cli.speed_time = 2;
	cli.max_time = 0;
	image_source_limits(own, &cli, true, &l);
	ok(l.speed_time == 2 && l.max_time == 0 && l.speed_limit == 1024,
	   "the command line wins; 0 is kept (no limit)");
	json_decref(plain);
	json_decref(own);
}

int main(void)
{
	test_scan();
	test_limit_parse();
	test_source_limits();
	return tap_done();
}

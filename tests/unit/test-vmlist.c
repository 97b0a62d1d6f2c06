/*
 * test-vmlist.c - flatten, filters, fake fields, sorting and table output
 * of `vmadm list` / `vmadm lookup` (vmlist.h).
 */
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "tap.h"
#include "vmlist.h"

static json_t *vm(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j) {
		printf("# bad test JSON: %s\n", e.text);
		exit(1);
	}
	vmlist_add_fake_fields(j);
	return j;
}

static json_t *sample(void)
{
	return vm("{\"uuid\":\"11111111-1111-1111-1111-111111111111\","
		  "\"brand\":\"joyent\",\"alias\":\"web\",\"max_physical_memory\":512,"
		  "\"state\":\"stopped\",\"autoboot\":false,"
		  "\"tags\":{\"role\":\"db\",\"a.b\":\"dotted\",\"n\":3},"
		  "\"resolvers\":[\"8.8.8.8\",\"8.8.4.4\"],"
		  "\"nics\":[{\"ip\":\"10.0.0.1\",\"mac\":\"02:00:00:0a:0b:0c\",\"nic_tag\":"
		  "\"admin\"},"
		  "{\"ip\":\"192.0.2.5\",\"nic_tag\":\"external\"}]}");
}

static void test_flatten(void)
{
	_cleanup_json_ json_t *v = sample();
	_cleanup_free_ char *res = NULL, *b = NULL;

	is_str(json_string_value(vmlist_lookup(v, "nics.1.ip")), "192.0.2.5", "nics.1.ip");
	is_str(json_string_value(vmlist_lookup(v, "tags.role")), "db", "tags.role");
	is_str(json_string_value(vmlist_lookup(v, "tags.a.b")), "dotted", "hash key with a dot");
	is_str(json_string_value(vmlist_lookup(v, "resolvers.1")), "8.8.4.4", "array element");
	ok(vmlist_lookup(v, "nics.5.ip") == NULL, "index out of range");
	ok(vmlist_lookup(v, "nics.x.ip") == NULL, "bad index");
	ok(vmlist_lookup(v, "nope") == NULL, "absent key");
	res = vmlist_to_string(json_object_get(v, "resolvers"));
	is_str(res, "8.8.8.8,8.8.4.4", "array to string joins with ,");
	b = vmlist_to_string(json_object_get(v, "autoboot"));
	is_str(b, "false", "boolean to string");
}

static void test_fake(void)
{
	_cleanup_json_ json_t *v = sample();
	_cleanup_json_ json_t *lx = vm("{\"brand\":\"lx\",\"max_physical_memory\":1}");
	_cleanup_json_ json_t *k =
		vm("{\"brand\":\"kvm\",\"ram\":1024,\"max_physical_memory\":2048}");
	_cleanup_json_ json_t *h = vm("{\"brand\":\"bhyve\"}");

	is_str(jsonutil_str(v, "type"), "OS", "joyent type OS");
	is_int(json_integer_value(json_object_get(v, "ram")), 512, "ram = max_physical_memory");
	is_str(jsonutil_str(lx, "type"), "LX", "lx type LX");
	is_str(jsonutil_str(k, "type"), "KVM", "kvm type KVM");
	is_int(json_integer_value(json_object_get(k, "ram")), 1024, "kvm ram kept");
	is_str(jsonutil_str(h, "type"), "BHYV", "bhyve type BHYV");
}

static bool match(const json_t *v, const char *arg)
{
	struct vmlist_filter f;
	struct zh_error err = ZH_ERROR_INIT;
	bool m;

	if (vmlist_filter_parse(arg, &f, &err) < 0) {
		printf("# parse %s: %s\n", arg, err.msg);
		zh_error_clear(&err);
		return false;
	}
	m = vmlist_filter_match(&f, v);
	vmlist_filter_clear(&f);
	return m;
}

static const char *parse_error(const char *arg)
{
	static char buf[256];
	struct vmlist_filter f;
	struct zh_error err = ZH_ERROR_INIT;

	if (vmlist_filter_parse(arg, &f, &err) == 0) {
		vmlist_filter_clear(&f);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", err.msg);
	zh_error_clear(&err);
	return buf;
}

static void test_filters(void)
{
	_cleanup_json_ json_t *v = sample();

	ok(match(v, "alias=web"), "exact match");
	ok(!match(v, "alias=WEB"), "exact match is case sensitive");
	ok(!match(v, "alias=we"), "exact match is whole string");
	ok(match(v, "alias=~^W"), "regex is case insensitive");
	ok(match(v, "alias=~e"), "regex searches");
	ok(match(v, "ram=512"), "number compares as its string");
	ok(match(v, "autoboot=false"), "boolean compares as its string");
	ok(match(v, "type=OS"), "fake field type");
	ok(match(v, "nics.*.ip=192.0.2.5"), "any element");
	ok(match(v, "nics.0.ip=10.0.0.1"), "indexed element");
	ok(!match(v, "nics.0.ip=192.0.2.5"), "indexed element mismatch");
	ok(match(v, "nics.*.nic_tag=~^ext"), "any element regex");
	ok(match(v, "nics.*.mac=2:0:0:A:B:C"), "mac normalised");
	ok(match(v, "tags.role=db"), "tag");
	ok(match(v, "tags.n=3"), "numeric tag");
	ok(!match(v, "tags.missing=x"), "missing tag");
	ok(!match(v, "alias=~^x"), "regex mismatch");
	ok(!match(v, "alias="), "empty value does not match a set alias");
	is_str(parse_error("bogus=1"), "Invalid filter key: \"bogus\"", "bad key");
	is_str(parse_error("nics.*.foo=1"), "Invalid filter key: \"nics.*.foo\"", "bad nic key");
	is_str(parse_error("noequals"), "Invalid filter: \"noequals\"", "no =");
	ok(parse_error("alias=~(") != NULL, "bad regex");
	ok(vmlist_filter_key_valid("disks.0.size"), "disks.N.size valid");
	ok(vmlist_filter_key_valid("customer_metadata.foo"), "customer_metadata.* valid");
	ok(!vmlist_filter_key_valid("tags."), "tags. alone invalid");
}

static json_t *three(void)
{
	json_t *a = json_array();

	json_array_append_new(a, vm("{\"uuid\":\"c\",\"brand\":\"joyent\",\"max_physical_memory\":"
				    "1024,\"alias\":\"x\"}"));
	json_array_append_new(
		a, vm("{\"uuid\":\"a\",\"brand\":\"joyent\",\"max_physical_memory\":256}"));
	json_array_append_new(a,
			      vm("{\"uuid\":\"b\",\"brand\":\"lx\",\"max_physical_memory\":1024}"));
	return a;
}

static char *order(const json_t *a)
{
	static char buf[16];
	size_t i;
	json_t *e;

	buf[0] = '\0';
	json_array_foreach (a, i, e)
		strncat(buf, jsonutil_str(e, "uuid"), sizeof(buf) - strlen(buf) - 1);
	return buf;
}

static void sort_by(json_t *a, const char *spec)
{
	struct vmlist_sort *s = NULL;
	size_t n = 0;
	struct zh_error err = ZH_ERROR_INIT;

	if (vmlist_sort_parse(spec, &s, &n, &err) < 0) {
		printf("# %s\n", err.msg);
		zh_error_clear(&err);
		return;
	}
	vmlist_sort(a, s, n);
	vmlist_sort_free(s, n);
}

static void test_sort(void)
{
	_cleanup_json_ json_t *a = three();
	struct vmlist_sort *s = NULL;
	size_t n = 0;
	struct zh_error err = ZH_ERROR_INIT;

	sort_by(a, "ram,uuid");
	is_str(order(a), "abc", "default ram,uuid");
	sort_by(a, "-ram,uuid");
	is_str(order(a), "bca", "-ram descending");
	sort_by(a, "+uuid");
	is_str(order(a), "abc", "+uuid ascending");
	sort_by(a, "alias,uuid");
	is_str(order(a), "abc", "absent values first");
	sort_by(a, "type,-uuid");
	is_str(order(a), "bca", "type then -uuid");
	ok(vmlist_sort_parse("ram,bogus", &s, &n, &err) == -EINVAL, "bad sort key");
	is_str(err.msg, "Invalid sort key: \"bogus\"", "bad sort key message");
	zh_error_clear(&err);
	ok(vmlist_sort_parse("nics.*.ip", &s, &n, &err) == -EINVAL, "wildcard sort key");
	zh_error_clear(&err);
}

static void test_output(void)
{
	_cleanup_json_ json_t *v = sample();
	_cleanup_strv_ char **cols = NULL;
	_cleanup_strv_ char **cols2 = NULL;
	_cleanup_free_ char *h = NULL, *l = NULL, *p = NULL, *h2 = NULL, *l2 = NULL;
	struct zh_error err = ZH_ERROR_INIT;

	ok(vmlist_columns_parse("uuid,type,ram,state,alias", &cols, &err) == 0, "default columns");
	h = vmlist_format_line(NULL, cols, VMLIST_HEADER);
	is_str(h, "UUID                                  TYPE  RAM      STATE             ALIAS",
	       "header line");
	l = vmlist_format_line(v, cols, VMLIST_HEADER);
	is_str(l, "11111111-1111-1111-1111-111111111111  OS    512      stopped           web",
	       "row line");
	ok(vmlist_columns_parse("uuid,tags.role,nics.0.ip,zoneid", &cols2, &err) == 0,
	   "flattened columns");
	h2 = vmlist_format_line(NULL, cols2, VMLIST_HEADER);
	is_str(h2,
	       "UUID                                  TAGS.ROLE             NICS.0.IP             "
	       "ZONEID",
	       "flattened header");
	l2 = vmlist_format_line(v, cols2, VMLIST_HEADER);
	is_str(l2,
	       "11111111-1111-1111-1111-111111111111  db                    10.0.0.1              "
	       "-",
	       "missing value is -");
	p = vmlist_format_line(v, cols2, VMLIST_PARSABLE);
	is_str(p, "11111111-1111-1111-1111-111111111111:db:10.0.0.1:", "parsable line");
	ok(vmlist_columns_parse("uuid,nics.*.ip", &cols, &err) == -EINVAL, "wildcard column");
	is_str(err.msg, "Invalid order key: \"nics.*.ip\"", "wildcard column message");
	zh_error_clear(&err);
}

int main(void)
{
	test_flatten();
	test_fake();
	test_filters();
	test_sort();
	test_output();
	return tap_done();
}

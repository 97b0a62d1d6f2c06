/*
 * vmlist.c - list/lookup logic: flatten, filters, fake fields, columns,
 * sorting, table output.  See vmlist.h.
 *
 * Design: everything here is pure and works on decorated VM objects, so
 * `vmadm list` costs one read+parse per VM (in vmstore) and nothing more.
 * The LIST_FIELDS table is the single source of headers and widths
 * (vmadm.js LIST_FIELDS); keys outside it get the upper-cased key as the
 * header and width 20, like vmadm.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "util.h"
#include "vmlist.h"

static const struct vmlist_field list_fields[] = {
	{"alias", "ALIAS", 10},
	{"autoboot", "AUTOBOOT", 8},
	{"billing_id", "BILLING_ID", 36},
	{"boot_timestamp", "BOOT_TIMESTAMP", 24},
	{"brand", "BRAND", 14},
	{"cpu_cap", "CPU_CAP", 7},
	{"cpu_shares", "CPU_SHARE", 9},
	{"cpu_type", "CPU_TYPE", 8},
	{"create_timestamp", "CREATE_TIMESTAMP", 24},
	{"dns_domain", "DOMAIN", 32},
	{"do_not_inventory", "DNI", 5},
	{"docker", "DOCKER", 6},
	{"exit_status", "EXIT", 4},
	{"exit_timestamp", "EXIT_TIMESTAMP", 24},
	{"firewall_enabled", "FIREWALL_ENABLED", 16},
	{"flexible_disk_size", "FLEX_DISK_SIZE", 14},
	{"free_space", "FREE_SPACE", 14},
	{"hostname", "HOSTNAME", 32},
	{"hvm", "HVM", 5},
	{"image_uuid", "IMAGE_UUID", 36},
	{"indestructible_delegated", "INDESTR_DATA", 12},
	{"indestructible_zoneroot", "INDESTR_ROOT", 12},
	{"ram", "RAM", 7},
	{"max_locked_memory", "MAX_LOCKED", 10},
	{"max_lwps", "MAX_LWP", 7},
	{"max_physical_memory", "MAX_PHYS", 8},
	{"max_swap", "MAX_SWAP", 8},
	{"owner_uuid", "OWNER_UUID", 36},
	{"package_name", "PACKAGE_NAME", 32},
	{"package_version", "PACKAGE_VER", 11},
	{"pid", "PID", 6},
	{"qemu_extra_opts", "QEMU_EXTRA_OPTS", 15},
	{"quota", "QUOTA", 5},
	{"zone_state", "ZONE_STATE", 10},
	{"state", "STATE", 16},
	{"tmpfs", "TMPFS", 5},
	{"type", "TYPE", 4},
	{"uuid", "UUID", 36},
	{"vcpus", "VCPUS", 5},
	{"zfs_io_priority", "IO_PRIORITY", 11},
	{"zpool", "ZPOOL", 12},
	{"zonename", "ZONENAME", 12},
	{"zonepath", "ZONEPATH", 40},
	{"zoneid", "ZONEID", 6},
};

static const char *const disk_keys[] = {
	"boot", "image_name", "image_size", "image_uuid", "size", "media", "model", "zpool", NULL,
};
static const char *const nic_keys[] = {
	"dhcp_server", "gateway", "interface", "ip",	  "mac",
	"model",       "netmask", "nic_tag",   "vlan_id", NULL,
};
static const char *const hash_props[] = {
	"tags.",
	"customer_metadata.",
	"internal_metadata.",
	NULL,
};

const struct vmlist_field *vmlist_field_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(list_fields); i++)
		if (streq(list_fields[i].name, name))
			return &list_fields[i];
	return NULL;
}

/* ---- flatten ---- */

/* Index component "N" (or "*" when star) up to the next '.' or end. */
static bool parse_index(const char *s, size_t n, bool star, size_t *idx)
{
	size_t v = 0;

	if (n == 1 && s[0] == '*' && star) {
		*idx = SIZE_MAX;
		return true;
	}
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*idx = v;
	return true;
}

static const json_t *top_member(const json_t *vm, const char *key, const char **rest)
{
	const char *dot = strchr(key, '.');

	*rest = dot ? dot + 1 : NULL;
	if (!dot)
		return json_object_get(vm, key);
	return json_object_getn(vm, key, (size_t)(dot - key));
}

/* "N" or "N.k" below an array; idx is the already parsed index. */
static const json_t *array_member(const json_t *elem, const char *after)
{
	if (!after)
		return elem;
	if (!json_is_object(elem))
		return NULL;
	return json_object_get(elem, after);
}

const json_t *vmlist_lookup(const json_t *vm, const char *key)
{
	const char *rest, *dot;
	const json_t *top = top_member(vm, key, &rest);
	size_t idx;

	if (!top || !rest)
		return top;
	if (json_is_object(top))
		return json_object_get(top, rest);
	if (!json_is_array(top))
		return NULL;
	dot = strchr(rest, '.');
	if (!parse_index(rest, dot ? (size_t)(dot - rest) : strlen(rest), false, &idx))
		return NULL;
	return array_member(json_array_get(top, idx), dot ? dot + 1 : NULL);
}

static char *join_array(const json_t *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	size_t i;
	json_t *e;

	if (!f)
		return NULL;
	json_array_foreach (v, i, e) {
		_cleanup_free_ char *s = vmlist_to_string(e);

		fprintf(f, "%s%s", i ? "," : "", s ? s : "");
	}
	fclose(f);
	return buf;
}

char *vmlist_to_string(const json_t *v)
{
	char *s = NULL;

	switch (json_typeof(v)) {
	case JSON_STRING: return strdup(json_string_value(v));
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			return NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%.15g", json_real_value(v)) < 0)
			return NULL;
		return s;
	case JSON_TRUE: return strdup("true");
	case JSON_FALSE: return strdup("false");
	case JSON_ARRAY: return join_array(v);
	case JSON_OBJECT: return strdup("[object Object]");
	default: return strdup("null");
	}
}

static bool brand_is_hvm(const char *brand)
{
	return brand && (streq(brand, "kvm") || streq(brand, "bhyve"));
}

static const char *brand_type(const char *brand)
{
	if (!brand)
		return NULL;
	if (streq(brand, "lx"))
		return "LX";
	if (streq(brand, "kvm"))
		return "KVM";
	if (streq(brand, "bhyve"))
		return "BHYV";
	return "OS";
}

int vmlist_add_fake_fields(json_t *vm)
{
	const char *brand = jsonutil_str(vm, "brand");
	const char *type = brand_type(brand);
	json_t *mem;

	if (type && json_object_set_new(vm, "type", json_string(type)) < 0)
		return -ENOMEM;
	mem = json_object_get(vm, "max_physical_memory");
	if (!brand_is_hvm(brand) && mem && json_object_set(vm, "ram", mem) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- filters ---- */

static bool in_list(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, s, n) == 0)
			return true;
	return false;
}

/* "<prefix><N|*>.<sub>" with sub in subs. */
static bool array_key_valid(const char *key, const char *prefix, const char *const *subs)
{
	size_t pl = strlen(prefix), idx;
	const char *p, *dot;

	if (strncmp(key, prefix, pl) != 0)
		return false;
	p = key + pl;
	dot = strchr(p, '.');
	if (!dot || !parse_index(p, (size_t)(dot - p), true, &idx))
		return false;
	return in_list(dot + 1, strlen(dot + 1), subs);
}

static bool hash_key_valid(const char *key)
{
	for (const char *const *h = hash_props; *h; h++) {
		size_t n = strlen(*h);

		if (strncmp(key, *h, n) == 0 && key[n])
			return true;
	}
	return false;
}

bool vmlist_filter_key_valid(const char *key)
{
	return vmlist_field_find(key) || hash_key_valid(key) ||
	       array_key_valid(key, "nics.", nic_keys) || array_key_valid(key, "disks.", disk_keys);
}

static int compile(struct vmlist_filter *f, const char *arg, struct zh_error *err)
{
	int r = regcomp(&f->re, f->value, REG_EXTENDED | REG_ICASE | REG_NOSUB);

	if (r != 0) {
		char why[128];

		regerror(r, &f->re, why, sizeof(why));
		return zh_error_set(err, EINVAL, arg, "Invalid regular expression: \"%s\" (%s)",
				    f->value, why);
	}
	f->has_re = true;
	return 0;
}

int vmlist_filter_parse(const char *arg, struct vmlist_filter *f, struct zh_error *err)
{
	const char *eq = strchr(arg, '=');
	int r;

	*f = (struct vmlist_filter){0};
	if (!eq || eq == arg)
		return zh_error_set(err, EINVAL, arg, "Invalid filter: \"%s\"", arg);
	f->key = strndup(arg, (size_t)(eq - arg));
	f->is_regex = eq[1] == '~';
	f->value = strdup(eq + 1 + f->is_regex);
	if (!f->key || !f->value) {
		vmlist_filter_clear(f);
		return zh_error_oom(err);
	}
	if (!vmlist_filter_key_valid(f->key)) {
		r = zh_error_set(err, EINVAL, f->key, "Invalid filter key: \"%s\"", f->key);
		vmlist_filter_clear(f);
		return r;
	}
	if (f->is_regex && (r = compile(f, arg, err)) < 0) {
		vmlist_filter_clear(f);
		return r;
	}
	return 0;
}

void vmlist_filter_clear(struct vmlist_filter *f)
{
	if (f->has_re)
		regfree(&f->re);
	freep(&f->key);
	freep(&f->value);
	f->has_re = false;
}

/* nics.*.mac filters compare normalised MACs (fixMac): lower case, 2 digits per octet. */
static char *fix_mac(const char *s)
{
	_cleanup_strv_ char **parts = util_split(s, ':');
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!parts || util_strv_len(parts) != 6)
		return strdup(s);
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; parts[i]; i++) {
		fprintf(f, "%s%s%s", i ? ":" : "", strlen(parts[i]) == 1 ? "0" : "", parts[i]);
	}
	fclose(f);
	for (char *p = out; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static bool is_mac_key(const char *key)
{
	size_t n = strlen(key);

	return strncmp(key, "nics.", 5) == 0 && n > 4 && streq(key + n - 4, ".mac");
}

static bool value_match(const struct vmlist_filter *f, const json_t *v)
{
	_cleanup_free_ char *s = NULL;

	if (!v)
		return false;
	s = vmlist_to_string(v);
	if (!s)
		return false;
	if (f->is_regex)
		return regexec(&f->re, s, 0, NULL, 0) == 0;
	if (is_mac_key(f->key)) {
		_cleanup_free_ char *a = fix_mac(s), *b = fix_mac(f->value);

		return a && b && streq(a, b);
	}
	return streq(s, f->value);
}

/* "x.*.y": any element of array x whose y matches. */
static bool star_match(const struct vmlist_filter *f, const json_t *vm, const char *dot)
{
	_cleanup_free_ char *base = strndup(f->key, (size_t)(dot - f->key));
	const char *sub = dot[2] == '.' ? dot + 3 : NULL;
	const json_t *arr;
	json_t *e;
	size_t i;

	if (!base)
		return false;
	arr = json_object_get(vm, base);
	if (!json_is_array(arr))
		return false;
	json_array_foreach (arr, i, e) {
		if (value_match(f, array_member(e, sub)))
			return true;
	}
	return false;
}

bool vmlist_filter_match(const struct vmlist_filter *f, const json_t *vm)
{
	const char *star = strstr(f->key, ".*");

	if (star && !hash_key_valid(f->key) && (star[2] == '.' || !star[2]))
		return star_match(f, vm, star);
	return value_match(f, vmlist_lookup(vm, f->key));
}

bool vmlist_filters_match(const struct vmlist_filter *f, size_t n, const json_t *vm)
{
	for (size_t i = 0; i < n; i++)
		if (!vmlist_filter_match(&f[i], vm))
			return false;
	return true;
}

/* ---- columns and sorting ---- */

bool vmlist_column_key_valid(const char *key)
{
	return vmlist_field_find(key) || (!strchr(key, '*') && vmlist_filter_key_valid(key));
}

int vmlist_columns_parse(const char *spec, char ***out, struct zh_error *err)
{
	_cleanup_strv_ char **cols = util_split(spec, ',');

	if (!cols)
		return zh_error_oom(err);
	if (!cols[0])
		return zh_error_set(err, EINVAL, "-o", "Invalid order key: \"\"");
	for (char **c = cols; *c; c++)
		if (!vmlist_column_key_valid(*c))
			return zh_error_set(err, EINVAL, *c, "Invalid order key: \"%s\"", *c);
	*out = TAKE_PTR(cols);
	return 0;
}

void vmlist_sort_free(struct vmlist_sort *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].key);
	free(s);
}

int vmlist_sort_parse(const char *spec, struct vmlist_sort **out, size_t *n, struct zh_error *err)
{
	_cleanup_strv_ char **keys = util_split(spec, ',');
	struct vmlist_sort *s;
	size_t cnt;

	if (!keys)
		return zh_error_oom(err);
	cnt = util_strv_len(keys);
	s = calloc(cnt ? cnt : 1, sizeof(*s));
	if (!s)
		return zh_error_oom(err);
	for (size_t i = 0; i < cnt; i++) {
		const char *k = keys[i];

		s[i].descending = k[0] == '-';
		if (k[0] == '-' || k[0] == '+')
			k++;
		if (!*k || !vmlist_column_key_valid(k)) {
			vmlist_sort_free(s, i);
			return zh_error_set(err, EINVAL, keys[i], "Invalid sort key: \"%s\"",
					    keys[i]);
		}
		s[i].key = strdup(k);
		if (!s[i].key) {
			vmlist_sort_free(s, i);
			return zh_error_oom(err);
		}
	}
	*out = s;
	*n = cnt;
	return 0;
}

struct sort_item {
	json_t *vm;
	size_t pos;
};

struct sort_ctx {
	const struct vmlist_sort *s;
	size_t n;
};

static int cmp_values(const json_t *a, const json_t *b)
{
	if (!a || json_is_null(a) || !b || json_is_null(b))
		return (a && !json_is_null(a)) - (b && !json_is_null(b));
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);

		return (x > y) - (x < y);
	}
	{
		_cleanup_free_ char *x = vmlist_to_string(a);
		_cleanup_free_ char *y = vmlist_to_string(b);

		return strcmp(x ? x : "", y ? y : "");
	}
}

static int cmp_items(const void *pa, const void *pb, void *pctx)
{
	const struct sort_item *a = pa, *b = pb;
	const struct sort_ctx *c = pctx;

	for (size_t i = 0; i < c->n; i++) {
		int r = cmp_values(vmlist_lookup(a->vm, c->s[i].key),
				   vmlist_lookup(b->vm, c->s[i].key));

		if (r)
			return c->s[i].descending ? -r : r;
	}
	return (a->pos > b->pos) - (a->pos < b->pos);
}

int vmlist_sort(json_t *vms, const struct vmlist_sort *s, size_t n)
{
	size_t cnt = json_array_size(vms);
	_cleanup_free_ struct sort_item *items = calloc(cnt ? cnt : 1, sizeof(*items));
	struct sort_ctx ctx = {s, n};

	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++)
		items[i] = (struct sort_item){json_incref(json_array_get(vms, i)), i};
	qsort_r(items, cnt, sizeof(*items), cmp_items, &ctx);
	json_array_clear(vms);
	for (size_t i = 0; i < cnt; i++)
		if (json_array_append_new(vms, items[i].vm) < 0)
			return -ENOMEM;
	return 0;
}

/* ---- output ---- */

void vmlist_column_info(const char *key, char *header, size_t hlen, int *width)
{
	const struct vmlist_field *f = vmlist_field_find(key);
	size_t i;

	if (f) {
		snprintf(header, hlen, "%s", f->header);
		*width = f->width;
		return;
	}
	for (i = 0; key[i] && i + 1 < hlen; i++)
		header[i] = (char)toupper((unsigned char)key[i]);
	if (hlen)
		header[i] = '\0';
	*width = 20;
}

static char *cell(const json_t *vm, const char *key, enum vmlist_format fmt)
{
	const json_t *v;

	if (!vm) {
		char h[256];
		int w;

		vmlist_column_info(key, h, sizeof(h), &w);
		return strdup(h);
	}
	v = vmlist_lookup(vm, key);
	if (!v || json_is_null(v))
		return strdup(fmt == VMLIST_PARSABLE ? "" : "-");
	return vmlist_to_string(v);
}

static void rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

char *vmlist_format_line(const json_t *vm, char *const *cols, enum vmlist_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool failed = false;

	if (!f)
		return NULL;
	for (size_t i = 0; cols[i]; i++) {
		_cleanup_free_ char *c = cell(vm, cols[i], fmt);
		char h[8];
		int w;

		failed |= !c;
		vmlist_column_info(cols[i], h, sizeof(h), &w);
		if (fmt == VMLIST_PARSABLE)
			fprintf(f, "%s%s", i ? ":" : "", c ? c : "");
		else
			fprintf(f, "%s%-*s", i ? "  " : "", w, c ? c : "");
	}
	if (fclose(f) != 0 || failed) {
		free(buf);
		return NULL;
	}
	if (fmt != VMLIST_PARSABLE)
		rtrim(buf);
	return buf;
}

int vmlist_print(FILE *out, const json_t *vms, char *const *cols, enum vmlist_format fmt)
{
	size_t i;
	json_t *vm;

	if (fmt == VMLIST_HEADER) {
		_cleanup_free_ char *h = vmlist_format_line(NULL, cols, fmt);

		if (!h)
			return -ENOMEM;
		fprintf(out, "%s\n", h);
	}
	json_array_foreach (vms, i, vm) {
		_cleanup_free_ char *l = vmlist_format_line(vm, cols, fmt);

		if (!l)
			return -ENOMEM;
		fprintf(out, "%s\n", l);
	}
	return 0;
}

/*
 * mdata-keys.c - the answers to GET, KEYS, PUT and DELETE over a VM's
 * config (docs/architecture.md §23), as SmartOS's metadata agent gives them.
 *
 * Owns: the routing of a key (sdc: system data, internal_metadata for
 * `*_pw` and listed namespaces, else customer_metadata), the text of a
 * value, the JSON of sdc:nics/resolvers/routes/tmpfs, the namespace
 * refusals and the `vmadm update` payload of a guest's PUT or DELETE.
 * Does not read or write any file: the caller passes the VM and applies
 * the update.
 *
 *     mdata_keys_get(vm, "sdc:nics.0.ip", &a);         SUCCESS "192.0.2.5"
 *     mdata_keys_delete(vm, "sdc:uuid", &upd, &a);
 *             upd NULL, a FAILURE "Cannot update the \"sdc\" Namespace."
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "macro.h"
#include "mdata-keys.h"
#include "vmcfg-access.h"

#define CUSTOMER   "customer_metadata"
#define INTERNAL   "internal_metadata"
#define NAMESPACES "internal_metadata_namespaces"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The internal_metadata_namespaces entry that key's "<prefix>:" names, or NULL. */
static const char *internal_ns(const json_t *vm, const char *key)
{
	const char *colon = strchr(key, ':');
	json_t *ns;
	size_t i;

	if (!colon)
		return NULL;
	json_array_foreach (json_object_get(vm, NAMESPACES), i, ns) {
		const char *s = json_string_value(ns);

		if (s && strlen(s) == (size_t)(colon - key) && strncmp(s, key, strlen(s)) == 0)
			return s;
	}
	return NULL;
}

/* Is key one of internal_metadata's guest-readable keys? */
static bool is_internal(const json_t *vm, const char *key)
{
	return has_suffix(key, "_pw") || internal_ns(vm, key) != NULL;
}

static int success(struct mdata_answer *a, const char *s)
{
	return mdata_answer_set(a, MDATA_SUCCESS, s, strlen(s));
}

static int failure(struct mdata_answer *a, const char *s)
{
	return mdata_answer_set(a, MDATA_FAILURE, s, strlen(s));
}

/* A real as JavaScript's String() would print it: the shortest text that reads back. */
static void real_text(double d, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

/* The answer for value v: text for a scalar, NOTFOUND for none, FAILURE for an object. */
static int answer_value(struct mdata_answer *a, const json_t *v)
{
	char buf[40];

	if (json_is_string(v))
		return mdata_answer_set(a, MDATA_SUCCESS, json_string_value(v),
					json_string_length(v));
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		real_text(json_real_value(v), buf, sizeof(buf));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
	else if (!v || json_is_null(v))
		return mdata_answer_set(a, MDATA_NOTFOUND, NULL, 0);
	else
		return mdata_answer_set(a, MDATA_FAILURE, NULL, 0);
	return success(a, buf);
}

/* SUCCESS with the compact JSON of v (as JavaScript's JSON.stringify writes it). */
static int answer_json(struct mdata_answer *a, const json_t *v)
{
	_cleanup_free_ char *s =
		json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	return s ? success(a, s) : -ENOMEM;
}

/* Parse "aa:bb:cc:dd:ee:ff" (octets of 1-2 hex digits, any case) into m. */
static bool parse_mac(const char *s, unsigned m[6])
{
	int n = 0;

	return s &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		      &n) == 6 &&
	       s[n] == '\0';
}

/* The VM's NIC whose mac is mac, or NULL. */
static const json_t *nic_by_mac(const json_t *vm, const char *mac)
{
	unsigned want[6], got[6];
	json_t *nic;
	size_t i;

	if (!parse_mac(mac, want))
		return NULL;
	json_array_foreach (vmcfg_nics(vm), i, nic)
		if (parse_mac(jsonutil_str(nic, "mac"), got) &&
		    memcmp(want, got, sizeof(want)) == 0)
			return nic;
	return NULL;
}

/* The NIC a "nics[N]" or "macs[M]" gateway names (*named false for a plain address). */
static const json_t *gateway_nic(const json_t *vm, const char *gw, bool *named)
{
	size_t n = strlen(gw);
	_cleanup_free_ char *in = NULL;
	char *end;
	unsigned long idx;

	*named = n > 6 && gw[n - 1] == ']' &&
		 (strncmp(gw, "nics[", 5) == 0 || strncmp(gw, "macs[", 5) == 0);
	if (!*named)
		return NULL;
	in = strndup(gw + 5, n - 6);
	if (!in)
		return NULL;
	if (gw[0] == 'm')
		return nic_by_mac(vm, in);
	idx = strtoul(in, &end, 10);
	return *end || in[0] < '0' || in[0] > '9' ? NULL : json_array_get(vmcfg_nics(vm), idx);
}

/* One route of sdc:routes, or NULL to skip it (a NIC gateway without a static ip). */
static json_t *route_entry(const json_t *vm, const char *dst, const char *gw)
{
	bool named;
	const json_t *nic = gateway_nic(vm, gw, &named);
	const char *ip = named ? jsonutil_str(nic, "ip") : gw;

	if (!ip || strcmp(ip, "dhcp") == 0)
		return NULL;
	return json_pack("{s:b,s:s,s:s}", "linklocal", named, "dst", dst, "gateway", ip);
}

/* sdc:routes: [{"linklocal","dst","gateway"}], NIC gateways resolved to the NIC's ip. */
static int answer_routes(const json_t *vm, struct mdata_answer *a)
{
	json_auto_t *out = json_array();
	const char *dst;
	json_t *gw;

	if (!out)
		return -ENOMEM;
	json_object_foreach (vmcfg_routes(vm), dst, gw) {
		const char *s = json_string_value(gw);
		json_t *e = s ? route_entry(vm, dst, s) : NULL;

		if (e && json_array_append_new(out, e) < 0)
			return -ENOMEM;
	}
	return answer_json(a, out);
}

static bool is_word(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && strncmp(p, word, len) == 0;
}

/* Element idx (the digits at [p, p+len)) of vm's array name, or NULL. */
static const json_t *element(const json_t *vm, const char *name, const char *p, size_t len)
{
	char idx[12];

	if (len == 0 || len >= sizeof(idx) || strspn(p, "0123456789") < len)
		return NULL;
	memcpy(idx, p, len);
	idx[len] = '\0';
	return json_array_get(json_object_get(vm, name), strtoul(idx, NULL, 10));
}

/*
 * The value of dotted field f as SmartOS's VM.flatten finds it, or NULL:
 * <hash>.<key> (the key may hold dots), nics|disks.<N>.<field>,
 * resolvers.<N>, else the top-level field named f.
 */
static const json_t *flatten(const json_t *vm, const char *f)
{
	static const char *const hashes[] = {CUSTOMER, INTERNAL, "tags"};
	static const char *const arrays[] = {"nics", "disks"};
	const char *dot = strchr(f, '.'), *dot2 = dot ? strchr(dot + 1, '.') : NULL;
	size_t head = dot ? (size_t)(dot - f) : 0;

	if (!dot)
		return json_object_get(vm, f);
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++)
		if (is_word(f, head, hashes[i]))
			return json_object_get(json_object_get(vm, hashes[i]), dot + 1);
	for (size_t i = 0; i < ARRAY_SIZE(arrays) && dot2 && !strchr(dot2 + 1, '.'); i++)
		if (is_word(f, head, arrays[i]))
			return json_object_get(
				element(vm, arrays[i], dot + 1, (size_t)(dot2 - dot - 1)),
				dot2 + 1);
	if (is_word(f, head, "resolvers") && !dot2)
		return element(vm, "resolvers", dot + 1, strlen(dot + 1));
	return json_object_get(vm, f);
}

/* GET of "sdc:<want>". */
static int get_sdc(const json_t *vm, const char *want, struct mdata_answer *a)
{
	static const char *const as_json[] = {"nics", "resolvers", "tmpfs"};
	const json_t *im = json_object_get(vm, INTERNAL);

	for (size_t i = 0; i < ARRAY_SIZE(as_json); i++)
		if (strcmp(want, as_json[i]) == 0 && json_object_get(vm, want))
			return answer_json(a, json_object_get(vm, want));
	if (strcmp(want, "routes") == 0 && vmcfg_routes(vm))
		return answer_routes(vm, a);
	if (strcmp(want, "operator-script") == 0)
		return answer_value(a, json_object_get(im, "operator-script"));
	if (strcmp(want, "volumes") == 0)
		return answer_value(a, json_object_get(im, "sdc:volumes"));
	return answer_value(a, flatten(vm, want));
}

int mdata_keys_get(const json_t *vm, const char *key, struct mdata_answer *a)
{
	const char *which = is_internal(vm, key) ? INTERNAL : CUSTOMER;
	char msg[64];

	if (strncmp(key, "sdc:", 4) == 0)
		return get_sdc(vm, key + 4, a);
	if (!json_is_object(json_object_get(vm, which))) {
		snprintf(msg, sizeof(msg), "Zone did not contain %s", which);
		return failure(a, msg);
	}
	return answer_value(a, json_object_get(json_object_get(vm, which), key));
}

/* Append the keys of vm's `which` that are (internal true) or are not internal. */
static int list_keys(const json_t *vm, const char *which, bool internal, struct mdata_buf *b)
{
	const char *k;
	json_t *v;

	json_object_foreach (json_object_get(vm, which), k, v) {
		if (is_internal(vm, k) != internal)
			continue;
		if ((b->len && mdata_buf_append(b, "\n", 1) < 0) ||
		    mdata_buf_append(b, k, strlen(k)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int mdata_keys_list(const json_t *vm, struct mdata_answer *a)
{
	struct mdata_buf b = {0};
	int r = list_keys(vm, CUSTOMER, false, &b);

	if (r == 0)
		r = list_keys(vm, INTERNAL, true, &b);
	if (r == 0)
		r = mdata_answer_set(a, MDATA_SUCCESS, b.data, b.len);
	mdata_buf_free(&b);
	return r;
}

/* The refusal of writing key, or 0 with *which the metadata it goes to; -ENOMEM. */
static int writable(const json_t *vm, const char *key, const char **which, struct mdata_answer *a)
{
	const char *ns = internal_ns(vm, key);
	char msg[160];

	json_auto_t *utf8 = json_string(key);

	if (*key == '\0' || !utf8)
		return failure(a, "Invalid PUT Request") < 0 ? -ENOMEM : 1;
	if (strncmp(key, "sdc:", 4) == 0)
		ns = "sdc";
	if (ns) {
		snprintf(msg, sizeof(msg), "Cannot update the \"%.100s\" Namespace.", ns);
		return failure(a, msg) < 0 ? -ENOMEM : 1;
	}
	*which =
		has_suffix(key, "_pw") || strcmp(key, "operator-script") == 0 ? INTERNAL : CUSTOMER;
	return 0;
}

/* {"set_<which>": {key: val}}, or {"remove_<which>": [key]} when val is NULL. */
static json_t *update_payload(const char *which, const char *key, json_t *val)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", val ? "set" : "remove", which);
	if (val)
		return json_pack("{s:{s:o}}", name, key, val);
	return json_pack("{s:[s]}", name, key);
}

/* The update that sets key to val (NULL: removes it), answered OK; or a refusal. */
static int write_key(const json_t *vm, const char *key, json_t *val, json_t **update,
		     struct mdata_answer *a)
{
	const char *which = NULL;
	int r = writable(vm, key, &which, a);

	*update = NULL;
	if (r != 0) {
		json_decref(val);
		return r < 0 ? r : 0;
	}
	*update = update_payload(which, key, val);
	if (!*update || success(a, "OK") < 0) {
		json_decref(TAKE_PTR(*update));
		return -ENOMEM;
	}
	return 0;
}

int mdata_keys_put(const json_t *vm, const char *key, const char *val, size_t len, json_t **update,
		   struct mdata_answer *a)
{
	json_t *v = NULL;

	if (len) {
		v = json_stringn(val, len);
		if (!v) {
			*update = NULL;
			return failure(a, "Invalid PUT Request");
		}
	}
	return write_key(vm, key, v, update, a);
}

int mdata_keys_delete(const json_t *vm, const char *key, json_t **update, struct mdata_answer *a)
{
	return write_key(vm, key, NULL, update, a);
}

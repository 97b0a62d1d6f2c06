/*
 * vmlist.h - the pure logic behind `vmadm list` and `vmadm lookup`:
 * flattening, filters, fake fields, columns, sorting and table output
 * (reference §1.2 list/lookup, §1.3).
 *
 * Owns nothing persistent and does no I/O except writing rows to a FILE
 * the caller passes.  It works on decorated VM objects (vmstore.h).
 *
 *     struct vmlist_filter f;
 *     if (vmlist_filter_parse("nics.*.ip=~^10\\.", &f, &err) < 0) ...
 *     if (vmlist_filter_match(&f, vm)) ...
 *     vmlist_filter_clear(&f);
 *
 *     char **cols = NULL;  struct vmlist_sort *s = NULL;  size_t ns;
 *     vmlist_columns_parse("uuid,type,ram", &cols, &err);
 *     vmlist_sort_parse("-ram,uuid", &s, &ns, &err);
 *     vmlist_sort(vms, s, ns);
 *     vmlist_print(stdout, vms, cols, VMLIST_HEADER);
 *
 * Flatten (VMJS flatten): "a.N.k" indexes an array and looks k up in the
 * element; "h.k" looks k (the whole rest, dots included) up in an object;
 * "a.N" is an array element.  "*" in place of N matches any element.
 */
#ifndef ZH_VMLIST_H
#define ZH_VMLIST_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"

struct vmlist_field {
	const char *name;
	const char *header;
	int width;
};

/* LIST_FIELDS of reference §1.3, or NULL when name is not one of them. */
const struct vmlist_field *vmlist_field_find(const char *name);

/*
 * The value at a flattened key ("nics.0.ip", "tags.foo", "quota"), or NULL
 * when absent.  Borrowed reference.  No "*" here.
 */
const json_t *vmlist_lookup(const json_t *vm, const char *key);

/*
 * JavaScript String(v): strings as is, integers in decimal, true/false,
 * null, arrays joined by ",", objects "[object Object]".  Malloc'd; NULL on ENOMEM.
 */
char *vmlist_to_string(const json_t *v);

/* Add the list/lookup fake fields: type (OS, LX, KVM, BHYV), and ram for non-HVM. */
int vmlist_add_fake_fields(json_t *vm);

/* ---- filters ---- */

struct vmlist_filter {
	char *key;
	char *value;
	bool is_regex;
	bool has_re;
	regex_t re;
};

/* Valid filter key per §1.3 (validFilterKey). */
bool vmlist_filter_key_valid(const char *key);

/*
 * Parse "key=value" or "key=~regex".  Errors (-EINVAL, err->prop = the
 * argument): `Invalid filter: "<arg>"` (no '='), `Invalid filter key: "<k>"`,
 * `Invalid regular expression: "<re>"`.
 */
int vmlist_filter_parse(const char *arg, struct vmlist_filter *f, struct zh_error *err);
bool vmlist_filter_match(const struct vmlist_filter *f, const json_t *vm);
void vmlist_filter_clear(struct vmlist_filter *f);

/* All of n filters match (logical AND; n == 0 matches everything). */
bool vmlist_filters_match(const struct vmlist_filter *f, size_t n, const json_t *vm);

/* ---- columns, sorting, output ---- */

/*
 * A column key is a LIST_FIELDS name or a flattened key without "*"
 * element wildcards ("tags.role", "nics.0.ip").
 */
bool vmlist_column_key_valid(const char *key);

/* "a,b,c" -> vector; `Invalid order key: "<k>"` (-EINVAL) for a bad one. */
int vmlist_columns_parse(const char *spec, char ***out, struct zh_error *err);

struct vmlist_sort {
	char *key;
	bool descending;
};

/* "-ram,+uuid,alias" -> array; `Invalid sort key: "<k>"` (-EINVAL). */
int vmlist_sort_parse(const char *spec, struct vmlist_sort **out, size_t *n, struct zh_error *err);
void vmlist_sort_free(struct vmlist_sort *s, size_t n);

/* Stable sort of a JSON array of VMs.  Numbers compare numerically; absent values sort first. */
int vmlist_sort(json_t *vms, const struct vmlist_sort *s, size_t n);

enum vmlist_format {
	VMLIST_HEADER,	  /* table with a header line */
	VMLIST_NO_HEADER, /* -H */
	VMLIST_PARSABLE,  /* -p: ':'-separated, no header, missing empty */
};

/* Header text and width of a column (LIST_FIELDS or upper-cased key, width 20). */
void vmlist_column_info(const char *key, char *header, size_t hlen, int *width);

/* One output line (no newline) for vm, or the header when vm is NULL. Malloc'd. */
char *vmlist_format_line(const json_t *vm, char *const *cols, enum vmlist_format fmt);

int vmlist_print(FILE *out, const json_t *vms, char *const *cols, enum vmlist_format fmt);

#endif

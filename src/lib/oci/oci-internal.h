/*
 * oci-internal.h - what the modules of src/lib/oci share and no other
 * folder includes: the typed getters of oci-json.c (the lowest module:
 * every other one uses it, it uses none) and the section parsers each
 * module exports to oci-config.c.
 *
 * A getter reads member `key` of object `o` whose JSON path is `parent`
 * ("" at the top), checks its type and bounds, and on failure fills *err
 * with "<parent>.<key>: <reason>" (prop = the path) and returns -EINVAL.
 * An absent key or a JSON null leaves *out alone and returns 0 (or fails
 * "required" with OCI_REQ).
 */
#ifndef ZH_OCI_INTERNAL_H
#define ZH_OCI_INTERNAL_H

#include "oci.h"

#define OCI_JPATH_MAX 256 /* bytes of a JSON path in a message */

enum {
	OCI_REQ = 1u << 0,	/* the key must be present */
	OCI_ABS = 1u << 1,	/* string (or each string) is an absolute path */
	OCI_NONEMPTY = 1u << 2, /* string or array not empty */
};

/* "<parent>.<key>" (or "<key>" at the top) and "<parent>[i]" into buf. */
const char *oci_jpath(char buf[OCI_JPATH_MAX], const char *parent, const char *key);
const char *oci_jpath_idx(char buf[OCI_JPATH_MAX], const char *parent, size_t i);

/* EINVAL "<path>: <reason>" with prop = path; returns -EINVAL. */
int oci_fail(struct zh_error *err, const char *path, const char *fmt, ...) _printf_(3, 4);

/* The member, NULL when absent or null. */
const json_t *oci_member(const json_t *o, const char *key);

int oci_get_obj(const json_t *o, const char *parent, const char *key, unsigned int flags,
		const json_t **out, struct zh_error *err);
int oci_get_arr(const json_t *o, const char *parent, const char *key, unsigned int flags,
		const json_t **out, struct zh_error *err);
int oci_get_str(const json_t *o, const char *parent, const char *key, unsigned int flags,
		char **out, struct zh_error *err);
int oci_get_bool(const json_t *o, const char *parent, const char *key, bool *out,
		 struct zh_error *err);
/* An integer in [min, max]; *set (may be NULL) becomes true when present. */
int oci_get_int(const json_t *o, const char *parent, const char *key, int64_t min, int64_t max,
		int64_t *out, bool *set, struct zh_error *err);
/* An array of strings -> NULL-terminated vector ("must be an array of strings"). */
int oci_get_strv(const json_t *o, const char *parent, const char *key, unsigned int flags,
		 char ***out, struct zh_error *err);
/* An object whose values are strings -> a new reference. */
int oci_get_strmap(const json_t *o, const char *parent, const char *key, json_t **out,
		   struct zh_error *err);
/* A string value (not a member) checked as oci_get_str does. */
int oci_check_str(const json_t *v, const char *path, unsigned int flags, char **out,
		  struct zh_error *err);

/* Parse text into a JSON object ("invalid JSON: <reason> at line L, column C"). */
int oci_json_load(const char *text, size_t len, json_t **out, struct zh_error *err);

/* Section parsers (path = the section's JSON path). */
int oci_process_from_json(const json_t *o, const char *path, struct oci_process **out,
			  struct zh_error *err);
int oci_mounts_from_json(const json_t *a, const char *path, struct oci_mount **out, size_t *n,
			 struct zh_error *err);
void oci_mounts_free(struct oci_mount *m, size_t n);
/* A propagation name ("rprivate") -> MS_* flags; 0 when not one. */
unsigned long oci_propagation_flags(const char *name);
int oci_resources_from_json(const json_t *o, const char *path, struct oci_resources *out,
			    struct zh_error *err);
int oci_linux_from_json(const json_t *o, const char *path, struct oci_linux *out,
			struct zh_error *err);
void oci_linux_clear(struct oci_linux *l);

/* Name tables the features document lists. */
extern const char *const oci_mount_option_names[];
extern const char *const oci_seccomp_action_names[];
extern const char *const oci_seccomp_op_names[];
extern const char *const oci_seccomp_arch_names[];

#endif

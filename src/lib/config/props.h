/*
 * props.h - THE vmadm property table.
 *
 * Owns: one static table holding every property a vmadm payload or VM
 * object may carry (reference §2.2 and Appendix A): its type, the brands
 * that may set it per action (create / receive / update, and for the
 * sub-properties of nics, disks, filesystems and pci_devices the brands
 * that may give it in add_* and update_* arrays), which brands require it,
 * min/max, element validator, create default, unit, and whether it has any
 * effect on Linux.  Validation (vmcfg), defaults, `vmadm get` and the docs
 * are all read from here; nothing else lists properties.
 *
 *     const struct props_prop *p = props_lookup("cpu_shares");
 *     unsigned b = props_brand_bit("joyent");
 *     if (!p || !props_allowed(p, b, PROPS_CREATE)) ... bad property
 *     if (!props_value_ok(p, v)) ... bad value
 *
 * Pure: no function here touches the host, prints or exits (except
 * props_doc_markdown, which writes to the FILE it is given).
 * Sub-properties are named "<base>.*.<sub>", e.g. "nics.*.ip".
 */
#ifndef ZH_PROPS_H
#define ZH_PROPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Brand bits (reference brand letters J M B L K H). */
#define PROPS_B_JOYENT	0x01u
#define PROPS_B_MINIMAL 0x02u
#define PROPS_B_BUILDER 0x04u
#define PROPS_B_LX	0x08u
#define PROPS_B_KVM	0x10u
#define PROPS_B_BHYVE	0x20u
#define PROPS_B_OS	0x0fu
#define PROPS_B_HVM	0x30u
#define PROPS_B_ALL	0x3fu

enum props_type {
	PROPS_STRING,
	PROPS_INTEGER,
	PROPS_BOOLEAN,
	PROPS_UUID,
	PROPS_LIST,
	PROPS_FLAT_OBJECT,
	PROPS_OBJECT_ARRAY,
	PROPS_ZPOOL,
	PROPS_RO, /* read-only output; never accepted in a payload */
};

/*
 * Actions.  PROPS_ADD / PROPS_UPDATE_SUB apply to sub-properties inside
 * nics/disks/... and add_* (ADD) or update_* (UPDATE_SUB) arrays.
 */
enum props_action { PROPS_CREATE, PROPS_RECEIVE, PROPS_UPDATE, PROPS_ADD, PROPS_UPDATE_SUB };

/* Flags. */
#define PROPS_F_DEPRECATED 0x01u
#define PROPS_F_NO_LINUX   0x02u /* accepted and stored, no effect on Linux */
#define PROPS_F_UPDATABLE  0x04u /* sub-property applied by update_* */
#define PROPS_F_KEEP_ZERO  0x08u
#define PROPS_F_JOINED	   0x40u /* list stored as one comma-joined string */
#define PROPS_F_LIVE	   0x80u /* update applies without reboot */
/*
 * Reaches outside the VM (a host path or device, a hypervisor command
 * line, an anti-spoofing exemption): only this host's operator grants it,
 * so a received config that sets it is refused unless allowed.
 */
#define PROPS_F_HOST 0x100u

/* Validator of a string value or of each list element. */
typedef bool (*props_validator)(const char *s);

struct props_prop {
	const char *name;
	enum props_type type;
	unsigned create, receive, update; /* brand masks per action */
	unsigned add;			  /* sub-props: brands in add_* */
	unsigned req_create, req_receive; /* brands that require it */
	unsigned flags;
	bool has_min, has_max;
	int64_t min, max;
	props_validator valid;
	const char *def;  /* create default as text (docs), or NULL */
	const char *unit; /* "MiB", "GiB", ... or NULL */
	const char *note;
};

struct props_brand {
	const char *name;
	unsigned bit;
	bool hvm;
	bool use_tmpfs;
	int64_t mem_overhead;		/* default_memory_overhead (MiB) */
	int64_t quota;			/* default quota (GiB) */
	const char *limit_priv;		/* default limit_priv */
	const char *iface_prefix;	/* "net" or "eth" */
	const char *const *image_types; /* zoneroot_image_types, NULL-ended */
};

/* Table access. props_lookup returns NULL for an unknown name. */
const struct props_prop *props_lookup(const char *name);
size_t props_count(void);
const struct props_prop *props_at(size_t i);

/* Brands.  props_brand_bit returns 0 for an unknown brand. */
unsigned props_brand_bit(const char *name);
const struct props_brand *props_brand_get(const char *name);

/* Is p allowed for brand bit b in action a?  Read-only props never are. */
bool props_allowed(const struct props_prop *p, unsigned b, enum props_action a);
/* Does brand b require p in action a (create/receive)? */
bool props_required(const struct props_prop *p, unsigned b, enum props_action a);

/*
 * Does v satisfy p's type, range and validator (vmadm validateProperty)?
 * null and "" (unset) are accepted for every type.
 */
bool props_value_ok(const struct props_prop *p, const json_t *v);

/*
 * Coerce a payload value to its stored form: numeric strings -> integer,
 * loose booleans ('true','1',1,...) -> boolean, comma strings -> arrays for
 * lists (or one joined string for PROPS_F_JOINED), ''/null -> *out = NULL
 * (unset).  A value of the wrong shape is returned unchanged (a new
 * reference) for props_value_ok to reject.  -EINVAL only when an integer
 * property is a non-numeric string; -ENOMEM.
 */
int props_coerce(const struct props_prop *p, const json_t *v, json_t **out);

/* Loose boolean (fixBooleanLoose): 1 true, 0 false, -1 not a boolean. */
int props_bool_loose(const json_t *v);

/* Validators shared with vmcfg. */
bool props_valid_ip(const char *s); /* IPv4 or IPv6 address */
bool props_valid_ipv4(const char *s);
bool props_valid_mac(const char *s);	    /* validMacAddress */
bool props_valid_attr_value(const char *s); /* [a-zA-Z0-9-._]+ */
bool props_valid_cid(const char *s);	    /* 0x + even-length hex */
bool props_valid_signal(const char *s);	    /* signame_parse() accepts it */

/* Write the property table as a Markdown table. */
void props_doc_markdown(FILE *f);

/* "all", "OS", "HVM" or brand letters (e.g. "JMBLK") into buf; "" for 0. */
const char *props_brand_letters(unsigned mask, char *buf, size_t len);

#endif

/*
 * oci-mount.c - config.json `mounts` into struct oci_mount, with mount(8)
 * style options turned into MS_* flags (docs/architecture.md §24.1).
 *
 * Owns: the mounts array it returns (oci_mounts_free) and the option
 * table (which `features` lists).  Uses oci-json.c only.
 *
 *     "options": ["rbind", "ro", "nosuid", "mode=755"]
 *     -> flags MS_BIND|MS_REC|MS_RDONLY|MS_NOSUID, data "mode=755"
 *
 * An option in the table sets or clears MS_* bits (the last one wins:
 * "ro" then "rw" leaves MS_RDONLY clear); a propagation name sets
 * .propagation; the recursive r* options (rro, rnosuid, ...) set
 * MOUNT_ATTR_* bits for mount_setattr(2); "tmpcopyup" (the runtimes'
 * extension for a tmpfs over image content) sets .tmpcopyup; anything else is passed on in
 * .data for the filesystem.  A mount without a type whose options say
 * bind or rbind gets type "bind".
 */
#include <errno.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>

#include "oci-internal.h"

struct opt {
	const char *name;
	bool clear;
	unsigned long flag;
};

static const struct opt opts[] = {
	{"async", true, MS_SYNCHRONOUS},
	{"atime", true, MS_NOATIME},
	{"bind", false, MS_BIND},
	{"defaults", false, 0},
	{"dev", true, MS_NODEV},
	{"diratime", true, MS_NODIRATIME},
	{"dirsync", false, MS_DIRSYNC},
	{"exec", true, MS_NOEXEC},
	{"iversion", false, MS_I_VERSION},
	{"lazytime", false, MS_LAZYTIME},
	{"loud", true, MS_SILENT},
	{"mand", false, MS_MANDLOCK},
	{"noatime", false, MS_NOATIME},
	{"nodev", false, MS_NODEV},
	{"nodiratime", false, MS_NODIRATIME},
	{"noexec", false, MS_NOEXEC},
	{"noiversion", true, MS_I_VERSION},
	{"nolazytime", true, MS_LAZYTIME},
	{"nomand", true, MS_MANDLOCK},
	{"norelatime", true, MS_RELATIME},
	{"nostrictatime", true, MS_STRICTATIME},
	{"nosuid", false, MS_NOSUID},
	{"nosymfollow", false, MS_NOSYMFOLLOW},
	{"rbind", false, MS_BIND | MS_REC},
	{"relatime", false, MS_RELATIME},
	{"remount", false, MS_REMOUNT},
	{"ro", false, MS_RDONLY},
	{"rw", true, MS_RDONLY},
	{"silent", false, MS_SILENT},
	{"strictatime", false, MS_STRICTATIME},
	{"suid", true, MS_NOSUID},
	{"sync", false, MS_SYNCHRONOUS},
	{"symfollow", true, MS_NOSYMFOLLOW},
};

static const struct opt props[] = {
	{"private", false, MS_PRIVATE},	      {"rprivate", false, MS_PRIVATE | MS_REC},
	{"shared", false, MS_SHARED},	      {"rshared", false, MS_SHARED | MS_REC},
	{"slave", false, MS_SLAVE},	      {"rslave", false, MS_SLAVE | MS_REC},
	{"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

static const struct opt attrs[] = {
	{"rro", false, MOUNT_ATTR_RDONLY},
	{"rrw", true, MOUNT_ATTR_RDONLY},
	{"rnosuid", false, MOUNT_ATTR_NOSUID},
	{"rsuid", true, MOUNT_ATTR_NOSUID},
	{"rnodev", false, MOUNT_ATTR_NODEV},
	{"rdev", true, MOUNT_ATTR_NODEV},
	{"rnoexec", false, MOUNT_ATTR_NOEXEC},
	{"rexec", true, MOUNT_ATTR_NOEXEC},
	{"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
	{"rdiratime", true, MOUNT_ATTR_NODIRATIME},
	{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
	{"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

const char *const oci_mount_option_names[] = {
	"async",      "atime",	     "bind",	      "defaults",  "dev",	  "diratime",
	"dirsync",    "exec",	     "iversion",      "lazytime",  "loud",	  "mand",
	"noatime",    "nodev",	     "nodiratime",    "noexec",	   "noiversion",  "nolazytime",
	"nomand",     "norelatime",  "nostrictatime", "nosuid",	   "nosymfollow", "notmpcopyup",
	"private",    "rbind",	     "rdev",	      "rdiratime", "relatime",	  "remount",
	"rexec",      "rnodev",	     "rnodiratime",   "rnoexec",   "rnosuid",	  "rnosymfollow",
	"ro",	      "rprivate",    "rro",	      "rrw",	   "rshared",	  "rslave",
	"rsuid",      "rsymfollow",  "runbindable",   "rw",	   "shared",	  "silent",
	"slave",      "strictatime", "suid",	      "symfollow", "sync",	  "tmpcopyup",
	"unbindable", NULL,
};

static const struct opt *find(const struct opt *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

unsigned long oci_propagation_flags(const char *name)
{
	const struct opt *o = find(props, ARRAY_SIZE(props), name);

	return o ? o->flag : 0;
}

static int add_data(char **data, const char *o)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s%s", *data ? *data : "", *data ? "," : "", o) < 0)
		return -ENOMEM;
	free(*data);
	*data = n;
	return 0;
}

static int apply_option(struct oci_mount *m, const char *o)
{
	const struct opt *f;

	if ((f = find(opts, ARRAY_SIZE(opts), o))) {
		m->flags = f->clear ? m->flags & ~f->flag : m->flags | f->flag;
		m->clear = f->clear ? m->clear | f->flag : m->clear & ~f->flag;
	} else if ((f = find(props, ARRAY_SIZE(props), o))) {
		m->propagation = f->flag;
	} else if (streq(o, "tmpcopyup") || streq(o, "notmpcopyup")) {
		m->tmpcopyup = streq(o, "tmpcopyup");
	} else if ((f = find(attrs, ARRAY_SIZE(attrs), o))) {
		m->attr_set = f->clear ? m->attr_set & ~f->flag : m->attr_set | f->flag;
		m->attr_clr = f->clear ? m->attr_clr | f->flag : m->attr_clr & ~f->flag;
	} else {
		return add_data(&m->data, o);
	}
	return 0;
}

static int parse_options(const json_t *e, const char *path, struct oci_mount *m,
			 struct zh_error *err)
{
	_cleanup_strv_ char **v = NULL;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	int r = oci_get_strv(e, path, "options", 0, &v, err);

	if (r < 0 || !v)
		return r;
	for (size_t i = 0; v[i]; i++) {
		if (strchr(v[i], ','))
			return oci_fail(err, oci_jpath_idx(qi, oci_jpath(q, path, "options"), i),
					"must not contain a comma");
		if (apply_option(m, v[i]) < 0)
			return zh_error_oom(err);
	}
	return 0;
}

static int parse_mount(const json_t *e, const char *path, struct oci_mount *m, struct zh_error *err)
{
	int r;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if ((r = oci_get_str(e, path, "destination", OCI_REQ | OCI_ABS, &m->destination, err)) <
		    0 ||
	    (r = oci_get_str(e, path, "type", 0, &m->type, err)) < 0 ||
	    (r = oci_get_str(e, path, "source", 0, &m->source, err)) < 0 ||
	    (r = parse_options(e, path, m, err)) < 0)
		return r;
	if (!m->type && (m->flags & MS_BIND)) {
		m->type = strdup("bind");
		if (!m->type)
			return zh_error_oom(err);
	}
	return 0;
}

void oci_mounts_free(struct oci_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].destination);
		free(m[i].type);
		free(m[i].source);
		free(m[i].data);
	}
	free(m);
}

int oci_mounts_from_json(const json_t *a, const char *path, struct oci_mount **out, size_t *n,
			 struct zh_error *err)
{
	struct oci_mount *m = calloc(json_array_size(a) + 1, sizeof(*m));
	char q[OCI_JPATH_MAX];
	const json_t *e;
	size_t i;

	if (!m)
		return zh_error_oom(err);
	json_array_foreach (a, i, e) {
		int r = parse_mount(e, oci_jpath_idx(q, path, i), &m[i], err);

		if (r < 0) {
			oci_mounts_free(m, i + 1);
			return r;
		}
	}
	*out = m;
	*n = json_array_size(a);
	return 0;
}

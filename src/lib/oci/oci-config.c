/*
 * oci-config.c - config.json: read it from a bundle, check ociVersion, and
 * assemble struct oci_spec from the section parsers (docs/architecture.md
 * §24.1).  Also the `hooks` object, which is small.
 *
 * Owns: the struct oci_spec it returns (oci_spec_free).  Uses oci-json.c,
 * oci-process.c, oci-mount.c and oci-linux.c.
 *
 *     struct oci_spec *s = oci_config_load(AT_FDCWD, bundle, &err);
 *     // "open /b/config.json: No such file or directory"
 *     // "config.json: process.cwd: must be an absolute path"
 *
 * Reading: openat(O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC) (no FIFO can block us,
 * no symlink is followed at the last component), fstat must say a regular
 * file of at most OCI_CONFIG_MAX bytes, and at most that many are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonutil.h"
#include "oci-internal.h"

static const char *const hook_keys[OCI_HOOK_NPHASES] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *oci_hook_name(enum oci_hook_phase p)
{
	return (unsigned int)p < OCI_HOOK_NPHASES ? hook_keys[p] : NULL;
}

static void hooks_free(struct oci_hook_list *h)
{
	for (size_t i = 0; h->v && i < h->n; i++) {
		free(h->v[i].path);
		strv_free(h->v[i].args);
		strv_free(h->v[i].env);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	oci_process_free(s->process);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	oci_mounts_free(s->mounts, s->n_mounts);
	for (int i = 0; i < OCI_HOOK_NPHASES; i++)
		hooks_free(&s->hooks[i]);
	json_decref(s->annotations);
	oci_linux_clear(&s->lnx);
	free(s);
}

static int parse_hook(const json_t *e, const char *path, struct oci_hook *h, struct zh_error *err)
{
	int64_t t = 0;
	bool set = false;
	int r;

	if (!json_is_object(e))
		return oci_fail(err, path, "must be an object");
	if ((r = oci_get_str(e, path, "path", OCI_REQ | OCI_ABS, &h->path, err)) < 0 ||
	    (r = oci_get_strv(e, path, "args", 0, &h->args, err)) < 0 ||
	    (r = oci_get_strv(e, path, "env", 0, &h->env, err)) < 0 ||
	    (r = oci_get_int(e, path, "timeout", 1, INT32_MAX, &t, &set, err)) < 0)
		return r;
	h->timeout = (int)t;
	return 0;
}

static int parse_hook_list(const json_t *o, const char *path, int phase, struct oci_hook_list *h,
			   struct zh_error *err)
{
	const json_t *a = NULL, *e;
	char q[OCI_JPATH_MAX], qi[OCI_JPATH_MAX];
	size_t i;
	int r = oci_get_arr(o, path, hook_keys[phase], 0, &a, err);

	if (r < 0 || !a)
		return r;
	h->v = calloc(json_array_size(a) + 1, sizeof(*h->v));
	if (!h->v)
		return zh_error_oom(err);
	oci_jpath(q, path, hook_keys[phase]);
	json_array_foreach (a, i, e) {
		h->n++;
		if ((r = parse_hook(e, oci_jpath_idx(qi, q, i), &h->v[i], err)) < 0)
			return r;
	}
	return 0;
}

static int parse_hooks(const json_t *o, struct oci_spec *s, struct zh_error *err)
{
	const json_t *h = NULL;
	int r = oci_get_obj(o, "", "hooks", 0, &h, err);

	for (int i = 0; r == 0 && h && i < OCI_HOOK_NPHASES; i++)
		r = parse_hook_list(h, "hooks", i, &s->hooks[i], err);
	return r;
}

/* 1.0.x, 1.1.x, 1.2.x, with or without a suffix ("1.0.2-dev"). */
static int check_version(const char *v, struct zh_error *err)
{
	unsigned int major, minor;
	int n = 0;

	if (sscanf(v, "%u.%u.%*u%n", &major, &minor, &n) != 2 || n == 0 ||
	    (v[n] != '\0' && v[n] != '-' && v[n] != '+'))
		return oci_fail(err, "ociVersion", "\"%s\" is not a version", v);
	if (major != 1 || minor > 2)
		return oci_fail(err, "ociVersion", "unsupported version \"%s\" (1.0.0 to 1.2.x)",
				v);
	return 0;
}

/* hostname or domainname: a string of at most 64 bytes (HOST_NAME_MAX). */
static int parse_name(const json_t *j, const char *key, char **out, struct zh_error *err)
{
	int r = oci_get_str(j, "", key, 0, out, err);

	if (r == 0 && *out && strlen(*out) > 64)
		return oci_fail(err, key, "longer than 64 bytes");
	return r;
}

static int parse_root(const json_t *j, struct oci_spec *s, struct zh_error *err)
{
	const json_t *root = NULL;
	int r;

	if ((r = oci_get_obj(j, "", "root", OCI_REQ, &root, err)) < 0 ||
	    (r = oci_get_str(root, "root", "path", OCI_REQ | OCI_NONEMPTY, &s->root_path, err)) <
		    0 ||
	    (r = oci_get_bool(root, "root", "readonly", &s->root_readonly, err)) < 0)
		return r;
	if (strlen(s->root_path) >= OCI_PATH_MAX)
		return oci_fail(err, "root.path", "path too long");
	return 0;
}

static int parse_top(const json_t *j, struct oci_spec *s, struct zh_error *err)
{
	const json_t *mounts = NULL;
	int r;

	if ((r = oci_get_str(j, "", "ociVersion", OCI_REQ, &s->oci_version, err)) < 0 ||
	    (r = check_version(s->oci_version, err)) < 0)
		return r;
	if (!oci_member(j, "process"))
		return oci_fail(err, "process", "required");
	if ((r = oci_process_from_json(oci_member(j, "process"), "process", &s->process, err)) <
		    0 ||
	    (r = parse_root(j, s, err)) < 0 ||
	    (r = parse_name(j, "hostname", &s->hostname, err)) < 0 ||
	    (r = parse_name(j, "domainname", &s->domainname, err)) < 0)
		return r;
	if ((r = oci_get_arr(j, "", "mounts", 0, &mounts, err)) < 0 ||
	    (mounts &&
	     (r = oci_mounts_from_json(mounts, "mounts", &s->mounts, &s->n_mounts, err)) < 0))
		return r;
	return 0;
}

static int parse_rest(const json_t *j, struct oci_spec *s, struct zh_error *err)
{
	const json_t *lin = NULL;
	int r;

	if ((r = parse_hooks(j, s, err)) < 0 ||
	    (r = oci_get_strmap(j, "", "annotations", &s->annotations, err)) < 0 ||
	    (r = oci_get_obj(j, "", "linux", 0, &lin, err)) < 0)
		return r;
	return lin ? oci_linux_from_json(lin, "linux", &s->lnx, err) : 0;
}

struct oci_spec *oci_config_parse(const char *json, size_t len, struct zh_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	struct oci_spec *s;

	if (oci_json_load(json, len, &j, err) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		zh_error_oom(err);
		return NULL;
	}
	if (parse_top(j, s, err) < 0 || parse_rest(j, s, err) < 0) {
		oci_spec_free(s);
		return NULL;
	}
	return s;
}

/* At most OCI_CONFIG_MAX bytes of a regular file, and one more to tell. */
static int read_config(int fd, const char *path, char **out, size_t *len, struct zh_error *err)
{
	_cleanup_free_ char *buf = malloc(OCI_CONFIG_MAX + 1);
	struct stat st;
	size_t n = 0;
	ssize_t k;

	if (!buf)
		return zh_error_oom(err);
	if (fstat(fd, &st) < 0)
		return zh_error_set(err, errno, NULL, "stat %s: %m", path);
	if (!S_ISREG(st.st_mode))
		return zh_error_set(err, EINVAL, NULL, "open %s: not a regular file", path);
	while (n <= OCI_CONFIG_MAX && (k = read(fd, buf + n, OCI_CONFIG_MAX + 1 - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return zh_error_set(err, errno, NULL, "read %s: %m", path);
		n += (size_t)k;
	}
	if (n > OCI_CONFIG_MAX)
		return zh_error_set(err, EFBIG, NULL, "config.json: larger than %u bytes",
				    OCI_CONFIG_MAX);
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

/* root.path relative to the bundle -> "<bundle>/<path>" (a leading "./" dropped);
 * an empty bundle (the current directory) leaves it as it is. */
static int resolve_root(struct oci_spec *s, const char *bundle, struct zh_error *err)
{
	const char *p = s->root_path;
	size_t bl = strlen(bundle);
	char *abs = NULL;

	if (p[0] == '/' || bl == 0)
		return 0;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (bl > 1 && bundle[bl - 1] == '/')
		bl--;
	if (asprintf(&abs, "%.*s/%s", (int)bl, bundle, *p ? p : ".") < 0)
		return zh_error_oom(err);
	free(s->root_path);
	s->root_path = abs;
	return 0;
}

struct oci_spec *oci_config_load(int dirfd, const char *bundle, struct zh_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct oci_spec *s;
	size_t len = 0;

	if (asprintf(&path, "%s%sconfig.json", bundle,
		     !*bundle || bundle[strlen(bundle) - 1] == '/' ? "" : "/") < 0) {
		zh_error_oom(err);
		return NULL;
	}
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		zh_error_set(err, errno, NULL, "open %s: %s", path,
			     errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return NULL;
	}
	if (read_config(fd, path, &text, &len, err) < 0)
		return NULL;
	s = oci_config_parse(text, len, err);
	if (!s) {
		zh_error_prefix(err, "config.json");
		return NULL;
	}
	if (resolve_root(s, bundle, err) < 0) {
		oci_spec_free(s);
		return NULL;
	}
	return s;
}

/*
 * image-layer.c - the paths inside an incremental image's tar (pure).
 *
 * Owns: nothing at run time.  A pure function over one string, so the unit
 * test (tests/unit/test-layer.c) and the fuzzer (tests/fuzz/fuzz-layer.c)
 * drive it directly; image-apply.c acts on what it returns.
 *
 *     char *norm = NULL;
 *     const char *why = NULL;
 *     int r = image_layer_path("./etc/.wh.motd", &norm, &why);
 *             r == IMAGE_LAYER_WHITEOUT, norm == "etc/motd"
 *
 * Rules (OCI image layers): an entry whose last component is ".wh.NAME" is
 * a whiteout, deleting NAME from the origin; one whose last component is
 * ".wh..wh..opq" makes its directory opaque (the origin's entries in it
 * are deleted); the other ".wh..wh.*" names (the rest of that reserved
 * space) are refused, as are a whiteout of "", "." or "..", a ".wh."
 * component anywhere but last, a ".." component, an absolute path and a
 * path of PATH_MAX bytes or more.
 * "." and empty components are dropped, so "./a//b" is "a/b" and "./" is
 * "" (the root).
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "image.h"

#define WH_PREFIX ".wh."
#define WH_LEN	  (sizeof(WH_PREFIX) - 1)
#define WH_META	  ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

static bool is_whiteout(const char *s, size_t len)
{
	return len >= WH_LEN && memcmp(s, WH_PREFIX, WH_LEN) == 0;
}

static bool is_dots(const char *s, size_t len)
{
	return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

static bool is_opaque(const char *s, size_t len)
{
	return len == sizeof(WH_OPAQUE) - 1 && memcmp(s, WH_OPAQUE, len) == 0;
}

/*
 * Check one component (s, len); a whiteout's name is moved past ".wh.";
 * an opaque marker sets *wh to 2 and *len to 0 (it adds no component).
 */
static int component(const char **s, size_t *len, int *wh, const char **why)
{
	if (*wh) {
		*why = "uses a whiteout name (.wh.*) as a directory";
		return -EINVAL;
	}
	if (*len == 2 && (*s)[0] == '.' && (*s)[1] == '.') {
		*why = "has a \"..\" component";
		return -EINVAL;
	}
	if (!is_whiteout(*s, *len))
		return 0;
	if (is_opaque(*s, *len)) {
		*wh = 2;
		*len = 0;
		return 0;
	}
	if (*len >= sizeof(WH_META) - 1 && memcmp(*s, WH_META, sizeof(WH_META) - 1) == 0) {
		*why = "is a reserved whiteout name (.wh..wh.*) other than .wh..wh..opq";
		return -EINVAL;
	}
	*wh = 1;
	*s += WH_LEN;
	*len -= WH_LEN;
	if (*len == 0 || is_dots(*s, *len)) {
		*why = "is a whiteout of an empty name, \".\" or \"..\"";
		return -EINVAL;
	}
	return 0;
}

static int check_whole(const char *path, const char **why)
{
	if (!path || !*path) {
		*why = "has an empty name";
		return -EINVAL;
	}
	if (strlen(path) >= PATH_MAX) {
		*why = "has a name too long";
		return -EINVAL;
	}
	if (path[0] == '/') {
		*why = "is an absolute path";
		return -EINVAL;
	}
	return 0;
}

int image_layer_path(const char *path, char **norm, const char **why)
{
	_cleanup_free_ char *out = NULL;
	int wh = 0;
	size_t n = 0;
	int r;

	*norm = NULL;
	*why = NULL;
	if ((r = check_whole(path, why)) < 0)
		return r;
	if (!(out = malloc(strlen(path) + 1))) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (const char *p = path; *p;) {
		const char *s = p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		while (*p == '/')
			p++;
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if ((r = component(&s, &len, &wh, why)) < 0)
			return r;
		if (len == 0)
			continue;
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, s, len);
		n += len;
	}
	out[n] = '\0';
	*norm = TAKE_PTR(out);
	return wh == 2 ? IMAGE_LAYER_OPAQUE : wh ? IMAGE_LAYER_WHITEOUT : IMAGE_LAYER_ENTRY;
}

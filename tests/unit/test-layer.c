/*
 * test-layer.c - paths inside an incremental image's tar
 * (image_layer_path): ordinary entries, whiteouts, and what is refused.
 */
#include <limits.h>
#include <string.h>

#include "image.h"
#include "tap.h"

int main(void);

/* path -> want (IMAGE_LAYER_ENTRY, _WHITEOUT, _OPAQUE or -EINVAL) and the normalised path. */
static void expect(const char *path, int want, const char *norm)
{
	char *got = NULL;
	const char *why = NULL;
	int r = image_layer_path(path, &got, &why);

	is_int(r, want, "\"%s\" -> %d", path ? path : "(null)", want);
	if (want >= 0) {
		is_str(got, norm, "  normalised \"%s\"", norm);
		ok(why == NULL, "  no reason given");
	} else {
		ok(got == NULL, "  nothing returned");
		ok(why && *why, "  reason: %s", why ? why : "(none)");
	}
	free(got);
}

static void test_entries(void)
{
	expect("etc/passwd", IMAGE_LAYER_ENTRY, "etc/passwd");
	expect("./etc//passwd", IMAGE_LAYER_ENTRY, "etc/passwd");
	expect("etc/./x/", IMAGE_LAYER_ENTRY, "etc/x");
	expect("./", IMAGE_LAYER_ENTRY, "");
	expect(".", IMAGE_LAYER_ENTRY, "");
	expect("..x/y..", IMAGE_LAYER_ENTRY, "..x/y..");
	expect("a/.whx", IMAGE_LAYER_ENTRY, "a/.whx");
	expect("a/wh.b", IMAGE_LAYER_ENTRY, "a/wh.b");
	expect(".w", IMAGE_LAYER_ENTRY, ".w");
}

static void test_whiteouts(void)
{
	expect(".wh.home", IMAGE_LAYER_WHITEOUT, "home");
	expect("./etc/.wh.hosts", IMAGE_LAYER_WHITEOUT, "etc/hosts");
	expect("a//b/.wh.c/", IMAGE_LAYER_WHITEOUT, "a/b/c");
	expect("a/.wh..c", IMAGE_LAYER_WHITEOUT, "a/.c");
	expect("a/.wh....", IMAGE_LAYER_WHITEOUT, "a/...");
	expect("a/.wh..wh", IMAGE_LAYER_WHITEOUT, "a/.wh");
	expect("a/.wh..wh..opq", IMAGE_LAYER_OPAQUE, "a");
	expect("./a/b/.wh..wh..opq", IMAGE_LAYER_OPAQUE, "a/b");
	expect(".wh..wh..opq", IMAGE_LAYER_OPAQUE, "");
}

static void test_refused(void)
{
	char big[PATH_MAX + 8];

	expect(NULL, -EINVAL, NULL);
	expect("", -EINVAL, NULL);
	expect("/etc/passwd", -EINVAL, NULL);
	expect("/etc/.wh.passwd", -EINVAL, NULL);
	expect("..", -EINVAL, NULL);
	expect("../.wh.etc", -EINVAL, NULL);
	expect("etc/../../.wh.x", -EINVAL, NULL);
	expect("a/../b", -EINVAL, NULL);
	expect("a/.wh.b/c", -EINVAL, NULL);
	expect(".wh.", -EINVAL, NULL);
	expect("a/.wh.", -EINVAL, NULL);
	expect("a/.wh..", -EINVAL, NULL);
	expect("a/.wh...", -EINVAL, NULL);
	expect("a/.wh..wh..opq/b", -EINVAL, NULL);
	expect("a/.wh..wh..opqx", -EINVAL, NULL);
	expect(".wh..wh.plnk", -EINVAL, NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect(big, -EINVAL, NULL);
	big[PATH_MAX - 1] = '\0';
	expect(big, IMAGE_LAYER_ENTRY, big);
}

int main(void)
{
	test_entries();
	test_whiteouts();
	test_refused();
	return tap_done();
}

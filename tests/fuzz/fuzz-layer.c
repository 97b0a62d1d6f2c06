/*
 * fuzz-layer.c - libFuzzer target for the paths of an incremental image's
 * tar entries (image_layer_path: entry name -> ordinary entry, whiteout,
 * opaque marker or refused).  Seeds in tests/fuzz/corpus/fuzz-layer/.
 *
 * Checks the contract as well as memory safety: an accepted path is
 * relative, has no "." or ".." component and no empty one, and a whiteout
 * names something ("" is only ever the root of an ordinary entry or of an
 * opaque marker).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_norm(const char *norm, int r)
{
	const char *p = norm;

	if (norm[0] == '/' || (r == IMAGE_LAYER_WHITEOUT && !*norm))
		__builtin_trap();
	while (*p) {
		const char *s = p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && !memcmp(s, "..", 2)))
			__builtin_trap();
		if (*p == '/' && !*++p)
			__builtin_trap(); /* trailing slash */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1);
	char *norm = NULL;
	const char *why = NULL;
	int r;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	r = image_layer_path(path, &norm, &why);
	if (r == IMAGE_LAYER_ENTRY || r == IMAGE_LAYER_WHITEOUT || r == IMAGE_LAYER_OPAQUE) {
		if (!norm || why || strlen(norm) > strlen(path))
			__builtin_trap();
		check_norm(norm, r);
	} else if ((r != -EINVAL && r != -ENOMEM) || norm || !why) {
		__builtin_trap();
	}
	free(norm);
	free(path);
	return 0;
}

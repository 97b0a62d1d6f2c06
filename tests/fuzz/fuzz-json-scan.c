/*
 * fuzz-json-scan.c - libFuzzer target for image_json_scan(), which counts
 * the values of a JSON answer from an image source as it streams in, to
 * refuse one that would take too much memory to parse.  Checks that the
 * count does not depend on how the bytes are split into chunks, and that it
 * bounds the values and keys of whatever jansson parses from the same
 * bytes.  Seeds in tests/fuzz/corpus/fuzz-json-scan/.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values and object keys in j. */
static size_t nodes(const json_t *j)
{
	size_t n = 1, i;
	const char *k;
	json_t *v;

	if (json_is_array(j))
		json_array_foreach ((json_t *)j, i, v)
			n += nodes(v);
	if (json_is_object(j))
		json_object_foreach ((json_t *)j, k, v)
			n += 1 + nodes(v);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_json_scan whole = IMAGE_JSON_SCAN_INIT, split = IMAGE_JSON_SCAN_INIT;
	const char *text = (const char *)data;
	size_t cut = size ? data[0] % (size + 1) : 0;
	json_t *j;

	image_json_scan(&whole, text, size);
	image_json_scan(&split, text, cut);
	image_json_scan(&split, text + cut, size - cut);
	if (whole.values != split.values || whole.in_str != split.in_str)
		__builtin_trap();
	j = json_loadb(text, size, JSON_DECODE_ANY, NULL);
	if (j && nodes(j) > whole.values)
		__builtin_trap();
	json_decref(j);
	return 0;
}

/*
 * fuzz-manifest.c - libFuzzer target for image manifest parsing and checks
 * (image_manifest_parse: JSON text -> checked manifest v2).  Seeds in
 * tests/fuzz/corpus/fuzz-manifest/.
 */
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "jsonutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *m = NULL;

	if (image_manifest_parse((const char *)data, size, &m, &err) == 0) {
		/* A manifest that passes must pass again (the check is pure). */
		if (image_manifest_check(m, &err) != 0)
			__builtin_trap();
		json_decref(m);
	} else if (!err.msg || !err.errnum) {
		__builtin_trap();
	}
	zh_error_clear(&err);
	return 0;
}

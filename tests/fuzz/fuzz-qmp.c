/*
 * fuzz-qmp.c - libFuzzer target for the QMP reply parser (qmp_parse: one
 * line QEMU sent, docs/architecture.md §22).  Seeds in
 * tests/fuzz/corpus/fuzz-qmp/.  A message that parses must be an object
 * of its kind (an error is an object).
 */
#include <stddef.h>
#include <stdint.h>

#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *m = NULL;
	int r = qmp_parse((const char *)data, size, &m, &err);

	if (r >= 0 && !m)
		__builtin_trap();
	if (r == QMP_ERROR && !json_is_object(m))
		__builtin_trap();
	if (r == QMP_EVENT && !json_is_object(m))
		__builtin_trap();
	json_decref(m);
	zh_error_clear(&err);
	return 0;
}

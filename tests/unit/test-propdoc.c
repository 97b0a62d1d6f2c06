/*
 * docs/properties.md is generated from the property table: this test fails
 * when the table changed and the page was not regenerated, so the docs
 * never drift.  Regenerate with:  build/tests/unit/test-propdoc --write FILE
 */
#include <stdio.h>
#include <stdlib.h>

#include "fsutil.h"
#include "props.h"
#include "tap.h"

int main(int argc, char **argv)
{
	char *want = NULL, *got = NULL;
	size_t wlen = 0, glen = 0;
	struct zh_error err = ZH_ERROR_INIT;
	FILE *f;

	if (argc == 3 && streq(argv[1], "--write")) {
		f = fopen(argv[2], "we");
		if (!f)
			return 1;
		props_doc_markdown(f);
		return fclose(f) == 0 ? 0 : 1;
	}
	if (argc != 2)
		tap_skip_all("usage: test-propdoc DOCS/properties.md");
	f = open_memstream(&got, &glen);
	props_doc_markdown(f);
	fclose(f);
	ok(fsutil_read_all(argv[1], 1 << 20, &want, &wlen, &err) == 0, "read %s", argv[1]);
	ok(want && wlen == glen && memcmp(want, got, glen) == 0,
	   "docs/properties.md matches the property table (regenerate: test-propdoc --write)");
	free(want);
	free(got);
	zh_error_clear(&err);
	return tap_done();
}

/*
 * imgadm-create.c - `imgadm create`: an image from a stopped VM.
 *
 *     imgadm create [-i] [-m MANIFEST|-] [-o OUTPUT_DIR] [-c none|gzip|bzip2|xz|zstd] [-q]
 *                   VM_UUID [FIELD=VALUE ...]
 *
 * -i makes an incremental image: only what differs from the VM's image,
 * which becomes the manifest's "origin".
 *
 * Manifest fields come from -m (a file, or "-" for stdin) and FIELD=VALUE
 * arguments (which win; "true"/"false" become booleans); name and version
 * are required.  The work is image_create() (vm-image.h); this file parses,
 * prints the two paths written and maps errors to exit codes.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmdutil.h"
#include "image.h"
#include "vm-image.h"
#include "imgadm.h"
#include "jsonutil.h"
#include "util.h"

static const char create_usage[] =
	"Usage:\n"
	"    imgadm create [-i] [-m MANIFEST|-] [-o OUTPUT_DIR] [-c none|gzip|bzip2|xz|zstd] [-q]\n"
	"                  VM_UUID [FIELD=VALUE ...]\n";

struct create_args {
	const char *manifest, *outdir, *comp, *vm;
	bool quiet, incremental;
	char **fields;
	int nfields;
};

static int create_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "imgadm: error (Usage): %s%s%s%s\n%s", msg, arg ? ": \"" : "",
		arg ? arg : "", arg ? "\"" : "", create_usage);
	return EXIT_USAGE;
}

static int parse_create(int argc, char **argv, struct create_args *a)
{
	int c;

	while ((c = getopt(argc, argv, "+im:o:c:qh")) != -1) {
		switch (c) {
		case 'i': a->incremental = true; break;
		case 'm': a->manifest = optarg; break;
		case 'o': a->outdir = optarg; break;
		case 'c': a->comp = optarg; break;
		case 'q': a->quiet = true; break;
		case 'h': fputs(create_usage, stdout); return -1;
		default: return create_usage_error("bad option for create", NULL);
		}
	}
	if (optind >= argc)
		return create_usage_error("create needs a VM UUID", NULL);
	a->vm = argv[optind];
	if (!util_is_uuid(a->vm))
		return create_usage_error("invalid VM uuid", a->vm);
	a->fields = argv + optind + 1;
	a->nfields = argc - optind - 1;
	for (int i = 0; i < a->nfields; i++)
		if (!strchr(a->fields[i], '=') || a->fields[i][0] == '=')
			return create_usage_error("invalid field (FIELD=VALUE)", a->fields[i]);
	return 0;
}

static json_t *field_json(const char *v)
{
	if (streq(v, "true"))
		return json_true();
	if (streq(v, "false"))
		return json_false();
	return json_string(v);
}

/* -m contents (or {}), then FIELD=VALUE on top. */
static int load_fields(const struct create_args *a, json_t **out)
{
	_cleanup_json_ json_t *m = NULL;

	if (a->manifest) {
		int r = cmd_read_payload(a->manifest, "create", &m);

		if (r != 0)
			return r;
	} else if (!(m = json_object())) {
		return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	}
	if (!json_is_object(m))
		return cmd_die(EXIT_ERR, "imgadm: error: -m %s: the manifest must be a JSON object",
			       a->manifest);
	for (int i = 0; i < a->nfields; i++) {
		const char *eq = strchr(a->fields[i], '=');
		_cleanup_free_ char *key = strndup(a->fields[i], (size_t)(eq - a->fields[i]));

		if (!key || json_object_set_new(m, key, field_json(eq + 1)) < 0)
			return cmd_die(EXIT_ERR, "imgadm: error: out of memory");
	}
	*out = TAKE_PTR(m);
	return 0;
}

int imgadm_create(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct create_args a = {0};
	_cleanup_json_ json_t *fields = NULL;
	_cleanup_free_ char *mpath = NULL, *fpath = NULL;
	struct image_create_opts o;
	int r = parse_create(argc, argv, &a);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if ((r = load_fields(&a, &fields)) != 0)
		return r;
	o = (struct image_create_opts){.vm_uuid = a.vm,
				       .fields = fields,
				       .compression = a.comp,
				       .output_dir = a.outdir,
				       .incremental = a.incremental};
	if (image_create(&o, &mpath, &fpath, &err) < 0) {
		fprintf(stderr, "imgadm: error: %s\n", err.msg);
		zh_error_clear(&err);
		return EXIT_ERR;
	}
	if (!a.quiet)
		printf("Created %simage %s@%s from VM %s:\n", a.incremental ? "incremental " : "",
		       jsonutil_str(fields, "name"), jsonutil_str(fields, "version"), a.vm);
	printf("%s\n%s\n", mpath, fpath);
	return EXIT_OK;
}

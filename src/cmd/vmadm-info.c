/*
 * vmadm-info.c - `vmadm info <uuid> [type,...]` (types comma- or
 * space-separated; none = all) prints the hardware VM's runtime facts as
 * JSON on stdout; errors are `Unable to get VM info for VM <uuid>: <why>`,
 * exit 1.  `vmadm sysrq <uuid> nmi|screenshot`: `Invalid sysrq type: x` is
 * a usage error (exit 2); success says so on stderr.  The work is
 * vm_info() / vm_sysrq() (vm-info.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "util.h"
#include "vm-info.h"
#include "vmadm.h"

/* argv[from..] split on commas into a NULL-terminated list (owned strings). */
static char **split_types(int argc, char **argv, int from)
{
	size_t n = 0, cap = 0; /* a type is at least one character */
	char **v;

	for (int i = from; i < argc; i++)
		cap += strlen(argv[i]);
	if (!(v = calloc(cap + 1, sizeof(*v))))
		return NULL;
	for (int i = from; i < argc; i++) {
		char *save = NULL, *dup = strdup(argv[i]);

		for (char *t = dup ? strtok_r(dup, ", ", &save) : NULL; t && n < cap;
		     t = strtok_r(NULL, ", ", &save))
			v[n++] = strdup(t);
		free(dup);
	}
	return v;
}

int cmd_info(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *out = NULL;
	_cleanup_strv_ char **types = NULL;
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (!(types = split_types(argc, argv, optind)))
		return cmd_die(EXIT_ERR, "out of memory");
	if (vm_info(uuid, types, &out, &err) < 0) {
		zh_error_prefix(&err, "Unable to get VM info for VM %s", uuid);
		return cmd_fail(&err);
	}
	cmd_print_json(out);
	return EXIT_OK;
}

int cmd_sysrq(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_free_ char *path = NULL;
	const char *uuid = NULL, *req;
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind >= argc)
		return vmadm_usage_error("Missing sysrq type for %s", argv[0]);
	req = argv[optind++];
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	if (!streq(req, "nmi") && !streq(req, "screenshot"))
		return vmadm_usage_error("Invalid sysrq type: %s", req);
	if (vm_sysrq(uuid, req, &path, &err) < 0)
		return cmd_fail(&err);
	if (path)
		fprintf(stderr, "Sent %s sysrq to VM %s (%s)\n", req, uuid, path);
	else
		fprintf(stderr, "Sent %s sysrq to VM %s\n", req, uuid);
	return EXIT_OK;
}

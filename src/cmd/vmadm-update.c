/*
 * vmadm-update.c - `vmadm update <uuid> [-f file]` (JSON object) or
 * `vmadm update <uuid> key=value ...` (an object of strings; vmcfg
 * coerces them per property type).  `Successfully updated VM <uuid>`.
 */
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "vm.h"
#include "vmadm.h"

static int on_file(void *ctx, int c, const char *arg)
{
	*(const char **)ctx = arg;
	return 0;
}

/* key=value arguments -> {"key":"value",...}; returns 0 or an exit code. */
static int pairs_to_object(int argc, char **argv, json_t **out)
{
	_cleanup_json_ json_t *o = json_object();

	if (!o)
		return cmd_die(EXIT_ERR, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		_cleanup_free_ char *key = NULL;

		if (!eq || eq == argv[i])
			return vmadm_usage_error("Invalid property=value pair: \"%s\"", argv[i]);
		key = strndup(argv[i], (size_t)(eq - argv[i]));
		if (!key || json_object_set_new(o, key, json_string(eq + 1)) < 0)
			return cmd_die(EXIT_ERR, "out of memory");
	}
	*out = TAKE_PTR(o);
	return 0;
}

int cmd_update(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *payload = NULL;
	const char *uuid = NULL, *file = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "f:", on_file, &file)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind < argc && file)
		return vmadm_usage_error("Cannot use -f together with property=value pairs");
	if (optind < argc)
		r = pairs_to_object(argc - optind, argv + optind, &payload);
	else
		r = cmd_read_payload(file, "update", &payload);
	if (r != 0)
		return r;
	if (vm_update(uuid, payload, vmadm_warn, NULL, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully updated VM %s\n", uuid);
	return EXIT_OK;
}

/*
 * vmadm-create.c - `vmadm create [-f file]`: payload from a file or stdin,
 * vm_create(), then `Successfully created VM <uuid>` on stderr.
 */
#include "cmdutil.h"
#include "jsonutil.h"
#include "vm.h"
#include "vmadm.h"

static int on_file(void *ctx, int c, const char *arg)
{
	*(const char **)ctx = arg;
	return 0;
}

int cmd_create(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *payload = NULL;
	char uuid[UTIL_UUID_LEN + 1];
	const char *file = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "f:", on_file, &file)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Invalid argument for create: \"%s\"", argv[optind]);
	if ((r = cmd_read_payload(file, "create", &payload)) != 0)
		return r;
	if (vm_create(payload, vmadm_warn, NULL, uuid, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully created VM %s\n", uuid);
	return EXIT_OK;
}

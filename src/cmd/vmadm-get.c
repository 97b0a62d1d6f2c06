/*
 * vmadm-get.c - `vmadm get|json <uuid>`: the decorated VM object as JSON
 * (2-space indent, sorted keys) on stdout.
 */
#include "cmdutil.h"
#include "jsonutil.h"
#include "vmadm.h"
#include "vm-view.h"
#include "vmstore.h"

int cmd_get(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_pool_ struct pool *p = NULL;
	_cleanup_json_ json_t *vm = NULL;
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_uuid_only(argc, argv, &uuid)) != 0)
		return r;
	if (vmview_find(uuid, &p, &vm, &err) < 0)
		return cmd_fail(&err);
	cmd_print_json(vm);
	return EXIT_OK;
}

/*
 * vmadm-delete.c - `vmadm delete|destroy <uuid>`: removes the VM's dataset
 * and every trace of it.  `Successfully deleted VM <uuid>`; failures are
 * prefixed `Failed to delete VM <uuid>: `.
 */
#include "cmdutil.h"
#include "vm.h"
#include "vmadm.h"

int cmd_delete(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_uuid_only(argc, argv, &uuid)) != 0)
		return r;
	if (vm_delete(uuid, &err) < 0) {
		zh_error_prefix(&err, "Failed to delete VM %s", uuid);
		return cmd_fail(&err);
	}
	fprintf(stderr, "Successfully deleted VM %s\n", uuid);
	return EXIT_OK;
}

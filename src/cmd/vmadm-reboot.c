/*
 * vmadm-reboot.c - `vmadm reboot <uuid> [-F]`: the zone's init gets its
 * reboot signal and zoneadmd boots the zone again however init ends (after
 * 60 s it is killed); -F kills everything and boots again at once.
 * `Successfully completed reboot for VM <uuid>`; not running: the stop
 * message, exit 1.
 */
#include "cmdutil.h"
#include "vm.h"
#include "vmadm.h"

static int on_opt(void *ctx, int c, const char *arg)
{
	*(bool *)ctx = true;
	return 0;
}

int cmd_reboot(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL;
	bool force = false;
	int r;

	if ((r = vmadm_getopt(argc, argv, "F", on_opt, &force)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	if (vm_reboot(uuid, force, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully completed reboot for VM %s\n", uuid);
	return EXIT_OK;
}

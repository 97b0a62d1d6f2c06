/*
 * vmadm-start.c - `vmadm start|boot <uuid>`: spawns the zone's zoneadmd
 * and waits until init runs (vm_start).  `Successfully started VM <uuid>`;
 * already running: `VM <uuid> is already 'running'`, exit 0 (docs/architecture.md §4).
 * A hardware VM's one-boot extras (order=cdn[,once=cdn], cdrom=<path>,<model>,
 * disk=<path>,<model>; vmcfg-start.h) go to its zoneadmd for this boot; on an
 * OS VM they are refused (exit 1, nothing changed).
 */
#include "cmdutil.h"
#include "vm.h"
#include "vmadm.h"

int cmd_start(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	r = vm_start_with(uuid, argv + optind, &err);
	if (r == -EALREADY) {
		fprintf(stderr, "%s\n", err.msg);
		zh_error_clear(&err);
		return EXIT_OK;
	}
	if (r < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully started VM %s\n", uuid);
	return EXIT_OK;
}

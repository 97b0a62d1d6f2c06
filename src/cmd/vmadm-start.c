/*
 * vmadm-start.c - `vmadm start|boot <uuid>`: spawns the zone's zoneadmd
 * and waits until init runs (vm_start).  `Successfully started VM <uuid>`;
 * already running: `VM <uuid> is already 'running'`, exit 0 (docs/architecture.md §4).
 * A hardware VM's one-boot extras (order=cdn[,once=cdn], cdrom=<path>,<model>,
 * disk=<path>,<model>; vmcfg-start.h) go to its zoneadmd for this boot; on an
 * OS VM they are refused (exit 1, nothing changed).  A hardware VM that
 * zoneadmd booted under TCG gets a one-line notice saying why
 * (`vmadm info <uuid> accel`, docs/architecture.md §22).
 */
#include <string.h>

#include "cmdutil.h"
#include "jsonutil.h"
#include "util.h"
#include "vm-info.h"
#include "vm.h"
#include "vmadm.h"

/* After a start: the TCG notice, asked of the VM's zoneadmd (OS VMs: no ctl call). */
static void accel_notice(const char *uuid)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *info = NULL;
	char *types[] = {"accel", NULL};
	json_t *a;

	if (vm_info(uuid, types, &info, &err) < 0) {
		zh_error_clear(&err);
		return;
	}
	a = json_object_get(info, "accel");
	if (jsonutil_str(a, "accelerator") && streq(jsonutil_str(a, "accelerator"), "tcg"))
		fprintf(stderr, "Notice: VM %s runs under TCG (software emulation, slow): %s\n",
			uuid,
			jsonutil_str(a, "reason") ? jsonutil_str(a, "reason") : "no usable KVM");
}

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
	accel_notice(uuid);
	fprintf(stderr, "Successfully started VM %s\n", uuid);
	return EXIT_OK;
}

/*
 * vmadm-snapshot.c - `vmadm create-snapshot|delete-snapshot|rollback-snapshot
 * <uuid> <snapname>`: the VM's snapshot "<uuid>@vmsnap-<snapname>".
 * Messages on stderr: `Created snapshot <name> for VM <uuid>`,
 * `Deleted snapshot <name> for VM <uuid>`, `Rolled back VM <uuid> to
 * snapshot <name>`.  A bad or missing name is a usage error (exit 2).
 */
#include "cmdutil.h"
#include "util.h"
#include "vm.h"
#include "vmadm.h"

static int snap_args(int argc, char **argv, const char **uuid, const char **name)
{
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, uuid)) != 0)
		return r;
	if (optind >= argc)
		return vmadm_usage_error("Missing snapshot name for %s", argv[0]);
	if (optind + 1 < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	*name = argv[optind];
	if (!vm_snapshot_name_valid(*name))
		return vmadm_usage_error("Invalid snapshot name \"%s\": 1-64 characters of "
					 "[a-zA-Z0-9-_.:%%]",
					 *name);
	return 0;
}

int cmd_create_snapshot(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL, *name = NULL;
	int r = snap_args(argc, argv, &uuid, &name);

	if (r != 0)
		return r;
	if (vm_snapshot_create(uuid, name, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Created snapshot %s for VM %s\n", name, uuid);
	return EXIT_OK;
}

int cmd_delete_snapshot(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL, *name = NULL;
	int r = snap_args(argc, argv, &uuid, &name);

	if (r != 0)
		return r;
	if (vm_snapshot_delete(uuid, name, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Deleted snapshot %s for VM %s\n", name, uuid);
	return EXIT_OK;
}

int cmd_rollback_snapshot(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL, *name = NULL;
	int r = snap_args(argc, argv, &uuid, &name);

	if (r != 0)
		return r;
	if (vm_snapshot_rollback(uuid, name, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Rolled back VM %s to snapshot %s\n", uuid, name);
	return EXIT_OK;
}

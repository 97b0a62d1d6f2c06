/*
 * vmadm-send.c - `vmadm send <uuid> [-s <snapname>]` writes the VM as a
 * bundle stream to stdout (incremental from snapshot <snapname> with -s);
 * `vmadm receive` (alias recv) reads one from stdin and creates the VM.
 * Messages on stderr: `Successfully sent VM <uuid>`, `Successfully received
 * VM <uuid>`.  The stream format is described in src/lib/vm-send.c.
 */
#include <signal.h>
#include <unistd.h>

#include "cmdutil.h"
#include "util.h"
#include "vm.h"
#include "vmadm.h"

static int on_send_opt(void *ctx, int c, const char *arg)
{
	const char **from = ctx;

	if (c != 's')
		return vmadm_usage_error("Invalid option: -%c", c);
	if (!vm_snapshot_name_valid(arg))
		return vmadm_usage_error("Invalid snapshot name \"%s\": 1-64 characters of "
					 "[a-zA-Z0-9-_.:%%]",
					 arg);
	*from = arg;
	return 0;
}

int cmd_send(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL, *from = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "s:", on_send_opt, &from)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind + 1 < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	if (isatty(STDOUT_FILENO))
		return cmd_die(EXIT_ERR, "refusing to write a VM stream to a terminal");
	signal(SIGPIPE, SIG_IGN);
	if (vm_send(uuid, from, STDOUT_FILENO, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully sent VM %s\n", uuid);
	return EXIT_OK;
}

int cmd_receive(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	char uuid[UTIL_UUID_LEN + 1];
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	signal(SIGPIPE, SIG_IGN);
	if (vm_receive(STDIN_FILENO, uuid, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully received VM %s\n", uuid);
	return EXIT_OK;
}

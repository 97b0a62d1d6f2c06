/*
 * vmadm-send.c - `vmadm send <uuid> [-s <snapname>]` writes the VM as a
 * bundle stream to stdout (incremental from snapshot <snapname> with -s);
 * `vmadm receive` (alias recv) reads one from stdin and creates the VM;
 * --allow-host-access accepts a config that reaches outside the VM, and
 * --low-speed-limit/--low-speed-time set the stalled-input rule (0: none).
 * Messages on stderr: `Successfully sent VM <uuid>`, `Successfully received
 * VM <uuid>`.  The stream format is described in src/lib/vm/vm-send.c.
 */
#include <getopt.h>
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

enum { OPT_ALLOW_HOST = 256, OPT_SPEED_LIMIT, OPT_SPEED_TIME };

static int receive_opt(int c, const char *arg, struct vm_receive_opts *o)
{
	uint64_t v = 0;

	if (c == OPT_ALLOW_HOST) {
		o->allow_host = true;
		return 0;
	}
	if (c != OPT_SPEED_LIMIT && c != OPT_SPEED_TIME)
		return vmadm_usage_error("Invalid option for receive");
	if (util_parse_u64(arg, &v) < 0 || (c == OPT_SPEED_TIME && v > 86400))
		return vmadm_usage_error("Invalid value \"%s\" for --%s", arg,
					 c == OPT_SPEED_LIMIT ? "low-speed-limit"
							      : "low-speed-time");
	if (c == OPT_SPEED_LIMIT)
		o->speed_limit = v;
	else
		o->speed_time = (unsigned)v;
	return 0;
}

static int receive_args(int argc, char **argv, struct vm_receive_opts *o)
{
	static const struct option longs[] = {
		{"allow-host-access", no_argument, NULL, OPT_ALLOW_HOST},
		{"low-speed-limit", required_argument, NULL, OPT_SPEED_LIMIT},
		{"low-speed-time", required_argument, NULL, OPT_SPEED_TIME},
		{NULL, 0, NULL, 0},
	};
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":dv", longs, NULL)) != -1) {
		if (c == 'd' || c == 'v')
			continue;
		if (c == ':')
			return vmadm_usage_error("Option %s needs an argument", argv[optind - 1]);
		if (c == '?')
			return vmadm_usage_error("Invalid option: %s", argv[optind - 1]);
		if ((r = receive_opt(c, optarg, o)) != 0)
			return r;
	}
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	return 0;
}

int cmd_receive(int argc, char **argv)
{
	struct vm_receive_opts o = VM_RECEIVE_OPTS_INIT;
	struct zh_error err = ZH_ERROR_INIT;
	char uuid[UTIL_UUID_LEN + 1];
	int r;

	if ((r = receive_args(argc, argv, &o)) != 0)
		return r;
	signal(SIGPIPE, SIG_IGN);
	if (vm_receive(STDIN_FILENO, &o, uuid, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully received VM %s\n", uuid);
	return EXIT_OK;
}

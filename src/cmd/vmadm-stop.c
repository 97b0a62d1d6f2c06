/*
 * vmadm-stop.c - `vmadm stop|halt <uuid> [-F] [-t SECONDS]`: the zone's
 * init gets its halt signal, then everything left is killed after the
 * timeout (default 60 s; kvm and bhyve: an ACPI powerdown, 180 s); -F kills
 * at once.  Sets autoboot=false.
 * `Successfully completed stop for VM <uuid>`; not running:
 * `VM <uuid> is already not 'running' (currently: <state>)`, exit 0.
 */
#include "cmdutil.h"
#include "util.h"
#include "vm.h"
#include "vmadm.h"

struct stop_opts {
	bool force;
	int timeout;
};

static int on_opt(void *ctx, int c, const char *arg)
{
	struct stop_opts *o = ctx;
	int64_t t;

	if (c == 'F') {
		o->force = true;
		return 0;
	}
	if (util_parse_i64(arg, &t) < 0 || t < 0 || t > 86400)
		return vmadm_usage_error("Invalid timeout: \"%s\" (seconds, 0 to 86400)", arg);
	o->timeout = (int)t;
	return 0;
}

int cmd_stop(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct stop_opts o = {.timeout = -1};
	const char *uuid = NULL;
	int r;

	if ((r = vmadm_getopt(argc, argv, "Ft:", on_opt, &o)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	r = vm_stop(uuid, o.timeout, o.force, &err);
	if (r == -ENOTCONN) {
		fprintf(stderr, "%s\n", err.msg);
		zh_error_clear(&err);
		return EXIT_OK;
	}
	if (r < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Successfully completed stop for VM %s\n", uuid);
	return EXIT_OK;
}

/*
 * zoneadmd-v1 - zoneadmd as a release from before CTL_UPDATE_NET: the
 * same core (src/lib/zoneadmd), with every command numbered from
 * CTL_UPDATE_NET up answered "unknown control command", as the older
 * dispatch table would.  test_ctl_compat.py starts a VM with it
 * (ZONEHOST_ZONEADMD) to play a zoneadmd started before an upgrade.
 *
 *     ZONEHOST_ZONEADMD=build/tests/helpers/zoneadmd-v1 vmadm start <uuid>
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "util.h"
#include "zoneadmd.h"

int main(int argc, char **argv)
{
	struct zad_opts o = {.notify_fd = -1, .ctl_max = CTL_UPDATE_NET};
	int64_t fd;

	if (argc != 4 || strcmp(argv[1], "--notify-fd") != 0 || util_parse_i64(argv[2], &fd) < 0 ||
	    fd < 3 || !util_is_uuid(argv[3])) {
		fprintf(stderr, "Usage: zoneadmd-v1 --notify-fd N <uuid>\n");
		return 2;
	}
	o.notify_fd = (int)fd;
	o.uuid = argv[3];
	return zoneadmd_run(&o);
}

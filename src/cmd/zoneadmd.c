/*
 * zoneadmd - one supervisor per running VM (docs/architecture.md §7).  A
 * thin main: the supervisor is the library in src/lib/zoneadmd/
 * (zoneadmd.h).
 *
 *     zoneadmd [--notify-fd N] [--start-opts JSON] <uuid>
 *
 * Started by `vmadm start`, which passes a socket as N and reads the boot
 * result from it (one CTL_BOOTED frame, ctl.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdutil.h"
#include "util.h"
#include "zoneadmd.h"

const char *program_name = "zoneadmd";

static int usage(void)
{
	return cmd_die(EXIT_USAGE, "Usage: zoneadmd [--notify-fd N] [--start-opts JSON] <uuid>");
}

static int parse_args(int argc, char **argv, struct zad_opts *o)
{
	int64_t fd;
	int i = 1;

	for (; i + 1 < argc; i += 2) { /* option pairs, then the uuid */
		if (streq(argv[i], "--notify-fd")) {
			if (util_parse_i64(argv[i + 1], &fd) < 0 || fd < 3 || fd > 1024)
				return cmd_die(EXIT_USAGE, "zoneadmd: bad --notify-fd %s",
					       argv[i + 1]);
			o->notify_fd = (int)fd;
		} else if (streq(argv[i], "--start-opts")) {
			o->start_opts = argv[i + 1];
		} else {
			break;
		}
	}
	if (argc != i + 1 || !util_is_uuid(argv[i]))
		return usage();
	o->uuid = argv[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct zad_opts o = {.notify_fd = -1};
	int r = parse_args(argc, argv, &o);

	if (r != 0)
		return r;
	if (geteuid() != 0)
		return cmd_die(EXIT_USAGE, "zoneadmd: must be root");
	return zoneadmd_run(&o);
}

/*
 * zoneadmd - one supervisor per running VM (docs/architecture.md,
 * "zoneadmd").  A thin main: the supervisor is the library in
 * src/lib/zoneadmd/ (zoneadmd.h).
 *
 *     zoneadmd [--notify-fd N] <uuid>
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

static int parse_args(int argc, char **argv, struct zad_opts *o)
{
	int64_t fd;
	int i = 1;

	if (argc == 4 && streq(argv[1], "--notify-fd")) {
		if (util_parse_i64(argv[2], &fd) < 0 || fd < 3 || fd > 1024)
			return cmd_die(EXIT_USAGE, "zoneadmd: bad --notify-fd %s", argv[2]);
		o->notify_fd = (int)fd;
		i = 3;
	}
	if (argc != i + 1 || !util_is_uuid(argv[i]))
		return cmd_die(EXIT_USAGE, "Usage: zoneadmd [--notify-fd N] <uuid>");
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

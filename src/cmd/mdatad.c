/*
 * mdatad.c - a VM's metadata server (docs/architecture.md §23), exec'd by
 * its zoneadmd with no privilege left:
 *
 *     mdatad <chan-fd>
 *
 * Everything it serves arrives over the channel (mdsrv-chan.h); it ends
 * when zoneadmd closes it.  It leaves by _exit: no exit handler runs
 * under its seccomp filter (a sanitizer's leak check would need system
 * calls the filter kills).
 */
#include <stdlib.h>
#include <unistd.h>

#include "mdsrv.h"

int main(int argc, char **argv)
{
	char *end = NULL;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;

	if (fd < 3 || !end || *end)
		_exit(2);
	_exit(mdsrv_run(&(struct mdsrv_opts){.chan_fd = (int)fd}));
}

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

/*
 * Under AddressSanitizer (the test builds) its quarantine of freed memory
 * (256 MiB by default) would be charged to the VM's memory cgroup, where
 * the server runs, and a few large views would have the kernel kill it:
 * keep it small.  Unused in other builds.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=4:thread_local_quarantine_size_kb=64";
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;

	if (fd < 3 || !end || *end)
		_exit(2);
	_exit(mdsrv_run(&(struct mdsrv_opts){.chan_fd = (int)fd}));
}

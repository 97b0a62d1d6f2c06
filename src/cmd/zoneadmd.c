/*
 * zoneadmd - one supervisor per running VM (docs/architecture.md §7).  A
 * thin main: the supervisor is the library in src/lib/zoneadmd/
 * (zoneadmd.h).
 *
 *     zoneadmd [--notify-fd N] [--start-opts JSON] <uuid>
 *     zoneadmd --notify-fd N --oci [--console-socket PATH] [--preserve-fds K] <uuid>
 *
 * Started by `vmadm start`, which passes a socket as N and reads the boot
 * result from it (one CTL_BOOTED frame, ctl.h).  --oci: started by the OCI
 * runtime (one fork, so the container's process, made with CLONE_PARENT,
 * is the runtime's child); the VM must have oci_bundle; our 0, 1, 2 and
 * fds 3..3+K-1 become the process's; N must lie above them
 * (docs/architecture.md §24.3).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdutil.h"
#include "util.h"
#include "zoneadmd.h"

const char *program_name = "zoneadmd";

#define USAGE                                                                                 \
	"Usage: zoneadmd [--notify-fd N] [--start-opts JSON] [--oci [--console-socket PATH] " \
	"[--preserve-fds N]] <uuid>"

static int usage(void)
{
	return cmd_die(EXIT_USAGE, USAGE);
}

static int fd_arg(const char *opt, const char *v, int lo, int *out)
{
	int64_t n;

	if (!v || util_parse_i64(v, &n) < 0 || n < lo || n > 1024)
		return cmd_die(EXIT_USAGE, "zoneadmd: bad %s %s", opt, v ? v : "(missing)");
	*out = (int)n;
	return 0;
}

/* One option at argv[*i] (and its value); 1: not an option. */
static int parse_opt(int argc, char **argv, int *i, struct zad_opts *o)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (streq(a, "--oci")) {
		o->oci = true;
		return 0;
	}
	if (!streq(a, "--notify-fd") && !streq(a, "--start-opts") &&
	    !streq(a, "--console-socket") && !streq(a, "--preserve-fds"))
		return 1;
	(*i)++;
	if (streq(a, "--notify-fd"))
		return fd_arg(a, v, 3, &o->notify_fd);
	if (streq(a, "--preserve-fds"))
		return fd_arg(a, v, 0, &o->preserve_fds);
	if (!v)
		return usage();
	if (streq(a, "--start-opts"))
		o->start_opts = v;
	else
		o->console_socket = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct zad_opts *o)
{
	int i = 1, r;

	for (; i < argc - 1; i++) {
		if ((r = parse_opt(argc, argv, &i, o)) == 1)
			break; /* the uuid */
		if (r != 0)
			return r;
	}
	if (argc != i + 1 || !util_is_uuid(argv[i]))
		return usage();
	if (!o->oci && (o->console_socket || o->preserve_fds))
		return cmd_die(EXIT_USAGE,
			       "zoneadmd: --console-socket and --preserve-fds need --oci");
	/* --oci: fds 3..3+N-1 are the container's, the notify socket must lie above them. */
	if (o->oci && o->notify_fd >= 3 && o->notify_fd < 3 + o->preserve_fds)
		return cmd_die(EXIT_USAGE,
			       "zoneadmd: --notify-fd %d is among the preserved fds 3..%d",
			       o->notify_fd, 2 + o->preserve_fds);
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

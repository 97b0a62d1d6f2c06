/*
 * vmadm-kill.c - `vmadm kill [-s SIG | -SIG] <uuid>`: a signal to the
 * zone's init (default SIGTERM; names with or without SIG, any case, or
 * numbers).  `Sent signal "<SIG>" to init process for VM <uuid>`; not
 * running: `Cannot find running init PID for VM <uuid>`, exit 1; a bad
 * signal: usage error, exit 2.
 */
#include <signal.h>
#include <string.h>

#include "cmdutil.h"
#include "ctl.h"
#include "signame.h"
#include "vm.h"
#include "vmadm.h"

static int parse_sig(const char *s, int *sig)
{
	if (signame_parse(s, sig) < 0)
		return vmadm_usage_error("Invalid signal: \"%s\"", s);
	return 0;
}

/* Everything but the uuid: -s SIG, -SIG, -d, -v. */
static int parse_kill_args(int argc, char **argv, int *sig, int *i)
{
	for (*i = 1; *i < argc && argv[*i][0] == '-' && argv[*i][1]; (*i)++) {
		const char *a = argv[*i];
		int r;

		if (streq(a, "-d") || streq(a, "-v"))
			continue;
		if (streq(a, "-s")) {
			if (++*i >= argc)
				return vmadm_usage_error("Option -s needs an argument");
			r = parse_sig(argv[*i], sig);
		} else {
			r = parse_sig(a + 1, sig);
		}
		if (r)
			return r;
	}
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	const char *uuid = NULL;
	int sig = SIGTERM, i = 1, r;
	char name[32];

	if ((r = parse_kill_args(argc, argv, &sig, &i)) != 0)
		return r;
	optind = i;
	if ((r = vmadm_uuid_arg(argc, argv, &uuid)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	if (vm_kill(uuid, sig, &err) < 0)
		return cmd_fail(&err);
	fprintf(stderr, "Sent signal \"%s\" to init process for VM %s\n",
		signame_format(sig, name, sizeof(name)), uuid);
	return EXIT_OK;
}

/*
 * vmadm.c - the vmadm command: dispatch table, usage, shared argument
 * helpers.  Each subcommand lives in its own vmadm-<cmd>.c (docs/architecture.md §3).
 *
 * Conventions (docs/architecture.md §4, vmadm.8): human messages on stderr, data on stdout;
 * exit 0 success, 1 error, 2 usage error; -d/-v accepted everywhere.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdutil.h"
#include "macro.h"
#include "util.h"
#include "vmadm.h"

const char *program_name = "vmadm";

static const char usage_text[] =
	"Usage: vmadm <command> [-d] [-v] [command-specific arguments]\n"
	"\n"
	"  create [-f <filename>]\n"
	"  delete | destroy <uuid>\n"
	"  get | json <uuid>\n"
	"  list [-p] [-H] [-h] [-o field,...] [-s field,...] [field=value ...]\n"
	"  lookup [-j] [-1] [-o field,...] [field=value ...]\n"
	"  update <uuid> [-f <filename>]\n"
	"  update <uuid> property=value [property=value ...]\n"
	"  validate create [-f <filename>]\n"
	"  validate update <brand> [-f <filename>]\n"
	"  start | boot <uuid>\n"
	"  stop | halt <uuid> [-F] [-t <seconds>]\n"
	"  reboot <uuid> [-F]\n"
	"  kill [-s <signal> | -<signal>] <uuid>\n"
	"  console <uuid>\n"
	"  info <uuid> [type,...]\n"
	"  sysrq <uuid> <nmi|screenshot>\n"
	"  create-snapshot <uuid> <snapname>\n"
	"  delete-snapshot <uuid> <snapname>\n"
	"  rollback-snapshot <uuid> <snapname>\n"
	"  send <uuid> [-s <snapname>]\n"
	"  receive | recv [--allow-host-access] [--low-speed-limit <bytes/s>]\n"
	"                 [--low-speed-time <seconds>]\n"
	"  help\n"
	"\n"
	"Not implemented yet: events reprovision\n"
	"  install\n";

void vmadm_usage(FILE *f)
{
	fputs(usage_text, f);
}

int vmadm_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	vmadm_usage(stderr);
	return EXIT_USAGE;
}

int vmadm_getopt(int argc, char **argv, const char *extra,
		 int (*on_opt)(void *ctx, int c, const char *arg), void *ctx)
{
	char opts[64];
	int c;

	snprintf(opts, sizeof(opts), ":dv%s", extra ? extra : "");
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, opts)) != -1) {
		int r;

		if (c == 'd' || c == 'v')
			continue;
		if (c == '?')
			return vmadm_usage_error("Invalid option: -%c", optopt);
		if (c == ':')
			return vmadm_usage_error("Option -%c needs an argument", optopt);
		r = on_opt ? on_opt(ctx, c, optarg) : 0;
		if (r)
			return r;
	}
	return 0;
}

int vmadm_uuid_arg(int argc, char **argv, const char **uuid)
{
	if (optind >= argc || !util_is_uuid_shape(argv[optind]))
		return vmadm_usage_error("Invalid or missing UUID for %s", argv[0]);
	*uuid = argv[optind++];
	return 0;
}

int vmadm_uuid_only(int argc, char **argv, const char **uuid)
{
	int r;

	if ((r = vmadm_getopt(argc, argv, "", NULL, NULL)) != 0 ||
	    (r = vmadm_uuid_arg(argc, argv, uuid)) != 0)
		return r;
	if (optind < argc)
		return vmadm_usage_error("Too many arguments for %s", argv[0]);
	return 0;
}

void vmadm_warn(void *ctx, const char *line)
{
	fprintf(stderr, "%s\n", line);
}

static int cmd_not_implemented(int argc, char **argv)
{
	return cmd_die(EXIT_ERR, "vmadm %s: not implemented yet", argv[0]);
}

struct vmadm_command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct vmadm_command commands[] = {
	{"create", cmd_create},
	{"get", cmd_get},
	{"json", cmd_get},
	{"list", cmd_list},
	{"lookup", cmd_lookup},
	{"update", cmd_update},
	{"delete", cmd_delete},
	{"destroy", cmd_delete},
	{"validate", cmd_validate},
	{"start", cmd_start},
	{"boot", cmd_start},
	{"stop", cmd_stop},
	{"halt", cmd_stop},
	{"reboot", cmd_reboot},
	{"kill", cmd_kill},
	{"console", cmd_console},
	{"info", cmd_info},
	{"sysrq", cmd_sysrq},
	{"create-snapshot", cmd_create_snapshot},
	{"delete-snapshot", cmd_delete_snapshot},
	{"rollback-snapshot", cmd_rollback_snapshot},
	{"events", cmd_not_implemented},
	{"send", cmd_send},
	{"receive", cmd_receive},
	{"recv", cmd_receive},
	{"reprovision", cmd_not_implemented},
	{"install", cmd_not_implemented},
};

static bool is_help(const char *a)
{
	return streq(a, "help") || streq(a, "-h") || streq(a, "-?") || streq(a, "--help");
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		vmadm_usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		vmadm_usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!streq(commands[i].name, argv[1]))
			continue;
		if ((r = cmd_require_root()) != 0)
			return r;
		return commands[i].fn(argc - 1, argv + 1);
	}
	return cmd_die(EXIT_USAGE, "Invalid command: \"%s\".", argv[1]);
}

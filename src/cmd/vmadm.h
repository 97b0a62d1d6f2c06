/*
 * vmadm.h - what the vmadm subcommand files share: the command entry
 * points (dispatched from the table in vmadm.c) and argument helpers.
 *
 * Each cmd_<name>(argc, argv) gets argv[0] = the command name and returns
 * the exit code (cmdutil.h: 0, 1 error, 2 usage).
 */
#ifndef ZH_VMADM_H
#define ZH_VMADM_H

#include <stdio.h>

int cmd_create(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_reboot(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_sysrq(int argc, char **argv);
int cmd_create_snapshot(int argc, char **argv);
int cmd_delete_snapshot(int argc, char **argv);
int cmd_rollback_snapshot(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);

/* The full usage text. */
void vmadm_usage(FILE *f);

/* "<message>" then the usage, on stderr; returns EXIT_USAGE. */
int vmadm_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse the common flags (-d, -v, and those in extra) with getopt;
 * unknown flags are a usage error.  Returns 0 or EXIT_USAGE; each flag in
 * extra is reported through on_opt(ctx, c, optarg).
 */
int vmadm_getopt(int argc, char **argv, const char *extra,
		 int (*on_opt)(void *ctx, int c, const char *arg), void *ctx);

/* argv[optind] must be a UUID-shaped argument: else usage `Invalid or missing UUID for <cmd>`. */
int vmadm_uuid_arg(int argc, char **argv, const char **uuid);

/* The common flags and exactly one UUID argument (get, delete, console, ...). */
int vmadm_uuid_only(int argc, char **argv, const char **uuid);

/* vmcfg/vm warning sink: one line on stderr. */
void vmadm_warn(void *ctx, const char *line);

#endif

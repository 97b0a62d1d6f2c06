/*
 * imgadm.h - subcommands of imgadm that live in their own files.
 */
#ifndef ZH_IMGADM_H
#define ZH_IMGADM_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "pool.h"

/* imgadm create (imgadm-create.c). */
int imgadm_create(int argc, char **argv);

/* imgadm sources, avail, import, vacuum (imgadm-source.c). */
int imgadm_sources(int argc, char **argv);
int imgadm_avail(int argc, char **argv);
int imgadm_import(int argc, char **argv);
int imgadm_vacuum(int argc, char **argv);

/*
 * imgadm import -f FILE (imgadm-docker.c): a docker-archive or OCI layout
 * tar into p; prints what it installed; returns the exit code.
 */
int imgadm_import_file(const struct pool *p, const char *file, bool quiet);

/* The pool -P name names (checked), or the default pool when name is NULL. */
int imgadm_open_pool(const char *name, struct pool **out, struct zh_error *err);

/* The list table of records {"manifest",...} (imgadm.c); -ENOMEM. */
int imgadm_print_table(const json_t *rows, const char *columns, bool header);

#endif

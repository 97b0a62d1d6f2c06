/*
 * imgadm.h - subcommands of imgadm that live in their own files.
 */
#ifndef ZH_IMGADM_H
#define ZH_IMGADM_H

/* imgadm create (imgadm-create.c). */
int imgadm_create(int argc, char **argv);

#endif

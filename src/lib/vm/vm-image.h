/*
 * vm-image.h - `imgadm create`: an image from a VM.  It lives in the vm
 * layer (it reads a VM's stored config, state and zone root) although it
 * makes an image (docs/architecture.md §1, §18).
 */
#ifndef ZH_VM_IMAGE_H
#define ZH_VM_IMAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/*
 * imgadm create: an image (manifest v2 + tar file) from a stopped VM's zone
 * root.  fields holds manifest fields from -m and field=value (name and
 * version required); compression is none|gzip|bzip2|xz|zstd (NULL: gzip);
 * output_dir NULL means ".".  Writes NAME-VERSION.imgmanifest and
 * NAME-VERSION.tar[.ext] through temp names renamed at the end, so a
 * failure leaves no output file.  The paths written go to *manifest_out and
 * *file_out.  -ENOENT (prop "vm_uuid") for an unknown VM, -EBUSY (prop
 * "state") for a VM that is not stopped.
 *
 * incremental (imgadm create -i): the VM's image O must be installed; the
 * tar holds only what differs from O's @final, and the manifest gets
 * "origin": O.  An entry is unchanged when its type, mode, uid, gid, size,
 * mtime, ctime (both to the nanosecond) and, for a symlink, target are the
 * same; contents are not read (a btrfs snapshot keeps ctime, and any write,
 * chmod, chown or link bumps it).  Entries of O missing from the VM become
 * whiteouts ".wh.NAME"; a name starting with ".wh." in the VM is refused
 * (prop "-i"), as is an origin chain that would pass IMAGE_ORIGIN_DEPTH_MAX.
 */
struct image_create_opts {
	const char *vm_uuid;
	const json_t *fields;
	const char *compression;
	const char *output_dir;
	bool incremental;
};

int image_create(const struct image_create_opts *o, char **manifest_out, char **file_out,
		 struct zh_error *err);

#endif

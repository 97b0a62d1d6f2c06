/*
 * bundle.h - the VM bundle's chunk codec (`vmadm send` / `vmadm receive`).
 *
 * Owns: the 512-byte chunk header, the payload checksum and the JSON chunk's
 * content; no I/O.  Everything here reads bytes that come from another host
 * and is fuzzed (tests/fuzz/fuzz-bundle.c).
 *
 *     char hdr[BUNDLE_HDR_SIZE], sum[BUNDLE_SUM_HEX + 1];
 *     bundle_sum(data, len, sum);
 *     bundle_hdr_format(hdr, "JSON", len, sum);
 *     ...
 *     struct bundle_hdr h;
 *     if (bundle_hdr_parse(hdr, &h) < 0) ...          corrupt header
 *     if (!bundle_payload_ok(&h, payload)) ...        checksum mismatch
 */
#ifndef ZH_BUNDLE_H
#define ZH_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

#define BUNDLE_HDR_SIZE	   512
#define BUNDLE_SUM_HEX	   32
#define BUNDLE_PAYLOAD_MAX (16u << 20) /* a chunk's payload, JSON included */

struct bundle_hdr {
	char name[BUNDLE_HDR_SIZE];
	uint64_t size;	 /* payload bytes */
	uint64_t padded; /* size rounded up to 512: the bytes that follow the header */
	char sum[BUNDLE_SUM_HEX + 1];
};

/* n rounded up to a multiple of 512. */
uint64_t bundle_pad(uint64_t n);

/* XXH3-128 of data as 32 lowercase hex digits. */
void bundle_sum(const void *data, size_t len, char out[BUNDLE_SUM_HEX + 1]);

/* The zero-filled header of a chunk; -ENAMETOOLONG when name does not fit. */
int bundle_hdr_format(char out[BUNDLE_HDR_SIZE], const char *name, size_t len,
		      const char sum[BUNDLE_SUM_HEX + 1]);

/* Parse and check a header (magic, version, sizes, checksum field); -EINVAL. */
int bundle_hdr_parse(const char hdr[BUNDLE_HDR_SIZE], struct bundle_hdr *h);

/* Whether the h->size bytes of payload match the header's checksum. */
bool bundle_payload_ok(const struct bundle_hdr *h, const void *payload);

/* The JSON chunk's content: {"vm": config, "from": snapshot name or null}. */
char *bundle_json_format(json_t *vm, const char *from);

/*
 * Parse the JSON chunk: *vm (a config with a valid uuid, copied into uuid)
 * and *from (a valid snapshot name, or NULL); -EINVAL with the reason.
 */
int bundle_json_parse(const char *buf, size_t len, json_t **vm, char **from,
		      char uuid[UTIL_UUID_LEN + 1], struct zh_error *err);

#endif

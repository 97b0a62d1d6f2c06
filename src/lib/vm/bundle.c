/*
 * bundle.c - the VM bundle's chunk codec.  See bundle.h and vm-send.c.
 *
 * A header is NUL-separated and zero-filled, as in SmartOS's VM bundle,
 * with an XXH3-128 of the payload after the sizes:
 *
 *     MAGIC-VMBUNDLE\0 1\0 CHECKSUM\0 <name>\0 <size>\0 <size+pad>\0 <xxh128>\0
 *
 * The checksum guards against corruption and truncation only: an unkeyed
 * hash, SHA-256 or not, proves nothing against someone who can rewrite the
 * stream (carry it over ssh for that), and SHA-256 cost half of send and
 * receive throughput on two cores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "bundle.h"
#include "jsonutil.h"
#include "macro.h"
#include "vm.h"

#define BUNDLE_MAGIC   "MAGIC-VMBUNDLE"
#define BUNDLE_VERSION "1"

uint64_t bundle_pad(uint64_t n)
{
	return (n + BUNDLE_HDR_SIZE - 1) / BUNDLE_HDR_SIZE * BUNDLE_HDR_SIZE;
}

void bundle_sum(const void *data, size_t len, char out[BUNDLE_SUM_HEX + 1])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
	for (size_t i = 0; i < sizeof(c.digest); i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

int bundle_hdr_format(char out[BUNDLE_HDR_SIZE], const char *name, size_t len,
		      const char sum[BUNDLE_SUM_HEX + 1])
{
	int n;

	memset(out, 0, BUNDLE_HDR_SIZE);
	n = snprintf(out, BUNDLE_HDR_SIZE, "%s%c%s%c%s%c%s%c%zu%c%llu%c%s", BUNDLE_MAGIC, 0,
		     BUNDLE_VERSION, 0, "CHECKSUM", 0, name, 0, len, 0,
		     (unsigned long long)bundle_pad(len), 0, sum);
	return n < 0 || n >= BUNDLE_HDR_SIZE ? -ENAMETOOLONG : 0;
}

/* The header's NUL-separated fields into f[0..6]; -EINVAL if fewer. */
static int hdr_fields(const char *hdr, const char *f[7])
{
	size_t off = 0;

	for (int i = 0; i < 7; i++) {
		size_t n = strnlen(hdr + off, BUNDLE_HDR_SIZE - off);

		if (off + n >= BUNDLE_HDR_SIZE)
			return -EINVAL;
		f[i] = hdr + off;
		off += n + 1;
	}
	return 0;
}

int bundle_hdr_parse(const char hdr[BUNDLE_HDR_SIZE], struct bundle_hdr *h)
{
	const char *f[7];

	if (hdr_fields(hdr, f) < 0 || !streq(f[0], BUNDLE_MAGIC) || !streq(f[1], BUNDLE_VERSION) ||
	    !streq(f[2], "CHECKSUM") || !*f[3] || util_parse_u64(f[4], &h->size) < 0 ||
	    util_parse_u64(f[5], &h->padded) < 0 || strlen(f[6]) != BUNDLE_SUM_HEX)
		return -EINVAL;
	if (h->size > BUNDLE_PAYLOAD_MAX || h->padded != bundle_pad(h->size))
		return -EINVAL;
	snprintf(h->name, sizeof(h->name), "%s", f[3]);
	snprintf(h->sum, sizeof(h->sum), "%s", f[6]);
	return 0;
}

bool bundle_payload_ok(const struct bundle_hdr *h, const void *payload)
{
	char sum[BUNDLE_SUM_HEX + 1];

	bundle_sum(payload, h->size, sum);
	return streq(sum, h->sum);
}

char *bundle_json_format(json_t *vm, const char *from)
{
	_cleanup_json_ json_t *o = json_pack("{s:O,s:s?}", "vm", vm, "from", from);

	return o ? json_dumps(o, JSON_COMPACT) : NULL;
}

int bundle_json_parse(const char *buf, size_t len, json_t **vm, char **from,
		      char uuid[UTIL_UUID_LEN + 1], struct zh_error *err)
{
	_cleanup_json_ json_t *o = json_loadb(buf, len, 0, NULL);
	json_t *v = json_object_get(o, "vm");
	const char *f = jsonutil_str(o, "from");

	*vm = NULL;
	*from = NULL;
	if (!json_is_object(v) || !util_is_uuid(jsonutil_str(v, "uuid")))
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: bad VM config");
	if (json_object_get(o, "from") && !json_is_null(json_object_get(o, "from")) &&
	    (!f || !vm_snapshot_name_valid(f)))
		return zh_error_set(err, EINVAL, NULL, "corrupt stream: bad snapshot name");
	if (f && !(*from = strdup(f)))
		return zh_error_oom(err);
	snprintf(uuid, UTIL_UUID_LEN + 1, "%s", jsonutil_str(v, "uuid"));
	*vm = json_incref(v);
	return 0;
}

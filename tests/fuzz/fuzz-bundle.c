/*
 * fuzz-bundle.c - libFuzzer target for the VM bundle codec (bundle.h): the
 * input is read as a received stream, chunk after chunk, the way vmadm
 * receive reads it before any byte reaches btrfs receive: header parsed,
 * payload length checked against the input, checksum verified, a "JSON"
 * chunk's content parsed.  A header that parses must format back to the
 * same header (its name, size and checksum), and a parsed JSON chunk must
 * format and parse again to the same VM and snapshot; the properties of
 * its config that reach outside the VM (the receive refuses them) must
 * each be a PROPS_F_HOST property of the table.
 * Seeds in tests/fuzz/corpus/fuzz-bundle/ (small streams made by vmadm send).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "props.h"
#include "vmcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void header_roundtrip(const char *raw, const struct bundle_hdr *h)
{
	char again[BUNDLE_HDR_SIZE];
	struct bundle_hdr h2;

	if (bundle_hdr_format(again, h->name, h->size, h->sum) < 0 ||
	    bundle_hdr_parse(again, &h2) < 0 || strcmp(h2.name, h->name) != 0 ||
	    h2.size != h->size || h2.padded != h->padded || strcmp(h2.sum, h->sum) != 0)
		__builtin_trap();
	(void)raw;
}

static void host_props(const json_t *vm)
{
	json_t *names = NULL, *n;
	size_t i;

	if (vmcfg_host_props(vm, &names) < 0)
		return;
	json_array_foreach (names, i, n) {
		const struct props_prop *p = props_lookup(json_string_value(n));

		if (!p || !(p->flags & PROPS_F_HOST))
			__builtin_trap();
	}
	json_decref(names);
}

static void json_roundtrip(const char *buf, size_t len)
{
	struct zh_error err = ZH_ERROR_INIT;
	char uuid[UTIL_UUID_LEN + 1], uuid2[UTIL_UUID_LEN + 1];
	json_t *vm = NULL, *vm2 = NULL;
	char *from = NULL, *from2 = NULL, *s;

	if (bundle_json_parse(buf, len, &vm, &from, uuid, &err) < 0) {
		zh_error_clear(&err);
		return;
	}
	host_props(vm);
	s = bundle_json_format(vm, from);
	if (!s || bundle_json_parse(s, strlen(s), &vm2, &from2, uuid2, &err) < 0 ||
	    !json_equal(vm, vm2) || strcmp(uuid, uuid2) != 0 || (!from) != (!from2) ||
	    (from && strcmp(from, from2) != 0))
		__builtin_trap();
	free(s);
	free(from);
	free(from2);
	json_decref(vm);
	json_decref(vm2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (size - off >= BUNDLE_HDR_SIZE) {
		const char *raw = (const char *)data + off;
		struct bundle_hdr h;
		char *payload;

		if (bundle_hdr_parse(raw, &h) < 0)
			break;
		header_roundtrip(raw, &h);
		off += BUNDLE_HDR_SIZE;
		if (h.padded > size - off)
			break; /* truncated */
		payload = malloc(h.size + 1);
		if (!payload)
			break;
		memcpy(payload, data + off, h.size);
		payload[h.size] = '\0';
		if (bundle_payload_ok(&h, payload) && strcmp(h.name, "JSON") == 0)
			json_roundtrip(payload, h.size);
		free(payload);
		off += h.padded;
	}
	return 0;
}

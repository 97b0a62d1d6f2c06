/*
 * nft-apply.c - load or remove a VM's packet filter (nft.h) for the system
 * tests, without zones: the tests build bridges and veths themselves.
 *
 *   nft-apply UUID VM.json           nft_vm_apply (replace atomically)
 *   nft-apply --print UUID VM.json   print nft_vm_script's output
 *   nft-apply --remove UUID          nft_vm_remove
 *   nft-apply --vlan TAG VLAN_ID     nft_vlan_supported
 *
 * Acts on the calling process's network namespace.  Exit 0, or 1 with the
 * library's message on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "nft.h"
#include "util.h"

static int fail(struct zh_error *err)
{
	fprintf(stderr, "nft-apply: %s\n", err->msg);
	zh_error_clear(err);
	return 1;
}

static int do_print(const char *uuid, const json_t *vm, struct zh_error *err)
{
	_cleanup_free_ char *s = NULL;

	if (nft_vm_script(uuid, vm, &s, err) < 0)
		return fail(err);
	fputs(s, stdout);
	return 0;
}

static int do_vlan(const char *tag, const char *id, struct zh_error *err)
{
	int64_t v;

	if (util_parse_i64(id, &v) < 0 || v < 0 || v > 4095) {
		fprintf(stderr, "nft-apply: bad VLAN id\n");
		return 2;
	}
	return nft_vlan_supported(tag, (int)v, err) < 0 ? fail(err) : 0;
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vm = NULL;
	bool print = argc == 4 && streq(argv[1], "--print");

	if (argc == 3 && streq(argv[1], "--remove"))
		return nft_vm_remove(argv[2], &err) < 0 ? fail(&err) : 0;
	if (argc == 4 && streq(argv[1], "--vlan"))
		return do_vlan(argv[2], argv[3], &err);
	if (argc != 3 && !print) {
		fprintf(stderr, "usage: nft-apply [--print] UUID VM.json | --remove UUID | "
				"--vlan TAG ID\n");
		return 2;
	}
	if (jsonutil_load_file(argv[argc - 1], 1 << 20, &vm, &err) < 0)
		return fail(&err);
	if (print)
		return do_print(argv[2], vm, &err);
	return nft_vm_apply(argv[1], vm, &err) < 0 ? fail(&err) : 0;
}

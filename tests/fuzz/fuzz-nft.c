/*
 * fuzz-nft.c - libFuzzer target for nft_vm_script (nft.h).
 *
 * Feeds VM JSON (nics with hostile strings) to nft_vm_script, with a fixed
 * uuid and with the input's own "uuid", and checks that every script it
 * builds stays inside the grammar nft.c writes: only a small character
 * set, every quoted string a host port name z<6 hex of the uuid><4 hex of
 * the id slot>n<digits> (a tap of an HVM VM: vt<8 hex of the uuid><digits>),
 * `;` only in base chain headers, no comments.  A
 * violation traps: it would mean a string from the input reached the
 * script.  The corpus has NICs with and without a zonehost_id_base.
 *
 *     ./fuzz-nft -max_total_time=20 corpus/fuzz-nft
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jsonutil.h"
#include "nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			   " \t\n_:.,/{}@&=!-\"";

/* A tap of an HVM VM: "vt" + 8 hex + digits. */
static bool tap_name(const char *s, size_t n)
{
	if (n < 11 || n > 15 || s[0] != 'v' || s[1] != 't')
		return false;
	for (size_t i = 2; i < n; i++)
		if (!strchr(i < 10 ? "0123456789abcdef" : "0123456789", s[i]))
			return false;
	return true;
}

static bool port_name(const char *s, size_t n)
{
	size_t i = 1;

	if (tap_name(s, n))
		return true;
	if (n < 13 || s[0] != 'z')
		return false;
	for (; i < 11; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	if (s[i++] != 'n')
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void check_line(const char *l, size_t n)
{
	const char *q = NULL;

	for (size_t i = 0; i < n; i++) {
		char c = l[i];

		if (c == ';') {
			if (!memmem(l, n, "type filter hook ", 17))
				__builtin_trap();
			continue;
		}
		if (!c || !strchr(safe, c))
			__builtin_trap();
		if (c != '"')
			continue;
		if (!q) {
			q = l + i + 1;
		} else {
			if (!port_name(q, (size_t)(l + i - q)))
				__builtin_trap();
			q = NULL;
		}
	}
	if (q)
		__builtin_trap();
}

static void check_script(const char *s)
{
	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		check_line(s, n);
		s += n + (e ? 1 : 0);
	}
}

static void run(const char *uuid, const json_t *vm)
{
	struct zh_error err = ZH_ERROR_INIT;
	char *s = NULL;

	if (nft_vm_script(uuid, vm, &s, &err) == 0) {
		if (!s)
			__builtin_trap();
		check_script(s);
		free(s);
	} else if (s || !err.msg) {
		__builtin_trap();
	}
	zh_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = NULL;
	const char *u;

	if (jsonutil_parse((const char *)data, size, "vm", &vm, &err) < 0) {
		zh_error_clear(&err);
		return 0;
	}
	run("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", vm);
	u = jsonutil_str(vm, "uuid");
	if (u)
		run(u, vm);
	json_decref(vm);
	return 0;
}

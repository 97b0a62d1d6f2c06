/*
 * fuzz-ctl.c - libFuzzer target for the zoneadmd control protocol decoder
 * (ctl_decode: one received SOCK_SEQPACKET record -> checked frame).
 * Seeds in tests/fuzz/corpus/fuzz-ctl/ (binary frames).  A frame that
 * decodes must encode and decode again to the same command, status and
 * payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct ctl_msg *m)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctl_msg again;
	void *buf = NULL;
	size_t len = 0;

	if (ctl_encode(m->cmd, m->status, m->payload, &buf, &len, &err) < 0) {
		if (err.errnum != EMSGSIZE) /* re-encoding may grow (escapes) */
			__builtin_trap();
		zh_error_clear(&err);
		return;
	}
	if (ctl_decode(buf, len, &again, &err) != 0 || again.cmd != m->cmd ||
	    again.status != m->status || !json_equal(again.payload, m->payload))
		__builtin_trap();
	ctl_msg_clear(&again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_error err = ZH_ERROR_INIT;
	struct ctl_msg m;

	if (ctl_decode(data, size, &m, &err) == 0) {
		if (!json_is_object(m.payload))
			__builtin_trap();
		roundtrip(&m);
		ctl_msg_clear(&m);
	} else if (!err.msg || !err.errnum) {
		__builtin_trap();
	}
	zh_error_clear(&err);
	return 0;
}

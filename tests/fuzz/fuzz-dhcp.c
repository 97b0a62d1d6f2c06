/*
 * fuzz-dhcp.c - libFuzzer target for the HVM DHCP responder's parser and
 * answer builder (dhcp.h): the bytes are an Ethernet frame a guest wrote
 * into its tap.  Every frame that parses is answered with a fixed lease
 * whose MAC is the frame's own (so the builder runs too); an answer must
 * fit DHCP_FRAME_MAX and go to that MAC, or the target traps.
 *
 *     ./fuzz-dhcp -max_total_time=20 corpus/fuzz-dhcp
 */
#include <stdint.h>
#include <string.h>

#include "dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dhcp_lease base = {
		.server_mac = {0xfe, 0, 0xc6, 0x12, 0, 5},
		.addr = 0x050012c6, /* 198.18.0.5 */
		.mask = 0x00ffffff,
		.router = 0x010012c6,
		.server = 0x010012c6,
		.dns = {0x350012c6},
		.ndns = 1,
		.mtu = 1500,
		.lease_secs = DHCP_LEASE_SECS,
		.hostname = "guest",
	};
	struct dhcp_lease l = base;
	uint8_t out[DHCP_FRAME_MAX];
	struct dhcp_msg m;
	size_t n;

	if (dhcp_parse(data, size, &m) < 0)
		return 0;
	memcpy(l.mac, m.chaddr, 6);
	n = dhcp_answer(&l, &m, out, sizeof(out));
	if (n > DHCP_FRAME_MAX || (n && memcmp(out, l.mac, 6) != 0))
		__builtin_trap();
	return 0;
}

/*
 * test-dhcp.c - the HVM DHCP responder's pure part (dhcp.h): the lease
 * from a NIC's config, parsing client frames (and hostile ones), the
 * OFFER/ACK/NAK it builds.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dhcp.h"
#include "tap.h"

#define MAC "02:00:c6:12:00:05"

static const uint8_t mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x05};

static uint32_t ip(const char *s)
{
	struct in_addr a = {0};

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A DHCP client frame of type t from src (chaddr = src), opts appended. */
static size_t client_frame(uint8_t *f, uint8_t t, const uint8_t *src, const uint8_t *opts,
			   size_t nopts)
{
	size_t blen = 240 + 3 + nopts + 1, n = 14 + 20 + 8 + blen;

	memset(f, 0, n);
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + 8 + blen) >> 8), f[17] = (uint8_t)(20 + 8 + blen);
	f[23] = 17;
	f[35] = 68, f[37] = 67;
	f[38] = (uint8_t)((8 + blen) >> 8), f[39] = (uint8_t)(8 + blen);
	f[42] = 1, f[43] = 1, f[44] = 6;
	memcpy(f + 46, "\x12\x34\x56\x78", 4);
	memcpy(f + 42 + 28, src, 6);
	memcpy(f + 42 + 236, "\x63\x82\x53\x63", 4);
	f[42 + 240] = 53, f[42 + 241] = 1, f[42 + 242] = t;
	memcpy(f + 42 + 243, opts, nopts);
	f[42 + 243 + nopts] = 255;
	return n;
}

/* The value of option tag in an answer frame, NULL if absent. */
static const uint8_t *opt(const uint8_t *f, size_t n, uint8_t tag, size_t *len)
{
	for (size_t i = 42 + 240; i + 1 < n && f[i] != 255;) {
		if (f[i] == 0) {
			i++;
			continue;
		}
		if (f[i] == tag) {
			*len = f[i + 1];
			return f + i + 2;
		}
		i += 2 + f[i + 1];
	}
	return NULL;
}

static json_t *vm_json(void)
{
	return json_pack("{s:s,s:[s,s,s],s:[{s:s,s:[s,s],s:[s],s:i}]}", "hostname", "web-1",
			 "resolvers", "198.18.0.53", "2001:db8::53", "198.18.1.53", "nics", "mac",
			 MAC, "ips", "2001:db8::5/64", "198.18.0.5/24", "gateways", "198.18.0.1",
			 "mtu", 1400);
}

static void test_lease(void)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = vm_json(), *nic = json_array_get(json_object_get(vm, "nics"), 0);
	struct dhcp_lease l;

	ok(dhcp_lease_from_nic(vm, nic, &l, &err) == 0, "lease of a static NIC");
	ok(l.addr == ip("198.18.0.5") && l.mask == ip("255.255.255.0"), "first IPv4, its mask");
	ok(l.router == ip("198.18.0.1") && l.server == l.router,
	   "router = gateways[0] = server id");
	ok(l.ndns == 2 && l.dns[0] == ip("198.18.0.53") && l.dns[1] == ip("198.18.1.53"),
	   "IPv4 resolvers only");
	ok(streq(l.hostname, "web-1") && l.mtu == 1400 && l.lease_secs == DHCP_LEASE_SECS,
	   "hostname, mtu, lease");
	ok(l.server_mac[0] == 0xfe && memcmp(l.server_mac + 1, mac + 1, 5) == 0,
	   "answers come from the tap's MAC");
	json_object_del(nic, "gateways");
	json_object_set_new(vm, "hostname", json_string("bad name;"));
	ok(dhcp_lease_from_nic(vm, nic, &l, &err) == 0 && l.router == 0 &&
		   l.server == ip(DHCP_SERVER_LL) && !l.hostname[0],
	   "no gateway: link-local server id; a bad hostname is not sent");
	json_object_set_new(nic, "ips", json_pack("[s,s]", "dhcp", "addrconf"));
	ok(dhcp_lease_from_nic(vm, nic, &l, &err) == -ENOENT, "a dhcp NIC needs no responder");
	json_object_set_new(nic, "mac", json_string("02:00"));
	ok(dhcp_lease_from_nic(vm, nic, &l, &err) == -EINVAL && err.msg, "a bad mac: %s", err.msg);
	zh_error_clear(&err);
	json_decref(vm);
}

static void lease_of(struct dhcp_lease *l)
{
	struct zh_error err = ZH_ERROR_INIT;
	json_t *vm = vm_json();

	dhcp_lease_from_nic(vm, json_array_get(json_object_get(vm, "nics"), 0), l, &err);
	json_decref(vm);
}

static void test_offer(void)
{
	uint8_t f[600], out[DHCP_FRAME_MAX];
	struct dhcp_lease l;
	struct dhcp_msg m;
	const uint8_t *v;
	size_t n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0), len, k;

	lease_of(&l);
	ok(dhcp_parse(f, n, &m) == 0 && m.type == DHCP_DISCOVER && m.xid == htonl(0x12345678),
	   "DISCOVER parsed");
	len = dhcp_answer(&l, &m, out, sizeof(out));
	ok(len >= 14 + 20 + 8 + 300 && len <= DHCP_FRAME_MAX, "an answer (%zu bytes)", len);
	ok(memcmp(out, mac, 6) == 0 && out[6] == 0xfe, "to the guest's MAC, from the tap's");
	ok(memcmp(out + 42 + 16, &l.addr, 4) == 0 &&
		   memcmp(out + 34 - 4, "\xff\xff\xff\xff", 4) == 0,
	   "yiaddr = the NIC's address, to 255.255.255.255");
	ok((v = opt(out, len, 53, &k)) && k == 1 && v[0] == DHCP_OFFER, "an OFFER");
	ok((v = opt(out, len, 1, &k)) && k == 4 && !memcmp(v, "\xff\xff\xff\x00", 4), "mask");
	ok((v = opt(out, len, 3, &k)) && k == 4 && !memcmp(v, &l.router, 4), "router");
	ok((v = opt(out, len, 6, &k)) && k == 8, "two DNS servers");
	ok((v = opt(out, len, 12, &k)) && k == 5 && !memcmp(v, "web-1", 5), "hostname");
	ok((v = opt(out, len, 51, &k)) && k == 4 && v[2] == 0x51 && v[3] == 0x80, "lease 86400");
	ok((v = opt(out, len, 54, &k)) && k == 4 && !memcmp(v, &l.server, 4), "server id");
}

static void test_request(void)
{
	uint8_t f[600], out[DHCP_FRAME_MAX], o[12] = {50, 4}, other[6] = {2, 0, 0, 0, 0, 9};
	struct dhcp_lease l;
	struct dhcp_msg m;
	const uint8_t *v;
	size_t n, len, k;

	lease_of(&l);
	memcpy(o + 2, &l.addr, 4);
	o[6] = 54, o[7] = 4;
	memcpy(o + 8, &l.server, 4);
	n = client_frame(f, DHCP_REQUEST, mac, o, sizeof(o));
	ok(dhcp_parse(f, n, &m) == 0 && m.requested == l.addr && m.server_id == l.server,
	   "REQUEST parsed");
	len = dhcp_answer(&l, &m, out, sizeof(out));
	ok(len && (v = opt(out, len, 53, &k)) && v[0] == DHCP_ACK, "ACK for its address");
	m.requested = ip("198.18.0.99");
	len = dhcp_answer(&l, &m, out, sizeof(out));
	ok(len && (v = opt(out, len, 53, &k)) && v[0] == DHCP_NAK && !opt(out, len, 51, &k),
	   "NAK for another address");
	m.server_id = ip("198.18.0.2");
	ok(dhcp_answer(&l, &m, out, sizeof(out)) == 0, "silent for another server");
	n = client_frame(f, DHCP_DISCOVER, other, NULL, 0);
	ok(dhcp_parse(f, n, &m) == 0 && dhcp_answer(&l, &m, out, sizeof(out)) == 0,
	   "silent to another MAC");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	memcpy(f + 6, other, 6);
	ok(dhcp_parse(f, n, &m) == 0 && dhcp_answer(&l, &m, out, sizeof(out)) == 0,
	   "silent when the frame's source is not the chaddr");
	n = client_frame(f, DHCP_RELEASE, mac, NULL, 0);
	ok(dhcp_parse(f, n, &m) == 0 && dhcp_answer(&l, &m, out, sizeof(out)) == 0,
	   "silent to a RELEASE");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	ok(dhcp_parse(f, n, &m) == 0 && dhcp_answer(&l, &m, out, 100) == 0,
	   "no answer that does not fit");
}

static void test_hostile(void)
{
	uint8_t f[600], bad_opt[3] = {12, 200, 'x'};
	struct dhcp_msg m;
	size_t n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);

	for (size_t cut = 0; cut < n - 1; cut++)
		if (dhcp_parse(f, cut, &m) == 0 && cut < 14 + 20 + 8 + 240) {
			ok(0, "a frame cut at %zu parsed", cut);
			return;
		}
	ok(1, "every truncated frame refused before the options");
	ok(dhcp_parse(NULL, 0, &m) < 0, "no frame");
	n = client_frame(f, DHCP_DISCOVER, mac, bad_opt, sizeof(bad_opt));
	ok(dhcp_parse(f, n, &m) < 0, "an option longer than the datagram");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	f[14 + 6] = 0x20; /* more fragments */
	ok(dhcp_parse(f, n, &m) < 0, "a fragment");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	f[17] = 0xff; /* IP total length past the frame */
	ok(dhcp_parse(f, n, &m) < 0, "an IP length past the frame");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	f[14] = 0x4f; /* IHL 60: the UDP header past the datagram's start */
	ok(dhcp_parse(f, n, &m) < 0 || m.type != DHCP_DISCOVER, "a bogus IHL");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	f[42] = 2;
	ok(dhcp_parse(f, n, &m) < 0, "a BOOTREPLY");
	n = client_frame(f, DHCP_DISCOVER, mac, NULL, 0);
	f[37] = 68;
	ok(dhcp_parse(f, n, &m) < 0, "not to port 67");
}

int main(void)
{
	test_lease();
	test_offer();
	test_request();
	test_hostile();
	return tap_done();
}

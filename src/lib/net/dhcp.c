/*
 * dhcp.c - the pure part of the HVM DHCP responder (dhcp.h;
 * docs/architecture.md §12.1): the lease a NIC's config
 * gives, parsing a guest's frame, building the answer.
 *
 * Owns: nothing on the host; no allocation, no I/O.  Not: the socket and
 * the privileges (dhcp-run.c).
 *
 *     dhcp_lease_from_nic(vm, nic, &l, &err);
 *     if (dhcp_parse(buf, n, &m) == 0 && (len = dhcp_answer(&l, &m, out, sizeof(out))))
 *             send(...);
 *
 * Invariants: the frame is hostile (the guest writes every byte): each
 * header length is checked against the bytes received before it is used,
 * options are walked with every length checked against the end of the
 * datagram, and nothing is copied out but fixed-size fields.  Answers go
 * only to the lease's MAC, and carry only what the config says.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dhcp.h"
#include "jsonutil.h"
#include "util.h"

#define ETH_HLEN     14
#define IP_HLEN	     20
#define UDP_HLEN     8
#define BOOTP_FIXED  236 /* op .. file */
#define BOOTP_MIN    300 /* the smallest BOOTP message some clients accept */
#define COOKIE	     0x63825363u
#define PORT_SERVER  67
#define PORT_CLIENT  68
#define OPT_PAD	     0
#define OPT_MASK     1
#define OPT_ROUTER   3
#define OPT_DNS	     6
#define OPT_HOSTNAME 12
#define OPT_MTU	     26
#define OPT_BCAST    28
#define OPT_REQ_IP   50
#define OPT_LEASE    51
#define OPT_TYPE     53
#define OPT_SERVER   54
#define OPT_END	     255

/* ---- the lease ---- */

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned o[6];
	int n = 0;

	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &n) !=
		    6 ||
	    s[n] != '\0')
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)o[i];
	return true;
}

/* "a.b.c.d" or "a.b.c.d/len" -> address and mask (no /len: /32). */
static bool parse_v4(const char *s, uint32_t *addr, uint32_t *mask)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	size_t n = s ? (slash ? (size_t)(slash - s) : strlen(s)) : 0;
	uint64_t len = 32;
	struct in_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	if (slash && (strspn(slash + 1, "0123456789") != strlen(slash + 1) || !slash[1] ||
		      util_parse_u64(slash + 1, &len) < 0 || len > 32))
		return false;
	*addr = a.s_addr;
	*mask = htonl(len ? 0xffffffffu << (32 - len) : 0);
	return true;
}

/* The first IPv4 entry of the array arr (strings), 0 if none. */
static uint32_t first_v4(const json_t *arr, uint32_t *mask)
{
	uint32_t a, m;
	json_t *e;
	size_t i;

	json_array_foreach (arr, i, e)
		if (parse_v4(json_string_value(e), &a, &m)) {
			if (mask)
				*mask = m;
			return a;
		}
	return 0;
}

static void lease_dns(const json_t *vm, struct dhcp_lease *l)
{
	uint32_t a, m;
	json_t *e;
	size_t i;

	json_array_foreach (json_object_get(vm, "resolvers"), i, e)
		if (l->ndns < DHCP_MAX_DNS && parse_v4(json_string_value(e), &a, &m) &&
		    m == 0xffffffffu)
			l->dns[l->ndns++] = a;
}

/* The VM's hostname when it is one: [A-Za-z0-9.-], 1..63 chars. */
static void lease_hostname(const json_t *vm, struct dhcp_lease *l)
{
	const char *h = jsonutil_str(vm, "hostname");
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > DHCP_HOSTNAME_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return;
	memcpy(l->hostname, h, n + 1);
}

int dhcp_lease_from_nic(const json_t *vm, const json_t *nic, struct dhcp_lease *l,
			struct zh_error *err)
{
	json_t *mtu = json_object_get(nic, "mtu");
	uint32_t m;

	memset(l, 0, sizeof(*l));
	if (!parse_mac(jsonutil_str(nic, "mac"), l->mac))
		return zh_error_set(err, EINVAL, "nics", "NIC has no valid mac for DHCP");
	memcpy(l->server_mac, l->mac, 6);
	l->server_mac[0] = 0xfe; /* the tap's own MAC (net-tap.c) */
	if (!(l->addr = first_v4(json_object_get(nic, "ips"), &l->mask)))
		return -ENOENT;
	l->router = first_v4(json_object_get(nic, "gateways"), NULL);
	if (!l->router && parse_v4(jsonutil_str(nic, "gateway"), &l->router, &m) == false)
		l->router = 0;
	l->server = l->router;
	if (!l->server)
		inet_pton(AF_INET, DHCP_SERVER_LL, &l->server);
	lease_dns(vm, l);
	lease_hostname(vm, l);
	if (json_is_integer(mtu) && json_integer_value(mtu) >= 576 &&
	    json_integer_value(mtu) <= 65535)
		l->mtu = (uint16_t)json_integer_value(mtu);
	l->lease_secs = DHCP_LEASE_SECS;
	return 0;
}

/* ---- parsing ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Network-order copy of a 4-byte field. */
static uint32_t raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void take_opt(struct dhcp_msg *m, uint8_t tag, const uint8_t *v, size_t len)
{
	if (tag == OPT_TYPE && len == 1 && !m->type)
		m->type = v[0];
	else if (tag == OPT_REQ_IP && len == 4 && !m->requested)
		m->requested = raw32(v);
	else if (tag == OPT_SERVER && len == 4 && !m->server_id)
		m->server_id = raw32(v);
}

/* Options from p to end (exclusive); -EINVAL if one runs past the end. */
static int parse_opts(const uint8_t *p, const uint8_t *end, struct dhcp_msg *m)
{
	while (p < end) {
		uint8_t tag = *p++;

		if (tag == OPT_PAD)
			continue;
		if (tag == OPT_END)
			return 0;
		if (p >= end || (size_t)(end - p - 1) < *p)
			return -EINVAL;
		take_opt(m, tag, p + 1, *p);
		p += 1 + *p;
	}
	return 0; /* no END: tolerated, as most servers do */
}

/* The UDP payload of an IPv4 datagram to port 67; NULL if it is none. */
static const uint8_t *udp_payload(const uint8_t *f, size_t len, size_t *plen)
{
	const uint8_t *ip = f + ETH_HLEN, *udp;
	size_t ihl, tot, ulen;

	if (len < ETH_HLEN + IP_HLEN || get16(f + 12) != 0x0800 || ip[0] >> 4 != 4)
		return NULL;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = get16(ip + 2);
	if (ihl < IP_HLEN || tot < ihl + UDP_HLEN || tot > len - ETH_HLEN || ip[9] != 17 ||
	    (get16(ip + 6) & 0x3fff) != 0)
		return NULL;
	udp = ip + ihl;
	ulen = get16(udp + 4);
	if (get16(udp + 2) != PORT_SERVER || ulen < UDP_HLEN || ulen > tot - ihl)
		return NULL;
	*plen = ulen - UDP_HLEN;
	return udp + UDP_HLEN;
}

int dhcp_parse(const uint8_t *frame, size_t len, struct dhcp_msg *m)
{
	size_t n = 0;
	const uint8_t *b = frame ? udp_payload(frame, len, &n) : NULL;

	memset(m, 0, sizeof(*m));
	if (!b || n < BOOTP_FIXED + 4 || b[0] != 1 || b[1] != 1 || b[2] != 6 ||
	    get32(b + BOOTP_FIXED) != COOKIE)
		return -EINVAL;
	memcpy(m->src_mac, frame + 6, 6);
	memcpy(m->chaddr, b + 28, 6);
	m->xid = raw32(b + 4);
	m->flags = get16(b + 10);
	m->ciaddr = raw32(b + 12);
	return parse_opts(b + BOOTP_FIXED + 4, b + n, m);
}

/* ---- answers ---- */

struct out {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct out *o, const void *v, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = 0; /* overflow: the answer is dropped */
		return;
	}
	memcpy(o->p + o->n, v, n);
	o->n += n;
}

static void put_opt(struct out *o, uint8_t tag, const void *v, size_t n)
{
	uint8_t h[2] = {tag, (uint8_t)n};

	put(o, h, 2);
	put(o, v, n);
}

static void put_u32opt(struct out *o, uint8_t tag, uint32_t host)
{
	uint32_t v = htonl(host);

	put_opt(o, tag, &v, 4);
}

static void put_lease_opts(struct out *o, const struct dhcp_lease *l, bool lease)
{
	uint32_t bcast = l->addr | ~l->mask;
	uint16_t mtu = htons(l->mtu);

	put_opt(o, OPT_SERVER, &l->server, 4);
	if (lease)
		put_u32opt(o, OPT_LEASE, l->lease_secs);
	put_opt(o, OPT_MASK, &l->mask, 4);
	put_opt(o, OPT_BCAST, &bcast, 4);
	if (l->router)
		put_opt(o, OPT_ROUTER, &l->router, 4);
	if (l->ndns)
		put_opt(o, OPT_DNS, l->dns, 4 * l->ndns);
	if (l->hostname[0])
		put_opt(o, OPT_HOSTNAME, l->hostname, strlen(l->hostname));
	if (l->mtu)
		put_opt(o, OPT_MTU, &mtu, 2);
}

/* The BOOTREPLY: fixed part, cookie, options, END, padded to BOOTP_MIN. */
static void put_bootp(struct out *o, const struct dhcp_lease *l, const struct dhcp_msg *m,
		      uint8_t type)
{
	uint8_t fixed[BOOTP_FIXED] = {2, 1, 6, 0};
	uint32_t cookie = htonl(COOKIE),
		 yi = type == DHCP_NAK || m->type == DHCP_INFORM ? 0 : l->addr;
	uint8_t end = OPT_END, zero[BOOTP_MIN] = {0};
	size_t start = o->n;

	memcpy(fixed + 4, &m->xid, 4);
	memcpy(fixed + 10, &(uint16_t){htons(m->flags & 0x8000)}, 2);
	memcpy(fixed + 12, &m->ciaddr, 4);
	memcpy(fixed + 16, &yi, 4);
	memcpy(fixed + 28, l->mac, 6);
	put(o, fixed, sizeof(fixed));
	put(o, &cookie, 4);
	put_opt(o, OPT_TYPE, &type, 1);
	if (type == DHCP_NAK)
		put_opt(o, OPT_SERVER, &l->server, 4);
	else
		put_lease_opts(o, l, m->type != DHCP_INFORM);
	put(o, &end, 1);
	if (o->cap && o->n - start < BOOTP_MIN)
		put(o, zero, BOOTP_MIN - (o->n - start));
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet, IPv4 and UDP headers in front of the BOOTP message at o->p + 42. */
static void put_headers(uint8_t *f, size_t blen, const struct dhcp_lease *l, uint32_t dst)
{
	uint8_t *ip = f + ETH_HLEN, *udp = ip + IP_HLEN;
	uint16_t tot = (uint16_t)(IP_HLEN + UDP_HLEN + blen), ulen = (uint16_t)(UDP_HLEN + blen);
	uint32_t s;

	memcpy(f, l->mac, 6);
	memcpy(f + 6, l->server_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, IP_HLEN + UDP_HLEN);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &l->server, 4);
	memcpy(ip + 16, &dst, 4);
	s = fold(sum16(ip, IP_HLEN, 0));
	ip[10] = (uint8_t)(s >> 8), ip[11] = (uint8_t)s;
	udp[1] = PORT_SERVER, udp[3] = PORT_CLIENT;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	s = sum16(ip + 12, 8, 17 + ulen); /* pseudo header */
	s = fold(sum16(udp, ulen, s));
	s = s ? s : 0xffff;
	udp[6] = (uint8_t)(s >> 8), udp[7] = (uint8_t)s;
}

/* The answer's type, 0 for none. */
static uint8_t answer_type(const struct dhcp_lease *l, const struct dhcp_msg *m)
{
	uint32_t want = m->requested ? m->requested : m->ciaddr;

	if (memcmp(m->src_mac, l->mac, 6) != 0 || memcmp(m->chaddr, l->mac, 6) != 0)
		return 0;
	if (m->type == DHCP_DISCOVER)
		return DHCP_OFFER;
	if (m->type == DHCP_INFORM)
		return DHCP_ACK;
	if (m->type != DHCP_REQUEST || (m->server_id && m->server_id != l->server))
		return 0;
	return want == l->addr ? DHCP_ACK : DHCP_NAK;
}

size_t dhcp_answer(const struct dhcp_lease *l, const struct dhcp_msg *m, uint8_t *out, size_t cap)
{
	uint8_t type = answer_type(l, m);
	struct out o = {.p = out, .n = ETH_HLEN + IP_HLEN + UDP_HLEN, .cap = cap};
	uint32_t dst = 0xffffffffu;

	if (!type || cap < o.n)
		return 0;
	put_bootp(&o, l, m, type);
	if (!o.cap)
		return 0;
	if (type != DHCP_NAK && m->ciaddr)
		dst = m->ciaddr; /* a renewing (or informing) client has its address */
	put_headers(out, o.n - (ETH_HLEN + IP_HLEN + UDP_HLEN), l, dst);
	return o.n;
}

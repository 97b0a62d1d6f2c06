/*
 * net-addr.c - the zone side of the VNICs: links, addresses and routes
 * inside the zone's network namespace, and the zone's resolver and host
 * files (net.h).
 *
 * Owns: the netlink socket made inside a zone's network namespace
 * (setns() there in the calling thread, socket, setns() back: a socket
 * stays bound to the namespace it was created in; zoneadmd is
 * single-threaded), the static addresses of `ips` on each zone end, lo
 * up, the default route (primary NIC's gateways[0]) and `routes` (dst ->
 * gateway IP, or "nics[N]"/"macs[m]": a link route on that NIC); and the
 * files /etc/resolv.conf (from `resolvers`), /etc/hostname and a marked
 * block of /etc/hosts in the zone root.  Not: the veth pairs
 * (net-vnic.c).  `dhcp`/`addrconf` entries get no address: the link is
 * up and the guest's own client configures it.
 *
 *     net_sock_open_pid(init_pid, &zs, &err);
 *     net_zone_addrs(zs, old_nic, nic, &err);     (diff: only what changed)
 *     net_zone_routes(zs, old_vm, vm, &err);
 *     net_zone_files("/zones/<u>/root", vm, &err);
 *
 * Invariants: files are written under the zone root only, through
 * openat2(RESOLVE_IN_ROOT) for /etc and rename() of a fresh, randomly
 * named temp file for the file itself, so a zone-controlled symlink never
 * leads out of the root; what the tenant put in place of a file that is
 * not a regular file or a symlink (a FIFO, a directory) is left alone and
 * reported, and the other files are still written; the old /etc/hosts is
 * read non-blocking, without following a symlink, only if it is a regular
 * file, and at most 256 KiB of it (a tenant's `mkfifo /etc/hosts` never
 * stalls zoneadmd).  The caller's network namespace is never left
 * (net_sock_open_pid enters the zone's in a thread of its own).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "net-vnic-internal.h"
#include "net.h"
#include "util.h"

#define HOSTS_MAX   (256u << 10)
#define HOSTS_BEGIN "# zonehost: begin (written at each boot from hostname, dns_domain, nics)\n"
#define HOSTS_END   "# zonehost: end\n"

DEFINE_CLEANUP_FUNC(struct rtnl_link, rtnl_link_put)
DEFINE_CLEANUP_FUNC(struct rtnl_addr, rtnl_addr_put)
DEFINE_CLEANUP_FUNC(struct rtnl_route, rtnl_route_put)
DEFINE_CLEANUP_FUNC(struct nl_addr, nl_addr_put)

/* ---- links ---- */

static int zone_link(struct nl_sock *zs, const char *name, struct rtnl_link **out,
		     struct zh_error *err)
{
	int r = name ? rtnl_link_get_kernel(zs, 0, name, out) : -NLE_INVAL;

	if (r < 0)
		return zh_error_set(err, ENODEV, "nics", "interface %s is missing in the zone",
				    name ? name : "(none)");
	return 0;
}

static int link_up(struct nl_sock *zs, const char *name, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL, *chg = rtnl_link_alloc();
	int r;

	if (!chg)
		return zh_error_oom(err);
	if ((r = zone_link(zs, name, &cur, err)) < 0)
		return r;
	if (rtnl_link_get_flags(cur) & IFF_UP)
		return 0;
	rtnl_link_set_flags(chg, IFF_UP);
	r = rtnl_link_change(zs, cur, chg, 0);
	if (r < 0)
		return zh_error_set(err, net_nlerr(r), "nics", "cannot bring %s up: %s", name,
				    nl_geterror(r));
	return 0;
}

int net_zone_lo_up(struct nl_sock *zs, struct zh_error *err)
{
	return link_up(zs, "lo", err);
}

/* ---- addresses ---- */

static bool is_static(const char *ip)
{
	return ip && strchr(ip, '/') && !streq(ip, "dhcp") && !streq(ip, "addrconf");
}

static bool has_ip(const json_t *nic, const char *ip)
{
	json_t *e;
	size_t i;

	json_array_foreach (json_object_get(nic, "ips"), i, e)
		if (json_is_string(e) && streq(json_string_value(e), ip))
			return true;
	return false;
}

static int addr_op(struct nl_sock *zs, int ifindex, const char *cidr, bool add,
		   struct zh_error *err)
{
	_cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
	_cleanup_(nl_addr_putp) struct nl_addr *local = NULL;
	int r;

	if (!a)
		return zh_error_oom(err);
	if ((r = nl_addr_parse(cidr, AF_UNSPEC, &local)) < 0)
		return zh_error_set(err, EINVAL, "nics", "Invalid IP for NIC: %s", cidr);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, nl_addr_get_family(local));
	if ((r = rtnl_addr_set_local(a, local)) < 0)
		return zh_error_set(err, net_nlerr(r), "nics", "address %s: %s", cidr,
				    nl_geterror(r));
	rtnl_addr_set_prefixlen(a, (int)nl_addr_get_prefixlen(local));
	if (nl_addr_get_family(local) == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	if (!add) {
		rtnl_addr_delete(zs, a, 0); /* gone already is fine */
		return 0;
	}
	r = rtnl_addr_add(zs, a, NLM_F_CREATE | NLM_F_REPLACE);
	if (r < 0)
		return zh_error_set(err, net_nlerr(r), "nics", "cannot add address %s: %s", cidr,
				    nl_geterror(r));
	return 0;
}

/* Apply to ifindex every static ip of `from` that `unless` lacks. */
static int addr_diff(struct nl_sock *zs, int ifindex, const json_t *from, const json_t *unless,
		     bool add, struct zh_error *err)
{
	json_t *e;
	size_t i;
	int r;

	json_array_foreach (json_object_get(from, "ips"), i, e) {
		const char *ip = json_string_value(e);

		if (!is_static(ip) || (unless && has_ip(unless, ip)))
			continue;
		if ((r = addr_op(zs, ifindex, ip, add, err)) < 0)
			return r;
	}
	return 0;
}

int net_zone_addrs(struct nl_sock *zs, const json_t *old_nic, const json_t *nic,
		   struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	const char *ifname = jsonutil_str(nic, "interface");
	int r, ifindex;

	if ((r = zone_link(zs, ifname, &l, err)) < 0)
		return r;
	ifindex = rtnl_link_get_ifindex(l);
	if (old_nic && (r = addr_diff(zs, ifindex, old_nic, nic, false, err)) < 0)
		return r;
	if ((r = addr_diff(zs, ifindex, nic, old_nic, true, err)) < 0)
		return r;
	return link_up(zs, ifname, err);
}

/* ---- routes ---- */

struct route_want {
	const char *dst; /* "default" or an IPv4 / CIDR */
	const char *gw;	 /* gateway IP, or NULL for a link route */
	const char *dev; /* interface, or NULL: the kernel picks it from gw */
};

static const json_t *primary_nic(const json_t *vm)
{
	json_t *nic;
	size_t i;

	json_array_foreach (json_object_get(vm, "nics"), i, nic)
		if (json_is_true(json_object_get(nic, "primary")))
			return nic;
	return json_array_get(json_object_get(vm, "nics"), 0);
}

static bool has_static(const json_t *nic)
{
	json_t *e;
	size_t i;

	json_array_foreach (json_object_get(nic, "ips"), i, e)
		if (is_static(json_string_value(e)))
			return true;
	return false;
}

/* Any NIC the guest configures itself (its routes may not be reachable yet). */
static bool guest_configured(const json_t *vm)
{
	json_t *nic, *e;
	size_t i, j;

	json_array_foreach (json_object_get(vm, "nics"), i, nic)
		json_array_foreach (json_object_get(nic, "ips"), j, e)
			if (!is_static(json_string_value(e)))
				return true;
	return false;
}

static bool default_route(const json_t *vm, struct route_want *w)
{
	const json_t *p = primary_nic(vm);
	json_t *g = json_array_get(json_object_get(p, "gateways"), 0);

	if (!json_is_string(g) || !has_static(p))
		return false; /* dhcp: the guest's client sets its default route */
	*w = (struct route_want){"default", json_string_value(g), jsonutil_str(p, "interface")};
	return true;
}

static const json_t *nic_by_mac(const json_t *vm, const char *mac)
{
	json_t *nic;
	size_t i;

	json_array_foreach (json_object_get(vm, "nics"), i, nic)
		if (jsonutil_str(nic, "mac") && strcasecmp(jsonutil_str(nic, "mac"), mac) == 0)
			return nic;
	return NULL;
}

/* "nics[N]" / "macs[m]" -> that NIC's interface; else NULL. */
static const char *route_dev(const json_t *vm, const char *gw)
{
	size_t n = strlen(gw);
	char in[32];
	int64_t idx;

	if (n < 7 || n - 6 >= sizeof(in) || gw[n - 1] != ']')
		return NULL;
	memcpy(in, gw + 5, n - 6);
	in[n - 6] = '\0';
	if (strncmp(gw, "nics[", 5) == 0 && util_parse_i64(in, &idx) == 0 && idx >= 0)
		return jsonutil_str(json_array_get(json_object_get(vm, "nics"), (size_t)idx),
				    "interface");
	if (strncmp(gw, "macs[", 5) == 0)
		return jsonutil_str(nic_by_mac(vm, in), "interface");
	return NULL;
}

static bool user_route(const json_t *vm, const char *dst, struct route_want *w)
{
	const char *gw = jsonutil_str(json_object_get(vm, "routes"), dst);
	const char *dev;

	if (!gw)
		return false;
	dev = route_dev(vm, gw);
	*w = (struct route_want){dst, dev ? NULL : gw, dev};
	return true;
}

static bool want_equal(const struct route_want *a, const struct route_want *b)
{
	return streq(a->dst, b->dst) && (a->gw == NULL) == (b->gw == NULL) &&
	       (!a->gw || streq(a->gw, b->gw)) && (a->dev == NULL) == (b->dev == NULL) &&
	       (!a->dev || streq(a->dev, b->dev));
}

static int route_nexthop(struct nl_sock *zs, struct rtnl_route *rt, const struct route_want *w,
			 struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	_cleanup_(nl_addr_putp) struct nl_addr *gw = NULL;
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	int r;

	if (!nh)
		return zh_error_oom(err);
	rtnl_route_add_nexthop(rt, nh);
	if (w->dev && (r = zone_link(zs, w->dev, &l, err)) < 0)
		return r;
	if (l)
		rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(l));
	if (!w->gw)
		return 0;
	if (nl_addr_parse(w->gw, AF_INET, &gw) < 0)
		return zh_error_set(err, EINVAL, "routes", "Invalid route gateway: \"%s\"", w->gw);
	rtnl_route_nh_set_gateway(nh, gw);
	return 0;
}

static int route_op(struct nl_sock *zs, const struct route_want *w, bool add, struct zh_error *err)
{
	_cleanup_(rtnl_route_putp) struct rtnl_route *rt = rtnl_route_alloc();
	_cleanup_(nl_addr_putp) struct nl_addr *dst = NULL;
	int r;

	if (!rt)
		return zh_error_oom(err);
	if (nl_addr_parse(w->dst, AF_INET, &dst) < 0)
		return zh_error_set(err, EINVAL, "routes", "Invalid route destination: \"%s\"",
				    w->dst);
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_set_protocol(rt, RTPROT_STATIC); /* ours only */
	if (!add) {
		rtnl_route_set_scope(rt, RT_SCOPE_NOWHERE); /* any scope (libnl's default: link) */
		rtnl_route_delete(zs, rt, 0);		    /* gone already is fine */
		return 0;
	}
	rtnl_route_set_scope(rt, w->gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	if ((r = route_nexthop(zs, rt, w, err)) < 0)
		return r;
	r = rtnl_route_add(zs, rt, NLM_F_CREATE | NLM_F_REPLACE);
	if (r < 0)
		return zh_error_set(err, net_nlerr(r), "routes",
				    "cannot add route %s via %s (is the gateway on one of the "
				    "VM's networks?): %s",
				    w->dst, w->gw ? w->gw : w->dev, nl_geterror(r));
	return 0;
}

/* Remove routes of old that vm no longer wants (or wants differently). */
static void routes_drop(struct nl_sock *zs, const json_t *old, const json_t *vm)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	struct route_want a, b;
	const char *dst;
	json_t *v;

	if (default_route(old, &a) && !(default_route(vm, &b) && want_equal(&a, &b)))
		route_op(zs, &a, false, &ignored);
	json_object_foreach (json_object_get(old, "routes"), dst, v)
		if (user_route(old, dst, &a) && !(user_route(vm, dst, &b) && want_equal(&a, &b)))
			route_op(zs, &a, false, &ignored);
	zh_error_clear(&ignored);
}

int net_zone_routes(struct nl_sock *zs, const json_t *old_vm, const json_t *vm,
		    struct zh_error *err)
{
	struct route_want w;
	const char *dst;
	json_t *v;
	int r;

	if (old_vm)
		routes_drop(zs, old_vm, vm);
	if (default_route(vm, &w) && (r = route_op(zs, &w, true, err)) < 0)
		return r;
	json_object_foreach (json_object_get(vm, "routes"), dst, v) {
		if (!user_route(vm, dst, &w) || (r = route_op(zs, &w, true, err)) == 0)
			continue;
		/* Perhaps via a network the guest's DHCP client has not configured yet. */
		if (guest_configured(vm)) {
			zh_error_clear(err);
			continue;
		}
		return r;
	}
	return 0;
}

/* ---- files in the zone root ---- */

/* /etc of the root, resolved inside it (RESOLVE_IN_ROOT). */
static int open_etc(const char *root, struct zh_error *err)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd;

	if (rfd < 0)
		return zh_error_set(err, errno, NULL, "cannot open zone root %s: %m", root);
	fd = (int)syscall(SYS_openat2, rfd, "etc", &how, sizeof(how));
	if (fd < 0 && errno == ENOENT && mkdirat(rfd, "etc", 0755) == 0)
		fd = (int)syscall(SYS_openat2, rfd, "etc", &how, sizeof(how));
	if (fd < 0)
		return zh_error_set(err, errno, NULL, "cannot open %s/etc: %m", root);
	return fd;
}

/*
 * What stands at name: nothing or a regular file (or a symlink, which a
 * rename replaces without following) may be replaced; anything else (a
 * FIFO, a directory, a device) is the tenant's and is refused.
 */
static int check_replaceable(int etcfd, const char *name, struct zh_error *err)
{
	struct stat st;

	if (fstatat(etcfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0
				       : zh_error_set(err, errno, NULL,
						      "cannot check /etc/%s in the zone: %m", name);
	if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		return 0;
	return zh_error_set(err, EEXIST, NULL,
			    "left /etc/%s in the zone alone: it is not a regular file (mode %o)",
			    name, (unsigned)(st.st_mode & S_IFMT));
}

/* A new file in etcfd under a fresh random name (never follows, never reuses). */
static int open_temp(int etcfd, const char *name, char *tmp, size_t size, struct zh_error *err)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t rnd = 0;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return zh_error_set(err, EIO, NULL, "getrandom: %m");
		snprintf(tmp, size, ".%s.zonehost-%016llx", name, (unsigned long long)rnd);
		fd = openat(etcfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd
				       : zh_error_set(err, errno, NULL,
						      "cannot write /etc/%s in the zone: %m", name);
	}
	return zh_error_set(err, EEXIST, NULL, "cannot write /etc/%s in the zone: %m", name);
}

/* Write name in etcfd by temp file + rename (never opens or follows the old one). */
static int write_etc(int etcfd, const char *name, const char *data, struct zh_error *err)
{
	char tmp[64];
	size_t len = strlen(data);
	int r = check_replaceable(etcfd, name, err);

	if (r < 0)
		return r;
	_cleanup_close_ int fd = open_temp(etcfd, name, tmp, sizeof(tmp), err);
	if (fd < 0)
		return fd;
	if (fchmod(fd, 0644) < 0 || write(fd, data, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;

		unlinkat(etcfd, tmp, 0);
		return zh_error_set(err, e, NULL, "cannot write /etc/%s in the zone: %m", name);
	}
	if (renameat(etcfd, tmp, etcfd, name) < 0) {
		int e = errno;

		unlinkat(etcfd, tmp, 0);
		return zh_error_set(err, e, NULL, "cannot replace /etc/%s in the zone: %m", name);
	}
	return 0;
}

/*
 * The current file, or NULL when there is none we may read: opened
 * non-blocking and without following a symlink (a FIFO the tenant put
 * there must not stall zoneadmd), a regular file only, of at most
 * HOSTS_MAX bytes.
 */
static char *read_etc(int etcfd, const char *name)
{
	_cleanup_close_ int fd =
		openat(etcfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > HOSTS_MAX)
		return NULL;
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = fsutil_read_full(fd, buf, (size_t)st.st_size); /* what it said, not what it grew to */
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static const char *vm_hostname(const json_t *vm)
{
	const char *h = jsonutil_str(vm, "hostname");

	if (!h || !*h)
		h = jsonutil_str(vm, "zonename");
	if (!h || !*h)
		h = jsonutil_str(vm, "uuid");
	return h ? h : "localhost";
}

/* The primary NIC's first static address, without its prefix. */
static void primary_ip(const json_t *vm, char out[64])
{
	json_t *e;
	size_t i;

	snprintf(out, 64, "127.0.1.1");
	json_array_foreach (json_object_get(primary_nic(vm), "ips"), i, e) {
		const char *s = json_string_value(e);

		if (is_static(s)) {
			snprintf(out, 64, "%.*s", (int)(strchr(s, '/') - s), s);
			return;
		}
	}
}

static char *hosts_block(const json_t *vm)
{
	const char *h = vm_hostname(vm), *dom = jsonutil_str(vm, "dns_domain");
	char ip[64];
	char *out = NULL;

	primary_ip(vm, ip);
	if (dom && *dom) {
		if (asprintf(&out,
			     HOSTS_BEGIN "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
					 "ip6-loopback\n%s\t%s.%s %s\n" HOSTS_END,
			     ip, h, dom, h) < 0)
			return NULL;
	} else if (asprintf(&out,
			    HOSTS_BEGIN "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
					"ip6-loopback\n%s\t%s\n" HOSTS_END,
			    ip, h) < 0) {
		return NULL;
	}
	return out;
}

/* Our block replaces the old one; every other line of the file stays. */
static char *hosts_merge(const char *old, const char *block)
{
	const char *b = old ? strstr(old, HOSTS_BEGIN) : NULL;
	const char *e = b ? strstr(b, HOSTS_END) : NULL;
	char *out = NULL;
	int r;

	if (b && e)
		r = asprintf(&out, "%.*s%s%s", (int)(b - old), old, block, e + strlen(HOSTS_END));
	else
		r = asprintf(&out, "%s%s", block, old ? old : "");
	return r < 0 ? NULL : out;
}

static int write_hostname(int etcfd, const json_t *vm, struct zh_error *err)
{
	_cleanup_free_ char *hn = NULL;

	if (asprintf(&hn, "%s\n", vm_hostname(vm)) < 0)
		return zh_error_oom(err);
	return write_etc(etcfd, "hostname", hn, err);
}

static int write_hosts(int etcfd, const json_t *vm, struct zh_error *err)
{
	_cleanup_free_ char *old = read_etc(etcfd, "hosts");
	_cleanup_free_ char *block = hosts_block(vm), *all = NULL;

	if (!block || !(all = hosts_merge(old, block)))
		return zh_error_oom(err);
	return write_etc(etcfd, "hosts", all, err);
}

static int write_resolv(int etcfd, const json_t *vm, struct zh_error *err)
{
	json_t *rs = json_object_get(vm, "resolvers"), *e;
	const char *dom = jsonutil_str(vm, "dns_domain");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	if (json_array_size(rs) == 0)
		return 0; /* the image's own resolv.conf stays */
	f = open_memstream(&buf, &len);
	if (!f)
		return zh_error_oom(err);
	fputs("# Written by zonehost from the VM's resolvers.\n", f);
	if (dom && *dom && !streq(dom, "local"))
		fprintf(f, "search %s\n", dom);
	json_array_foreach (rs, i, e)
		if (json_is_string(e))
			fprintf(f, "nameserver %s\n", json_string_value(e));
	if (fclose(f) != 0 || !buf)
		return zh_error_oom(err);
	return write_etc(etcfd, "resolv.conf", buf, err);
}

int net_zone_files(const char *zone_root, const json_t *vm, struct zh_error *err)
{
	static int (*const writers[])(int, const json_t *, struct zh_error *) = {
		write_resolv, write_hostname, write_hosts};
	_cleanup_close_ int etc = open_etc(zone_root, err);
	int r = 0;

	if (etc < 0)
		return etc;
	/* Each file on its own: one the tenant broke does not stop the others. */
	for (size_t i = 0; i < ARRAY_SIZE(writers); i++) {
		struct zh_error e = ZH_ERROR_INIT;

		if (writers[i](etc, vm, &e) == 0)
			continue;
		if (r == 0) {
			r = -e.errnum;
			*err = e; /* the first reason, moved */
		} else {
			zh_error_reword(err, "%s; %s", err->msg, e.msg); /* and the next ones */
			zh_error_clear(&e);
		}
	}
	return r;
}

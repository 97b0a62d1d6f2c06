/*
 * net-tap.c - the tap devices of a hardware VM (kvm, bhyve): one per NIC
 * (net.h; docs/architecture.md §12.1).
 *
 * Owns: the taps named net_tap_name() ("vt<8 hex of the uuid><index>"),
 * each a port of the bridge its nic tag names, up, with the NIC's MTU and
 * a host-side MAC of fe:<the NIC's last 5 bytes> (as libvirt does: a port
 * whose own address were the guest's MAC would make the bridge take the
 * guest's frames for itself; 0xfe also keeps the bridge from adopting it
 * as its own address), and marked as the VM's by their ifalias
 * "zonehost:<uuid>".  Not: the rules (nft.c, called here: the VM's rules
 * are loaded before its first tap exists, so no port is ever unfiltered,
 * and they match port names), the guest's MAC (QEMU's -device mac=), the
 * DHCP answers (dhcp-run.c).
 *
 *     int fds[n];
 *     net_tap_create_all(vm, fds, n, &err);    zoneadmd (root), before QEMU
 *     ... QEMU gets fds[i] as -netdev tap,fd=...; zoneadmd closes its copies
 *     net_tap_remove_all(vm, &err);            any process holding the config
 *
 * Invariants: a tap is made by TUNSETIFF on a fresh /dev/net/tun with the
 * name template "vtnew%d" (the kernel always makes a new device for a
 * template, so an fd never attaches to an existing tap, another VM's
 * included), then renamed to its final name, which fails with EEXIST
 * rather than share one.  The taps are not persistent and have no owner:
 * only the fds made here (held by zoneadmd, then QEMU) attach to them, and
 * they vanish with the last of those.  Removal needs only the config: every
 * link named "vt<8 hex>..." whose ifalias is this VM's is deleted, so a
 * VM whose uuid shares the 8 digits never removes another's tap.  Create is
 * all-or-nothing: on any failure the taps made so far and the rules go.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "jsonutil.h"
#include "net-vnic-internal.h"
#include "net.h"
#include "nft.h"
#include "util.h"
#include "vmcfg-access.h"

#define TAP_TEMPLATE "vtnew%d"
#define TAP_ALIAS    "zonehost:"
#define TAP_MAX_NICS 64

DEFINE_CLEANUP_FUNC(struct rtnl_link, rtnl_link_put)
DEFINE_CLEANUP_FUNC(struct nl_cache, nl_cache_free)
DEFINE_CLEANUP_FUNC(struct nl_addr, nl_addr_put)

/* ---- one tap ---- */

/* A new, unnamed-yet tap (kernel name in tmp); its fd, or -errno. */
static int tun_open(char tmp[IFNAMSIZ], struct zh_error *err)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

	if (fd < 0)
		return zh_error_set(err, errno, VMCFG_NICS, "cannot open /dev/net/tun: %s",
				    strerror(errno));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", TAP_TEMPLATE);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return zh_error_set(err, errno, VMCFG_NICS, "cannot create a tap device: %s",
				    strerror(errno));
	snprintf(tmp, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	return TAKE_FD(fd);
}

/* "aa:bb:cc:dd:ee:ff" -> fe:bb:cc:dd:ee:ff (the tap's own, host-side MAC). */
static int host_mac(const char *s, struct nl_addr **out)
{
	unsigned o[6];
	unsigned char b[6];
	int n = 0;

	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &n) !=
		    6 ||
	    s[n] != '\0')
		return -EINVAL;
	b[0] = 0xfe;
	for (int i = 1; i < 6; i++)
		b[i] = (unsigned char)o[i];
	*out = nl_addr_build(AF_LLC, b, sizeof(b));
	return *out ? 0 : -ENOMEM;
}

static int link_fail(struct zh_error *err, int r, const char *what, const char *name)
{
	if (net_nlerr(r) == EEXIST)
		return zh_error_set(err, EEXIST, VMCFG_NICS,
				    "tap %s exists: another VM's uuid starts with the same 8 hex "
				    "digits",
				    name);
	return zh_error_set(err, net_nlerr(r), VMCFG_NICS, "cannot %s tap %s: %s", what, name,
			    nl_geterror(r));
}

/* Rename tmp to name (still down), then MAC, MTU, owner mark, bridge, up. */
static int tap_setup(struct nl_sock *sk, const char *tmp, const char *name, const char *uuid,
		     const json_t *nic, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL, *chg = rtnl_link_alloc();
	_cleanup_(nl_addr_putp) struct nl_addr *mac = NULL;
	_cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL;
	const char *tag = jsonutil_str(nic, "nic_tag");
	char alias[64];
	json_t *m = json_object_get(nic, "mtu");
	json_int_t mtu = json_is_integer(m) ? json_integer_value(m) : 0;
	int r;

	if (!chg)
		return zh_error_oom(err);
	if (host_mac(jsonutil_str(nic, "mac"), &mac) < 0)
		return zh_error_set(err, EINVAL, VMCFG_NICS, "NIC of tap %s has no valid MAC",
				    name);
	if (!tag || rtnl_link_get_kernel(sk, 0, tag, &br) < 0)
		return zh_error_set(err, ENODEV, VMCFG_NICS,
				    "nic tag \"%s\" has no bridge on this host (nictagadm add?)",
				    tag ? tag : "");
	if ((r = rtnl_link_get_kernel(sk, 0, tmp, &cur)) < 0)
		return link_fail(err, r, "find", tmp);
	rtnl_link_set_name(chg, name);
	if ((r = rtnl_link_change(sk, cur, chg, 0)) < 0)
		return link_fail(err, r, "name", name);
	rtnl_link_put(chg);
	if (!(chg = rtnl_link_alloc()))
		return zh_error_oom(err);
	snprintf(alias, sizeof(alias), TAP_ALIAS "%s", uuid);
	rtnl_link_set_addr(chg, mac);
	rtnl_link_set_ifalias(chg, alias);
	rtnl_link_set_master(chg, rtnl_link_get_ifindex(br));
	rtnl_link_set_flags(chg, IFF_UP);
	if (mtu > 0)
		rtnl_link_set_mtu(chg, (unsigned)mtu);
	if ((r = rtnl_link_change(sk, cur, chg, 0)) < 0)
		return link_fail(err, r, "configure", name);
	return 0;
}

/* ---- removal ---- */

static bool is_ours(struct rtnl_link *l, const char *pre, const char *alias)
{
	const char *name = rtnl_link_get_name(l), *a = rtnl_link_get_ifalias(l);
	size_t plen = strlen(pre);

	return name && a && strncmp(name, pre, plen) == 0 && isdigit((unsigned char)name[plen]) &&
	       streq(a, alias);
}

static int tap_del(struct nl_sock *sk, struct rtnl_link *l)
{
	int r = rtnl_link_delete(sk, l);

	return r < 0 && net_nlerr(r) != ENODEV ? -net_nlerr(r) : 0;
}

/* Delete every tap of the VM (by name prefix and owner mark). */
static int remove_taps(struct nl_sock *sk, const char *uuid, struct zh_error *err)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	char pre[NET_IFNAMSIZ], alias[64];
	int r, first = 0;

	if ((r = net_tap_name(uuid, NULL, 0, pre, err)) < 0)
		return r;
	pre[2 + 8] = '\0'; /* "vt" + 8 hex: the VM's prefix */
	snprintf(alias, sizeof(alias), TAP_ALIAS "%s", uuid);
	if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) < 0)
		return zh_error_set(err, net_nlerr(r), NULL, "cannot list links: %s",
				    nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;

		if (!is_ours(l, pre, alias) || (r = tap_del(sk, l)) == 0 || first < 0)
			continue;
		first = zh_error_set(err, -r, NULL, "cannot remove tap %s: %s",
				     rtnl_link_get_name(l), strerror(-r));
	}
	return first;
}

int net_tap_remove_all(const json_t *vm, struct zh_error *err)
{
	_cleanup_(net_sock_freep) struct nl_sock *sk = NULL;
	struct zh_error e2 = ZH_ERROR_INIT;
	const char *uuid = vmcfg_uuid(vm);
	int r;

	if ((r = net_sock_open(&sk, err)) < 0)
		return r;
	r = remove_taps(sk, uuid, err);
	if (nft_vm_remove(uuid, r < 0 ? &e2 : err) < 0 && r == 0)
		r = -EIO;
	zh_error_clear(&e2);
	return r;
}

/* ---- create ---- */

static int tap_make(struct nl_sock *sk, const char *uuid, const json_t *nic, size_t pos,
		    struct zh_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	char tmp[IFNAMSIZ], name[NET_IFNAMSIZ];
	int r;

	if ((r = net_tap_name(uuid, nic, pos, name, err)) < 0)
		return r;
	if ((fd = tun_open(tmp, err)) < 0)
		return fd;
	if ((r = tap_setup(sk, tmp, name, uuid, nic, err)) < 0)
		return r; /* closing fd removes the (non-persistent) tap */
	return TAKE_FD(fd);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -EBADF;
		}
}

static int check_args(const json_t *vm, size_t n, struct zh_error *err)
{
	json_t *nics = vmcfg_nics(vm);

	if (!vmcfg_uuid(vm) || !util_is_uuid_shape(vmcfg_uuid(vm)))
		return zh_error_set(err, EINVAL, VMCFG_UUID, "VM has no valid uuid for its taps");
	if (nics && !json_is_array(nics))
		return zh_error_set(err, EINVAL, VMCFG_NICS, "nics is not a list");
	if (json_array_size(nics) > TAP_MAX_NICS || json_array_size(nics) > n)
		return zh_error_set(err, E2BIG, VMCFG_NICS, "too many nics (%zu) for %zu taps",
				    json_array_size(nics), n);
	return 0;
}

static int make_all(const json_t *vm, int *fds, struct zh_error *err)
{
	_cleanup_(net_sock_freep) struct nl_sock *sk = NULL;
	const char *uuid = vmcfg_uuid(vm);
	json_t *nic;
	size_t i;
	int r;

	if ((r = net_sock_open(&sk, err)) < 0)
		return r;
	json_array_foreach (vmcfg_nics(vm), i, nic)
		if ((fds[i] = tap_make(sk, uuid, nic, i, err)) < 0)
			return fds[i];
	return 0;
}

int net_tap_create_all(const json_t *vm, int *fds, size_t n, struct zh_error *err)
{
	struct zh_error ignored = ZH_ERROR_INIT;
	int r;

	for (size_t i = 0; i < n; i++)
		fds[i] = -EBADF;
	if ((r = check_args(vm, n, err)) < 0 || json_array_size(vmcfg_nics(vm)) == 0)
		return r;
	/* The rules first: they match port names, so no tap is ever unfiltered. */
	if ((r = nft_vm_apply(vmcfg_uuid(vm), vm, err)) < 0)
		return r;
	if ((r = make_all(vm, fds, err)) == 0)
		return 0;
	close_all(fds, n);
	net_tap_remove_all(vm, &ignored);
	zh_error_clear(&ignored);
	return r;
}

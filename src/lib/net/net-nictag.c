/*
 * net-nictag.c - nic tags: the records and the Linux bridges they name.
 * See net.h for the contract.
 *
 * Owns: <config>/nictags.json and the bridges it created.  A record is
 *
 *     { "version": 1, "tags": { "<name>": { "uplink": "eth1",
 *       "mac": "02:00:c6:12:00:01", "mtu": 9000, "adopted": true } } }
 *
 * with every member optional: no uplink and no mac = an etherstub.  `mac`
 * is set only when the uplink was named by its MAC, and then wins over
 * `uplink` when the tag is brought back (interface names may change across
 * a reboot).  `adopted` marks a bridge that already existed when the tag
 * was added (say an operator's bridge that carries the host's own address):
 * zonehost never creates or removes an adopted bridge, it only enslaves the
 * uplink to it and releases it again.
 *
 *     struct net_nictag t = { .name = "admin", .uplink = "eth1" };
 *     if (net_nictag_add(&t, &err) < 0) ...
 *     net_nictags_ensure(&err);                      (host boot)
 *
 * Invariants: zonehost never changes the uplink's addresses and refuses an
 * uplink that has any (enslaving it would take them away from the host);
 * it only brings the uplink up, raises its MTU to the tag's, and makes it
 * a bridge port.  Changes to the records run under the "nictags" lock
 * (lock.h: after the host lock when both are taken).  Everything happens
 * in the caller's network namespace.
 */
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <string.h>

#include "fsutil.h"
#include "jsonutil.h"
#include "lock.h"
#include "net.h"
#include "paths.h"

#define NICTAGS_FILE "nictags.json"
#define NICTAGS_MAX  (4u << 20)
#define NICTAGS_LOCK "nictags"
#define TAG_MTU_MIN  1500
#define TAG_MTU_MAX  9000
#define MAC_STRLEN   18

DEFINE_CLEANUP_FUNC(struct nl_sock, nl_socket_free)
DEFINE_CLEANUP_FUNC(struct rtnl_link, rtnl_link_put)
DEFINE_CLEANUP_FUNC(struct nl_cache, nl_cache_free)
DEFINE_CLEANUP_FUNC(struct nl_addr, nl_addr_put)

/* ---- names and MACs ---- */

bool net_nictag_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n >= NET_IFNAMSIZ)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0:c:29:AB:cd:1" -> "00:0c:29:ab:cd:01"; false if not a MAC. */
static bool mac_normalize(const char *in, char out[MAC_STRLEN])
{
	unsigned char b[6];
	const char *p = in;

	for (int i = 0; i < 6; i++) {
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0)
			return false;
		b[i] = lo < 0 ? hi : hi * 16 + lo;
		p += lo < 0 ? 1 : 2;
		if (*p != (i == 5 ? '\0' : ':'))
			return false;
		p += i < 5;
	}
	snprintf(out, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
		 b[5]);
	return true;
}

/* ---- netlink ---- */

static int nl_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST: return EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV: return ENODEV;
	case NLE_PERM: return EPERM;
	case NLE_NOMEM: return ENOMEM;
	case NLE_OPNOTSUPP: return EOPNOTSUPP;
	case NLE_BUSY: return EBUSY;
	case NLE_INVAL:
	case NLE_RANGE: return EINVAL;
	default: return EIO;
	}
}

static int nl_fail(struct zh_error *err, int nle, const char *what, const char *name)
{
	return zh_error_set(err, nl_to_errno(nle), NULL, "%s \"%s\": %s", what, name,
			    nl_geterror(nle));
}

static int nl_open(struct nl_sock **out, struct zh_error *err)
{
	_cleanup_(nl_socket_freep) struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return zh_error_oom(err);
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0)
		return zh_error_set(err, nl_to_errno(r), NULL, "cannot open netlink: %s",
				    nl_geterror(r));
	*out = TAKE_PTR(sk);
	return 0;
}

/* The live link called name: 0, -ENODEV if absent, else -errno. */
static int link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out,
		    struct zh_error *err)
{
	int r = rtnl_link_get_kernel(sk, 0, name, out);

	if (r == 0)
		return 0;
	if (nl_to_errno(r) == ENODEV)
		return -ENODEV;
	return nl_fail(err, r, "cannot read interface", name);
}

static bool link_is_bridge(struct rtnl_link *l)
{
	const char *type = rtnl_link_get_type(l);

	return type && streq(type, "bridge");
}

/* Bring link name up, with mtu when > 0 (raise_only: only if larger). */
static int link_up_mtu(struct nl_sock *sk, const char *name, unsigned mtu, bool raise_only,
		       struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL, *chg = NULL;
	int r = link_get(sk, name, &l, err);

	if (r == -ENODEV)
		return zh_error_set(err, ENODEV, NULL, "interface \"%s\" does not exist", name);
	if (r < 0)
		return r;
	chg = rtnl_link_alloc();
	if (!chg)
		return zh_error_oom(err);
	rtnl_link_set_flags(chg, IFF_UP);
	if (mtu && (!raise_only || rtnl_link_get_mtu(l) < mtu))
		rtnl_link_set_mtu(chg, mtu);
	r = rtnl_link_change(sk, l, chg, 0);
	if (r < 0)
		return nl_fail(err, r, "cannot configure interface", name);
	return 0;
}

/* Name of the first non-bridge link whose address is mac. */
static int find_by_mac(struct nl_sock *sk, const char *mac, char out[NET_IFNAMSIZ],
		       struct zh_error *err)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	_cleanup_(nl_addr_putp) struct nl_addr *want = NULL;
	int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);

	if (r < 0)
		return zh_error_set(err, nl_to_errno(r), NULL, "cannot list interfaces: %s",
				    nl_geterror(r));
	if (nl_addr_parse(mac, AF_LLC, &want) < 0)
		return zh_error_set(err, EINVAL, "mac", "invalid MAC address \"%s\"", mac);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		struct nl_addr *a = rtnl_link_get_addr(l);

		if (a && !link_is_bridge(l) && nl_addr_cmp(a, want) == 0) {
			snprintf(out, NET_IFNAMSIZ, "%s", rtnl_link_get_name(l));
			return 0;
		}
	}
	return zh_error_set(err, ENODEV, "mac", "no interface has MAC address %s", mac);
}

/* -EBUSY with a message if the link has any address of global/site scope. */
static int check_no_addrs(struct nl_sock *sk, int ifindex, const char *name, struct zh_error *err)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(sk, &cache);

	if (r < 0)
		return zh_error_set(err, nl_to_errno(r), NULL, "cannot list addresses: %s",
				    nl_geterror(r));
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) == ifindex && rtnl_addr_get_scope(a) != RT_SCOPE_LINK)
			return zh_error_set(
				err, EBUSY, NULL,
				"interface \"%s\" has IP addresses: zonehost never "
				"takes the host's addresses away (put them on a bridge "
				"named after the tag and add the tag without an uplink)",
				name);
	}
	return 0;
}

/* ---- the records ---- */

static char *records_path(void)
{
	return paths_join(paths_config(), NICTAGS_FILE);
}

/* The whole file ({"version":1,"tags":{}} when there is none). */
static int records_load(json_t **out, struct zh_error *err)
{
	_cleanup_free_ char *path = records_path();
	json_t *tags;
	int r;

	if (!path)
		return zh_error_oom(err);
	if (!fsutil_exists(path)) {
		*out = json_pack("{s:i, s:{}}", "version", 1, "tags");
		return *out ? 0 : zh_error_oom(err);
	}
	r = jsonutil_load_file(path, NICTAGS_MAX, out, err);
	if (r < 0)
		return r;
	tags = json_object_get(*out, "tags");
	if (!json_is_object(tags) && json_object_set_new(*out, "tags", json_object()) < 0)
		return zh_error_oom(err);
	return 0;
}

static int records_store(const json_t *all, struct zh_error *err)
{
	_cleanup_free_ char *path = records_path();
	int r;

	if (!path)
		return zh_error_oom(err);
	r = fsutil_mkdir_p(paths_config(), 0755, err);
	if (r < 0)
		return r;
	return jsonutil_store_file(path, all, err);
}

static json_t *record_get(const json_t *all, const char *name)
{
	return json_object_get(json_object_get(all, "tags"), name);
}

static int tag_from_record(const char *name, const json_t *rec, struct net_nictag *t)
{
	const char *up = jsonutil_str(rec, "uplink"), *mac = jsonutil_str(rec, "mac");

	*t = (struct net_nictag){.mtu = (unsigned)json_integer_value(json_object_get(rec, "mtu"))};
	t->name = strdup(name);
	t->uplink = up ? strdup(up) : NULL;
	t->mac = mac ? strdup(mac) : NULL;
	if (!t->name || (up && !t->uplink) || (mac && !t->mac))
		return -ENOMEM;
	return 0;
}

static void tag_clear(struct net_nictag *t)
{
	free(t->name);
	free(t->uplink);
	free(t->mac);
	*t = (struct net_nictag){0};
}

void net_nictags_free(struct net_nictag *tags, size_t n)
{
	for (size_t i = 0; tags && i < n; i++)
		tag_clear(&tags[i]);
	free(tags);
}

static int cmp_tag(const void *a, const void *b)
{
	return strcmp(((const struct net_nictag *)a)->name, ((const struct net_nictag *)b)->name);
}

/* The live MAC of an uplink named by interface (list shows it). */
static void fill_live_mac(struct nl_sock *sk, struct net_nictag *t)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;
	struct nl_addr *a;
	char buf[64];

	if (t->mac || !t->uplink || !sk || link_get(sk, t->uplink, &l, &ignored) < 0) {
		zh_error_clear(&ignored);
		return;
	}
	a = rtnl_link_get_addr(l);
	if (a && nl_addr2str(a, buf, sizeof(buf)))
		t->mac = strdup(buf);
}

int net_nictag_list(struct net_nictag **tags, size_t *n, struct zh_error *err)
{
	_cleanup_json_ json_t *all = NULL;
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;
	struct net_nictag *v;
	const char *name;
	json_t *rec;
	size_t i = 0;
	int r = records_load(&all, err);

	if (r < 0)
		return r;
	v = calloc(json_object_size(json_object_get(all, "tags")) + 1, sizeof(*v));
	if (!v)
		return zh_error_oom(err);
	if (nl_open(&sk, &ignored) < 0)
		zh_error_clear(&ignored);
	json_object_foreach (json_object_get(all, "tags"), name, rec) {
		if (tag_from_record(name, rec, &v[i++]) < 0) {
			net_nictags_free(v, i);
			return zh_error_oom(err);
		}
		fill_live_mac(sk, &v[i - 1]);
	}
	qsort(v, i, sizeof(*v), cmp_tag);
	*tags = v;
	*n = i;
	return 0;
}

bool net_nictag_exists(const char *name)
{
	_cleanup_json_ json_t *all = NULL;
	struct zh_error err = ZH_ERROR_INIT;

	if (!net_nictag_name_valid(name))
		return false;
	if (records_load(&all, &err) < 0) {
		zh_error_clear(&err);
		return false;
	}
	return record_get(all, name) != NULL;
}

/* ---- bridges and uplinks ---- */

/* The uplink's interface name: by MAC when given, else by name; checked. */
static int uplink_resolve(struct nl_sock *sk, const char *tag, const char *uplink, const char *mac,
			  char out[NET_IFNAMSIZ], struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	int r;

	if (mac)
		r = find_by_mac(sk, mac, out, err);
	else if (strlen(uplink) >= NET_IFNAMSIZ)
		r = zh_error_set(err, EINVAL, "uplink", "invalid interface name \"%s\"", uplink);
	else
		r = snprintf(out, NET_IFNAMSIZ, "%s", uplink) < 0 ? -EINVAL : 0;
	if (r < 0)
		return r;
	r = link_get(sk, out, &l, err);
	if (r == -ENODEV)
		return zh_error_set(err, ENODEV, "uplink", "interface \"%s\" does not exist", out);
	if (r < 0)
		return r;
	if (link_is_bridge(l) || (rtnl_link_get_flags(l) & IFF_LOOPBACK) || streq(out, tag))
		return zh_error_set(err, EINVAL, "uplink",
				    "interface \"%s\" cannot be the uplink of a nic tag", out);
	return check_no_addrs(sk, rtnl_link_get_ifindex(l), out, err);
}

/* Make uplink a port of bridge (if it is a port of another master: -EBUSY). */
static int uplink_attach(struct nl_sock *sk, const char *bridge, const char *uplink, unsigned mtu,
			 struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL, *up = NULL;
	int r = link_get(sk, bridge, &br, err);

	if (r == -ENODEV)
		return zh_error_set(err, ENODEV, NULL, "bridge \"%s\" vanished", bridge);
	if (r == 0)
		r = link_get(sk, uplink, &up, err);
	if (r == -ENODEV)
		return zh_error_set(err, ENODEV, NULL, "interface \"%s\" vanished", uplink);
	if (r < 0)
		return r;
	if (rtnl_link_get_master(up) && rtnl_link_get_master(up) != rtnl_link_get_ifindex(br))
		return zh_error_set(err, EBUSY, "uplink",
				    "interface \"%s\" is already a port of another device", uplink);
	if (!rtnl_link_get_master(up)) {
		r = rtnl_link_enslave_ifindex(sk, rtnl_link_get_ifindex(br),
					      rtnl_link_get_ifindex(up));
		if (r < 0)
			return nl_fail(err, r, "cannot add to the bridge the interface", uplink);
	}
	return link_up_mtu(sk, uplink, mtu, true, err);
}

/* Release uplink from bridge if it is a port of it (else nothing). */
static void uplink_detach(struct nl_sock *sk, const char *bridge, const char *uplink)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *br = NULL, *up = NULL;
	struct zh_error ignored = ZH_ERROR_INIT;

	if (uplink && link_get(sk, bridge, &br, &ignored) == 0 &&
	    link_get(sk, uplink, &up, &ignored) == 0 &&
	    rtnl_link_get_master(up) == rtnl_link_get_ifindex(br))
		rtnl_link_release_ifindex(sk, rtnl_link_get_ifindex(up));
	zh_error_clear(&ignored);
}

static int bridge_create(struct nl_sock *sk, const char *name, unsigned mtu, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_bridge_alloc();
	int r;

	if (!l)
		return zh_error_oom(err);
	rtnl_link_set_name(l, name);
	if (mtu)
		rtnl_link_set_mtu(l, mtu);
	rtnl_link_set_flags(l, IFF_UP);
	r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		return nl_fail(err, r, "cannot create bridge", name);
	return link_up_mtu(sk, name, mtu, false, err);
}

static int bridge_delete(struct nl_sock *sk, const char *name, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	int r = link_get(sk, name, &l, err);

	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	if (!link_is_bridge(l))
		return 0; /* not ours: never remove a foreign interface */
	r = rtnl_link_delete(sk, l);
	if (r < 0 && nl_to_errno(r) != ENODEV)
		return nl_fail(err, r, "cannot remove bridge", name);
	return 0;
}

/*
 * Does interface name exist, and is it a bridge?  0 = absent, 1 = bridge;
 * an existing non-bridge interface is an error naming the tag.
 */
static int bridge_probe(struct nl_sock *sk, const char *name, struct zh_error *err)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
	int r = link_get(sk, name, &l, err);

	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return r;
	if (!link_is_bridge(l))
		return zh_error_set(err, EEXIST, "name",
				    "invalid nic tag name \"%s\": interface \"%s\" exists and "
				    "is not a bridge",
				    name, name);
	return 1;
}

/* The recorded tag's bridge: created if missing (unless adopted), up. */
static int bridge_realize(struct nl_sock *sk, const char *name, const json_t *rec,
			  struct zh_error *err)
{
	unsigned mtu = (unsigned)json_integer_value(json_object_get(rec, "mtu"));
	int r = bridge_probe(sk, name, err);

	if (r == 0 && json_is_true(json_object_get(rec, "adopted")))
		return zh_error_set(err, ENODEV, NULL, "bridge \"%s\" of nic tag \"%s\" is missing",
				    name, name);
	if (r == 0)
		return bridge_create(sk, name, mtu, err);
	if (r > 0)
		return link_up_mtu(sk, name, mtu, false, err);
	return r;
}

/* Bring the recorded tag's bridge and uplink to life (create if missing). */
static int tag_realize(struct nl_sock *sk, const char *name, const json_t *rec,
		       struct zh_error *err)
{
	const char *uplink = jsonutil_str(rec, "uplink"), *mac = jsonutil_str(rec, "mac");
	unsigned mtu = (unsigned)json_integer_value(json_object_get(rec, "mtu"));
	char up[NET_IFNAMSIZ];
	int r = bridge_realize(sk, name, rec, err);

	if (r < 0 || (!uplink && !mac))
		return r;
	r = uplink_resolve(sk, name, uplink, mac, up, err);
	if (r < 0)
		return r;
	return uplink_attach(sk, name, up, mtu, err);
}

/* ---- add / update / delete / ensure ---- */

static int check_args(const struct net_nictag *t, char mac[MAC_STRLEN], struct zh_error *err)
{
	if (!net_nictag_name_valid(t->name))
		return zh_error_set(err, EINVAL, "name",
				    "invalid nic tag name \"%s\": must be 1-15 characters from "
				    "[A-Za-z0-9_]",
				    t->name ? t->name : "");
	if (t->mtu && (t->mtu < TAG_MTU_MIN || t->mtu > TAG_MTU_MAX))
		return zh_error_set(err, EINVAL, "mtu", "invalid MTU %u: must be %d to %d", t->mtu,
				    TAG_MTU_MIN, TAG_MTU_MAX);
	mac[0] = '\0';
	if (t->mac && !mac_normalize(t->mac, mac))
		return zh_error_set(err, EINVAL, "mac", "invalid MAC address \"%s\"", t->mac);
	return 0;
}

static json_t *record_new(const struct net_nictag *t, const char *uplink, const char *mac,
			  bool adopted)
{
	json_t *rec = json_object();

	if (!rec)
		return NULL;
	if ((uplink && json_object_set_new(rec, "uplink", json_string(uplink)) < 0) ||
	    (mac && *mac && json_object_set_new(rec, "mac", json_string(mac)) < 0) ||
	    (t->mtu && json_object_set_new(rec, "mtu", json_integer(t->mtu)) < 0) ||
	    (adopted && json_object_set_new(rec, "adopted", json_true()) < 0)) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* Create (or adopt) the bridge, attach the uplink; on failure undo. */
static int add_link(struct nl_sock *sk, const struct net_nictag *t, const char *up, bool adopted,
		    struct zh_error *err)
{
	int r;

	if (!adopted)
		r = bridge_create(sk, t->name, t->mtu, err);
	else
		r = link_up_mtu(sk, t->name, t->mtu, false, err);
	if (r < 0)
		return r;
	if (up && (r = uplink_attach(sk, t->name, up, t->mtu, err)) < 0) {
		struct zh_error ignored = ZH_ERROR_INIT;

		if (!adopted)
			bridge_delete(sk, t->name, &ignored);
		zh_error_clear(&ignored);
		return r;
	}
	return 0;
}

static int add_locked(const struct net_nictag *t, const char *mac, struct zh_error *err)
{
	_cleanup_json_ json_t *all = NULL, *rec = NULL;
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	char up[NET_IFNAMSIZ];
	bool has_up = t->uplink || *mac;
	int adopted, r = records_load(&all, err);

	if (r < 0)
		return r;
	if (record_get(all, t->name))
		return zh_error_set(err, EEXIST, "name", "nic tag \"%s\" already exists", t->name);
	if ((r = nl_open(&sk, err)) < 0)
		return r;
	adopted = bridge_probe(sk, t->name, err);
	if (adopted < 0)
		return adopted;
	if (has_up && (r = uplink_resolve(sk, t->name, t->uplink, *mac ? mac : NULL, up, err)) < 0)
		return r;
	rec = record_new(t, has_up ? up : NULL, mac, adopted);
	if (!rec || json_object_set(json_object_get(all, "tags"), t->name, rec) < 0)
		return zh_error_oom(err);
	r = add_link(sk, t, has_up ? up : NULL, adopted, err);
	if (r < 0)
		return r;
	r = records_store(all, err);
	if (r < 0) {
		struct zh_error ignored = ZH_ERROR_INIT;

		if (!adopted)
			bridge_delete(sk, t->name, &ignored);
		else
			uplink_detach(sk, t->name, has_up ? up : NULL);
		zh_error_clear(&ignored);
	}
	return r;
}

int net_nictag_add(const struct net_nictag *t, struct zh_error *err)
{
	_cleanup_close_ int l = -EBADF;
	char mac[MAC_STRLEN];
	int r = check_args(t, mac, err);

	if (r < 0)
		return r;
	l = lock_take(NICTAGS_LOCK, err);
	if (l < 0)
		return l;
	return add_locked(t, mac, err);
}

/* Switch the tag's uplink to up (record updated by the caller). */
static int update_uplink(struct nl_sock *sk, const char *name, json_t *rec, const char *up,
			 const char *mac, struct zh_error *err)
{
	const char *old = jsonutil_str(rec, "uplink");
	unsigned mtu = (unsigned)json_integer_value(json_object_get(rec, "mtu"));
	int r;

	if (!old && !jsonutil_str(rec, "mac"))
		return zh_error_set(err, EINVAL, "uplink",
				    "nic tag \"%s\" is an etherstub: it has no uplink", name);
	if (old && !streq(old, up))
		uplink_detach(sk, name, old);
	r = uplink_attach(sk, name, up, mtu, err);
	if (r < 0)
		return r;
	json_object_del(rec, "mac");
	if (json_object_set_new(rec, "uplink", json_string(up)) < 0 ||
	    (*mac && json_object_set_new(rec, "mac", json_string(mac)) < 0))
		return zh_error_oom(err);
	return 0;
}

static int update_mtu(struct nl_sock *sk, const char *name, json_t *rec, unsigned mtu,
		      struct zh_error *err)
{
	const char *up = jsonutil_str(rec, "uplink");
	int r = link_up_mtu(sk, name, mtu, false, err);

	if (r < 0 || (up && (r = link_up_mtu(sk, up, mtu, true, err)) < 0))
		return r;
	return json_object_set_new(rec, "mtu", json_integer(mtu)) < 0 ? zh_error_oom(err) : 0;
}

static int update_locked(const struct net_nictag *t, const char *mac, struct zh_error *err)
{
	_cleanup_json_ json_t *all = NULL;
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	char up[NET_IFNAMSIZ];
	json_t *rec;
	int r = records_load(&all, err);

	if (r < 0)
		return r;
	rec = record_get(all, t->name);
	if (!rec)
		return zh_error_set(err, ENOENT, "name", "nic tag \"%s\" does not exist", t->name);
	if ((r = nl_open(&sk, err)) < 0 || (r = bridge_realize(sk, t->name, rec, err)) < 0)
		return r;
	if (t->uplink || *mac) {
		r = uplink_resolve(sk, t->name, t->uplink, *mac ? mac : NULL, up, err);
		if (r < 0 || (r = update_uplink(sk, t->name, rec, up, mac, err)) < 0)
			return r;
	}
	if (t->mtu && (r = update_mtu(sk, t->name, rec, t->mtu, err)) < 0)
		return r;
	return records_store(all, err);
}

int net_nictag_update(const struct net_nictag *t, struct zh_error *err)
{
	_cleanup_close_ int l = -EBADF;
	char mac[MAC_STRLEN];
	int r = check_args(t, mac, err);

	if (r < 0)
		return r;
	l = lock_take(NICTAGS_LOCK, err);
	if (l < 0)
		return l;
	return update_locked(t, mac, err);
}

static int delete_locked(const char *name, struct zh_error *err)
{
	_cleanup_json_ json_t *all = NULL;
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	json_t *rec;
	int r = records_load(&all, err);

	if (r < 0)
		return r;
	rec = record_get(all, name);
	if (!rec)
		return zh_error_set(err, ENOENT, "name", "nic tag \"%s\" does not exist", name);
	if ((r = nl_open(&sk, err)) < 0)
		return r;
	if (json_is_true(json_object_get(rec, "adopted")))
		uplink_detach(sk, name, jsonutil_str(rec, "uplink"));
	else if ((r = bridge_delete(sk, name, err)) < 0)
		return r;
	json_object_del(json_object_get(all, "tags"), name);
	return records_store(all, err);
}

int net_nictag_delete(const char *name, struct zh_error *err)
{
	_cleanup_close_ int l = -EBADF;

	if (!net_nictag_name_valid(name))
		return zh_error_set(err, ENOENT, "name", "nic tag \"%s\" does not exist",
				    name ? name : "");
	l = lock_take(NICTAGS_LOCK, err);
	if (l < 0)
		return l;
	return delete_locked(name, err);
}

int net_nictags_ensure(struct zh_error *err)
{
	_cleanup_close_ int l = lock_take(NICTAGS_LOCK, err);
	_cleanup_json_ json_t *all = NULL;
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	struct zh_error e = ZH_ERROR_INIT;
	const char *name;
	json_t *rec;
	int r, first = 0;

	if (l < 0)
		return l;
	if ((r = records_load(&all, err)) < 0 || (r = nl_open(&sk, err)) < 0)
		return r;
	json_object_foreach (json_object_get(all, "tags"), name, rec) {
		r = net_nictag_name_valid(name) ? tag_realize(sk, name, rec, &e) : 0;
		if (r < 0 && !first) {
			zh_error_prefix(&e, "nic tag \"%s\"", name);
			first = zh_error_set(err, e.errnum, e.prop, "%s", e.msg);
		}
		zh_error_clear(&e);
	}
	return first;
}

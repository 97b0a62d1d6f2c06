/*
 * props.c - the vmadm property table and its type checks.
 *
 * Owns: the static table `props` (docs/properties.md, from SmartOS's
 * proptable.js), the brand feature table `brands`, and the value
 * checks of vmadm's validateProperty.  Does not own the pipeline (vmcfg.c)
 * nor any semantic check that spans several properties (vmcfg;
 * docs/architecture.md §4).
 *
 *     const struct props_prop *p = props_lookup("nics.*.vlan_id");
 *     props_value_ok(p, json_integer(5000));    -> false (max 4095)
 *
 * Invariants: names are unique; sub-properties are "<base>.*.<sub>" and
 * use only the update/add masks; PROPS_RO entries have empty masks.
 * PROPS_F_DERIVED marks what `vmadm get` computes at read time (state,
 * paths, host facts): the one list of fields never stored (vmstore.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "signame.h"
#include "macro.h"
#include "props.h"
#include "util.h"

#define ALL   PROPS_B_ALL
#define OS    PROPS_B_OS
#define HVM   PROPS_B_HVM
#define K     PROPS_B_KVM
#define H     PROPS_B_BHYVE
#define L     PROPS_B_LX
#define ML    (PROPS_B_MINIMAL | PROPS_B_LX)
#define JMBLK (PROPS_B_OS | PROPS_B_KVM)

#define S  PROPS_STRING
#define I  PROPS_INTEGER
#define BO PROPS_BOOLEAN
#define U  PROPS_UUID
#define LI PROPS_LIST
#define FO PROPS_FLAT_OBJECT
#define OA PROPS_OBJECT_ARRAY
#define ZP PROPS_ZPOOL

#define DEP  PROPS_F_DEPRECATED
#define NOLX PROPS_F_NO_LINUX
#define UPD  PROPS_F_UPDATABLE
#define LIVE PROPS_F_LIVE
#define HOST PROPS_F_HOST
#define DRV  PROPS_F_DERIVED
#define CG   (PROPS_F_CGROUP | PROPS_F_LIVE)

/* Top-level property allowed in create / receive / update. */
#define TOP(n, t, c, r, u, ...)                                                           \
	{                                                                                 \
		.name = n, .type = t, .create = c, .receive = r, .update = u, __VA_ARGS__ \
	}
/* Sub-property: allowed in update_* (u) and in the base array/add_* (a). */
#define SUB(n, t, u, a, ...)                                             \
	{                                                                \
		.name = n, .type = t, .update = u, .add = a, __VA_ARGS__ \
	}
#define RO(n, ...)                                       \
	{                                                \
		.name = n, .type = PROPS_RO, __VA_ARGS__ \
	}
#define MIN(x) .has_min = true, .min = (x)
#define MAX(x) .has_max = true, .max = (x)

static const struct props_prop props[] = {
	TOP("add_disks", OA, 0, 0, HVM, .note = "as disks"),
	TOP("add_filesystems", OA, 0, 0, JMBLK, .note = "as filesystems"),
	TOP("add_nics", OA, 0, 0, ALL, .note = "as nics; mac generated if absent"),
	TOP("add_pci_devices", OA, H, H, H, .note = "as pci_devices"),
	TOP("alias", S, ALL, ALL, ALL, .note = "display name only"),
	RO("allowed_address"),
	RO("app_svc_dependent"),
	TOP("archive_on_delete", BO, ALL, ALL, ALL, .def = "false"),
	TOP("autoboot", BO, ALL, ALL, ALL, .def = "true",
	    .note = "set true by start, false by stop"),
	TOP("bhyve_extra_opts", S, H, H, H, .flags = HOST),
	TOP("billing_id", S, ALL, ALL, ALL, .def = "00000000-0000-0000-0000-000000000000"),
	TOP("boot", S, HVM, HVM, HVM, .def = "order=cd"),
	RO("boot_timestamp", .flags = DRV),
	TOP("bootrom", S, H, H, H, .def = "bios"),
	TOP("brand", S, ALL, ALL, 0, .req_create = JMBLK, .req_receive = JMBLK, .def = "joyent",
	    .note = "joyent, joyent-minimal, builder, lx, kvm, bhyve"),
	TOP("com1", S, H, H, H, .def = "/dev/zconsole"),
	TOP("com2", S, H, H, H, .def = "socket,/tmp/vm.ttyb"),
	TOP("cpu_cap", I, ALL, ALL, ALL, MIN(0), .flags = CG, .unit = "% of a CPU",
	    .note = "CFS quota; 0 = no cap"),
	TOP("cpu_shares", I, ALL, ALL, ALL, MIN(0), .flags = CG, .def = "100",
	    .note = "cgroup CPU weight; capped to 65535 at create"),
	TOP("cpu_type", S, K, K, K, .def = "qemu64"),
	TOP("create_only", BO, 0, ALL, 0),
	TOP("create_timestamp", S, 0, ALL, 0, .note = "set by create"),
	TOP("customer_metadata", FO, ALL, ALL, 0, .def = "{}",
	    .note = "update via set_/remove_customer_metadata"),
	RO("datacenter_name"),
	TOP("dataset_uuid", U, OS, OS, 0, .flags = DEP, .note = "renamed to image_uuid"),
	TOP("datasets", LI, 0, ALL, 0, .flags = HOST, .note = "datasets of the host delegated"),
	RO("debug_id"),
	RO("default_gateway", .flags = DEP),
	TOP("delegate_dataset", BO, OS, OS, 0, .def = "false",
	    .note = "btrfs subvolume <zfs_filesystem>/data"),
	TOP("disk_driver", S, HVM, HVM, HVM),
	TOP("disks", OA, HVM, HVM, 0, .def = "[]", .note = "update via add_/update_/remove_disks"),
	SUB("disks.*.block_size", I, 0, HVM, MIN(0)),
	SUB("disks.*.boot", BO, HVM, HVM, .flags = UPD, .def = "false"),
	SUB("disks.*.compression", S, HVM, HVM, .flags = NOLX, .def = "off"),
	SUB("disks.*.dangerous_allow_shrink", BO, H, 0),
	SUB("disks.*.guest_block_size", S, H, H, .flags = UPD),
	SUB("disks.*.image_name", S, K, K, .flags = DEP),
	SUB("disks.*.image_size", I, 0, HVM, MIN(0), .unit = "MiB"),
	SUB("disks.*.image_uuid", U, 0, HVM),
	SUB("disks.*.media", S, HVM, HVM, .def = "disk"),
	SUB("disks.*.model", S, HVM, HVM, .flags = UPD),
	SUB("disks.*.nocreate", BO, 0, HVM),
	SUB("disks.*.notrim", BO, H, H, .flags = UPD),
	SUB("disks.*.path", S, HVM, HVM, .flags = HOST),
	SUB("disks.*.pci_slot", S, H, H, .flags = UPD),
	SUB("disks.*.refreservation", I, HVM, HVM, MIN(0), .unit = "MiB"),
	SUB("disks.*.size", I, H, HVM, MIN(0), .unit = "MiB"),
	SUB("disks.*.uuid", U, H, H, .flags = UPD),
	{.name = "disks.*.zfs_filesystem", .type = S, .receive = HVM},
	RO("disks.*.zonexml_size"),
	SUB("disks.*.zpool", S, 0, HVM),
	TOP("dns_domain", S, OS, OS, OS, .def = "local", .note = "written to /etc/hosts at create"),
	TOP("do_not_inventory", BO, ALL, ALL, ALL, .def = "false"),
	TOP("docker", BO, ML, ML, ML, .def = "false"),
	RO("exit_status", .flags = DRV),
	RO("exit_timestamp", .flags = DRV),
	RO("failed"),
	RO("failed_reason", .flags = DRV,
	   .note = "zonehost extension: why the last start failed "
		   "(state failed)"),
	TOP("filesystems", OA, OS, OS, 0, .flags = HOST,
	    .note = "update via add_/update_/remove_filesystems"),
	SUB("filesystems.*.options", LI, OS, OS, .flags = UPD),
	SUB("filesystems.*.raw", S, OS, OS, .flags = UPD | NOLX),
	SUB("filesystems.*.source", S, OS, OS, .flags = UPD),
	SUB("filesystems.*.target", S, OS, OS, .flags = UPD),
	SUB("filesystems.*.type", S, OS, OS, .flags = UPD),
	TOP("firewall_enabled", BO, ALL, ALL, ALL, .def = "false"),
	TOP("flexible_disk_size", I, H, H, H, MIN(0), .flags = LIVE, .unit = "MiB"),
	RO("free_space"),
	TOP("fs_allowed", LI, OS, OS, OS, .flags = NOLX | PROPS_F_JOINED,
	    .note = "stored as a comma string"),
	TOP("halt_signal", S, OS, OS, OS, .valid = props_valid_signal, .def = "from init",
	    .note = "zonehost extension: signal `vmadm stop` sends the zone's init "
		    "(e.g. SIGUSR2, SIGRTMIN+4); default from the image's init: "
		    "busybox SIGUSR2, systemd SIGRTMIN+4, else SIGTERM"),
	RO("headnode_id"),
	TOP("hostname", S, ALL, ALL, ALL, .note = "zonename when unset; written at create"),
	RO("hvm", .flags = DRV),
	TOP("image_uuid", U, ALL, ALL, 0, .req_create = OS, .req_receive = OS,
	    .note = "installed image of a type the brand accepts"),
	TOP("indestructible_delegated", BO, ALL, ALL, ALL, .def = "false"),
	TOP("indestructible_zoneroot", BO, ALL, ALL, ALL, .def = "false"),
	TOP("init_name", S, OS, OS, OS),
	RO("init_restarts"),
	TOP("internal_metadata", FO, ALL, ALL, 0, .def = "{}",
	    .note = "update via set_/remove_internal_metadata"),
	TOP("internal_metadata_namespaces", LI, ALL, ALL, ALL, .valid = props_valid_attr_value),
	RO("ip_type"),
	TOP("kernel_version", S, L, L, L, .req_create = L, .req_receive = L, .note = "e.g. 3.13.0"),
	RO("last_modified", .flags = DRV),
	TOP("limit_priv", LI, ALL, ALL, ALL, .flags = NOLX | PROPS_F_JOINED, .def = "default",
	    .note = "illumos privileges; stored as a comma string"),
	TOP("maintain_resolvers", BO, OS, OS, OS, .def = "false"),
	TOP("max_locked_memory", I, ALL, ALL, ALL, MIN(0), .def = "max_physical_memory",
	    .unit = "MiB",
	    .note = "<= max_physical_memory; init's RLIMIT_MEMLOCK: applies at the next boot"),
	TOP("max_lwps", I, ALL, ALL, ALL, MIN(0), .flags = CG, .def = "2000", .note = "pids limit"),
	TOP("max_msg_ids", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "4096"),
	TOP("max_physical_memory", I, ALL, ALL, ALL, MIN(0), .flags = CG, .def = "ram",
	    .unit = "MiB", .note = "memory limit"),
	TOP("max_sem_ids", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "4096"),
	TOP("max_shm_ids", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "4096"),
	TOP("max_shm_memory", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "max_physical_memory",
	    .unit = "MiB"),
	TOP("max_swap", I, ALL, ALL, ALL, MIN(256), .flags = CG,
	    .def = "max(max_physical_memory, 256)", .unit = "MiB",
	    .note = "memory+swap limit; >= max_physical_memory"),
	TOP("mdata_exec_timeout", I, OS, 0, 0, MIN(0), .def = "300", .unit = "s"),
	RO("missing"),
	TOP("nic_driver", S, HVM, HVM, HVM),
	TOP("nics", OA, ALL, ALL, 0, .def = "[]", .note = "update via add_/update_/remove_nics"),
	SUB("nics.*.allow_dhcp_spoofing", BO, ALL, ALL, .flags = UPD | HOST, .def = "false",
	    .note = "lets DHCP(v6) server traffic out (to client ports, server replies); "
		    "implies allow_ip_spoofing"),
	SUB("nics.*.allow_ip_spoofing", BO, ALL, ALL, .flags = UPD | HOST, .def = "false",
	    .note = "lets out any source IP, router advertisements and redirects, "
		    "NA/DAD for others' addresses"),
	SUB("nics.*.allow_mac_spoofing", BO, ALL, ALL, .flags = UPD | HOST, .def = "false",
	    .note = "lets out any source MAC, ARP sender and ND link-layer address"),
	SUB("nics.*.allow_restricted_traffic", BO, ALL, ALL, .flags = UPD | HOST, .def = "false",
	    .note = "lets out ethertypes other than IPv4, ARP, IPv6 (unchecked)"),
	SUB("nics.*.allow_unfiltered_promisc", BO, HVM, HVM, .flags = UPD | HOST, .def = "false"),
	SUB("nics.*.allowed_dhcp_cids", LI, JMBLK, JMBLK, .valid = props_valid_cid),
	SUB("nics.*.allowed_ips", LI, ALL, ALL, .note = "at most 13"),
	SUB("nics.*.blocked_outgoing_ports", LI, ALL, ALL, .flags = UPD),
	SUB("nics.*.dhcp_server", BO, ALL, ALL, .flags = UPD | DEP, .def = "false"),
	SUB("nics.*.gateway", S, ALL, ALL, .flags = UPD | DEP, .note = "-> gateways"),
	SUB("nics.*.gateways", LI, ALL, ALL, .flags = UPD),
	SUB("nics.*.interface", S, ALL, ALL, .def = "net<N> (lx: eth<N>)"),
	SUB("nics.*.ip", S, ALL, ALL, .flags = UPD | DEP, .note = "-> ips"),
	SUB("nics.*.ips", LI, ALL, ALL, .flags = UPD, .note = "dhcp, addrconf or CIDR"),
	SUB("nics.*.mac", S, ALL, ALL, .flags = UPD, .valid = props_valid_mac, .def = "generated"),
	SUB("nics.*.model", S, HVM, HVM, .flags = UPD),
	SUB("nics.*.mtu", I, ALL, ALL, MIN(576), MAX(9000), .flags = UPD),
	SUB("nics.*.netmask", S, ALL, ALL, .flags = UPD | DEP),
	SUB("nics.*.network_uuid", U, ALL, ALL, .flags = UPD),
	SUB("nics.*.nic_tag", S, ALL, ALL, .flags = UPD, .note = "bridge name; required"),
	SUB("nics.*.primary", BO, ALL, ALL, .flags = UPD, .def = "first NIC"),
	SUB("nics.*.vlan_id", I, ALL, ALL, MIN(0), MAX(4095), .flags = UPD, .def = "0"),
	SUB("nics.*.vrrp_primary_ip", S, ALL, ALL, .flags = UPD),
	SUB("nics.*.vrrp_vrid", I, ALL, ALL, MIN(0), MAX(255), .flags = UPD),
	TOP("nowait", BO, OS, OS, 0, .def = "false"),
	TOP("oci_bundle", S, L, L, 0, .flags = HOST,
	    .note = "zonehost extension: the OCI bundle of a container made by zonehost-runc "
		    "(docker must be true); its root.path is the zone's /, no image"),
	TOP("owner_uuid", S, ALL, ALL, ALL, .def = "00000000-0000-0000-0000-000000000000"),
	TOP("package_name", S, JMBLK, JMBLK, JMBLK, .flags = DEP),
	TOP("package_version", S, JMBLK, JMBLK, JMBLK, .flags = DEP),
	TOP("pci_devices", OA, H, H, H, .flags = HOST),
	SUB("pci_devices.*.model", S, 0, H, .note = "passthru only"),
	SUB("pci_devices.*.path", S, H, H),
	SUB("pci_devices.*.pci_slot", S, H, H, .flags = UPD),
	RO("pid", .flags = DRV),
	RO("platform_buildstamp", .flags = DRV),
	RO("provisioning"),
	TOP("qemu_extra_opts", S, K, K, K, .flags = HOST),
	TOP("qemu_opts", S, K, K, K, .flags = HOST),
	TOP("quota", I, ALL, ALL, ALL, MIN(0), .flags = LIVE, .def = "10 (bhyve 1)", .unit = "GiB",
	    .note = "btrfs qgroup limit; 0 = none"),
	TOP("ram", I, ALL, ALL, ALL, MIN(0), .def = "256", .unit = "MiB",
	    .note = "OS brands: sets max_physical_memory, not stored"),
	TOP("reboot_signal", S, OS, OS, OS, .valid = props_valid_signal, .def = "from init",
	    .note = "zonehost extension: signal `vmadm reboot` sends the zone's "
		    "init; default busybox SIGTERM, systemd SIGINT, else SIGTERM"),
	TOP("remove_customer_metadata", LI, 0, 0, ALL),
	TOP("remove_disks", LI, 0, 0, HVM),
	TOP("remove_filesystems", LI, 0, 0, ALL),
	TOP("remove_internal_metadata", LI, 0, 0, ALL),
	TOP("remove_nics", LI, 0, 0, ALL),
	TOP("remove_pci_devices", LI, 0, 0, H),
	TOP("remove_routes", LI, 0, 0, ALL),
	TOP("remove_tags", LI, 0, 0, ALL),
	TOP("resolvers", LI, ALL, ALL, ALL, .valid = props_valid_ip, .def = "[]"),
	TOP("restart_init", BO, OS, OS, OS, .def = "true"),
	TOP("routes", FO, ALL, ALL, 0, .def = "{}",
	    .note = "dst -> gw; update via set_/remove_routes"),
	RO("server_uuid", .flags = DRV),
	TOP("set_customer_metadata", FO, 0, 0, ALL),
	TOP("set_internal_metadata", FO, 0, 0, ALL),
	TOP("set_routes", FO, 0, 0, ALL),
	TOP("set_tags", FO, 0, 0, ALL),
	RO("snapshots", .flags = DRV),
	TOP("spice_opts", S, K, K, K, .flags = HOST),
	TOP("spice_password", S, K, K, K),
	TOP("spice_port", I, K, K, K, MIN(-1)),
	RO("state", .flags = DRV),
	TOP("tags", FO, ALL, ALL, 0, .def = "{}", .note = "update via set_tags/remove_tags"),
	TOP("tmpfs", I, OS, OS, OS, MIN(0), .flags = PROPS_F_KEEP_ZERO,
	    .def = "max_physical_memory", .unit = "MiB", .note = "size of /tmp; 0 = no tmpfs"),
	TOP("transition", FO, 0, ALL, 0),
	RO("transition_expire", .flags = DRV),
	RO("transition_to", .flags = DRV),
	RO("type", .flags = DRV),
	TOP("update_disks", OA, 0, 0, HVM, .note = "as disks"),
	TOP("update_filesystems", OA, 0, 0, JMBLK, .note = "as filesystems"),
	TOP("update_nics", OA, 0, 0, ALL, .note = "as nics, keyed on mac"),
	TOP("update_pci_devices", OA, 0, 0, H, .note = "as pci_devices"),
	TOP("uuid", U, ALL, ALL, 0, .def = "generated"),
	TOP("v", I, 0, ALL, 0, MIN(0), .def = "1"),
	TOP("vcpus", I, HVM, HVM, HVM, MIN(1), .def = "1"),
	TOP("vga", S, K, K, K, .def = "std"),
	TOP("virtio_txburst", I, K, K, K, MIN(0), .def = "128"),
	TOP("virtio_txtimer", I, K, K, K, MIN(0), .def = "200000", .unit = "ns"),
	RO("vm_autoboot"),
	TOP("vnc_password", S, HVM, HVM, HVM, .note = "at most 8 characters"),
	TOP("vnc_port", I, HVM, HVM, HVM, MIN(-1), MAX(65535), .def = "0"),
	TOP("zfs_data_compression", S, OS, OS, OS, .flags = NOLX, .def = "off"),
	TOP("zfs_data_recsize", I, OS, OS, OS, MIN(0), .flags = NOLX, .def = "131072",
	    .unit = "bytes"),
	TOP("zfs_filesystem", S, 0, ALL, 0, .flags = DRV),
	TOP("zfs_filesystem_limit", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "none"),
	TOP("zfs_io_priority", I, ALL, ALL, ALL, MIN(0), .flags = CG, .def = "100",
	    .note = "IO weight"),
	TOP("zfs_root_compression", S, ALL, ALL, ALL, .flags = NOLX, .def = "off"),
	TOP("zfs_root_recsize", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "131072",
	    .unit = "bytes"),
	TOP("zfs_snapshot_limit", I, ALL, ALL, ALL, MIN(0), .flags = NOLX, .def = "none"),
	TOP("zfs_storage_pool_name", ZP, JMBLK, JMBLK, 0, .flags = DEP, .note = "renamed to zpool"),
	TOP("zlog_max_size", I, OS, OS, OS, MIN(0), MAX(INT64_MAX), .unit = "bytes"),
	RO("zlog_mode"),
	RO("zlog_name"),
	TOP("zone_dataset_uuid", U, HVM, HVM, 0, .flags = DEP, .note = "renamed to image_uuid"),
	RO("zone_state", .flags = DRV),
	RO("zonedid", .flags = DRV),
	RO("zonehost_id_base",
	   .note = "zonehost extension: first host uid/gid of the zone's 65,536 ids; "
		   "allocated at create (or first start), never shared"),
	RO("zoneid", .flags = DRV),
	TOP("zonename", S, ALL, ALL, 0, .def = "uuid"),
	RO("zonepath", .flags = DRV),
	TOP("zpool", ZP, ALL, ALL, 0, .def = "zones", .note = "pool name"),
};

static const char *const os_images[] = {"zone-dataset", NULL};
static const char *const lx_images[] = {"docker", "lx-dataset", NULL};

static const char hvm_priv[] = "default,-file_link_any,-net_access,"
			       "-proc_fork,-proc_info,-proc_session";

static const struct props_brand brands[] = {
	{"joyent", PROPS_B_JOYENT, false, true, 0, 10, "default", "net", os_images},
	{"joyent-minimal", PROPS_B_MINIMAL, false, true, 0, 10, "default", "net", os_images},
	{"builder", PROPS_B_BUILDER, false, true, 0, 10, "default", "net", os_images},
	{"lx", PROPS_B_LX, false, true, 0, 10, "default", "eth", lx_images},
	{"kvm", PROPS_B_KVM, true, false, 1024, 10, hvm_priv, "net", os_images},
	{"bhyve", PROPS_B_BHYVE, true, false, 1280, 1, hvm_priv, "net", NULL},
};

const struct props_prop *props_lookup(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(props); i++)
		if (streq(props[i].name, name))
			return &props[i];
	return NULL;
}

size_t props_count(void)
{
	return ARRAY_SIZE(props);
}

const struct props_prop *props_at(size_t i)
{
	return i < ARRAY_SIZE(props) ? &props[i] : NULL;
}

const struct props_brand *props_brand_get(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(brands); i++)
		if (streq(brands[i].name, name))
			return &brands[i];
	return NULL;
}

unsigned props_brand_bit(const char *name)
{
	const struct props_brand *b = props_brand_get(name);

	return b ? b->bit : 0;
}

static unsigned action_mask(const struct props_prop *p, enum props_action a)
{
	switch (a) {
	case PROPS_CREATE: return p->create;
	case PROPS_RECEIVE: return p->receive;
	case PROPS_UPDATE:
	case PROPS_UPDATE_SUB: return p->update;
	case PROPS_ADD: return p->add;
	}
	return 0;
}

bool props_allowed(const struct props_prop *p, unsigned b, enum props_action a)
{
	if (!p || p->type == PROPS_RO || !b)
		return false;
	return (action_mask(p, a) & b) != 0;
}

bool props_has_flags(const char *name, unsigned flags)
{
	const struct props_prop *p = props_lookup(name);

	return p && (p->flags & flags) == flags;
}

bool props_required(const struct props_prop *p, unsigned b, enum props_action a)
{
	if (a == PROPS_CREATE)
		return (p->req_create & b) != 0;
	if (a == PROPS_RECEIVE)
		return (p->req_receive & b) != 0;
	return false;
}

/* ---- validators ---- */

bool props_valid_ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

bool props_valid_ip(const char *s)
{
	struct in6_addr a;

	return props_valid_ipv4(s) || (s && inet_pton(AF_INET6, s, &a) == 1);
}

/* macaddr.parse: 6 octets of 1-2 hex digits separated by ':'. */
bool props_valid_mac(const char *s)
{
	int octets = 0, digits = 0;

	if (!s || !*s)
		return false;
	for (const char *p = s;; p++) {
		if (*p == ':' || *p == '\0') {
			if (digits == 0 || digits > 2)
				return false;
			octets++;
			digits = 0;
			if (*p == '\0')
				break;
		} else if (isxdigit((unsigned char)*p)) {
			digits++;
		} else {
			return false;
		}
	}
	return octets == 6;
}

bool props_valid_attr_value(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

bool props_valid_signal(const char *s)
{
	int sig;

	return signame_parse(s, &sig) == 0;
}

bool props_valid_cid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 4 || n > 512 || n % 2 || s[0] != '0' || s[1] != 'x')
		return false;
	for (size_t i = 2; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* ---- value checks ---- */

static bool is_unset(const json_t *v)
{
	return json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* Integer value of v (integer, integral real, or numeric string). */
static bool int_of(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);

		if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
			return false;
		*out = (int64_t)d;
		return true;
	}
	if (json_is_string(v))
		return util_parse_i64(json_string_value(v), out) == 0;
	return false;
}

static bool integer_ok(const struct props_prop *p, const json_t *v)
{
	int64_t n;

	if (!int_of(v, &n))
		return false;
	if (p->has_min && n < p->min)
		return false;
	return !(p->has_max && n > p->max);
}

int props_bool_loose(const json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_true(v))
		return 1;
	if (json_is_false(v))
		return 0;
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		return (int)json_integer_value(v);
	if (s && (streq(s, "true") || streq(s, "1")))
		return 1;
	if (s && (streq(s, "false") || streq(s, "0")))
		return 0;
	return -1;
}

static bool list_elem_ok(const struct props_prop *p, const json_t *e)
{
	const char *s = json_string_value(e);

	if (json_is_integer(e) || json_is_real(e))
		return !p->valid;
	if (!s || strchr(s, ','))
		return false;
	return !p->valid || p->valid(s);
}

static bool list_ok(const struct props_prop *p, const json_t *v)
{
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		_cleanup_strv_ char **parts = util_split(json_string_value(v), ',');

		if (!parts)
			return false;
		for (char **q = parts; *q; q++)
			if (p->valid && !p->valid(*q))
				return false;
		return true;
	}
	if (!json_is_array(v))
		return false;
	json_array_foreach (v, i, e)
		if (!list_elem_ok(p, e))
			return false;
	return true;
}

static bool flat_object_ok(const json_t *v)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return false;
	json_object_foreach ((json_t *)v, k, e)
		if (!json_is_string(e) && !json_is_number(e) && !json_is_boolean(e))
			return false;
	return true;
}

static bool object_array_ok(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach (v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

bool props_value_ok(const struct props_prop *p, const json_t *v)
{
	if (!p || !v)
		return false;
	if (is_unset(v))
		return p->type != PROPS_RO;
	switch (p->type) {
	case PROPS_STRING:
	case PROPS_ZPOOL: return json_is_string(v) && (!p->valid || p->valid(json_string_value(v)));
	case PROPS_INTEGER: return integer_ok(p, v);
	case PROPS_BOOLEAN: return props_bool_loose(v) >= 0;
	case PROPS_UUID: return util_is_uuid(json_string_value(v));
	case PROPS_LIST: return list_ok(p, v);
	case PROPS_FLAT_OBJECT: return flat_object_ok(v);
	case PROPS_OBJECT_ARRAY: return object_array_ok(v);
	case PROPS_RO: return false;
	}
	return false;
}

/* ---- coercion ---- */

static int coerce_integer(const json_t *v, json_t **out)
{
	int64_t n;
	char *end = NULL;
	const char *s = json_string_value(v);

	if (!s) {
		*out = json_deep_copy(v);
		return *out ? 0 : -ENOMEM;
	}
	if (util_parse_i64(s, &n) == 0) {
		*out = json_integer(n);
		return *out ? 0 : -ENOMEM;
	}
	errno = 0;
	double d = strtod(s, &end);
	if (errno || !end || *end || end == s || isspace((unsigned char)*s))
		return -EINVAL;
	*out = json_real(d);
	return *out ? 0 : -ENOMEM;
}

static json_t *split_list(const char *s)
{
	_cleanup_strv_ char **parts = util_split(s, ',');
	json_t *a = parts ? json_array() : NULL;

	if (!a)
		return NULL;
	for (char **q = parts; *q; q++)
		if (json_array_append_new(a, json_string(*q)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* JOINED lists: arrays -> "a,b"; strings stay. */
static json_t *join_list(const json_t *v)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, i;
	json_t *e;
	_cleanup_fclose_ FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_array_foreach (v, i, e) {
		const char *s = json_string_value(e);

		if (!s)
			return json_deep_copy(v);
		fprintf(f, "%s%s", i ? "," : "", s);
	}
	if (fclose(TAKE_PTR(f)) != 0)
		return NULL;
	return json_string(buf);
}

static int coerce_list(const struct props_prop *p, const json_t *v, json_t **out)
{
	if (p->flags & PROPS_F_JOINED)
		*out = json_is_array(v) ? join_list(v) : json_deep_copy(v);
	else if (json_is_string(v))
		*out = split_list(json_string_value(v));
	else
		*out = json_deep_copy(v);
	return *out ? 0 : -ENOMEM;
}

int props_coerce(const struct props_prop *p, const json_t *v, json_t **out)
{
	int b;

	*out = NULL;
	if (!v || is_unset(v))
		return 0;
	switch (p->type) {
	case PROPS_INTEGER: return coerce_integer(v, out);
	case PROPS_BOOLEAN:
		b = props_bool_loose(v);
		*out = b < 0 ? json_deep_copy(v) : json_boolean(b);
		break;
	case PROPS_LIST: return coerce_list(p, v, out);
	default: *out = json_deep_copy(v); break;
	}
	return *out ? 0 : -ENOMEM;
}

/* ---- docs ---- */

const char *props_brand_letters(unsigned m, char *buf, size_t len)
{
	static const char letters[] = "JMBLKH";
	size_t n = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (m == PROPS_B_ALL || m == PROPS_B_OS || m == PROPS_B_HVM) {
		snprintf(buf, len, "%s", m == PROPS_B_ALL ? "all" : m == PROPS_B_OS ? "OS" : "HVM");
		return buf;
	}
	for (unsigned i = 0; i < 6 && n + 1 < len; i++)
		if (m & (1u << i))
			buf[n++] = letters[i];
	buf[n] = '\0';
	return buf;
}

static const char *type_name(enum props_type t)
{
	static const char *const names[] = {
		[PROPS_STRING] = "string",
		[PROPS_INTEGER] = "integer",
		[PROPS_BOOLEAN] = "boolean",
		[PROPS_UUID] = "uuid",
		[PROPS_LIST] = "list",
		[PROPS_FLAT_OBJECT] = "flat-object",
		[PROPS_OBJECT_ARRAY] = "object-array",
		[PROPS_ZPOOL] = "zpool",
		[PROPS_RO] = "(read-only)",
	};

	return names[t];
}

static void doc_range(FILE *f, const struct props_prop *p)
{
	if (p->has_min && p->has_max)
		fprintf(f, "%lld-%lld", (long long)p->min, (long long)p->max);
	else if (p->has_min)
		fprintf(f, ">= %lld", (long long)p->min);
	else if (p->has_max)
		fprintf(f, "<= %lld", (long long)p->max);
}

static void doc_notes(FILE *f, const struct props_prop *p)
{
	const char *sep = "";

	if (p->flags & PROPS_F_NO_LINUX) {
		fprintf(f, "**no effect on Linux**");
		sep = "; ";
	}
	if (p->flags & PROPS_F_DEPRECATED) {
		fprintf(f, "%sdeprecated", sep);
		sep = "; ";
	}
	if (p->flags & PROPS_F_DERIVED) {
		fprintf(f, "%sderived at read, never stored", sep);
		sep = "; ";
	}
	if (p->flags & PROPS_F_LIVE) {
		fprintf(f, "%slive update", sep);
		sep = "; ";
	}
	if (p->flags & PROPS_F_HOST) {
		fprintf(f,
			"%sreaches outside the VM: refused by receive without "
			"--allow-host-access",
			sep);
		sep = "; ";
	}
	if (p->note)
		fprintf(f, "%s%s", sep, p->note);
}

static void doc_row(FILE *f, const struct props_prop *p)
{
	char c[8], r[8], u[8], a[8], q[8];
	bool sub = strchr(p->name, '*') != NULL;

	fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | ", p->name, type_name(p->type),
		props_brand_letters(p->create, c, sizeof(c)),
		props_brand_letters(p->receive, r, sizeof(r)),
		props_brand_letters(p->update, u, sizeof(u)),
		sub ? props_brand_letters(p->add, a, sizeof(a)) : "",
		props_brand_letters(p->req_create, q, sizeof(q)), p->def ? p->def : "",
		p->unit ? p->unit : "");
	doc_range(f, p);
	fprintf(f, " | ");
	doc_notes(f, p);
	fprintf(f, " |\n");
}

void props_doc_markdown(FILE *f)
{
	fprintf(f, "# vmadm properties\n\n"
		   "Generated from the property table in `src/lib/config/props.c` by "
		   "`props_doc_markdown()`; do not edit by hand (regenerate with "
		   "`build/tests/unit/test-propdoc --write docs/properties.md`).\n"
		   "Properties marked **no effect on Linux** are accepted, "
		   "validated and stored (so SmartOS payloads keep working) but "
		   "change nothing on a Linux host.\n\n");
	fprintf(f, "| Property | Type | Create | Receive | Update | Add (sub) "
		   "| Required | Default | Unit | Range | Notes |\n");
	fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < ARRAY_SIZE(props); i++)
		doc_row(f, &props[i]);
	fprintf(f, "\nBrands: J=joyent, M=joyent-minimal, B=builder, L=lx, "
		   "K=kvm, H=bhyve; OS=JMBL, HVM=KH.  For sub-properties "
		   "(`<base>.*.<sub>`) the Update column is the brands allowed "
		   "in `update_<base>` and Add those allowed in `<base>` and "
		   "`add_<base>`.\n");
}

"""Anti-spoofing (issue 4 §5): nft bridge rules per VNIC drop forged frames.

The topology is built by hand in network namespaces of the test's own: a
bridge "stub0" (an etherstub) in a "host" namespace, and per zone a
namespace whose net0 is one end of a veth pair; the other end is a port of
stub0 named as net_vnic_host_name() names it.  The rules are loaded with
tests/helpers/nft-apply (nft_vm_apply) and forged frames are sent from
inside a "zone" with `probe rawsend` (AF_PACKET); `probe udplisten` in the
peer shows what arrives, nft counters show what was dropped.
Addresses: 198.18.0.0/24 and link-local IPv6 only.
"""
import ipaddress
import json
import os
import select
import subprocess
import tempfile
import time
import uuid as uuidlib

import pytest

from conftest import BUILD, new_netns
from test_vmadm_util import wait_for

HELPERS = os.path.join(BUILD, "tests", "helpers")
PROBE = os.path.join(HELPERS, "probe")
NFT_APPLY = os.path.join(HELPERS, "nft-apply")

pytestmark = pytest.mark.skipif(
    not (os.path.exists(PROBE) and os.path.exists(NFT_APPLY)) or os.geteuid() != 0,
    reason="needs root, tests/helpers/probe and tests/helpers/nft-apply")

BCAST = "ff:ff:ff:ff:ff:ff"


def host_name(uuid, base, idx=0):
    """net_vnic_host_name(): "z" + 6 hex of the uuid + 4 hex of the id slot
    (zonehost_id_base / 65536) + "n" + idx."""
    return "z%s%04xn%d" % (uuid.replace("-", "")[:6], base >> 16, idx)


def ll6(mac):
    """fe80::EUI-64 of a MAC, as `ip` prints it."""
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 2
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + b[:3] + [0xff, 0xfe] + b[3:])))


def sh(*args, check=True, **kw):
    cp = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=30, **kw)
    if check:
        assert cp.returncode == 0, "%r: %s%s" % (args, cp.stdout, cp.stderr)
    return cp


class Zone:
    def __init__(self, topo, uuid, mac, ip, nic, base):
        self.topo, self.uuid, self.mac, self.ip = topo, uuid, mac, ip
        self.ns = new_netns()
        self.base = base
        self.port = host_name(uuid, base)
        self.nic = nic
        self.ll = ll6(mac)

    def vm(self, **flags):
        nic = dict(self.nic)
        nic.update(flags)
        return {"uuid": self.uuid, "zonehost_id_base": self.base, "nics": [nic]}

    def run(self, *args, check=True):
        return sh("ip", "netns", "exec", self.ns, *args, check=check)

    def rawsend(self, *args):
        r = self.run(PROBE, "rawsend", "net0", *args)
        assert "rawsend=ok" in r.stdout, r.stdout

    def udp(self, dst, text, src_mac=None, src_ip=None, dst_mac=None, sport=9999, dport=9999):
        self.rawsend(src_mac or self.mac, dst_mac or dst.mac, "ip", src_ip or self.ip, dst.ip,
                     "udp", sport, dport, text)

    def listen(self, port=9999):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, PROBE, "udplisten", str(port),
                              "+%d" % LISTEN_DEADLINE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        return await_listening(p)

    def neigh(self, ip):
        return self.run("ip", "neigh", "show", ip, "dev", "net0").stdout


class Topo:
    """An etherstub bridge in a namespace of its own, zones hanging off it."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.ns = new_netns()
        self.zones = []
        self.env = dict(os.environ, ZONEHOST_ROOT=str(tmp))
        self.run("ip", "link", "add", "stub0", "type", "bridge")
        self.run("ip", "link", "set", "stub0", "up")

    def run(self, *args, check=True):
        return sh("ip", "netns", "exec", self.ns, *args, check=check, env=self.env)

    def zone(self, n, vlan_id=0, **extra):
        mac = "02:00:c6:12:00:%02x" % n
        ip = "198.18.0.%d" % n
        nic = {"interface": "net0", "nic_tag": "stub0", "mac": mac, "ips": [ip + "/24"],
               "vlan_id": vlan_id}
        nic.update(extra)
        z = Zone(self, str(uuidlib.uuid4()), mac, ip, nic, (16 + n) << 16)
        self.zones.append(z)
        self.run("ip", "link", "add", z.port, "type", "veth", "peer", "name", "net0",
                 "netns", z.ns)
        z.run("ip", "link", "set", "net0", "address", mac)
        z.run("sysctl", "-qw", "net.ipv6.conf.net0.accept_dad=0")
        z.run("ip", "addr", "add", ip + "/24", "dev", "net0")
        z.run("ip", "link", "set", "net0", "up")
        self.run("ip", "link", "set", z.port, "master", "stub0", "up")
        self.apply(z)
        return z

    def apply(self, z, vm=None, check=True):
        path = os.path.join(str(self.tmp), z.uuid + ".json")
        with open(path, "w") as f:
            json.dump(vm or z.vm(), f)
        return self.run(NFT_APPLY, z.uuid, path, check=check)

    def counters(self, z):
        r = self.run("nft", "-j", "list", "counters", "table", "bridge", "zonehost")
        return vm_counters(r.stdout, z.uuid)

    def close(self):
        for z in self.zones:
            subprocess.run(["ip", "netns", "del", z.ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def vm_prefix(uuid):
    """The prefix of a VM's objects in the shared table bridge zonehost."""
    return "v" + uuid.replace("-", "") + "_"


def vm_counters(nft_json, uuid):
    """{"n0_bad_mac": packets, ...} of VM uuid from `nft -j list counters`."""
    pre = vm_prefix(uuid)
    return {o["counter"]["name"][len(pre):]: o["counter"]["packets"]
            for o in json.loads(nft_json)["nftables"]
            if "counter" in o and o["counter"]["name"].startswith(pre)}


@pytest.fixture
def topo(tmp_path):
    t = Topo(tmp_path)
    yield t
    t.close()


# A listener runs until told to stop (its stdin closed), at most this long.
LISTEN_DEADLINE = 120


def readline_raw(fd):
    """One line from fd, unbuffered (so select() sees what is left)."""
    b = b""
    while not b.endswith(b"\n"):
        c = os.read(fd, 1)
        if not c:
            break
        b += c
    return b.decode(errors="replace")


def await_listening(p):
    assert readline_raw(p.stdout.fileno()).strip() == "listening"
    return p


def received(p, n, timeout=60):
    """What listener p got, once n datagrams arrived (at most timeout s):
    no fixed window, so a slow (cold) machine cannot close it before the
    last frame is sent.  With n = 0 it stops at once: a test that expects
    nothing first waits for the frames to be counted as dropped."""
    got, deadline, fd = [], time.monotonic() + timeout, p.stdout.fileno()
    while len(got) < n and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        line = readline_raw(fd)
        if not line:
            break
        if line.startswith("recv="):
            got.append(line.split()[0][5:])
    out, _ = p.communicate(input=b"", timeout=30)   # EOF on stdin: the listener ends
    return got + [l.split()[0][5:] for l in out.decode(errors="replace").splitlines()
                  if l.startswith("recv=")]


def test_legit_passes_forged_ipv4_dropped(topo):
    a, b = topo.zone(1), topo.zone(2)
    p = b.listen()
    a.udp(b, "legit")
    a.udp(b, "spoofed-ip", src_ip="198.18.0.77")
    a.udp(b, "spoofed-mac", src_mac="02:00:c6:12:00:66")
    a.udp(b, "stolen-identity", src_mac=b.mac, src_ip=b.ip, dst_mac=BCAST)
    a.udp(b, "legit2")
    assert received(p, 2) == ["legit", "legit2"]
    c = topo.counters(a)
    assert c["n0_bad_mac"] == 2 and c["n0_bad_ip4"] == 1, c
    # a real stack works through the rules, both ways
    a.run("busybox", "ping", "-c", "2", "-W", "2", b.ip)
    b.run("busybox", "ping", "-c", "1", "-W", "2", a.ip)


def test_dhcp_server_replies_dropped(topo):
    """DHCP server traffic is dropped by what it is, whatever its source port."""
    a, b = topo.zone(1), topo.zone(2)
    p68, p67 = b.listen(68), b.listen(67)
    a.udp(b, "offer", sport=67, dport=68, dst_mac=BCAST)
    for sport in (67, 1234, 68):           # a real OFFER, from any port
        a.rawsend(a.mac, BCAST, "ip", a.ip, "255.255.255.255", "dhcp", sport, 68, "offer", b.mac)
    a.udp(b, "not-dhcp", sport=9999, dport=68)   # the client port is the servers' only
    a.rawsend(a.mac, b.mac, "ip", a.ip, b.ip, "dhcp", 1234, 67, "offer", b.mac)  # to a relay
    a.rawsend(a.mac, b.mac, "ip", a.ip, b.ip, "dhcp", 68, 67, "discover", a.mac)  # a client's
    assert wait_for(lambda: topo.counters(a)["n0_dhcp_server"] == 6, 30), topo.counters(a)
    assert received(p67, 1) == ["binary300"]
    assert received(p68, 0) == []


def test_dhcp6_server_messages_dropped(topo):
    a, b = topo.zone(1), topo.zone(2)
    p546, p547 = b.listen(546), b.listen(547)
    for sport in (547, 1234):
        a.rawsend(a.mac, b.mac, "ip6", a.ll, b.ll, "dhcp6", sport, 546, "advertise")
    a.rawsend(a.mac, b.mac, "ip6", a.ll, b.ll, "dhcp6", 1234, 547, "relay-repl")
    a.rawsend(a.mac, b.mac, "ip6", a.ll, b.ll, "dhcp6", 1234, 547, "reply")
    a.rawsend(a.mac, b.mac, "ip6", a.ll, b.ll, "dhcp6", 546, 547, "solicit")  # a client's
    assert wait_for(lambda: topo.counters(a)["n0_dhcp_server"] == 4, 30), topo.counters(a)
    assert received(p547, 1) == ["binary8"]
    assert received(p546, 0) == []


ALLNODES = ("33:33:00:00:00:01", "ff02::1")


def default6(z):
    return z.run("ip", "-6", "route", "show", "default").stdout.strip()


def test_router_advert_dropped(topo):
    """A zone's RA installs no default route in its neighbour; allow_ip_spoofing lifts it."""
    a, b = topo.zone(1), topo.zone(2)
    b.run("sysctl", "-qw", "net.ipv6.conf.net0.accept_ra=1", "net.ipv6.conf.net0.forwarding=0")
    a.rawsend(a.mac, ALLNODES[0], "ip6", a.ll, ALLNODES[1], "ra")
    assert wait_for(lambda: topo.counters(a)["n0_bad_ra"] == 1, 30), topo.counters(a)
    assert default6(b) == ""
    topo.apply(a, a.vm(allow_mac_spoofing=True, allow_dhcp_spoofing=False))
    a.rawsend(a.mac, ALLNODES[0], "ip6", a.ll, ALLNODES[1], "ra")
    assert wait_for(lambda: topo.counters(a)["n0_bad_ra"] == 1, 30), topo.counters(a)
    assert default6(b) == "", "allow_mac_spoofing does not make a router"
    topo.apply(a, a.vm(allow_ip_spoofing=True))
    a.rawsend(a.mac, ALLNODES[0], "ip6", a.ll, ALLNODES[1], "ra")
    assert wait_for(lambda: a.ll in default6(b), 20), "the RA (control) installed no route"


def neigh_mac(z, ip):
    out = z.neigh(ip)
    return out.split("lladdr")[1].split()[0] if "lladdr" in out else None


def test_neighbour_advert_for_another_address_dropped(topo):
    """An unsolicited NA for B's address does not repoint C's entry to A."""
    a, b, c = topo.zone(1), topo.zone(2), topo.zone(3)
    c.run("busybox", "ping", "-6", "-c", "1", "-W", "2", b.ll + "%net0")
    assert neigh_mac(c, b.ll) == b.mac
    a.rawsend(a.mac, ALLNODES[0], "ip6", a.ll, ALLNODES[1], "na", b.ll)   # target: B
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na", b.ll)
    a.rawsend(a.mac, c.mac, "ip6", "::", c.ll, "ns", b.ll)                 # DAD for B's address
    assert wait_for(lambda: topo.counters(a)["n0_bad_nd"] == 3, 30), topo.counters(a)
    assert neigh_mac(c, b.ll) == b.mac
    # the NIC's own address with a MAC that is not its own, even behind another option
    c.run("busybox", "ping", "-6", "-c", "1", "-W", "2", a.ll + "%net0")
    assert neigh_mac(c, a.ll) == a.mac
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na", a.ll, b.mac)
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na2", a.ll, b.mac)
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "ns", c.ll)                 # legit resolution
    assert wait_for(lambda: topo.counters(a)["n0_bad_nd"] == 5, 30), topo.counters(a)
    assert neigh_mac(c, a.ll) == a.mac
    # allow_mac_spoofing lifts the address option check only, not the target check
    topo.apply(a, a.vm(allow_mac_spoofing=True))
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na", b.ll)
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na", a.ll, b.mac)
    assert wait_for(lambda: neigh_mac(c, a.ll) == b.mac, 20), "the NA (control) did nothing"
    assert neigh_mac(c, b.ll) == b.mac
    # both lifted: the attack is the control that the test can see it
    topo.apply(a, a.vm(allow_mac_spoofing=True, allow_ip_spoofing=True))
    a.rawsend(a.mac, c.mac, "ip6", a.ll, c.ll, "na", b.ll)
    assert wait_for(lambda: neigh_mac(c, b.ll) == a.mac, 20), "the NA (control) did nothing"



def test_forged_arp_dropped(topo):
    a, b = topo.zone(1), topo.zone(2)
    a.rawsend(a.mac, BCAST, "arp", "198.18.0.9", b.ip)          # someone else's IP
    a.rawsend(a.mac, BCAST, "arp", b.ip, "198.18.0.3")           # the peer's IP
    a.rawsend("02:00:c6:12:00:66", BCAST, "arp", "198.18.0.66", b.ip)  # another MAC
    assert wait_for(lambda: (topo.counters(a)["n0_bad_arp"], topo.counters(a)["n0_bad_mac"])
                    == (2, 1), 30), topo.counters(a)
    assert "lladdr" not in b.neigh("198.18.0.9")
    assert "lladdr" not in b.neigh("198.18.0.66")
    a.rawsend(a.mac, BCAST, "arp", a.ip, b.ip)                   # legit
    assert wait_for(lambda: a.mac in b.neigh(a.ip), 30)


def test_ipv6_only_own_link_local(topo):
    a, b = topo.zone(1), topo.zone(2)
    p = b.listen()
    dst = ("33:33:00:00:00:01", "ff02::1")
    a.rawsend(a.mac, dst[0], "ip6", ll6(a.mac), dst[1], "udp", 9999, 9999, "ll")
    a.rawsend(a.mac, dst[0], "ip6", "fe80::dead", dst[1], "udp", 9999, 9999, "spoof6")
    a.rawsend(a.mac, dst[0], "ip6", ll6(b.mac), dst[1], "udp", 9999, 9999, "steal6")
    assert wait_for(lambda: topo.counters(a)["n0_bad_ip6"] == 2, 30), topo.counters(a)
    assert received(p, 1) == ["ll"]


def test_other_ethertypes_dropped(topo):
    a, b = topo.zone(1), topo.zone(2)
    # a probe table in the host namespace counts what the bridge forwards
    topo.run("nft", "add table bridge t; add chain bridge t f { type filter hook forward "
             "priority 10; }; add rule bridge t f ether type 0x88b5 counter")
    a.rawsend(a.mac, b.mac, "0x88b5", a.ip, b.ip, "experimental")
    assert topo.counters(a)["n0_bad_type"] == 1
    assert "packets 0" in topo.run("nft", "list", "chain", "bridge", "t", "f").stdout
    topo.apply(a, a.vm(allow_restricted_traffic=True))
    a.rawsend(a.mac, b.mac, "0x88b5", a.ip, b.ip, "experimental")
    assert "packets 1" in topo.run("nft", "list", "chain", "bridge", "t", "f").stdout


def test_allow_flags_lift_their_part(topo):
    a, b = topo.zone(1), topo.zone(2)
    topo.apply(a, a.vm(allow_ip_spoofing=True))
    p = b.listen()
    a.udp(b, "spoofed-ip", src_ip="198.18.0.77")
    a.udp(b, "spoofed-mac", src_mac="02:00:c6:12:00:66")
    assert received(p, 1) == ["spoofed-ip"]

    topo.apply(a, a.vm(allow_mac_spoofing=True))
    p = b.listen()
    a.udp(b, "spoofed-ip", src_ip="198.18.0.77")
    a.udp(b, "spoofed-mac", src_mac="02:00:c6:12:00:66")
    assert received(p, 1) == ["spoofed-mac"]

    topo.apply(a, a.vm(allow_dhcp_spoofing=True))       # implies ip spoofing
    p = b.listen(68)
    a.udp(b, "offer", sport=67, dport=68)
    a.udp(b, "spoofed-ip", src_ip="198.18.0.77", sport=67, dport=68)
    a.rawsend(a.mac, b.mac, "ip", a.ip, b.ip, "dhcp", 1234, 68, "offer", b.mac)
    assert received(p, 3) == ["offer", "spoofed-ip", "binary300"]

    topo.apply(a, a.vm(allowed_ips=["198.18.0.64/26"]))
    p = b.listen()
    a.udp(b, "in-range", src_ip="198.18.0.77")
    a.udp(b, "out-of-range", src_ip="198.18.0.7")
    assert received(p, 1) == ["in-range"]

    topo.apply(a)                                       # back to the defaults
    p = b.listen()
    a.udp(b, "spoofed-ip", src_ip="198.18.0.77")
    a.udp(b, "legit")
    assert received(p, 1) == ["legit"]


def test_replace_and_remove(topo):
    a, b = topo.zone(1), topo.zone(2)
    for _ in range(3):
        topo.apply(a)
    table = topo.run("nft", "list", "table", "bridge", "zonehost").stdout
    assert table.count("chain %sn0_in {" % vm_prefix(a.uuid)) == 1
    assert table.count("iifname vmap @ports_in") == 1
    topo.run(NFT_APPLY, "--remove", a.uuid)
    topo.run(NFT_APPLY, "--remove", a.uuid)            # idempotent
    table = topo.run("nft", "list", "table", "bridge", "zonehost").stdout
    assert vm_prefix(a.uuid) not in table and a.port not in table
    # nothing of the other VM was touched
    assert "chain %sn0_in {" % vm_prefix(b.uuid) in table and b.port in table
    # the last VM's removal takes the shared table with it
    topo.run(NFT_APPLY, "--remove", b.uuid)
    assert "zonehost" not in topo.run("nft", "list", "tables").stdout


def test_dhcp_nic_learns_its_lease(topo, tmp_path):
    """A dhcp NIC may use the address a DHCP server gave it, and no other."""
    a = topo.zone(1, ips=["dhcp"])
    b = topo.zone(2)
    a.run("ip", "addr", "flush", "dev", "net0")
    # dnsmasq in a namespace of its own on a plain (unmanaged) port of stub0
    srv = new_netns()
    topo.zones.append(type("Z", (), {"ns": srv})())
    topo.run("ip", "link", "add", "srv0", "type", "veth", "peer", "name", "eth0", "netns", srv)
    topo.run("ip", "link", "set", "srv0", "master", "stub0", "up")
    sh("ip", "-n", srv, "addr", "add", "198.18.0.254/24", "dev", "eth0")
    sh("ip", "-n", srv, "link", "set", "eth0", "up")
    leases = tmp_path / "leases"
    d = subprocess.Popen(["ip", "netns", "exec", srv, "dnsmasq", "-k", "-C", "/dev/null",
                          "--port=0", "--interface=eth0", "--bind-interfaces",
                          "--dhcp-range=198.18.0.50,198.18.0.50,255.255.255.0,1h",
                          "--dhcp-leasefile=%s" % leases, "--pid-file="],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p = b.listen()
        a.udp(b, "before-lease", src_ip="198.18.0.50")
        assert received(p, 0) == []   # dropped in the sender's own send (a negative)
        r = a.run("busybox", "udhcpc", "-i", "net0", "-n", "-q", "-f", "-t", "5", "-T", "1",
                  "-s", "/bin/true", check=False)
        assert r.returncode == 0, r.stderr
        p = b.listen()
        a.udp(b, "after-lease", src_ip="198.18.0.50")
        a.udp(b, "not-leased", src_ip="198.18.0.51")
        assert received(p, 1) == ["after-lease"]
    finally:
        d.terminate()
        d.wait(timeout=10)


# ---- end to end: real zones (vmadm, zoneadmd, VNICs) on an etherstub ----

ZLOGIN = os.path.join(BUILD, "src", "cmd", "zlogin")


class RealZone:
    """A running busybox zone with the probe at /probe."""

    def __init__(self, h, img, n, **nicprops):
        import shutil
        from test_vmadm_util import create
        self.h, self.n = h, n
        self.mac = "02:00:c6:12:01:%02x" % n
        self.ip = "198.18.1.%d" % n
        nic = {"nic_tag": "stub0", "mac": self.mac, "ips": [self.ip + "/24"]}
        nic.update(nicprops)
        self.uuid = create(h, img, nics=[nic])
        shutil.copy(PROBE, os.path.join(h.root, "zones", self.uuid, "root", "probe"))
        r = h.vmadm("start", self.uuid)
        assert r.rc == 0, r

    def argv(self, cmd):
        return ["nsenter", "--net=/run/netns/" + self.h.netns, "--", ZLOGIN, self.uuid, cmd]

    def zl(self, cmd, check=True):
        r = self.h.run(*self.argv(cmd)[3:], timeout=30)
        if check:
            assert r.rc == 0, r
        return r

    def rawsend(self, *args):
        r = self.zl("/probe rawsend net0 " + " ".join(str(a) for a in args))
        assert "rawsend=ok" in r.out, r

    def udp(self, dst, text, src_mac=None, src_ip=None, dst_mac=None, sport=9999, dport=9999):
        self.rawsend(src_mac or self.mac, dst_mac or dst.mac, "ip", src_ip or self.ip, dst.ip,
                     "udp", sport, dport, text)

    def listen(self, port=9999):
        p = subprocess.Popen(self.argv("/probe udplisten %d +%d" % (port, LISTEN_DEADLINE)),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.h.env)
        return await_listening(p)

    def update_nic(self, **props):
        props["mac"] = self.mac
        r = self.h.vmadm("update", self.uuid, input=json.dumps({"update_nics": [props]}))
        assert r.rc == 0, r

    def counters(self):
        r = self.h.run("nft", "-j", "list", "counters", "table", "bridge", "zonehost")
        assert r.rc == 0, r
        return vm_counters(r.out, self.uuid)


@pytest.fixture
def zones(nethost):
    h, img = nethost
    h.ok(os.path.join(BUILD, "src", "cmd", "nictagadm"), "add", "-l", "stub0")
    h.ok("ip", "link", "set", "stub0", "up")
    return h, img


def test_zones_forged_frames_dropped_and_allow_lifts(zones):
    h, img = zones
    a, b = RealZone(h, img, 1), RealZone(h, img, 2)
    a.zl("ping -c 1 -W 2 %s" % b.ip)
    p, p68 = b.listen(), b.listen(68)
    a.udp(b, "legit")
    a.udp(b, "spoofed-ip", src_ip="198.18.1.77")
    a.udp(b, "spoofed-mac", src_mac="02:00:c6:12:01:66")
    a.udp(b, "stolen-identity", src_mac=b.mac, src_ip=b.ip, dst_mac=BCAST)
    a.udp(b, "dhcp-offer", sport=67, dport=68, dst_mac=BCAST)
    a.rawsend(a.mac, BCAST, "arp", "198.18.1.9", b.ip)

    def counted():
        c = a.counters()
        return (c["n0_bad_mac"], c["n0_bad_ip4"], c["n0_bad_arp"], c["n0_dhcp_server"])
    assert wait_for(lambda: counted() == (2, 1, 1, 1), 30), counted()
    assert received(p, 1) == ["legit"] and received(p68, 0) == []
    assert "lladdr" not in b.zl("ip neigh show 198.18.1.9").out
    # live update: allow_ip_spoofing lifts the IP check at once
    a.update_nic(allow_ip_spoofing=True)
    p = b.listen()
    a.udp(b, "spoofed-ip", src_ip="198.18.1.77")
    a.udp(b, "spoofed-mac", src_mac="02:00:c6:12:01:66")
    assert received(p, 1) == ["spoofed-ip"]



def test_zones_router_neighbour_and_dhcp_attacks_fail(zones):
    """Issue 10 class 6, from inside a zone: a router advertisement, an
    unsolicited NA for a neighbour's address and a DHCP offer from a port
    other than 67 reach neither the other zones nor the host; each is
    counted."""
    h, img = zones
    a, b, c = RealZone(h, img, 1), RealZone(h, img, 2), RealZone(h, img, 3)
    lla, llb = ll6(a.mac), ll6(b.mac)
    assert wait_for(lambda: c.zl("ping -6 -c 1 -W 1 %s%%net0" % llb, check=False).rc == 0, 30)
    assert "lladdr " + b.mac in c.zl("ip -6 neigh show %s dev net0" % llb).out
    p68 = b.listen(68)
    a.rawsend(a.mac, ALLNODES[0], "ip6", lla, ALLNODES[1], "ra")
    a.rawsend(a.mac, ALLNODES[0], "ip6", lla, ALLNODES[1], "na", llb)
    a.rawsend(a.mac, c.mac, "ip6", lla, ll6(c.mac), "na", llb)
    a.rawsend(a.mac, BCAST, "ip", a.ip, "255.255.255.255", "dhcp", 1234, 68, "offer", b.mac)
    a.rawsend(a.mac, b.mac, "ip", a.ip, b.ip, "dhcp", 67, 68, "offer", b.mac)

    def counted():
        cnt = a.counters()
        return (cnt["n0_bad_ra"], cnt["n0_bad_nd"], cnt["n0_dhcp_server"])
    assert wait_for(lambda: counted() == (1, 2, 2), 30), counted()
    assert received(p68, 0) == []
    for z in (b, c):
        assert z.zl("ip -6 route show default").out.strip() == ""
    assert "lladdr " + b.mac in c.zl("ip -6 neigh show %s dev net0" % llb).out
    assert h.run("ip", "-6", "route", "show", "default").out.strip() == ""   # the host
    cnt = a.counters()
    assert (cnt["n0_bad_ra"], cnt["n0_bad_nd"], cnt["n0_dhcp_server"]) == (1, 2, 2), cnt
    b.zl("ping -c 1 -W 2 %s" % c.ip)   # the others' network works on

"""VNICs (issue 4 §2, §3, §6, §7): veth pairs on a nic tag's bridge, the
zone end named per `interface` with its MAC, addresses, routes, resolvers
and host files set from the host before init runs; live add/remove/update
of NICs on a running zone; nothing left behind however the zone ends.

Every zonehost command runs inside the test's own network namespace
(the `nethost` fixture), so bridges and veths never reach the host's.
Addresses: 198.18.0.0/15 and 192.0.2.0/24 only.
"""
import json
import os
import re
import signal
import statistics
import subprocess
import time

import pytest

from conftest import CMD
from test_vmadm_util import create, get, wait_for

ZLOGIN = os.path.join(CMD, "zlogin")


# ---- helpers ----

def ns_run(h, *argv, check=True):
    cp = subprocess.run(["ip", "netns", "exec", h.netns] + list(argv), capture_output=True,
                        text=True, timeout=60)
    if check:
        assert cp.returncode == 0, cp
    return cp


def add_tag(h, tag="stub0"):
    """An etherstub: with nictagadm (records the tag too)."""
    h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", tag)
    ns_run(h, "ip", "link", "set", tag, "up")


def zl(h, u, cmd, check=True):
    r = h.run(ZLOGIN, u, cmd, timeout=30)
    if check:
        assert r.rc == 0, r
    return r


def start(h, u):
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    return get(h, u)


def vnic_prefix(h, u):
    """net_vnic_prefix(): "z" + 6 hex of the uuid + 4 hex of the id slot + "n"."""
    return "z%s%04xn" % (u.replace("-", "")[:6], get(h, u)["zonehost_id_base"] >> 16)


def host_links(h, u, pre=None):
    """Host-side links of VM u in the test's namespace (by the name prefix)."""
    pre = pre or vnic_prefix(h, u)
    out = ns_run(h, "ip", "-o", "link").stdout
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()
            if l.split(":")[1].strip().startswith(pre)]


def nft_tables(h, u):
    """VM u's chains and map elements in the shared table bridge zonehost."""
    cp = ns_run(h, "nft", "list", "table", "bridge", "zonehost", check=False)
    pre = "v" + u.replace("-", "") + "_"
    return [l for l in cp.stdout.splitlines() if pre in l]


def assert_clean(h, u, pre=None):
    pre = pre or vnic_prefix(h, u)
    assert wait_for(lambda: not host_links(h, u, pre), 30), host_links(h, u, pre)
    assert nft_tables(h, u) == []


def nic(ip, **kw):
    n = {"nic_tag": "stub0", "ips": [ip]}
    n.update(kw)
    return n


def zone_addrs(h, u, ifname):
    """The interface's addresses but its IPv6 link-local one."""
    out = zl(h, u, "ip -o addr show dev %s" % ifname).out
    return [a for a in re.findall(r"inet6? (\S+)", out) if not a.startswith("fe80:")]


@pytest.fixture
def net(nethost):
    h, img = nethost
    add_tag(h)
    yield h, img
    h.stop_all()


# ---- tests ----

def test_one_nic_mac_address_route_files(net):
    h, img = net
    mac = "02:08:20:aa:bb:01"
    u = create(h, img, hostname="web1", dns_domain="example.test",
               resolvers=["192.0.2.53", "198.18.0.53"],
               nics=[nic("198.18.0.10/24", mac=mac, gateways=["198.18.0.1"], primary=True)])
    start(h, u)
    links = host_links(h, u)
    assert len(links) == 1
    # the host end is a port of the tag's bridge
    assert "master stub0" in ns_run(h, "ip", "-o", "link", "show", links[0]).stdout
    out = zl(h, u, "ip -o link show dev net0").out
    assert mac in out and "UP" in out
    assert "198.18.0.10/24" in zone_addrs(h, u, "net0")
    assert "default via 198.18.0.1 dev net0" in zl(h, u, "ip route").out
    assert "UP" in zl(h, u, "ip -o link show dev lo").out
    resolv = zl(h, u, "cat /etc/resolv.conf").out
    assert "nameserver 192.0.2.53\nnameserver 198.18.0.53\n" in resolv
    assert "search example.test" in resolv
    assert zl(h, u, "cat /etc/hostname").out == "web1\n"
    hosts = zl(h, u, "cat /etc/hosts").out
    assert re.search(r"^198\.18\.0\.10\s+web1\.example\.test web1$", hosts, re.M), hosts
    assert re.search(r"^127\.0\.0\.1\s+localhost", hosts, re.M), hosts
    # the host can reach it through the bridge
    ns_run(h, "ip", "addr", "add", "198.18.0.1/24", "dev", "stub0")
    ns_run(h, "busybox", "ping", "-c", "1", "-W", "2", "198.18.0.10")
    assert h.vmadm("stop", u).rc == 0
    assert_clean(h, u)


def test_hosts_file_keeps_the_zones_own_lines_and_symlinks_stay_inside(net):
    h, img = net
    u = create(h, img, hostname="h2", nics=[nic("198.18.0.11/24")])
    root = os.path.join(h.root, "zones", u, "root")
    with open(os.path.join(root, "etc", "hosts"), "a") as f:
        f.write("192.0.2.77 mine\n")
    # a zone-controlled symlink must not be followed out of the root
    outside = os.path.join(h.root, "outside-file")
    with open(outside, "w") as f:
        f.write("untouched\n")
    if os.path.lexists(os.path.join(root, "etc", "hostname")):
        os.remove(os.path.join(root, "etc", "hostname"))
    os.symlink(outside, os.path.join(root, "etc", "hostname"))
    start(h, u)
    hosts = zl(h, u, "cat /etc/hosts").out
    assert "192.0.2.77 mine" in hosts and "h2" in hosts
    with open(outside) as f:
        assert f.read() == "untouched\n"
    assert zl(h, u, "cat /etc/hostname").out == "h2\n"
    # a second boot replaces the block, not appends to it
    assert h.vmadm("reboot", u).rc == 0
    assert wait_for(lambda: zl(h, u, "true", check=False).rc == 0, 30)
    hosts = zl(h, u, "cat /etc/hosts").out
    assert hosts.count("zonehost: begin") == 1, hosts
    assert "198.18.0.11/24" in zone_addrs(h, u, "net0")
    assert len(host_links(h, u)) == 1


def test_two_zones_on_one_etherstub_ping(net):
    h, img = net
    a = create(h, img, nics=[nic("198.18.0.21/24")])
    b = create(h, img, nics=[nic("198.18.0.22/24")])
    start(h, a)
    start(h, b)
    zl(h, a, "ping -c 1 -W 2 198.18.0.22")
    zl(h, b, "ping -c 1 -W 2 198.18.0.21")


def test_four_nics_and_routes(net):
    h, img = net
    add_tag(h, "stub1")
    nics = [nic("198.18.0.31/24", gateways=["198.18.0.1"], primary=True),
            nic("198.18.1.31/24", nic_tag="stub1", mtu=1400),
            nic("198.18.2.31/24"),
            nic("192.0.2.31/24", mac="02:08:20:00:00:04")]
    routes = {"198.19.0.0/16": "198.18.1.1", "198.19.5.5": "nics[2]",
              "192.0.2.128/25": "macs[02:08:20:00:00:04]"}
    u = create(h, img, nics=nics, routes=routes)
    start(h, u)
    assert len(host_links(h, u)) == 4
    for i, n in enumerate(nics):
        assert n["ips"][0] in zone_addrs(h, u, "net%d" % i)
    assert "mtu 1400" in zl(h, u, "ip -o link show dev net1").out
    # net1's host end is on stub1
    vm = get(h, u)
    macs = [n["mac"] for n in vm["nics"]]
    out = zl(h, u, "ip -o link").out
    for i, m in enumerate(macs):
        assert re.search(r"net%d.*%s" % (i, m), out), out
    rt = zl(h, u, "ip route").out
    assert "default via 198.18.0.1 dev net0" in rt
    assert "198.19.0.0/16 via 198.18.1.1 dev net1" in rt
    assert re.search(r"198\.19\.5\.5 dev net2 .*scope link", rt), rt
    assert re.search(r"192\.0\.2\.128/25 dev net3 .*scope link", rt), rt
    stub1_ports = ns_run(h, "ip", "-o", "link", "show", "master", "stub1").stdout
    assert len(stub1_ports.splitlines()) == 1


def test_dhcp_nic_gets_a_lease_from_dnsmasq(net):
    h, img = net
    ns_run(h, "ip", "addr", "add", "198.18.0.1/24", "dev", "stub0")
    lease = os.path.join(h.root, "dnsmasq.leases")
    dns = subprocess.Popen(["ip", "netns", "exec", h.netns, "dnsmasq", "--no-daemon",
                            "--port=0", "--interface=stub0", "--bind-interfaces",
                            "--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0",
                            "--dhcp-leasefile=" + lease, "--conf-file=/dev/null",
                            "--pid-file="],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        u = create(h, img, nics=[{"nic_tag": "stub0", "ips": ["dhcp"]}])
        start(h, u)
        assert zone_addrs(h, u, "net0") == []
        assert "UP" in zl(h, u, "ip -o link show dev net0").out
        # the guest's own client configures it; a small script applies the lease
        script = os.path.join(h.root, "zones", u, "root", "udhcpc.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface"\n'
                    'exit 0\n')
        os.chmod(script, 0o755)
        zl(h, u, "udhcpc -i net0 -n -q -t 5 -T 1 -s /udhcpc.sh")
        addrs = zone_addrs(h, u, "net0")
        got = [a for a in addrs if a.startswith("198.18.0.1")]
        assert got and 100 <= int(got[0].split("/")[0].split(".")[3]) <= 150, addrs
        zl(h, u, "ping -c 1 -W 2 198.18.0.1")
    finally:
        dns.send_signal(signal.SIGTERM)
        dns.wait(timeout=10)


def test_live_add_remove_update_nics(net):
    """One subnet per NIC: a zone answers for all its addresses on any of its
    links (Linux's weak host model), and anti-spoofing rightly drops a reply
    that leaves by a NIC that does not own its source address."""
    h, img = net
    u = create(h, img, nics=[nic("198.18.0.41/24", gateways=["198.18.0.1"]),
                             nic("198.18.1.42/24")])
    start(h, u)
    peer = create(h, img, nics=[nic("198.18.1.40/24"), nic("198.18.2.40/24")])
    start(h, peer)
    # add
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.2.43/24")]}))
    assert r.rc == 0, r
    assert zone_addrs(h, u, "net2") == ["198.18.2.43/24"]
    assert len(host_links(h, u)) == 3
    zl(h, peer, "ping -c 1 -W 2 198.18.2.43")
    # update: ips change (keyed by mac)
    macs = [n["mac"] for n in get(h, u)["nics"]]
    r = h.vmadm("update", u, input=json.dumps(
        {"update_nics": [{"mac": macs[1], "ips": ["198.18.1.52/24"]}]}))
    assert r.rc == 0, r
    assert zone_addrs(h, u, "net1") == ["198.18.1.52/24"]
    assert get(h, u)["nics"][1]["ips"] == ["198.18.1.52/24"]
    zl(h, peer, "ping -c 1 -W 2 198.18.1.52")
    assert zl(h, peer, "ping -c 1 -W 1 198.18.1.42", check=False).rc != 0
    # update: gateway change follows in the default route
    r = h.vmadm("update", u, input=json.dumps(
        {"update_nics": [{"mac": macs[0], "gateways": ["198.18.0.2"]}]}))
    assert r.rc == 0, r
    assert "default via 198.18.0.2 dev net0" in zl(h, u, "ip route").out
    # routes follow set_routes / remove_routes at once
    r = h.vmadm("update", u, input=json.dumps(
        {"set_routes": {"198.19.0.0/16": "198.18.1.1", "198.19.9.9": "nics[2]"}}))
    assert r.rc == 0, r
    rt = zl(h, u, "ip route").out
    assert "198.19.0.0/16 via 198.18.1.1 dev net1" in rt
    assert re.search(r"198\.19\.9\.9 dev net2 .*scope link", rt), rt
    r = h.vmadm("update", u, input=json.dumps({"remove_routes": ["198.19.0.0/16"]}))
    assert r.rc == 0, r
    rt = zl(h, u, "ip route").out
    assert "198.19.0.0/16" not in rt and "198.19.9.9 dev net2" in rt
    r = h.vmadm("update", u, input=json.dumps({"remove_routes": ["198.19.9.9"]}))
    assert r.rc == 0, r
    assert "198.19.9.9" not in zl(h, u, "ip route").out
    # remove the first: the others keep their names, addresses and host ends
    before = sorted(host_links(h, u))
    r = h.vmadm("update", u, input=json.dumps({"remove_nics": [macs[0]]}))
    assert r.rc == 0, r
    assert zl(h, u, "ip link show dev net0", check=False).rc != 0
    assert zone_addrs(h, u, "net1") == ["198.18.1.52/24"]
    assert zone_addrs(h, u, "net2") == ["198.18.2.43/24"]
    after = sorted(host_links(h, u))
    assert len(after) == 2 and set(after) < set(before)
    assert len(get(h, u)["nics"]) == 2
    zl(h, peer, "ping -c 1 -W 2 198.18.2.43")
    # stopped zone: the update is stored, applied at the next start
    assert h.vmadm("stop", u).rc == 0
    assert_clean(h, u)
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.3.44/24")]}))
    assert r.rc == 0, r
    assert host_links(h, u) == []
    start(h, u)
    assert len(host_links(h, u)) == 3
    assert zone_addrs(h, u, "net0") == ["198.18.3.44/24"]


def test_live_update_failure_restores(net):
    """The zone took the name net1 itself: adding net1 fails, and neither the
    config nor the host side changes."""
    h, img = net
    u = create(h, img, nics=[nic("198.18.0.61/24")])
    start(h, u)
    zl(h, u, "ip link add net1 type bridge")
    before = get(h, u)["nics"]
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.1.62/24")]}))
    assert r.rc == 1, r
    assert "net1" in r.err, r
    assert get(h, u)["nics"] == before
    assert len(host_links(h, u)) == 1
    assert zone_addrs(h, u, "net0") == ["198.18.0.61/24"]


# ---- no leftovers ----

def test_no_leftovers_after_stop_delete_and_failed_start(net):
    h, img = net
    u = create(h, img, nics=[nic("198.18.0.71/24"), nic("198.18.1.72/24")])
    start(h, u)
    assert len(host_links(h, u)) == 2 and nft_tables(h, u)
    assert h.vmadm("stop", u).rc == 0
    assert_clean(h, u)
    start(h, u)
    pre = vnic_prefix(h, u)
    assert h.vmadm("delete", u).rc == 0
    assert_clean(h, u, pre)
    # failed start after both VNICs were made: a route the kernel refuses
    v = create(h, img, nics=[nic("198.18.0.73/24"), nic("198.18.1.74/24")],
               routes={"198.19.0.0/16": "192.0.2.1"})
    r = h.vmadm("start", v)
    assert r.rc == 1, r
    assert "198.19.0.0/16" in r.err
    assert get(h, v)["state"] in ("stopped", "failed")
    assert_clean(h, v)
    # failed start in the zone's own set-up, after the VNICs were made
    w = create(h, img, nics=[nic("198.18.0.75/24")], init_name="/etc/passwd")
    r = h.vmadm("start", w)
    assert r.rc == 1, r
    assert_clean(h, w)


def test_no_leftovers_after_kill9_of_zoneadmd(net):
    h, img = net
    u = create(h, img, nics=[nic("198.18.0.81/24")])
    start(h, u)
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.0.82/24")]}))
    assert r.rc == 0, r
    assert len(host_links(h, u)) == 2 and nft_tables(h, u)
    with open(os.path.join(h.root, "run", "zonehost", u, "state.json")) as f:
        zpid = json.load(f)["zoneadmd_pid"]
    os.kill(zpid, signal.SIGKILL)
    assert wait_for(lambda: get(h, u)["state"] == "stopped", 30)
    assert_clean(h, u)
    start(h, u)
    assert len(host_links(h, u)) == 2


def test_uuids_sharing_a_prefix_keep_their_own_names(net):
    """Issue 10 class 12: two VMs whose uuids differ only in the last digit
    (a chosen uuid, in a payload or a stream) get distinct host ports and nft
    objects: starting, killing or deleting one never touches the other."""
    h, img = net
    u1 = "0f2c3a10-0000-4000-8000-000000000001"
    u2 = "0f2c3a10-0000-4000-8000-000000000002"
    for u, ip in ((u1, "198.18.0.91/24"), (u2, "198.18.0.92/24")):
        assert create(h, img, uuid=u, nics=[nic(ip)]) == u
    start(h, u1)
    start(h, u2)
    l1, l2 = host_links(h, u1), host_links(h, u2)
    assert len(l1) == 1 and len(l2) == 1 and l1 != l2, (l1, l2)
    assert [l for l in nft_tables(h, u1) if u2.replace("-", "") in l] == []
    zl(h, u1, "ping -c 1 -W 2 198.18.0.92")
    # zoneadmd of the second dies: its sentinel removes its VNICs only
    with open(os.path.join(h.root, "run", "zonehost", u2, "state.json")) as f:
        os.kill(json.load(f)["zoneadmd_pid"], signal.SIGKILL)
    assert wait_for(lambda: get(h, u2)["state"] == "stopped", 20)
    assert_clean(h, u2)
    assert host_links(h, u1) == l1 and nft_tables(h, u1)
    assert get(h, u1)["state"] == "running"
    start(h, u2)
    pre = vnic_prefix(h, u2)
    assert h.vmadm("delete", u2).rc == 0
    assert_clean(h, u2, pre)
    assert host_links(h, u1) == l1
    zl(h, u1, "ip -o link show dev net0")


# ---- speed ----

def median_start(h, u, n=10):
    times = []
    for _ in range(n):
        t = time.monotonic()
        r = h.vmadm("start", u)
        times.append(time.monotonic() - t)
        assert r.rc == 0, r
        assert h.vmadm("stop", "-F", u).rc == 0
    return statistics.median(times)


def test_start_time_with_1_and_4_nics(net, capsys):
    h, img = net
    one = create(h, img, nics=[nic("198.18.0.91/24")])
    four = create(h, img, nics=[nic("198.18.0.%d/24" % (92 + i)) for i in range(4)])
    none = create(h, img)
    m0, m1, m4 = median_start(h, none), median_start(h, one), median_start(h, four)
    with capsys.disabled():
        print("\nvmadm start median of 10: 0 NICs %.1f ms, 1 NIC %.1f ms, 4 NICs %.1f ms"
              % (m0 * 1e3, m1 * 1e3, m4 * 1e3))
    assert m4 < 5.0

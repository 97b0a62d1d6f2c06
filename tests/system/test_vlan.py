"""VLAN segments on an etherstub (issue 4 §4): nft marks per VLAN.

Zones on different VLANs of one etherstub exchange no frame, broadcasts
included; zones on the same VLAN can; a live change of vlan_id takes
effect at once.  On a tag with a physical uplink a VLAN needs 802.1Q
bridge VLAN filtering, which this kernel lacks: a clear error.
Topology as in test_antispoof.py (hand-built bridge and veths).
"""
import json
import os

from conftest import busybox_image, nethost  # noqa: F401
from test_vmadm_util import wait_for
from test_antispoof import (BCAST, NFT_APPLY, RealZone, Topo, received, topo,  # noqa: F401
                            vm_prefix, zones)


def reaches(src, dst):
    r = src.run("busybox", "ping", "-c", "1", "-W", "1", dst.ip, check=False)
    return r.returncode == 0


def reaches_now(src, dst, tries=3):
    """After a change that opens the path: forget what failed before (an ARP
    entry still INCOMPLETE from a blocked ping retries only once a second)
    and allow a few pings."""
    for z in (src, dst):
        z.run("ip", "neigh", "flush", "dev", "net0", check=False)
    return any(reaches(src, dst) for _ in range(tries))


def test_vlans_isolate_on_an_etherstub(topo):
    a, b = topo.zone(1, vlan_id=10), topo.zone(2, vlan_id=10)
    c, d = topo.zone(3, vlan_id=20), topo.zone(4)          # d: VLAN 0
    assert wait_for(lambda: reaches(a, b) and reaches(b, a), 30)
    for x, y in [(a, c), (c, a), (b, c), (a, d), (d, a), (c, d)]:
        assert not reaches(x, y), (x.ip, y.ip)
    # a broadcast (gratuitous) ARP from a reaches b only
    for z in (b, c, d):
        z.run("sysctl", "-qw", "net.ipv4.conf.net0.arp_accept=1")
        z.run("ip", "neigh", "flush", "dev", "net0")
    a.rawsend(a.mac, BCAST, "arp", a.ip, a.ip)
    assert wait_for(lambda: a.mac in b.neigh(a.ip), 30)   # flooded to c and d in that pass
    assert "lladdr" not in c.neigh(a.ip) and "lladdr" not in d.neigh(a.ip)
    # and so does a broadcast datagram
    ps = [z.listen() for z in (b, c, d)]
    a.rawsend(a.mac, BCAST, "ip", a.ip, "198.18.0.255", "udp", 9999, 9999, "bcast")
    assert [received(p, n) for p, n in zip(ps, (1, 0, 0))] == [["bcast"], [], []]
    assert topo.counters(c)["n0_vlan"] > 0 and topo.counters(d)["n0_vlan"] > 0


def test_vlan_change_is_live(topo):
    a, c = topo.zone(1, vlan_id=10), topo.zone(3, vlan_id=20)
    assert not reaches(a, c)
    topo.apply(c, c.vm(vlan_id=10))
    assert wait_for(lambda: reaches_now(a, c) and reaches_now(c, a), 30)
    topo.apply(a, a.vm(vlan_id=0))
    assert not reaches(a, c)


def test_vlan_on_an_uplinked_tag_is_refused(topo, tmp_path):
    cfg = tmp_path / "etc" / "zonehost"
    cfg.mkdir(parents=True)
    (cfg / "nictags.json").write_text(json.dumps(
        {"tags": {"external": {"uplink": "eth9"}, "stub0": {}}}))
    r = topo.run(NFT_APPLY, "--vlan", "external", "10", check=False)
    assert r.returncode == 1
    assert 'vlan_id 10 on nic tag "external" needs 802.1Q VLAN filtering' in r.stderr
    topo.run(NFT_APPLY, "--vlan", "external", "0")
    topo.run(NFT_APPLY, "--vlan", "stub0", "10")
    a = topo.zone(1)
    r = topo.apply(a, a.vm(nic_tag="external", vlan_id=10), check=False)
    assert r.returncode == 1 and "802.1Q" in r.stderr
    # the refused update left the previous rules in place
    assert "chain %sn0_in {" % vm_prefix(a.uuid) in \
        topo.run("nft", "list", "table", "bridge", "zonehost").stdout


# ---- end to end: real zones on an etherstub ----

def test_zones_on_different_vlans_exchange_nothing(zones):
    h, img = zones
    a, b = RealZone(h, img, 1, vlan_id=10), RealZone(h, img, 2, vlan_id=10)
    c = RealZone(h, img, 3, vlan_id=20)
    a.zl("ping -c 1 -W 2 %s" % b.ip)
    assert a.zl("ping -c 1 -W 1 %s" % c.ip, check=False).rc != 0
    ps = [z.listen() for z in (b, c)]
    a.rawsend(a.mac, BCAST, "ip", a.ip, "198.18.1.255", "udp", 9999, 9999, "bcast")
    assert [received(p, n) for p, n in zip(ps, (1, 0))] == [["bcast"], []]
    assert c.counters()["n0_vlan"] > 0
    c.update_nic(vlan_id=10)                    # live: c joins VLAN 10
    r = a.zl("ip neigh flush dev net0; ping -c 2 -W 3 %s" % c.ip, check=False)
    assert r.rc == 0, (r, h.run("nft", "list", "ruleset").out)

"""Bad NIC input (issue 4 "Bad input", §2): malformed or conflicting NICs,
a missing tag, an address outside its netmask, a VLAN id out of range, a
nic tag name that is not an interface name.  Each gets a clear message
naming the NIC and field, exit 1, and nothing is left behind: no VM, no
interface, no nft table, and a running zone keeps its network.
"""
import json
import os
import subprocess

import pytest

from conftest import CMD
from test_vmadm_util import create, get

NICTAGADM = os.path.join(CMD, "nictagadm")


def links(h):
    out = subprocess.run(["ip", "-n", h.netns, "-o", "link"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(l.split(":")[1].strip().split("@")[0] for l in out.splitlines())


def tables(h):
    return subprocess.run(["ip", "netns", "exec", h.netns, "nft", "list", "tables"],
                          capture_output=True, text=True).stdout


@pytest.fixture
def bad(nethost):
    h, img = nethost
    h.ok(NICTAGADM, "add", "-l", "stub0")
    h.ok(NICTAGADM, "add", "-l", "stub1")
    yield h, img
    h.stop_all()


def refused(h, img, nics, msg, **props):
    """vmadm create fails with msg, exit 1, and the host is as it was."""
    before_links, before_tables = links(h), tables(h)
    before_vms = h.vmadm("list", "-H", "-o", "uuid").out
    payload = {"brand": "joyent", "image_uuid": img, "autoboot": True, "nics": nics}
    payload.update(props)
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 1, r
    assert msg in r.err, r
    assert h.vmadm("list", "-H", "-o", "uuid").out == before_vms
    assert links(h) == before_links
    assert tables(h) == before_tables
    return r.err


CASES = [
    ([{"nic_tag": "stub0", "ips": ["198.18.0.300/24"]}], "Invalid IP for NIC: "),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/40"]}], "Invalid IP for NIC: "),
    ([{"nic_tag": "stub0", "ip": "198.18.0.5"}], "Missing .netmask option for NIC: "),
    ([{"nic_tag": "stub0", "ip": "198.18.0.5", "netmask": "255.0.255.0"}],
     "Specified netmask value is invalid: 255.0.255.0"),
    ([{"ips": ["198.18.0.5/24"]}], "invalid or missing .nic_tag option for NIC: "),
    ([{"nic_tag": "bad-tag!", "ips": ["198.18.0.5/24"]}],
     "invalid or missing .nic_tag option for NIC: "),
    ([{"nic_tag": "nosuchtag", "ips": ["198.18.0.5/24"]}], 'Invalid nic tag "nosuchtag"'),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "primary": True},
      {"nic_tag": "stub1", "ips": ["198.18.1.5/24"], "primary": True}],
     "payload specifies more than 1 primary NIC"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "gateways": ["192.0.2.1"]}],
     "Invalid gateway for NIC: 192.0.2.1 is outside the NIC's networks"),
    ([{"nic_tag": "stub0", "ip": "198.18.0.5", "netmask": "255.255.255.0",
       "gateway": "198.18.1.1"}],
     "Invalid gateway for NIC: 198.18.1.1 is outside the NIC's networks"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "vlan_id": 4096}], "nics.*.vlan_id"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "vlan_id": -1}], "nics.*.vlan_id"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "mtu": 100}], "nics.*.mtu"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "mac": "zz:00:00:00:00:01"}],
     "nics.*.mac"),
    ([{"nic_tag": "stub0", "ips": ["198.18.0.5/24"]},
      {"nic_tag": "stub1", "ips": ["198.18.0.5/24"]}],
     "Cannot add multiple NICs with the same IP: 198.18.0.5/24"),
]


@pytest.mark.parametrize("nics,msg", CASES, ids=[c[1][:30] for c in CASES])
def test_bad_nic_refused(bad, nics, msg):
    h, img = bad
    refused(h, img, nics, msg)


def test_bad_routes_refused(bad):
    h, img = bad
    n = [{"nic_tag": "stub0", "ips": ["198.18.0.5/24"]}, {"nic_tag": "stub1", "ips": ["dhcp"]}]
    refused(h, img, n, 'Invalid route destination: "198.18.0.0/40"',
            routes={"198.18.0.0/40": "198.18.0.1"})
    refused(h, img, n, 'Invalid route gateway: "gw"', routes={"198.19.0.0/16": "gw"})
    refused(h, img, n, 'Route gateway: "nics[1]" refers to non-existent or DHCP nic',
            routes={"198.19.0.0/16": "nics[1]"})
    refused(h, img, n, 'Route gateway: "nics[5]" refers to non-existent or DHCP nic',
            routes={"198.19.0.0/16": "nics[5]"})


def test_conflicts_with_other_vms(bad):
    h, img = bad
    create(h, img, nics=[{"nic_tag": "stub0", "ips": ["198.18.0.5/24"],
                          "mac": "02:08:20:00:00:01", "vlan_id": 7}])
    conflict = "Conflict detected with another vm, please check the MAC, IP, and VRID"
    # same MAC, anywhere
    refused(h, img, [{"nic_tag": "stub1", "ips": ["198.18.1.5/24"],
                      "mac": "02:08:20:00:00:01"}], conflict)
    # same IP on the same tag and VLAN
    refused(h, img, [{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "vlan_id": 7}], conflict)
    # the same IP on another VLAN or another tag is someone else's network
    create(h, img, nics=[{"nic_tag": "stub0", "ips": ["198.18.0.5/24"], "vlan_id": 8}])
    create(h, img, nics=[{"nic_tag": "stub1", "ips": ["198.18.0.5/24"], "vlan_id": 7}])


def test_bad_live_update_changes_nothing(bad):
    h, img = bad
    u = create(h, img, nics=[{"nic_tag": "stub0", "ips": ["198.18.0.5/24"]}])
    assert h.vmadm("start", u).rc == 0
    before, tbl, cfg = links(h), tables(h), get(h, u)["nics"]
    for payload, msg in [
            ({"add_nics": [{"nic_tag": "nosuchtag", "ips": ["198.18.1.5/24"]}]},
             'Invalid nic tag "nosuchtag"'),
            ({"add_nics": [{"nic_tag": "stub1", "ips": ["198.18.0.5/24"]}]},
             "Cannot add multiple NICs with the same IP"),
            ({"update_nics": [{"mac": cfg[0]["mac"], "gateways": ["192.0.2.1"]}]},
             "Invalid gateway for NIC: 192.0.2.1"),
            ({"update_nics": [{"mac": cfg[0]["mac"], "vlan_id": 5000}]}, "nics.*.vlan_id"),
            ({"update_nics": [{"mac": "02:00:00:00:00:99", "ips": ["198.18.0.6/24"]}]},
             "There is no existing NIC with that mac address")]:
        r = h.vmadm("update", u, input=json.dumps(payload))
        assert r.rc == 1, (payload, r)
        assert msg in r.err, (payload, r)
        assert links(h) == before
        assert tables(h) == tbl
        assert get(h, u)["nics"] == cfg


def test_vlan_on_an_uplinked_tag_is_refused_up_front(bad):
    """This kernel has no 802.1Q: a vlan_id on a tag with a physical uplink
    is refused at create (clearly, naming why), while on an etherstub it is
    a segment and works."""
    h, img = bad
    subprocess.run(["ip", "-n", h.netns, "link", "add", "up0", "type", "veth", "peer",
                    "name", "up0p"], check=True)
    h.ok(NICTAGADM, "add", "phys0", "up0")
    err = refused(h, img, [{"nic_tag": "phys0", "vlan_id": 10, "ips": ["198.18.3.2/24"]}],
                  "802.1Q")
    assert "phys0" in err and "vlan_id 10" in err
    r = h.vmadm("create", input=json.dumps({
        "brand": "joyent", "image_uuid": img, "autoboot": False,
        "nics": [{"nic_tag": "stub0", "vlan_id": 10, "ips": ["198.18.3.3/24"]}]}))
    assert r.rc == 0, r

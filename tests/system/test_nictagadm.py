"""nictagadm: nic tags as Linux bridges (add/update/delete/list/exists/vms),
their records, their return at boot (`zonehost autoboot`), and vmadm's
nic tag existence check.  Everything runs in the test's own network
namespace (the `nethost` fixture); uplinks are veth pairs made there (the
kernel has no dummy driver)."""
import json
import os
import subprocess

import pytest

from conftest import CMD
from test_vmadm_util import create

HEADER = "NAME           MACADDRESS         LINK           TYPE"


def nictagadm(h, *args):
    return h.run(os.path.join(CMD, "nictagadm"), *args)


def ok(h, *args):
    r = nictagadm(h, *args)
    assert r.rc == 0, r
    return r


def ip(h, *args, check=True):
    cp = subprocess.run(["ip", "-n", h.netns] + list(args), capture_output=True, text=True)
    if check:
        assert cp.returncode == 0, cp
    return cp


def links(h):
    """{name: link object} of the test's namespace."""
    out = ip(h, "-d", "-j", "link", "show").stdout
    return {l["ifname"]: l for l in json.loads(out)}


def is_bridge(link):
    return link.get("linkinfo", {}).get("info_kind") == "bridge"


def veth(h, name):
    """A veth pair name/name+"p" in the test's namespace; returns name's MAC."""
    ip(h, "link", "add", name, "type", "veth", "peer", "name", name + "p")
    return links(h)[name]["address"]


def records(h):
    p = os.path.join(h.root, "etc", "zonehost", "nictags.json")
    with open(p) as f:
        return json.load(f)["tags"]


# ---- etherstubs, list, exists ----

def test_etherstub_add_list_exists_delete(nethost):
    h, _ = nethost
    assert ok(h, "list").out == HEADER + "\n"
    ok(h, "add", "-l", "stub0")
    ok(h, "add", "-l", "stub1")
    l = links(h)
    assert is_bridge(l["stub0"]) and is_bridge(l["stub1"])
    assert "UP" in l["stub0"]["flags"]
    # never in the host's own namespace
    assert subprocess.run(["ip", "link", "show", "stub0"], capture_output=True).returncode != 0

    assert ok(h, "list").out.splitlines() == [
        HEADER,
        "stub0          -                  -              etherstub",
        "stub1          -                  -              etherstub",
    ]
    assert ok(h, "list", "-p").out == "stub0:-:-:etherstub\nstub1:-:-:etherstub\n"
    assert ok(h, "list", "-l", "-H").out.splitlines()[0].startswith("stub0 ")
    assert ok(h, "list", "-L").out == HEADER + "\n"
    assert ok(h, "list", "-p", "-d", ",").out == "stub0,-,-,etherstub\nstub1,-,-,etherstub\n"

    ok(h, "exists", "stub0")
    ok(h, "exists", "-l", "stub0", "stub1")
    r = nictagadm(h, "exists", "stub0", "nope", "bad-name")
    assert r.rc == 1
    assert r.err == ('nictagadm: nic tag "nope" does not exist\n'
                     'nictagadm: nic tag "bad-name" does not exist\n')
    r = nictagadm(h, "exists", "-l", "nope", "stub1")
    assert (r.rc, r.err) == (1, "nope\n")

    s = h.zonehost("sysinfo").json()
    assert s["NIC Tags"] == ["stub0", "stub1"]

    ok(h, "delete", "stub0")
    assert "stub0" not in links(h)
    assert list(records(h)) == ["stub1"]
    r = nictagadm(h, "delete", "stub0")
    assert (r.rc, r.err) == (1, 'nictagadm: nic tag "stub0" does not exist\n')


# ---- uplinks ----

def test_uplink_by_name_and_by_mac(nethost):
    h, _ = nethost
    veth(h, "up0")
    mac1 = veth(h, "up1")
    ok(h, "add", "admin", "up0")
    l = links(h)
    assert is_bridge(l["admin"]) and l["up0"]["master"] == "admin"
    assert "UP" in l["up0"]["flags"]
    mac0 = l["up0"]["address"]
    assert ok(h, "list", "-L").out.splitlines()[1].split() == ["admin", mac0, "up0", "normal"]
    assert ok(h, "list", "-p").out == "admin:%s:up0:normal\n" % mac0.replace(":", "\\:")
    assert ok(h, "list", "-l").out == HEADER + "\n"

    # by MAC (any case, leading zeros optional), via -p or as the argument
    ok(h, "add", "-p", "mac=" + mac1.upper(), "ext")
    assert links(h)["up1"]["master"] == "ext"
    assert records(h)["ext"] == {"mac": mac1, "uplink": "up1"}

    # update: another uplink (the old one leaves the bridge), MTU
    ok(h, "delete", "ext")
    assert "master" not in links(h)["up1"]
    ok(h, "update", "admin", mac1)
    l = links(h)
    assert l["up1"]["master"] == "admin" and "master" not in l["up0"]
    ok(h, "update", "-p", "mtu=9000", "admin")
    l = links(h)
    assert l["admin"]["mtu"] == 9000 and l["up1"]["mtu"] == 9000
    assert records(h)["admin"] == {"mac": mac1, "mtu": 9000, "uplink": "up1"}


def test_uplink_with_addresses_is_refused(nethost):
    h, _ = nethost
    veth(h, "up0")
    ip(h, "addr", "add", "198.18.7.1/24", "dev", "up0")
    r = nictagadm(h, "add", "admin", "up0")
    assert r.rc == 1 and 'interface "up0" has IP addresses' in r.err, r
    assert "admin" not in links(h) and "master" not in links(h)["up0"]
    addrs = json.loads(ip(h, "-j", "addr", "show", "dev", "up0").stdout)[0]["addr_info"]
    assert [a["local"] for a in addrs if a["family"] == "inet"] == ["198.18.7.1"]


def test_bad_input(nethost):
    h, _ = nethost
    veth(h, "up0")
    cases = [
        (("add", "-l", "a" * 16), 1,
         'nictagadm: invalid nic tag name "%s": must be 1-15 characters from [A-Za-z0-9_]\n'
         % ("a" * 16)),
        (("add", "-l", "bad-name"), 1,
         'nictagadm: invalid nic tag name "bad-name": must be 1-15 characters from '
         '[A-Za-z0-9_]\n'),
        (("add", "-l", "up0"), 1,
         'nictagadm: invalid nic tag name "up0": interface "up0" exists and is not a bridge\n'),
        (("add", "admin", "nosuch0"), 1, 'nictagadm: interface "nosuch0" does not exist\n'),
        (("add", "admin", "02:00:00:00:00:99"), 1,
         "nictagadm: no interface has MAC address 02:00:00:00:00:99\n"),
        (("add", "admin", "zz:00"), 1, 'nictagadm: invalid MAC address "zz:00"\n'),
        (("add", "-p", "mtu=1400", "admin", "up0"), 1,
         "nictagadm: invalid MTU 1400: must be 1500 to 9000\n"),
        (("add", "admin", "lo"), 1,
         'nictagadm: interface "lo" cannot be the uplink of a nic tag\n'),
        (("update", "-p", "mtu=1600", "nope"), 1, 'nictagadm: nic tag "nope" does not exist\n'),
    ]
    for args, rc, err in cases:
        r = nictagadm(h, *args)
        assert (r.rc, r.err) == (rc, err), (args, r)
    for args in [(), ("frob",), ("add",), ("add", "admin"), ("add", "-l", "s", "up0"),
                 ("add", "-p", "color=red", "-l", "s"), ("list", "-l", "-L"),
                 ("exists",), ("delete",), ("update", "admin")]:
        r = nictagadm(h, *args)
        assert r.rc == 2, (args, r)
        assert "Usage: nictagadm" in r.err
    assert set(links(h)) == {"lo", "up0", "up0p"}
    assert not os.path.exists(os.path.join(h.root, "etc", "zonehost", "nictags.json"))

    ok(h, "add", "-l", "stub0")
    r = nictagadm(h, "add", "-l", "stub0")
    assert (r.rc, r.err) == (1, 'nictagadm: nic tag "stub0" already exists\n')
    r = nictagadm(h, "update", "stub0", "up0")
    assert (r.rc, r.err) == (1, 'nictagadm: nic tag "stub0" is an etherstub: it has no uplink\n')


# ---- VMs ----

def test_delete_refused_while_vms_use_the_tag(nethost):
    h, img = nethost
    ok(h, "add", "-l", "stub0")
    ok(h, "add", "-l", "other")
    u = create(h, img, nics=[{"nic_tag": "stub0", "ips": ["198.18.0.10/24"]}])
    assert ok(h, "vms", "stub0").out == u + "\n"
    assert ok(h, "vms", "other").out == ""
    r = nictagadm(h, "delete", "stub0")
    assert (r.rc, r.err) == (1, 'nictagadm: cannot delete nic tag "stub0": in use by VMs: %s\n'
                             % u)
    assert "stub0" in links(h) and "stub0" in records(h)

    # -f forces past stopped VMs, never past a running one
    h.vmadm("start", u)
    assert h.vmadm("get", u).json()["state"] == "running"
    r = nictagadm(h, "delete", "-f", "stub0")
    assert (r.rc, r.err) == (
        1, 'nictagadm: cannot delete nic tag "stub0": in use by running VMs: %s\n' % u)
    assert "stub0" in links(h)
    assert h.vmadm("stop", "-F", u).rc == 0
    ok(h, "delete", "-f", "stub0")
    assert "stub0" not in links(h) and "stub0" not in records(h)


def test_tags_come_back_after_reboot(nethost):
    h, _ = nethost
    veth(h, "up0")
    ok(h, "add", "-l", "stub0")
    ok(h, "add", "-p", "mtu=1600", "admin", "up0")
    # a reboot loses the bridges, not the records
    ip(h, "link", "del", "stub0")
    ip(h, "link", "del", "admin")
    assert "master" not in links(h)["up0"]
    r = h.zonehost("autoboot")
    assert r.rc == 0, r
    l = links(h)
    assert is_bridge(l["stub0"]) and is_bridge(l["admin"])
    assert l["up0"]["master"] == "admin" and l["admin"]["mtu"] == 1600
    # and a second run changes nothing
    assert h.zonehost("autoboot").rc == 0
    assert set(links(h)) == set(l)


@pytest.mark.parametrize("tag,msg", [
    ("nope", 'Invalid nic tag "nope"'),
    ("a" * 16, 'Invalid nic tag "%s"' % ("a" * 16)),
    ("bad-tag", 'invalid or missing .nic_tag option for NIC: '),
])
def test_vmadm_create_needs_the_tag(nethost, tag, msg):
    h, img = nethost
    ok(h, "add", "-l", "stub0")
    before = set(links(h))
    payload = {"brand": "joyent", "image_uuid": img, "autoboot": False,
               "nics": [{"nic_tag": "stub0", "ips": ["198.18.0.10/24"]},
                        {"nic_tag": tag, "ips": ["198.18.1.10/24"]}]}
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 1, r
    assert msg in r.err, r
    assert h.vmadm("list", "-H").out == ""
    assert set(links(h)) == before

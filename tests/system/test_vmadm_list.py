"""vmadm list and vmadm lookup: columns, sorting, filters, -p/-H/-h/-o/-s,
lookup -j/-1/-o."""
import json
import os

import pytest

from conftest import CMD
from test_vmadm_util import create

HEADER = "UUID                                  TYPE  RAM      STATE             ALIAS"


@pytest.fixture
def three(nethost):
    h, img = nethost
    h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", "admin")  # nics need their tag
    a = create(h, img, alias="web", max_physical_memory=512, tags={"role": "www"})
    b = create(h, img, alias="db", max_physical_memory=1024, tags={"role": "db"},
               nics=[{"nic_tag": "admin", "ips": ["192.0.2.5/24"]}])
    c = create(h, img, max_physical_memory=512, brand="joyent-minimal")
    return h, {"web": a, "db": b, "none": c}


def row(u, ram, alias):
    return ("%-36s  %-4s  %-7s  %-16s  %s" % (u, "OS", ram, "stopped", alias)).rstrip()


def test_list_default(three):
    h, v = three
    r = h.vmadm("list")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == HEADER
    first = sorted([v["web"], v["none"]])
    want = [row(first[0], 512, "web" if first[0] == v["web"] else "-"),
            row(first[1], 512, "web" if first[1] == v["web"] else "-"),
            row(v["db"], 1024, "db")]
    assert lines[1:] == want


def test_list_empty(imghost):
    h, _ = imghost
    r = h.vmadm("list")
    assert r.rc == 0
    assert r.out == HEADER + "\n"
    assert h.vmadm("list", "-H").out == ""


def test_list_H_p_o(three):
    h, v = three
    r = h.vmadm("list", "-H", "-o", "uuid,alias", "-s", "uuid")
    assert r.out.splitlines() == [("%-36s  %s" % (u, a)).rstrip() for u, a in
                                  sorted([(v["web"], "web"), (v["db"], "db"), (v["none"], "-")])]
    r = h.vmadm("list", "-p", "-o", "alias,ram,tags.role", "-s", "-ram,alias")
    assert r.out.splitlines() == ["db:1024:db", ":512:", "web:512:www"]
    r = h.vmadm("list", "-p", "-h", "-o", "alias", "-s", "alias")
    assert r.out.splitlines()[0] == "ALIAS"


def test_list_flattened_columns(three):
    h, v = three
    r = h.vmadm("list", "-o", "alias,tags.role,nics.0.nic_tag", "-s", "alias", "alias=db")
    assert r.out.splitlines() == [
        "ALIAS       TAGS.ROLE             NICS.0.NIC_TAG",
        "db          db                    admin"]


def test_list_sort(three):
    h, v = three
    r = h.vmadm("list", "-p", "-o", "alias", "-s", "-alias")
    assert r.out.splitlines() == ["web", "db", ""]
    r = h.vmadm("list", "-p", "-o", "alias", "-s", "+alias")
    assert r.out.splitlines() == ["", "db", "web"]
    r = h.vmadm("list", "-p", "-o", "ram", "-s", "-ram")
    assert r.out.splitlines() == ["1024", "512", "512"]


@pytest.mark.parametrize("flt,names", [
    ("alias=web", ["web"]),
    ("alias=WEB", []),
    ("alias=~^W", ["web"]),
    ("alias=~b", ["web", "db"]),
    ("ram=1024", ["db"]),
    ("type=OS", ["web", "db", "none"]),
    ("brand=joyent-minimal", ["none"]),
    ("tags.role=db", ["db"]),
    ("tags.role=~w", ["web"]),
    ("nics.*.ip=192.0.2.5", ["db"]),
    ("nics.0.nic_tag=admin", ["db"]),
    ("nics.*.nic_tag=~^ADM", ["db"]),
    ("state=stopped", ["web", "db", "none"]),
])
def test_list_filters(three, flt, names):
    h, v = three
    r = h.vmadm("list", "-H", "-o", "uuid", flt)
    assert r.rc == 0, r
    assert sorted(r.out.split()) == sorted(v[n] for n in names)


def test_list_filters_and(three):
    h, v = three
    r = h.vmadm("list", "-H", "-o", "uuid", "ram=512", "alias=~e")
    assert r.out.split() == [v["web"]]


@pytest.mark.parametrize("args,msg", [
    (["bogus=1"], 'Invalid filter key: "bogus"'),
    (["nics.*.frob=1"], 'Invalid filter key: "nics.*.frob"'),
    (["-o", "uuid,nope"], 'Invalid order key: "nope"'),
    (["-o", "nics.*.ip"], 'Invalid order key: "nics.*.ip"'),
    (["-s", "nope"], 'Invalid sort key: "nope"'),
    (["noequals"], 'Invalid filter: "noequals"'),
])
def test_list_bad_keys(three, args, msg):
    h, _ = three
    r = h.vmadm("list", *args)
    assert r.rc == 2, r
    assert r.err.splitlines()[0] == msg
    assert r.out == ""


def test_lookup(three):
    h, v = three
    r = h.vmadm("lookup")
    assert r.rc == 0
    assert sorted(r.out.split()) == sorted(v.values())
    r = h.vmadm("lookup", "alias=db")
    assert r.out == v["db"] + "\n"
    r = h.vmadm("lookup", "-1", "alias=web")
    assert r.rc == 0 and r.out == v["web"] + "\n"


def test_lookup_unique_fails(three):
    h, _ = three
    r = h.vmadm("lookup", "-1", "ram=512")
    assert r.rc == 1
    assert r.err == "Requested unique lookup but found 2 results.\n"
    r = h.vmadm("lookup", "-1", "alias=nope")
    assert r.rc == 1
    assert r.err == "Requested unique lookup but found 0 results.\n"


def test_lookup_json(three):
    h, v = three
    r = h.vmadm("lookup", "-j", "alias=db")
    assert r.rc == 0
    objs = json.loads(r.out)
    assert len(objs) == 1
    assert objs[0]["uuid"] == v["db"]
    assert objs[0]["state"] == "stopped"
    assert objs[0]["type"] == "OS"
    assert objs[0]["ram"] == 1024
    r = h.vmadm("lookup", "-j", "-o", "uuid,alias,tags.role", "alias=~b")
    objs = sorted(json.loads(r.out), key=lambda o: o["alias"])
    assert objs == [{"uuid": v["db"], "alias": "db", "tags.role": "db"},
                    {"uuid": v["web"], "alias": "web", "tags.role": "www"}]
    r = h.vmadm("lookup", "-j", "-1", "alias=web")
    assert [o["uuid"] for o in json.loads(r.out)] == [v["web"]]


def test_lookup_errors(three):
    h, _ = three
    r = h.vmadm("lookup", "-o", "uuid")
    assert r.rc == 2
    assert r.err.splitlines()[0] == "Cannot specify -o without -j"
    r = h.vmadm("lookup", "bogus=1")
    assert r.rc == 2
    assert r.err == 'Invalid filter key: "bogus"\n'

"""The metadata service in real zones (issue 13; docs/architecture.md §23).

Each test boots busybox zones with `vmadm create` + `vmadm start` and runs
the guest tools inside them with zlogin, over the zone's socket
(/.zonecontrol/metadata.sock) and over its serial line (/dev/ttyS1).
"""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import CMD
from test_vmadm_util import create, get, wait_for
from test_zlogin import start, zone_pids

ZLOGIN = os.path.join(CMD, "zlogin")
TOOLS = "/native/usr/sbin"
SERIAL = {"ZH_MDATA_SOCKET": ""}

USER_SCRIPT = "#!/bin/sh\necho hello from user-script\n"
KEYS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0 test@example\n"


def zl(h, u, *args, input=None, env=None, timeout=60):
    cmd = list(args)
    if env:
        cmd = ["env"] + ["%s=%s" % kv for kv in env.items()] + cmd
    return h.run(ZLOGIN, u, *cmd, input=input, timeout=timeout)


def mdata(h, u, verb, *args, serial=False, input=None):
    return zl(h, u, "%s/mdata-%s" % (TOOLS, verb), *args, input=input,
              env=SERIAL if serial else None)


def payload(**extra):
    p = {
        "alias": "md-alias",
        "hostname": "md-host",
        "resolvers": ["192.0.2.53"],
        "customer_metadata": {
            "user-script": USER_SCRIPT,
            "user-data": "some user data",
            "root_authorized_keys": KEYS,
            "color": "blue",
        },
        "internal_metadata": {"ns:secret": "s3", "admin_pw": "pw", "hidden": "no"},
        "internal_metadata_namespaces": ["ns"],
    }
    p.update(extra)
    return p


@pytest.fixture
def mdzone(imghost):
    h, img = imghost
    u = create(h, img, **payload())
    start(h, u)
    yield h, u
    r = h.vmadm("delete", u)
    assert r.rc == 0, r
    assert zone_pids(u) == set()


@pytest.mark.parametrize("serial", [False, True], ids=["socket", "serial"])
def test_get_every_family(mdzone, serial):
    h, u = mdzone
    r = mdata(h, u, "get", "sdc:uuid", serial=serial)
    assert (r.rc, r.out) == (0, u + "\n"), r
    assert mdata(h, u, "get", "sdc:hostname", serial=serial).out == "md-host\n"
    assert mdata(h, u, "get", "sdc:alias", serial=serial).out == "md-alias\n"
    assert json.loads(mdata(h, u, "get", "sdc:resolvers", serial=serial).out) == ["192.0.2.53"]
    assert mdata(h, u, "get", "user-script", serial=serial).out == USER_SCRIPT
    assert mdata(h, u, "get", "user-data", serial=serial).out == "some user data\n"
    assert mdata(h, u, "get", "root_authorized_keys", serial=serial).out == KEYS
    assert mdata(h, u, "get", "ns:secret", serial=serial).out == "s3\n"
    assert mdata(h, u, "get", "admin_pw", serial=serial).out == "pw\n"
    r = mdata(h, u, "get", "hidden", serial=serial)
    assert (r.rc, r.out) == (1, ""), r
    r = mdata(h, u, "get", "sdc:server_uuid", serial=serial)
    assert r.rc == 0 and len(r.out.strip()) == 36, r
    keys = mdata(h, u, "list", serial=serial).out.split()
    assert set(keys) == {"user-script", "user-data", "root_authorized_keys", "color",
                         "ns:secret", "admin_pw"}, keys


@pytest.mark.parametrize("serial", [False, True], ids=["socket", "serial"])
def test_put_delete_reach_the_config(mdzone, serial):
    h, u = mdzone
    r = mdata(h, u, "put", "fruit", "apple", serial=serial)
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"]["fruit"] == "apple"
    assert mdata(h, u, "get", "fruit", serial=serial).out == "apple\n"
    r = mdata(h, u, "put", "fruit", serial=serial, input="pear")
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"]["fruit"] == "pear"
    r = mdata(h, u, "delete", "fruit", serial=serial)
    assert r.rc == 0, r
    assert "fruit" not in get(h, u)["customer_metadata"]
    r = mdata(h, u, "get", "fruit", serial=serial)
    assert r.rc == 1, r
    r = mdata(h, u, "put", "sdc:hostname", "evil", serial=serial)
    assert r.rc == 2 and 'Cannot update the "sdc" Namespace.' in r.err, r
    r = mdata(h, u, "delete", "ns:secret", serial=serial)
    assert r.rc == 2 and 'Cannot update the "ns" Namespace.' in r.err, r
    assert get(h, u)["hostname"] == "md-host"


def test_vmadm_update_visible_at_once(mdzone):
    h, u = mdzone
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"color": "red"}}))
    assert r.rc == 0, r
    assert mdata(h, u, "get", "color").out == "red\n"
    r = h.vmadm("update", u, input=json.dumps({"remove_customer_metadata": ["color"]}))
    assert r.rc == 0, r
    assert mdata(h, u, "get", "color").rc == 1
    assert h.vmadm("update", u, "alias=renamed").rc == 0
    assert mdata(h, u, "get", "sdc:alias").out == "renamed\n"

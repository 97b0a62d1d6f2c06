"""The ctl protocol's versioning rule (docs/architecture.md §16).
A command never changes meaning, so a vmadm meeting a zoneadmd
started before an upgrade, which does not know CTL_UPDATE_NET, fails
cleanly and says so (or, for CTL_MDATA, which an older zoneadmd has no
use for, goes on): the stored config, the zone's VNICs and the nft rules
all stay as they were.  The older zoneadmd is tests/helpers/zoneadmd-v1
(the same core answering CTL_UPDATE_NET "unknown"), started through
ZONEHOST_ZONEADMD.  Addresses: 198.18.0.0/15 only.
"""
import json
import os

from conftest import BUILD
from test_net_vnics import add_tag, assert_clean, host_links, nft_tables, nic
from test_vmadm_util import create, get

import pytest

OLD = os.path.join(BUILD, "tests", "helpers", "zoneadmd-v1")


@pytest.fixture
def net(nethost):
    h, img = nethost
    add_tag(h)
    yield h, img
    h.stop_all()


def test_old_zoneadmd_refuses_live_nics_and_nothing_changes(net):
    h, img = net
    u = create(h, img, nics=[nic("198.18.0.91/24")])
    r = h.vmadm("start", u, env={"ZONEHOST_ZONEADMD": OLD})
    assert r.rc == 0, r
    before = get(h, u)
    links, rules = host_links(h, u), nft_tables(h, u)
    assert len(links) == 1 and rules
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.0.92/24")]}))
    assert r.rc == 1, r
    assert "zoneadmd from before an upgrade" in r.err and "restart the VM" in r.err, r
    after = get(h, u)
    assert after["nics"] == before["nics"]
    assert host_links(h, u) == links and nft_tables(h, u) == rules
    # what the older zoneadmd knows still works: a live limit
    r = h.vmadm("update", u, "max_physical_memory=300")
    assert r.rc == 0, r
    assert get(h, u)["max_physical_memory"] == 300
    # CTL_MDATA (newer) answered "unknown": a metadata change is stored all the same
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"k": "v"}}))
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"] == {"k": "v"}
    assert h.vmadm("stop", u).rc == 0
    assert_clean(h, u)
    # a current zoneadmd applies the same change live
    assert h.vmadm("start", u).rc == 0
    r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.0.92/24")]}))
    assert r.rc == 0, r
    assert len(host_links(h, u)) == 2 and len(get(h, u)["nics"]) == 2
    assert h.vmadm("stop", u).rc == 0
    assert_clean(h, u)

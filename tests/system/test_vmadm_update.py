"""vmadm update: key=value pairs, JSON from -f/stdin, set_/remove_ keys,
live quota, rejection leaves the config as it was; an update the kernel
refuses, or that cannot be stored, changes nothing, live or stored."""
import json
import os
import subprocess

import pytest

from conftest import CMD, new_uuid
from test_vmadm_util import config_path, create, get, qgroup_limit, run_with_tty_stdin


def stored(h, u):
    with open(config_path(h, u)) as f:
        return json.load(f)


def test_update_pairs(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("update", u, "alias=renamed", "max_lwps=3000", "cpu_cap=150")
    assert r.rc == 0, r
    assert r.err == "Successfully updated VM %s\n" % u
    assert r.out == ""
    vm = get(h, u)
    assert vm["alias"] == "renamed"
    assert vm["max_lwps"] == 3000          # coerced from the string "3000"
    assert vm["cpu_cap"] == 150


def test_update_json_stdin_and_file(imghost, tmp_path):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("update", u, input=json.dumps({"alias": "a1", "cpu_shares": 50}))
    assert r.rc == 0, r
    assert get(h, u)["cpu_shares"] == 50
    p = tmp_path / "u.json"
    p.write_text(json.dumps({"alias": "a2"}))
    r = h.vmadm("update", u, "-f", str(p))
    assert r.rc == 0, r
    assert get(h, u)["alias"] == "a2"


def test_update_tags(imghost):
    h, img = imghost
    u = create(h, img, tags={"keep": "yes", "drop": "me"})
    r = h.vmadm("update", u, input=json.dumps({"set_tags": {"hello": "world", "n": 3}}))
    assert r.rc == 0, r
    assert get(h, u)["tags"] == {"keep": "yes", "drop": "me", "hello": "world", "n": 3}
    r = h.vmadm("update", u, input=json.dumps({"remove_tags": ["drop", "hello"]}))
    assert r.rc == 0, r
    assert get(h, u)["tags"] == {"keep": "yes", "n": 3}


def test_update_metadata(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("update", u, input=json.dumps({
        "set_customer_metadata": {"user-script": "echo hi", "x": "1"},
        "set_internal_metadata": {"operator-script": "true"}}))
    assert r.rc == 0, r
    vm = get(h, u)
    assert vm["customer_metadata"] == {"user-script": "echo hi", "x": "1"}
    assert vm["internal_metadata"] == {"operator-script": "true"}
    r = h.vmadm("update", u, input=json.dumps({"remove_customer_metadata": ["x"],
                                               "remove_internal_metadata": ["operator-script"]}))
    assert r.rc == 0, r
    vm = get(h, u)
    assert vm["customer_metadata"] == {"user-script": "echo hi"}
    assert vm["internal_metadata"] == {}


def test_update_quota_is_live(imghost):
    h, img = imghost
    u = create(h, img)
    assert qgroup_limit(h, u) == 10 << 30
    r = h.vmadm("update", u, "quota=20")
    assert r.rc == 0, r
    assert get(h, u)["quota"] == 20
    assert qgroup_limit(h, u) == 20 << 30
    r = h.vmadm("update", u, input=json.dumps({"quota": 0}))
    assert r.rc == 0, r
    assert qgroup_limit(h, u) is None


def test_update_bad_value_changes_nothing(imghost):
    h, img = imghost
    u = create(h, img)
    before = stored(h, u)
    r = h.vmadm("update", u, "max_lwps=lots")
    assert r.rc == 1
    assert r.err == 'Invalid value for max_lwps: "lots"\n'
    r = h.vmadm("update", u, "quota=-5")
    assert r.rc == 1
    assert r.err == "Invalid value(s) for: quota\n"
    assert stored(h, u) == before
    assert qgroup_limit(h, u) == 10 << 30


def test_update_errors(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("update", new_uuid(), "alias=x")
    assert r.rc == 1
    assert "No such zone configured" in r.err
    r = h.vmadm("update", u, "=x")
    assert r.rc == 2
    r = h.vmadm("update", u, input="{\"alias\": ")
    assert r.rc == 1
    assert r.err.startswith("Invalid JSON payload: ")
    rc, err = run_with_tty_stdin(h, "update", u)
    assert rc == 2
    assert err == "Will not update from stdin when stdin is a tty.\n"


def test_update_unmodifiable_is_ignored(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("update", u, "uuid=" + new_uuid())
    assert r.rc == 0, r
    assert get(h, u)["uuid"] == u


def live_knob(u, ctrl, knob):
    p = os.path.join("/sys/fs/cgroup", ctrl, "zonehost", u, knob)
    if not os.path.exists(p):
        pytest.skip("no cgroup v1 %s hierarchy here: the kernel does not refuse it" % ctrl)
    with open(p) as f:
        return f.read().strip()


def test_update_refused_by_the_kernel_changes_nothing(imghost):
    """Issue 10 class 13: an update the kernel refuses (a memory limit below
    what the zone holds in its tmpfs, with no swap) leaves every live limit
    and the stored config as they were, whatever else it carried."""
    h, img = imghost
    u = create(h, img, max_physical_memory=256, max_lwps=2000)
    assert h.vmadm("start", u).rc == 0
    try:
        mem = live_knob(u, "memory", "memory.limit_in_bytes")
        pids = live_knob(u, "pids", "pids.max")
        r = h.run(os.path.join(CMD, "zlogin"), u, "dd", "if=/dev/zero", "of=/tmp/hold",
                  "bs=1M", "count=120")
        assert r.rc == 0, r
        before = stored(h, u)
        r = h.vmadm("update", u, "max_lwps=1500", "max_physical_memory=64", "alias=changed",
                    "quota=12")
        assert r.rc == 1, r
        assert "memory" in r.err and "busy" in r.err, r
        assert stored(h, u) == before
        assert live_knob(u, "memory", "memory.limit_in_bytes") == mem
        assert live_knob(u, "pids", "pids.max") == pids
        assert qgroup_limit(h, u) == 10 << 30
    finally:
        h.vmadm("stop", "-F", u)


def test_update_not_stored_is_undone_live(imghost):
    """The config cannot be written (its directory made immutable): the
    live limits and the quota already changed go back, the update fails."""
    h, img = imghost
    u = create(h, img, max_lwps=2000)
    assert h.vmadm("start", u).rc == 0
    cfgdir = os.path.dirname(config_path(h, u))
    try:
        pids = live_knob(u, "pids", "pids.max")
        before = stored(h, u)
        subprocess.run(["chattr", "+i", cfgdir], check=True)
        try:
            r = h.vmadm("update", u, "max_lwps=1500", "quota=12")
        finally:
            subprocess.run(["chattr", "-i", cfgdir], check=True)
        assert r.rc == 1, r
        assert stored(h, u) == before
        assert live_knob(u, "pids", "pids.max") == pids
        assert qgroup_limit(h, u) == 10 << 30
    finally:
        h.vmadm("stop", "-F", u)

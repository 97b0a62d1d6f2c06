"""vmadm update: key=value pairs, JSON from -f/stdin, set_/remove_ keys,
live quota, rejection leaves the config as it was."""
import json
import os

from conftest import new_uuid
from test_vmadm_util import create, get, qgroup_limit, run_with_tty_stdin


def stored(h, u):
    with open(os.path.join(h.root, "zones", u, "config", "vm.json")) as f:
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

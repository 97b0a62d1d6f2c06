"""Bad input to vmadm create: one clear message, the right exit status,
and the host exactly as it was (no subvolume, file or config left)."""
import json
import os
import subprocess

import pytest

from conftest import new_uuid
from test_vmadm_util import create, run_with_tty_stdin, snapshot


def payload(img, **kw):
    p = {"brand": "joyent", "image_uuid": img, "autoboot": False}
    p.update(kw)
    return p


def check_rejected(h, text, rc, want):
    before = snapshot(h)
    r = h.vmadm("create", input=text)
    assert r.rc == rc, r
    assert r.out == ""
    assert want in r.err, r
    assert snapshot(h) == before
    assert h.vmadm("lookup").out == ""
    return r


def test_invalid_json_says_where(imghost):
    h, img = imghost
    r = check_rejected(h, '{"brand": "joyent",\n  "alias": }', 1, "Invalid JSON payload: ")
    assert "line 2" in r.err and "column" in r.err


def test_not_an_object(imghost):
    h, _ = imghost
    check_rejected(h, "[1, 2]", 1, "Invalid JSON payload")


@pytest.mark.parametrize("prop,value", [
    ("max_lwps", "many"),          # wrong type
    ("cpu_shares", True),          # boolean for an integer
    ("max_swap", 100),             # below the minimum (256)
    ("quota", -1),                 # out of range
    ("autoboot", "perhaps"),       # not a boolean
    ("uuid", "NOT-A-UUID"),        # bad uuid
])
def test_bad_values(imghost, prop, value):
    h, img = imghost
    # "Invalid value(s) for: <p>" (validation) or "Invalid value for <p>: ..." (coercion)
    r = check_rejected(h, json.dumps(payload(img, **{prop: value})), 1, "Invalid value")
    assert prop in r.err
    assert len(r.err.splitlines()) == 1


def test_unsupported_brand(imghost):
    h, img = imghost
    check_rejected(h, json.dumps(payload(img, brand="solaris10")), 1, "Unsupported brand")


def test_missing_image_uuid(imghost):
    h, _ = imghost
    r = check_rejected(h, json.dumps({"brand": "joyent"}), 1, "Missing required properties: ")
    assert "image_uuid" in r.err


def test_image_not_installed(imghost):
    h, _ = imghost
    r = check_rejected(h, json.dumps(payload(new_uuid())), 1, "image_uuid")
    assert r.rc == 1


def test_missing_pool(imghost):
    h, img = imghost
    check_rejected(h, json.dumps(payload(img, zpool="nosuchpool")), 1, "zpool")


def test_duplicate_uuid(imghost):
    h, img = imghost
    u = create(h, img)
    before = snapshot(h)
    r = h.vmadm("create", input=json.dumps(payload(img, uuid=u)))
    assert r.rc == 1
    assert r.err.strip().splitlines()[-1] == "VM with UUID %s already exists" % u
    assert snapshot(h) == before


def test_unknown_property_is_stripped_with_warning(imghost):
    h, img = imghost
    r = h.vmadm("create", input=json.dumps(payload(img, frobnicate=1)))
    assert r.rc == 0, r
    assert "frobnicate" in r.err
    u = r.err.split()[-1]
    assert "frobnicate" not in h.vmadm("get", u).out


def test_tty_stdin_refused(imghost):
    h, _ = imghost
    before = snapshot(h)
    rc, err = run_with_tty_stdin(h, "create")
    assert rc == 2
    assert err == "Will not create from stdin when stdin is a tty.\n"
    assert snapshot(h) == before


def test_missing_file(imghost):
    h, _ = imghost
    r = h.vmadm("create", "-f", "/nonexistent/payload.json")
    assert r.rc == 1
    assert r.err == "File: /nonexistent/payload.json does not exist.\n"


def test_extra_argument(imghost):
    h, _ = imghost
    r = h.vmadm("create", "junk")
    assert r.rc == 2


def test_failed_create_leaves_no_lock_or_config(imghost):
    h, img = imghost
    u = new_uuid()
    check_rejected(h, json.dumps(payload(img, uuid=u, max_lwps="x")), 1, "max_lwps")
    assert not os.path.exists(os.path.join(h.root, "zones", u))
    assert not os.path.exists(os.path.join(h.root, "run", "zonehost", "locks", u + ".lock"))


def test_failed_build_is_undone(imghost):
    """A failure after the clone (the config cannot be written) undoes the clone."""
    h, img = imghost
    # The configs' directory made immutable: no config can be written.
    cfgdir = os.path.join(h.root, "zones", ".vmadm")
    os.makedirs(cfgdir, exist_ok=True)
    subprocess.run(["chattr", "+i", cfgdir], check=True)
    u = new_uuid()
    before = snapshot(h)
    try:
        r = h.vmadm("create", input=json.dumps(payload(img, uuid=u)))
    finally:
        subprocess.run(["chattr", "-i", cfgdir], check=True)
    assert r.rc == 1, r
    assert len(r.err.splitlines()) == 1
    assert snapshot(h) == before
    assert not os.path.exists(os.path.join(h.root, "zones", u))
    assert not os.path.exists(os.path.join(h.root, "run", "zonehost", "locks", u + ".lock"))


def test_huge_quota(imghost):
    h, img = imghost
    check_rejected(h, json.dumps(payload(img, quota=1 << 40)), 1,
                   "Invalid value(s) for: quota")

"""vmadm validate create / validate update <brand>."""
import json

from conftest import new_uuid
from test_vmadm_util import run_with_tty_stdin, snapshot


def test_valid_create(imghost):
    h, img = imghost
    before = snapshot(h)
    r = h.vmadm("validate", "create", input=json.dumps({"brand": "joyent", "image_uuid": img}))
    assert r.rc == 0, r
    assert r.out == ""
    assert r.err == "VALID 'create' payload for joyent brand VMs.\n"
    assert snapshot(h) == before


def test_valid_create_other_brand_from_file(imghost, tmp_path):
    h, img = imghost
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"brand": "joyent-minimal", "image_uuid": img, "alias": "x"}))
    r = h.vmadm("validate", "create", "-f", str(p))
    assert r.rc == 0, r
    assert r.err == "VALID 'create' payload for joyent-minimal brand VMs.\n"


def test_invalid_create_report(imghost):
    h, img = imghost
    r = h.vmadm("validate", "create",
                input=json.dumps({"brand": "joyent", "max_lwps": "lots", "bogus": 1}))
    assert r.rc == 1, r
    rep = json.loads(r.err)
    assert set(rep) == {"bad_values", "bad_properties", "missing_properties"}
    assert "max_lwps" in rep["bad_values"]
    assert "bogus" in rep["bad_properties"]
    assert "image_uuid" in rep["missing_properties"]
    assert r.err.startswith("{\n  \"")  # 2-space indent


def test_bad_brand(imghost):
    h, _ = imghost
    r = h.vmadm("validate", "create", input=json.dumps({"brand": "nope"}))
    assert r.rc == 1
    assert json.loads(r.err) == {"bad_brand": "nope"}
    r = h.vmadm("validate", "create", input=json.dumps({"alias": "x"}))
    assert r.rc == 1
    assert json.loads(r.err) == {"bad_brand": "undefined"}


def test_validate_update(imghost):
    h, _ = imghost
    r = h.vmadm("validate", "update", "joyent", input=json.dumps({"alias": "x", "quota": 5}))
    assert r.rc == 0, r
    assert r.err == "VALID 'update' payload for joyent brand VMs.\n"
    r = h.vmadm("validate", "update", "lx", input=json.dumps({"uuid": new_uuid()}))
    assert r.rc == 1
    assert "uuid" in json.loads(r.err)["bad_properties"]


def test_validate_usage(imghost):
    h, _ = imghost
    assert h.vmadm("validate").rc == 2
    assert h.vmadm("validate", "destroy").rc == 2
    assert h.vmadm("validate", "update").rc == 2


def test_validate_tty_and_json_errors(imghost):
    h, _ = imghost
    rc, err = run_with_tty_stdin(h, "validate", "create")
    assert rc == 2
    assert err == "Will not validate from stdin when stdin is a tty.\n"
    r = h.vmadm("validate", "create", input="{")
    assert r.rc == 1
    assert r.err.startswith("Invalid JSON payload: ")

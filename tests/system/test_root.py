"""ZONEHOST_ROOT relocates all host state: two roots on one machine are two
independent hosts, and nothing lands in the host's own locations."""
import json
import os

from conftest import CMD


def payload(img, **kw):
    p = {"brand": "joyent-minimal", "image_uuid": img, "autoboot": False}
    p.update(kw)
    return json.dumps(p)


def test_two_roots_side_by_side(imghost, host2, busybox_image):
    h1, img = imghost
    m, f, _ = busybox_image
    host2.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)

    r1 = h1.vmadm("create", input=payload(img, alias="one"))
    assert r1.rc == 0, r1
    r2 = host2.vmadm("create", input=payload(img, alias="two"))
    assert r2.rc == 0, r2

    l1 = h1.vmadm("list", "-H", "-o", "alias").out.split()
    l2 = host2.vmadm("list", "-H", "-o", "alias").out.split()
    assert l1 == ["one"] and l2 == ["two"]

    # Each root has its own config, pool file and mount point.
    for h in (h1, host2):
        assert os.path.isfile(os.path.join(h.root, "etc/zonehost/pools/zones.json"))
        assert os.path.isfile(os.path.join(h.root, "var/lib/zonehost/zones.img"))
        assert os.path.ismount(os.path.join(h.root, "zones"))


def test_state_stays_under_root(imghost):
    h, img = imghost
    before = os.path.exists("/etc/zonehost"), os.path.exists("/var/lib/zonehost/zones.img")
    assert h.vmadm("create", input=payload(img)).rc == 0
    after = os.path.exists("/etc/zonehost"), os.path.exists("/var/lib/zonehost/zones.img")
    assert before == after
    # The pool is mounted under the root, not at /zones.
    mounts = h.mounts_under_root()
    assert os.path.join(h.root, "zones") in mounts

"""vmadm delete / destroy: the dataset and every trace go; refusal when
indestructible_zoneroot is set."""
import os

from conftest import new_uuid
from test_vmadm_util import create, pool_mount, snapshot


def test_delete(imghost):
    h, img = imghost
    before = snapshot(h)
    u = create(h, img)
    assert os.path.isdir(os.path.join(pool_mount(h), u))
    r = h.vmadm("delete", u)
    assert r.rc == 0, r
    assert r.err == "Successfully deleted VM %s\n" % u
    assert not os.path.exists(os.path.join(pool_mount(h), u))
    assert snapshot(h) == before
    r = h.vmadm("get", u)
    assert r.rc == 1
    assert h.vmadm("list", "-H").out == ""
    # no lock file or run directory left for the deleted VM
    run = os.path.join(h.root, "run", "zonehost")
    for dirpath, dirs, files in os.walk(run):
        assert not [n for n in dirs + files if u in n], (dirpath, dirs, files)


def test_destroy_alias(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("destroy", u)
    assert r.rc == 0, r
    assert r.err == "Successfully deleted VM %s\n" % u


def test_delete_keeps_others_and_image(imghost):
    h, img = imghost
    a = create(h, img)
    b = create(h, img)
    assert h.vmadm("delete", a).rc == 0
    assert h.vmadm("lookup").out == b + "\n"
    assert os.path.isdir(os.path.join(pool_mount(h), img))
    assert h.vmadm("delete", b).rc == 0
    # nothing depends on the image any more
    assert h.imgadm("delete", img).rc == 0


def test_indestructible_zoneroot(imghost):
    h, img = imghost
    u = create(h, img, indestructible_zoneroot=True)
    r = h.vmadm("delete", u)
    assert r.rc == 1
    assert r.err == ("Failed to delete VM %s: indestructible_zoneroot is set, cannot delete\n"
                     % u)
    assert os.path.isdir(os.path.join(pool_mount(h), u, "root"))
    assert h.vmadm("get", u).rc == 0
    assert h.vmadm("update", u, "indestructible_zoneroot=false").rc == 0
    assert h.vmadm("delete", u).rc == 0


def test_delete_unknown(imghost):
    h, _ = imghost
    u = new_uuid()
    r = h.vmadm("delete", u)
    assert r.rc == 1
    assert r.err == "Failed to delete VM %s: zoneadm: %s: No such zone configured\n" % (u, u)
    assert not os.path.exists(os.path.join(h.root, "run", "zonehost", "locks", u + ".lock"))

"""imgadm create (issue 5 §4): an image from a stopped VM, installed on
another host, yields a VM with the same files; bad input leaves no file."""
import json
import os

import pytest

from test_vmadm_util import create, pool_mount

MARKER = "made on host one\n"


def prepare_vm(h, img):
    """A stopped VM with a marker file, a hard link and an escaping symlink."""
    u = create(h, img)
    root = os.path.join(pool_mount(h), u, "root")
    with open(os.path.join(root, "marker"), "w") as f:
        f.write(MARKER)
    os.chmod(os.path.join(root, "marker"), 0o640)
    os.link(os.path.join(root, "marker"), os.path.join(root, "marker-link"))
    os.symlink("/etc/shadow", os.path.join(root, "escape"))
    return u


def created_paths(r):
    lines = r.out.split()
    return lines[-2], lines[-1]


@pytest.mark.parametrize("comp,ext", [("zstd", "tar.zst"), ("gzip", "tar.gz"),
                                      ("xz", "tar.xz")])
def test_create_install_elsewhere(imghost, host2, tmp_path, comp, ext):
    h, img = imghost
    u = prepare_vm(h, img)
    r = h.imgadm("create", "-c", comp, "-o", str(tmp_path), u, "name=mine", "version=1.2",
                 "description=from a vm")
    assert r.rc == 0, r
    mpath, fpath = created_paths(r)
    assert mpath == os.path.join(str(tmp_path), "mine-1.2.imgmanifest")
    assert fpath == os.path.join(str(tmp_path), "mine-1.2." + ext)
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(mpath),
                                                   os.path.basename(fpath)])
    with open(mpath) as f:
        m = json.load(f)
    assert m["v"] == 2 and m["name"] == "mine" and m["version"] == "1.2"
    assert m["type"] == "zone-dataset" and m["state"] == "active"
    assert m["owner"] == "00000000-0000-0000-0000-000000000000"
    assert m["uuid"] != img and "origin" not in m
    assert m["files"][0]["compression"] == comp
    assert m["files"][0]["size"] == os.path.getsize(fpath)

    r = host2.imgadm("install", "-m", mpath, "-f", fpath)
    assert r.rc == 0, r
    u2 = create(host2, m["uuid"])
    root2 = os.path.join(pool_mount(host2), u2, "root")
    with open(os.path.join(root2, "marker")) as f:
        assert f.read() == MARKER
    st = os.stat(os.path.join(root2, "marker"))
    assert st.st_mode & 0o7777 == 0o640
    assert st.st_nlink == 2
    assert os.readlink(os.path.join(root2, "escape")) == "/etc/shadow"
    assert os.path.isfile(os.path.join(root2, "bin", "busybox"))


def test_create_manifest_file_and_defaults(imghost, tmp_path):
    h, img = imghost
    u = prepare_vm(h, img)
    mf = tmp_path / "in.json"
    mf.write_text(json.dumps({"name": "fromfile", "version": "3", "public": True}))
    out = tmp_path / "out"
    out.mkdir()
    r = h.imgadm("create", "-q", "-m", str(mf), "-o", str(out), u, "version=4")
    assert r.rc == 0, r
    assert r.out.split() == [str(out / "fromfile-4.imgmanifest"), str(out / "fromfile-4.tar.gz")]
    m = json.loads((out / "fromfile-4.imgmanifest").read_text())
    assert m["version"] == "4" and m["public"] is True
    assert m["os"] == "linux"


def no_output(d):
    return [f for f in os.listdir(d)] == []


def test_create_refuses_running_vm(imghost, tmp_path):
    h, img = imghost
    u = create(h, img)
    assert h.vmadm("start", u).rc == 0
    try:
        r = h.imgadm("create", "-o", str(tmp_path), u, "name=a", "version=1")
        assert r.rc == 1, r
        assert "stop it" in r.err and u in r.err
        assert no_output(tmp_path)
    finally:
        h.vmadm("stop", "-F", u)


@pytest.mark.parametrize("fields,word", [(["version=1"], '"name"'), (["name=a"], '"version"'),
                                         (["name=a/b", "version=1"], '"name"')])
def test_create_missing_fields(imghost, tmp_path, fields, word):
    h, img = imghost
    u = create(h, img)
    r = h.imgadm("create", "-o", str(tmp_path), u, *fields)
    assert r.rc == 1, r
    assert word in r.err
    assert no_output(tmp_path)


def test_create_bad_input(imghost, tmp_path):
    h, img = imghost
    u = create(h, img)
    r = h.imgadm("create", "-c", "lz4", "-o", str(tmp_path), u, "name=a", "version=1")
    assert r.rc == 1 and "lz4" in r.err, r
    r = h.imgadm("create", "-o", str(tmp_path), "3a6b1c5e-0000-4000-8000-000000000001",
                 "name=a", "version=1")
    assert r.rc == 1 and "does not exist" in r.err, r
    r = h.imgadm("create", "-o", str(tmp_path), "not-a-uuid", "name=a", "version=1")
    assert r.rc == 2, r
    r = h.imgadm("create", "-o", str(tmp_path), u, "novalue")
    assert r.rc == 2, r
    assert no_output(tmp_path)


@pytest.mark.parametrize("outdir", ["/proc", "/nonexistent-zh-dir"])
def test_create_output_not_writable(imghost, outdir):
    h, img = imghost
    u = create(h, img)
    before = set(os.listdir(outdir)) if os.path.isdir(outdir) else None
    r = h.imgadm("create", "-o", outdir, u, "name=a", "version=1")
    assert r.rc == 1, r
    assert "cannot create a file in " + outdir in r.err
    if before is not None:
        assert not [f for f in os.listdir(outdir) if f.startswith(".a-1") or f.startswith("a-1")]

"""Incremental images (origin chains): imgadm create -i, install and import
of an image whose origin must come first, delete and vacuum of origins, and
hostile whiteouts.

A VM made from the busybox image gets files added, changed (one with its
size and mtime kept), deleted, and a file and a directory swapped; the
incremental image of it must hold exactly those changes, and a VM made on
another host from the imported chain must hold exactly the same tree.
Every failure leaves the host as it was.
"""
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from conftest import new_uuid
from test_imgadm import assert_clean, ensure_pool, manifest_for, pool_mount, write_manifest
from test_imgadm_import import imgapi  # noqa: F401  (fixture)
from test_vmadm_util import create


def vm_root(h, u):
    return os.path.join(pool_mount(h), u, "root")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def change_vm(root):
    """Add, change, delete and swap entries; returns nothing, the tree says it all."""
    write(os.path.join(root, "added"), "a new file\n")
    os.makedirs(os.path.join(root, "opt", "app"))
    write(os.path.join(root, "opt", "app", "conf"), "x=1\n")
    os.symlink("/etc/shadow", os.path.join(root, "opt", "app", "escape"))
    write(os.path.join(root, "etc", "hostname"), "changed-host\n")
    os.chmod(os.path.join(root, "etc", "group"), 0o600)
    # Same size, same mtime, new content: only ctime tells.
    pw = os.path.join(root, "etc", "passwd")
    st = os.stat(pw)
    data = open(pw).read()
    write(pw, data.replace("root:x:", "root:y:", 1))
    os.utime(pw, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(pw).st_size == st.st_size
    os.unlink(os.path.join(root, "etc", "hosts"))
    shutil.rmtree(os.path.join(root, "root"))
    os.rmdir(os.path.join(root, "home"))
    write(os.path.join(root, "home"), "a file where a directory was\n")
    os.unlink(os.path.join(root, "linuxrc"))
    os.mkdir(os.path.join(root, "linuxrc"))
    write(os.path.join(root, "linuxrc", "f"), "a directory where a symlink was\n")


EXPECTED_MEMBERS = {
    "added", "opt", "opt/app", "opt/app/conf", "opt/app/escape",
    "etc", "etc/hostname", "etc/group", "etc/passwd", "etc/.wh.hosts",
    ".wh.root", "home", "linuxrc", "linuxrc/f",
}


def tree(root):
    """path -> (kind, content hash or link target, mode, uid, gid) of everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                what = ("d", None)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = ("f", hashlib.sha1(f.read()).hexdigest())
            else:
                what = ("o", None)
            out[os.path.relpath(p, root)] = what + (st.st_mode, st.st_uid, st.st_gid)
    return out


def create_incremental(h, img, outdir, changes=change_vm, name="inc"):
    """A stopped VM of img, changed; returns (vm uuid, manifest path, file path, manifest)."""
    u = create(h, img)
    changes(vm_root(h, u))
    r = h.imgadm("create", "-i", "-o", str(outdir), u, "name=" + name, "version=1")
    assert r.rc == 0, r
    assert r.out.startswith("Created incremental image %s@1" % name), r
    mpath, fpath = r.out.split()[-2:]
    with open(mpath) as f:
        return u, mpath, fpath, json.load(f)


def serve(srv, mpath, fpath):
    with open(mpath) as f:
        m = json.load(f)
    with open(fpath, "rb") as f:
        srv.images[m["uuid"]] = (m, f.read())
    return m


def is_readonly(path):
    cp = subprocess.run(["btrfs", "property", "get", path, "ro"], capture_output=True, text=True)
    return cp.stdout.strip() == "ro=true"


def test_create_import_chain(imghost, host2, imgapi, tmp_path):  # noqa: F811
    h, img = imghost
    u, mpath, fpath, m = create_incremental(h, img, tmp_path)
    assert m["origin"] == img and m["uuid"] not in (img, u)
    with tarfile.open(fpath) as t:
        assert set(t.getnames()) == EXPECTED_MEMBERS
        assert t.getmember("etc/.wh.hosts").size == 0
    inc = serve(imgapi, mpath, fpath)["uuid"]

    host2.ok("imgadm", "sources", "-a", imgapi.url)
    r = host2.ok("imgadm", "import", inc)
    assert r.out.splitlines() == [
        "Imported origin image %s (busybox@%s)" % (img, imgapi.manifest["version"]),
        "Imported image %s (inc@1)" % inc]
    # Both manifests first, then the origin's file, then the incremental's.
    assert imgapi.requests == ["/images/" + inc, "/images/" + img,
                               "/images/%s/file" % img, "/images/%s/file" % inc]

    assert host2.ok("imgadm", "get", inc).json()["manifest"]["origin"] == img
    r = host2.ok("imgadm", "list", "-H", "-o", "uuid,origin")
    assert sorted(r.out.split("\n")[:-1]) == sorted(["%s  -" % img, "%s  %s" % (inc, img)])
    mp = pool_mount(host2)
    assert is_readonly(os.path.join(mp, inc)) and is_readonly(os.path.join(mp, inc + "@final"))

    u2 = create(host2, inc)
    got, want = tree(vm_root(host2, u2)), tree(vm_root(h, u))
    assert got == want
    root2 = vm_root(host2, u2)
    assert open(os.path.join(root2, "added")).read() == "a new file\n"
    assert open(os.path.join(root2, "etc", "hostname")).read() == "changed-host\n"
    assert "root:y:" in open(os.path.join(root2, "etc", "passwd")).read()
    assert not os.path.lexists(os.path.join(root2, "etc", "hosts"))
    assert not os.path.lexists(os.path.join(root2, "root"))
    assert os.path.isfile(os.path.join(root2, "bin", "busybox"))
    # The origin itself is untouched.
    assert os.path.isfile(os.path.join(mp, img + "@final", "root", "etc", "hosts"))

    r = host2.imgadm("delete", img)
    assert r.rc == 1, r
    assert "origin of installed image " + inc in r.err, r
    host2.ok("imgadm", "get", img)

    # The VM keeps inc, and so inc's origin.
    assert host2.ok("imgadm", "vacuum", "-n").out == ""
    host2.ok("vmadm", "delete", u2)
    r = host2.ok("imgadm", "vacuum", "-n")
    assert r.out.splitlines() == ["Would delete image %s (inc@1)" % inc,
                                  "Would delete image %s (busybox@%s)" % (
                                      img, imgapi.manifest["version"])]
    r = host2.ok("imgadm", "vacuum")
    assert [l.split()[2] for l in r.out.splitlines()] == [inc, img]
    assert_clean(host2)


def second_change(root):
    write(os.path.join(root, "added"), "changed again\n")
    os.unlink(os.path.join(root, "opt", "app", "conf"))
    write(os.path.join(root, "etc", "hosts"), "127.0.0.1 back\n")


def test_chain_of_three(imghost, host2, imgapi, tmp_path):  # noqa: F811
    """busybox <- inc1 <- inc2: create -i from a VM of an incremental image; import brings
    both origins, oldest first."""
    h, img = imghost
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    _, m1path, f1path, m1 = create_incremental(h, img, tmp_path / "1", name="inc1")
    h.ok("imgadm", "install", "-m", m1path, "-f", f1path)
    u2, m2path, f2path, m2 = create_incremental(h, m1["uuid"], tmp_path / "2", second_change,
                                                name="inc2")
    assert m2["origin"] == m1["uuid"]
    with tarfile.open(f2path) as t:
        assert set(t.getnames()) == {"added", "opt/app", "opt/app/.wh.conf", "etc",
                                     "etc/hosts"}
    serve(imgapi, m1path, f1path)
    serve(imgapi, m2path, f2path)
    host2.ok("imgadm", "sources", "-a", imgapi.url)
    r = host2.ok("imgadm", "import", m2["uuid"])
    assert [l.split()[-2] for l in r.out.splitlines()] == [img, m1["uuid"], m2["uuid"]]
    u3 = create(host2, m2["uuid"])
    assert tree(vm_root(host2, u3)) == tree(vm_root(h, u2))
    r = host2.imgadm("delete", m1["uuid"])
    assert r.rc == 1 and m2["uuid"] in r.err, r


def small_change(root):
    write(os.path.join(root, "added"), "small\n")
    os.unlink(os.path.join(root, "etc", "hosts"))


def test_install_needs_origin(imghost, host2, busybox_image, tmp_path):
    h, img = imghost
    _, mpath, fpath, m = create_incremental(h, img, tmp_path, small_change)
    ensure_pool(host2)
    r = host2.imgadm("install", "-m", mpath, "-f", fpath)
    assert r.rc == 1, r
    assert "OriginNotInstalled" in r.err and img in r.err and m["uuid"] in r.err, r
    assert r.err.count("\n") == 1, r
    assert_clean(host2)

    bm, bf, _ = busybox_image
    host2.ok("imgadm", "install", "-m", bm, "-f", bf)
    r = host2.ok("imgadm", "install", "-m", mpath, "-f", fpath)
    assert "Installed image " + m["uuid"] in r.out
    root = os.path.join(pool_mount(host2), m["uuid"], "root")
    assert open(os.path.join(root, "added")).read() == "small\n"
    assert not os.path.lexists(os.path.join(root, "etc", "hosts"))


def test_import_failure_removes_origin(imghost, host2, imgapi, tmp_path):  # noqa: F811
    """The incremental's file is corrupt: the origin imported for it goes again."""
    h, img = imghost
    _, mpath, fpath, _ = create_incremental(h, img, tmp_path, small_change)
    m = serve(imgapi, mpath, fpath)
    m["files"][0]["sha1"] = "0" * 40
    ensure_pool(host2)
    host2.ok("imgadm", "sources", "-a", imgapi.url)
    r = host2.imgadm("import", m["uuid"])
    assert r.rc == 1 and "sha1" in r.err, r
    assert "/images/%s/file" % img in imgapi.requests
    assert_clean(host2)


def chain_manifests(base, n, last_origin=None):
    """n manifests (no files served), each the origin of the one before; the last has
    last_origin."""
    uuids = [new_uuid() for _ in range(n)]
    ms = []
    for i, u in enumerate(uuids):
        origin = uuids[i + 1] if i + 1 < n else last_origin
        m = dict(base, uuid=u, name="chain%d" % i)
        if origin:
            m["origin"] = origin
        ms.append(m)
    return ms


@pytest.mark.parametrize("case,word", [("cycle", "cycle"), ("deep", "longer than 32")])
def test_import_bad_chain(host, imgapi, case, word):  # noqa: F811
    base = dict(imgapi.manifest)
    if case == "cycle":
        ms = chain_manifests(base, 3)
        ms[-1]["origin"] = ms[0]["uuid"]
    else:
        ms = chain_manifests(base, 33, last_origin=None)
    for m in ms:
        imgapi.images[m["uuid"]] = (m, None)
    ensure_pool(host)
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.imgadm("import", ms[0]["uuid"])
    assert r.rc == 1 and word in r.err, r
    assert not [q for q in imgapi.requests if q.endswith("/file")]
    assert_clean(host)


def test_import_chain_of_32(host, imgapi):  # noqa: F811
    """32 images is the limit, not past it: the chain resolves (and fails only on the
    missing files)."""
    ms = chain_manifests(dict(imgapi.manifest), 32)
    for m in ms:
        imgapi.images[m["uuid"]] = (m, None)
    ensure_pool(host)
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.imgadm("import", ms[0]["uuid"])
    assert r.rc == 1 and "longer than" not in r.err and "404" in r.err, r
    assert_clean(host)


def test_create_incremental_reserved_name(imghost, tmp_path):
    h, img = imghost
    u = create(h, img)
    write(os.path.join(vm_root(h, u), "etc", ".wh.evil"), "x")
    r = h.imgadm("create", "-i", "-o", str(tmp_path), u, "name=a", "version=1")
    assert r.rc == 1 and ".wh." in r.err and "etc/.wh.evil" in r.err, r
    assert os.listdir(tmp_path) == []


# ---- hostile incremental tars ----

def tar_bytes(entries):
    """entries: (name, kind, arg) with kind file (arg: bytes), dir, symlink (arg: target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
                t.addfile(ti)
            else:
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
    return buf.getvalue()


@pytest.fixture
def victim(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "victim").write_text("keep me\n")
    return d


HOSTILE = {
    "dotdot": [("../.wh.victim", "file", b"")],
    "dotdot-deep": [("etc/../../.wh.victim", "file", b"")],
    "absolute": [("/etc/.wh.passwd", "file", b"")],
    "reserved": [("etc/.wh..wh.plnk", "file", b"")],
    "opaque-through-symlink": [("lnk", "symlink", "VICTIM"), ("lnk/.wh..wh..opq", "file", b"")],
    "whiteout-as-dir": [("etc/.wh.x/y", "file", b"")],
    "through-symlink": [("lnk", "symlink", "VICTIM"), ("lnk/.wh.victim", "file", b"")],
    "through-relative-symlink": [("lnk", "symlink", "../../../../../../../../VICTIM"),
                                 ("lnk/.wh.victim", "file", b"")],
    "own-entry": [("newdir", "dir", None), ("newdir/f", "file", b"x"),
                  (".wh.newdir", "file", b"")],
    "replace-own-dir": [("newdir", "dir", None), ("newdir", "symlink", "VICTIM")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_whiteouts(imghost, busybox_image, tmp_path, victim, case):
    h, img = imghost
    entries = [(n, k, a.replace("VICTIM", str(victim)) if isinstance(a, str) else a)
               for n, k, a in HOSTILE[case]]
    data = tar_bytes(entries)
    if case == "absolute":
        assert b"/etc/.wh.passwd" in data  # python kept the leading slash
    f = tmp_path / "evil.tar"
    f.write_bytes(data)
    m = manifest_for(busybox_image[2], data, origin=img, name="evil")
    m["files"][0]["compression"] = "none"
    mp = pool_mount(h)
    before = sorted(os.listdir(mp))
    r = h.imgadm("install", "-m", write_manifest(tmp_path, m), "-f", str(f))
    assert r.rc == 1, r
    assert "entry" in r.err and r.err.count("\n") == 1, r
    assert (victim / "victim").read_text() == "keep me\n"
    assert sorted(os.listdir(mp)) == before
    assert os.listdir(os.path.join(mp, ".imgadm")) == [img + ".json"]
    assert os.path.isfile(os.path.join(mp, img + "@final", "root", "etc", "passwd"))


def test_whiteout_of_missing_entry_is_fine(imghost, busybox_image, tmp_path):
    h, img = imghost
    data = tar_bytes([(".wh.nothing-here", "file", b""), ("nope/.wh.x", "file", b""),
                      ("etc/.wh.hosts", "file", b"")])
    f = tmp_path / "ok.tar"
    f.write_bytes(data)
    m = manifest_for(busybox_image[2], data, origin=img, name="ok")
    m["files"][0]["compression"] = "none"
    h.ok("imgadm", "install", "-m", write_manifest(tmp_path, m), "-f", str(f))
    root = os.path.join(pool_mount(h), m["uuid"], "root")
    assert not os.path.lexists(os.path.join(root, "etc", "hosts"))
    assert not os.path.lexists(os.path.join(root, "nope"))

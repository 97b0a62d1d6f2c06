"""imgadm: install, list, get, delete of zone images (imgadm.8).

Every failure case checks that the host is exactly as it was: no subvolume
or directory left in the pool mount except .imgadm, and no record.
"""
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from conftest import CMD, TOOLS, new_uuid

IMGADM = os.path.join(CMD, "imgadm")


def mkimage(tmp_path, *args):
    cp = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), str(tmp_path)] + list(args),
                        capture_output=True, text=True, check=True)
    lines = cp.stdout.splitlines()
    assert len(lines) == 2, cp.stdout
    with open(lines[0]) as f:
        return lines[0], lines[1], json.load(f)


def write_manifest(tmp_path, manifest, name="m.json"):
    p = tmp_path / name
    p.write_text(json.dumps(manifest))
    return str(p)


def manifest_for(manifest, data, **over):
    m = json.loads(json.dumps(manifest))
    m["uuid"] = new_uuid()
    m["files"][0]["sha1"] = hashlib.sha1(data).hexdigest()
    m["files"][0]["size"] = len(data)
    m.update(over)
    return m


def pool_mount(host):
    return os.path.join(host.root, "zones")


def ensure_pool(host):
    """Make the default pool exist (a failing install must not be the first command)."""
    host.ok(IMGADM, "list")
    r = host.imgadm("get", new_uuid())
    assert r.rc == 3, r
    assert os.path.isdir(pool_mount(host))


def assert_clean(host):
    mp = pool_mount(host)
    left = sorted(n for n in os.listdir(mp)    # VMs' configs: an empty directory is no VM
                  if n != ".vmadm" or os.listdir(os.path.join(mp, n)))
    assert left in ([], [".imgadm"]), left
    rec = os.path.join(mp, ".imgadm")
    if os.path.isdir(rec):
        assert os.listdir(rec) == []
    r = host.imgadm("list", "-H")
    assert r.rc == 0 and r.out == "", r


def install_fails(host, m, f, *want):
    r = host.imgadm("install", "-m", m, "-f", f)
    assert r.rc == 1, r
    assert r.err.count("\n") == 1, r  # one message
    for w in want:
        assert w in r.err, r
    assert_clean(host)
    return r


# ---- installing ----

def test_install_gzip(imghost, busybox_image):
    host, uuid = imghost
    mp = pool_mount(host)
    assert sorted(os.listdir(mp)) == [".imgadm", uuid, uuid + "@final"]
    ro = subprocess.run(["btrfs", "property", "get", os.path.join(mp, uuid), "ro"],
                        capture_output=True, text=True)
    assert ro.stdout.strip() == "ro=true", ro
    ro = subprocess.run(["btrfs", "property", "get", os.path.join(mp, uuid + "@final"), "ro"],
                        capture_output=True, text=True)
    assert ro.stdout.strip() == "ro=true", ro
    root = os.path.join(mp, uuid, "root")
    assert os.path.isfile(os.path.join(root, "bin", "busybox"))
    assert os.readlink(os.path.join(root, "sbin", "init")) == "/bin/busybox"
    assert os.stat(os.path.join(root, "tmp")).st_mode & 0o7777 == 0o1777
    assert "root:x:0:0" in open(os.path.join(root, "etc", "passwd")).read()
    assert "::sysinit:" in open(os.path.join(root, "etc", "inittab")).read()
    assert os.path.isfile(os.path.join(mp, uuid + "@final", "root", "bin", "busybox"))
    rec = json.load(open(os.path.join(mp, ".imgadm", uuid + ".json")))
    assert rec["manifest"] == busybox_image[2]
    assert rec["zpool"] == "zones"


def test_install_output_and_skip(host, busybox_image):
    m, f, manifest = busybox_image
    r = host.ok(IMGADM, "install", "-m", m, "-f", f)
    want = "Installed image %s (busybox@%s)" % (manifest["uuid"], manifest["version"])
    assert want in r.out, r
    r = host.ok(IMGADM, "install", "-m", m, "-f", f)
    assert r.out.strip() == "Image %s (busybox@%s) is already installed, skipping" % (
        manifest["uuid"], manifest["version"]), r
    r = host.ok(IMGADM, "install", "-q", "-P", "zones", "-m", m, "-f", f)


@pytest.mark.parametrize("comp", ["none", "bzip2", "xz", "zstd"])
def test_install_compressions(host, tmp_path, comp):
    m, f, manifest = mkimage(tmp_path, "--compression", comp, "--name", "bb-" + comp)
    assert manifest["files"][0]["compression"] == comp
    host.ok(IMGADM, "install", "-m", m, "-f", f)
    info = host.ok(IMGADM, "get", manifest["uuid"]).json()
    assert info["manifest"]["name"] == "bb-" + comp
    assert os.path.isfile(os.path.join(pool_mount(host), manifest["uuid"], "root", "bin", "busybox"))


def test_mkimage_options(tmp_path):
    u = new_uuid()
    m, f, manifest = mkimage(tmp_path, "--uuid", u, "--version", "9.9", "--name", "tiny")
    assert manifest["uuid"] == u and manifest["version"] == "9.9" and manifest["name"] == "tiny"
    assert manifest["v"] == 2 and manifest["type"] == "zone-dataset" and manifest["os"] == "linux"
    data = open(f, "rb").read()
    assert manifest["files"][0]["size"] == len(data)
    assert manifest["files"][0]["sha1"] == hashlib.sha1(data).hexdigest()
    with tarfile.open(f) as t:
        names = t.getnames()
        assert "./sbin/init" in names and "./etc/inittab" in names
        assert all(i.uid == 0 and i.gid == 0 for i in t.getmembers())


def test_published_at_set_if_missing(host, busybox_image, tmp_path):
    m, f, manifest = busybox_image
    data = open(f, "rb").read()
    mm = manifest_for(manifest, data)
    del mm["published_at"]
    host.ok(IMGADM, "install", "-m", write_manifest(tmp_path, mm), "-f", f)
    info = host.ok(IMGADM, "get", mm["uuid"]).json()
    assert info["manifest"]["published_at"].endswith("Z")


# ---- list / get ----

def test_list_get(imghost, busybox_image):
    host, uuid = imghost
    r = host.ok(IMGADM, "list")
    lines = r.out.splitlines()
    assert lines[0].split() == ["UUID", "NAME", "VERSION", "OS", "TYPE", "PUB"]
    assert lines[0].startswith("UUID                                  NAME")
    f = lines[1].split()
    assert f[:5] == [uuid, "busybox", busybox_image[2]["version"], "linux", "zone-dataset"]
    assert f[5] == busybox_image[2]["published_at"][:10]

    r = host.ok(IMGADM, "list", "-H", "-o", "uuid,name,clones")
    assert r.out.split() == [uuid, "busybox", "0"]

    js = host.ok(IMGADM, "list", "-j").json()
    assert len(js) == 1 and js[0]["manifest"]["uuid"] == uuid
    assert js[0]["zpool"] == "zones" and js[0]["clones"] == 0

    assert host.ok(IMGADM, "list", "-H", "name=busybox").out.split()[0] == uuid
    assert host.ok(IMGADM, "list", "-H", "name=nope").out == ""
    assert host.ok(IMGADM, "list", "-H", "name=~usy").out.split()[0] == uuid
    assert host.ok(IMGADM, "list", "-H", "public=false").out.split()[0] == uuid

    info = host.ok(IMGADM, "get", uuid).json()
    assert info["manifest"]["uuid"] == uuid
    assert info["zpool"] == "zones" and info["clones"] == 0
    assert host.ok(IMGADM, "get", "-P", "zones", uuid).json() == info


def test_list_sort(host, tmp_path):
    uuids = []
    for n in ("bbb", "aaa", "ccc"):
        m, f, man = mkimage(tmp_path / n, "--name", n)
        host.ok(IMGADM, "install", "-m", m, "-f", f)
        uuids.append(man["uuid"])
    names = host.ok(IMGADM, "list", "-H", "-o", "name", "-s", "name").out.split()
    assert names == ["aaa", "bbb", "ccc"]
    names = host.ok(IMGADM, "list", "-H", "-o", "name", "-s", "-name").out.split()
    assert names == ["ccc", "bbb", "aaa"]


def test_get_missing(host):
    u = new_uuid()
    r = host.imgadm("get", u)
    assert r.rc == 3, r
    assert r.err.strip() == 'imgadm: error (ImageNotInstalled): image "%s" was not found on zpool "zones"' % u
    r = host.imgadm("delete", u)
    assert r.rc == 3, r


def test_usage_errors(host, busybox_image):
    m, f, _ = busybox_image
    assert host.imgadm("install", "-m", m).rc == 2
    assert host.imgadm("install", "-f", f).rc == 2
    assert host.imgadm("get").rc == 2
    assert host.imgadm("get", "not-a-uuid").rc == 2
    assert host.imgadm("frobnicate").rc == 2
    assert host.imgadm("list", "-Z").rc == 2
    assert host.imgadm("list", "garbage").rc == 2
    assert host.imgadm("help").rc == 0


# ---- delete ----

def test_delete_and_reinstall(imghost, busybox_image):
    host, uuid = imghost
    m, f, _ = busybox_image
    host.ok(IMGADM, "delete", uuid)
    assert_clean(host)
    assert host.imgadm("get", uuid).rc == 3
    host.ok(IMGADM, "install", "-m", m, "-f", f)
    assert host.ok(IMGADM, "get", uuid).json()["manifest"]["uuid"] == uuid
    host.ok(IMGADM, "destroy", uuid)
    assert_clean(host)


def fake_vm(host, image_uuid):
    """A VM as the store sees it: dataset <vm>, its config .vmadm/<vm>.json."""
    vm = new_uuid()
    path = os.path.join(pool_mount(host), vm)
    subprocess.run(["btrfs", "subvolume", "create", path], check=True, capture_output=True)
    os.makedirs(os.path.join(pool_mount(host), ".vmadm"), exist_ok=True)
    with open(os.path.join(pool_mount(host), ".vmadm", vm + ".json"), "w") as f:
        json.dump({"uuid": vm, "image_uuid": image_uuid, "brand": "joyent"}, f)
    return vm


def test_delete_refused_while_used(imghost):
    host, uuid = imghost
    vm = fake_vm(host, uuid)
    assert host.ok(IMGADM, "get", uuid).json()["clones"] == 1
    r = host.imgadm("delete", uuid)
    assert r.rc == 1, r
    assert 'imgadm: error (ImageHasDependentClones): image "%s" has dependent clones: %s' % (
        uuid, vm) in r.err, r
    fake_vm(host, uuid)
    r = host.imgadm("delete", uuid)
    assert r.rc == 1 and "and 1 others" in r.err, r
    assert host.ok(IMGADM, "list", "-H", "-o", "clones").out.strip() == "2"
    assert host.ok(IMGADM, "get", uuid).json()["clones"] == 2
    assert os.path.isdir(os.path.join(pool_mount(host), uuid + "@final"))


# ---- bad input: one message, exit 1, host unchanged ----

def test_bad_sha1(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    mm = json.loads(json.dumps(manifest))
    mm["files"][0]["sha1"] = "0" * 40
    install_fails(host, write_manifest(tmp_path, mm), f, "-f " + f, "SHA-1", "files[0].sha1")


def test_malformed_sha1(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    mm = json.loads(json.dumps(manifest))
    mm["files"][0]["sha1"] = "xyz"
    install_fails(host, write_manifest(tmp_path, mm), f,
                  'manifest: "files[0].sha1" must be 40 hex digits')


def test_truncated_file(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    data = open(f, "rb").read()
    bad = tmp_path / "trunc.tar.gz"
    bad.write_bytes(data[: len(data) // 2])
    install_fails(host, m, str(bad), "-f " + str(bad), "files[0].size")


def test_truncated_file_matching_manifest(host, busybox_image, tmp_path):
    """The archive itself is cut short, and the manifest agrees: libarchive must fail cleanly."""
    ensure_pool(host)
    m, f, manifest = busybox_image
    data = open(f, "rb").read()[:600000]
    bad = tmp_path / "trunc.tar.gz"
    bad.write_bytes(data)
    install_fails(host, write_manifest(tmp_path, manifest_for(manifest, data)), str(bad),
                  "-f " + str(bad))


def test_corrupt_file(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    data = bytearray(open(f, "rb").read())
    for i in range(1000, 1100):
        data[i] ^= 0xFF
    bad = tmp_path / "corrupt.tar.gz"
    bad.write_bytes(bytes(data))
    install_fails(host, m, str(bad), "-f " + str(bad), "SHA-1")


def test_corrupt_file_matching_manifest(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    data = bytearray(open(f, "rb").read())
    for i in range(20000, 20100):
        data[i] ^= 0xFF
    bad = tmp_path / "corrupt.tar.gz"
    bad.write_bytes(bytes(data))
    install_fails(host, write_manifest(tmp_path, manifest_for(manifest, bytes(data))),
                  str(bad), "-f " + str(bad))


def test_not_an_archive(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    data = b"this is not a tar file\n" * 100
    bad = tmp_path / "junk.tar.gz"
    bad.write_bytes(data)
    install_fails(host, write_manifest(tmp_path, manifest_for(manifest, data)), str(bad),
                  "-f " + str(bad), "not a valid tar archive")


def test_wrong_size(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    mm = json.loads(json.dumps(manifest))
    mm["files"][0]["size"] += 1
    install_fails(host, write_manifest(tmp_path, mm), f, "-f " + f, "files[0].size")


def test_missing_file(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    missing = str(tmp_path / "nope.tar.gz")
    install_fails(host, m, missing, "-f " + missing, "No such file")


def test_missing_manifest(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    missing = str(tmp_path / "nope.json")
    install_fails(host, missing, f, "-m " + missing, "No such file")


def test_bad_manifest_json(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    p = tmp_path / "bad.json"
    p.write_text('{\n  "v": 2,\n  "uuid": oops\n}\n')
    install_fails(host, str(p), f, "-m " + str(p), "line 3", "column")


@pytest.mark.parametrize("field", ["uuid", "name", "version", "type", "os", "files", "v"])
def test_missing_manifest_field(host, busybox_image, tmp_path, field):
    ensure_pool(host)
    m, f, manifest = busybox_image
    mm = json.loads(json.dumps(manifest))
    del mm[field]
    install_fails(host, write_manifest(tmp_path, mm), f, 'manifest: "%s" is required' % field)


def test_unsupported_type(host, busybox_image, tmp_path):
    ensure_pool(host)
    m, f, manifest = busybox_image
    mm = json.loads(json.dumps(manifest))
    mm["type"] = "lxd"  # docker images install (imgadm import -f, test_imgadm_docker.py)
    install_fails(host, write_manifest(tmp_path, mm), f, '"type"', "lxd")


def evil_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        d = tarfile.TarInfo("./etc")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        for kind, name, arg in entries:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = arg
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = arg
                t.addfile(ti)
    return buf.getvalue()


@pytest.mark.parametrize("case", [
    [("file", "../escape", b"pwned\n")],
    [("file", "./etc/../../escape", b"pwned\n")],
    [("file", "/escape-abs", b"pwned\n")],
    [("symlink", "./out", "@OUTSIDE@"), ("file", "./out/escape", b"pwned\n")],
    [("symlink", "./etc/rel", "../../../../../../@OUTSIDE@"), ("file", "./etc/rel/escape", b"pwned\n")],
    [("hardlink", "./etc/hl", "../../@OUTSIDE@/victim")],
], ids=["dotdot", "dotdot-inner", "absolute", "abs-symlink-dir", "rel-symlink-dir", "hardlink-out"])
def test_archive_cannot_escape(host, busybox_image, tmp_path, case):
    ensure_pool(host)
    m, f, manifest = busybox_image
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("victim\n")
    before = sorted(os.listdir(outside))
    entries = [(k, n, a.replace("@OUTSIDE@", str(outside).lstrip("/") if a.startswith("..") else str(outside))
                if isinstance(a, str) else a) for k, n, a in case]
    data = evil_tar(entries)
    bad = tmp_path / "evil.tar.gz"
    bad.write_bytes(data)
    pm = pool_mount(host)
    install_fails(host, write_manifest(tmp_path, manifest_for(manifest, data)), str(bad),
                  "-f " + str(bad))
    assert sorted(os.listdir(outside)) == before
    assert (outside / "victim").read_text() == "victim\n"
    assert os.stat(outside / "victim").st_nlink == 1
    for p in (os.path.join(host.root, "escape"), os.path.join(pm, "escape"), "/escape-abs",
              os.path.join(os.path.dirname(pm), "escape")):
        assert not os.path.exists(p), p


def test_absolute_symlink_is_kept_not_followed(host, busybox_image, tmp_path):
    """A symlink pointing outside is fine as a symlink: it is created, never followed."""
    ensure_pool(host)
    m, f, manifest = busybox_image
    outside = tmp_path / "outside"
    outside.mkdir()
    data = evil_tar([("symlink", "./etc/link", str(outside)),
                     ("file", "./etc/after", b"ok\n")])
    bad = tmp_path / "link.tar.gz"
    bad.write_bytes(data)
    mm = manifest_for(manifest, data)
    host.ok(IMGADM, "install", "-m", write_manifest(tmp_path, mm), "-f", str(bad))
    root = os.path.join(pool_mount(host), mm["uuid"], "root")
    assert os.readlink(os.path.join(root, "etc", "link")) == str(outside)
    assert os.listdir(outside) == []

"""imgadm install and import of zvol images (imgadm.8, docs/architecture.md §18).

A zvol image's file is a compressed raw disk; installed, it is the
read-only subvolume <pool>/<uuid> holding one sparse raw file "disk" of
exactly image_size MiB.  Hostile files (a size that differs from
image_size, a lying SHA-1, a compression that is not the declared one, an
image_size larger than the pool) are refused with exit 1 and the pool as
it was.
"""
import bz2
import gzip
import hashlib
import json
import lzma
import os
import subprocess

import pytest

from conftest import CMD, new_uuid
from test_imgadm import assert_clean, ensure_pool, pool_mount
from test_imgadm_import import imgapi  # noqa: F401 (fixture)

MIB = 1 << 20
COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress,
            "none": lambda b: b}


def raw_disk(mib, marks=((0, b"BOOT"), (5 * MIB + 7, b"middle"))):
    d = bytearray(mib * MIB)
    for off, b in marks:
        d[off:off + len(b)] = b
    return bytes(d)


def zvol_manifest(data, comp, image_size, **over):
    m = {"v": 2, "uuid": new_uuid(), "owner": "00000000-0000-0000-0000-000000000000",
         "name": "zvol-test", "version": "1.0", "state": "active", "disabled": False,
         "public": True, "published_at": "2024-01-01T00:00:00Z", "type": "zvol",
         "os": "linux", "image_size": image_size,
         "files": [{"sha1": hashlib.sha1(data).hexdigest(), "size": len(data),
                    "compression": comp}]}
    m.update(over)
    return m


def write_image(tmp_path, raw, comp="gzip", image_size=None, **over):
    data = COMPRESS[comp](raw)
    m = zvol_manifest(data, comp, len(raw) // MIB if image_size is None else image_size, **over)
    mp, fp = tmp_path / ("%s.json" % m["uuid"]), tmp_path / ("%s.file" % m["uuid"])
    mp.write_text(json.dumps(m))
    fp.write_bytes(data)
    return m, str(mp), str(fp)


def install_zvol(host, tmp_path, raw, comp="gzip"):
    m, mp, fp = write_image(tmp_path, raw, comp)
    host.ok("imgadm", "install", "-m", mp, "-f", fp)
    return m


def disk_of(host, uuid):
    return os.path.join(pool_mount(host), uuid, "disk")


@pytest.mark.parametrize("comp", ["gzip", "bzip2", "xz", "none"])
def test_install_zvol(host, tmp_path, comp):
    raw = raw_disk(8)
    m = install_zvol(host, tmp_path, raw, comp)
    u = m["uuid"]
    path = disk_of(host, u)
    with open(path, "rb") as f:
        assert f.read() == raw
    st = os.stat(path)
    assert st.st_size == 8 * MIB
    assert st.st_blocks * 512 <= 64 * 1024, "zero blocks must stay holes"
    assert os.listdir(os.path.join(pool_mount(host), u)) == ["disk"]
    assert os.path.isfile(os.path.join(pool_mount(host), u + "@final", "disk"))
    got = host.ok("imgadm", "get", u).json()
    assert got["manifest"]["type"] == "zvol" and got["manifest"]["image_size"] == 8
    assert host.ok("imgadm", "list", "-H", "-o", "uuid,type").out.split() == [u, "zvol"]
    host.ok("imgadm", "delete", u)
    assert_clean(host)


def refused(host, mp, fp, *words):
    ensure_pool(host)
    r = host.imgadm("install", "-m", mp, "-f", fp)
    assert r.rc == 1, r
    for w in words:
        assert w in r.err, r
    assert_clean(host)


@pytest.mark.parametrize("comp", ["gzip", "xz", "none"])
def test_size_differs(host, tmp_path, comp):
    """A disk that decompresses to less or to more than image_size: refused."""
    raw = raw_disk(4)
    _, mp, fp = write_image(tmp_path, raw, comp, image_size=5)
    refused(host, mp, fp, "image_size", "decompresses to %d bytes" % len(raw))
    _, mp, fp = write_image(tmp_path, raw, comp, image_size=3)
    refused(host, mp, fp, "decompresses to more than", "image_size")
    _, mp, fp = write_image(tmp_path, raw + b"x", comp, image_size=4)
    refused(host, mp, fp, "decompresses to more than")


def test_lying_sha1(host, tmp_path):
    m, mp, fp = write_image(tmp_path, raw_disk(4))
    m["files"][0]["sha1"] = "0" * 40
    with open(mp, "w") as f:
        json.dump(m, f)
    refused(host, mp, fp, "SHA-1")


def test_bomb(host, tmp_path):
    """image_size far beyond the pool (a disk of zeros compresses to little)."""
    _, mp, fp = write_image(tmp_path, raw_disk(4), "xz", image_size=1 << 20)  # 1 TiB
    refused(host, mp, fp, "image_size", "free")
    # a stream much larger than it says: cut off as soon as it passes image_size
    _, mp, fp = write_image(tmp_path, bytes(64 * MIB), "xz", image_size=1)
    refused(host, mp, fp, "decompresses to more than")


@pytest.mark.parametrize("case", ["missing", "zero", "string"])
def test_bad_image_size(host, tmp_path, case):
    over = {"zero": 0, "string": "4"}
    m, mp, fp = write_image(tmp_path, raw_disk(4))
    if case == "missing":
        del m["image_size"]
    else:
        m["image_size"] = over[case]
    with open(mp, "w") as f:
        json.dump(m, f)
    refused(host, mp, fp, "image_size")


def test_wrong_compression(host, tmp_path):
    """files[0].compression says gzip, the file is raw (or another format)."""
    raw = raw_disk(4)
    data = bz2.compress(raw)
    m = zvol_manifest(data, "gzip", 4)
    mp, fp = tmp_path / "m.json", tmp_path / "f"
    mp.write_text(json.dumps(m))
    fp.write_bytes(data)
    refused(host, str(mp), str(fp), "cannot decompress")
    data = gzip.compress(raw)[:-100]  # truncated stream
    m = zvol_manifest(data, "gzip", 4)
    mp.write_text(json.dumps(m))
    fp.write_bytes(data)
    refused(host, str(mp), str(fp), "cannot decompress")


def test_import_zvol(host, imgapi):  # noqa: F811
    raw = raw_disk(6)
    data = gzip.compress(raw)
    m = zvol_manifest(data, "gzip", 6)
    imgapi.images[m["uuid"]] = (m, data)
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.ok("imgadm", "import", m["uuid"])
    assert "Imported image " + m["uuid"] in r.out
    with open(disk_of(host, m["uuid"]), "rb") as f:
        assert f.read() == raw
    assert host.ok("imgadm", "get", m["uuid"]).json()["source"] == imgapi.url


def test_import_zvol_size_differs(host, imgapi):  # noqa: F811
    data = gzip.compress(raw_disk(3))
    m = zvol_manifest(data, "gzip", 4)
    imgapi.images[m["uuid"]] = (m, data)
    ensure_pool(host)
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.imgadm("import", m["uuid"])
    assert r.rc == 1 and "image_size" in r.err, r
    assert_clean(host)


def proc_status(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return None


def test_decompressor_is_confined(host, tmp_path):
    """Seen from /proc while it runs: the decompressor child of imgadm has uid
    and gid nobody, no groups, no capabilities, no_new_privs, a seccomp filter,
    and holds only its three descriptors."""
    member = gzip.compress(bytes(64 * MIB), compresslevel=1)
    data = member * 48  # 3 GiB of zeros: long enough to be seen
    m = zvol_manifest(data, "gzip", 3072)
    mp, fp = tmp_path / "m.json", tmp_path / "f"
    mp.write_text(json.dumps(m))
    fp.write_bytes(data)
    ensure_pool(host)
    p = subprocess.Popen([os.path.join(CMD, "imgadm"), "install", "-m", str(mp), "-f", str(fp)],
                         env=host.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = None
    try:
        while p.poll() is None and seen is None:
            for kid in open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split():
                st = proc_status(int(kid))
                # once its filter is in: uid, then no_new_privs, then seccomp, in that order
                if st and st.get("Uid", "").split()[0] == "65534" and st.get("Seccomp") == "2":
                    fds = sorted(os.listdir("/proc/%s/fd" % kid))
                    seen = (st, fds)
                    break
    finally:
        out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert seen, "the decompressor was never seen"
    st, fds = seen
    assert st["Uid"].split() == ["65534"] * 4 and st["Gid"].split() == ["65534"] * 4
    assert st["Groups"].strip() == ""
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    assert fds == ["0", "1", "2"]
    host.ok("imgadm", "delete", m["uuid"])

"""HVM (kvm, bhyve) disks on the pool (docs/architecture.md §5, §13, §17).

Disk N of VM <u> is the raw file <zonepath>/disk<N> inside the VM's own
dataset: a reflink of its zvol image's disk grown to `size`, or a sparse
file.  Tests: create (paths, contents, sparseness, cdrom/nocreate left
alone, root/tmp, compression property, the quota that covers the disks),
the O(1) create from a 10 GiB image, add/update/remove_disks with an
update that fails half way restoring every file, bad input leaving
nothing, delete, snapshot/rollback and send/receive carrying the disks.
"""
import gzip
import hashlib
import json
import os
import re
import time

import pytest

from conftest import CMD
from test_imgadm_zvol import MIB, raw_disk, write_image
from test_send_receive import leftovers, receive, send, with_config
from test_vmadm_util import get, pool_mount, qgroup_limit

VMADM = os.path.join(CMD, "vmadm")


@pytest.fixture
def zvhost(host, tmp_path):
    """A host with an 8 MiB zvol image installed: (host, image manifest, raw disk)."""
    raw = raw_disk(8)
    m, mp, fp = write_image(tmp_path, raw, "gzip")
    host.ok("imgadm", "install", "-m", mp, "-f", fp)
    return host, m, raw


def create_hvm(h, brand="bhyve", **props):
    payload = {"brand": brand, "autoboot": False, "ram": 256}
    payload.update(props)
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 0, r
    return re.search(r"Successfully created VM (\S+)", r.err).group(1)


def zonepath(h, u):
    return os.path.join(pool_mount(h), u)


def disk_path(h, u, n):
    return os.path.join(zonepath(h, u), "disk%d" % n)


def boot_disk(img, **over):
    d = {"image_uuid": img["uuid"], "boot": True, "model": "virtio"}
    d.update(over)
    return d


def sha(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def pool_entries(h):
    """What the pool holds besides its bookkeeping, once the trash is empty."""
    mnt = pool_mount(h)
    for _ in range(100):
        names = sorted(n for n in os.listdir(mnt) if n not in (".vmadm", ".imgadm"))
        if not any(n.startswith(".trash-") for n in names):
            break
        time.sleep(0.05)
    cfgs = os.listdir(os.path.join(mnt, ".vmadm")) if os.path.isdir(os.path.join(mnt, ".vmadm")) else []
    return names, sorted(cfgs)


def test_create_bhyve(zvhost):
    h, img, raw = zvhost
    u = create_hvm(h, quota=1, flexible_disk_size=164, disks=[
        boot_disk(img, size=64),
        {"size": 100, "model": "virtio", "compression": "lz4"},
        {"media": "cdrom", "path": "/nonexistent/install.iso", "model": "ahci"},
        {"nocreate": True, "path": "/nonexistent/raw.img", "model": "virtio", "size": 10},
    ])
    vm = get(h, u)
    d = vm["disks"]
    assert [x.get("path") for x in d] == [disk_path(h, u, 0), disk_path(h, u, 1),
                                         "/nonexistent/install.iso", "/nonexistent/raw.img"]
    assert d[0]["image_size"] == 8 and d[0]["size"] == 64
    assert sorted(os.listdir(zonepath(h, u))) == ["disk0", "disk1", "root"]
    assert os.listdir(os.path.join(zonepath(h, u), "root")) == ["tmp"]
    assert os.stat(os.path.join(zonepath(h, u), "root", "tmp")).st_mode & 0o7777 == 0o1777
    st0, st1 = os.stat(disk_path(h, u, 0)), os.stat(disk_path(h, u, 1))
    assert st0.st_size == 64 * MIB and st1.st_size == 100 * MIB
    assert st1.st_blocks == 0, "an empty disk is sparse"
    with open(disk_path(h, u, 0), "rb") as f:
        assert f.read(len(raw)) == raw and f.read() == bytes(56 * MIB)
    assert os.getxattr(disk_path(h, u, 1), "btrfs.compression") == b"lzo"
    # bhyve: the quota covers the disks (refquota + flexible_disk_size, here their sizes)
    assert qgroup_limit(h, u) == (1 << 30) + (64 + 100) * MIB


def test_create_kvm_quota_and_flexible(zvhost):
    h, img, _ = zvhost
    u = create_hvm(h, "kvm", quota=2, disks=[boot_disk(img), {"size": 30, "model": "ide"}])
    # kvm: zvols are outside the zoneroot's quota, so the limit is raised by their sizes
    assert qgroup_limit(h, u) == (2 << 30) + (8 + 30) * MIB
    u2 = create_hvm(h, quota=0, disks=[{"size": 10, "model": "virtio"}])
    assert qgroup_limit(h, u2) is None
    u3 = create_hvm(h, quota=1, flexible_disk_size=500, disks=[boot_disk(img, size=100)])
    assert qgroup_limit(h, u3) == (1 << 30) + 500 * MIB


def test_create_from_10g_image_is_o1(host, tmp_path):
    """A 10 GiB image (concatenated gzip members of zeros) installs; a VM's disk from it
    is a reflink: the create takes milliseconds and shares every extent."""
    member = gzip.compress(bytes(64 * MIB), compresslevel=1)
    head = gzip.compress(b"BIG" + bytes(64 * MIB - 3), compresslevel=1)
    data = head + member * 159
    m = {"v": 2, "uuid": str(__import__("uuid").uuid4()), "owner": "00000000-0000-0000-0000-000000000000",
         "name": "big", "version": "1", "state": "active", "disabled": False, "public": True,
         "published_at": "2024-01-01T00:00:00Z", "type": "zvol", "os": "linux",
         "image_size": 10240, "files": [{"sha1": hashlib.sha1(data).hexdigest(),
                                         "size": len(data), "compression": "gzip"}]}
    (tmp_path / "m.json").write_text(json.dumps(m))
    (tmp_path / "f").write_bytes(data)
    t0 = time.monotonic()
    host.ok("imgadm", "install", "-m", str(tmp_path / "m.json"), "-f", str(tmp_path / "f"))
    t_install = time.monotonic() - t0
    def timed(disk):
        t0 = time.monotonic()
        u = create_hvm(host, "bhyve", flexible_disk_size=20480, disks=[disk])
        return time.monotonic() - t0, u
    # side by side: a create with an empty (sparse) disk of the same size
    base = [timed({"size": 20480, "model": "virtio"})[0] for _ in range(3)]
    runs = [timed(boot_disk(m, size=20480)) for _ in range(3)]
    times, u = [t for t, _ in runs], runs[-1][1]
    print("TIMING install 10 GiB zvol image: %.2f s; vmadm create from it: %s ms; "
          "with an empty disk: %s ms" % (t_install, ", ".join("%.0f" % (t * 1000) for t in times),
                                         ", ".join("%.0f" % (t * 1000) for t in base)))
    st = os.stat(disk_path(host, u, 0))
    assert st.st_size == 20 << 30
    with open(disk_path(host, u, 0), "rb") as f:
        assert f.read(3) == b"BIG"
    # a copy of 10 GiB would take seconds; a reflink costs what an empty disk does
    assert min(times) < 2 * min(base) + 0.1, (times, base)


def test_update_disks(zvhost):
    h, img, raw = zvhost
    u = create_hvm(h, quota=1, disks=[boot_disk(img), {"size": 20, "model": "virtio"}])
    d1 = disk_path(h, u, 1)
    r = h.vmadm("update", u, input=json.dumps({
        "add_disks": [{"size": 5, "model": "virtio"}],
        "update_disks": [{"path": d1, "size": 40, "compression": "gzip"}]}))
    assert r.rc == 0, r
    assert os.path.getsize(d1) == 40 * MIB and os.path.getsize(disk_path(h, u, 2)) == 5 * MIB
    assert os.getxattr(d1, "btrfs.compression") == b"zlib"
    assert get(h, u)["disks"][2]["path"] == disk_path(h, u, 2)
    assert qgroup_limit(h, u) == (1 << 30) + (8 + 40 + 5) * MIB
    # shrink: refused without dangerous_allow_shrink
    r = h.vmadm("update", u, input=json.dumps({"update_disks": [{"path": d1, "size": 10}]}))
    assert r.rc == 1 and "dangerous_allow_shrink" in r.err, r
    assert os.path.getsize(d1) == 40 * MIB
    with open(d1, "r+b") as f:
        f.write(b"keep me")
    r = h.vmadm("update", u, input=json.dumps(
        {"update_disks": [{"path": d1, "size": 10, "dangerous_allow_shrink": True}]}))
    assert r.rc == 0, r
    assert os.path.getsize(d1) == 10 * MIB
    assert "dangerous_allow_shrink" not in json.dumps(get(h, u))
    # remove, then the lowest free index is reused
    h.ok(VMADM, "update", u, input=json.dumps({"remove_disks": [disk_path(h, u, 2)]}))
    assert not os.path.exists(disk_path(h, u, 2))
    h.ok(VMADM, "update", u, input=json.dumps({"add_disks": [{"size": 1, "model": "virtio"}]}))
    assert os.path.getsize(disk_path(h, u, 2)) == 1 * MIB
    assert sorted(os.listdir(zonepath(h, u))) == ["disk0", "disk1", "disk2", "root"]


def test_update_all_or_nothing(zvhost):
    """A remove, a grow, a shrink and an add, then an add that cannot be made:
    every file is back as it was, and the config too."""
    h, img, _ = zvhost
    u = create_hvm(h, disks=[boot_disk(img), {"size": 20, "model": "virtio"},
                             {"size": 30, "model": "virtio"}])
    d0, d1, d2 = (disk_path(h, u, n) for n in range(3))
    for p, pat in ((d1, b"one"), (d2, b"two")):
        with open(p, "r+b") as f:
            f.seek(15 * MIB)
            f.write(pat * 1000)
    before = {p: (os.path.getsize(p), sha(p)) for p in (d0, d1, d2)}
    cfg = get(h, u)
    r = h.vmadm("update", u, input=json.dumps({
        "remove_disks": [d1],
        "update_disks": [{"path": d0, "size": 100},
                         {"path": d2, "size": 10, "dangerous_allow_shrink": True}],
        "add_disks": [{"size": 5, "model": "virtio"},
                      {"image_uuid": "00000000-0000-0000-0000-00000000abcd", "model": "virtio"}]}))
    assert r.rc == 1, r
    assert "image_uuid" in r.err, r
    assert {p: (os.path.getsize(p), sha(p)) for p in (d0, d1, d2)} == before
    assert sorted(os.listdir(zonepath(h, u))) == ["disk0", "disk1", "disk2", "root"]
    assert get(h, u) == cfg


@pytest.mark.parametrize("case", ["image", "zpool", "path", "size_below_image", "no_size"])
def test_create_bad_disks(zvhost, case):
    h, img, _ = zvhost
    disks = {
        "image": [{"image_uuid": "00000000-0000-0000-0000-00000000abcd", "model": "virtio"}],
        "zpool": [{"size": 10, "model": "virtio", "zpool": "otherpool"}],
        "path": [{"size": 10, "model": "virtio", "path": "/etc/passwd"}],
        "size_below_image": [boot_disk(img, size=4)],
        "no_size": [{"model": "virtio"}],
    }[case]
    before = pool_entries(h)
    r = h.vmadm("create", input=json.dumps(
        {"brand": "bhyve", "autoboot": False, "ram": 256, "flexible_disk_size": 100,
         "disks": disks}))
    assert r.rc == 1, r
    assert "disks" in r.err or "size" in r.err, r
    assert pool_entries(h) == before
    assert os.path.getsize("/etc/passwd") > 0


def test_delete_removes_everything(zvhost):
    h, img, _ = zvhost
    before = pool_entries(h)
    u = create_hvm(h, disks=[boot_disk(img), {"size": 10, "model": "virtio"}])
    h.ok(VMADM, "create-snapshot", u, "s1")
    h.ok(VMADM, "delete", u)
    assert pool_entries(h) == before
    h.ok("imgadm", "delete", img["uuid"])


def test_snapshot_rollback_covers_disks(zvhost):
    h, img, raw = zvhost
    u = create_hvm(h, disks=[boot_disk(img), {"size": 10, "model": "virtio"}])
    d0, d1 = disk_path(h, u, 0), disk_path(h, u, 1)
    pattern = bytes(range(256)) * 4096  # 1 MiB
    with open(d1, "r+b") as f:
        f.seek(3 * MIB)
        f.write(pattern)
    s0, s1 = sha(d0), sha(d1)
    h.ok(VMADM, "create-snapshot", u, "before")
    with open(d1, "r+b") as f:
        f.seek(3 * MIB)
        f.write(b"\xff" * MIB)
    with open(d0, "r+b") as f:
        f.write(b"OVERWRITTEN")
    assert sha(d0) != s0 and sha(d1) != s1
    h.ok(VMADM, "rollback-snapshot", u, "before")
    assert sha(d0) == s0 and sha(d1) == s1
    with open(d1, "rb") as f:
        f.seek(3 * MIB)
        assert f.read(MIB) == pattern


def test_send_receive_carries_disks(zvhost, host2):
    h, img, raw = zvhost
    u = create_hvm(h, quota=1, flexible_disk_size=26,
                   disks=[boot_disk(img, size=16), {"size": 10, "model": "virtio"}])
    with open(disk_path(h, u, 1), "r+b") as f:
        f.seek(MIB)
        f.write(b"sent to host2" * 100)
    sums = [sha(disk_path(h, u, n)) for n in range(2)]
    rc, err = receive(host2, send(h, u))
    assert rc == 0, err
    assert [sha(disk_path(host2, u, n)) for n in range(2)] == sums
    vm = get(host2, u)
    assert [d["path"] for d in vm["disks"]] == [disk_path(host2, u, 0), disk_path(host2, u, 1)]
    assert qgroup_limit(host2, u) == (1 << 30) + (16 + 10) * MIB
    assert os.path.getsize(disk_path(host2, u, 0)) == 16 * MIB


def test_receive_refuses_foreign_disk_path(zvhost, host2):
    """A stream whose created disk names a host file is refused, nothing left."""
    h, img, _ = zvhost
    u = create_hvm(h, disks=[{"size": 10, "model": "virtio"}])
    data = send(h, u)
    host2.ok(VMADM, "list")
    before = leftovers(host2)

    def evil(vm):
        vm["disks"][0]["path"] = "/etc/passwd"
    rc, err = receive(host2, with_config(data, evil))
    assert rc == 1 and "disks" in err, err
    assert leftovers(host2) == before
    assert host2.vmadm("get", u).rc == 1

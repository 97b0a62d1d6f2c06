"""zonehost pool create|status|destroy|mount-all, and zonehost sysinfo.

Each test runs on its own ZONEHOST_ROOT (the `host` fixture), whose
teardown destroys every recorded pool.  Anything a test makes outside
that (a loop file, a btrfs mount) it removes itself in a finally block.
"""
import contextlib
import json
import os
import subprocess
import time

import pytest


def losetup_j(path):
    out = subprocess.run(["losetup", "-j", path], capture_output=True, text=True).stdout
    return [l.split(":")[0] for l in out.splitlines() if l.strip()]


def wait_detached(path, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end and losetup_j(path):
        time.sleep(0.02)
    return losetup_j(path)


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def leftovers(h):
    """Everything a failed create must not leave: records, files, loops, mounts."""
    files = []
    for d, _, fs in os.walk(h.root):
        files += [os.path.join(d, f) for f in fs if not f.endswith(".lock")]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    return {
        "pools": h.pool_names(),
        "files": files,
        "loops": [l for l in loops.splitlines() if h.root in l],
        "mounts": h.mounts_under_root(),
        "mountpoint": os.path.exists(os.path.join(h.root, "zones")),
    }


NOTHING = {"pools": [], "files": [], "loops": [], "mounts": [], "mountpoint": False}


@contextlib.contextmanager
def btrfs_mount(tmpdir, size="256M"):
    """A btrfs file system of our own, mounted at tmpdir/mnt; always removed."""
    img = os.path.join(tmpdir, "other.img")
    mnt = os.path.join(tmpdir, "mnt")
    os.makedirs(mnt, exist_ok=True)
    subprocess.run(["truncate", "-s", size, img], check=True)
    dev = None
    try:
        dev = subprocess.run(["losetup", "-f", "--show", img], check=True,
                             capture_output=True, text=True).stdout.strip()
        subprocess.run(["mkfs.btrfs", "-q", "-f", dev], check=True, capture_output=True)
        subprocess.run(["mount", dev, mnt], check=True)
        yield mnt
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
        if dev:
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        with contextlib.suppress(OSError):
            os.unlink(img)


# ---- create / status ----

def test_create_default_pool(host):
    r = host.zonehost("pool", "create")
    assert r.rc == 0, r
    assert host.pool_names() == ["zones"]
    mp = os.path.join(host.root, "zones")
    assert is_mounted(mp)
    r = host.zonehost("pool", "status", "-j", "zones")
    assert r.rc == 0, r
    s = r.json()
    img = os.path.join(host.root, "var", "lib", "zonehost", "zones.img")
    assert s["backing"] == "file"
    assert s["source"] == img
    assert s["mountpoint"] == mp
    assert s["size"] == 20 << 30
    assert 0 < s["used"] < s["size"]
    assert 0 < s["free"] < s["size"]
    assert s["datasets"] == 0
    # sparse: the 20G file takes almost nothing on disk
    assert os.stat(img).st_blocks * 512 < 512 << 20
    assert len(losetup_j(img)) == 1


def test_quota_accounting_enabled(host):
    r = host.zonehost("pool", "create", "--size", "1G")
    assert r.rc == 0, r
    mp = os.path.join(host.root, "zones")
    q = subprocess.run(["btrfs", "qgroup", "show", mp], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr
    assert "0/5" in q.stdout


def test_named_pool_and_status_all(host):
    r = host.zonehost("pool", "create", "--name", "tank", "--size", "512M")
    assert r.rc == 0, r
    s = host.zonehost("pool", "status", "-j", "tank").json()
    assert s["name"] == "tank" and s["size"] == 512 << 20
    assert s["mountpoint"] == os.path.join(host.root, "tank")
    r = host.zonehost("pool", "status", "-j")
    assert r.rc == 0, r
    assert [p["name"] for p in r.json()] == ["tank"]
    r = host.zonehost("pool", "status")
    assert r.rc == 0 and "tank" in r.out and "NAME" in r.out


def test_create_twice_is_refused(host):
    assert host.zonehost("pool", "create", "--size", "256M").rc == 0
    r = host.zonehost("pool", "create", "--size", "256M")
    assert r.rc == 1, r
    assert "already exists" in r.err
    assert host.pool_names() == ["zones"]


def test_status_unknown_pool(host):
    r = host.zonehost("pool", "status", "-j", "nope")
    assert r.rc == 1 and 'pool "nope" does not exist' in r.err


# ---- bad input leaves the host as it was ----

@pytest.mark.parametrize("size,words", [
    ("10K", ["--size", "10K", "too small", "128M"]),
    ("abc", ["--size", "abc", "not a size"]),
    ("0", ["--size", "not a size"]),
    ("16E", ["--size"]),
])
def test_bad_size(host, size, words):
    r = host.zonehost("pool", "create", "--size", size)
    assert r.rc == 1, r
    for w in words:
        assert w in r.err, r
    assert r.err.count("\n") == 1, r
    assert leftovers(host) == NOTHING


@pytest.mark.parametrize("name", ["", ".hidden", "-x", "a/b", "x" * 65, "sp ace"])
def test_bad_name(host, name):
    r = host.zonehost("pool", "create", "--name", name, "--size", "256M")
    assert r.rc == 1, r
    assert "--name" in r.err and "invalid pool name" in r.err
    assert leftovers(host) == NOTHING


def test_missing_device(host):
    r = host.zonehost("pool", "create", "--device", "/dev/zh-no-such-device")
    assert r.rc == 1, r
    assert "--device" in r.err and "/dev/zh-no-such-device" in r.err
    assert leftovers(host) == NOTHING


def test_device_not_block(host):
    f = os.path.join(host.root, "plain.img")
    with open(f, "w"):
        pass
    try:
        r = host.zonehost("pool", "create", "--device", f)
        assert r.rc == 1, r
        assert "not a block device" in r.err
    finally:
        os.unlink(f)
    assert leftovers(host) == NOTHING


def test_mount_not_btrfs(host, tmp_path):
    d = tmp_path / "plain"
    d.mkdir()
    r = host.zonehost("pool", "create", "--mount", str(d))
    assert r.rc == 1, r
    assert "--mount" in r.err and "not on a btrfs" in r.err
    assert leftovers(host) == NOTHING


def test_mount_missing(host):
    r = host.zonehost("pool", "create", "--mount", "/nonexistent/zh-dir")
    assert r.rc == 1, r
    assert "--mount" in r.err
    assert leftovers(host) == NOTHING


def test_usage_errors(host):
    assert host.zonehost("pool", "create", "--bogus").rc == 2
    assert host.zonehost("pool", "create", "--device", "/dev/x", "--mount", "/y").rc == 2
    assert host.zonehost("pool", "create", "--mount", "/y", "--size", "1G").rc == 2
    assert host.zonehost("pool", "frobnicate").rc == 2
    assert host.zonehost().rc == 2
    assert host.zonehost("help").rc == 0
    assert leftovers(host) == NOTHING


def test_no_space_for_pool_file(host):
    """A state directory on a nearly full file system: one message, nothing left."""
    state = os.path.join(host.root, "var", "lib", "zonehost")
    os.makedirs(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16M", "zh-tiny", state], check=True)
    try:
        r = host.zonehost("pool", "create", "--size", "1G")
        assert r.rc == 1, r
        assert "--size" in r.err and "no space" in r.err, r
        assert os.listdir(state) == []
        assert host.pool_names() == []
    finally:
        subprocess.run(["umount", state], check=True)
    assert not is_mounted(os.path.join(host.root, "zones"))


# ---- other backings ----

def test_device_backed_pool(host, tmp_path):
    img = str(tmp_path / "dev.img")
    subprocess.run(["truncate", "-s", "300M", img], check=True)
    dev = subprocess.run(["losetup", "-f", "--show", img], check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        r = host.zonehost("pool", "create", "--name", "dpool", "--device", dev)
        assert r.rc == 0, r
        s = host.zonehost("pool", "status", "-j", "dpool").json()
        assert s["backing"] == "device" and s["source"] == dev
        # in use now: a second pool on it is refused
        r = host.zonehost("pool", "create", "--name", "again", "--device", dev)
        assert r.rc == 1 and "in use" in r.err, r
        assert host.zonehost("pool", "destroy", "dpool").rc == 0
        assert not is_mounted(os.path.join(host.root, "dpool"))
    finally:
        host.zonehost("pool", "destroy", "--force", "dpool")
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_existing_btrfs_mount(host, tmp_path):
    with btrfs_mount(str(tmp_path)) as mnt:
        sub = os.path.join(mnt, "pooldir")
        os.mkdir(sub)
        r = host.zonehost("pool", "create", "--name", "mp", "--mount", sub)
        assert r.rc == 0, r
        s = host.zonehost("pool", "status", "-j", "mp").json()
        assert s["backing"] == "mount" and s["source"] == sub
        mp = os.path.join(host.root, "mp")
        assert is_mounted(mp)
        # a dataset made through the pool lands in the existing file system
        subprocess.run(["btrfs", "subvolume", "create", os.path.join(mp, "ds1")],
                       check=True, capture_output=True)
        assert os.path.isdir(os.path.join(sub, "ds1"))
        r = host.zonehost("pool", "destroy", "mp")
        assert r.rc == 1 and "1 other dataset" in r.err, r
        assert host.zonehost("pool", "destroy", "--force", "mp").rc == 0
        assert not is_mounted(mp)
        assert not os.path.exists(os.path.join(sub, "ds1"))
        assert is_mounted(mnt)  # the file system we lent is still there
        assert host.pool_names() == []


def test_destroy_sweeps_stages_of_killed_imports(host, tmp_path):
    """A staging subvolume left by a killed import goes with the pool, even from a file
    system zonehost only borrowed; one an import still holds makes destroy refuse."""
    import fcntl
    with btrfs_mount(str(tmp_path)) as mnt:
        sub = os.path.join(mnt, "pooldir")
        os.mkdir(sub)
        assert host.zonehost("pool", "create", "--name", "st", "--mount", sub).rc == 0
        mp = os.path.join(host.root, "st")
        stale, live = (os.path.join(mp, ".stage-%016x" % n) for n in (1, 2))
        for d in (stale, live):
            subprocess.run(["btrfs", "subvolume", "create", d], check=True,
                           capture_output=True)
        fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            r = host.zonehost("pool", "destroy", "st")
            assert r.rc == 1 and 'pool "st" has 1 image import in progress' in r.err, r
            assert not os.path.exists(stale) and os.path.isdir(live)
            assert is_mounted(mp)
        finally:
            os.close(fd)
        r = host.zonehost("pool", "destroy", "st")
        assert r.rc == 0, r
        assert os.listdir(sub) == []
        assert not is_mounted(mp)


# ---- destroy ----

def test_destroy_detaches_loop_and_removes_file(host):
    assert host.zonehost("pool", "create", "--size", "256M").rc == 0
    img = os.path.join(host.root, "var", "lib", "zonehost", "zones.img")
    assert losetup_j(img)
    r = host.zonehost("pool", "destroy")
    assert r.rc == 0, r
    assert wait_detached(img) == []
    assert not os.path.exists(img)
    assert host.pool_names() == []
    assert host.mounts_under_root() == []


def test_destroy_refused_while_vm_or_image_exist(host):
    assert host.zonehost("pool", "create", "--size", "512M").rc == 0
    mp = os.path.join(host.root, "zones")
    vm = "11111111-2222-4333-8444-555555555555"
    img = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    for ds in (vm, img):
        subprocess.run(["btrfs", "subvolume", "create", os.path.join(mp, ds)],
                       check=True, capture_output=True)
    os.makedirs(os.path.join(mp, ".vmadm"))
    with open(os.path.join(mp, ".vmadm", vm + ".json"), "w") as f:
        json.dump({"uuid": vm}, f)
    os.makedirs(os.path.join(mp, ".imgadm"))
    with open(os.path.join(mp, ".imgadm", img + ".json"), "w") as f:
        json.dump({"manifest": {"uuid": img}}, f)
    subprocess.run(["btrfs", "subvolume", "snapshot", "-r", os.path.join(mp, img),
                    os.path.join(mp, img + "@final")], check=True, capture_output=True)
    r = host.zonehost("pool", "destroy")
    assert r.rc == 1, r
    assert r.err.strip() == 'pool "zones" holds 1 image and 1 VM; use --force to destroy them'
    assert is_mounted(mp) and host.pool_names() == ["zones"]
    r = host.zonehost("pool", "destroy", "--force")
    assert r.rc == 0, r
    assert host.pool_names() == [] and not is_mounted(mp)


def test_destroy_unknown(host):
    r = host.zonehost("pool", "destroy", "nope")
    assert r.rc == 1 and "does not exist" in r.err


# ---- reboot ----

def test_mount_all_after_unmount(host):
    assert host.zonehost("pool", "create", "--size", "256M").rc == 0
    assert host.zonehost("pool", "create", "--name", "second", "--size", "256M").rc == 0
    img = os.path.join(host.root, "var", "lib", "zonehost", "zones.img")
    for n in ("zones", "second"):
        subprocess.run(["umount", os.path.join(host.root, n)], check=True)
    assert wait_detached(img) == []  # autoclear: the loop device went with the mount
    r = host.zonehost("pool", "mount-all")
    assert r.rc == 0, r
    for n in ("zones", "second"):
        assert is_mounted(os.path.join(host.root, n))
    # idempotent
    assert host.zonehost("pool", "mount-all").rc == 0
    assert len(losetup_j(img)) == 1


def test_status_remounts(host):
    assert host.zonehost("pool", "create", "--size", "256M").rc == 0
    mp = os.path.join(host.root, "zones")
    subprocess.run(["umount", mp], check=True)
    r = host.zonehost("pool", "status", "-j", "zones")
    assert r.rc == 0 and r.json()["mounted"] is True
    assert is_mounted(mp)


# ---- sysinfo ----

def test_sysinfo(host):
    r = host.zonehost("sysinfo")
    assert r.rc == 0, r
    s = r.json()
    for k in ("UUID", "Hostname", "CPU Total Cores", "MiB of Memory", "Boot Time",
              "Network Interfaces", "NIC Tags", "System Type", "Live Image"):
        assert k in s, k
    assert len(s["UUID"]) == 36 and s["UUID"].count("-") == 4
    assert s["CPU Total Cores"] == os.cpu_count()
    assert int(s["MiB of Memory"]) > 0
    assert s["NIC Tags"] == []
    z = s["zonehost"]
    assert z["cgroup_version"] in (1, 2)
    assert isinstance(z["kvm_usable"], bool)
    assert isinstance(z["idmapped_mounts"], bool)
    if os.path.exists("/sys/module/kvm_pvm"):
        assert z["kvm_usable"] is False  # PVM cannot run stock guests
    assert "Zpool" not in s  # no pool yet, and sysinfo does not create one
    assert host.pool_names() == []
    assert host.zonehost("pool", "create", "--size", "1G").rc == 0
    s = host.zonehost("sysinfo").json()
    assert s["Zpool"] == "zones" and s["Zpool Size in GiB"] == 1

"""What of a tenant's files, and of the host through a VM's config, the
other side can reach (issue 10 classes 4 and 11).

Class 4: a setuid-root binary or a file with capabilities, made by a
tenant, published with `imgadm create` and installed, or received: a host
user who executes it by its host path gets nothing (the datasets are 0700,
the pool is mounted nosuid,nodev), while inside the zone setuid and file
capabilities still work.

Class 11: `filesystems` sources are resolved without following a link and
never reach into the pool (another tenant's zone root) unless they are the
VM's own dataset."""
import json
import os
import shutil
import stat
import subprocess

from conftest import BUILD, CMD
from test_vmadm_util import create, get, pool_mount

PROBE = os.path.join(BUILD, "tests", "helpers", "probe")
ZLOGIN = os.path.join(CMD, "zlogin")
CAP_NET_RAW = 1 << 13


def mount_opts(path):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                opts = fields[5]
    return opts.split(",")


def ids(out):
    return dict(t.split("=", 1) for t in out.split())


def plant(root, name, uid, mode, caps=None):
    p = os.path.join(root, name)
    shutil.copy(PROBE, p)
    os.chown(p, uid, uid)
    os.chmod(p, mode)
    if caps:
        subprocess.run(["setcap", caps, p], check=True)
    return p


def test_setuid_and_capable_files_mean_nothing_on_the_host(imghost, tmp_path):
    h, img = imghost
    os.chmod(h.root, 0o755)  # reachable by every user, as /zones is on a real host
    mnt = pool_mount(h)
    assert {"nosuid", "nodev"} <= set(mount_opts(mnt))
    u = create(h, img)
    root = os.path.join(mnt, u, "root")
    # what the zone's root can make: on disk, a setuid-root file and a capable one
    plant(root, "suid", 0, 0o4755)
    plant(root, "capped", 0, 0o755, "cap_net_raw+ep")
    plant(root, "suid-nobody", 65534, 0o4755)
    assert h.vmadm("create-snapshot", u, "s1").rc == 0
    # ... published with imgadm create, installed as an image
    r = h.imgadm("create", "-o", str(tmp_path), u, "name=tenant-made", "version=1")
    assert r.rc == 0, r
    mpath, fpath = r.out.split()[-2:]
    r = h.imgadm("install", "-m", mpath, "-f", fpath)
    assert r.rc == 0, r
    with open(mpath) as f:
        img2 = json.load(f)["uuid"]
    for ds in (u, u + "@vmsnap-s1", img, img + "@final", img2, img2 + "@final"):
        assert stat.S_IMODE(os.stat(os.path.join(mnt, ds)).st_mode) == 0o700, ds
    # a host user cannot run any of them by its host path
    for ds in (u, u + "@vmsnap-s1", img2, img2 + "@final"):
        for name in ("suid", "capped"):
            p = os.path.join(mnt, ds, "root", name)
            try:   # as nobody, from the exec on (setpriv would resolve it as root)
                cp = subprocess.run([p, "ids"], capture_output=True, text=True,
                                    user=65534, group=65534, extra_groups=[])
            except PermissionError:
                continue
            raise AssertionError("%s ran for nobody: %s" % (p, cp))
    # nosuid: even root running a setuid-nobody file by its host path stays root
    cp = subprocess.run([os.path.join(root, "suid-nobody"), "ids"], capture_output=True,
                        text=True, check=True)
    assert ids(cp.stdout)["euid"] == "0", cp.stdout
    # inside the zone both work, for the zone's users
    assert h.vmadm("start", u).rc == 0
    try:
        r = h.run(ZLOGIN, "-l", "nobody", u, "/suid", "ids")
        assert r.rc == 0, r
        got = ids(r.out)
        assert got["uid"] == "65534" and got["euid"] == "0", r.out
        r = h.run(ZLOGIN, "-l", "nobody", u, "/capped", "ids")
        assert r.rc == 0, r
        assert int(ids(r.out)["capeff"], 16) & CAP_NET_RAW, r.out
    finally:
        h.vmadm("stop", "-F", u)


def start_with(h, img, source, **kw):
    fs = [{"type": "lofs", "source": source, "target": "/mnt/shared", "options": ["ro"]}]
    u = create(h, img, filesystems=fs, **kw)
    return u, h.vmadm("start", u)


def test_filesystems_sources_follow_no_link_and_stay_out_of_the_pool(imghost, tmp_path):
    h, img = imghost
    mnt = pool_mount(h)
    other = create(h, img)  # another tenant, whose zone root it writes
    share = os.path.join(mnt, other, "root", "share")
    os.symlink("/etc", share)
    os.mkdir(os.path.join(mnt, other, "root", "data"))
    real = tmp_path / "real"
    real.mkdir()
    (real / "marker").write_text("shared\n")
    os.symlink(real, tmp_path / "link")
    refused = {
        share: "is inside zonehost's data",
        os.path.join(mnt, other, "root", "data"): "is inside zonehost's data",
        os.path.join(mnt, other): "is inside zonehost's data",
        os.path.join(mnt, ".vmadm"): "is inside zonehost's data",
        str(tmp_path / "link"): "has a symbolic link",
        str(tmp_path / "link" / "marker"): "has a symbolic link",
        mnt + "/../zones/" + other: "plain absolute path",
        os.path.dirname(mnt): "contains zonehost's data",
    }
    before = h.mounts_under_root()
    for src, msg in refused.items():
        u, r = start_with(h, img, src)
        assert r.rc != 0, (src, r)
        assert msg in r.err, (src, r)
        assert get(h, u)["state"] != "running"
        assert h.vmadm("delete", u).rc == 0
    assert h.mounts_under_root() == before
    # a real host directory is shared; so is a directory of the VM's own dataset
    u, r = start_with(h, img, str(real))
    assert r.rc == 0, r
    try:
        r = h.run(ZLOGIN, u, "cat", "/mnt/shared/marker")
        assert r.rc == 0 and r.out == "shared\n", r
    finally:
        h.vmadm("stop", "-F", u)
    own = "0e5c6a3e-6a55-4b7d-9d3f-4f2b1d8d2a71"
    u, r = start_with(h, img, os.path.join(mnt, own, "root", "etc"), uuid=own)
    assert r.rc == 0, r
    h.vmadm("stop", "-F", u)
    # even in its own dataset, a link its tenant planted is not followed
    os.symlink("/etc", os.path.join(mnt, own, "root", "lnk"))
    fs = [{"type": "lofs", "source": os.path.join(mnt, own, "root", "lnk"),
           "target": "/mnt/lnk"}]
    assert h.vmadm("update", own, input=json.dumps({"add_filesystems": fs})).rc == 0
    r = h.vmadm("start", own)
    assert r.rc != 0 and "has a symbolic link" in r.err, r

"""A stock host (issue 9): systemd as PID 1, its shared mounts and the
unified cgroup v2 tree, as on a fresh Debian 12 installation.

tools/testbed runs these in its Debian 12 guest (tests/system/guest.list,
docs/testing.md); on a host without systemd as PID 1 (the build machine)
the systemd tests skip and the mount checks prove less (its / has no
propagation to leak through).

- no mount of a zone ever appears in the host's mount table, and no mount
  of the zone is a peer or a slave of a host mount;
- a zone started from a transient systemd unit outlives the unit;
- a zone's cgroups sit in a subtree systemd delegates (Delegate=yes), and
  the cgroup tree is as it was once the zone is gone;
- a Debian/systemd zone: zlogin, and a reboot with zlogin after it.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CMD
from test_debian_zone import debian_image, wait_booted, zlogin  # noqa: F401 (fixture)
from test_vmadm_util import create, get, wait_for

VMADM = os.path.join(CMD, "vmadm")


def systemd_is_init():
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "systemd"
    except OSError:
        return False


def cgroup2_unified():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


needs_systemd = pytest.mark.skipif(not systemd_is_init(), reason="systemd is not PID 1 here")
needs_systemd_cgroup2 = pytest.mark.skipif(
    not (systemd_is_init() and cgroup2_unified()),
    reason="needs systemd as PID 1 on the unified cgroup v2 tree")


def mountinfo(pid="self"):
    """{mount id: (mount point, [optional fields])} of pid's mount namespace."""
    out = {}
    with open("/proc/%s/mountinfo" % pid) as f:
        for line in f:
            left = line.split(" - ")[0].split()
            out[left[0]] = (left[4], left[6:])
    return out


def peer_groups(info):
    """The peer group numbers of the shared mounts in a mountinfo dict."""
    return {opt.split(":")[1] for _, opts in info.values() for opt in opts
            if opt.startswith("shared:")}


def zoneadmd_pid(h, u):
    with open(os.path.join(h.root, "run", "zonehost", u, "state.json")) as f:
        return json.load(f)["zoneadmd_pid"]


def own_cgroup():
    with open("/proc/self/cgroup") as f:
        return [l.strip().split(":", 2)[2] for l in f if l.startswith("0::")][0]


def cgroup_tree():
    """Every cgroup directory of the v2 tree (but the test's own, where its
    subprocesses come and go) and the controllers each enables."""
    mine = "/sys/fs/cgroup" + own_cgroup()
    tree = {}
    for d, dirs, files in os.walk("/sys/fs/cgroup"):
        if d == mine or d.startswith(mine + "/"):
            dirs[:] = []
            continue
        try:
            with open(os.path.join(d, "cgroup.subtree_control")) as f:
                tree[d] = f.read().split()
        except OSError:
            tree[d] = None
    return tree


def test_no_zone_mount_in_the_host_table_and_propagation_private(imghost):
    h, img = imghost
    share = os.path.join(h.root, "share")
    os.makedirs(os.path.join(share, "sub"))
    u = create(h, img, filesystems=[{"type": "lofs", "source": share, "target": "/shared"}])
    zonepath = get(h, u)["zonepath"]
    before = mountinfo()
    try:
        r = h.vmadm("start", u)
        assert r.rc == 0, r
        zpid = get(h, u)["pid"]

        def ours(mp):
            return u in mp or mp == zonepath or mp.startswith(zonepath + "/")

        during = mountinfo()
        leaked = [mp for mid, (mp, _) in during.items() if mid not in before and ours(mp)]
        assert leaked == [], "zone mounts in the host's mount table: %r" % leaked

        # Private: no mount of the zone shares a peer group with a host
        # mount, in either direction.
        host_groups = peer_groups(during)
        linked = [(mp, opts) for mp, opts in mountinfo(zpid).values()
                  if any(o.split(":")[0] in ("shared", "master") and o.split(":")[1] in host_groups
                         for o in opts)]
        assert linked == [], "zone mounts propagating with the host: %r" % linked

        # A mount the host makes afterwards in the lofs source stays out of
        # the zone.
        sub = os.path.join(share, "sub")
        subprocess.run(["mount", "-t", "tmpfs", "zh-probe", sub], check=True)
        try:
            seen = [mp for mp, _ in mountinfo(zpid).values() if mp.startswith("/shared/sub")]
        finally:
            subprocess.run(["umount", sub], check=True)
        assert seen == [], "a host mount propagated into the zone: %r" % seen

        r = h.vmadm("stop", u)
        assert r.rc == 0, r
        after = mountinfo()
        assert [mp for mid, (mp, _) in after.items() if mid not in before and ours(mp)] == []
    finally:
        h.vmadm("stop", "-F", u)
        h.vmadm("delete", u)


@needs_systemd
def test_zone_started_from_a_transient_unit_outlives_it(imghost):
    h, img = imghost
    u = create(h, img)
    unit = "zh-test-%s.service" % u[:8]
    try:
        # The unit starts the zone and stays; stopping it kills everything
        # left in its cgroup (KillMode=control-group, the default).
        cp = subprocess.run(
            ["systemd-run", "--unit", unit, "--collect", "--quiet",
             "--setenv", "ZONEHOST_ROOT=" + h.root, "/bin/sh", "-c",
             "%s start %s && exec sleep 600" % (VMADM, u)],
            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp
        assert wait_for(lambda: get(h, u)["state"] == "running", timeout=120), get(h, u)
        zd = zoneadmd_pid(h, u)
        subprocess.run(["systemctl", "stop", unit], check=True, timeout=120)
        assert subprocess.run(["systemctl", "is-active", "--quiet", unit]).returncode != 0
        time.sleep(1)
        vm = get(h, u)
        assert vm["state"] == "running", vm
        assert os.path.exists("/proc/%d" % zd), "zoneadmd died with the unit"
        r = h.run(os.path.join(CMD, "zlogin"), u, "echo", "alive")
        assert r.rc == 0 and r.out.strip() == "alive", r
    finally:
        subprocess.run(["systemctl", "stop", unit], capture_output=True)
        h.vmadm("stop", "-F", u)
        r = h.vmadm("delete", u)
        assert r.rc == 0, r


@needs_systemd_cgroup2
def test_zone_cgroups_delegated_and_tree_unchanged_after(imghost):
    h, img = imghost
    before = cgroup_tree()
    u = create(h, img, max_physical_memory=128, max_lwps=200)
    try:
        r = h.vmadm("start", u)
        assert r.rc == 0, r
        pid = get(h, u)["pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            cg = [l.strip().split(":", 2)[2] for l in f if l.startswith("0::")][0]
        units = [c for c in cg.split("/") if re.search(r"\.(scope|service)$", c)]
        assert units, "the zone's cgroup %s is in no systemd unit" % cg
        delegate = subprocess.run(["systemctl", "show", "-p", "Delegate", "--value", units[-1]],
                                  capture_output=True, text=True).stdout.strip()
        assert delegate == "yes", "the zone's cgroup %s: unit %s has Delegate=%s" % (
            cg, units[-1], delegate)
        with open("/proc/%d/cgroup" % zoneadmd_pid(h, u)) as f:
            zd_cg = [l.strip().split(":", 2)[2] for l in f if l.startswith("0::")][0]
        assert zd_cg != own_cgroup(), "zoneadmd stayed in its caller's cgroup %s" % zd_cg

        r = h.vmadm("stop", u)
        assert r.rc == 0, r
    finally:
        h.vmadm("stop", "-F", u)
        r = h.vmadm("delete", u)
        assert r.rc == 0, r
    # systemd removes a scope's cgroup once it is empty, asynchronously.
    wait_for(lambda: cgroup_tree() == before, timeout=10)
    after = cgroup_tree()
    assert after == before, "cgroups gained: %r, lost: %r, changed: %r" % (
        sorted(set(after) - set(before)), sorted(set(before) - set(after)),
        sorted(d for d in before if d in after and before[d] != after[d]))


@pytest.mark.slow
def test_debian_zone_zlogin_and_reboot(host, debian_image):  # noqa: F811
    m, f, manifest = debian_image
    host.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f, timeout=300)
    payload = {"brand": "joyent", "image_uuid": manifest["uuid"], "autoboot": False,
               "alias": "debian-reboot", "hostname": "debreboot", "max_physical_memory": 512}
    r = host.vmadm("create", input=json.dumps(payload))
    assert r.rc == 0, r
    uuid = re.search(r"Successfully created VM (\S+)", r.err).group(1)
    try:
        host.ok(VMADM, "start", uuid, timeout=60)
        wait_booted(host, uuid)
        assert zlogin(host, uuid, "hostname").out.strip() == "debreboot"
        boot1 = zlogin(host, uuid, "cat", "/proc/sys/kernel/random/boot_id").out.strip()
        assert boot1

        r = host.vmadm("reboot", uuid, timeout=120)
        assert r.rc == 0, r
        wait_booted(host, uuid)
        r = zlogin(host, uuid, "cat", "/proc/1/comm")
        assert r.rc == 0 and r.out.strip() == "systemd", r
        boot2 = zlogin(host, uuid, "cat", "/proc/sys/kernel/random/boot_id").out.strip()
        assert boot2 and boot2 != boot1, "no fresh boot after vmadm reboot"
        r = zlogin(host, uuid, "/bin/bash", "-c", "echo $((6 * 7))")
        assert r.rc == 0 and r.out.strip() == "42", r

        r = host.vmadm("stop", uuid, "-t", "60", timeout=90)
        assert r.rc == 0, r
    finally:
        host.vmadm("stop", uuid, "-F", timeout=60)
        r = host.vmadm("delete", uuid, timeout=60)
        assert r.rc == 0, r

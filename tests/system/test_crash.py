"""Crash consistency (issue 10 "Also"): vmadm, zoneadmd and imgadm killed
(SIGKILL) at each named step of create, start, stop, update, delete,
receive, rollback and image install, through the test hook
ZONEHOST_CRASH_AT (src/lib/base/crashpoint.h, docs/testing.md).

After each kill: `vmadm list` tells the truth (a VM is listed iff its
config was saved; "running" iff its zoneadmd lives), the next command
(the same one again, or start / delete) finishes or cleans up and
succeeds, and once the VMs are deleted nothing is left: no zoneadmd, cgroup,
mount beyond the pool's, extra loop device, veth, nft object, subvolume,
stale qgroup, lock file, run directory or pool debris (leaks.py).
"""
import json
import os
import subprocess
import time

import pytest

from conftest import CMD, new_uuid
from leaks import census, cgroups, listed, lock_files, pool_dot_entries, run_entries, \
    stale_qgroups, subvolumes, veths, nft_vm_objects, zoneadmd_pids
from test_vmadm_util import get, wait_for

VMADM = os.path.join(CMD, "vmadm")
IMGADM = os.path.join(CMD, "imgadm")


# ---- helpers ----

class Crash:
    """Runs one command with the hook set; remembers whether it fired."""

    def __init__(self, h, tmp_path, step):
        self.h, self.step = h, step
        self.log = str(tmp_path / "crash.log")

    def env(self):
        return {"ZONEHOST_CRASH_AT": self.step, "ZONEHOST_CRASH_LOG": self.log}

    def run(self, *argv, input=None):
        e = dict(self.h.env)
        e.update(self.env())
        if self.h.netns:
            argv = ("nsenter", "--net=/run/netns/" + self.h.netns, "--") + argv
        return subprocess.run(list(argv), input=input, capture_output=True, env=e,
                              timeout=120, stdin=None if input is not None else subprocess.DEVNULL)

    def fired(self):
        return os.path.exists(self.log) and any(
            l.split()[0] == self.step for l in open(self.log).read().splitlines())


def add_tag(h):
    h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", "stub0")
    h.ok("ip", "link", "set", "stub0", "up")


def payload(img, u):
    return {"uuid": u, "brand": "joyent", "image_uuid": img, "autoboot": False, "quota": 1,
            "max_physical_memory": 256,
            "nics": [{"nic_tag": "stub0", "ips": ["198.18.0.%d/24" % (10 + int(u[:2], 16) % 200)]}]}


def create(h, img, u=None):
    u = u or new_uuid()
    h.ok(VMADM, "create", input=json.dumps(payload(img, u)))
    return u


def truth(h, uuids):
    """Each listed VM's state agrees with its zoneadmd; VMs not listed have no config."""
    time.sleep(0.2)
    ls = listed(h)
    live = bool(zoneadmd_pids(h))
    for u, st in ls.items():
        assert st in ("running", "stopped", "failed"), (u, st)
        if st == "running":
            assert live, "listed running, but no zoneadmd: %r" % ls
    if not any(st == "running" for st in ls.values()):
        assert wait_for(lambda: not zoneadmd_pids(h), 10), "a zoneadmd lives, none listed running"
    return ls


def settle(h):
    """Wait for sentinels and trash emptiers to finish."""
    wait_for(lambda: not [st for st in listed(h).values() if st not in ("running", "stopped",
                                                                       "failed")], 10)


def delete_all(h):
    for u in listed(h):
        r = h.vmadm("delete", u)
        assert r.rc == 0, r


def assert_clean(h, uuids, image=True):
    """Nothing of any VM in uuids is left (the image and pool stay)."""
    assert listed(h) == {}
    assert wait_for(lambda: not zoneadmd_pids(h), 10), zoneadmd_pids(h)
    assert cgroups(uuids) == []
    assert veths(h) == []
    assert nft_vm_objects(h) == []
    assert wait_for(lambda: pool_dot_entries(h) == [], 10), pool_dot_entries(h)
    left = [s for s in subvolumes(h) if not any(s.endswith(x) for x in IMAGE_DS)] if image \
        else subvolumes(h)
    assert left == [], left
    assert wait_for(lambda: stale_qgroups(h) == [], 10), stale_qgroups(h)
    assert [e for e in run_entries(h) if e in uuids] == []
    assert [f for f in lock_files(h) if f[:36] in uuids] == []
    with open("/proc/self/mountinfo") as f:
        mps = [l.split()[4] for l in f if l.split()[4].startswith(h.root + "/")]
    assert mps == [os.path.join(h.root, "zones")], mps


IMAGE_DS = []  # filled per test with the image's subvolume names


@pytest.fixture
def ch(nethost, tmp_path):
    h, img = nethost
    add_tag(h)
    IMAGE_DS[:] = [img, img + "@final"]
    return h, img, tmp_path


# ---- create ----

@pytest.mark.parametrize("step", ["create.marked", "create.cloned", "create.quota",
                                  "create.saved"])
def test_crash_create(ch, step):
    h, img, tmp = ch
    c = Crash(h, tmp, step)
    u = new_uuid()
    cp = c.run(VMADM, "create", input=json.dumps(payload(img, u)).encode())
    assert cp.returncode == -9 and c.fired(), cp
    ls = truth(h, [u])
    if step == "create.saved":  # the config is the commit point
        assert ls == {u: "stopped"}
    else:
        assert ls == {}
        create(h, img, u)  # the same create again cleans up and succeeds
        assert get(h, u)["state"] == "stopped"
    assert h.vmadm("start", u).rc == 0
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


# ---- start (vmadm and zoneadmd) and stop ----

START_STEPS = ["start.locked", "start.spawned", "zoneadmd.locked", "zoneadmd.sentinel",
               "zoneadmd.cgroup", "zoneadmd.listen", "zoneadmd.nft", "zoneadmd.vnics",
               "zoneadmd.booted"]


@pytest.mark.parametrize("step", START_STEPS)
def test_crash_start(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    c = Crash(h, tmp, step)
    cp = c.run(VMADM, "start", u)
    assert c.fired(), cp
    if step.startswith("start."):
        assert cp.returncode == -9, cp
    else:
        assert cp.returncode == 1, cp
    settle(h)
    ls = truth(h, [u])
    if step == "start.spawned":  # zoneadmd goes on without its caller
        assert wait_for(lambda: listed(h)[u] == "running", 10)
        assert h.vmadm("stop", u).rc == 0
    else:
        assert wait_for(lambda: not zoneadmd_pids(h), 10)
        assert ls[u] in ("stopped", "failed"), ls
        assert cgroups([u]) == [] and veths(h) == [] and nft_vm_objects(h) == []
    r = h.vmadm("start", u)  # the next start works
    assert r.rc == 0, r
    assert listed(h)[u] == "running"
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


@pytest.mark.parametrize("step", ["stop.flagged", "stop.requested", "zoneadmd.end.net",
                                  "zoneadmd.end.cgroup", "zoneadmd.end.exit"])
def test_crash_stop(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    c = Crash(h, tmp, step)
    if step.startswith("zoneadmd."):  # zoneadmd has the environment of its start
        cp = c.run(VMADM, "start", u)
        assert cp.returncode == 0, cp
        r = h.vmadm("stop", u)
        assert c.fired(), r
    else:
        h.ok(VMADM, "start", u)
        cp = c.run(VMADM, "stop", u)
        assert cp.returncode == -9 and c.fired(), cp
    settle(h)
    ls = truth(h, [u])
    if ls[u] == "running":  # killed before it asked: stop again
        r = h.vmadm("stop", u)
        assert r.rc == 0, r
    assert wait_for(lambda: listed(h)[u] in ("stopped", "failed"), 10)
    assert wait_for(lambda: not zoneadmd_pids(h), 10)
    assert cgroups([u]) == [] and veths(h) == [] and nft_vm_objects(h) == []
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


# ---- update ----

def mem_limit(u):
    p = "/sys/fs/cgroup/memory/zonehost/%s/memory.limit_in_bytes" % u
    if not os.path.exists(p):
        p = "/sys/fs/cgroup/zonehost/%s/memory.max" % u
    with open(p) as f:
        return int(f.read())


@pytest.mark.parametrize("step", ["update.limits", "update.quota", "update.saved"])
def test_crash_update(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    h.ok(VMADM, "start", u)
    c = Crash(h, tmp, step)
    cp = c.run(VMADM, "update", u, "max_physical_memory=128", "quota=2")
    assert cp.returncode == -9 and c.fired(), cp
    assert truth(h, [u]) == {u: "running"}
    r = h.vmadm("update", u, "max_physical_memory=128", "quota=2")  # again: whole
    assert r.rc == 0, r
    vm = get(h, u)
    assert vm["max_physical_memory"] == 128 and vm["quota"] == 2
    assert mem_limit(u) == 128 << 20
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


# ---- delete ----

@pytest.mark.parametrize("step", ["delete.stopped", "delete.snapshots", "delete.dataset",
                                  "delete.config"])
def test_crash_delete(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    h.ok(VMADM, "create-snapshot", u, "s1")
    h.ok(VMADM, "start", u)
    c = Crash(h, tmp, step)
    cp = c.run(VMADM, "delete", u)
    assert cp.returncode == -9 and c.fired(), cp
    ls = truth(h, [u])
    if step == "delete.config":  # only its lock file is left: the next create sweeps it
        assert ls == {}
        v = create(h, img)
        assert h.vmadm("delete", v).rc == 0
        u = [u, v]
    else:
        assert ls == {u: "stopped"}, ls
        r = h.vmadm("delete", u)  # the next delete finishes it
        assert r.rc == 0, r
        u = [u]
    assert_clean(h, u)


# ---- receive ----

def send_bytes(h, u):
    cp = subprocess.run(["nsenter", "--net=/run/netns/" + h.netns, "--", VMADM, "send", u],
                        env=h.env, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout


@pytest.mark.parametrize("step", ["receive.received", "receive.placed", "receive.saved"])
def test_crash_receive(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    h.ok(VMADM, "create-snapshot", u, "s1")
    data = send_bytes(h, u)
    h.ok(VMADM, "delete", u)
    c = Crash(h, tmp, step)
    cp = c.run(VMADM, "receive", input=data)
    assert cp.returncode == -9 and c.fired(), cp
    ls = truth(h, [u])
    if step == "receive.saved":
        assert ls == {u: "stopped"}
    else:
        assert ls == {}
        cp = subprocess.run(["nsenter", "--net=/run/netns/" + h.netns, "--", VMADM, "receive"],
                            env=h.env, input=data, capture_output=True, timeout=120)
        assert cp.returncode == 0, cp.stderr  # the same receive again succeeds
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


# ---- rollback ----

@pytest.mark.parametrize("step", ["rollback.stopped", "rollback.cloned", "rollback.swapped",
                                  "rollback.trashed"])
def test_crash_rollback(ch, step):
    h, img, tmp = ch
    u = create(h, img)
    h.ok(VMADM, "create-snapshot", u, "s1")
    h.ok(VMADM, "create-snapshot", u, "s2")
    h.ok(VMADM, "start", u)
    c = Crash(h, tmp, step)
    cp = c.run(VMADM, "rollback-snapshot", u, "s1")
    assert cp.returncode == -9 and c.fired(), cp
    ls = truth(h, [u])
    assert ls == {u: "stopped"}, ls  # rollback stops it first
    r = h.vmadm("rollback-snapshot", u, "s1")  # again: finishes
    assert r.rc == 0, r
    names = [s["name"] for s in get(h, u)["snapshots"]]
    assert names == ["s1"], names
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    assert h.vmadm("stop", u).rc == 0
    delete_all(h)
    assert_clean(h, [u])


# ---- image install ----

@pytest.mark.parametrize("step", ["image.created", "image.unpacked", "image.snapshot",
                                  "image.recorded"])
def test_crash_image_install(host, busybox_image, tmp_path, step):
    m, f, manifest = busybox_image
    img = manifest["uuid"]
    c = Crash(host, tmp_path, step)
    cp = c.run(IMGADM, "install", "-m", m, "-f", f)
    assert cp.returncode == -9 and c.fired(), cp
    r = host.imgadm("list", "-j")
    assert r.rc == 0, r
    uuids = [i["manifest"]["uuid"] for i in r.json()]
    assert uuids == ([img] if step == "image.recorded" else []), uuids
    r = host.imgadm("install", "-m", m, "-f", f)  # again: cleans up and installs
    if step == "image.recorded":
        assert r.rc == 0 and "already installed" in r.out, r
    else:
        assert r.rc == 0, r
    assert sorted(subvolumes(host)) == sorted([img, img + "@final"])
    r = host.imgadm("delete", img)
    assert r.rc == 0, r
    assert subvolumes(host) == []
    assert wait_for(lambda: stale_qgroups(host) == [], 10), stale_qgroups(host)
    assert census(host)["debris"] == 0

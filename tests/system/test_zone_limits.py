"""Resource controls enforced on running zones (issue 3 §4), seen from
inside with zlogin and busybox: a memory hog is OOM-killed inside the zone
while the zone and the host carry on; a fork bomb is contained by max_lwps;
cpu_cap holds a spinner to its share; /tmp is a tmpfs of `tmpfs` MiB; and
every limit changes on the running zone with `vmadm update`."""
import os
import subprocess
import time

import pytest

from conftest import CMD
from test_vmadm_util import create, get

ZLOGIN = os.path.join(CMD, "zlogin")

CG = "/sys/fs/cgroup"


UNIFIED = os.path.exists(os.path.join(CG, "cgroup.controllers"))


def v2_dir(u):
    """The zone's cgroup2: in its systemd scope, or under zonehost's parent."""
    scope = os.path.join(CG, "system.slice", "zonehost-%s.scope" % u, "zone")
    return scope if os.path.isdir(scope) else os.path.join(CG, "zonehost", u)


# v1 file -> (v2 file, how to turn the v2 value into the v1 one)
V2 = {
    "memory.limit_in_bytes": ("memory.max", lambda v: v),
    "cpu.cfs_quota_us": ("cpu.max", lambda v: v.split()[0]),
    "cpu.shares": ("cpu.weight", lambda v: str(int(v) * 1024 // 100)),
    "cpuacct.usage": ("cpu.stat", lambda v: str(1000 * int(
        [l.split()[1] for l in v.splitlines() if l.startswith("usage_usec")][0]))),
}


def cg(ctrl, u, f):
    """A knob of the zone's cgroup, by its v1 name (read from v2 on a unified host)."""
    if UNIFIED:
        f, conv = V2.get(f, (f, lambda v: v))
        with open(os.path.join(v2_dir(u), f)) as fh:
            return conv(fh.read().strip())
    with open(os.path.join(CG, ctrl, "zonehost", u, f)) as fh:
        return fh.read().strip()


def oom_killed(u):
    if UNIFIED:
        ev = dict(l.split() for l in cg("memory", u, "memory.events").splitlines())
        return int(ev.get("oom_kill", 0)) > 0 or int(ev.get("max", 0)) > 0
    return "oom_kill 1" in cg("memory", u, "memory.oom_control") or \
        int(cg("memory", u, "memory.failcnt")) > 0


def zl(h, u, *cmd, timeout=60):
    return h.run(ZLOGIN, u, *cmd, timeout=timeout)


@pytest.fixture
def zone(imghost):
    h, img = imghost
    made = []

    def make(**props):
        u = create(h, img, **props)
        r = h.vmadm("start", u)
        assert r.rc == 0, r
        made.append(u)
        return u
    yield h, make
    for u in made:
        h.vmadm("stop", "-F", u)


def v1_or_skip(ctrl):
    """The controller's knobs are readable here: a v1 hierarchy, or cgroup v2."""
    if not UNIFIED and not os.path.isdir(os.path.join(CG, ctrl, "zonehost")):
        pytest.skip("no cgroup v1 %s hierarchy on this host" % ctrl)


def test_memory_hog_is_oom_killed_inside_the_zone(zone):
    h, make = zone
    u = make(max_physical_memory=64, max_swap=256)
    v1_or_skip("memory")
    assert cg("memory", u, "memory.limit_in_bytes") == str(64 << 20)
    # dd's 200 MiB block is allocated and filled from /dev/zero: over the limit.
    r = zl(h, u, "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
    assert r.rc == 128 + 9, r                     # SIGKILL by the OOM killer
    assert oom_killed(u)
    # The zone lives on; a small allocation still works.
    assert get(h, u)["state"] == "running"
    r = zl(h, u, "dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1")
    assert r.rc == 0, r
    # Raised live, the same hog now fits.
    assert h.vmadm("update", u, "max_physical_memory=512", "max_swap=512").rc == 0
    assert cg("memory", u, "memory.limit_in_bytes") == str(512 << 20)
    r = zl(h, u, "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
    assert r.rc == 0, r


def test_fork_bomb_is_contained_by_max_lwps(zone):
    h, make = zone
    u = make(max_lwps=40)
    v1_or_skip("pids")
    assert cg("pids", u, "pids.max") == "40"
    # A shell that forks until it fails: it must hit the limit, not the host's.
    r = zl(h, u, "sh", "-c",
           "n=0; while [ $n -lt 200 ]; do sleep 5 & n=$((n+1)); done 2>/dev/null; "
           "echo started=$n", timeout=60)
    assert int(cg("pids", u, "pids.current")) <= 40
    assert int(cg("pids", u, "pids.events").split()[1]) > 0   # "max N": forks refused
    # Live change: the zone can grow again.
    assert h.vmadm("update", u, "max_lwps=500").rc == 0
    assert cg("pids", u, "pids.max") == "500"
    assert get(h, u)["state"] == "running"


def cpu_usage_ns(u):
    return int(cg("cpuacct", u, "cpuacct.usage"))


def test_cpu_cap_holds_a_spinner(zone):
    h, make = zone
    u = make(cpu_cap=25)
    v1_or_skip("cpuacct")
    assert cg("cpu", u, "cpu.cfs_quota_us") == "25000"
    p = subprocess.Popen([ZLOGIN, u, "sh", "-c", "while :; do :; done"], env=h.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        t0, c0 = time.monotonic(), cpu_usage_ns(u)
        time.sleep(1.5)
        share = (cpu_usage_ns(u) - c0) / ((time.monotonic() - t0) * 1e9)
        assert 0.15 <= share <= 0.35, share
        assert h.vmadm("update", u, "cpu_cap=60").rc == 0
        assert cg("cpu", u, "cpu.cfs_quota_us") == "60000"
        time.sleep(0.3)
        t0, c0 = time.monotonic(), cpu_usage_ns(u)
        time.sleep(1.5)
        share = (cpu_usage_ns(u) - c0) / ((time.monotonic() - t0) * 1e9)
        assert 0.45 <= share <= 0.75, share
    finally:
        p.kill()
        p.wait()


def test_tmpfs_size_and_shares_and_io_priority(zone):
    h, make = zone
    u = make(tmpfs=32, cpu_shares=50, zfs_io_priority=200)
    r = zl(h, u, "df", "-m", "/tmp")
    assert r.rc == 0, r
    line = r.out.strip().splitlines()[-1].split()
    assert line[0] == "tmpfs" and int(line[1]) == 32, r.out
    # Writing past it fails inside the zone with ENOSPC.
    r = zl(h, u, "dd", "if=/dev/zero", "of=/tmp/big", "bs=1M", "count=64")
    assert r.rc != 0 and "No space left" in r.err, r
    v1_or_skip("cpu")
    assert cg("cpu", u, "cpu.shares") == str(50 * 1024 // 100)
    assert h.vmadm("update", u, "cpu_shares=400").rc == 0
    assert cg("cpu", u, "cpu.shares") == str(400 * 1024 // 100)

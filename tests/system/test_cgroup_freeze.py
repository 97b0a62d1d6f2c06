"""Pause, process list and usage of a running zone through the cgroup layer
(cgroup_freeze, cgroup_frozen, cgroup_pids, cgroup_stats, cgroup_kill_all;
docs/architecture.md §11.5), on this machine's real hierarchies.

A busybox zone made with `vmadm create` runs a counter loop started with
zlogin; the host reads the counter through /proc/<pid>/root.  Driven by
tests/helpers/cgroup-ctl, which prints JSON.  Each zone is deleted at the
end, pass or fail, and must leave no cgroup behind.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, CMD
from test_vmadm_util import create, get, wait_for
from test_zlogin import start, zone_pids

CTL = os.path.join(BUILD, "tests", "helpers", "cgroup-ctl")
ZLOGIN = os.path.join(CMD, "zlogin")
LOOP = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/zh-counter; sleep 0.05; done"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run zones")


def ctl(*args):
    cp = subprocess.run([CTL] + list(args), capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, (cp.returncode, cp.stdout, cp.stderr)
    return json.loads(cp.stdout)


def zone_cgroups(u):
    base = "/sys/fs/cgroup"
    cands = [os.path.join(base, c, "zonehost", u) for c in os.listdir(base)]
    cands += [os.path.join(base, "zonehost", u),
              os.path.join(base, "system.slice", "zonehost-%s.scope" % u)]
    return [d for d in cands if os.path.isdir(d)]


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")[:-1]
    except OSError:
        return None


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def loop_shell(u):
    """The loop's shell (not one of its forks before they exec sleep), or None."""
    try:
        found = [p for p in zone_pids(u) if cmdline(p) == LOOP and cmdline(ppid(p)) != LOOP]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def counter(pid):
    """The loop's count; `echo > file` truncates before it writes, so an
    empty read is retried (not taken as 0)."""
    end = time.monotonic() + 2
    while True:
        with open("/proc/%d/root/tmp/zh-counter" % pid) as f:
            text = f.read().strip()
        if text or time.monotonic() > end:
            return int(text or 0)
        time.sleep(0.01)


def advancing(pid, wait=0.6):
    a = counter(pid)
    time.sleep(wait)
    return counter(pid) > a


@pytest.fixture
def zone(imghost):
    """(host, uuid, init pid, loop pid) of a running busybox zone with the counter loop."""
    h, img = imghost
    u = create(h, img)
    loop = None
    try:
        start(h, u)
        loop = subprocess.Popen([ZLOGIN, u] + LOOP, env=h.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: loop_shell(u), 10)
        pid = loop_shell(u)
        assert wait_for(lambda: os.path.exists("/proc/%d/root/tmp/zh-counter" % pid), 10)
        yield h, u, get(h, u)["pid"], pid
    finally:
        if zone_cgroups(u):
            subprocess.run([CTL, "thaw", u], capture_output=True)
        if loop and loop.poll() is None:
            loop.kill()
            loop.wait()
        r = h.vmadm("delete", u)
        assert r.rc == 0, r
        assert wait_for(lambda: zone_cgroups(u) == [], 30), zone_cgroups(u)


def test_freeze_stops_the_zone_and_thaw_resumes_it(zone):
    h, u, init, loop = zone
    assert ctl("frozen", u) == {"frozen": 0}
    assert advancing(loop)
    assert ctl("freeze", u) == {"frozen": 1}
    assert ctl("frozen", u) == {"frozen": 1}
    if os.path.isdir("/sys/fs/cgroup/freezer/zonehost/" + u):
        with open("/sys/fs/cgroup/freezer/zonehost/%s/freezer.state" % u) as f:
            assert f.read().strip() == "FROZEN"
    # A frozen task sleeps uninterruptibly (the kernel shows it as D).
    assert proc_state(loop) == "D" and proc_state(init) == "D", \
        (proc_state(loop), proc_state(init))
    assert not advancing(loop, 1.0), "the counter moved while the zone was frozen"
    assert ctl("freeze", u) == {"frozen": 1}, "freezing a frozen zone is fine"
    assert ctl("thaw", u) == {"frozen": 0}
    assert wait_for(lambda: advancing(loop, 0.3), 5), "the counter did not resume"
    assert get(h, u)["state"] == "running"


def test_pids_and_stats(zone):
    h, u, init, loop = zone
    pids = ctl("pids", u)["pids"]
    assert init in pids and loop in pids, (init, loop, pids)
    assert pids == sorted(set(pids))
    assert set(pids) == zone_pids(u) or set(pids) >= {init, loop}
    st = ctl("stats", u)
    assert st["memory"]["usage"]["usage"] > 0, st
    assert st["memory"]["usage"]["limit"] > 0, st
    assert st["memory"]["raw"], st
    assert st["pids"]["current"] >= 2, st
    assert st["cpu"]["usage"]["total"] > 0, st
    # Frozen, nothing forks or exits (the loop's sleeps come and go otherwise),
    # and it still answers (runc's events --stats of a paused container).
    ctl("freeze", u)
    frozen = ctl("pids", u)["pids"]
    time.sleep(0.3)
    assert ctl("pids", u)["pids"] == frozen
    assert ctl("stats", u)["pids"]["current"] >= len(frozen)
    ctl("thaw", u)


def test_kill_of_a_paused_zone_leaves_it_thawed(zone):
    h, u, init, loop = zone
    assert ctl("freeze", u) == {"frozen": 1}
    got = ctl("kill", u)
    # zoneadmd may remove the emptied cgroup first: -ENOENT then.
    assert got["frozen"] in (0, -2), got
    for p in (init, loop):
        assert wait_for(lambda: cmdline(p) in (None, []), 10), p
    assert wait_for(lambda: get(h, u)["state"] != "running", 30), get(h, u)["state"]


def test_errors(host):
    u = "00000000-0000-4000-8000-000000000001"
    for cmd in ("freeze", "thaw", "pids", "stats"):
        cp = subprocess.run([CTL, cmd, u], capture_output=True, text=True, timeout=30)
        assert cp.returncode == 1 and u in cp.stderr, (cmd, cp.stderr)
    cp = subprocess.run([CTL, "freeze", "../../x"], capture_output=True, text=True)
    assert cp.returncode == 1 and "invalid zone uuid" in cp.stderr, cp.stderr

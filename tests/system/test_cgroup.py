"""Zone cgroups on this machine's real cgroup v1 hierarchies.

Drives tests/helpers/cgroup-run, which creates <controller>/zonehost/<uuid>,
applies limits through the library, runs a command attached to it, then
kills everything left and removes the cgroups.  Other tests may run zones
at the same time: only this test's uuid is checked, and the shared
"zonehost" parent only when no other zone is left under it.
"""
import os
import subprocess
import sys
import time

import pytest

from conftest import BUILD, new_uuid

RUN = os.path.join(BUILD, "tests", "helpers", "cgroup-run")
CG = "/sys/fs/cgroup"
PY = sys.executable

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make cgroups"),
    pytest.mark.skipif(not os.path.exists(os.path.join(CG, "memory", "memory.limit_in_bytes")),
                       reason="this test drives cgroup v1 hierarchies"),
]


def cgrun(*args, timeout=60):
    cp = subprocess.run([RUN] + [str(a) for a in args], capture_output=True,
                        text=True, timeout=timeout)
    return cp


def result(cp):
    """(exit, signal) from the 'exit=N signal=S' line."""
    line = [l for l in cp.stdout.splitlines() if l.startswith("exit=")][-1]
    e, s = line.split()
    return int(e.split("=")[1]), int(s.split("=")[1])


def zone_dirs(uuid):
    return [os.path.join(CG, c, "zonehost", uuid)
            for c in ("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio",
                      "freezer", "devices", "systemd", "unified")
            if os.path.isdir(os.path.join(CG, c))]


def lonely_parent(parent):
    """True if parent exists with no zone below it (another zone's create or
    destroy may be between its two mkdirs/rmdirs: look again for a while)."""
    for _ in range(50):
        try:
            if any(e.is_dir() for e in os.scandir(parent)):
                return False
        except FileNotFoundError:
            return False
        time.sleep(0.02)
    return True


def assert_gone(uuid):
    for d in zone_dirs(uuid):
        assert not os.path.exists(d), d
        assert not lonely_parent(os.path.dirname(d)), \
            "empty zonehost parent left behind: %s" % os.path.dirname(d)


def knob(uuid, ctrl, name):
    with open(os.path.join(CG, ctrl, "zonehost", uuid, name)) as f:
        return f.read().strip()


def start(uuid, *args):
    p = subprocess.Popen([RUN, uuid] + [str(a) for a in args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    d = os.path.join(CG, "freezer", "zonehost", uuid)
    for _ in range(200):
        if os.path.exists(os.path.join(d, "cgroup.procs")):
            with open(os.path.join(d, "cgroup.procs")) as f:
                if f.read().strip():
                    return p
        time.sleep(0.01)
    p.kill()
    raise AssertionError("cgroup-run did not start: %r" % (p.communicate(),))


def test_dirs_while_running_and_nothing_after():
    u = new_uuid()
    p = start(u, "--", "sleep", "1")
    try:
        for d in zone_dirs(u):
            assert os.path.isdir(d), d
            with open(os.path.join(d, "cgroup.procs")) as f:
                assert f.read().split(), d
        assert knob(u, "devices", "devices.list").startswith("c 1:3 rwm")
    finally:
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "exit=0 signal=0" in out
    assert_gone(u)


def test_memory_hog_is_oom_killed():
    u = new_uuid()
    hog = "b=[]\nfor i in range(256):\n    b.append(bytearray(1 << 20))\nprint('survived')"
    script = ('%s -c "%s"; echo hog=$?; grep oom_kill %s/memory/zonehost/%s/memory.oom_control'
              % (PY, hog.replace('"', '\\"'), CG, u))
    cp = cgrun(u, "--mem", 64, "--", "sh", "-c", script)
    assert cp.returncode == 0, cp.stderr
    assert "survived" not in cp.stdout
    assert "hog=137" in cp.stdout            # SIGKILL by the OOM killer
    assert "oom_kill 1" in cp.stdout
    assert result(cp) == (0, 0)              # the shell beside it lives on
    # The host is unaffected: we can still allocate more than the zone could.
    big = bytearray(128 << 20)
    assert len(big) == 128 << 20
    assert_gone(u)


def test_fork_bomb_is_contained():
    u = new_uuid()
    forker = ("import os,time\nok=fail=0\nfor i in range(200):\n"
              "    try:\n        pid=os.fork()\n    except OSError:\n        fail+=1; continue\n"
              "    if pid==0:\n        time.sleep(30); os._exit(0)\n    ok+=1\n"
              "print('ok=%d fail=%d' % (ok, fail))")
    cp = cgrun(u, "--pids", 50, "--", PY, "-c", forker)
    assert cp.returncode == 0, cp.stderr
    line = [l for l in cp.stdout.splitlines() if l.startswith("ok=")][0]
    ok, fail = (int(x.split("=")[1]) for x in line.split())
    assert ok <= 49 and fail >= 150, line
    # The sleeping children outlived the command: kill_all had to reap them.
    assert_gone(u)


def test_shell_fork_bomb_is_killed():
    u = new_uuid()
    script = ("b(){ b|b& }; b 2>/dev/null; sleep 1; "
              "echo current=$(cat %s/pids/zonehost/%s/pids.current)" % (CG, u))
    t0 = time.monotonic()
    cp = cgrun(u, "--pids", 50, "--", "sh", "-c", script)
    assert cp.returncode == 0, cp.stderr
    cur = int([l for l in cp.stdout.splitlines() if l.startswith("current=")][0][8:])
    assert 1 <= cur <= 50
    assert time.monotonic() - t0 < 10
    assert_gone(u)


def test_cpu_cap_20_percent():
    u = new_uuid()
    spin = ("import time\nf='%s/cpuacct/zonehost/%s/cpuacct.usage'\n"
            "t0=time.time(); u0=int(open(f).read())\n"
            "while time.time()-t0 < 1.5: pass\n"
            "t1=time.time(); u1=int(open(f).read())\n"
            "print('pct=%%.1f' %% ((u1-u0)/1e9/(t1-t0)*100))" % (CG, u))
    if not os.path.isdir(os.path.join(CG, "cpuacct")):
        pytest.skip("no cpuacct hierarchy to measure with")
    cp = cgrun(u, "--cpu-cap", 20, "--", PY, "-c", spin)
    assert cp.returncode == 0, cp.stderr
    pct = float([l for l in cp.stdout.splitlines() if l.startswith("pct=")][0][4:])
    assert 12 <= pct <= 28, pct
    assert_gone(u)


def test_live_change_of_limits():
    u = new_uuid()
    p = start(u, "--mem", 256, "--pids", 100, "--cpu-cap", 50, "--", "sleep", "3")
    try:
        assert knob(u, "memory", "memory.limit_in_bytes") == str(256 << 20)
        assert knob(u, "cpu", "cpu.cfs_quota_us") == "50000"
        r = cgrun("--apply", u, "--mem", 128, "--swap", 256, "--pids", 20,
                  "--cpu-cap", 30, "--shares", 50)
        assert r.returncode == 0, r.stderr
        assert knob(u, "memory", "memory.limit_in_bytes") == str(128 << 20)
        assert knob(u, "memory", "memory.memsw.limit_in_bytes") == str(256 << 20)
        assert knob(u, "pids", "pids.max") == "20"
        assert knob(u, "cpu", "cpu.cfs_quota_us") == "30000"
        assert knob(u, "cpu", "cpu.shares") == "512"
        r = cgrun("--apply", u, "--mem", 512, "--swap", 1024)   # raise: memsw first
        assert r.returncode == 0, r.stderr
        assert knob(u, "memory", "memory.limit_in_bytes") == str(512 << 20)
        assert knob(u, "memory", "memory.memsw.limit_in_bytes") == str(1024 << 20)
        assert knob(u, "pids", "pids.max") == "max"
        assert knob(u, "cpu", "cpu.cfs_quota_us") == "-1"
    finally:
        p.kill()
        p.communicate(timeout=30)
    cgrun("--destroy", u)
    assert_gone(u)


def test_limit_below_usage_is_rejected_clearly():
    u = new_uuid()
    hold = ("import time\nb=bytearray(80 << 20)\nb[::4096]=b'x'*(len(b)//4096)\n"
            "print('held', flush=True)\ntime.sleep(20)")
    p = start(u, "--mem", 256, "--", PY, "-c", hold)
    try:
        assert p.stdout.readline().strip() == "held"
        r = cgrun("--apply", u, "--mem", 16)
        assert r.returncode == 1
        assert ("cannot set max_physical_memory: write 16777216 to "
                "memory.limit_in_bytes: Device or resource busy") in r.stderr
        # Still running, limit unchanged.
        assert knob(u, "memory", "memory.limit_in_bytes") == str(256 << 20)
    finally:
        p.kill()
        p.communicate(timeout=30)
    r = cgrun("--destroy", u)
    assert r.returncode == 0, r.stderr
    assert_gone(u)


def test_rejected_at_start_leaves_nothing():
    u = new_uuid()
    cp = cgrun(u, "--cpu-cap", 20000000000, "--", "true")
    assert cp.returncode == 1
    assert ("cannot set cpu_cap: write 20000000000000 to cpu.cfs_quota_us: "
            "Invalid argument") in cp.stderr
    assert "exit=" not in cp.stdout
    assert_gone(u)


def test_destroy_unknown_is_fine_and_bad_uuid_refused():
    cp = cgrun("--destroy", new_uuid())
    assert cp.returncode == 0, cp.stderr
    cp = cgrun("--destroy", "../../etc")
    assert cp.returncode == 1
    assert "invalid zone uuid" in cp.stderr


def test_kill_all_reaches_frozen_sub_cgroups():
    """A zone's own init (systemd) makes sub-cgroups and may freeze them."""
    u = new_uuid()
    f = os.path.join(CG, "freezer", "zonehost", u)
    m = os.path.join(CG, "memory", "zonehost", u)
    script = ("mkdir {f}/sub {m}/sub; "
              "sh -c 'echo $$ > {f}/sub/cgroup.procs; echo $$ > {m}/sub/cgroup.procs; "
              "exec sleep 100' & "
              "i=0; while [ -z \"$(cat {f}/sub/cgroup.procs)\" ] && [ $i -lt 600 ]; do "
              "sleep 0.05; i=$((i+1)); done; echo FROZEN > {f}/sub/freezer.state; "
              "i=0; while [ \"$(cat {f}/sub/freezer.state)\" != FROZEN ] && [ $i -lt 600 ]; "
              "do sleep 0.05; i=$((i+1)); done; "
              "echo state=$(cat {f}/sub/freezer.state) procs=$(cat {f}/sub/cgroup.procs)").format(f=f, m=m)
    t0 = time.monotonic()
    cp = cgrun(u, "--", "sh", "-c", script)
    assert cp.returncode == 0, cp.stderr
    assert "state=FROZEN procs=" in cp.stdout and "procs=\n" not in cp.stdout, cp.stdout
    assert time.monotonic() - t0 < 60
    assert_gone(u)

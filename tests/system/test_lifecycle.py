"""Zone lifecycle (issue 3 §1, §2, §8): vmadm start/stop/reboot/kill/console,
zoneadmd, states and the runtime fields of `vmadm get`, autoboot, and no
leftovers after stop, delete and `kill -9` of a zoneadmd.

Zones run the busybox image's own init (busybox init: SIGUSR2 powers off,
SIGTERM reboots; it runs `-/bin/sh` on the console).  Nothing here uses
zlogin: what happens inside is seen through the console.
"""
import json
import os
import select
import signal
import subprocess
import time
import pty

import pytest

from conftest import CMD, new_uuid
from test_vmadm_util import TS_RE, create, get, wait_for

MSG_START = "Successfully started VM %s\n"
MSG_STOP = "Successfully completed stop for VM %s\n"


# ---- helpers ----

def run_dir(h, u):
    return os.path.join(h.root, "run", "zonehost", u)


def state(h, u):
    return get(h, u)["state"]


def start(h, u):
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    assert r.err == MSG_START % u
    return get(h, u)


def pidns(pid):
    return os.readlink("/proc/%d/ns/pid" % pid)


def procs_in_pidns(ns):
    """Live (non-zombie) processes whose PID namespace is ns."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/pid" % d) != ns:
                continue
            with open("/proc/%s/stat" % d) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(int(d))
        except OSError:
            pass
    return out


def zoneadmds(u):
    """Live zoneadmd processes (and sentinels) of VM u."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"zoneadmd") and u.encode() in argv:
            out.append(int(d))
    return out


def cgroup_dirs(u):
    """The zone's cgroups: per v1 hierarchy, at the v2 root, or its systemd scope."""
    base = "/sys/fs/cgroup"
    cands = [os.path.join(base, c, "zonehost", u) for c in os.listdir(base)]
    cands += [os.path.join(base, "zonehost", u),
              os.path.join(base, "system.slice", "zonehost-%s.scope" % u)]
    return [d for d in cands if os.path.isdir(d)]


def zone_mounts(h, u):
    zp = os.path.join(h.root, "zones", u)
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(zp + "/")]


def assert_no_leftovers(h, u, ns=None):
    if ns:
        assert wait_for(lambda: not procs_in_pidns(ns), 30), procs_in_pidns(ns)
    assert wait_for(lambda: not zoneadmds(u), 30), zoneadmds(u)
    # systemd removes an empty scope's cgroup on its own, soon after.
    assert wait_for(lambda: cgroup_dirs(u) == [], 30), cgroup_dirs(u)
    assert zone_mounts(h, u) == []
    rd = run_dir(h, u)
    left = sorted(os.listdir(rd)) if os.path.isdir(rd) else []
    assert left in ([], ["exit.json"]), left
    assert state(h, u) in ("stopped", "failed")


class Console:
    """`vmadm console` on pipes."""

    def __init__(self, h, u):
        self.p = subprocess.Popen([os.path.join(CMD, "vmadm"), "console", u], env=h.env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.buf = b""

    def send(self, s):
        self.p.stdin.write(s.encode())
        self.p.stdin.flush()

    def expect(self, needle, timeout=10):
        end = time.time() + timeout
        while needle.encode() not in self.buf and time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.1)
            if r:
                b = os.read(self.p.stdout.fileno(), 4096)
                if not b:
                    break
                self.buf += b
        assert needle.encode() in self.buf, self.buf
        return self.buf.decode(errors="replace")

    def detach(self):
        self.send("\x1d")
        rc = self.p.wait(timeout=10)
        err = self.p.stderr.read().decode()
        return rc, err


@pytest.fixture
def lc(imghost):
    """imghost whose running zones are stopped at the end (before the pool goes)."""
    h, img = imghost
    yield h, img
    r = h.vmadm("list", "-p", "-o", "uuid,state")
    for line in r.out.splitlines():
        u, st = line.split(":")
        if st != "stopped":
            h.vmadm("stop", "-F", u)
        assert_no_leftovers(h, u)


# ---- tests ----

def test_start_stop_states_and_messages(lc):
    h, img = lc
    u = create(h, img)
    vm = get(h, u)
    assert vm["state"] == "stopped" and vm["zone_state"] == "installed"
    for k in ("pid", "boot_timestamp", "exit_status", "exit_timestamp"):
        assert k not in vm
    base = vm["zonehost_id_base"]
    assert base >= 65536 * 16 and base % 65536 == 0

    t0 = time.time()
    vm = start(h, u)
    assert vm["state"] == "running" and vm["zone_state"] == "running"
    assert isinstance(vm["pid"], int) and vm["pid"] > 1
    assert TS_RE.match(vm["boot_timestamp"])
    assert vm["autoboot"] is True
    assert "exit_status" not in vm
    assert h.vmadm("list", "-H", "-o", "state").out == "running\n"
    # the zone's init runs in its own PID namespace, as the zone's root (id_base)
    assert os.stat("/proc/%d" % vm["pid"]).st_uid == base
    ns = pidns(vm["pid"])
    assert ns != pidns(os.getpid())
    assert time.time() - t0 < 5

    r = h.vmadm("start", u)
    assert r.rc == 0 and r.err == "VM %s is already 'running'\n" % u, r

    t0 = time.time()
    r = h.vmadm("stop", u)
    assert r.rc == 0 and r.err == MSG_STOP % u, r
    assert time.time() - t0 < 15  # busybox init powers off on SIGUSR2 in ~2 s
    vm = get(h, u)
    assert vm["state"] == "stopped" and vm["zone_state"] == "installed"
    assert vm["autoboot"] is False
    assert "pid" not in vm and "boot_timestamp" not in vm
    assert vm["exit_status"] == 128 + signal.SIGINT  # init ended by reboot(2): halt
    assert TS_RE.match(vm["exit_timestamp"])
    assert_no_leftovers(h, u, ns)

    r = h.vmadm("stop", u)
    assert r.rc == 0, r
    assert r.err == "VM %s is already not 'running' (currently: stopped)\n" % u
    r = h.vmadm("halt", u)
    assert r.rc == 0, r


def test_boot_alias_and_stop_force(lc):
    h, img = lc
    u = create(h, img)
    r = h.vmadm("boot", u)
    assert r.rc == 0 and r.err == MSG_START % u, r
    ns = pidns(get(h, u)["pid"])
    t0 = time.time()
    r = h.vmadm("halt", "-F", u)
    assert r.rc == 0 and r.err == MSG_STOP % u, r
    assert time.time() - t0 < 2
    assert get(h, u)["exit_status"] == 128 + signal.SIGKILL
    assert_no_leftovers(h, u, ns)


def test_stop_timeout_kills_what_ignores_the_halt_signal(lc):
    h, img = lc
    u = create(h, img, halt_signal="SIGWINCH")  # busybox init ignores it
    assert get(h, u)["halt_signal"] == "SIGWINCH"
    start(h, u)
    t0 = time.time()
    r = h.vmadm("stop", "-t", "1", u)
    assert r.rc == 0, r
    took = time.time() - t0
    assert 0.9 < took < 5, took
    assert get(h, u)["exit_status"] == 128 + signal.SIGKILL
    assert_no_leftovers(h, u)


def test_bad_arguments(lc):
    h, img = lc
    u = create(h, img)
    r = h.vmadm("stop", "-t", "abc", u)
    assert r.rc == 2, r
    r = h.vmadm("start", "nope")
    assert r.rc == 2 and r.err.startswith("Invalid or missing UUID for start"), r
    v = new_uuid()
    r = h.vmadm("start", v)
    assert r.rc == 1 and r.err == "zoneadm: %s: No such zone configured\n" % v, r
    assert not os.path.exists(run_dir(h, v))
    r = h.vmadm("update", u, "halt_signal=SIGNOPE")
    assert r.rc == 1 and "halt_signal" in r.err, r
    r = h.vmadm("create", input=json.dumps({"brand": "joyent", "image_uuid": img,
                                              "zonehost_id_base": 65536 * 20}))
    # read-only: stripped with the reference's warning, never taken from a payload
    assert r.rc == 0, r
    assert "invalid create property: [zonehost_id_base]" in r.err
    assert get(h, r.err.split()[-1])["zonehost_id_base"] == 65536 * 17


def test_reboot(lc):
    h, img = lc
    u = create(h, img)
    vm = start(h, u)
    r = h.vmadm("reboot", u)
    assert r.rc == 0 and r.err == "Successfully completed reboot for VM %s\n" % u, r
    vm2 = get(h, u)
    assert vm2["state"] == "running"
    assert vm2["pid"] != vm["pid"] and vm2["boot_timestamp"] > vm["boot_timestamp"]
    assert vm["pid"] not in procs_in_pidns(pidns(vm2["pid"]))
    t0 = time.time()
    r = h.vmadm("reboot", "-F", u)
    assert r.rc == 0, r
    assert time.time() - t0 < 2
    vm3 = get(h, u)
    assert vm3["state"] == "running" and vm3["pid"] != vm2["pid"]
    # a reboot asked from inside the zone (reboot(2) ends init with SIGHUP)
    c = Console(h, u)
    c.send("reboot\n")
    assert wait_for(lambda: get(h, u).get("pid") not in (None, vm3["pid"]), 15)
    assert c.detach()[0] == 0
    assert state(h, u) == "running"
    r = h.vmadm("stop", "-F", u)
    assert r.rc == 0
    r = h.vmadm("reboot", u)
    assert r.rc == 1, r
    assert r.err == "VM %s is already not 'running' (currently: stopped)\n" % u


def test_kill(lc):
    h, img = lc
    u = create(h, img)
    start(h, u)
    for args, name in ((["-s", "WINCH"], "SIGWINCH"), (["-s", "sigwinch"], "SIGWINCH"),
                       (["-WINCH"], "SIGWINCH"), (["-s", "28"], "SIGWINCH")):
        r = h.vmadm("kill", *args, u)
        assert r.rc == 0, r
        assert r.err == 'Sent signal "%s" to init process for VM %s\n' % (name, u)
    assert state(h, u) == "running"
    for bad in (["-s", "SIGNOPE"], ["-s", "0"], ["-NOPE"], ["-s"]):
        r = h.vmadm("kill", *bad, u)
        assert r.rc == 2, (bad, r)
    # SIGUSR1 halts busybox init: the zone goes down by itself
    r = h.vmadm("kill", "-s", "USR1", u)
    assert r.rc == 0 and r.err == 'Sent signal "SIGUSR1" to init process for VM %s\n' % u
    assert wait_for(lambda: state(h, u) == "stopped", 15)
    assert get(h, u)["exit_status"] == 128 + signal.SIGINT
    assert_no_leftovers(h, u)
    r = h.vmadm("kill", u)
    assert r.rc == 1 and r.err == "Cannot find running init PID for VM %s\n" % u, r


def test_console_attach_detach_reattach(lc):
    h, img = lc
    u = create(h, img, hostname="zh-console-test")
    r = h.vmadm("console", u)
    assert r.rc == 1, r
    assert r.err == 'cannot connect to console when state is "stopped" must be "running".\n'
    start(h, u)
    c = Console(h, u)
    c.send("echo marker-$((6*7)); hostname\n")
    out = c.expect("marker-42")
    c.expect("zh-console-test")
    rc, err = c.detach()
    assert rc == 0 and "Connected to zone" in err, err
    assert state(h, u) == "running"
    # again: the zone still has its shell on the console
    c = Console(h, u)
    c.send("echo again-$((1+2))\n")
    c.expect("again-3")
    assert c.detach()[0] == 0
    # the console log: JSON lines
    with open(os.path.join(get(h, u)["zonepath"], "logs", "console.log")) as f:
        recs = [json.loads(l) for l in f]
    assert {"time", "stream", "msg"} <= set(recs[0])
    assert any(r["msg"] == "marker-42" and r["stream"] == "console" for r in recs)
    # a pipe that ends: detaches once the zone is quiet
    r = h.vmadm("console", u, input="echo piped-$((2*3))\n", timeout=20)
    assert r.rc == 0 and "piped-6" in r.out, r


def test_console_on_a_tty(lc):
    h, img = lc
    u = create(h, img)
    start(h, u)
    master, slave = pty.openpty()
    p = subprocess.Popen([os.path.join(CMD, "vmadm"), "console", u], env=h.env,
                         stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    buf = b""
    os.write(master, b"echo tty-$((40+2))\r")
    end = time.time() + 10
    while b"tty-42" not in buf and time.time() < end:
        if select.select([master], [], [], 0.1)[0]:
            buf += os.read(master, 4096)
    assert b"tty-42" in buf, buf
    os.write(master, b"\x1d")
    assert p.wait(timeout=10) == 0
    os.close(master)


def test_failed_start_leaves_nothing(lc):
    h, img = lc
    u = create(h, img, init_name="/sbin/no-such-init")
    r = h.vmadm("start", u)
    assert r.rc == 1, r
    assert "/sbin/no-such-init" in r.err
    vm = get(h, u)
    assert vm["state"] == "failed"
    assert "/sbin/no-such-init" in vm["failed_reason"]
    assert_no_leftovers(h, u)
    assert h.vmadm("update", u, "init_name=/sbin/init").rc == 0
    vm = start(h, u)
    assert "failed_reason" not in vm
    assert h.vmadm("stop", "-F", u).rc == 0
    assert state(h, u) == "stopped"


def test_limit_the_kernel_rejects_fails_cleanly(lc):
    """A cpu_cap the kernel refuses: start fails naming the property, the VM
    is `failed` with that reason, and nothing of the zone is left."""
    h, img = lc
    u = create(h, img, cpu_cap=20000000000)
    r = h.vmadm("start", u)
    assert r.rc == 1, r
    assert "cpu_cap" in r.err, r
    vm = get(h, u)
    assert vm["state"] == "failed" and "cpu_cap" in vm["failed_reason"]
    assert_no_leftovers(h, u)
    assert h.vmadm("update", u, "cpu_cap=50").rc == 0
    start(h, u)
    assert h.vmadm("stop", "-F", u).rc == 0


def test_start_with_missing_dataset_fails_cleanly(lc):
    """The VM's dataset is gone (removed behind zonehost's back): start says
    so and leaves nothing behind."""
    h, img = lc
    u = create(h, img)
    root = os.path.join(h.root, "zones", u, "root")
    subprocess.run(["mv", root, root + ".gone"], check=True)
    try:
        r = h.vmadm("start", u)
        assert r.rc == 1, r
        assert "root" in r.err, r
        assert_no_leftovers(h, u)
    finally:
        subprocess.run(["mv", root + ".gone", root], check=True)


def test_autoboot_create_and_delete_running(lc):
    h, img = lc
    r = h.vmadm("create", input=json.dumps({"brand": "joyent", "image_uuid": img,
                                              "autoboot": True}))
    assert r.rc == 0, r
    u = r.err.split()[-1]
    vm = get(h, u)
    assert vm["state"] == "running", vm
    ns = pidns(vm["pid"])
    r = h.vmadm("delete", u)
    assert r.rc == 0 and r.err == "Successfully deleted VM %s\n" % u, r
    assert not procs_in_pidns(ns)
    assert not zoneadmds(u) and zone_mounts(h, u) == []
    assert wait_for(lambda: cgroup_dirs(u) == [], 30), cgroup_dirs(u)
    assert not os.path.exists(run_dir(h, u))


def test_kill9_zoneadmd_leaves_nothing(lc):
    h, img = lc
    u = create(h, img)
    vm = start(h, u)
    ns = pidns(vm["pid"])
    with open(os.path.join(run_dir(h, u), "state.json")) as f:
        zpid = json.load(f)["zoneadmd_pid"]
    assert zpid in zoneadmds(u)
    os.kill(zpid, signal.SIGKILL)
    assert wait_for(lambda: state(h, u) == "stopped", 30)
    assert_no_leftovers(h, u, ns)
    assert get(h, u)["exit_status"] == 137
    # and it starts again
    start(h, u)
    assert h.vmadm("stop", "-F", u).rc == 0


def test_update_running_applies_limits(lc):
    h, img = lc
    u = create(h, img, max_physical_memory=256)
    start(h, u)
    lim = "/sys/fs/cgroup/memory/zonehost/%s/memory.limit_in_bytes" % u
    if not os.path.exists(lim):
        pytest.skip("no cgroup v1 memory hierarchy on this host")
    with open(lim) as f:
        assert int(f.read()) == 256 << 20
    r = h.vmadm("update", u, "max_physical_memory=128", "max_locked_memory=128",
                "max_swap=256", "tmpfs=64")
    assert r.rc == 0, r
    with open(lim) as f:
        assert int(f.read()) == 128 << 20
    assert state(h, u) == "running"


def test_zonehost_autoboot(lc):
    h, img = lc
    a = create(h, img)
    b = create(h, img)
    assert h.vmadm("update", a, "autoboot=true").rc == 0
    r = h.zonehost("autoboot")
    assert r.rc == 0, r
    assert r.err == MSG_START % a
    assert state(h, a) == "running" and state(h, b) == "stopped"
    assert h.zonehost("autoboot").err == ""  # already running: nothing to do


def test_fifty_zones_at_once(lc):
    h, img = lc
    uuids = [create(h, img) for _ in range(50)]
    bases = {get(h, u)["zonehost_id_base"] for u in uuids}
    assert len(bases) == 50
    t0 = time.time()
    ps = [subprocess.Popen([os.path.join(CMD, "vmadm"), "start", u], env=h.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for u in uuids]
    for u, p in zip(uuids, ps):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (u, err)
    started = time.time() - t0
    r = h.vmadm("list", "-H", "-o", "state")
    assert r.out == "running\n" * 50, r
    nss = [pidns(get(h, u)["pid"]) for u in uuids]
    assert len(set(nss)) == 50
    ps = [subprocess.Popen([os.path.join(CMD, "vmadm"), "delete", u], env=h.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for u in uuids]
    for u, p in zip(uuids, ps):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (u, err)
    assert h.vmadm("list", "-H").out == ""
    for u, ns in zip(uuids, nss):
        assert not procs_in_pidns(ns)
        assert not zoneadmds(u) and zone_mounts(h, u) == []
        assert wait_for(lambda: cgroup_dirs(u) == [], 30), cgroup_dirs(u)
    assert started < 60, started


def test_pool_destroy_force_stops_running_zones(imghost):
    """`zonehost pool destroy --force` removes running zones too: they are
    stopped first, so no zoneadmd, init, cgroup, mount or loop device stays."""
    h, img = imghost
    u = create(h, img)
    vm = start(h, u)
    ns = pidns(vm["pid"])
    r = h.zonehost("pool", "destroy", "--force")
    assert r.rc == 0, r
    assert wait_for(lambda: not procs_in_pidns(ns), 30)
    assert wait_for(lambda: not zoneadmds(u), 30)
    assert wait_for(lambda: cgroup_dirs(u) == [], 30), cgroup_dirs(u)
    assert h.mounts_under_root() == []
    img_file = os.path.join(h.root, "var", "lib", "zonehost", "zones.img")
    lo = subprocess.run(["losetup", "-j", img_file], capture_output=True, text=True)
    assert lo.stdout == ""

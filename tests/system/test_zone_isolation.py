"""Isolation of a zone (issue 3 §3), each point looked at from inside.

The zone is built by the library directly: tests/helpers/zone-run calls
zone_spawn() on the root of a VM made by `vmadm create` (autoboot false), with
the static probe (tests/helpers/probe) copied into that root and run as the
zone's init.  zoneadmd is not involved: these are the library's own tests.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, new_uuid
from test_vmadm_util import create, get, pool_mount

HELPERS = os.path.join(BUILD, "tests", "helpers")
ZONE_RUN = os.path.join(HELPERS, "zone-run")
PROBE = os.path.join(HELPERS, "probe")

NAMESPACES = ("user", "mnt", "pid", "uts", "ipc", "net", "cgroup")


class Zone:
    """A VM's zone root with the probe in it, and a private id range."""

    def __init__(self, host, uuid, root):
        self.host = host
        self.uuid = uuid
        self.root = root
        # Far above what vmadm allocates (from 16 * 65536 up), so a kill of a
        # leftover in this range can only hit this test's own zone.
        self.id_base = (1 << 30) + random.randrange(0, 4096) * 65536
        self.cgroups = []     # uuids zone-run made cgroups for

    def args(self, *extra, hostname=None, tmpfs=16, fs=(), uuid=None):
        a = [ZONE_RUN, "--root", self.root, "--id-base", str(self.id_base),
             "--hostname", hostname or "zone-" + self.uuid[:8], "--tmpfs", str(tmpfs)]
        for f in fs:
            a += ["--fs", f]
        uuid = uuid or new_uuid()
        self.cgroups.append(uuid)
        return a + ["--uuid", uuid, "--"] + list(extra)

    def run(self, *cmd, fs=(), uuid=None, timeout=30, **kw):
        """Run `probe CMD` as the zone's init; returns (rc, stdout, stderr)."""
        cp = subprocess.run(self.args("/probe", *cmd, fs=fs, uuid=uuid),
                            capture_output=True, text=True, timeout=timeout, **kw)
        return cp.returncode, cp.stdout, cp.stderr

    def probe(self, *cmd, **kw):
        rc, out, err = self.run(*cmd, **kw)
        assert rc == 0, (rc, out, err)
        assert out.rstrip().endswith("exit=0"), (out, err)
        return out.rstrip()[: -len("exit=0")]

    def kv(self, *cmd, **kw):
        out = {}
        for tok in self.probe(*cmd, **kw).split():
            k, sep, v = tok.partition("=")
            if sep:
                out[k] = v
        return out


@pytest.fixture
def zone(imghost):
    h, img = imghost
    u = create(h, img)
    root = os.path.join(get(h, u)["zonepath"], "root")
    shutil.copy(PROBE, os.path.join(root, "probe"))
    z = Zone(h, u, root)
    yield z
    # A zone-run killed by a timeout leaves its zone: clean up, then fail.
    left = zone_procs(z)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    cgs = [d for u in z.cgroups for d in zone_cgroups(u)]
    time.sleep(0.1 if left else 0)
    for d in cgs:
        os.rmdir(d)
    assert not left and not cgs, (left, cgs)
    assert_no_leftovers(z)


def zone_procs(z):
    """Host pids of processes whose uid is in the zone's range."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/status" % p) as f:
                uid = int(re.search(r"^Uid:\s+\d+\s+(\d+)", f.read(), re.M).group(1))
        except (OSError, AttributeError):
            continue
        if z.id_base <= uid < z.id_base + 65536:
            pids.append(int(p))
    return pids


def zone_cgroups(uuid):
    base = "/sys/fs/cgroup"
    return [os.path.join(base, c, "zonehost", uuid) for c in os.listdir(base)
            if os.path.isdir(os.path.join(base, c, "zonehost", uuid))]


def assert_no_leftovers(z, uuid=None):
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split()[4] for l in f]
    assert not [m for m in mounts if m.startswith(z.root)], mounts
    for _ in range(50):
        if not zone_procs(z):
            break
        time.sleep(0.02)
    assert not zone_procs(z)
    if uuid:
        assert not zone_cgroups(uuid)


class RunningZone:
    """`probe init [SUB...]` running in the background, for looks from the host."""

    def __init__(self, z, *sub):
        pidfile = os.path.join(z.host.root, "init.pid")
        a = z.args("/probe", "init", *sub)
        a[1:1] = ["--pidfile", pidfile]
        self.p = subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(500):
            if os.path.exists(pidfile) and os.path.getsize(pidfile):
                break
            assert self.p.poll() is None, self.p.communicate()
            time.sleep(0.01)
        with open(pidfile) as f:
            self.pid = int(f.read())

    def stop(self):
        """SIGTERM to zone-run, which passes it to init; returns (rc, out, err)."""
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=10)
        return self.p.returncode, out, err


# ---- user namespace and the idmapped root ----

def test_user_namespace_and_id_range(zone):
    out = zone.probe("id")
    assert "uid=0 gid=0" in out
    for m in ("uid_map", "gid_map"):
        line = re.search(m + r":\s*(\d+)\s+(\d+)\s+(\d+)", out)
        assert line, out
        assert tuple(int(x) for x in line.groups()) == (0, zone.id_base, 65536)


def test_root_is_idmapped_never_chowned(zone):
    # The image's files show as root inside.
    assert zone.kv("stat", "/bin/busybox")["uid"] == "0"
    rz = RunningZone(zone, "write", "/root/made-inside", "hello")
    try:
        time.sleep(0.05)
        via = os.stat("/proc/%d/root/root/made-inside" % rz.pid)
        # Seen from the host through the zone's root: the zone's mapped id.
        assert (via.st_uid, via.st_gid) == (zone.id_base, zone.id_base)
        with open("/proc/%d/mountinfo" % rz.pid) as f:
            root_line = [l for l in f if l.split()[4] == "/"][0]
        assert "idmapped" in root_line.split(" - ")[0], root_line
    finally:
        rc, out, _ = rz.stop()
    assert rc == 0 and "probe-init ready" in out and "exit=0" in out
    # On disk nothing was chown'd: every file of the zone root is root's.
    on_disk = os.lstat(os.path.join(zone.root, "root", "made-inside"))
    assert (on_disk.st_uid, on_disk.st_gid) == (0, 0)
    for d, dirs, files in os.walk(zone.root):
        for n in dirs + files:
            st = os.lstat(os.path.join(d, n))
            assert (st.st_uid, st.st_gid) == (0, 0), os.path.join(d, n)


# ---- namespaces ----

def test_own_namespaces(zone):
    inside = zone.kv("ns")
    for ns in NAMESPACES:
        assert inside[ns].startswith(ns + ":["), inside
        assert inside[ns] != os.readlink("/proc/self/ns/" + ns), ns


def test_sees_only_its_own_processes(zone):
    out = zone.probe("fork", "ps")
    procs = [l.split() for l in out.splitlines() if re.match(r"^\d+ ", l)]
    # The probe as init, and the ps it forked; nothing of the host.
    assert sorted(int(p[0]) for p in procs) == [1, 2], out
    assert all(p[1] == "probe" for p in procs)


def test_hostname_and_interfaces(zone):
    assert zone.kv("hostname")["hostname"] == "zone-" + zone.uuid[:8]
    assert zone.probe("ifaces").split() == ["lo"]


def test_mount_table_has_no_host_mounts(zone):
    src = os.path.join(zone.host.root, "shared")
    os.mkdir(src)
    out = zone.probe("mounts", fs=[src + ":/data:ro"])
    points = [l.split()[4] for l in out.splitlines() if l.strip()]
    allowed = re.compile(r"^/(proc|sys|dev|tmp|run|data)(/|$)|^/$")
    assert all(allowed.match(p) for p in points), points
    for p in ("/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/tmp", "/run",
              "/sys/fs/cgroup"):
        assert p in points, (p, points)
    assert zone.host.root not in out.replace(src, "")
    tmp = [l for l in out.splitlines() if l.split()[4] == "/tmp"][0]
    assert "size=16384k" in tmp and "nosuid" in tmp and "nodev" in tmp


# ---- /dev, /proc, /sys ----

def test_minimal_dev(zone):
    devs = {}
    for line in zone.probe("devs").splitlines():
        t, name, num = line.split()
        devs[name] = (t, num)
    assert devs == {
        "null": ("c", "1:3"), "zero": ("c", "1:5"), "full": ("c", "1:7"),
        "random": ("c", "1:8"), "urandom": ("c", "1:9"), "tty": ("c", "5:0"),
        "console": ("c", devs["console"][1]), "ptmx": ("l", "0:0"),
        "pts": ("d", "0:0"), "shm": ("d", "0:0"), "fd": ("l", "0:0"),
        "stdin": ("l", "0:0"), "stdout": ("l", "0:0"), "stderr": ("l", "0:0"),
    }
    assert devs["console"][1].startswith("136:")
    assert zone.probe("ls", "/dev/pts").split() == ["ptmx"]
    assert zone.kv("write", "/dev/null", "x")["write"] == "ok"


def test_proc_masks_and_readonly_paths(zone):
    # Masked: /proc/keys reads as /dev/null, /proc/acpi is an empty ro tmpfs.
    assert zone.probe("cat", "/proc/keys") == ""
    assert zone.probe("ls", "/proc/acpi") == ""
    assert zone.kv("write", "/proc/acpi/x", "y")["write"] == "EROFS"
    # Read-only: /proc/sys and friends.
    assert zone.kv("write", "/proc/sys/kernel/hostname", "evil")["write"] == "EROFS"
    assert zone.kv("write", "/proc/sys/vm/drop_caches", "3")["write"] == "EROFS"
    mounts = zone.probe("mounts")
    for p in ("/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"):
        if os.path.exists(p):
            line = [l for l in mounts.splitlines() if l.split()[4] == p]
            assert line and line[0].split()[5].startswith("ro"), (p, mounts)


def test_sys_read_only(zone):
    assert zone.kv("write", "/sys/kernel/uevent_helper", "/evil")["write"] == "EROFS"
    unified = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    # v1/hybrid: a read-only tmpfs; v2: the zone's own cgroup2 (rw for its
    # init), where no file can be made.
    assert zone.kv("write", "/sys/fs/cgroup/x", "y")["write"] in \
        (("EACCES", "EPERM", "EROFS") if unified else ("EROFS",))
    assert zone.probe("ls", "/sys/firmware") == ""
    line = [l for l in zone.probe("mounts").splitlines() if l.split()[4] == "/sys"][0]
    assert line.split()[5].startswith("ro") and "sysfs" in line
    # The zone's cgroup tree is its own (cgroup namespace).
    own = zone.probe("cat", "/proc/self/cgroup")
    assert ("0::/\n" if unified else "memory:/\n") in own, own


# ---- capabilities, seccomp ----

def test_capability_bounding_set(zone):
    bnd = int(zone.probe("caps").split("CapBnd:")[1].split()[0], 16)
    for bit, name in ((16, "SYS_MODULE"), (17, "SYS_RAWIO"), (25, "SYS_TIME")):
        assert not bnd & (1 << bit), name


def test_seccomp_denials(zone):
    r = zone.kv("syscalls")
    for name in ("init_module", "finit_module", "delete_module", "kexec_load",
                 "kexec_file_load", "add_key", "keyctl", "request_key", "bpf",
                 "perf_event_open", "userfaultfd", "open_by_handle_at"):
        assert r[name] == "EPERM", (name, r)
    # A zone cannot reboot the host: in its PID namespace reboot() only ends
    # the zone (or is denied outright).
    assert r["reboot"] in ("EPERM", "EINVAL"), r


def test_btrfs_subvolume_ioctls_denied(zone):
    r = zone.kv("btrfs-snapshot", "/")
    for name in ("snap_create", "snap_create_v2", "subvol_create", "snap_destroy",
                 "qgroup_limit"):
        assert r[name] == "EPERM", (name, r)
    for n in ("probe-snap", "probe-snap2", "probe-subvol"):
        assert not os.path.exists(os.path.join(zone.root, n))


# ---- fds, /proc/self/exe ----

def test_no_host_fd_leaks(zone):
    # An fd the caller leaks into zone-run must not reach the zone.
    with open(os.path.join(zone.host.root, "secret"), "w") as leak:
        out = zone.probe("fds", pass_fds=(leak.fileno(),))
    fds = dict(l.split(" -> ") for l in out.splitlines())
    assert sorted(fds) == ["0", "1", "2", "3"], fds
    assert fds["3"] == "/proc/1/fd"  # probe's own directory handle
    assert all(fds[n].startswith("/dev/pts/") for n in "012"), fds


def test_exe_of_host_not_writable(zone):
    r = zone.kv("exe-write", str(os.getpid()), "1")
    # Its own exe is the zone's binary, busy while it runs.
    assert r["self_exe"] == "/probe"
    assert r["/proc/self/exe"] == "ETXTBSY"
    assert r["/proc/1/exe"] == "ETXTBSY"
    # A host pid does not exist in the zone's PID namespace.
    assert r["/proc/%d/exe" % os.getpid()] == "ENOENT"


# ---- filesystems ----

def test_filesystems_bind_ro_rw(zone):
    ro = os.path.join(zone.host.root, "ro-src")
    rw = os.path.join(zone.host.root, "rw-src")
    for d in (ro, rw):
        os.mkdir(d)
        with open(os.path.join(d, "marker"), "w") as f:
            f.write(os.path.basename(d))
    fs = [ro + ":/srv/ro:ro", rw + ":/srv/rw"]
    assert zone.probe("cat", "/srv/ro/marker", fs=fs) == "ro-src"
    assert zone.kv("write", "/srv/ro/new", "x", fs=fs)["write"] == "EROFS"
    assert zone.kv("write", "/srv/rw/new", "x", fs=fs)["write"] == "ok"
    assert open(os.path.join(rw, "new")).read() == "x"
    assert not os.path.exists(os.path.join(ro, "new"))


def mounts_near(*dirs):
    """The host's mounts on /etc or under dirs (other tests may mount elsewhere meanwhile)."""
    with open("/proc/self/mountinfo") as f:
        points = [l.split()[4] for l in f]
    return sorted(p for p in points if p == "/etc" or p.startswith("/etc/") or
                  any(p == d or p.startswith(d + "/") for d in dirs))


def test_filesystems_symlink_does_not_escape(zone):
    src = os.path.join(zone.host.root, "fs-src")
    os.mkdir(src)
    with open(os.path.join(src, "marker"), "w") as f:
        f.write("from-host")
    os.mkdir(os.path.join(zone.root, "zone-etc-target"))
    # /mnt -> /etc (the host's, if followed outside the root)
    os.symlink("/etc", os.path.join(zone.root, "mnt"))
    os.symlink("../../../../../../../../zone-etc-target", os.path.join(zone.root, "up"))
    before = mounts_near(zone.root, src)
    fs = [src + ":/mnt:ro", src + ":/up/x"]
    out = zone.probe("cat", "/etc/marker", fs=fs)
    assert out == "from-host"        # landed on the zone's own /etc
    assert zone.probe("cat", "/zone-etc-target/x/marker", fs=fs) == "from-host"
    assert mounts_near(zone.root, src) == before
    assert not os.path.exists("/etc/marker")


def test_filesystems_missing_source(zone):
    rc, out, err = zone.run("id", fs=["/nonexistent/zh-src:/data"])
    assert rc == 1
    assert 'source "/nonexistent/zh-src"' in err and "No such file" in err, err


# ---- bad input: missing init ----

def test_missing_init_clean_error_nothing_left(zone):
    u = new_uuid()
    cp = subprocess.run(zone.args("/sbin/no-such-init", uuid=u), capture_output=True,
                        text=True, timeout=30)
    assert cp.returncode == 1
    assert cp.stderr.strip() == 'zone-run: init "/sbin/no-such-init" not found in zone root'
    assert "exit=" not in cp.stdout
    assert_no_leftovers(zone, u)


def test_stop_leaves_nothing_and_spawn_time(zone):
    u = new_uuid()
    cp = subprocess.run(zone.args("/probe", "id", uuid=u), capture_output=True,
                        text=True, timeout=30)
    assert cp.returncode == 0 and cp.stdout.rstrip().endswith("exit=0"), cp
    a = zone.args("/probe", "hostname", uuid=u)
    a.insert(1, "--time")
    cp = subprocess.run(a, capture_output=True, text=True, timeout=30)
    m = re.search(r"spawn_ms=([\d.]+)", cp.stderr)
    assert m, cp.stderr
    assert float(m.group(1)) < 2000
    assert_no_leftovers(zone, u)

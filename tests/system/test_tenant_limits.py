"""A hostile tenant against the host and its neighbours (issue 10 classes
5, 7, 8 and 10), each attack made from inside a running zone by the static
probe (tests/helpers/probe) copied into its root and run through zlogin.

Every test shows that the attack fails, and that another zone and the host
still get what the attacker tried to take from them.  Zones have no NICs:
nothing here touches a network.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, CMD
from test_vmadm_util import create, get, wait_for

PROBE = os.path.join(BUILD, "tests", "helpers", "probe")
ZLOGIN = os.path.join(CMD, "zlogin")

pytestmark = pytest.mark.skipif(not os.path.exists(PROBE) or os.geteuid() != 0,
                                reason="needs root and tests/helpers/probe")


def zone(h, img, **props):
    """A running busybox zone with the probe at /probe."""
    u = create(h, img, **props)
    shutil.copy(PROBE, os.path.join(get(h, u)["zonepath"], "root", "probe"))
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    return u


def zl(h, u, cmd, check=True, timeout=60):
    r = h.run(ZLOGIN, u, cmd, timeout=timeout)
    if check:
        assert r.rc == 0, r
    return r


def zoneadmd_log(h, u):
    path = os.path.join(get(h, u)["zonepath"], "logs", "zoneadmd.log")
    with open(path) as f:
        return [json.loads(l)["msg"] for l in f if l.strip()]


# ---- class 10: files zonehost writes into the zone ----

def test_fifo_or_directory_in_place_of_zone_files(imghost):
    """`mkfifo /etc/hosts` + reboot stalled zoneadmd in open(); vmadm stop
    hung.  Now each such file is left alone with a logged reason, the zone
    reboots, and stop works."""
    h, img = imghost
    u = zone(h, img, resolvers=["192.0.2.53"], hostname="victim")
    zl(h, u, "rm -f /etc/hosts /etc/hostname /etc/resolv.conf && mkfifo /etc/hosts "
             "/etc/hostname && mkdir /etc/resolv.conf && echo secret > /secret && "
             "ln -s /secret /etc/hosts.allow")
    pid = get(h, u)["pid"]
    r = h.vmadm("reboot", u, timeout=60)
    assert r.rc == 0, r
    assert wait_for(lambda: get(h, u)["state"] == "running" and get(h, u)["pid"] != pid, 30)
    zl(h, u, "test -p /etc/hosts && test -p /etc/hostname && test -d /etc/resolv.conf")
    log = "\n".join(zoneadmd_log(h, u))
    for f in ("resolv.conf", "hostname", "hosts"):
        assert "left /etc/%s in the zone alone: it is not a regular file" % f in log, log
    t0 = time.monotonic()
    r = h.vmadm("stop", u, timeout=90)
    assert r.rc == 0 and time.monotonic() - t0 < 60, r
    assert get(h, u)["state"] == "stopped"


def test_symlinked_zone_files_are_replaced_not_followed(imghost):
    h, img = imghost
    u = zone(h, img, resolvers=["192.0.2.53"])
    zl(h, u, "echo secret > /secret && rm -f /etc/hosts /etc/resolv.conf && "
             "ln -s /secret /etc/hosts && ln -s ../../../../../../../etc/passwd /etc/resolv.conf")
    with open("/etc/passwd") as f:
        host_passwd = f.read()
    assert h.vmadm("reboot", u, timeout=60).rc == 0
    assert wait_for(lambda: zl(h, u, "test -f /etc/hosts", check=False).rc == 0, 30)
    assert zl(h, u, "cat /secret").out == "secret\n"
    zl(h, u, "test ! -L /etc/hosts && test ! -L /etc/resolv.conf")
    assert "nameserver 192.0.2.53" in zl(h, u, "cat /etc/resolv.conf").out
    with open("/etc/passwd") as f:
        assert f.read() == host_passwd


# ---- class 8: native AIO ----

IO_SETUP = {"x86_64": (206, 207), "aarch64": (0, 1)}.get(os.uname().machine)


def host_io_setup(events):
    """io_setup(events) + io_destroy on the host: 0 or the errno."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    ctx = ctypes.c_ulong(0)
    if libc.syscall(IO_SETUP[0], ctypes.c_uint(events), ctypes.byref(ctx)) < 0:
        return ctypes.get_errno()
    libc.syscall(IO_SETUP[1], ctx)
    return 0


def aio_nr():
    with open("/proc/sys/fs/aio-nr") as f:
        return int(f.read())


@pytest.mark.skipif(IO_SETUP is None, reason="io_setup number unknown on this arch")
def test_aio_cannot_be_drained_by_a_zone(imghost):
    """64 io_setup calls from a zone filled the host-wide aio-nr: the host
    and the other zones got EAGAIN.  Zones get ENOSYS (no native AIO, the
    way a kernel without it answers, so software falls back to threads);
    the pool stays the host's."""
    h, img = imghost
    a, b = zone(h, img), zone(h, img)
    before = aio_nr()
    r = zl(h, a, "/probe aio 64 65536")
    assert r.out.strip() == "io_setup=ENOSYS count=0", r
    assert aio_nr() - before < 65536, "the zone's contexts were counted"
    assert zl(h, b, "/probe aio 1 128").out.strip() == "io_setup=ENOSYS count=0"
    assert host_io_setup(4096) == 0


# ---- class 5: per-user kernel limits ----

NS_GET_OWNER_UID = 0xb704


def userns_owner(pid):
    import array
    import fcntl
    fd = os.open("/proc/%d/ns/user" % pid, os.O_RDONLY)
    try:
        buf = array.array("I", [0xffffffff])
        fcntl.ioctl(fd, NS_GET_OWNER_UID, buf, True)
        return buf[0]
    finally:
        os.close(fd)


def host_inotify(n):
    """How many inotify instances this (host root) process can open, up to n."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fds = []
    try:
        for _ in range(n):
            fd = libc.inotify_init1(os.O_CLOEXEC)
            if fd < 0:
                break
            fds.append(fd)
        return len(fds)
    finally:
        for fd in fds:
            os.close(fd)


def test_inotify_exhaustion_stays_in_the_zone(imghost):
    """A zone's user namespace was owned by host root, so its inotify
    instances counted against root's 128: a zone that took them all left
    the host and every other zone with EMFILE.  Each zone's namespaces are
    owned by its own host uid now (zonehost_id_base): the limit binds per
    zone."""
    h, img = imghost
    with open("/proc/sys/fs/inotify/max_user_instances") as f:
        limit = int(f.read())
    a, b = zone(h, img), zone(h, img)
    for u in (a, b):
        vm = get(h, u)
        assert userns_owner(vm["pid"]) == vm["zonehost_id_base"]
    hog = subprocess.Popen([ZLOGIN, a, "/probe inotify %d 60" % (limit + 10)], env=h.env,
                           stdout=subprocess.PIPE, text=True)
    try:
        line = hog.stdout.readline().split()
        assert line[0] == "inotify=EMFILE" and 0 < int(line[1][6:]) <= limit, line
        assert zl(h, b, "/probe inotify 16").out.strip() == "inotify=ok count=16"
        assert host_inotify(16) == 16
    finally:
        hog.kill()
        hog.wait()


# ---- class 7: ptys ----

ZONE_PTY_MAX = 256   # zone-internal.h


def pty_zlogin(h, u, cmd):
    """zlogin with a terminal as stdin (so with a pty): (exit code, output)."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(h.env)
        os.execv(ZLOGIN, [ZLOGIN, u, cmd])
    out = b""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(st), out.decode(errors="replace")


def test_pty_exhaustion_stays_in_the_zone(imghost):
    """One zone opened 3,069 ptys from a devpts with no bound; other zones,
    and zlogin to them, got ENOSPC.  Each zone's /dev/pts is bounded now,
    the zone cannot lift the bound, and zlogin still gets a pty."""
    h, img = imghost
    a, b = zone(h, img), zone(h, img)
    hog = subprocess.Popen([ZLOGIN, a, "/probe ptys %d /dev/ptmx 120" % (ZONE_PTY_MAX + 50)],
                           env=h.env, stdout=subprocess.PIPE, text=True)
    try:
        line = hog.stdout.readline().split()
        assert line == ["ptys=ENOSPC", "count=%d" % ZONE_PTY_MAX], line
        # the bound is the host's: the zone cannot remount it away
        r = zl(h, a, "/probe mount devpts /dev/pts remount max=100000,newinstance")
        assert r.out.strip() == "mount=EPERM", r
        # the other zone and the host are unaffected
        assert zl(h, b, "/probe ptys 8").out.strip() == "ptys=ok count=8"
        m, s = os.openpty()
        os.close(m)
        os.close(s)
        rc, out = pty_zlogin(h, b, "test -t 0 && tty")
        assert rc == 0 and "[Connected to zone '%s' pts/" % b in out and "/dev/pts/" in out, out
        # zlogin to the full zone gets a pty of its own: a terminal all the same
        rc, out = pty_zlogin(h, a, "test -t 0 && test -t 1 && echo is-a-tty-$((6*7))")
        assert rc == 0 and "is-a-tty-42" in out, out
        assert "on a pty of zlogin's own: the zone has none left" in out, out
        # a devpts the zone mounts itself gets no reserve and no more of its own /dev/pts
        r = zl(h, a, "/probe mount devpts /tmp/pts newinstance,ptmxmode=0666 && "
                     "/probe ptys 4 /tmp/pts/ptmx")
        assert r.out.split() == ["mount=ok", "ptys=ok", "count=4"], r
    finally:
        hog.kill()
        hog.wait()
    rc, out = pty_zlogin(h, a, "tty")     # the hog is gone: the zone's own ptys again
    assert rc == 0 and "[Connected to zone '%s' pts/" % a in out, out

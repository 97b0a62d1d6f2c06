"""containerd 1.6 driving an OCI runtime (issue 14): `ctr run --runc-binary`
through containerd's runc shim (io.containerd.runc.v2), and the config.toml
runtime entry (`runtimes.zonehost`, BinaryName) through the CRI plugin as a
kubelet drives it (tests/helpers/cri.py).

Every test runs with runc, crun and zonehost's runtime (skipped while it is
not built), each on a private containerd in a network and mount namespace
of the test's own (tests/helpers/oci.py).  Host only: not in guest.list.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import pytest

from oci import CMD, IMAGE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (containerd, namespaces)")


def run(c, cid, *cmd, opts=(), timeout=60):
    return subprocess.run(c.run_argv(c.runtime.path, cid, *cmd, opts=opts),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def exec_(c, cid, exec_id, *cmd, timeout=60):
    return subprocess.run(c.exec_argv(cid, exec_id, *cmd), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def task_status(c, cid):
    for line in c.ok("tasks", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[-1]
    return None


def wait_status(c, cid, want, timeout=20.0):
    end = time.monotonic() + timeout
    while (st := task_status(c, cid)) != want:
        assert time.monotonic() < end, "task %s is %s, not %s" % (cid, st, want)
        time.sleep(0.05)


def zone_of(rt, cid):
    """zonehost: the VM whose alias is the container id (vmadm list)."""
    r = rt.host.vmadm("list", "-p", "-o", "uuid,alias,brand,docker,state")
    for line in r.out.splitlines():
        f = line.split(":")
        if len(f) >= 5 and f[1] == cid:
            return {"uuid": f[0], "brand": f[2], "docker": f[3], "state": f[4]}
    return None


def test_run_rm_exit_status_and_stdout(containerd):
    c = containerd
    r = run(c, "t-true", "/bin/true", opts=["--rm"])
    assert r.returncode == 0, r
    r = run(c, "t-exit", "sh", "-c", "echo out-$((6*7)); echo err >&2; exit 7", opts=["--rm"])
    assert r.returncode == 7, r
    assert r.stdout.strip() == "out-42", r
    assert r.stderr.strip() == "err", r
    # --rm removed the containers.
    assert c.ok("containers", "ls", "-q").stdout.split() == []


def test_detached_exec_kill_delete(containerd):
    c = containerd
    cid = "t-detached"
    r = run(c, cid, "sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done",
            opts=["-d", "--log-uri", "file://" + os.path.join(c.dir, "detached.log")])
    assert r.returncode == 0, r
    wait_status(c, cid, "RUNNING")
    r = exec_(c, cid, "e1", "sh", "-c", "echo exec-$((40+2)); exit 5")
    assert r.returncode == 5, r
    assert r.stdout.strip() == "exec-42", r
    r = exec_(c, cid, "e2", "cat", "/proc/1/cmdline")
    assert r.returncode == 0 and r.stdout.split("\0")[0] == "sh", r
    if c.runtime.name == "zonehost":
        z = zone_of(c.runtime, cid)
        assert z and z["brand"] == "lx" and z["docker"] == "true", z
        r = c.runtime.host.run(os.path.join(CMD, "zlogin"), z["uuid"], "cat", "/proc/1/cmdline")
        assert r.rc == 0 and r.out.split("\0")[0] == "sh", r
    c.ok("tasks", "kill", cid)                     # SIGTERM: the trap exits 3
    wait_status(c, cid, "STOPPED")
    c.ok("tasks", "delete", cid)
    c.ok("containers", "delete", cid)
    assert task_status(c, cid) is None
    with open(os.path.join(c.dir, "detached.log")) as f:
        assert "ready" in f.read()
    if c.runtime.name == "zonehost":
        z = zone_of(c.runtime, cid)
        assert z is None, "the zone outlived ctr tasks delete: %r" % z


def test_log_uri_file(containerd):
    c = containerd
    log = os.path.join(c.dir, "t-log.log")
    r = run(c, "t-log", "sh", "-c", "echo to-stdout; echo to-stderr >&2",
            opts=["--rm", "--log-uri", "file://" + log])
    assert r.returncode == 0, r
    with open(log) as f:
        text = f.read()
    assert "to-stdout" in text and "to-stderr" in text, text


def read_pty(fd, proc, timeout):
    out = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:       # EIO: the last slave closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out.decode(errors="replace")


def test_tty(containerd):
    """ctr run -t: the container's stdio is a pty (the console socket path
    of the runtime), its size taken from ctr's terminal."""
    c = containerd
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 97, 0, 0))
    argv = c.run_argv(c.runtime.path, "t-tty", "sh", "-c",
                      "tty; stty size; exit 4", opts=["--rm", "-t"])
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    try:
        out = read_pty(master, proc, 30)
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert rc == 4, out
    assert "/dev/pts/" in out or "/dev/console" in out, out
    assert "31 97" in out, out

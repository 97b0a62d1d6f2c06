"""containerd 1.6 driving an OCI runtime (issue 14): `ctr run --runc-binary`
through containerd's runc shim (io.containerd.runc.v2), and the config.toml
runtime entry (`runtimes.zonehost`, BinaryName) through the CRI plugin as a
kubelet drives it (tests/helpers/cri.py).

Every test runs with runc, crun and zonehost's runtime (skipped while it is
not built), each on a private containerd in a network and mount namespace
of the test's own (tests/helpers/oci.py).  Host only: not in guest.list.
"""
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time
import uuid as uuidlib

import pytest

import cri
from oci import IMAGE, zlogin_in

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
        r = zlogin_in(c.box, c.runtime.host, z["uuid"], "cat", "/proc/1/cmdline")
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
    # a moment before writing: the shim attaches its copiers after start
    r = run(c, "t-log", "sh", "-c", "sleep 0.3; echo to-stdout; echo to-stderr >&2",
            opts=["--rm", "--log-uri", "file://" + log])
    assert r.returncode == 0, r
    end = time.monotonic() + 10  # the shim's copy into the file may trail the exit
    while True:
        with open(log) as f:
            text = f.read()
        if ("to-stdout" in text and "to-stderr" in text) or time.monotonic() > end:
            break
        time.sleep(0.1)
    assert "to-stdout" in text and "to-stderr" in text, text


# The caller sets the pty's size once the process runs (a resize after
# start): wait for it; the sleep lets the caller copy the output before the
# pty closes.
TTY_SCRIPT = ("tty; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
              "s=$(stty size 2>/dev/null); case $s in ''|'0 0') sleep 0.1 ;; *) break ;; esac; "
              "done; echo size=$s; sleep 0.2; exit 4")


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
                      TTY_SCRIPT, opts=["--rm", "-t"])
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    try:
        out = read_pty(master, proc, 20)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("run -t did not exit; the pty gave %r" % (out,))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert rc == 4, out
    assert "/dev/pts/" in out or "/dev/console" in out, out
    assert "size=31 97" in out, out


def test_cri_runtime_handler(containerd, oci_image, tmp_path):
    """The config.toml entry `runtimes.zonehost` (runtime_type
    io.containerd.runc.v2, options BinaryName = the runtime under test)
    through the CRI plugin, as a kubelet drives it for a pod whose
    RuntimeClass has handler "zonehost": RunPodSandbox (pod network NODE =
    containerd's own netns: no CNI), CreateContainer, StartContainer,
    ExecSync, StopContainer, RemoveContainer, StopPodSandbox,
    RemovePodSandbox."""
    pytest.importorskip("grpc", reason="python3-grpcio (tools/install-deps)")
    pytest.importorskip("grpc_tools", reason="python3-grpc-tools (tools/install-deps)")
    c = containerd
    c.import_image(oci_image, namespace="k8s.io")
    cli = cri.Client(c.sock, str(tmp_path))
    logdir = os.path.join(c.dir, "pods", "zh-pod")
    os.makedirs(logdir)
    cfg = cli.sandbox_config("zh-pod", str(uuidlib.uuid4()), logdir, "/" + c.cgroup_parent)
    pod = None
    try:
        pod = cli.run_pod(cfg, "zonehost")
        cid = cli.create_container(pod, cfg, "main", IMAGE, [
            "sh", "-c", "trap 'exit 0' TERM; echo cri-hello; while :; do sleep 0.1; done"],
            "main.log")
        cli.start(cid)
        r = cli.exec_sync(cid, ["sh", "-c", "echo exec-$((40+2)); exit 3"])
        assert (r.exit_code, r.stdout) == (3, b"exec-42\n"), r
        # The binary that runs it is BinaryName's: its own state command
        # finds the container in the entry's Root (runc and crun cannot read
        # each other's state).
        st = subprocess.run(c.box.argv(c.runtime.path, "--root",
                                       os.path.join(c.dir, "runc-root-cri", "k8s.io"),
                                       "state", cid),
                            capture_output=True, text=True, timeout=30)
        assert st.returncode == 0 and json.loads(st.stdout)["status"] == "running", st
        if c.runtime.name == "zonehost":
            z = zone_of(c.runtime, cid)
            assert z and z["brand"] == "lx" and z["docker"] == "true", z
        cli.stop(cid, grace=10)
        status = cli.status(cid)
        assert status.state == cli.pb.CONTAINER_EXITED and status.exit_code == 0, status
        cli.remove(cid)
        with open(os.path.join(logdir, "main.log")) as f:
            assert "cri-hello" in f.read()
    finally:
        if pod is not None:
            cli.stop_pod(pod)
            cli.remove_pod(pod)
        cli.close()

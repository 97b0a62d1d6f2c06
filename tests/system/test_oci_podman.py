"""Podman 4.3 (through conmon) driving an OCI runtime (issue 14): `podman
--runtime PATH` run, exec, stop, rm, logs and a console (-t).

Every test runs with runc, crun and zonehost's runtime (skipped while it is
not built), on a private podman (its own storage, vfs, cgroupfs, file
events and locks, --network none) in a network and mount namespace of the
test's own (tests/helpers/oci.py).  Host only: not in guest.list.
"""
import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

from oci import CMD, IMAGE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (podman, namespaces)")


def test_run_rm_exit_status(podman):
    p = podman
    r = p.run("run", "--rm", "--network", "none", IMAGE, "/bin/true")
    assert r.returncode == 0, r
    r = p.run("run", "--rm", "--network", "none", IMAGE,
              "sh", "-c", "echo out-$((6*7)); echo err >&2; exit 7")
    assert r.returncode == 7, r
    assert r.stdout.strip() == "out-42", r
    assert "err" in r.stderr, r
    assert p.ok("ps", "-a", "-q").stdout.split() == []


def test_detached_exec_logs_stop_rm(podman):
    p = podman
    cid = p.ok("run", "-d", "--network", "none", "--name", "t-detached", IMAGE, "sh", "-c",
               "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64, cid
    r = p.run("exec", "t-detached", "sh", "-c", "echo exec-$((40+2)); exit 5")
    assert r.returncode == 5, r
    assert r.stdout.strip() == "exec-42", r
    r = p.ok("exec", "t-detached", "cat", "/proc/1/cmdline")
    assert r.stdout.split("\0")[0] == "sh", r
    if p.rt.name == "zonehost":
        r = p.rt.host.vmadm("list", "-p", "-o", "uuid,alias,brand,docker")
        zones = [line.split(":") for line in r.out.splitlines()]
        z = [f for f in zones if len(f) >= 4 and f[1] == cid]
        assert z and z[0][2] == "lx" and z[0][3] == "true", r
        r = p.rt.host.run(os.path.join(CMD, "zlogin"), z[0][0], "cat", "/proc/1/cmdline")
        assert r.rc == 0 and r.out.split("\0")[0] == "sh", r
    end = time.monotonic() + 10
    while "ready" not in p.ok("logs", "t-detached").stdout:
        assert time.monotonic() < end, "no 'ready' in podman logs"
        time.sleep(0.1)
    p.ok("stop", "-t", "10", "t-detached")          # SIGTERM: the trap exits 3
    r = p.ok("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "t-detached")
    assert r.stdout.split() == ["exited", "3"], r
    p.ok("rm", "t-detached")
    assert p.ok("ps", "-a", "-q").stdout.split() == []


# The caller sets the pty's size once the process runs (a resize after
# start): wait for it; the sleep lets the caller copy the output before the
# pty closes.
TTY_SCRIPT = ("tty; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
              "s=$(stty size 2>/dev/null); case $s in ''|'0 0') sleep 0.1 ;; *) break ;; esac; "
              "done; echo size=$s; sleep 0.2; exit 4")


def test_tty_console(podman):
    """podman run -t: conmon's console socket; the container sees a pty of
    the size of podman's terminal."""
    p = podman
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 29, 93, 0, 0))
    proc = subprocess.Popen(p.argv("run", "--rm", "-t", "--network", "none", IMAGE,
                                   "sh", "-c", TTY_SCRIPT),
                            stdin=slave, stdout=slave, stderr=slave, env=p.env,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    out = b""
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail("run -t did not exit; the pty gave %r" % (out,))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert rc == 4, text
    assert "/dev/pts/" in text or "/dev/console" in text, text
    assert "size=29 93" in text, text


def test_image_readable_by_skopeo_and_umoci(oci_image):
    """The image the OCI tests share (tests/helpers/oci.py) is a valid OCI
    layout, OCI archive and docker archive for the Debian tools too."""
    for tool in ("skopeo", "umoci"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed (tools/install-deps)" % tool)
    r = subprocess.run(["umoci", "ls", "--layout", oci_image["layout"]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and set(r.stdout.split()) == {"localhost/zh-busybox:1",
                                                            "localhost/zh-pause:1"}, r
    for ref in ("oci-archive:%s:%s" % (oci_image["oci_tar"], IMAGE),
                "docker-archive:%s:%s" % (oci_image["docker_tar"], IMAGE)):
        r = subprocess.run(["skopeo", "inspect", "--config", ref],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and '"/bin/sh"' in r.stdout, (ref, r)

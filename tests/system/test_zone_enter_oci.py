"""zone_enter() with the OCI exec's fields (issue 14: `zonehost-runc exec`).

tests/helpers/zone-enter-oci calls zone_enter() on a running busybox zone
(made and started as test_zlogin does) with a given environment, cwd,
numeric ids, capability masks, no_new_privs, an extra seccomp filter
(mkdir -> EPERM), the caller's stdio and preserved fds.  Each test checks
what the process sees in /proc/self/status, that nothing is ever wider than
the zone's own, and that a passed fd leads nowhere but to its own object.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BUILD
from test_zlogin import PROBE, zone, zone_pids  # noqa: F401  (zone: the fixture)
from test_vmadm_util import wait_for

HELPER = os.path.join(BUILD, "tests", "helpers", "zone-enter-oci")
CHOWN, NET_BIND_SERVICE, SYS_MODULE, SYS_ADMIN = 0, 10, 16, 21


def run(h, u, *argv, opts=(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        pass_fds=()):
    """The helper with --stdio (its 0-2 are the process's) unless opts say otherwise."""
    cmd = [HELPER, u, "--stdio"] + list(opts) + ["--"] + list(argv)
    return subprocess.run(cmd, env=h.env, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, pass_fds=pass_fds, text=True, timeout=60)


def status(h, u, opts=()):
    r = run(h, u, "cat", "/proc/self/status", opts=opts)
    assert r.returncode == 0, r
    return dict(l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)


def cap(st, name):
    return int(st[name].strip(), 16)


def init_status(u):
    """The zone init's capability sets, as the host sees them."""
    for p in sorted(zone_pids(u)):
        with open("/proc/%d/status" % p) as f:
            st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        if st["NSpid"].split()[-1] == "1":
            return st
    raise AssertionError("no init in zone %s" % u)


def test_env_path_cwd_and_ids(zone):
    h, u = zone
    r = run(h, u, "env", opts=["--env", "A=1", "--env", "PATH=/usr/bin:/bin"])
    assert (r.returncode, r.stdout) == (0, "A=1\nPATH=/usr/bin:/bin\n"), r.stderr
    r = run(h, u, "env", opts=["--env", "PATH=/nowhere"])     # PATH comes from envp
    assert r.returncode == 1 and "command: zlogin: env: command not found" in r.stderr, r
    r = run(h, u, "sh", "-c", "pwd", opts=["--cwd", "/tmp"])
    assert (r.returncode, r.stdout) == (0, "/tmp\n"), r
    for bad in ("/no/such/dir", "tmp", "/etc/passwd"):
        r = run(h, u, "true", opts=["--cwd", bad])
        assert r.returncode == 1 and "zone-enter-oci: cwd: " in r.stderr and bad in r.stderr, r
    st = status(h, u, ["--ids", "1000:1001:10,20,30"])
    assert st["Uid"].split() == ["1000"] * 4 and st["Gid"].split() == ["1001"] * 4, st
    assert st["Groups"].split() == ["10", "20", "30"], st
    assert int(st["CapEff"], 16) == 0 and st["NoNewPrivs"].strip() == "0", st
    r = run(h, u, "sh", "-c", "id -u; echo $HOME", opts=["--ids", "65534:65534"])
    assert r.stdout.split()[0] == "65534", r


def test_capabilities_and_no_new_privs(zone):
    h, u = zone
    zone_bnd = cap(init_status(u), "CapBnd")
    assert zone_bnd & (1 << SYS_ADMIN) and not zone_bnd & (1 << SYS_MODULE)
    want = (1 << CHOWN) | (1 << NET_BIND_SERVICE) | (1 << SYS_MODULE)
    masks = ":".join(["%x" % want] * 5)
    # A non-root uid keeps what it was given (SYS_MODULE is never the zone's).
    st = status(h, u, ["--ids", "1000:1000", "--nnp", "--caps", masks])
    got = want & ~(1 << SYS_MODULE)
    for k in ("CapBnd", "CapAmb", "CapEff", "CapPrm", "CapInh"):
        assert cap(st, k) == got, (k, st)
    assert st["NoNewPrivs"].strip() == "1" and st["Seccomp"].strip() == "2", st
    # Root: the bounding set binds it.
    st = status(h, u, ["--caps", masks])
    assert cap(st, "CapBnd") == got and cap(st, "CapEff") == got, st
    # Everything asked: never more than the zone's own.
    st = status(h, u, ["--caps", ":".join(["ffffffffffffffff"] * 5)])
    assert cap(st, "CapBnd") == zone_bnd and cap(st, "CapEff") == zone_bnd, st
    st = status(h, u, ["--ids", "1000:1000", "--caps", ":".join(["ffffffffffffffff"] * 5)])
    assert cap(st, "CapAmb") & ~zone_bnd == 0 and cap(st, "CapAmb") != 0, st
    # No masks: as zlogin (the zone's set for root, nothing for a user).
    st = status(h, u)
    assert cap(st, "CapBnd") == zone_bnd and st["NoNewPrivs"].strip() == "0", st


def test_extra_seccomp_stacks_on_the_zones(zone):
    h, u = zone
    shutil.copy(PROBE, os.path.join(h.root, "zones", u, "root", "probe"))
    for i, opts in enumerate((["--deny-mkdir"], ["--deny-mkdir", "--nnp"],
                              ["--deny-mkdir", "--nnp", "--ids", "1000:1000"])):
        r = run(h, u, "mkdir", "/tmp/oci-x", opts=opts)
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, (opts, r)
        r = run(h, u, "/probe", "syscalls", opts=opts)
        res = dict(l.split("=", 1) for l in r.stdout.splitlines())
        for name in ("init_module", "keyctl", "add_key", "bpf", "userfaultfd"):
            assert res[name] == "EPERM", (opts, name, r.stdout)   # the zone's own filter
        r = run(h, u, "sh", "-c", "touch /tmp/oci-f%d && echo ok" % i, opts=opts)
        assert r.stdout == "ok\n", (opts, r)
    r = run(h, u, "mkdir", "/tmp/oci-x")                     # without it, allowed
    assert r.returncode == 0, r


def test_stdio_file_and_escape_attempts(zone, tmp_path):
    h, u = zone
    out = tmp_path / "out"
    out.write_text("before\n")
    (tmp_path / "secret").write_text("host secret\n")
    attack = ("echo hello; stat -L -c %i /proc/self/fd/1; "
              "ls /proc/self/fd/1/ 2>&1; cat /proc/self/fd/1/../secret 2>&1; "
              "echo evil > /proc/self/fd/1/../evil 2>&1; ls /proc/self/fd/1/.. 2>&1; "
              "cd /proc/self/fd/1 2>&1; echo done")
    fd = os.open(out, os.O_WRONLY | os.O_APPEND)
    try:
        r = run(h, u, "sh", "-c", attack, stdout=fd)
    finally:
        os.close(fd)
    text = out.read_text()
    assert r.returncode == 0 and text.startswith("before\nhello\n%d\n" % out.stat().st_ino), \
        (r, text)
    assert "host secret" not in text and text.endswith("done\n"), text
    assert sorted(os.listdir(tmp_path)) == ["out", "secret"]


@pytest.mark.parametrize("kind,why", [
    ("dir", "is a directory"),
    ("opath", "is opened O_PATH"),
    ("rdwr", "is a regular file not opened write-only"),
    ("rdonly", "is a regular file not opened write-only"),
])
def test_stdio_refused(zone, tmp_path, kind, why):
    h, u = zone
    (tmp_path / "f").write_text("x\n")
    fd = {"dir": lambda: os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY),
          "opath": lambda: os.open(tmp_path / "f", os.O_PATH),
          "rdwr": lambda: os.open(tmp_path / "f", os.O_RDWR),
          "rdonly": lambda: os.open(tmp_path / "f", os.O_RDONLY)}[kind]()
    try:
        r = run(h, u, "true", stdout=fd)
        assert r.returncode == 1, r
        assert "zone-enter-oci: stdio: zone_enter: stdout (fd 1) %s: refused" % why in r.stderr, r
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_text() == "x\n"


def test_preserved_fds_and_pid(zone, tmp_path):
    h, u = zone
    rd, wr = os.pipe()
    extra = os.open("/etc/hostname", os.O_RDONLY)          # not preserved: never seen
    try:
        def child_fds():
            os.dup2(wr, 3)
            os.dup2(extra, 4)
        cmd = [HELPER, u, "--stdio", "--preserve", "1", "--",
               "sh", "-c", "echo via3 >&3; ls /proc/self/fd"]
        p = subprocess.run(cmd, env=h.env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60, preexec_fn=child_fds, close_fds=False)
        os.close(wr)
        wr = -1
        assert p.returncode == 0, p
        assert os.read(rd, 100) == b"via3\n"
        assert sorted(p.stdout.split()) == ["0", "1", "2", "3", "4"], p   # 4: ls's own dir
        # A directory as a preserved fd is refused.
        d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        p = subprocess.run([HELPER, u, "--preserve", "1", "--", "true"], env=h.env,
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=lambda: os.dup2(d, 3), close_fds=False)
        os.close(d)
        assert p.returncode == 1 and "preserve_fds: zone_enter: preserve_fds (fd 3) is a directory: refused" in p.stderr, p
    finally:
        os.close(rd)
        os.close(extra)
        if wr >= 0:
            os.close(wr)
    # The session's host pid, as the runtime writes it into its pid file.
    pidfile = tmp_path / "pid"
    p = subprocess.Popen([HELPER, u, "--pidfile", str(pidfile), "--", "sleep", "30"],
                         env=h.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: pidfile.exists() and pidfile.read_text(), 10)
        pid = int(pidfile.read_text())
        with open("/proc/%d/cmdline" % pid) as f:
            assert f.read() == "sleep\x0030\x00"
        assert pid in zone_pids(u)
        os.kill(pid, 15)
        assert p.wait(timeout=10) == 128 + 15
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_pty_with_the_oci_fields(zone):
    """exec -t: the zone's pty, its master returned (the runtime sends it
    over --console-socket), with the other fields in effect."""
    h, u = zone
    want = (1 << CHOWN) | (1 << NET_BIND_SERVICE)
    r = run(h, u, "sh", "-c", "tty; id -u; pwd; env; grep -E '^(CapAmb|NoNewPrivs)' "
            "/proc/self/status; exit 3",
            opts=["--pty", "--ids", "1000:1000", "--nnp", "--cwd", "/tmp",
                  "--env", "PATH=/usr/bin:/bin", "--env", "X=y",
                  "--caps", ":".join(["%x" % want] * 5)])
    assert r.returncode == 3, r
    lines = r.stdout.replace("\r\n", "\n").splitlines()
    assert re.match(r"/dev/pts/\d+$", lines[0]) and lines[1:3] == ["1000", "/tmp"], lines
    assert "X=y" in lines and not any(l.startswith("HOME=") for l in lines), lines
    st = dict(l.split(":", 1) for l in lines if ":" in l and "=" not in l)
    assert cap(st, "CapAmb") == want and st["NoNewPrivs"].strip() == "1", lines

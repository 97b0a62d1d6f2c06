"""zlogin (issue 3 §1): commands and login shells inside a running zone.

Each test gets a busybox zone made with `vmadm create` (autoboot false) and
started with `vmadm start`; it is deleted at the end, and nothing of the
session (no zlogin process, no process in the zone's cgroup beyond its own)
may be left behind.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, CMD, new_uuid
from test_vmadm_util import create, wait_for

ZLOGIN = os.path.join(CMD, "zlogin")
PROBE = os.path.join(BUILD, "tests", "helpers", "probe")
HOSTNAME = "zl-test-zone"
SANE_ENV = {"HOME", "SHELL", "USER", "LOGNAME", "PATH", "TERM"}


def zone_cgroup_dirs(uuid):
    """The zone's cgroup: in its systemd scope, or under zonehost's parent."""
    yield "/sys/fs/cgroup/system.slice/zonehost-%s.scope/zone" % uuid
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        yield os.path.join(base, "zonehost", uuid)


def zone_pids(uuid):
    """Host pids in the zone's pids cgroup (v1) or its v2 cgroup, sub-cgroups
    (the zlogin leaf) included."""
    for d in zone_cgroup_dirs(uuid):
        if os.path.exists(os.path.join(d, "cgroup.procs")):
            out = set()
            for dirpath, _, files in os.walk(d):
                if "cgroup.procs" in files:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        out |= {int(x) for x in f.read().split()}
            return out
    return set()


def zlogin_procs():
    """Host pids running this build's zlogin binary."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) == ZLOGIN:
                    out.append(int(d))
            except OSError:
                pass
    return out


def start(h, u):
    """vmadm start, its output through a file: a pipe would be held open by
    anything the start leaves running with it (zoneadmd must not, but this
    test is about zlogin)."""
    argv = [os.path.join(CMD, "vmadm"), "start", u]
    if h.netns:  # as Host.run: the zone's network lives in the test's namespace
        argv = ["nsenter", "--net=/run/netns/" + h.netns, "--"] + argv
    with tempfile.TemporaryFile() as out:
        rc = subprocess.run(argv, env=h.env,
                            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            timeout=60).returncode
        out.seek(0)
        assert rc == 0, out.read()


@pytest.fixture
def zone(imghost):
    h, img = imghost
    u = create(h, img, hostname=HOSTNAME)
    start(h, u)
    yield h, u
    r = h.vmadm("delete", u)
    assert r.rc == 0, r
    assert zone_pids(u) == set()


def zl(h, *args, input=None, env=None, timeout=30):
    return h.run(ZLOGIN, *args, input=input, env=env, timeout=timeout)


def test_hostname_and_exit_status(zone):
    h, u = zone
    r = zl(h, u, "hostname")
    assert (r.rc, r.out, r.err) == (0, HOSTNAME + "\n", "")
    assert zl(h, u, "sh", "-c", "exit 7").rc == 7
    assert zl(h, u, "true").rc == 0
    assert zl(h, u, "false").rc == 1
    assert zl(h, u, "sh", "-c", "kill -9 $$").rc == 128 + 9
    r = zl(h, u, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.rc, r.out, r.err) == (3, "out\n", "err\n")


def test_shell_syntax_and_not_found(zone):
    h, u = zone
    r = zl(h, u, "echo a; echo b | tr b c")
    assert (r.rc, r.out) == (0, "a\nc\n")
    r = zl(h, u, "no-such-command", "x")
    assert r.rc == 127 and "no-such-command: command not found" in r.err, r
    r = zl(h, u, "/etc/passwd")
    assert r.rc == 126, r


def test_stdin_pipe(zone):
    h, u = zone
    r = zl(h, u, "cat", input="hello\n")
    assert (r.rc, r.out) == (0, "hello\n")
    data = "".join("line %d\n" % i for i in range(200000))   # ~2.5 MB each way
    r = zl(h, u, "cat", input=data)
    assert r.rc == 0 and r.out == data
    r = zl(h, u, "wc", "-l", input=data)
    assert r.out.split()[0] == "200000"
    p = subprocess.run("echo hi | %s %s cat" % (ZLOGIN, u), shell=True, env=h.env,
                       capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout) == (0, "hi\n")


def test_caller_files_never_reach_the_zone(zone, tmp_path):
    """Issue 10 class 9: with stdio on files, a tenant truncated the
    operator's log through its fd 1 and kept writing into it after zlogin
    returned.  The session's 0-2 are zlogin's own pipes, always."""
    h, u = zone
    shutil.copy(PROBE, os.path.join(h.root, "zones", u, "root", "probe"))
    log, errf, inp = tmp_path / "log", tmp_path / "err", tmp_path / "in"
    log.write_text("operator line\n")
    inp.write_text("input line\n")
    attack = ("/probe stdio; cat; /probe stdio >&2; (: > /proc/self/fd/1) 2>/dev/null; "
              "(sleep 2; echo late; echo late >&2) & exit 5")
    t0 = time.monotonic()
    with open(log, "a") as out, open(errf, "w") as err, open(inp) as stdin:
        rc = subprocess.run([ZLOGIN, u, attack], env=h.env, stdin=stdin, stdout=out,
                            stderr=err, timeout=30).returncode
    assert rc == 5, (log.read_text(), errf.read_text())
    assert time.monotonic() - t0 < 2, "zlogin waited for the background writer"
    want = "".join("fd%d=pipe trunc%d=EINVAL\n" % (i, i) for i in range(3))
    assert log.read_text().startswith("operator line\n" + want + "input line\n")
    assert errf.read_text().startswith(want)
    time.sleep(3)                     # the background writer has had its chance
    assert "late" not in log.read_text() and "late" not in errf.read_text()


def test_sees_only_the_zone(zone):
    h, u = zone
    r = zl(h, u, "ps", "-o", "pid,args")
    assert r.rc == 0, r
    rows = [l.split(None, 1) for l in r.out.splitlines()[1:]]
    pids = {int(p) for p, _ in rows}
    cmds = " ".join(c for _, c in rows)
    assert 1 in pids and "ps -o pid,args" in cmds, r.out
    for host_thing in ("zoneadmd", "zlogin", "python", "pytest", "systemd"):
        assert host_thing not in cmds, r.out
    # Its own cgroups (the zone's: the root of its cgroup namespace), like
    # init; on cgroup v2 the session sits in the zone's "zlogin" leaf.
    r = zl(h, u, "cat", "/proc/self/cgroup", "/proc/1/cgroup")
    lines = r.out.splitlines()
    assert lines and all(l.endswith(":/") or l == "0::/zlogin" for l in lines), r.out
    # /proc/self/exe is a file of the zone, never a host binary.
    r = zl(h, u, "readlink", "/proc/self/exe")
    assert r.out == "/bin/busybox\n", r


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")[:-1]
    except OSError:
        return None


def session_pids(uuid, argv):
    return [p for p in zone_pids(uuid) if cmdline(p) == argv]


def test_in_zone_cgroup_from_the_host(zone):
    h, u = zone
    argv = ["sleep", "30"]
    p = subprocess.Popen([ZLOGIN, u] + argv, env=h.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        for _ in range(100):
            found = session_pids(u, argv)
            if found:
                break
            time.sleep(0.05)
        assert len(found) == 1, [(q, cmdline(q)) for q in zone_pids(u)]
        pid = found[0]
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        assert re.search(r"^Seccomp:\s+2$", status, re.M), status
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        assert uid != 0, "the session runs as host root"
        for ns in ("user", "mnt", "pid", "net", "uts", "ipc", "cgroup"):
            assert os.readlink("/proc/%d/ns/%s" % (pid, ns)) != os.readlink("/proc/self/ns/" + ns)
        assert sorted(os.listdir("/proc/%d/fd" % pid)) == ["0", "1", "2"]
        p.send_signal(signal.SIGTERM)     # forwarded to the session
        assert p.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    assert wait_for(lambda: session_pids(u, argv) == [], 30), session_pids(u, argv)
    assert zlogin_procs() == []


def test_user_and_environment(zone):
    h, u = zone
    r = zl(h, "-l", "nobody", u, "id", "-u")
    assert (r.rc, r.out) == (0, "65534\n"), r
    r = zl(h, "-l", "nobody", u, "cat", "/proc/self/status")
    assert re.search(r"^CapEff:\s+0+$", r.out, re.M), r.out
    r = zl(h, "-l", "no-such-user", u, "id")
    assert r.rc == 1 and "no-such-user" in r.err, r
    r = zl(h, "-l", "nobody", u)          # login shell /bin/false
    assert r.rc == 1, r
    r = zl(h, u, "env", env={"TERM": "xterm-zl", "SECRET": "host", "LD_PRELOAD": "/x.so"})
    env = dict(l.split("=", 1) for l in r.out.splitlines())
    assert set(env) == SANE_ENV, env
    assert env["TERM"] == "xterm-zl" and env["HOME"] == "/root" and env["USER"] == "root"
    r = zl(h, u, "pwd")
    assert r.out == "/root\n"


def test_no_fd_leaks(zone):
    h, u = zone
    extra = os.open("/etc/hostname", os.O_RDONLY)      # inheritable on purpose
    try:
        cp = subprocess.run([ZLOGIN, u, "ls", "/proc/self/fd"], env=h.env, pass_fds=(extra,),
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    finally:
        os.close(extra)
    # ls's own directory fd is the only one beyond 0, 1, 2.
    assert sorted(cp.stdout.split()) == ["0", "1", "2", "3"], cp


def read_until(fd, pattern, timeout=10):
    buf = b""
    end = time.time() + timeout
    while pattern not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            buf += d
    return buf


def test_pty_session(zone):
    h, u = zone
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(h.env)
        os.environ["TERM"] = "vt100"
        os.execv(ZLOGIN, [ZLOGIN, u])
    try:
        hello = read_until(fd, b"# ")
        assert b"[Connected to zone '%s' pts/" % u.encode() in hello, hello
        os.write(fd, b"echo R$((6*7))R; tty; echo T=$TERM; exit 3\n")
        out = read_until(fd, b"closed]")
        assert b"R42R" in out, out
        assert re.search(rb"\r\n/dev/pts/\d+\r\n", out), out
        assert b"T=vt100" in out
    finally:
        _, st = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(st) == 3
    assert zlogin_procs() == []


def test_pty_large_output_and_winsize(zone):
    h, u = zone
    master, slave = pty.openpty()
    import fcntl, struct, termios
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    p = subprocess.Popen([ZLOGIN, "-Q", u, "sh", "-c",
                          "stty size; read x; i=0; while [ \"$(stty size)\" != '40 120' ] && "
                          "[ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
                          "stty size; seq 1 100000; exit 4"],
                         stdin=slave, stdout=slave, stderr=slave, env=h.env)
    os.close(slave)
    try:
        assert b"30 100" in read_until(master, b"30 100")
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        p.send_signal(signal.SIGWINCH)
        os.write(master, b"go\n")   # the zone's shell waits (bounded) for the new size
        out = read_until(master, b"100000\r\n", timeout=30)
        assert b"40 120" in out
        assert out.count(b"\r\n") >= 100000
        assert p.wait(timeout=10) == 4
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_errors(zone):
    h, u = zone
    r = zl(h, new_uuid(), "true")
    assert r.rc == 1 and re.match(r"zlogin: \S+: No such zone configured\n$", r.err), r
    r = zl(h, "not-a-uuid", "true")
    assert r.rc == 1 and "No such zone configured" in r.err, r
    assert zl(h).rc == 2
    assert zl(h, "-x", u).rc == 2
    assert zl(h, "-l").rc == 2
    r = h.vmadm("stop", u, "-F")
    assert r.rc == 0, r
    r = zl(h, u, "true")
    assert r.rc == 1, r
    assert r.err == "zlogin: login allowed only to running zones (%s is 'stopped').\n" % u
    assert zlogin_procs() == []


def test_fresh_boot_id_per_boot(zone):
    """Each boot of a zone gets its own boot_id (not the host's), read-only."""
    h, u = zone
    with open("/proc/sys/kernel/random/boot_id") as f:
        host_id = f.read()
    first = zl(h, u, "cat", "/proc/sys/kernel/random/boot_id")
    assert first.rc == 0 and len(first.out.strip()) == 36
    assert first.out != host_id
    assert zl(h, u, "sh", "-c", "echo x > /proc/sys/kernel/random/boot_id").rc != 0
    assert h.vmadm("stop", "-F", u).rc == 0
    start(h, u)
    second = zl(h, u, "cat", "/proc/sys/kernel/random/boot_id")
    assert second.out not in (first.out, host_id)

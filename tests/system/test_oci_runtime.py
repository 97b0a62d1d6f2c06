"""zonehost-runc (issue 14): the OCI runtime driven as containerd's shim
and conmon drive it (reference oci-runtime-cli.md), without them.

The test process is a child subreaper, as the shim is: each container's
init is the runtime's child (CLONE_PARENT) and comes to us when the
runtime exits, so the test reaps it and sees its exit status.
"""
import ctypes
import json
import os
import select
import socket
import subprocess
import tarfile
import time

import pytest

from conftest import CMD

RUNC = os.path.join(CMD, "zonehost-runc")
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    yield
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def default_config(args, terminal=False):
    """What `runc spec` writes, with args."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm", "HOME=/root"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Rt:
    def __init__(self, host, tmp, rootfs):
        self.h = host
        self.tmp = tmp
        self.rootfs = rootfs
        self.state = os.path.join(tmp, "state")
        self.n = 0

    def run(self, *args, stdin=subprocess.DEVNULL, stdout=None, stderr=None, timeout=60,
            log=None):
        argv = [RUNC, "--root", self.state]
        if log:
            argv += ["--log", log, "--log-format", "json"]
        argv += [str(a) for a in args]
        if self.h.netns:
            argv = ["nsenter", "--net=/run/netns/" + self.h.netns, "--"] + argv
        return subprocess.run(argv, stdin=stdin, stdout=stdout or subprocess.PIPE,
                              stderr=stderr or subprocess.PIPE, timeout=timeout,
                              env=self.h.env, text=True)

    def bundle(self, args, **kw):
        self.n += 1
        b = os.path.join(self.tmp, "b%d" % self.n)
        os.makedirs(b)
        cfg = default_config(args, kw.pop("terminal", False))
        cfg["root"]["path"] = self.rootfs  # absolute: shared, read-only
        for k, v in kw.items():
            cfg[k] = v
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(cfg, f)
        return b

    def create(self, cid, bundle, stdin=subprocess.DEVNULL, stdout=None):
        """As the shim: the runtime's stdio become the container's (files
        here, so that nothing waits for the container to close a pipe)."""
        pidf = os.path.join(self.tmp, cid + ".pid")
        errf = os.path.join(self.tmp, cid + ".stderr")
        with open(errf, "w") as fe, open(os.devnull, "w") as null:
            r = self.run("create", "--bundle", bundle, "--pid-file", pidf, cid,
                         stdin=stdin, stdout=stdout or null, stderr=fe)
        with open(errf) as f:
            assert r.returncode == 0, f.read()
        with open(pidf) as f:
            txt = f.read()
        assert "\n" not in txt
        return int(txt)

    def state_of(self, cid):
        r = self.run("state", cid)
        assert r.returncode == 0, r
        assert not r.stdout.endswith("\n")
        return json.loads(r.stdout)


def reap(pid, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.05)
    raise AssertionError("init %d did not end" % pid)


@pytest.fixture(scope="module")
def rootfs(busybox_image, tmp_path_factory):
    _, f, _ = busybox_image
    d = tmp_path_factory.mktemp("rootfs") / "root"
    d.mkdir()
    with tarfile.open(f) as t:
        t.extractall(d)
    return str(d)


@pytest.fixture
def rt(imghost, rootfs, tmp_path):
    h, _ = imghost
    r = Rt(h, str(tmp_path), rootfs)
    yield r
    ls = r.run("list", "-q")
    for cid in ls.stdout.split():
        r.run("delete", "--force", cid)
    assert r.run("list", "-q").stdout.strip() == ""
    vms = h.vmadm("list", "-H", "-o", "uuid")
    assert vms.out.strip() == "", vms


def test_lifecycle_as_the_shim_drives_it(rt):
    out = os.path.join(rt.tmp, "stdout")
    b = rt.bundle(["sh", "-c", "echo hello $HOSTNAME; read x; exit 7"])
    rd, wr = os.pipe()
    with open(out, "w") as fo:
        pid = rt.create("c1", b, stdin=rd, stdout=fo)
    os.close(rd)
    st = rt.state_of("c1")
    assert st["status"] == "created" and st["pid"] == pid and st["id"] == "c1"
    assert st["bundle"] == b and st["ociVersion"] == "1.2.0"
    # a zone in vmadm list: alias = id, brand lx, docker
    vms = rt.h.vmadm("list", "-H", "-o", "uuid,alias,brand,docker,state").out.split()
    assert vms[1:4] == ["c1", "lx", "true"], vms
    assert rt.run("start", "c1").returncode == 0
    assert rt.state_of("c1")["status"] == "running"
    r = rt.run("start", "c1")
    assert r.returncode == 1 and "cannot start an already running container" in r.stderr
    os.write(wr, b"go\n")
    os.close(wr)
    assert reap(pid) == 7
    with open(out) as f:
        assert f.read() == "hello runc\n"
    st = rt.state_of("c1")
    assert st["status"] == "stopped" and st["pid"] == 0
    assert rt.run("delete", "c1").returncode == 0
    r = rt.run("state", "c1")
    assert r.returncode == 1 and "container does not exist" in r.stderr
    assert rt.h.vmadm("list", "-H").out.strip() == ""


def test_kill_delete_force_and_zlogin(rt):
    b = rt.bundle(["sleep", "1000"])
    pid = rt.create("c2", b)
    r = rt.run("delete", "c2")
    assert r.returncode == 0, r  # a created container is killed and removed
    assert reap(pid) != 0
    pid = rt.create("c2", b)
    assert rt.run("start", "c2").returncode == 0
    u = rt.h.vmadm("list", "-H", "-o", "uuid").out.strip()
    z = rt.h.run(os.path.join(CMD, "zlogin"), u, "cat", "/proc/1/cmdline")
    assert z.rc == 0 and z.out.split("\0")[0] == "sleep", z
    r = rt.run("delete", "c2")
    assert r.returncode == 1
    assert "cannot delete container c2 that is not stopped: running" in r.stderr
    assert rt.run("kill", "c2", "KILL").returncode == 0
    assert reap(pid) == -9
    assert rt.run("delete", "c2").returncode == 0
    pid = rt.create("c3", b)
    assert rt.run("start", "c3").returncode == 0
    assert rt.run("delete", "--force", "c3").returncode == 0
    assert reap(pid) == -9
    r = rt.run("kill", "c3", "9")
    assert r.returncode == 1 and "container does not exist" in r.stderr
    assert rt.run("delete", "--force", "nosuch").returncode == 0


def test_bad_input_leaves_nothing(rt):
    log = os.path.join(rt.tmp, "log.json")
    b = rt.bundle(["true"])
    with open(os.path.join(b, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {"args": 7}')
    r = rt.run("create", "--bundle", b, "bad", log=log)
    assert r.returncode == 1
    with open(log) as f:
        rec = [json.loads(line) for line in f]
    assert rec[-1]["level"] == "error" and "config.json" in rec[-1]["msg"], rec
    r = rt.run("create", "--bundle", os.path.join(rt.tmp, "nowhere"), "bad")
    assert r.returncode == 1 and "nowhere" in r.stderr
    r = rt.run("create", "--bundle", b, "../x")
    assert r.returncode == 1 and "invalid container ID format" in r.stderr
    r = rt.run("frobnicate", "x")
    assert r.returncode == 1
    r = rt.run("create", "--frob", "x")
    assert r.returncode == 1 and "flag provided but not defined: --frob" in r.stderr
    r = rt.run("state")
    assert r.returncode == 1 and '"state" requires exactly 1 argument(s)' in r.stderr
    r = rt.run("kill", "x", "SIGNOPE")
    assert r.returncode == 1 and 'unknown signal "SIGNOPE"' in r.stderr
    r = rt.run("checkpoint", "x")
    assert r.returncode == 1 and "not supported" in r.stderr
    ok = rt.bundle(["sleep", "100"])
    pid = rt.create("dup", ok)
    r = rt.run("create", "--bundle", ok, "dup")
    assert r.returncode == 1 and "container with given ID already exists" in r.stderr
    assert rt.state_of("dup")["status"] == "created"
    assert rt.run("delete", "--force", "dup").returncode == 0
    reap(pid)
    missing = rt.bundle(["/no/such/program"])
    r = rt.run("create", "--bundle", missing, "nf")
    assert r.returncode == 1 and ("no such file or directory" in r.stderr.lower()
                                  or "not found" in r.stderr), r
    assert rt.run("list", "-q").stdout.strip() == ""
    assert rt.h.vmadm("list", "-H").out.strip() == ""


def test_hooks(rt):
    out = os.path.join(rt.tmp, "hooks")
    os.makedirs(out)

    script = os.path.join(out, "hook.sh")  # a #! script, as most hooks are
    with open(script, "w") as f:
        f.write("#!/bin/sh\ncat > \"$1\"\n")
    os.chmod(script, 0o755)

    def hook(name):
        return {"path": script, "args": ["hook.sh", os.path.join(out, name)]}
    hooks = {p: [hook(p)] for p in ("prestart", "createRuntime", "poststart", "poststop")}
    b = rt.bundle(["sleep", "100"], hooks=hooks, annotations={"a": "b"})
    pid = rt.create("h1", b)
    for p in ("prestart", "createRuntime"):
        with open(os.path.join(out, p)) as f:
            st = json.load(f)
        assert st["status"] == "creating" and st["pid"] == pid and st["id"] == "h1"
        assert st["annotations"] == {"a": "b"}
    assert rt.run("start", "h1").returncode == 0
    with open(os.path.join(out, "poststart")) as f:
        assert json.load(f)["status"] == "running"
    assert rt.run("delete", "-f", "h1").returncode == 0
    reap(pid)
    with open(os.path.join(out, "poststop")) as f:
        assert json.load(f)["status"] == "stopped"
    bad = rt.bundle(["true"], hooks={"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]})
    r = rt.run("create", "--bundle", bad, "h2")
    assert r.returncode == 1
    assert "error running prestart hook #0" in r.stderr and "nope" in r.stderr, r
    slow = rt.bundle(["true"], hooks={"createRuntime": [
        {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]})
    r = rt.run("create", "--bundle", slow, "h3")
    assert r.returncode == 1 and "hook ran past specified timeout of 1" in r.stderr
    assert rt.run("list", "-q").stdout.strip() == ""
    assert rt.h.vmadm("list", "-H").out.strip() == ""


def test_exec_ps_pause_update_events(rt):
    b = rt.bundle(["sleep", "1000"])
    pid = rt.create("x1", b)
    assert rt.run("start", "x1").returncode == 0
    r = rt.run("exec", "--env", "FOO=bar", "--cwd", "/etc", "x1", "sh", "-c",
               "echo $FOO $(pwd); exit 5")
    assert r.returncode == 5 and r.stdout == "bar /etc\n", r
    pidf = os.path.join(rt.tmp, "exec.pid")
    proc = {"args": ["sleep", "77"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 1000, "gid": 1000}}
    pf = os.path.join(rt.tmp, "proc.json")
    with open(pf, "w") as f:
        json.dump(proc, f)
    with open(os.devnull, "w") as null:  # the process keeps its stdio: no pipe to wait on
        r = rt.run("exec", "--process", pf, "--detach", "--pid-file", pidf, "x1",
                   stdout=null, stderr=null)
    assert r.returncode == 0, r
    with open(pidf) as f:
        epid = int(f.read())
    with open("/proc/%d/status" % epid) as f:
        status = f.read()
    ps = rt.run("ps", "--format", "json", "x1")
    assert ps.returncode == 0 and pid in json.loads(ps.stdout) and epid in json.loads(ps.stdout)
    assert rt.run("pause", "x1").returncode == 0
    assert rt.state_of("x1")["status"] == "paused"
    r = rt.run("exec", "x1", "true")
    assert r.returncode != 0 and "paused" in r.stderr
    assert rt.run("resume", "x1").returncode == 0
    assert rt.state_of("x1")["status"] == "running"
    r = rt.run("resume", "x1")
    assert r.returncode == 1 and "container not paused" in r.stderr
    upd = subprocess.run([RUNC, "--root", rt.state, "update", "--resources", "-", "x1"],
                         input='{"memory": {"limit": 268435456}, "pids": {"limit": 77}}',
                         capture_output=True, text=True, env=rt.h.env)
    assert upd.returncode == 0, upd
    u = rt.h.vmadm("list", "-H", "-o", "uuid").out.strip()
    vm = json.loads(rt.h.vmadm("get", u).out)
    assert vm["max_physical_memory"] == 256 and vm["max_lwps"] == 77, vm
    ev = rt.run("events", "--stats", "x1")
    assert ev.returncode == 0, ev
    e = json.loads(ev.stdout)
    assert e["type"] == "stats" and e["id"] == "x1" and e["data"]["pids"]["current"] >= 2
    feats = json.loads(rt.run("features").stdout)
    assert feats["ociVersionMin"] == "1.0.0"
    assert rt.run("kill", "x1", "KILL").returncode == 0
    assert reap(epid) == -9  # the exec'd process is ours too, as the shim's
    assert reap(pid) == -9
    assert rt.run("delete", "x1").returncode == 0
    uid = int(status.split("Uid:")[1].split()[0])
    assert uid == vm["zonehost_id_base"] + 1000, status  # zone uid 1000, mapped


def read_until(fd, want, timeout=30):
    buf = b""
    end = time.monotonic() + timeout
    while want not in buf and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            buf += os.read(fd, 4096)
        except OSError:
            time.sleep(0.05)
    return buf


def test_console_socket(rt):
    sockp = os.path.join(rt.tmp, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sockp)
    srv.listen(1)
    b = rt.bundle(["sh", "-c", "tty; read x; echo on-the-tty; sleep 1"], terminal=True)
    pidf = os.path.join(rt.tmp, "t.pid")
    p = subprocess.Popen([RUNC, "--root", rt.state, "create", "--bundle", b,
                          "--console-socket", sockp, "--pid-file", pidf, "t1"],
                         env=rt.h.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    srv.settimeout(30)
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    assert len(fds) == 1 and msg
    assert p.wait(timeout=60) == 0, p.stderr.read()
    with open(pidf) as f:
        pid = int(f.read())
    assert rt.run("start", "t1").returncode == 0
    buf = read_until(fds[0], b"/dev/")
    os.write(fds[0], b"go\n")  # the process answers on the same terminal
    buf += read_until(fds[0], b"on-the-tty")
    assert b"/dev/" in buf and b"on-the-tty" in buf, buf
    reap(pid)
    os.close(fds[0])
    conn.close()
    srv.close()
    assert rt.run("delete", "t1").returncode == 0

"""docker zones run by zoneadmd (docs/architecture.md §24.3), and the escape
classes zone_run opens (binds from host paths, joined namespaces, masked and
read-only paths), tried from inside.

A `docker: true` lx VM made by vmadm runs ONE process: internal_metadata
docker:entrypoint + docker:cmd (JSON-encoded arrays, as Triton stores them),
docker:env, docker:workdir, docker:user; its stdout/stderr land in
<zonepath>/logs/stdio.log as docker json-file lines; its exit status in
exit.json; `vmadm stop` sends SIGTERM, then SIGKILL after the timeout.

The image is the busybox root of tools/mkimage-busybox, installed as an
lx-dataset image (its manifest's type changed): an lx VM takes lx-dataset or
docker images.  The escape tests drive tests/helpers/zone-run (zone_spawn()
directly) with its zone_run options.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, CMD, TOOLS, new_uuid
from test_vmadm_util import create, get, wait_for

ZONE_RUN = os.path.join(BUILD, "tests", "helpers", "zone-run")


@pytest.fixture(scope="module")
def lx_image(tmp_path_factory):
    """(manifest_path, file_path, uuid) of the busybox root as an lx-dataset image."""
    out = tmp_path_factory.mktemp("lximg")
    u = new_uuid()
    cp = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), str(out), "--name", "bb-lx",
                         "--uuid", u], capture_output=True, text=True, check=True)
    m, f = cp.stdout.split()[:2]
    with open(m) as fh:
        man = json.load(fh)
    man["type"] = "lx-dataset"
    with open(m, "w") as fh:
        json.dump(man, fh)
    return m, f, u


@pytest.fixture
def lxhost(host, lx_image):
    m, f, u = lx_image
    host.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
    return host, u


def docker_vm(h, img, cmd, entrypoint=None, env=None, workdir=None, user=None):
    md = {"docker:cmd": json.dumps(cmd)}
    if entrypoint is not None:
        md["docker:entrypoint"] = json.dumps(entrypoint)
    if env is not None:
        md["docker:env"] = json.dumps(env)
    if workdir is not None:
        md["docker:workdir"] = workdir
    if user is not None:
        md["docker:user"] = user
    return create(h, img, brand="lx", docker=True, kernel_version="4.3.0", internal_metadata=md)


def zonepath(h, u):
    return get(h, u)["zonepath"]


def stdio_log(h, u):
    p = os.path.join(zonepath(h, u), "logs", "stdio.log")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


def exit_json(h, u):
    p = os.path.join(h.root, "run", "zonehost", u, "exit.json")
    with open(p) as f:
        return json.load(f)


def wait_stopped(h, u, timeout=30):
    return wait_for(lambda: get(h, u)["state"] in ("stopped", "failed"), timeout)


# ---- docker zones made by vmadm ----

def test_docker_process_env_cwd_user_and_log(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["-c", 'echo "out $FOO $(pwd) $(id -u):$(id -g)"; echo err >&2; exit 3'],
                  entrypoint=["sh"], env=["FOO=bar"], workdir="/tmp", user="nobody")
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    assert wait_stopped(h, u), get(h, u)
    log = stdio_log(h, u)
    assert {"log": "out bar /tmp 65534:65534\n", "stream": "stdout"}.items() <= log[0].items() \
        or any(l["log"] == "out bar /tmp 65534:65534\n" and l["stream"] == "stdout" for l in log), log
    assert any(l["log"] == "err\n" and l["stream"] == "stderr" for l in log), log
    for l in log:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", l["time"]), l
    assert exit_json(h, u)["exit_status"] == 3


def test_docker_user_name_group_and_numeric(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["sh", "-c", "echo $(id -u):$(id -g)"], user="1234:nogroup")
    assert h.vmadm("start", u).rc == 0
    assert wait_stopped(h, u)
    assert [l["log"] for l in stdio_log(h, u)] == ["1234:65534\n"]
    assert exit_json(h, u)["exit_status"] == 0


def test_docker_unknown_user_fails_clearly(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["true"], user="nosuchuser")
    r = h.vmadm("start", u)
    assert r.rc != 0
    assert "unable to find user nosuchuser: no matching entries in passwd file" in r.err, r


def test_docker_missing_command_fails_clearly(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["no-such-command"])
    r = h.vmadm("start", u)
    assert r.rc != 0
    assert 'exec: "no-such-command": executable file not found in $PATH' in r.err, r
    u2 = docker_vm(h, img, ["/bin/no-such"])
    r = h.vmadm("start", u2)
    assert r.rc != 0
    assert "no such file or directory" in r.err, r


def test_docker_stop_timeout_kills_sigterm_ignorer(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"])
    assert h.vmadm("start", u).rc == 0
    assert wait_for(lambda: any(l["log"] == "ready\n" for l in stdio_log(h, u)), 20)
    t0 = time.time()
    r = h.vmadm("stop", "-t", "2", u)
    took = time.time() - t0
    assert r.rc == 0, r
    assert 1.5 <= took < 8, took
    assert get(h, u)["state"] == "stopped"
    assert exit_json(h, u)["exit_status"] == 128 + 9


def test_docker_stop_sigterm_default(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["sh", "-c", "trap 'echo bye; exit 7' TERM; echo ready; "
                                       "while :; do sleep 1; done"])
    assert h.vmadm("start", u).rc == 0
    assert wait_for(lambda: any(l["log"] == "ready\n" for l in stdio_log(h, u)), 20)
    r = h.vmadm("stop", u)
    assert r.rc == 0, r
    assert wait_stopped(h, u)
    assert exit_json(h, u)["exit_status"] == 7
    assert any(l["log"] == "bye\n" for l in stdio_log(h, u))


# ---- the zone_run escape classes, through zone_spawn directly ----

@pytest.fixture
def zroot():
    """A busybox root of our own (so a test may plant what it likes in it)."""
    d = tempfile.mkdtemp(prefix="zh-run-", dir="/var/tmp")
    out = os.path.join(d, "img")
    os.mkdir(out)
    cp = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), out, "--compression", "none"],
                        capture_output=True, text=True, check=True)
    root = os.path.join(d, "root")
    os.mkdir(root)
    subprocess.run(["tar", "-C", root, "-xf", cp.stdout.split()[1]], check=True)
    yield d, root
    shutil.rmtree(d, ignore_errors=True)


def zone_run(root, *opts, cmd, timeout=60):
    argv = [ZONE_RUN, "--root", root, "--id-base", "3000000000"] + list(opts) + ["--"] + cmd
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_bind_target_symlink_stays_in_root(zroot):
    d, root = zroot
    src = os.path.join(d, "src")
    os.mkdir(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("from host\n")
    name = "zh-pwned-%s" % new_uuid()[:8]
    # A symlink the tenant planted: /evil -> /etc (the host's, were it followed out).
    os.symlink("/etc", os.path.join(root, "evil"))
    cp = zone_run(root, "--run", "--bind", src + ":/evil",
                  cmd=["/bin/sh", "-c", "cat /etc/f; echo pwn > /evil/%s; echo done" % name])
    assert "from host" in cp.stdout and "done" in cp.stdout, cp
    assert not os.path.exists(os.path.join("/etc", name)), "the bind went out of the root"
    assert os.path.exists(os.path.join(src, name))  # it landed on the zone's own /etc


def test_bind_target_dangling_symlink_never_reaches_host(zroot):
    d, root = zroot
    src = os.path.join(d, "src")
    os.mkdir(src)
    canary = tempfile.mkdtemp(prefix="zh-canary-", dir="/var/tmp")
    try:
        os.symlink(canary, os.path.join(root, "evil"))
        cp = zone_run(root, "--run", "--bind", src + ":/evil",
                      cmd=["/bin/sh", "-c", "echo pwn > /evil/pwned; echo done"])
        # Refused or mounted inside the root: never on the host's directory.
        assert os.listdir(canary) == [], cp
        assert cp.returncode != 0 or "done" in cp.stdout, cp
    finally:
        shutil.rmtree(canary, ignore_errors=True)


# docker's default capability set: no CAP_SYS_ADMIN, so no umount of a mask.
DOCKER_CAPS = sum(1 << c for c in (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31))


def test_masked_and_readonly_paths(zroot):
    d, root = zroot
    os.makedirs(os.path.join(root, "secret"))
    with open(os.path.join(root, "secret", "k"), "w") as f:
        f.write("key\n")
    with open(os.path.join(root, "etc", "token"), "w") as f:
        f.write("tok\n")
    os.makedirs(os.path.join(root, "ro"))
    cp = zone_run(root, "--run", "--caps", hex(DOCKER_CAPS), "--mask", "/secret",
                  "--mask", "/etc/token", "--ro", "/ro",
                  cmd=["/bin/sh", "-c",
                       "ls /secret | wc -l; cat /etc/token | wc -c; "
                       "touch /secret/x 2>/dev/null && echo W1; "
                       "echo x > /etc/token 2>/dev/null; "
                       "touch /ro/x 2>/dev/null && echo W3; "
                       "mount -o remount,rw /ro 2>/dev/null && echo W4; "
                       "umount /secret 2>/dev/null && echo W5; "
                       "umount -l /etc/token 2>/dev/null && echo W6; echo done"])
    lines = cp.stdout.split()
    assert lines[:2] == ["0", "0"], cp
    assert not {"W1", "W3", "W4", "W5", "W6"} & set(lines), cp
    assert "done" in lines, cp
    with open(os.path.join(root, "etc", "token")) as f:
        assert f.read() == "tok\n"
    assert os.listdir(os.path.join(root, "ro")) == []


def test_joined_netns_sees_only_it(zroot):
    d, root = zroot
    ns = "zh-join-%s" % new_uuid()[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "zhdummy0", "type", "veth", "peer", "name",
                        "zhdummy1"], check=True)
        cp = zone_run(root, "--run", "--join", "net:/run/netns/" + ns,
                      cmd=["/bin/sh", "-c", "ls /sys/class/net; "
                           "ip link add zhx0 type veth peer name zhx1 2>/dev/null && echo ADDED; "
                           "ip link set zhdummy0 up 2>/dev/null && echo UP; echo done"])
        out = cp.stdout.split()
        assert "zhdummy0" in out, cp
        assert "ADDED" not in out and "UP" not in out, cp  # not the zone's netns to change
        links = subprocess.run(["ip", "-n", ns, "-o", "link"], capture_output=True,
                               text=True).stdout
        assert "zhx0" not in links
        # The host's own namespace was never joined and is as it was.
        assert "zhdummy0" not in subprocess.run(["ip", "-o", "link"], capture_output=True,
                                                text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def test_run_caps_never_widened_and_nnp(zroot):
    d, root = zroot
    # Ask for every capability: the zone's dropped ones (SYS_MODULE = 16) stay dropped.
    cp = zone_run(root, "--run", "--caps", "0xffffffffff", "--nnp",
                  cmd=["/bin/sh", "-c", "grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status"])
    st = dict(l.split(":\t") for l in cp.stdout.splitlines() if ":\t" in l)
    assert st, cp
    assert not (int(st["CapBnd"], 16) >> 16) & 1, st
    assert not (int(st["CapEff"], 16) >> 16) & 1, st
    assert st["NoNewPrivs"].strip() == "1", st


# ---- OCI mode: zoneadmd --oci driven as the runtime drives it ----

import socket  # noqa: E402
import struct  # noqa: E402

CTL_BOOTED, CTL_START = 8, 12
HDR = struct.Struct("=IHHIi")  # magic, version, cmd, len, status (host order)


def ctl_frame(cmd, payload=None):
    body = json.dumps(payload or {}).encode()
    return HDR.pack(0x7a686374, 1, cmd, len(body), 0) + body


def ctl_read(sock):
    data = sock.recv(70000)
    magic, ver, cmd, n, status = HDR.unpack(data[:HDR.size])
    body = data[HDR.size:HDR.size + n]
    return cmd, status, json.loads(body) if body else {}


def ctl_call(h, u, cmd, payload=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(os.path.join(h.root, "run", "zonehost", u, "control.sock"))
        s.send(ctl_frame(cmd, payload))
        return ctl_read(s)
    finally:
        s.close()


def make_bundle(d, rootpath, process, **extra):
    cfg = {"ociVersion": "1.0.2", "process": process, "root": {"path": rootpath},
           "hostname": "oci1",
           "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
           "linux": {"namespaces": [{"type": t} for t in
                                    ("pid", "ipc", "uts", "mount", "network")]}}
    cfg.update(extra)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return d


def set_bundle(h, u, bundle):
    from test_vmadm_util import config_path
    p = config_path(h, u)
    with open(p) as f:
        vm = json.load(f)
    vm["oci_bundle"] = bundle
    with open(p, "w") as f:
        json.dump(vm, f)


class Zoneadmd:
    """zoneadmd --oci spawned with one fork, as the runtime does: we are its parent,
    so (CLONE_PARENT) the container's process is our child too."""

    def __init__(self, h, u, stdout):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self.p = subprocess.Popen([os.path.join(CMD, "zoneadmd"), "--notify-fd", str(fd), "--oci",
                                   u], env=h.env, stdin=subprocess.DEVNULL, stdout=stdout,
                                  stderr=stdout, pass_fds=(fd,))
        theirs.close()

    def booted(self):
        self.sock.settimeout(60)
        data = self.sock.recv(70000)
        assert data, "zoneadmd exited with %r and no boot result" % (self.p.wait(30),)
        magic, ver, cmd, n, status = HDR.unpack(data[:HDR.size])
        payload = json.loads(data[HDR.size:HDR.size + n] or b"{}")
        assert cmd == CTL_BOOTED
        return status, payload


def test_oci_gate_start_stdio_and_caller_reaps(lxhost, zroot):
    h, img = lxhost
    d, root = zroot
    u = create(h, img, brand="lx", docker=True, kernel_version="4.3.0")
    bundle = make_bundle(d, "root", {
        "args": ["sh", "-c", 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"; exit 5'],
        "env": ["FOO=oci", "PATH=/bin:/sbin"], "cwd": "/etc",
        "user": {"uid": 1000, "gid": 1000}, "terminal": False})
    set_bundle(h, u, bundle)
    r, w = os.pipe()
    z = Zoneadmd(h, u, w)
    os.close(w)
    try:
        status, payload = z.booted()
        assert status == 0, payload
        pid = payload["pid"]
        st = json.load(open(os.path.join(h.root, "run", "zonehost", u, "state.json")))
        assert st["state"] == "created", st
        import select
        assert select.select([r], [], [], 0.5)[0] == []  # nothing ran before the gate
        cmd, status, rep = ctl_call(h, u, CTL_START)
        assert status == 0, rep
        out = b""
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            out += b
        assert out.decode() == "oci /etc 1000:1000 oci1\n"
        _, ws = os.waitpid(pid, 0)  # ours to reap (CLONE_PARENT)
        assert os.WEXITSTATUS(ws) == 5
        assert z.p.wait(30) == 0
        ex = exit_json(h, u)
        assert ex["exit_status"] is None and ex["reaped_by"] == "caller", ex
        assert get(h, u)["state"] == "stopped"
    finally:
        os.close(r)
        if z.p.poll() is None:
            z.p.kill()
            z.p.wait()


def test_oci_missing_executable_error(lxhost, zroot):
    h, img = lxhost
    d, root = zroot
    u = create(h, img, brand="lx", docker=True, kernel_version="4.3.0")
    set_bundle(h, u, make_bundle(d, "root", {"args": ["nope"], "cwd": "/",
                                             "user": {"uid": 0, "gid": 0}}))
    z = Zoneadmd(h, u, subprocess.DEVNULL)
    status, payload = z.booted()
    assert status < 0
    assert 'exec: "nope": executable file not found in $PATH' in payload["error"], payload
    assert z.p.wait(30) != 0


def test_ctl_start_refused_when_not_oci(lxhost):
    h, img = lxhost
    u = docker_vm(h, img, ["sh", "-c", "sleep 30"])
    assert h.vmadm("start", u).rc == 0
    cmd, status, rep = ctl_call(h, u, CTL_START)
    assert status < 0 and rep["error"] == "already started", rep
    assert h.vmadm("stop", "-F", u).rc == 0


def test_oci_console_socket_and_preserve_fds(lxhost, zroot):
    h, img = lxhost
    d, root = zroot
    u = create(h, img, brand="lx", docker=True, kernel_version="4.3.0")
    caps = 1 << 0 | 1 << 21 | 1 << 16  # CHOWN, SYS_ADMIN, SYS_MODULE (the zone never has it)
    set_bundle(h, u, make_bundle(d, "root", {
        "args": ["/bin/sh", "-c", "tty; echo extra >&3; ulimit -n; "
                 "grep -E '^(CapEff|CapBnd|Groups|NoNewPrivs)' /proc/self/status; read x"],
        "cwd": "/", "terminal": True, "noNewPrivileges": True,
        "user": {"uid": 0, "gid": 0, "additionalGids": [5, 7]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 456}],
        "capabilities": {k: ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_MODULE"]
                         for k in ("bounding", "effective", "permitted")}}))
    sockpath = os.path.join(d, "console.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(sockpath)
    ls.listen(1)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r3, w3 = os.pipe()
    # fd 3 of zoneadmd is the preserved pipe, its notify socket fd 4 (above it).
    sh = "exec %s --notify-fd 4 --oci --console-socket %s --preserve-fds 1 %s 3>&%d 4>&%d" % (
        os.path.join(CMD, "zoneadmd"), sockpath, u, w3, theirs.fileno())
    p = subprocess.Popen(["bash", "-c", sh], env=h.env, stdin=subprocess.DEVNULL,
                         pass_fds=(w3, theirs.fileno()))
    theirs.close()
    os.close(w3)
    try:
        import select
        ready = select.select([ls, ours], [], [], 60)[0]
        assert ls in ready, ours.recv(70000)  # else zoneadmd's boot error
        conn, _ = ls.accept()
        msg, fds, flags, _ = socket.recv_fds(conn, 4096, 4)
        assert len(fds) == 1 and msg.startswith(b"/dev/pts/"), (msg, fds)
        master = fds[0]
        ours.settimeout(60)
        data = ours.recv(70000)
        _, _, cmd, n, status = HDR.unpack(data[:HDR.size])
        payload = json.loads(data[HDR.size:HDR.size + n] or b"{}")
        assert status == 0, payload
        assert ctl_call(h, u, CTL_START)[1] == 0
        out = b""
        # Read all it says while it waits (a pty drops what is unread when its
        # last slave closes), then let it end.
        while b"NoNewPrivs" not in out or not out.endswith(b"\n"):
            assert select.select([master], [], [], 30)[0], out
            out += os.read(master, 4096)
        os.write(master, b"\n")
        text = out.decode().replace("\r", "")
        assert os.read(r3, 100) == b"extra\n"
        assert "/dev/" in text.splitlines()[0], repr(text)
        st = dict(l.split(":\t") for l in text.splitlines() if ":\t" in l)
        assert "321" in text.splitlines(), repr(text)
        assert int(st["CapEff"], 16) == (1 << 0 | 1 << 21), st
        assert int(st["CapBnd"], 16) == (1 << 0 | 1 << 21), st
        assert st["Groups"].split() == ["5", "7"], st
        assert st["NoNewPrivs"].strip() == "1", st
        os.waitpid(payload["pid"], 0)
        assert p.wait(30) == 0
        os.close(master)
    finally:
        os.close(r3)
        ls.close()
        if p.poll() is None:
            p.kill()
            p.wait()


def test_oci_mounts_masks_readonly_root_and_seccomp(lxhost, zroot):
    h, img = lxhost
    d, root = zroot
    data = os.path.join(d, "data")
    os.mkdir(data)
    with open(os.path.join(data, "f"), "w") as f:
        f.write("hostdata\n")
    os.symlink("/etc", os.path.join(root, "evil"))  # planted: must stay in the root
    u = create(h, img, brand="lx", docker=True, kernel_version="4.3.0")
    set_bundle(h, u, make_bundle(d, "root", {
        "args": ["/bin/sh", "-c",
                 "cat /data/f; touch /data/w 2>/dev/null && echo W1; "
                 "touch /x 2>/dev/null && echo W2; touch /scratch/ok && echo T; "
                 "mkdir /scratch/dir 2>/dev/null || echo NOMKDIR; "
                 "cat /etc/hostname | wc -c; ls /evil/f; exit 0"],
        "cwd": "/", "user": {"uid": 0, "gid": 0}, "terminal": False},
        root={"path": "root", "readonly": True},
        mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/data", "type": "bind", "source": data,
                 "options": ["rbind", "ro"]},
                {"destination": "/evil", "type": "bind", "source": data, "options": ["bind"]},
                {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "size=1m"]}],
        linux={"namespaces": [{"type": "pid"}, {"type": "mount"}],
               "maskedPaths": ["/etc/hostname"],
               "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                           "syscalls": [{"names": ["mkdir", "mkdirat"],
                                         "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}}))
    r, w = os.pipe()
    z = Zoneadmd(h, u, w)
    os.close(w)
    try:
        status, payload = z.booted()
        assert status == 0, payload
        assert ctl_call(h, u, CTL_START)[1] == 0
        out = b""
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            out += b
        lines = out.decode().split()
        assert lines[0] == "hostdata", lines
        assert "W1" not in lines and "W2" not in lines, lines
        assert "T" in lines and "NOMKDIR" in lines, lines
        assert "0" in lines, lines            # /etc/hostname masked
        assert "/evil/f" in lines, lines      # the bind landed on the zone's /etc
        assert not os.path.exists("/etc/f")
        os.waitpid(payload["pid"], 0)
        assert z.p.wait(30) == 0
    finally:
        os.close(r)
        if z.p.poll() is None:
            z.p.kill()
            z.p.wait()


def test_oci_stop_before_start_never_runs_it(lxhost, zroot):
    h, img = lxhost
    d, root = zroot
    u = create(h, img, brand="lx", docker=True, kernel_version="4.3.0")
    set_bundle(h, u, make_bundle(d, "root", {
        "args": ["/bin/sh", "-c", "echo ran"], "cwd": "/", "user": {"uid": 0, "gid": 0}}))
    r, w = os.pipe()
    z = Zoneadmd(h, u, w)
    os.close(w)
    try:
        status, payload = z.booted()
        assert status == 0, payload
        res = h.vmadm("stop", "-t", "1", u)
        assert res.rc == 0, res
        _, ws = os.waitpid(payload["pid"], 0)
        assert os.WIFSIGNALED(ws) or os.WEXITSTATUS(ws) == 0
        assert z.p.wait(30) == 0
        assert os.read(r, 100) == b""  # it never ran, and nobody holds its stdout
        assert get(h, u)["state"] == "stopped"
    finally:
        os.close(r)
        if z.p.poll() is None:
            z.p.kill()
            z.p.wait()


def test_joined_uts_keeps_its_name_and_pid_join_refused(zroot):
    d, root = zroot
    nsfile = os.path.join(d, "uts")
    open(nsfile, "w").close()
    subprocess.run(["unshare", "--uts=" + nsfile, "hostname", "zhjoined"], check=True)
    try:
        cp = zone_run(root, "--run", "--hostname", "mine", "--join", "uts:" + nsfile,
                      cmd=["/bin/sh", "-c", "hostname; hostname pwned 2>/dev/null && echo SET; "
                           "echo done"])
        out = cp.stdout.split()
        assert out[0] == "zhjoined", cp
        assert "SET" not in out and "done" in out, cp
        # The namespace is the owner's: its name is unchanged, and ours too.
        got = subprocess.run(["nsenter", "--uts=" + nsfile, "hostname"], capture_output=True,
                             text=True).stdout.strip()
        assert got == "zhjoined"
        assert os.uname().nodename != "pwned"
        cp = zone_run(root, "--run", "--join", "pid:/proc/self/ns/pid", cmd=["/bin/true"])
        assert cp.returncode != 0
        assert "joining a pid namespace" in cp.stderr and "not supported" in cp.stderr, cp
    finally:
        subprocess.run(["umount", nsfile])

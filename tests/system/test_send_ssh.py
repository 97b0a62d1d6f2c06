"""`vmadm send UUID | ssh HOST vmadm receive` over a real ssh connection.

The test runs an sshd of its own, never the host's: host keys, a client key
and authorized_keys in a temporary directory, listening on 127.0.0.1 inside a
network namespace the test creates (so nothing outside the namespace can
reach it and no port of the host is taken).  The ssh client runs in the same
namespace; the "remote" host is host2 (its own ZONEHOST_ROOT and pool), so
the remote command is `env ZONEHOST_ROOT=<host2> PATH=<build>:... vmadm
receive`.  The sshd (and any session it still has), the namespace, the
temporary files and /run/sshd (when the test made it) are removed pass or
fail.  tools/install-deps installs openssh-server without starting or
enabling the host's ssh service."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid as uuidlib

import pytest

from conftest import CMD
from test_vmadm_util import create, get, pool_mount

SSHD = "/usr/sbin/sshd"
VMADM = os.path.join(CMD, "vmadm")
PRIVSEP_DIR = "/run/sshd"
# Variables the remote vmadm gets as the local one would (sanitizer builds).
FORWARD_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def root_locked():
    """True when root's password field is locked ("!..."): sshd with UsePAM
    no then refuses root even with a key."""
    try:
        with open("/etc/shadow") as f:
            for line in f:
                fields = line.split(":")
                if fields[0] == "root":
                    return fields[1].startswith("!")
    except OSError:
        pass
    return False


def descendants(pid):
    """PIDs of every live process below pid (sshd's per-connection children
    call setsid(), so they are found by parent, not by process group)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(proc):
    """Stop sshd (by its PID) and whatever it still runs."""
    if proc.poll() is None:
        pids = descendants(proc.pid)
        for p in [proc.pid] + pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Sshd:
    """An sshd of the test's own in network namespace `ns`; ssh_argv() is
    an ssh client in the same namespace that logs in as root."""

    def __init__(self, ns, tmp, port, mount_ns):
        self.ns, self.tmp, self.port, self.mount_ns = ns, tmp, port, mount_ns
        self.key = os.path.join(tmp, "client_key")
        self.log = os.path.join(tmp, "sshd.log")

    def nsenter(self):
        return ["nsenter", "--net=/run/netns/" + self.ns, "--"]

    def ssh_argv(self, *remote):
        return self.nsenter() + [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "-i", self.key, "-p", str(self.port), "root@127.0.0.1", *remote]

    def receive_cmd(self, h):
        """The remote command line: host2's vmadm receive, as a shell on the
        far side runs it."""
        env = ["ZONEHOST_ROOT=" + shlex.quote(h.root)]
        env += ["%s=%s" % (k, shlex.quote(os.environ[k])) for k in FORWARD_ENV if k in os.environ]
        cmd = "env %s PATH=%s:\"$PATH\" vmadm receive" % (" ".join(env), shlex.quote(CMD))
        if self.mount_ns:  # see the sshd fixture: back into the test's mounts
            cmd = "nsenter --mount=%s -- %s" % (shlex.quote(self.mount_ns), cmd)
        return cmd

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""


def free_port(ns):
    """A port free on 127.0.0.1 inside the namespace (a fresh namespace has
    nothing bound, but ask the kernel anyway)."""
    cp = subprocess.run(
        ["nsenter", "--net=/run/netns/" + ns, "--", "/usr/bin/python3", "-c",
         "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"],
        capture_output=True, text=True, check=True, timeout=30)
    return int(cp.stdout)


@pytest.fixture
def sshd():
    if not os.access(SSHD, os.X_OK):
        pytest.skip("%s is missing (tools/install-deps installs openssh-server)" % SSHD)
    ns = "zh-ssh-%s" % uuidlib.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="zh-ssh-", dir="/var/tmp")
    made_privsep = False
    proc = None
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True,
                       capture_output=True)
        if not os.path.isdir(PRIVSEP_DIR):
            os.mkdir(PRIVSEP_DIR, 0o755)
            made_privsep = True
        hostkey = os.path.join(tmp, "ssh_host_ed25519_key")
        for path in (hostkey, os.path.join(tmp, "client_key")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zh-test",
                            "-f", path], check=True, capture_output=True,
                           stdin=subprocess.DEVNULL)
        shutil.copyfile(os.path.join(tmp, "client_key.pub"), os.path.join(tmp, "authorized_keys"))
        port = free_port(ns)
        cfg = os.path.join(tmp, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1",
                "Port %d" % port,
                "HostKey " + hostkey,
                "AuthorizedKeysFile " + os.path.join(tmp, "authorized_keys"),
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                # the keys live under /var/tmp, which is world-writable
                "StrictModes no",
                "PidFile none",
                "PrintMotd no",
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                ""]))
        subprocess.run([SSHD, "-t", "-f", cfg], check=True, capture_output=True)
        argv = [SSHD, "-D", "-e", "-f", cfg]
        mount_ns = None
        if root_locked():
            # sshd without PAM refuses a locked root, key or not.  Give sshd
            # a mount namespace of its own with a copy of /etc/shadow whose
            # root entry is unlocked; the remote command enters the test's
            # mount namespace again, so receive sees the same mounts.
            shadow_copy = os.path.join(tmp, "shadow")
            fd = os.open(shadow_copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open("/etc/shadow") as src, open(fd, "w") as dst:
                for line in src:
                    fields = line.split(":")
                    if fields[0] == "root":
                        fields[1] = "*"
                    dst.write(":".join(fields))
            mount_ns = "/proc/%d/ns/mnt" % os.getpid()
            argv = ["unshare", "--mount", "--propagation", "slave", "sh", "-c",
                    'mount --bind "$0" /etc/shadow && exec "$@"', shadow_copy] + argv
        s = Sshd(ns, tmp, port, mount_ns)
        with open(s.log, "w") as log:
            proc = subprocess.Popen(s.nsenter() + argv, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "Server listening on 127.0.0.1 port %d" % port not in s.log_text():
            assert proc.poll() is None, "sshd exited %s:\n%s" % (proc.returncode, s.log_text())
            assert time.monotonic() < deadline, "sshd not listening:\n" + s.log_text()
            time.sleep(0.05)
        yield s
    finally:
        if proc is not None:
            kill_tree(proc)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if made_privsep:
            shutil.rmtree(PRIVSEP_DIR, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def pipeline(*cmds, input_file=None, timeout=300):
    """Run `a | b | ...` in bash with pipefail; returns (rc, stderr)."""
    script = "set -o pipefail; " + " | ".join(" ".join(shlex.quote(a) for a in c) for c in cmds)
    cp = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout,
                        stdin=open(input_file, "rb") if input_file else subprocess.DEVNULL)
    return cp.returncode, cp.stderr


def write(h, u, name, text):
    with open(os.path.join(pool_mount(h), u, "root", name), "w") as f:
        f.write(text)


def read(h, u, name):
    with open(os.path.join(pool_mount(h), u, "root", name)) as f:
        return f.read()


def config_files(h, u):
    """{"vm.json": the VM's stored config}, without the host-local properties."""
    with open(os.path.join(pool_mount(h), ".vmadm", u + ".json")) as fh:
        data = json.load(fh)
    return {"vm.json": {k: v for k, v in data.items() if k not in HOST_LOCAL}}


def pool_entries(h):
    mnt = pool_mount(h)
    if not os.path.isdir(mnt):
        return []
    return sorted(n for n in os.listdir(mnt) if n not in ("lost+found", ".vmadm"))


# Properties that describe where and how the VM lives on its host, not the
# VM (the receiving host gives the VM a uid range of its own).
HOST_LOCAL = {"zonepath", "zfs_filesystem", "zonehost_id_base", "last_modified", "pid",
              "boot_timestamp", "zoneid", "zonedid", "state", "zone_state", "exit_status",
              "exit_timestamp"}


def test_send_over_ssh(imghost, host2, sshd):
    h, img = imghost
    u = create(h, img, alias="over-ssh", quota=5)
    write(h, u, "marker", "sent over ssh\n")
    env_send = ["env", "ZONEHOST_ROOT=" + h.root, VMADM, "send", u]
    rc, err = pipeline(env_send, sshd.ssh_argv(sshd.receive_cmd(host2)))
    assert rc == 0, "%s\nsshd log:\n%s" % (err, sshd.log_text())
    assert err == "Successfully sent VM %s\nSuccessfully received VM %s\n" % (u, u)
    assert "Accepted publickey for root" in sshd.log_text()
    vm1, vm2 = get(h, u), get(host2, u)
    assert vm2["uuid"] == u and vm2["alias"] == "over-ssh" and vm2["quota"] == 5
    assert vm2["state"] == "stopped"
    assert ({k: v for k, v in vm2.items() if k not in HOST_LOCAL}
            == {k: v for k, v in vm1.items() if k not in HOST_LOCAL})
    files = config_files(h, u)
    assert "vm.json" in files
    assert config_files(host2, u) == files
    assert read(host2, u, "marker") == "sent over ssh\n"
    assert [n for n in pool_entries(host2) if n.startswith(".recv")] == []
    r = host2.vmadm("list", "-H", "-o", "uuid")
    assert r.rc == 0 and r.out.split() == [u], r


def test_cut_stream_over_ssh(imghost, host2, sshd, tmp_path):
    h, img = imghost
    u = create(h, img)
    write(h, u, "marker", "x" * 200000)
    cp = subprocess.run([VMADM, "send", u], env=h.env, capture_output=True,
                        stdin=subprocess.DEVNULL, timeout=120)
    assert cp.returncode == 0, cp.stderr
    cut = tmp_path / "cut.stream"
    cut.write_bytes(cp.stdout[:len(cp.stdout) // 2])
    rc, err = pipeline(["cat", str(cut)], sshd.ssh_argv(sshd.receive_cmd(host2)))
    assert rc == 1, "%s\nsshd log:\n%s" % (err, sshd.log_text())
    assert "truncated" in err, err
    r = host2.vmadm("list", "-H")
    assert r.rc == 0 and r.out == "", r
    assert host2.vmadm("get", u).rc == 1
    assert [n for n in pool_entries(host2) if n.startswith(".recv")] == []
    assert pool_entries(host2) == []

"""VNC on TCP for hardware VMs (docs/architecture.md §22): vnc_port 0 (a
random port), a fixed vnc_port, vnc_port -1 (none), vnc_password (VNC
authentication), `vmadm info vnc`, and the listener gone with QEMU
(vmadm stop, kill -9 of zoneadmd), a vnc_port in use failing the start.

One kvm VM from the HVM test disk's zvol image serves every check; the
guest is booted to the end once (for a graceful stop), the other starts
need QEMU's VNC server only.  Every zonehost command runs in the test's own
network namespace, so zoneadmd's listener is there, and the RFB client
runs there too.  No NIC, no address: the listener is on 127.0.0.1 of that
namespace.
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import CMD, Host, new_netns, new_root
from hvm import BOOT_TIMEOUT, BOOTED
from test_vmadm_util import get, snapshot

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]

PASSWORD = "s3cr3tpw"
FIXED_PORT = 15901  # in the test's own network namespace only

# An RFB 3.8 client, run inside the namespace: the greeting, the security
# types, then (mode "none") security None and the server's init, or (mode
# "wrong") VNC authentication with a wrong response.
RFB = r"""
import json, socket, struct, sys
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=30)
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit(json.dumps({"eof_after": b.decode("latin-1")}))
        b += c
    return b
out = {"greeting": recvn(12).decode("latin-1")}
s.sendall(b"RFB 003.008\n")
n = recvn(1)[0]
out["types"] = list(recvn(n))
if mode == "none" and 1 in out["types"]:
    s.sendall(b"\x01")
    out["result"] = struct.unpack(">I", recvn(4))[0]
    s.sendall(b"\x01")
    w, h = struct.unpack(">HH", recvn(4))
    recvn(16)
    out["size"] = [w, h]
    out["name"] = recvn(struct.unpack(">I", recvn(4))[0]).decode()
elif mode == "wrong" and 2 in out["types"]:
    s.sendall(b"\x02")
    recvn(16)
    s.sendall(b"\0" * 16)
    out["result"] = struct.unpack(">I", recvn(4))[0]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def vm(hvm_zvol_image):
    """(host, uuid): a stopped kvm VM with vnc_password, in its own netns."""
    ns = new_netns()
    h = Host(new_root(), netns=ns)
    try:
        m, f, manifest = hvm_zvol_image
        h.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
        before = snapshot(h)
        r = h.vmadm("create", input=json.dumps({
            "brand": "kvm", "autoboot": False, "ram": 256, "vcpus": 1,
            "vnc_password": PASSWORD,
            "disks": [{"image_uuid": manifest["uuid"], "boot": True, "model": "virtio"}]}))
        assert r.rc == 0, r
        u = re.search(r"Successfully created VM (\S+)", r.err).group(1)
        yield h, u
        h.vmadm("stop", "-F", u)
        assert h.vmadm("delete", u).rc == 0
        assert snapshot(h) == before
    finally:
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert not leaked, "test left mounts behind: %r" % leaked


def listeners(h):
    """{(address, port): pid} of every TCP listener in the host's namespace."""
    cp = subprocess.run(["ip", "netns", "exec", h.netns, "ss", "-Hltnp"],
                        capture_output=True, text=True, check=True)
    out = {}
    for line in cp.stdout.splitlines():
        f = line.split()
        addr, _, port = f[3].rpartition(":")
        m = re.search(r"pid=(\d+)", line)
        out[(addr.strip("[]"), int(port))] = int(m.group(1)) if m else None
    return out


def wait_no_listener(h, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end and listeners(h):
        time.sleep(0.1)
    return listeners(h)


def rfb(h, port, mode):
    r = h.run("/usr/bin/python3", "-c", RFB, "127.0.0.1", str(port), mode, timeout=60)
    assert r.rc == 0, r
    return json.loads(r.out)


def info_vnc(h, u):
    r = h.vmadm("info", u, "vnc")
    assert r.rc == 0, r
    return r.json()["vnc"]


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def start(h, u):
    r = h.vmadm("start", u, timeout=300)
    assert r.rc == 0, r
    return get(h, u)


def console(vmj):
    try:
        with open(os.path.join(vmj["zonepath"], "logs", "console.log"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def test_password_random_port_then_stop(vm):
    h, u = vm
    vmj = start(h, u)
    zp, qemu_pid = vmj["zonepath"], vmj["pid"]

    v = info_vnc(h, u)
    assert v["host"] == "127.0.0.1" and isinstance(v["port"], int) and v["port"] > 0, v
    assert v["display"] == v["port"] - 5900 and v["password"] == PASSWORD, v
    assert v["unix"] == os.path.join(zp, "root", "tmp", "vm.vnc"), v
    assert v["qemu"]["auth"] == "vnc", v   # QEMU asks for the password

    ls = listeners(h)
    assert list(ls) == [("127.0.0.1", v["port"])], ls   # loopback by default, one listener
    relay = ls[("127.0.0.1", v["port"])]
    st = status(relay)
    assert st["Uid"].split() == [str(vmj["zonehost_id_base"] + 1000)] * 4, st
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0, st
    assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1", st
    assert os.readlink("/proc/%d/root" % relay) == os.path.join(zp, "root", "tmp")

    got = rfb(h, v["port"], "wrong")
    assert re.fullmatch(r"RFB 003\.00\d\n", got["greeting"]), got
    assert got["types"] == [2], got          # VNC authentication only
    assert got["result"] == 1, got           # a wrong answer is refused

    with open("/proc/%d/cmdline" % qemu_pid, "rb") as f:
        cmdline = f.read()
    assert b"password=on" in cmdline and PASSWORD.encode() not in cmdline
    for log in (os.path.join(zp, "logs", "zoneadmd.log"),
                os.path.join(zp, "root", "tmp", "vm.startvm.log")):
        with open(log, "rb") as f:
            assert PASSWORD.encode() not in f.read(), log

    end = time.monotonic() + BOOT_TIMEOUT   # one full boot, for a graceful stop
    while BOOTED not in console(vmj) and time.monotonic() < end:
        time.sleep(0.5)
    assert BOOTED in console(vmj), console(vmj)[-2000:]
    r = h.vmadm("stop", u, timeout=180)
    assert r.rc == 0, r
    assert get(h, u)["state"] == "stopped"
    assert listeners(h) == {}
    assert not os.path.exists("/proc/%d" % relay)


def test_fixed_port_no_password_then_kill9(vm):
    h, u = vm
    r = h.vmadm("update", u, input=json.dumps({"vnc_port": FIXED_PORT, "vnc_password": None}))
    assert r.rc == 0, r
    vmj = start(h, u)

    v = info_vnc(h, u)
    assert (v["host"], v["port"], v["display"]) == ("127.0.0.1", FIXED_PORT, FIXED_PORT - 5900), v
    assert "password" not in v and v["qemu"]["auth"] == "none", v

    got = rfb(h, FIXED_PORT, "none")
    assert got["types"] == [1] and got["result"] == 0, got   # None, and in
    assert u in got["name"] and got["size"][0] > 0, got      # QEMU's ServerInit, relayed

    relay = listeners(h)[("127.0.0.1", FIXED_PORT)]
    zoneadmd = int(status(relay)["PPid"])
    os.kill(zoneadmd, signal.SIGKILL)
    assert wait_no_listener(h) == {}          # the relay died with zoneadmd
    end = time.monotonic() + 30
    while os.path.exists("/proc/%d" % vmj["pid"]) and time.monotonic() < end:
        time.sleep(0.1)
    assert not os.path.exists("/proc/%d" % vmj["pid"])   # the sentinel ended QEMU
    assert get(h, u)["state"] == "stopped"


def test_port_in_use_fails_the_start(vm):
    h, u = vm
    hold = subprocess.Popen(
        ["ip", "netns", "exec", h.netns, "/usr/bin/python3", "-c",
         "import socket, sys, time\n"
         "s = socket.socket(); s.bind(('127.0.0.1', %d)); s.listen()\n"
         "print('ok', flush=True); time.sleep(300)\n" % FIXED_PORT],
        stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "ok"
        r = h.vmadm("start", u, timeout=120)
        assert r.rc == 1, r
        assert "vnc_port %d" % FIXED_PORT in r.err and "in use" in r.err, r
        vmj = get(h, u)
        assert vmj["state"] == "failed" and "pid" not in vmj, vmj   # vmadm.8: a failed start
    finally:
        hold.kill()
        hold.wait()
    assert listeners(h) == {}


def test_vnc_port_disabled(vm):
    h, u = vm
    r = h.vmadm("update", u, input=json.dumps({"vnc_port": -1}))
    assert r.rc == 0, r
    vmj = start(h, u)
    v = info_vnc(h, u)
    assert set(v) == {"unix", "qemu"}, v       # no host, no port: no TCP
    assert listeners(h) == {}
    s = socket.socket(socket.AF_UNIX)          # QEMU's own socket still serves
    s.settimeout(30)
    s.connect(v["unix"])
    assert s.recv(12).startswith(b"RFB 003.00")
    s.close()
    r = h.vmadm("stop", "-F", u, timeout=120)
    assert r.rc == 0, r
    assert not os.path.exists("/proc/%d" % vmj["pid"])

"""Metadata in HVM guests (issue 13, docs/architecture.md §23 "HVM guests"):
the guest tools the HVM test disk carries (/usr/sbin/mdata-get, -put,
-delete, -list: the build's static mdata-tool, tools/mkimage-hvm) speak the
protocol over the guest's /dev/ttyS1, QEMU's second serial port.

Two guests, each booted once (module fixtures), both under TCG:

- bare: the test disk in a bare QEMU (tests/system/hvm.py) whose second
  serial port is connected to tests/helpers/mdata-serve: the guest side
  alone (kernel serial driver, the tools, the init's user-script), without
  zoneadmd.
- kvm: a kvm VM made by `vmadm create` from the disk's zvol image, with
  customer_metadata, a NIC on an etherstub and resolvers, served by
  zoneadmd's metadata server on vm.ttyb: every verb from inside the guest,
  sdc: keys, customer keys, a guest PUT and DELETE seen by `vmadm get`, a
  `vmadm update set_customer_metadata` seen by the guest at once, and
  user-script run at boot.

The guest runs commands from its console (the test init's "ZH-RUN" lines,
answered "ZONEHOST-HVM-RC <status>").  Everything runs in the test's own
network namespace (addresses from 198.18.6.0/24) and is removed, even on
failure.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time
import uuid as uuidlib

import pytest

from conftest import BUILD, CMD, Host, new_netns, new_root
from hvm import BOOT_TIMEOUT, BOOTED, BareQemu
from test_hvm_e2e import console, create, links, start, wait_console
from test_lifecycle import Console
from test_vmadm_util import get, snapshot

SERVE = os.path.join(BUILD, "tests", "helpers", "mdata-serve")
US_DONE = b"ZONEHOST-HVM-USER-SCRIPT rc "
KVM_IP = "198.18.6.10"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]

USER_SCRIPT = "#!/bin/sh\necho ZH-US-MARK uuid=$(mdata-get sdc:uuid) k1=$(mdata-get k1)\n"


def run_output(text, tag):
    """(status, output) of one ZH-RUN whose output starts with the line
    B-<tag>, from the console text; None while its status has not come."""
    text = text.replace("\r", "")
    i = text.find("\nB-%s\n" % tag)
    if i < 0:
        return None
    m = re.compile(r"^ZONEHOST-HVM-RC (\d+)$", re.M).search(text, i + 1)
    if not m:
        return None
    return int(m.group(1)), text[i + len(tag) + 4:m.start()]


def zh_run_line(cmd):
    """The console line that runs cmd in the guest, and its tag.  The tty
    echoes the line: the output's first line, B-<tag>, is printed by printf
    so that it is not in the echo."""
    tag = uuidlib.uuid4().hex[:12]
    return "ZH-RUN printf '%%s-%%s\\n' B %s; %s\n" % (tag, cmd), tag


# ---- the bare guest: QEMU + mdata-serve ----

class TtybQemu(BareQemu):
    """BareQemu with its console on a socket (logged to self.console) and its
    second serial port connected to a metadata server's socket."""

    def __init__(self, disk, ttyb):
        super().__init__(disk, nic=None)
        self.con_path = os.path.join(self.work, "con")
        i = self.argv.index("file:" + self.console)
        self.argv[i:i + 1] = [
            "chardev:con0", "-chardev",
            "socket,id=con0,path=%s,server=on,wait=off,logfile=%s" % (self.con_path, self.console),
            "-serial", "unix:" + ttyb,
            "-smbios", "type=1,manufacturer=Joyent,product=SmartDC HVM"]

    def run(self, cmd, timeout=120):
        line, tag = zh_run_line(cmd)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.con_path)
        try:
            s.sendall(line.encode())
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                out = run_output(self.output().decode(errors="replace"), tag)
                if out:
                    return out
                r, _, _ = select.select([s], [], [], 0.2)
                if r:
                    s.recv(65536)
        finally:
            s.close()
        raise AssertionError("no status for %r:\n%s" % (cmd, self.output()[-2000:]))


@pytest.fixture(scope="module")
def bare(hvm_disk):
    work = tempfile.mkdtemp(prefix="zh-mdhvm-", dir="/var/tmp")
    srv = q = None
    try:
        vm = {"uuid": "7a1c2d3e-0000-4000-8000-0000000000b1", "hostname": "bare0",
              "customer_metadata": {"user-script": USER_SCRIPT, "k1": "v1"}}
        with open(os.path.join(work, "vm.json"), "w") as f:
            json.dump(vm, f)
        sock = os.path.join(work, "md.sock")
        srv = subprocess.Popen([SERVE, "socket", sock, os.path.join(work, "vm.json")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert srv.stdout.readline() == b"ready\n"
        q = TtybQemu(hvm_disk, sock).start()
        q.wait_for(BOOTED)
        yield q
    finally:
        if q:
            q.close()
        if srv:
            srv.kill()
            srv.wait()
        shutil.rmtree(work, ignore_errors=True)


def test_bare_user_script_and_verbs(bare):
    """The disk alone: user-script ran at boot, and every verb over ttyS1."""
    t = bare.wait_for(US_DONE, 120)
    out = bare.output().decode(errors="replace")
    assert "ZH-US-MARK uuid=7a1c2d3e-0000-4000-8000-0000000000b1 k1=v1" in out, out[-2000:]
    assert "ZONEHOST-HVM-USER-SCRIPT rc 0" in out
    print("bare: user-script done %.1f s after QEMU started" % t)
    assert bare.run("cat /sys/class/dmi/id/product_name") == (0, "SmartDC HVM\n")
    assert bare.run("ls -1 /usr/sbin/mdata-*") == (0, "".join(
        "/usr/sbin/mdata-%s\n" % v for v in ("delete", "get", "list", "put")))
    assert bare.run("mdata-get sdc:hostname") == (0, "bare0\n")
    assert bare.run("mdata-put k2 two && mdata-get k2") == (0, "two\n")
    assert bare.run("mdata-list") == (0, "user-script\nk1\nk2\n")
    assert bare.run("mdata-delete k2 && mdata-get k2")[0] == 1
    assert bare.run("mdata-get nope 2>&1") == (1, "No metadata for 'nope'\n")


# ---- the kvm VM under zonehost ----

@pytest.fixture(scope="module")
def kvm(hvm_zvol_image):
    """A kvm VM booted once: (host, uuid); everything removed at the end."""
    ns = new_netns()
    h = Host(new_root(), netns=ns)
    u = None
    try:
        h.ok(os.path.join(CMD, "imgadm"), "install", "-m", hvm_zvol_image[0],
             "-f", hvm_zvol_image[1])
        h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", "stub0")
        subprocess.run(["ip", "-n", ns, "link", "set", "stub0", "up"], check=True)
        links_before, before = links(h), snapshot(h)
        u = create(h, {
            "brand": "kvm", "autoboot": False, "ram": 256, "vcpus": 1,
            "alias": "mdhvm", "hostname": "mdhvm0", "resolvers": ["192.0.2.53"],
            "disks": [{"image_uuid": hvm_zvol_image[2]["uuid"], "boot": True,
                       "model": "virtio"}],
            "nics": [{"nic_tag": "stub0", "model": "virtio", "ips": [KVM_IP + "/24"],
                      "primary": True}],
            "customer_metadata": {"user-script": USER_SCRIPT, "k1": "v1",
                                  "root_authorized_keys": "ssh-ed25519 AAAA zh@test"},
            "internal_metadata": {"secret_pw": "pw"}})
        t0 = time.monotonic()
        start(h, u)
        wait_console(h, u, BOOTED)
        print("kvm: booted in %.1f s" % (time.monotonic() - t0))
        yield h, u
        h.vmadm("stop", "-F", u)
        assert h.vmadm("delete", u).rc == 0
        u = None
        assert links(h) == links_before
        assert snapshot(h) == before
    finally:
        if u:
            h.vmadm("stop", "-F", u)
            h.vmadm("delete", u)
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        assert not leaked, "test left mounts behind: %r" % leaked


def guest(h, u, cmd, timeout=120):
    """(status, output) of cmd run in the guest through `vmadm console`."""
    c = Console(h, u)
    line, tag = zh_run_line(cmd)
    c.send(line)
    end = time.monotonic() + timeout
    out = None
    while time.monotonic() < end:
        out = run_output(c.buf.decode(errors="replace"), tag)
        if out:
            break
        r, _, _ = select.select([c.p.stdout], [], [], 0.2)
        if r:
            c.buf += os.read(c.p.stdout.fileno(), 65536)
    assert out, "no status from the guest for %r:\n%s" % (cmd, c.buf[-2000:])
    assert c.detach()[0] == 0
    return out


def test_kvm_user_script_ran_at_boot(kvm):
    h, u = kvm
    out = wait_console(h, u, US_DONE, timeout=120).decode(errors="replace")
    assert "ZH-US-MARK uuid=%s k1=v1" % u in out, out[-2000:]
    assert "ZONEHOST-HVM-USER-SCRIPT rc 0" in out
    assert guest(h, u, "cat /var/tmp/mdata-user-script") == (0, USER_SCRIPT)


def test_kvm_smbios(kvm):
    h, u = kvm
    assert guest(h, u, "cat /sys/class/dmi/id/product_name /sys/class/dmi/id/sys_vendor") == \
        (0, "SmartDC HVM\nJoyent\n")
    assert guest(h, u, "cat /sys/class/dmi/id/product_uuid") == (0, u + "\n")


def test_kvm_sdc_keys(kvm):
    h, u = kvm
    vm = get(h, u)
    for key, want in (("sdc:uuid", u), ("sdc:hostname", "mdhvm0"), ("sdc:alias", "mdhvm"),
                      ("sdc:server_uuid", vm["server_uuid"]), ("sdc:brand", "kvm"),
                      ("sdc:nics.0.ip", KVM_IP)):
        assert guest(h, u, "mdata-get %s" % key) == (0, want + "\n"), key
    rc, out = guest(h, u, "mdata-get sdc:nics")
    assert rc == 0
    nics = json.loads(out)
    assert [(n["mac"], n["ip"]) for n in nics] == [(vm["nics"][0]["mac"], KVM_IP)]
    assert guest(h, u, "mdata-get sdc:resolvers") == (0, '["192.0.2.53"]\n')
    rc, out = guest(h, u, "mdata-put sdc:hostname x 2>&1")
    assert rc == 2 and 'Cannot update the "sdc" Namespace.' in out, out


def test_kvm_customer_metadata(kvm):
    h, u = kvm
    assert guest(h, u, "mdata-get k1") == (0, "v1\n")
    assert guest(h, u, "mdata-get root_authorized_keys") == (0, "ssh-ed25519 AAAA zh@test\n")
    assert guest(h, u, "mdata-get secret_pw") == (0, "pw\n")
    assert guest(h, u, "mdata-get nope 2>&1") == (1, "No metadata for 'nope'\n")
    rc, out = guest(h, u, "mdata-list")
    assert rc == 0 and sorted(out.split()) == sorted(
        ["user-script", "k1", "root_authorized_keys", "secret_pw"]), out


def test_kvm_put_delete_seen_by_vmadm(kvm):
    h, u = kvm
    assert guest(h, u, "mdata-put fromguest hello") == (0, "")
    assert get(h, u)["customer_metadata"]["fromguest"] == "hello"
    assert guest(h, u, "echo piped | mdata-put fromguest2") == (0, "")
    assert get(h, u)["customer_metadata"]["fromguest2"] == "piped\n"
    assert guest(h, u, "mdata-delete fromguest && mdata-delete fromguest2") == (0, "")
    cm = get(h, u)["customer_metadata"]
    assert "fromguest" not in cm and "fromguest2" not in cm, cm


def test_kvm_update_seen_at_once(kvm):
    h, u = kvm
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"k1": "v1-new", "k3": "3"}}))
    assert r.rc == 0, r
    assert guest(h, u, "mdata-get k1; mdata-get k3") == (0, "v1-new\n3\n")
    r = h.vmadm("update", u, input=json.dumps({"remove_customer_metadata": ["k3"]}))
    assert r.rc == 0, r
    assert guest(h, u, "mdata-get k3")[0] == 1


def test_kvm_user_script_every_boot(kvm):
    """user-script runs again at the next boot, in its new version."""
    h, u = kvm
    new = "#!/bin/sh\necho ZH-US-SECOND $(hostname)\n"
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"user-script": new}}))
    assert r.rc == 0, r
    boots = console(h, u).count(BOOTED)
    r = h.vmadm("reboot", u, timeout=180)
    assert r.rc == 0, r
    wait_console(h, u, BOOTED, boots + 1)
    out = wait_console(h, u, b"ZH-US-SECOND", timeout=BOOT_TIMEOUT)
    assert b"ZH-US-SECOND zonehost-hvm" in out, out[-2000:]

"""Hardware VMs end to end (issue 12, "Done when"): a kvm VM (SeaBIOS) and a
bhyve VM (OVMF) made by `vmadm create` from an imported zvol image, booted
under TCG by zoneadmd's brand-hvm, given their static address by the
host-side DHCP responder, pinged from a zone on the same nic tag, stopped by
ACPI powerdown and deleted with nothing left (docs/architecture.md §5, §12,
§22).

Every zonehost command runs inside the test's own network namespace
(conftest's Host with netns), so the etherstub, the zone's veth and the
VMs' taps never reach the host's.  Addresses: 198.18.5.0/24 only.  Each
guest boots once (TCG is slow) and the checks share that boot.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CMD, Host, new_netns, new_root
from hvm import BOOT_TIMEOUT, BOOTED, IP_MARK
from test_vmadm_util import get, snapshot

ZLOGIN = os.path.join(CMD, "zlogin")
ZONE_IP = "198.18.5.2"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]


@pytest.fixture(scope="module")
def site(busybox_image, hvm_zvol_image):
    """(host, busybox image uuid, zvol image uuid, zone uuid): a host in its
    own netns with the etherstub stub0 and a running zone at ZONE_IP."""
    ns = new_netns()
    h = Host(new_root(), netns=ns)
    try:
        for m, f, _ in (busybox_image, hvm_zvol_image):
            h.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
        h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", "stub0")
        subprocess.run(["ip", "-n", ns, "link", "set", "stub0", "up"], check=True)
        zone = create(h, {"brand": "joyent", "image_uuid": busybox_image[2]["uuid"],
                          "autoboot": False,
                          "nics": [{"nic_tag": "stub0", "ips": [ZONE_IP + "/24"]}]})
        h.ok(os.path.join(CMD, "vmadm"), "start", zone)
        yield h, hvm_zvol_image[2]["uuid"], zone
    finally:
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert not leaked, "test left mounts behind: %r" % leaked


def create(h, payload):
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 0, r
    return re.search(r"Successfully created VM (\S+)", r.err).group(1)


def console(h, u):
    path = os.path.join(get(h, u)["zonepath"], "logs", "console.log")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def wait_console(h, u, marker, timeout=BOOT_TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = console(h, u)
        if marker in out:
            return out
        time.sleep(0.5)
    raise AssertionError("no %r on %s's console; tail:\n%s" % (
        marker, u, console(h, u)[-3000:].decode(errors="replace")))


def startvm_log(h, u):
    try:
        with open(os.path.join(get(h, u)["zonepath"], "root", "tmp", "vm.startvm.log")) as f:
            return f.read()[-3000:]
    except OSError as e:
        return str(e)


def guest_ip(out):
    """The address the guest printed (console.log is JSON lines)."""
    m = re.search(re.escape(IP_MARK) + rb"\S+ ([0-9.]+)", out)
    return m.group(1).decode() if m else None


def links(h):
    cp = subprocess.run(["ip", "-n", h.netns, "-o", "link"], capture_output=True, text=True)
    return sorted(line.split(":")[1].strip().split("@")[0] for line in cp.stdout.splitlines())


@pytest.mark.parametrize("brand,bootrom,ip", [
    ("kvm", None, "198.18.5.10"),
    ("bhyve", "uefi", "198.18.5.11"),
])
def test_boot_dhcp_ping_stop_delete(site, brand, bootrom, ip):
    h, zvol, zone = site
    before, links_before = snapshot(h), links(h)
    payload = {"brand": brand, "autoboot": False, "ram": 256, "vcpus": 1,
               "disks": [{"image_uuid": zvol, "boot": True, "model": "virtio"}],
               "nics": [{"nic_tag": "stub0", "model": "virtio", "ips": [ip + "/24"],
                         "primary": True}]}
    if bootrom:
        payload["bootrom"] = bootrom
    u = create(h, payload)

    r = h.vmadm("start", u, timeout=300)
    assert r.rc == 0, (r, startvm_log(h, u))
    info = h.vmadm("info", u, "accel")
    assert info.rc == 0, info
    acc = info.json()["accel"]
    assert acc["accelerator"] in ("kvm", "tcg") and acc["reason"], acc
    notice = re.findall(r"^Notice: VM %s runs under TCG .*: \S.*$" % u, r.err, re.M)
    assert len(notice) == (1 if acc["accelerator"] == "tcg" else 0), r
    vm = get(h, u)
    assert vm["state"] == "running"
    pid = vm["pid"]

    out = wait_console(h, u, BOOTED)
    out = wait_console(h, u, IP_MARK)
    assert guest_ip(out) == ip, out[-2000:]   # the host's DHCP answer, not a guess

    r = h.run(ZLOGIN, zone, "ping -c 2 -W 3 " + ip, timeout=60)
    assert r.rc == 0, r

    r = h.vmadm("stop", u, timeout=180)
    assert r.rc == 0, r
    assert get(h, u)["state"] == "stopped"
    assert not os.path.exists("/proc/%d" % pid)
    assert links(h) == links_before   # the tap is gone with QEMU

    assert h.vmadm("delete", u).rc == 0
    assert snapshot(h) == before

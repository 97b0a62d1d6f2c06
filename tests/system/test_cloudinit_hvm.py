"""Debian's own cloud-init (22.4, unmodified) in a kvm VM configures itself
from zonehost's metadata (issue 13, docs/architecture.md §22 "The guest
side of the metadata service", docs/hvm-guest-tools.md §4).

The disk is tools/mkimage-hvm-debian's: a stock Debian 12 with systemd,
OpenSSH and cloud-init as Debian ships them, imported as a zvol image.
Nothing tells cloud-init it is on SmartOS but what zonehost presents: the
SMBIOS product "SmartDC HVM" (ds-identify, then the SmartOS data source's
KVM detection) and the metadata service on /dev/ttyS1.

The VM boots once (module fixture) under TCG; the checks read the console,
where cloud-final prints what the user-script prints: the hostname
cloud-init set, root's authorized_keys cloud-init wrote from
root_authorized_keys, and cloud-init's own record of its data source.  The
VM has no NIC (no network is needed); everything is removed at the end.

The boot is slow under TCG (see docs/testing.md "The cloud-init HVM disk"
for figures); ZH_CLOUDINIT_TIMEOUT (default 900 s) bounds the wait.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CMD, TOP, Host, new_netns, new_root
from test_hvm_e2e import console, create, start, wait_console
from test_vmadm_util import get, snapshot

MKIMAGE = os.path.join(TOP, "tools", "mkimage-hvm-debian")
TIMEOUT = float(os.environ.get("ZH_CLOUDINIT_TIMEOUT", "900"))
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJ0NoMjxnGCgaZNISeD4uT5T/cu6EoaUwn1sv5az6Om"
       " zh-test@zonehost")
# What the user-script prints, each line with a ZH-CI prefix.
USER_SCRIPT = """#!/bin/sh
echo "ZH-CI-HOSTNAME $(hostname)"
sed 's/^/ZH-CI-KEY /' /root/.ssh/authorized_keys
echo "ZH-CI-DS $(grep -o '"datasource": "[A-Za-z]*' /run/cloud-init/status.json | cut -d'"' -f4)"
echo "ZH-CI-VERSION $(cloud-init --version 2>&1)"
echo "ZH-CI-DONE"
"""
DONE = b"ZH-CI-DONE"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]


@pytest.fixture(scope="module")
def debian_zvol(tmp_path_factory):
    """(manifest path, file path, manifest) of the cloud-init disk's zvol image."""
    out = tmp_path_factory.mktemp("cidisk")
    t0 = time.monotonic()
    cp = subprocess.run([MKIMAGE, "zvol", str(out)], capture_output=True, text=True)
    assert cp.returncode == 0, "tools/mkimage-hvm-debian zvol failed: %s" % cp.stderr[-3000:]
    print("mkimage-hvm-debian zvol: %.0f s" % (time.monotonic() - t0))
    mp, fp = cp.stdout.split()[:2]
    with open(mp) as f:
        return mp, fp, json.load(f)


@pytest.fixture(scope="module")
def ci_vm(debian_zvol):
    """The kvm VM, booted once to the user-script's last line: (host, uuid, console)."""
    ns = new_netns()
    h = Host(new_root(), netns=ns)
    u = None
    try:
        h.ok(os.path.join(CMD, "imgadm"), "install", "-m", debian_zvol[0], "-f", debian_zvol[1],
             timeout=600)
        before = snapshot(h)
        u = create(h, {
            "brand": "kvm", "autoboot": False, "ram": 512, "vcpus": 1,
            "hostname": "ci-guest0", "alias": "cloudinit",
            "disks": [{"image_uuid": debian_zvol[2]["uuid"], "boot": True, "model": "virtio"}],
            "customer_metadata": {"root_authorized_keys": KEY, "user-script": USER_SCRIPT}})
        t0 = time.monotonic()
        start(h, u)
        out = wait_console(h, u, DONE, timeout=TIMEOUT)
        print("cloud-init VM: vmadm start to the user-script's last line: %.0f s"
              % (time.monotonic() - t0))
        yield h, u, console_text(out)
        h.vmadm("stop", "-F", u)
        assert h.vmadm("delete", u).rc == 0
        u = None
        assert snapshot(h) == before
    finally:
        if u:
            h.vmadm("stop", "-F", u)
            h.vmadm("delete", u)
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        assert not leaked, "test left mounts behind: %r" % leaked


def console_text(log):
    """The guest's console text from console.log (JSON lines with "msg")."""
    msgs = []
    for line in log.decode(errors="replace").splitlines():
        try:
            msgs.append(json.loads(line).get("msg", ""))
        except ValueError:
            msgs.append(line)
    return "\n".join(msgs).replace("\r", "")


def lines(out, prefix):
    return [m.group(1) for m in re.finditer(r"%s (.*)$" % re.escape(prefix), out, re.M)]


def test_cloudinit_smartos_datasource(ci_vm):
    """cloud-init chose the SmartOS data source by itself, and it is 22.4."""
    _, _, out = ci_vm
    assert lines(out, "ZH-CI-DS") == ["DataSourceSmartOS"], out[-3000:]
    assert re.match(r"/usr/bin/cloud-init 22\.4", lines(out, "ZH-CI-VERSION")[0]), out[-3000:]


def test_cloudinit_hostname(ci_vm):
    _, _, out = ci_vm
    assert lines(out, "ZH-CI-HOSTNAME") == ["ci-guest0"], out[-3000:]


def test_cloudinit_root_authorized_keys(ci_vm):
    """The key is in root's authorized_keys (Debian's cloud.cfg has
    disable_root, so cloud-init writes it behind a command= option)."""
    _, _, out = ci_vm
    keys = lines(out, "ZH-CI-KEY")
    assert any(k.endswith(KEY) for k in keys), out[-3000:]


def test_cloudinit_user_script_ran_once_per_boot(ci_vm):
    h, u, out = ci_vm
    assert out.count("ZH-CI-DONE") == 1
    assert get(h, u)["state"] == "running"
    assert console_text(console(h, u)).count("ZH-CI-DONE") == 1

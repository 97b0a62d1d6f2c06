"""A kvm VM without disks through zoneadmd's brand-hvm (docs/architecture.md §7, §22).

`vmadm create` makes a kvm VM with no disks that boots Debian's kernel with
-kernel (qemu_extra_opts; tools/mkimage-hvm-kernel) from <zonepath>/root/boot,
the jail's root.  Then: vmadm start with a start-time cdrom (order=cd,once=d
cdrom=...), the marker in console.log, vmadm info block, QEMU's jail from
/proc, vmadm stop (ACPI powerdown over QMP).  The disk-booted VMs are
test_hvm_e2e.py's.
"""
import json
import os
import shutil
import time

import pytest

from leaks import mdatad_pids
from test_vmadm_util import get

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]


def make_kvm(h, img, kernel):
    r = h.vmadm("create", input=json.dumps({
        "brand": "kvm", "autoboot": False, "ram": 256, "vcpus": 1, "disks": [],
        "qemu_extra_opts": "-kernel /boot/vmlinuz -initrd /boot/initrd.img "
                           "-append console=ttyS0"}))
    assert r.rc == 0, r
    u = r.err.split()[-1]
    cfg = get(h, u)
    zp = cfg["zonepath"]
    os.makedirs(os.path.join(zp, "root", "boot"), exist_ok=True)
    for n in ("vmlinuz", "initrd.img"):
        shutil.copy(os.path.join(kernel, n), os.path.join(zp, "root", "boot", n))
    return u, zp, cfg


def wait_file_has(path, want, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and want in open(path, errors="replace").read():
            return True
        time.sleep(0.2)
    return False


def test_kvm_boot_info_stop(imghost, hvm_kernel):
    h, img = imghost
    u, zp, cfg = make_kvm(h, img, hvm_kernel)
    r = h.vmadm("start", u, "order=cd,once=d", "cdrom=/boot/initrd.img,ide")
    log = os.path.join(zp, "root", "tmp", "vm.startvm.log")
    assert r.rc == 0, (r, open(log).read() if os.path.exists(log) else "")
    vm = get(h, u)
    assert vm["state"] == "running"
    pid = vm["pid"]
    assert wait_file_has(os.path.join(zp, "logs", "console.log"), "ZONEHOST-HVM-BOOTED")
    st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
    assert st["Uid"].split() == [str(cfg["zonehost_id_base"] + 1000)] * 4
    assert st["Seccomp"].strip() == "2" and int(st["CapBnd"], 16) == 0
    assert os.readlink(f"/proc/{pid}/exe").endswith("qemu-system-x86_64")
    with open(f"/proc/{pid}/cgroup") as f:
        assert u in f.read()
    # the metadata server (docs/architecture.md §23) holds QEMU's second serial port
    assert wait_file_has(os.path.join(zp, "logs", "zoneadmd.log"), "metadata: serial attached",
                         30)
    md = mdatad_pids([u])
    assert len(md) == 1, md
    st = dict(l.split(":", 1) for l in open(f"/proc/{md[0]}/status"))
    assert st["Uid"].split() == [str(cfg["zonehost_id_base"] + 1000)] * 4
    assert st["Seccomp"].strip() == "2" and int(st["CapBnd"], 16) == 0
    r = h.vmadm("info", u, "status")
    assert r.rc == 0, r
    assert r.json()["status"]["status"] == "running"
    r = h.vmadm("info", u, "block")
    assert r.rc == 0, r
    cd = [b for b in r.json()["block"] if b.get("device") == "cdrom0"]
    assert cd and cd[0]["inserted"]["ro"], r.out
    assert cd[0]["inserted"]["file"] == "/vm/cdrom0"
    r = h.vmadm("stop", u)
    assert r.rc == 0, r
    assert get(h, u)["state"] == "stopped"
    assert not os.path.exists(f"/proc/{pid}")
    assert mdatad_pids([u]) == []
    assert wait_file_has(os.path.join(zp, "logs", "console.log"), "ZONEHOST-HVM-POWEROFF", 5)

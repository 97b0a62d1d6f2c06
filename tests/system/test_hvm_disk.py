"""The HVM test disk (tools/mkimage-hvm) booted by bare QEMU under TCG, with
SeaBIOS and with OVMF: the baseline the hvm brand is measured against
(docs/testing.md "The HVM test disk").

Each firmware boots one guest, shared by the tests of that firmware (a TCG
boot takes tens of seconds): it prints its marker, takes its address from
a busybox udhcpd on a bridge in the test's own network namespace
(198.18.77.0/24), answers ping from there, and powers off on the ACPI power
button (QMP system_powerdown).  The guest's NIC is virtio-net under SeaBIOS
and e1000 under OVMF, so both drivers of the initramfs are used.
The netns, the taps, udhcpd, QEMU and its files are removed even on failure.
"""
import gzip
import hashlib
import os
import subprocess

import pytest

from hvm import BareQemu, Net

pytestmark = pytest.mark.slow

NICS = {"bios": "virtio-net-pci", "uefi": "e1000"}


@pytest.fixture(scope="module", params=["bios", "uefi"])
def guest(request, hvm_disk, tmp_path_factory):
    net = Net(str(tmp_path_factory.mktemp("hvmnet")))
    vm = None
    try:
        vm = BareQemu(hvm_disk, bootrom=request.param, nic=NICS[request.param], net=net).start()
        yield vm, net
    finally:
        if vm is not None:
            vm.close()
        net.close()
        assert subprocess.run(["ip", "netns", "pids", net.ns], capture_output=True).returncode != 0


def test_boot_marker(guest):
    vm, _ = guest
    vm.wait_for(b"ZONEHOST-HVM-BOOTED")


def test_dhcp_and_ping(guest):
    vm, net = guest
    leases = vm.leases()
    assert list(leases) == ["eth0"], leases
    addr = leases["eth0"]
    assert addr.startswith(net.prefix), leases
    r = net.ping(addr)
    assert r.returncode == 0, r.stdout + r.stderr


def test_powerdown_ends_qemu(guest):
    vm, _ = guest
    vm.wait_for(b"ZONEHOST-HVM-BOOTED")
    took = vm.powerdown()
    assert took is not None, "QEMU still running after system_powerdown:\n%s" % vm.output()[-2000:]
    assert vm.proc.returncode == 0, vm.stderr()
    assert b"ZONEHOST-HVM-POWEROFF" in vm.output()


def test_zvol_image(hvm_disk, hvm_zvol_image):
    """The zvol image is the disk, compressed, with a manifest that says so."""
    manifest_path, file_path, m = hvm_zvol_image
    assert m["v"] == 2 and m["type"] == "zvol" and m["os"] == "linux"
    f = m["files"][0]
    assert f["compression"] == "gzip"
    assert f["size"] == os.path.getsize(file_path)
    with open(file_path, "rb") as fp:
        assert f["sha1"] == hashlib.sha1(fp.read()).hexdigest()
    with gzip.open(file_path, "rb") as fp, open(hvm_disk, "rb") as disk:
        raw = fp.read()
        assert raw == disk.read()
    assert m["image_size"] * 1024 * 1024 == len(raw)


def test_mkimage_hvm_bad_input(tmp_path):
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tool = os.path.join(top, "tools", "mkimage-hvm")
    for args, word in ((["zvol", str(tmp_path), "--compression", "lz4"], "--compression"),
                       (["zvol", str(tmp_path), "--uuid", "nope"], "--uuid")):
        r = subprocess.run([tool] + args, capture_output=True, text=True)
        assert r.returncode == 1 and word in r.stderr, r
    assert os.listdir(tmp_path) == []

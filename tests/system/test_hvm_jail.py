"""QEMU in its jail, without zoneadmd (docs/architecture.md §22).

Drives tests/helpers/hvm-run, which builds QEMU's argv from a VM config
(qemu_argv_build) and starts it through hvm_jail_spawn in a zonehost cgroup.
The guest is Debian's kernel with a busybox initramfs made by
tools/mkimage-hvm-kernel (booted with -kernel through qemu_extra_opts):
it prints ZONEHOST-HVM-BOOTED on serial 0 (vm.console) and powers off on
the ACPI power button (QMP system_powerdown).  Under TCG.
"""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BUILD, new_uuid

RUN = os.path.join(BUILD, "tests", "helpers", "hvm-run")
UID = 1000 + 7_000_000  # an id range no zone of the other tests uses

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]


@pytest.fixture
def vm(hvm_kernel, tmp_path):
    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True)
    (root / "tmp").mkdir()
    os.chmod(tmp_path, 0o755)
    for f in ("vmlinuz", "initrd.img"):
        shutil.copy(os.path.join(hvm_kernel, f), root / "boot" / f)
    os.chown(root / "tmp", UID, UID)
    uuid = new_uuid()
    cfg = {"uuid": uuid, "brand": "kvm", "ram": 256, "vcpus": 1,
           "max_physical_memory": 256 + 1024, "max_lwps": 2000,
           "qemu_extra_opts": "-kernel /boot/vmlinuz -initrd /boot/initrd.img "
                              "-append console=ttyS0"}
    (tmp_path / "vm.json").write_text(json.dumps(cfg))
    p = subprocess.Popen([RUN, str(tmp_path / "vm.json"), str(root), str(UID), "--cgroup"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("pid="):
        p.wait(10)
        pytest.fail("hvm-run: " + line + p.stderr.read())
    end = time.time() + 30
    while not (root / "tmp" / "vm.qmp").exists() and time.time() < end and p.poll() is None:
        time.sleep(0.05)
    yield {"uuid": uuid, "root": root, "pid": int(line[4:]), "proc": p}
    if p.poll() is None:
        subprocess.run([RUN, "--qmp", str(root / "tmp" / "vm.qmp"), "quit"], timeout=10)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(int(line[4:]), 9)
            p.wait(10)


def read_console(path, want, timeout=60):
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    s.settimeout(2)
    buf, end = b"", time.time() + timeout
    while want not in buf and time.time() < end:
        try:
            b = s.recv(4096)
        except socket.timeout:
            continue
        if not b:
            break
        buf += b
    s.close()
    return buf


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            k, _, v = l.partition(":")
            out[k] = v.strip()
    return out


def test_boot_marker_jail_and_powerdown(vm):
    root, pid, p = vm["root"], vm["pid"], vm["proc"]
    st = status(pid)
    assert st["Uid"].split() == [str(UID)] * 4
    assert st["Gid"].split() == [str(UID)] * 4
    assert st["Groups"] == ""
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert int(st["CapBnd"], 16) == 0
    assert st["Seccomp"] == "2"
    assert st["NoNewPrivs"] == "1"
    for ns in ("mnt", "pid", "ipc", "uts", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}"), ns
    with open(f"/proc/{pid}/cgroup") as f:
        assert f"/zonehost/{vm['uuid']}" in f.read()
    # fds: stdio and QEMU's own; nothing of the helper's
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        assert not target.endswith("vm.json")
    # the jail's file system: no host /etc, /usr read-only
    assert not os.path.exists(f"/proc/{pid}/root/etc/shadow")
    assert os.path.exists(f"/proc/{pid}/root/dev/null")
    assert not os.path.exists(f"/proc/{pid}/root/dev/kvm")
    out = read_console(root / "tmp" / "vm.console", b"ZONEHOST-HVM-BOOTED")
    assert b"ZONEHOST-HVM-BOOTED" in out, out[-500:]
    cp = subprocess.run([RUN, "--qmp", str(root / "tmp" / "vm.qmp"), "system_powerdown"],
                        capture_output=True, text=True, timeout=20)
    assert cp.returncode == 0 and cp.stdout.strip() == "{}", cp.stderr
    rest = p.communicate(timeout=60)[0]
    assert "exit=0" in rest


def test_qmp_error_is_reported(vm):
    cp = subprocess.run([RUN, "--qmp", str(vm["root"] / "tmp" / "vm.qmp"), "no-such-command"],
                        capture_output=True, text=True, timeout=20)
    assert cp.returncode == 1 and "QMP no-such-command" in cp.stderr

"""The HVM test disk and bare QEMU, shared by the system tests and bench/hvm
(docs/testing.md "The HVM test disk").

hvm_disk / hvm_zvol_image are session fixtures: tools/mkimage-hvm builds
(or finds in its cache) the disk once per run.  BareQemu boots that disk
with the options the hvm brand uses (q35, SeaBIOS or OVMF, -nodefaults,
virtio-blk, a tap NIC, QMP), without zonehost: the baseline of bench/hvm
and of tests/system/test_hvm_disk.py.  Everything it makes is in one
temporary directory and one network namespace, removed by close().
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid as uuidlib

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MKIMAGE = os.path.join(TOP, "tools", "mkimage-hvm")
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
BOOTED = b"ZONEHOST-HVM-BOOTED"
IP_MARK = b"ZONEHOST-HVM-IP "
# TCG on a busy 2-core machine: OVMF alone takes tens of seconds.
BOOT_TIMEOUT = float(os.environ.get("ZH_HVM_BOOT_TIMEOUT", "240"))


def build_disk():
    cp = subprocess.run([MKIMAGE, "disk"], capture_output=True, text=True)
    assert cp.returncode == 0, "tools/mkimage-hvm disk failed: %s" % cp.stderr[-2000:]
    return cp.stdout.split()[-1]


def build_zvol(outdir, compression="gzip"):
    cp = subprocess.run([MKIMAGE, "zvol", str(outdir), "--compression", compression],
                        capture_output=True, text=True)
    assert cp.returncode == 0, "tools/mkimage-hvm zvol failed: %s" % cp.stderr[-2000:]
    manifest_path, file_path = cp.stdout.split()[:2]
    with open(manifest_path) as f:
        return manifest_path, file_path, json.load(f)


@pytest.fixture(scope="session")
def hvm_disk():
    """Path of the raw test disk (cached, read-only: boot with snapshot=on)."""
    return build_disk()


@pytest.fixture(scope="session")
def hvm_kernel():
    """Directory with Debian's vmlinuz and a busybox initrd.img (tools/mkimage-hvm-kernel),
    for the VMs booted with -kernel."""
    cp = subprocess.run([os.path.join(TOP, "tools", "mkimage-hvm-kernel")],
                        capture_output=True, text=True, timeout=600)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout.strip()


def prebuilt_zvol(d):
    """(manifest_path, file_path, manifest) of the zvol image in d (tools/testbed's)."""
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            mp = os.path.join(d, n)
            with open(mp) as f:
                m = json.load(f)
            files = [x for x in os.listdir(d) if ".zvol." in x]
            assert len(files) == 1, files
            return mp, os.path.join(d, files[0]), m
    raise AssertionError("no zvol image manifest in %s" % d)


@pytest.fixture(scope="session")
def hvm_zvol_image(tmp_path_factory):
    """(manifest_path, file_path, manifest) of the test disk as a zvol image;
    $ZH_HVM_IMAGE_DIR names a prebuilt one (the test bed's guest, which has
    no kernel package to build it from)."""
    d = os.environ.get("ZH_HVM_IMAGE_DIR")
    if d and os.path.isdir(d):
        return prebuilt_zvol(d)
    return build_zvol(tmp_path_factory.mktemp("hvmimg"))


class Net:
    """A network namespace with a bridge (198.18.N.1/24), taps on it and a
    busybox udhcpd serving 198.18.N.100-.120 on the bridge."""

    def __init__(self, workdir, subnet=77):
        self.ns = "zh-hvm-%s" % uuidlib.uuid4().hex[:8]
        self.prefix = "198.18.%d." % subnet
        self.gw = self.prefix + "1"
        self.udhcpd = None
        self.taps = 0
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", "br0", "type", "bridge")
        self.ip("addr", "add", self.gw + "/24", "dev", "br0")
        self.ip("link", "set", "br0", "up")
        conf = os.path.join(workdir, "udhcpd.conf")
        with open(conf, "w") as f:
            f.write("start %s100\nend %s120\ninterface br0\n"
                    "lease_file %s\npidfile %s\nopt subnet 255.255.255.0\nopt router %s\n"
                    % (self.prefix, self.prefix, os.path.join(workdir, "udhcpd.leases"),
                       os.path.join(workdir, "udhcpd.pid"), self.gw))
        open(os.path.join(workdir, "udhcpd.leases"), "w").close()
        self.udhcpd = subprocess.Popen(["ip", "netns", "exec", self.ns, "busybox", "udhcpd", "-f", conf],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.ns] + list(args), check=True, capture_output=True)

    def tap(self):
        name = "tap%d" % self.taps
        self.taps += 1
        self.ip("tuntap", "add", "dev", name, "mode", "tap")
        self.ip("link", "set", name, "master", "br0", "up")
        return name

    def ping(self, addr, count=3):
        return subprocess.run(["ip", "netns", "exec", self.ns, "busybox", "ping", "-c", str(count), "-W", "2", addr],
                              capture_output=True, text=True)

    def close(self):
        if self.udhcpd:
            self.udhcpd.kill()
            self.udhcpd.wait()
            self.udhcpd = None
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


class BareQemu:
    """QEMU booting the test disk directly (no zonehost), TCG by default.

    bootrom: "bios" (SeaBIOS) or "uefi" (OVMF); nic: a QEMU NIC model
    (virtio-net-pci, e1000...) or None; net: a Net for the tap, or None."""

    def __init__(self, disk, bootrom="bios", nic="virtio-net-pci", net=None,
                 accel="tcg", mem=256):
        self.work = tempfile.mkdtemp(prefix="zh-hvm-", dir="/var/tmp")
        self.console = os.path.join(self.work, "console")
        self.qmp_path = os.path.join(self.work, "qmp")
        self.proc = None
        self.t0 = None
        argv = [QEMU, "-accel", accel, "-machine", "q35", "-m", str(mem), "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
                "-serial", "file:" + self.console,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-drive", "file=%s,if=none,id=disk0,format=raw,snapshot=on" % disk,
                "-device", "virtio-blk-pci,drive=disk0,bootindex=0"]
        if bootrom == "uefi":
            vars_copy = os.path.join(self.work, "OVMF_VARS.fd")
            shutil.copyfile(OVMF_VARS, vars_copy)
            argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
                     "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]
        elif bootrom != "bios":
            raise ValueError("bootrom must be bios or uefi")
        if nic:
            if net is None:
                raise ValueError("a NIC needs a Net")
            tap = net.tap()
            argv += ["-netdev", "tap,id=net0,ifname=%s,script=no,downscript=no" % tap,
                     "-device", "%s,netdev=net0,mac=52:54:00:12:34:56,romfile=" % nic]
        if net is not None:
            argv = ["ip", "netns", "exec", net.ns] + argv
        self.argv = argv

    def start(self):
        open(self.console, "w").close()
        self.t0 = time.perf_counter()
        # `ip netns exec` execs QEMU: the PID is QEMU's.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.work, "stderr"), "w"))
        return self

    def output(self):
        with open(self.console, "rb") as f:
            return f.read()

    def wait_for(self, marker, timeout=BOOT_TIMEOUT):
        """Seconds from start until `marker` (bytes) is on the console."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if marker in self.output():
                return time.perf_counter() - self.t0
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no %r on the console (QEMU %s); console tail:\n%s\nstderr:\n%s" % (
            marker, "exited %s" % self.proc.returncode if self.proc.poll() is not None else "running",
            self.output()[-3000:].decode(errors="replace"), self.stderr()))

    def stderr(self):
        with open(os.path.join(self.work, "stderr")) as f:
            return f.read()[-2000:]

    def leases(self, timeout=BOOT_TIMEOUT):
        """Wait for a ZONEHOST-HVM-IP line; return {ifname: address}."""
        self.wait_for(IP_MARK, timeout)
        out = {}
        for line in self.output().splitlines():
            i = line.find(IP_MARK)
            if i >= 0:
                f = line[i:].decode(errors="replace").split()
                if len(f) >= 3:
                    out[f[1]] = f[2]
        return out

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def qmp(self, command, timeout=10):
        """Run one QMP command; return its answer (events skipped)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.qmp_path)
        f = s.makefile("rw")
        try:
            json.loads(f.readline())  # greeting
            for cmd in ("qmp_capabilities", command):
                f.write(json.dumps({"execute": cmd}) + "\n")
                f.flush()
                while True:
                    msg = json.loads(f.readline())
                    if "event" not in msg:
                        break
            return msg
        finally:
            f.close()
            s.close()

    def powerdown(self, timeout=120):
        """ACPI power button over QMP; seconds until QEMU exits, or None."""
        t0 = time.perf_counter()
        self.qmp("system_powerdown")
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return time.perf_counter() - t0

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)

"""Hardware VMs end to end (issue 12): a kvm VM (SeaBIOS) and a bhyve VM
(OVMF) made by `vmadm create` from an imported zvol image, booted under TCG
by zoneadmd's brand-hvm, given their static address by the host-side DHCP
responder and pinged from a zone on the same nic tag (docs/architecture.md
§5, §12, §22).

The kvm VM boots once (module fixture) and the checks share it, in file
order: the jail seen from /proc, vmadm info, sysrq, console attach and
detach, spoofed IP and MAC from inside the guest dropped, the kvm snapshot refusal, reboot, stop -F and start, kill -9 of
zoneadmd.  The bhyve VM: boot, a snapshot while it runs, ACPI stop,
rollback, delete.  Each VM is deleted with nothing left.

Every zonehost command runs inside the test's own network namespace
(conftest's Host with netns), so the etherstub, the zone's veth and the
VMs' taps never reach the host's.  Addresses: 198.18.5.0/24 only.
"""
import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import CMD, Host, new_netns, new_root
from hvm import BOOT_TIMEOUT, BOOTED, IP_MARK
from test_lifecycle import Console, cgroup_dirs, pidns, procs_in_pidns, run_dir, zoneadmds
from test_vmadm_util import get, snapshot, wait_for

ZLOGIN = os.path.join(CMD, "zlogin")
ZONE_IP = "198.18.5.2"
KVM_IP = "198.18.5.10"
BHYVE_IP = "198.18.5.11"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists("/usr/bin/qemu-system-x86_64"),
                       reason="qemu-system-x86 is not installed"),
]


# ---- helpers ----

def create(h, payload):
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 0, r
    return re.search(r"Successfully created VM (\S+)", r.err).group(1)


def hvm_payload(brand, zvol, ip, **extra):
    p = {"brand": brand, "autoboot": False, "ram": 256, "vcpus": 1,
         "disks": [{"image_uuid": zvol, "boot": True, "model": "virtio"}],
         "nics": [{"nic_tag": "stub0", "model": "virtio", "ips": [ip + "/24"],
                   "primary": True}]}
    p.update(extra)
    return p


def console(h, u):
    path = os.path.join(get(h, u)["zonepath"], "logs", "console.log")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def wait_console(h, u, marker, count=1, timeout=BOOT_TIMEOUT):
    """Wait until marker is on the console log count times; return the log."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = console(h, u)
        if out.count(marker) >= count:
            return out
        time.sleep(0.5)
    raise AssertionError("no %r (x%d) on %s's console; tail:\n%s" % (
        marker, count, u, console(h, u)[-3000:].decode(errors="replace")))


def startvm_log(h, u):
    try:
        with open(os.path.join(get(h, u)["zonepath"], "root", "tmp", "vm.startvm.log")) as f:
            return f.read()[-3000:]
    except OSError as e:
        return str(e)


def guest_ip(out):
    """The last address the guest printed (console.log is JSON lines)."""
    m = re.findall(re.escape(IP_MARK) + rb"\S+ ([0-9.]+)", out)
    return m[-1].decode() if m else None


def links(h):
    cp = subprocess.run(["ip", "-n", h.netns, "-o", "link"], capture_output=True, text=True)
    return sorted(line.split(":")[1].strip().split("@")[0] for line in cp.stdout.splitlines())


def start(h, u):
    """vmadm start; checks the TCG notice against `vmadm info accel`."""
    r = h.vmadm("start", u, timeout=300)
    assert r.rc == 0, (r, startvm_log(h, u))
    info = h.vmadm("info", u, "accel")
    assert info.rc == 0, info
    acc = info.json()["accel"]
    assert acc["accelerator"] in ("kvm", "tcg") and acc["reason"], acc
    notice = re.findall(r"^Notice: VM %s runs under TCG .*: \S.*$" % u, r.err, re.M)
    assert len(notice) == (1 if acc["accelerator"] == "tcg" else 0), r
    return get(h, u)


def boot_and_ping(h, u, zone, ip, boots=1):
    out = wait_console(h, u, BOOTED, boots)
    out = wait_console(h, u, IP_MARK, boots)
    assert guest_ip(out) == ip, out[-2000:]  # the host's DHCP answer, not a guess
    r = h.run(ZLOGIN, zone, "ping -c 2 -W 3 " + ip, timeout=60)
    assert r.rc == 0, r


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def no_leftovers(h, u, qemu_pid, links_before):
    """QEMU, its PID namespace, zoneadmd, the taps and the cgroups all gone."""
    assert wait_for(lambda: not os.path.exists("/proc/%d" % qemu_pid), 30)
    assert wait_for(lambda: not zoneadmds(u), 30), zoneadmds(u)
    assert wait_for(lambda: links(h) == links_before, 30), links(h)
    assert wait_for(lambda: cgroup_dirs(u) == [], 30), cgroup_dirs(u)


# ---- fixtures ----

@pytest.fixture(scope="module")
def site(busybox_image, hvm_zvol_image):
    """(host, zvol image uuid, zone uuid, links, snapshot): a host in its own
    netns with the etherstub stub0 and a running zone at ZONE_IP."""
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
        yield h, hvm_zvol_image[2]["uuid"], zone, links(h), snapshot(h)
    finally:
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert not leaked, "test left mounts behind: %r" % leaked


@pytest.fixture(scope="module")
def kvm(site):
    """The kvm VM, booted once: (host, uuid, zone)."""
    h, zvol, zone, links_before, before = site
    u = create(h, hvm_payload("kvm", zvol, KVM_IP))
    yield h, u, zone
    h.vmadm("stop", "-F", u)
    assert h.vmadm("delete", u).rc == 0
    assert links(h) == links_before
    assert snapshot(h) == before


# ---- the kvm VM ----

def test_kvm_boot_dhcp_ping(kvm):
    h, u, zone = kvm
    vm = start(h, u)
    assert vm["state"] == "running"
    boot_and_ping(h, u, zone, KVM_IP)


def test_kvm_jail_from_proc(kvm):
    """QEMU: the VM's uid, namespaces of its own, seccomp, no capabilities,
    no_new_privs, the VM's cgroup with memory = max_physical_memory."""
    h, u, _ = kvm
    vm = get(h, u)
    pid = vm["pid"]
    assert os.readlink("/proc/%d/exe" % pid).endswith("qemu-system-x86_64")
    st = proc_status(pid)
    qemu_id = str(vm["zonehost_id_base"] + 1000)
    assert st["Uid"].split() == [qemu_id] * 4 and st["Gid"].split() == [qemu_id] * 4
    assert st["Groups"].strip() == ""
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    for ns in ("mnt", "pid", "ipc", "uts", "net"):
        mine = os.readlink("/proc/%d/ns/%s" % (pid, ns))
        assert mine != os.readlink("/proc/self/ns/%s" % ns), ns
    assert os.stat("/proc/%d/ns/net" % pid).st_ino != os.stat("/run/netns/" + h.netns).st_ino
    with open("/proc/%d/cgroup" % pid) as f:
        groups = f.read()
    assert u in groups, groups
    v1 = "/sys/fs/cgroup/memory/zonehost/%s/memory.limit_in_bytes" % u
    v2 = "/sys/fs/cgroup/zonehost/%s/memory.max" % u
    path = v1 if os.path.exists(v1) else v2
    if os.path.exists(path):
        with open(path) as f:
            assert int(f.read()) == vm["max_physical_memory"] << 20
    # its root: the disk, its sockets, no host tree
    root = "/proc/%d/root" % pid
    assert sorted(os.listdir(root + "/vm")) == ["disk0"]
    assert not os.path.exists(root + "/etc/shadow")
    assert not os.path.exists(root + "/zones")


def test_kvm_info(kvm):
    h, u, _ = kvm
    r = h.vmadm("info", u)
    assert r.rc == 0, r
    info = r.json()
    for t in ("block", "blockstats", "chardev", "cpus", "kvm", "pci", "status", "version",
              "vnc", "accel"):
        assert t in info, t
    assert info["status"]["status"] == "running"
    assert info["vnc"]["unix"].endswith("/root/tmp/vm.vnc")
    disk = [b for b in info["block"] if b.get("inserted", {}).get("file") == "/vm/disk0"]
    assert disk, info["block"]
    r = h.vmadm("info", u, "status,nope")
    assert r.rc == 1 and r.err.startswith("Unable to get VM info for VM %s: " % u), r


def test_kvm_sysrq(kvm):
    h, u, _ = kvm
    r = h.vmadm("sysrq", u, "nmi")
    assert r.rc == 0, r
    ppm = os.path.join(get(h, u)["zonepath"], "root", "tmp", "vm.ppm")
    r = h.vmadm("sysrq", u, "screenshot")
    assert r.rc == 0, r
    with open(ppm, "rb") as f:
        assert f.read(2) == b"P6"
    r = h.vmadm("sysrq", u, "reboot")
    assert r.rc == 2 and "Invalid sysrq type: reboot" in r.err, r


def test_kvm_console_attach_detach(kvm):
    h, u, _ = kvm
    c = Console(h, u)
    c.send("hello-console\n")
    c.expect("ZONEHOST-HVM-ECHO hello-console", timeout=60)
    rc, err = c.detach()
    assert rc == 0, err
    # again: a second attach works and the guest is still there
    c = Console(h, u)
    c.send("second\n")
    c.expect("ZONEHOST-HVM-ECHO second", timeout=60)
    assert c.detach()[0] == 0
    assert get(h, u)["state"] == "running"
    assert b"ZONEHOST-HVM-ECHO hello-console" in console(h, u)


def guest_run(h, u, cmd, timeout=120):
    """Run cmd in the guest through its console (the test init's ZH-RUN); its status."""
    c = Console(h, u)
    tag = "t%d" % time.monotonic_ns()
    c.send("ZH-RUN echo %s; %s\n" % (tag, cmd))
    rc = re.compile(r"ZONEHOST-HVM-RC (\d+)\s")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = c.buf.decode(errors="replace")
        m = rc.search(text, text.find(tag)) if tag in text else None
        if m:
            break
        r, _, _ = select.select([c.p.stdout], [], [], 0.2)
        if r:
            c.buf += os.read(c.p.stdout.fileno(), 4096)
    assert m, "no status from the guest for %r:\n%s" % (cmd, c.buf[-2000:])
    assert c.detach()[0] == 0
    return int(m.group(1))


def test_kvm_spoofing_dropped(kvm):
    """From inside the real guest: another source IP, then another MAC, reach
    nothing (the zone's ping never answers); its own address and MAC do."""
    h, u, _ = kvm
    mac = get(h, u)["nics"][0]["mac"]
    assert guest_run(h, u, "ping -c 1 -W 3 %s" % ZONE_IP) == 0
    assert guest_run(h, u, "ip addr add 198.18.5.99/24 dev eth0 && "
                           "ping -c 2 -W 2 -I 198.18.5.99 %s" % ZONE_IP) != 0
    assert guest_run(h, u, "ip addr del 198.18.5.99/24 dev eth0") == 0
    spoof = "ip link set eth0 address 02:00:00:00:00:99 && ping -c 2 -W 2 %s" % ZONE_IP
    assert guest_run(h, u, spoof) != 0
    assert guest_run(h, u, "ip link set eth0 address %s && ping -c 1 -W 3 %s"
                     % (mac, ZONE_IP)) == 0


def test_kvm_snapshot_refused(kvm):
    h, u, _ = kvm
    r = h.vmadm("create-snapshot", u, "s1")
    assert r.rc == 1 and r.err == "snapshots for kvm VMs currently unsupported\n", r
    assert get(h, u)["snapshots"] == []


def test_kvm_reboot(kvm):
    h, u, zone = kvm
    old = get(h, u)["pid"]
    r = h.vmadm("reboot", u, timeout=180)
    assert r.rc == 0, r
    vm = get(h, u)
    assert vm["state"] == "running" and vm["pid"] != old
    assert not os.path.exists("/proc/%d" % old)
    boot_and_ping(h, u, zone, KVM_IP, boots=2)


def test_kvm_stop_force_and_start(kvm, site):
    h, u, zone = kvm
    links_before = site[3]
    pid = get(h, u)["pid"]
    t0 = time.monotonic()
    r = h.vmadm("stop", "-F", u)
    assert r.rc == 0, r
    assert time.monotonic() - t0 < 20  # forced: no ACPI wait
    assert get(h, u)["state"] == "stopped"
    no_leftovers(h, u, pid, links_before)
    boots = console(h, u).count(BOOTED)
    start(h, u)
    boot_and_ping(h, u, zone, KVM_IP, boots=boots + 1)


def test_kvm_kill9_zoneadmd(kvm, site):
    h, u, zone = kvm
    links_before = site[3]
    vm = get(h, u)
    ns = pidns(vm["pid"])
    with open(os.path.join(run_dir(h, u), "state.json")) as f:
        zpid = json.load(f)["zoneadmd_pid"]
    os.kill(zpid, signal.SIGKILL)
    assert wait_for(lambda: get(h, u)["state"] == "stopped", 60)
    assert wait_for(lambda: not procs_in_pidns(ns), 30), procs_in_pidns(ns)
    no_leftovers(h, u, vm["pid"], links_before)
    r = h.run(ZLOGIN, zone, "ping -c 1 -W 1 " + KVM_IP, timeout=30)
    assert r.rc != 0  # the guest is gone


def test_kvm_stop_acpi(kvm, site):
    """Start again and stop by ACPI powerdown: the guest's own poweroff."""
    h, u, zone = kvm
    boots = console(h, u).count(BOOTED)
    start(h, u)
    wait_console(h, u, BOOTED, boots + 1)
    pid = get(h, u)["pid"]
    r = h.vmadm("stop", u, timeout=180)
    assert r.rc == 0, r
    assert get(h, u)["state"] == "stopped"
    assert b"ZONEHOST-HVM-POWEROFF" in console(h, u)
    no_leftovers(h, u, pid, site[3])


# ---- the bhyve VM (OVMF) ----

def test_bhyve_uefi_snapshot_running_stop_rollback_delete(site):
    h, zvol, zone, _, _ = site
    links_before, before = links(h), snapshot(h)
    u = create(h, hvm_payload("bhyve", zvol, BHYVE_IP, bootrom="uefi",
                              flexible_disk_size=64))
    try:
        start(h, u)
        boot_and_ping(h, u, zone, BHYVE_IP)
        # bhyve: a snapshot of a running VM is taken (crash-consistent disk)
        r = h.vmadm("create-snapshot", u, "live")
        assert r.rc == 0, r
        assert [s["name"] for s in get(h, u)["snapshots"]] == ["live"]
        pid = get(h, u)["pid"]
        r = h.vmadm("stop", u, timeout=180)
        assert r.rc == 0, r
        assert b"ZONEHOST-HVM-POWEROFF" in console(h, u)
        no_leftovers(h, u, pid, links_before)
        disk0 = os.path.join(get(h, u)["zonepath"], "disk0")
        with open(disk0, "r+b") as f:
            f.seek(0)
            f.write(b"\0" * 512)  # the boot sector gone...
        r = h.vmadm("rollback-snapshot", u, "live")
        assert r.rc == 0, r
        with open(disk0, "rb") as f:
            assert f.read(512) != b"\0" * 512  # ...and back
        assert get(h, u)["state"] == "stopped"
    finally:
        h.vmadm("stop", "-F", u)
        assert h.vmadm("delete", u).rc == 0
    assert links(h) == links_before
    assert snapshot(h) == before

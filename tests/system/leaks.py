"""Counting what one zonehost host has made on the machine (no tests here).

Used by test_crash.py and test_churn.py (and bench/churn): census(h, uuids)
returns a dict of counts of every kind of host object that zonehost makes
for the VMs of host h (docs/testing.md "Crash consistency").  Everything is
found by what belongs to h: its ZONEHOST_ROOT (processes, mounts, pool,
run directory), its network namespace (veths, nft), and the uuids it used
(cgroups).  Other tests running at the same time do not change the counts.
"""
import glob
import os
import re
import subprocess

CGROUP = "/sys/fs/cgroup"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _out(argv):
    cp = subprocess.run(argv, capture_output=True, text=True)
    return cp.stdout if cp.returncode == 0 else ""


def _ns(h, argv):
    return (["ip", "netns", "exec", h.netns] + argv) if h.netns else argv


def zoneadmd_pids(h):
    """zoneadmd processes (and their sentinels) started by host h."""
    want = ("ZONEHOST_ROOT=" + h.root).encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv0 = f.read().split(b"\0")[0]
            if not argv0.endswith(b"zoneadmd"):
                continue
            with open("/proc/%s/environ" % d, "rb") as f:
                if want in f.read().split(b"\0"):
                    out.append(int(d))
        except OSError:
            pass
    return out


def mdatad_pids(uuids):
    """Metadata servers (mdatad, docs/architecture.md §23) of the VMs in uuids:
    found by their cgroup (they carry no environment to tell their host by)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if f.read().split(b"\0")[0] != b"mdatad":
                    continue
            with open("/proc/%s/cgroup" % d) as f:
                cg = f.read()
            if any(u in cg for u in uuids):
                out.append(int(d))
        except OSError:
            pass
    return out


def pool_mount(h):
    return os.path.join(h.root, "zones")


def pool_files(h):
    return glob.glob(os.path.join(h.root, "**", "*.img"), recursive=True)


def subvolumes(h):
    mnt = pool_mount(h)
    if not os.path.ismount(mnt):
        return []
    out = _out(["btrfs", "subvolume", "list", "-o", mnt])
    return sorted(l.split()[-1] for l in out.splitlines())


def qgroups(h):
    """Level-0 qgroups of the pool (btrfs keeps one per subvolume)."""
    mnt = pool_mount(h)
    if not os.path.ismount(mnt):
        return []
    out = _out(["btrfs", "qgroup", "show", "--raw", mnt])
    return [l.split()[0] for l in out.splitlines() if re.match(r"^0/\d+\s", l)]


def _pending(h):
    """ids ("0/N") of deleted subvolumes the btrfs cleaner has not dropped yet."""
    out = _out(["btrfs", "subvolume", "list", "-d", pool_mount(h)])
    return {"0/" + l.split()[1] for l in out.splitlines()}


def live_qgroups(h):
    """Level-0 qgroups but those of subvolumes being dropped (the kernel removes them)."""
    if not os.path.ismount(pool_mount(h)):
        return []
    pend = _pending(h)
    return [q for q in qgroups(h) if q not in pend]


def stale_qgroups(h):
    """Level-0 qgroups whose subvolume is gone for good.  A deleted
    subvolume's qgroup stays until the btrfs cleaner has dropped the
    subvolume (up to a commit interval, 30 s), and the kernel then removes
    it; those pending ones (`btrfs subvolume list -d`) are not leaks."""
    mnt = pool_mount(h)
    if not os.path.ismount(mnt):
        return []
    ids = {"0/5"}
    for l in _out(["btrfs", "subvolume", "list", mnt]).splitlines():
        ids.add("0/" + l.split()[1])
    for l in _out(["btrfs", "subvolume", "list", "-d", mnt]).splitlines():
        ids.add("0/" + l.split()[1])
    return [q for q in qgroups(h) if q not in ids]


def cgroups(uuids):
    out = []
    for c in os.listdir(CGROUP):
        for u in uuids:
            if os.path.isdir(os.path.join(CGROUP, c, "zonehost", u)):
                out.append("%s/%s" % (c, u))
    return out


def mounts(h):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f
                if l.split()[4] == h.root or l.split()[4].startswith(h.root + "/")]


def loops(h):
    out = []
    for p in pool_files(h):
        out += [l for l in _out(["losetup", "-j", p]).splitlines() if l]
    return out


def veths(h):
    out = _out(_ns(h, ["ip", "-o", "link", "show", "type", "veth"]))
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]


def taps(h):
    """The hardware VMs' taps (net_tap_name: "vt" + 8 hex + index)."""
    out = _out(_ns(h, ["ip", "-o", "link", "show", "type", "tun"]))
    names = [l.split(":")[1].strip() for l in out.splitlines()]
    return [n for n in names if re.match(r"^vt[0-9a-f]{8}[0-9]+$", n)]


def nft_vm_objects(h):
    """Lines of the shared bridge table that name a VM (chains, map elements)."""
    out = _out(_ns(h, ["nft", "list", "table", "bridge", "zonehost"]))
    return [l.strip() for l in out.splitlines() if re.search(r"\bv[0-9a-f]{32}_", l)]


def run_entries(h):
    d = os.path.join(h.root, "run", "zonehost")
    if not os.path.isdir(d):
        return []
    return sorted(e for e in os.listdir(d) if e != "locks")


def lock_files(h):
    d = os.path.join(h.root, "run", "zonehost", "locks")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def pool_dot_entries(h):
    """Crash debris at the pool's top: marks, inboxes, stages, trash (and delete marks)."""
    mnt = pool_mount(h)
    out = []
    if os.path.isdir(mnt):
        out += [e for e in os.listdir(mnt) if e.startswith((".recv-", ".stage-", ".trash-", ".new-"))]
        out += [e for e in os.listdir(mnt) if e.endswith(("-rollback", "-recv"))]
    cfg = os.path.join(mnt, ".vmadm")
    if os.path.isdir(cfg):
        out += [".vmadm/" + e for e in os.listdir(cfg) if not e.endswith(".json")]
    marks = os.path.join(mnt, ".new")  # creates and receives at work (vmstore.h)
    if os.path.isdir(marks):
        out += [".new/" + e for e in os.listdir(marks)]
    dels = os.path.join(h.root, "run", "zonehost", "deleting")  # deletes at work (vm.c)
    if os.path.isdir(dels):
        out += ["<run>/deleting/" + e for e in os.listdir(dels)]
    return sorted(out)


def census(h, uuids=()):
    """Counts of every kind of object, for a before/after table."""
    return {
        "zoneadmd": len(zoneadmd_pids(h)),
        "mdatad": len(mdatad_pids(uuids)),
        "cgroups": len(cgroups(uuids)),
        "mounts": len(mounts(h)),
        "loops": len(loops(h)),
        "veths": len(veths(h)),
        "taps": len(taps(h)),
        "nft": len(nft_vm_objects(h)),
        "subvols": len(subvolumes(h)),
        "qgroups": len(live_qgroups(h)),
        "stale_qgroups": len(stale_qgroups(h)),
        "run": len([e for e in run_entries(h) if UUID_RE.match(e)]),
        "locks": len([f for f in lock_files(h) if UUID_RE.match(f[:-5])]),
        "debris": len(pool_dot_entries(h)),
    }


def listed(h):
    """{uuid: state} as `vmadm list` says."""
    r = h.vmadm("list", "-p", "-o", "uuid,state")
    assert r.rc == 0, r
    return dict(l.split(":", 1) for l in r.out.splitlines() if l)

"""The zone's capability bounding set and seccomp filter, tried for real.

tests/helpers/confine-run calls zone_caps_drop() and zone_seccomp_load()
as a zone's first process does before exec, then calls every denied
syscall with harmless invalid arguments.  Run once with --none as the
baseline: the kernel then answers EFAULT/EINVAL/ENOSYS..., so an EPERM
under confinement is the filter's doing.  The btrfs ioctls are tried on a
real subvolume of a test pool.
"""
import os
import subprocess

import pytest

from conftest import BUILD

RUN = os.path.join(BUILD, "tests", "helpers", "confine-run")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (caps, pools)")

DENIED = [
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "add_key", "keyctl", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "iopl", "ioperm", "quotactl", "lookup_dcookie",
    "syslog", "uselib", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "ioctl_TIOCSTI", "ioctl_BTRFS_IOC_SNAP_CREATE_V2",
    "ioctl_BTRFS_IOC_QGROUP_LIMIT_sext", "personality_READ_IMPLIES_EXEC",
    "i386_add_key", "x32_add_key",
]

# Native AIO: ENOSYS, as without CONFIG_AIO, so software falls back (issue 10 class 8).
ENOSYS = ["io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents"]

CAP = {"CHOWN": 0, "DAC_OVERRIDE": 1, "SETGID": 6, "SETUID": 7, "SETPCAP": 8,
       "NET_ADMIN": 12, "NET_RAW": 13, "SYS_MODULE": 16, "SYS_RAWIO": 17,
       "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21,
       "SYS_BOOT": 22, "SYS_TIME": 25, "MKNOD": 27, "AUDIT_WRITE": 29,
       "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33,
       "SYSLOG": 34, "WAKE_ALARM": 35, "BLOCK_SUSPEND": 36, "AUDIT_READ": 37,
       "PERFMON": 38, "BPF": 39, "KILL": 5}
DROPPED = ["SYS_MODULE", "SYS_RAWIO", "SYS_PACCT", "SYS_TIME", "AUDIT_CONTROL",
           "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND",
           "AUDIT_READ", "PERFMON", "BPF"]
KEPT = ["CHOWN", "DAC_OVERRIDE", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_ADMIN",
        "NET_RAW", "SYS_CHROOT", "SYS_PTRACE", "SYS_ADMIN", "SYS_BOOT", "MKNOD",
        "AUDIT_WRITE", "SETFCAP"]


def confine(*args):
    cp = subprocess.run([RUN] + list(args), capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    out = {}
    for line in cp.stdout.splitlines():
        if line.startswith("Cap"):
            k, v = line.split(":")
            out[k] = int(v.strip(), 16)
        elif "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


@pytest.fixture(scope="module")
def runs():
    return confine("--none"), confine()


def test_every_denied_syscall_gets_eperm_from_the_filter(runs):
    base, conf = runs
    for name in DENIED:
        if base[name] == "NOABI":  # the platform has no i386 entry at all
            continue
        assert conf[name] == "EPERM", (name, conf[name])
    # Without confinement the kernel itself answers otherwise: the EPERM is ours.
    for name in DENIED:
        if name != "x32_add_key" or base[name] != "ENOSYS":
            assert base[name] != "EPERM", (name, base[name])


def test_native_aio_gets_enosys_from_the_filter(runs):
    base, conf = runs
    for name in ENOSYS:
        assert conf[name] == "ENOSYS", (name, conf[name])
        assert base[name] != "ENOSYS", (name, base[name])   # the kernel has AIO: ours


def test_allowed_things_still_work(runs):
    _, conf = runs
    assert conf["personality_query"] == "0"
    assert conf["i386_getpid"] in ("0", "NOABI")
    assert conf["allow:fork"] == "0"
    assert conf["allow:userns_tmpfs"] == "0"     # tmpfs in a new user+mount ns
    assert conf["allow:pidns_reboot"] == "0"     # reboot() ends the pidns init with SIGHUP


def test_capability_sets(runs):
    base, conf = runs
    for k in ("CapBnd", "CapPrm", "CapEff"):
        for name in DROPPED:
            assert not conf[k] & (1 << CAP[name]), (k, name)
        for name in KEPT:
            if base[k] & (1 << CAP[name]):
                assert conf[k] & (1 << CAP[name]), (k, name)
    assert conf["CapInh"] == 0 and conf["CapAmb"] == 0


def test_btrfs_subvolume_snapshot_qgroup_ioctls_denied(host):
    assert host.zonehost("pool", "create", "--size", "256M").rc == 0
    mnt = os.path.join(host.root, "zones")
    subprocess.run(["btrfs", "subvolume", "create", os.path.join(mnt, "src")],
                   check=True, capture_output=True)
    conf = confine("--btrfs", mnt)
    for name in ("btrfs_snap_create_v2", "btrfs_snap_create", "btrfs_subvol_create_v2",
                 "btrfs_snap_destroy", "btrfs_qgroup_limit"):
        assert conf[name] == "EPERM", (name, conf[name])
    assert conf["btrfs_get_subvol_info"] == "0"   # read-only btrfs ioctls still work
    left = sorted(os.listdir(mnt))
    assert "src" in left
    assert not {"snap-v1", "snap-v2", "newvol"} & set(left), left

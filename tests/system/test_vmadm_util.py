"""Helpers shared by the test_vmadm_*.py files (no tests here)."""
import json
import os
import pty
import re
import subprocess
import time

from conftest import CMD

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def pool_mount(h):
    return os.path.join(h.root, "zones")


def create(h, image, **props):
    """vmadm create with image + props on stdin; returns the new uuid."""
    payload = {"brand": "joyent", "image_uuid": image, "autoboot": False}
    payload.update(props)
    r = h.vmadm("create", input=json.dumps(payload))
    assert r.rc == 0, r
    m = re.search(r"Successfully created VM (\S+)", r.err)
    assert m, r
    assert r.out == ""
    return m.group(1)


def get(h, uuid):
    r = h.vmadm("get", uuid)
    assert r.rc == 0, r
    return r.json()


def snapshot(h):
    """Everything under the pool mount (names, recursively, 2 levels) plus subvolumes."""
    mnt = pool_mount(h)
    entries = []
    for name in sorted(os.listdir(mnt)):
        if name != ".vmadm":    # the VMs' configs: its files count, not the directory
            entries.append(name)
        p = os.path.join(mnt, name)
        if os.path.isdir(p) and not os.path.islink(p):
            entries.extend(name + "/" + c for c in sorted(os.listdir(p)))
    subvols = subprocess.run(["btrfs", "subvolume", "list", "-o", mnt],
                             capture_output=True, text=True).stdout
    return entries, sorted(l.split()[-1] for l in subvols.splitlines())


def config_path(h, uuid):
    """Where the VM's config is stored: beside its dataset, out of its quota."""
    return os.path.join(pool_mount(h), ".vmadm", uuid + ".json")


def subvol_id(path):
    out = subprocess.run(["btrfs", "subvolume", "show", path], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Subvolume ID:\s+(\d+)", out)
    return int(m.group(1))


def qgroup_limit(h, uuid):
    """max_rfer of the VM's subvolume qgroup in bytes, or None when unlimited."""
    mnt = pool_mount(h)
    sid = subvol_id(os.path.join(mnt, uuid))
    out = subprocess.run(["btrfs", "qgroup", "show", "-re", "--raw", mnt],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "0/%d" % sid:
            return None if f[3] == "none" else int(f[3])
    raise AssertionError("no qgroup 0/%d in:\n%s" % (sid, out))


def run_with_tty_stdin(h, *args):
    """Run vmadm with a pty as stdin; returns (rc, stderr)."""
    master, slave = pty.openpty()
    try:
        cp = subprocess.run([os.path.join(CMD, "vmadm")] + list(args), stdin=slave,
                            capture_output=True, text=True, env=h.env, timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    return cp.returncode, cp.stderr


def trash_settled(h, timeout=60):
    """Wait until the pool's trash (".trash-*", datasets a rollback or an
    incremental receive dropped) has been destroyed by its detached emptier;
    fails if it is not gone in time."""
    mnt = pool_mount(h)
    deadline = time.monotonic() + timeout
    while True:
        left = [n for n in os.listdir(mnt) if n.startswith(".trash-")] if os.path.isdir(mnt) else []
        if not left:
            return
        assert time.monotonic() < deadline, "trash not emptied: %s" % left
        time.sleep(0.05)


def wait_for(fn, timeout=30.0, step=0.05):
    """fn()'s first true value within timeout, else its last value."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()

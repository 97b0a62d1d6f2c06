"""quota on a running zone (issue 5 §1): writes beyond it fail with EDQUOT
inside the zone, `vmadm update quota=N` grows it live, shrinking below what
is used is refused, and the zone cannot make a nested subvolume (which
would escape the qgroup)."""
import os
import shutil

from conftest import BUILD, CMD
from test_vmadm_util import create, get, pool_mount, qgroup_limit

ZLOGIN = os.path.join(CMD, "zlogin")
PROBE = os.path.join(BUILD, "tests", "helpers", "probe")


def start(h, img, **props):
    u = create(h, img, **props)
    r = h.vmadm("start", u)
    assert r.rc == 0, r
    return u


def root_of(h, u):
    return os.path.join(pool_mount(h), u, "root")


def prefill(h, u, mib):
    """Fill most of the quota from the host, fast (allocated extents count)."""
    fd = os.open(os.path.join(root_of(h, u), "prefill"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.posix_fallocate(fd, 0, mib << 20)
    finally:
        os.close(fd)
    os.sync()


def dd(h, u, path, mib):
    return h.run(ZLOGIN, u, "dd", "if=/dev/zero", "of=" + path, "bs=1M",
                 "count=%d" % mib, "conv=fsync", timeout=120)


def test_quota_enforced_grown_live_and_shrink_refused(imghost):
    h, img = imghost
    u = start(h, img, quota=1)
    try:
        prefill(h, u, 960)
        r = dd(h, u, "/big", 200)
        assert r.rc != 0, r
        assert "Disk quota exceeded" in r.err, r
        r = h.vmadm("update", u, "quota=2")
        assert r.rc == 0, r
        assert qgroup_limit(h, u) == 2 << 30
        r = dd(h, u, "/big2", 200)
        assert r.rc == 0, r
        # Now over 1 GiB is used: shrinking to 1 is refused, nothing changes.
        r = h.vmadm("update", u, "quota=1")
        assert r.rc == 1, r
        assert "already uses" in r.err and "quota" in r.err, r
        assert qgroup_limit(h, u) == 2 << 30
        assert get(h, u)["quota"] == 2
        assert get(h, u)["state"] == "running"
        # Removing the quota and setting a larger one both work live.
        assert h.vmadm("update", u, "quota=0").rc == 0
        assert qgroup_limit(h, u) is None
        assert h.vmadm("update", u, "quota=5").rc == 0
        assert qgroup_limit(h, u) == 5 << 30
    finally:
        h.vmadm("stop", "-F", u)


def test_shrink_above_usage_is_allowed(imghost):
    h, img = imghost
    u = create(h, img, quota=4)
    assert h.vmadm("update", u, "quota=1").rc == 0
    assert qgroup_limit(h, u) == 1 << 30


def test_zone_cannot_create_nested_subvolumes(imghost):
    h, img = imghost
    u = create(h, img, quota=1)
    shutil.copy(PROBE, os.path.join(root_of(h, u), "probe"))
    assert h.vmadm("start", u).rc == 0
    try:
        r = h.run(ZLOGIN, u, "/probe", "btrfs-snapshot", "/")
        assert r.rc == 0, r
        res = dict(l.split("=", 1) for l in r.out.split())
        for k in ("snap_create", "snap_create_v2", "subvol_create", "qgroup_limit"):
            assert res[k] != "0", r
    finally:
        h.vmadm("stop", "-F", u)
    assert not os.path.exists(os.path.join(root_of(h, u), "probe-subvol"))
    assert not os.path.exists(os.path.join(root_of(h, u), "probe-snap"))


def fill_quota(h, u):
    """The tenant fills its dataset to the quota: big files, then small ones."""
    prefill(h, u, 1000)
    dd(h, u, "/fill", 100)
    h.run(ZLOGIN, u, "sh", "-c", "i=0; while echo x > /f$i; do i=$((i+1)); done")
    assert dd(h, u, "/more", 1).rc != 0


def test_full_zone_still_stops(imghost):
    """A tenant who fills the dataset to its quota cannot keep the operator
    from stopping the zone, nor from storing autoboot=false (the config is
    outside the quota)."""
    h, img = imghost
    u = start(h, img, quota=1)
    try:
        fill_quota(h, u)
        r = h.vmadm("stop", u)
        assert get(h, u)["state"] == "stopped", r
        assert r.rc == 0, r
    finally:
        h.vmadm("stop", "-F", u)


def cgroup_knob(u, ctrl, knob):
    """A zone's cgroup file on cgroup v1, or None where there is no such hierarchy."""
    p = os.path.join("/sys/fs/cgroup", ctrl, "zonehost", u, knob)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return f.read().strip()


def test_full_tenant_never_blocks_the_operator(imghost):
    """Issue 10 class 13: the VM's config lives beside its dataset, out of
    the quota, so a tenant who filled it still gets the operator's changes,
    whole: the live limit and the stored config agree."""
    h, img = imghost
    u = start(h, img, quota=1)
    try:
        fill_quota(h, u)
        r = h.vmadm("update", u, "max_physical_memory=300", "alias=still-mine")
        assert r.rc == 0, r
        vm = get(h, u)
        assert vm["max_physical_memory"] == 300 and vm["alias"] == "still-mine"
        limit = cgroup_knob(u, "memory", "memory.limit_in_bytes")
        assert limit in (None, str(300 << 20)), limit
        r = h.vmadm("update", u, input='{"set_customer_metadata": {"k": "v"}}')
        assert r.rc == 0, r
        assert get(h, u)["customer_metadata"] == {"k": "v"}
        r = h.vmadm("stop", u)
        assert r.rc == 0, r                  # autoboot=false stored, no warning
        assert get(h, u)["autoboot"] is False
    finally:
        h.vmadm("stop", "-F", u)

"""Mount propagation (issue 9): on a host whose / is shared, as systemd
makes it, a zone starts, and no mount of the zone ever appears in the
host's mount table (docs/architecture.md §10).

The build machine's / has no propagation, so the test makes its own "host":
a mount namespace of its own (unshare -m, propagation unchanged) in which /
is made rshared, so every mount in it (the pool's included) is shared.  The
zone is started from inside that namespace; its zoneadmd stays there, so
/proc/<zoneadmd>/mountinfo is that namespace's mount table for as long as
the zone runs.  The real host's propagation is never changed.
"""
import json
import os
import subprocess

from conftest import CMD
from test_vmadm_util import create, get, wait_for


def mountinfo(pid="self"):
    """[(mount id, mount point, optional fields)] of pid's mount namespace."""
    out = []
    with open("/proc/%s/mountinfo" % pid) as f:
        for line in f:
            left = line.split(" - ")[0].split()
            out.append((left[0], left[4], left[6:]))
    return out


def in_shared_ns(h, script):
    """Run sh -c script in a new mount namespace whose / is rshared."""
    argv = ["unshare", "-m", "--propagation", "unchanged", "--", "sh", "-ec",
            "mount --make-rshared /\n" + script]
    return subprocess.run(argv, capture_output=True, text=True, env=h.env, timeout=120)


def gained(h, zpid):
    """Mounts of the test namespace (zoneadmd's) made since the start; what
    the machine itself mounted meanwhile (other tests' /run/netns entries
    propagate in) is in the real host's table too and does not count."""
    with open(os.path.join(h.root, "before")) as f:
        before = {l.split()[0] for l in f}
    host = {mp for _, mp, _ in mountinfo()}
    return [(mp, opt) for mid, mp, opt in mountinfo(zpid) if mid not in before and mp not in host]


def zoneadmd_pid(h, u):
    path = os.path.join(h.root, "run", "zonehost", u, "state.json")
    with open(path) as f:
        return json.load(f)["zoneadmd_pid"]


def test_zone_mounts_never_reach_a_shared_host(imghost):
    h, img = imghost
    share = os.path.join(h.root, "share")
    os.mkdir(share)
    u = create(h, img, filesystems=[{"type": "lofs", "source": share, "target": "/shared"}])
    zroot = os.path.join(h.root, "zones", u, "root")
    r = in_shared_ns(h, "cat /proc/self/mountinfo > %s/before\n%s/vmadm start %s\n"
                     % (h.root, CMD, u))
    assert r.returncode == 0, r
    try:
        vm = get(h, u)
        assert vm["state"] == "running"
        zpid = zoneadmd_pid(h, u)
        # The test namespace (the shared "host"): / is shared there ...
        ns = mountinfo(zpid)
        assert any(mp == "/" and any(o.startswith("shared:") for o in opt)
                   for _, mp, opt in ns), ns
        # ... and it gained no mount at all, under the zone root or anywhere.
        assert gained(h, zpid) == []
        assert not [mp for _, mp, _ in ns if mp.startswith(zroot)]
        # Inside the zone every mount is private: no peer group, no master.
        zmi = mountinfo(vm["pid"])
        assert len(zmi) > 5
        for _, mp, opt in zmi:
            assert not [o for o in opt if o.startswith(("shared:", "master:"))], (mp, opt)
        assert "/shared" in [mp for _, mp, _ in zmi]
        # The shared source itself gained no mount on the host side.
        assert [mp for _, mp, _ in mountinfo() if mp.startswith(share)] == []
    finally:
        r = h.vmadm("stop", "-F", u)
    assert r.rc == 0, r
    assert wait_for(lambda: get(h, u)["state"] == "stopped", 30)
    # The real host's table holds nothing of the zone either.
    assert not [mp for _, mp, _ in mountinfo() if mp.startswith(zroot)]


def test_reboot_in_a_shared_namespace(imghost):
    h, img = imghost
    u = create(h, img)
    r = in_shared_ns(h, "cat /proc/self/mountinfo > %s/before\n%s/vmadm start %s\n"
                     % (h.root, CMD, u))
    assert r.returncode == 0, r
    try:
        pid = get(h, u)["pid"]
        assert h.vmadm("reboot", u).rc == 0
        assert wait_for(lambda: get(h, u).get("pid") not in (None, pid), 30)
        assert gained(h, zoneadmd_pid(h, u)) == []
    finally:
        h.vmadm("stop", "-F", u)

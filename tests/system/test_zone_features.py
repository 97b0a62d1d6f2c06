"""Zone features (issue 9): `zonehost sysinfo` reports, under "Zone
Features", each kernel and host feature a zone needs, present or not; and
`vmadm start` checks them first: when one is missing it names it and exits
1 with nothing changed.  A missing feature is simulated with
ZONEHOST_TEST_MISSING_FEATURE (the probes themselves run on every host)."""
import json
import os

from test_vmadm_util import config_path, create, get

KEYS = ("user_namespaces", "mount_api", "idmapped_mounts", "openat2", "pidfd",
        "close_range", "seccomp", "clone3_into_cgroup", "cgroup_memory", "cgroup_pids",
        "cgroup_cpu", "cgroup_freezer", "nftables", "btrfs", "systemd_delegation")


def test_sysinfo_zone_features(host):
    s = host.zonehost("sysinfo").json()
    f = s["Zone Features"]
    for k in KEYS:
        assert isinstance(f[k], bool), k
    assert f["cgroup_version"] == s["zonehost"]["cgroup_version"]
    # This host runs zones (the other system tests prove it): all it needs is here.
    for k in KEYS:
        if k != "systemd_delegation":
            assert f[k] is True, k
    assert f["systemd_delegation"] == os.path.isdir("/run/systemd/system")
    r = host.zonehost("sysinfo", env={"ZONEHOST_TEST_MISSING_FEATURE": "pidfd"})
    assert r.json()["Zone Features"]["pidfd"] is False


def test_start_refuses_a_host_without_a_feature(imghost):
    h, img = imghost
    u = create(h, img, nics=[])
    with open(config_path(h, u)) as fh:
        before = fh.read()
    for feat, words in (("user_namespaces", "user namespaces"),
                        ("idmapped_mounts", "idmapped mounts"),
                        ("cgroup_pids", "pids cgroup controller")):
        r = h.vmadm("start", u, env={"ZONEHOST_TEST_MISSING_FEATURE": feat})
        assert r.rc == 1, r
        assert words in r.err and '"%s"' % feat in r.err, r
        assert get(h, u)["state"] == "stopped"
        with open(config_path(h, u)) as fh:
            assert fh.read() == before  # not even the id range was assigned
        assert not os.path.exists(os.path.join(h.root, "run", "zonehost", u))
    # nftables is needed only by a VM with nics: this one starts without it.
    r = h.vmadm("start", u, env={"ZONEHOST_TEST_MISSING_FEATURE": "nftables"})
    assert r.rc == 0, r
    assert h.vmadm("stop", "-F", u).rc == 0

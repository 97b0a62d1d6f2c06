"""vmadm create / get / json, dispatch, usage and exit codes."""
import json
import os
import shutil
import stat
import subprocess

import pytest

from conftest import CMD, new_uuid
from test_vmadm_util import (TS_RE, UUID_RE, config_path, create, get, pool_mount,
                             qgroup_limit)

DEFAULTS = {
    "brand": "joyent",
    "cpu_shares": 100,
    "max_lwps": 2000,
    "max_physical_memory": 256,
    "max_locked_memory": 256,
    "max_swap": 256,
    "max_shm_memory": 256,
    "max_msg_ids": 4096,
    "max_sem_ids": 4096,
    "max_shm_ids": 4096,
    "tmpfs": 256,
    "quota": 10,
    "zfs_io_priority": 100,
    "owner_uuid": "00000000-0000-0000-0000-000000000000",
    "billing_id": "00000000-0000-0000-0000-000000000000",
    "dns_domain": "local",
    "firewall_enabled": False,
    "customer_metadata": {},
    "internal_metadata": {},
    "tags": {},
    "resolvers": [],
    "nics": [],
    "snapshots": [],
    "hvm": False,
    "state": "stopped",
    "zone_state": "installed",
    "autoboot": False,
}


def test_create_get_defaults(imghost):
    h, img = imghost
    u = create(h, img)
    assert UUID_RE.match(u)
    vm = get(h, u)
    for k, v in DEFAULTS.items():
        assert vm.get(k) == v, (k, vm.get(k))
    assert vm["uuid"] == u
    assert vm["image_uuid"] == img
    assert vm["zonename"] == u
    assert vm["zpool"] == "zones"
    assert vm["zonepath"] == os.path.join(pool_mount(h), u)
    assert vm["zfs_filesystem"] == "zones/" + u
    assert TS_RE.match(vm["create_timestamp"])
    assert TS_RE.match(vm["last_modified"])
    assert UUID_RE.match(vm["server_uuid"])
    assert vm["platform_buildstamp"]
    for k in ("pid", "boot_timestamp", "type"):
        assert k not in vm
    # get output: 2-space indented JSON, sorted keys
    r = h.vmadm("get", u)
    assert r.out == json.dumps(vm, indent=2, sort_keys=True) + "\n"


def test_create_layout(imghost):
    h, img = imghost
    u = create(h, img)
    zp = os.path.join(pool_mount(h), u)
    assert stat.S_IMODE(os.stat(zp).st_mode) == 0o700
    # the config lives beside the dataset, out of the tenant's quota and data
    assert not os.path.exists(os.path.join(zp, "config"))
    assert stat.S_IMODE(os.stat(os.path.dirname(config_path(h, u))).st_mode) == 0o700
    assert os.path.exists(os.path.join(zp, "root", "bin", "busybox"))
    with open(config_path(h, u)) as f:
        stored = json.load(f)
    assert stored["uuid"] == u
    for derived in ("state", "zone_state", "zonepath", "last_modified", "server_uuid"):
        assert derived not in stored
    # a writable clone: the image is untouched by writes in the VM
    with open(os.path.join(zp, "root", "hello"), "w") as f:
        f.write("x")
    assert not os.path.exists(os.path.join(pool_mount(h), img, "root", "hello"))


def test_create_quota_applied(imghost):
    h, img = imghost
    u = create(h, img)
    assert qgroup_limit(h, u) == 10 << 30
    u2 = create(h, img, quota=3)
    assert qgroup_limit(h, u2) == 3 << 30
    assert get(h, u2)["quota"] == 3
    u3 = create(h, img, quota=0)
    assert qgroup_limit(h, u3) is None


def test_create_from_file_and_uuid(imghost, tmp_path):
    h, img = imghost
    u = new_uuid()
    p = tmp_path / "payload.json"
    p.write_text(json.dumps({"brand": "joyent-minimal", "image_uuid": img, "uuid": u,
                             "alias": "web0", "autoboot": False,
                             "max_physical_memory": 512}))
    r = h.vmadm("create", "-f", str(p))
    assert r.rc == 0, r
    assert r.err.strip().splitlines()[-1] == "Successfully created VM %s" % u
    vm = get(h, u)
    assert vm["brand"] == "joyent-minimal"
    assert vm["alias"] == "web0"
    assert vm["max_physical_memory"] == 512
    assert vm["tmpfs"] == 512


def test_create_autoboot_true_is_running(imghost):
    h, img = imghost
    u = create(h, img, autoboot=True)
    vm = get(h, u)
    assert vm["state"] == "running"
    assert vm["autoboot"] is True
    assert h.vmadm("stop", "-F", u).rc == 0


def test_create_stdin_dash(imghost):
    h, img = imghost
    r = h.vmadm("create", "-f", "-", input=json.dumps({"brand": "joyent", "image_uuid": img}))
    assert r.rc == 0, r


def test_json_alias_and_flags(imghost):
    h, img = imghost
    u = create(h, img)
    a = h.vmadm("json", u)
    b = h.vmadm("get", "-v", "-d", u)
    assert a.rc == 0 and b.rc == 0
    assert json.loads(a.out)["uuid"] == u == json.loads(b.out)["uuid"]


def test_get_unknown(imghost):
    h, _ = imghost
    u = new_uuid()
    r = h.vmadm("get", u)
    assert r.rc == 1
    assert r.out == ""
    assert r.err == "zoneadm: %s: No such zone configured\n" % u


@pytest.mark.parametrize("cmd", ["get", "json", "delete", "destroy", "update"])
def test_bad_uuid_argument(host, cmd):
    for args in ([], ["not-a-uuid"]):
        r = host.vmadm(cmd, *args)
        assert r.rc == 2, r
        assert r.err.splitlines()[0] == "Invalid or missing UUID for %s" % cmd


def test_usage_and_dispatch(host):
    for a in ("help", "-h"):
        r = host.vmadm(a)
        assert r.rc == 0
        assert r.out.startswith("Usage: vmadm")
        assert r.err == ""
    r = host.vmadm()
    assert r.rc == 2 and "Usage: vmadm" in r.err
    r = host.vmadm("frobnicate")
    assert r.rc == 2
    assert r.err == 'Invalid command: "frobnicate".\n'


@pytest.mark.parametrize("cmd", ["events"])
def test_lifecycle_not_implemented(host, cmd):
    r = host.vmadm(cmd, new_uuid())
    assert r.rc == 1
    assert r.err == "vmadm %s: not implemented yet\n" % cmd


@pytest.mark.parametrize("cmd", ["start", "boot", "stop", "halt", "reboot", "kill",
                                 "console"])
def test_lifecycle_unknown_vm(host, cmd):
    u = new_uuid()
    r = host.vmadm(cmd, u)
    assert r.rc == 1, r
    assert r.err == "zoneadm: %s: No such zone configured\n" % u


def test_requires_root(host):
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        os.path.join(CMD, "vmadm"), "list"],
                       capture_output=True, text=True, env=host.env)
    assert r.returncode == 2
    assert r.stderr.startswith("FATAL: cannot run because:")


def test_bad_option(host):
    r = host.vmadm("list", "-Z")
    assert r.rc == 2
    assert "Invalid option: -Z" in r.err


def test_config_of_an_older_layout_is_moved_out(imghost, tmp_path):
    """A pool an older zonehost wrote keeps each config in <uuid>/config/
    vm.json: the first read moves them beside the datasets; a config that
    is a link there (a received dataset's) is not followed."""
    h, img = imghost
    u, v = create(h, img, alias="legacy"), create(h, img)
    mnt = pool_mount(h)
    with open(config_path(h, u)) as f:
        cfg = json.load(f)
    for x in (u, v):
        os.makedirs(os.path.join(mnt, x, "config"))
    with open(os.path.join(mnt, u, "config", "vm.json"), "w") as f:
        json.dump(cfg, f)
    fake = tmp_path / "fake.json"
    fake.write_text(json.dumps(dict(cfg, uuid=v, alias="from a link")))
    os.symlink(fake, os.path.join(mnt, v, "config", "vm.json"))
    shutil.rmtree(os.path.dirname(config_path(h, u)))
    r = h.vmadm("list", "-H", "-o", "uuid,alias")
    assert r.rc == 0, r
    assert r.out.split() == [u, "legacy"]
    assert get(h, u)["alias"] == "legacy"
    assert os.path.isfile(config_path(h, u))
    assert not os.path.exists(config_path(h, v))
    assert stat.S_IMODE(os.stat(os.path.dirname(config_path(h, u))).st_mode) == 0o700

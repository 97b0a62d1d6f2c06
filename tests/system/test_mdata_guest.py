"""The guest side of the metadata service (issue 13; docs/architecture.md §23,
"The guest side"; docs/debian-zone.md): user-script at every boot in the
busybox and Debian images, and Debian's cloud-init (22.4, unpatched) with its
SmartOS data source in the --cloud-init image.

Real zones, one per image, shared by the tests of this module (a Debian
cloud-init zone takes about half a minute to boot).  They need the metadata
server in zones (zoneadmd: the socket at /native/.zonecontrol/metadata.sock
and the tools at /native/usr/sbin): without it each test skips, naming why.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import CMD, TOOLS, Host, new_root

pytestmark = pytest.mark.slow

BOOT_TIMEOUT = 120.0
MARK = "zh-user-script-ran"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm2Xo3rK7wz8rA1zKjvJb8cPqf0nC6QbOeY4fP1m2Zx "
       "zonehost-test")
# Prints the marker and this boot's id on the console, and counts its runs.
USER_SCRIPT = ("#!/bin/sh\necho \"%s $(cat /proc/sys/kernel/random/boot_id)\"\n"
               "echo run >>/var/tmp/zh-user-script.runs\n" % MARK)


@pytest.fixture(scope="module")
def mhost():
    h = Host(new_root())
    yield h
    leaked = h.teardown()
    assert not leaked, "test left mounts behind: %r" % leaked


def build_image(tmp_path_factory, tool, *args):
    out = tmp_path_factory.mktemp("img")
    cp = subprocess.run([os.path.join(TOOLS, tool), str(out)] + list(args),
                        capture_output=True, text=True, timeout=1800)
    assert cp.returncode == 0, "%s failed:\n%s" % (tool, cp.stderr[-3000:])
    return cp.stdout.split()[:2]


def zlogin(h, uuid, *args, timeout=60):
    return h.run(os.path.join(CMD, "zlogin"), uuid, *args, timeout=timeout)


def get(h, uuid):
    return json.loads(h.ok(os.path.join(CMD, "vmadm"), "get", uuid).out)


def console(h, uuid):
    try:
        with open(os.path.join(get(h, uuid)["zonepath"], "logs", "console.log"), "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def wait_until(what, fn, timeout=BOOT_TIMEOUT, diag=lambda: ""):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.5)
    pytest.fail("%s: not after %.0f s\n%s" % (what, timeout, diag()))


def start_zone(h, tmp_path_factory, tool, args, payload):
    """Install the image, create and start a zone; returns its uuid."""
    m, f = build_image(tmp_path_factory, tool, *args)
    with open(m) as fp:
        image = json.load(fp)["uuid"]
    h.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f, timeout=600)
    p = {"brand": "joyent", "image_uuid": image, "autoboot": False,
         "max_physical_memory": 512}
    p.update(payload)
    r = h.vmadm("create", input=json.dumps(p))
    assert r.rc == 0, r
    uuid = re.search(r"Successfully created VM (\S+)", r.err).group(1)
    t0 = time.monotonic()
    h.ok(os.path.join(CMD, "vmadm"), "start", uuid, timeout=60)
    return uuid, t0


def remove_zone(h, uuid):
    h.vmadm("stop", "-F", uuid, timeout=60)
    r = h.vmadm("delete", uuid, timeout=60)
    assert r.rc == 0, r


def need_server(h, uuid):
    """Skip unless zoneadmd serves metadata in the zone (the mdata-server work)."""
    def ready():
        r = zlogin(h, uuid, "/bin/sh", "-c",
                   "test -x /native/usr/sbin/mdata-get && { test -S /.zonecontrol/metadata.sock"
                   " || test -S /native/.zonecontrol/metadata.sock; } && echo yes")
        return r.out.strip() == "yes" or None
    try:
        wait_until("the metadata socket", ready, timeout=10)
    except pytest.fail.Exception:
        pytest.skip("no metadata server in zones (/.zonecontrol/metadata.sock, "
                    "/native/usr/sbin/mdata-get): zoneadmd does not serve metadata yet")


def runs(h, uuid):
    r = zlogin(h, uuid, "/bin/cat", "/var/tmp/zh-user-script.runs")
    return r.out.count("run") if r.rc == 0 else 0


# ---- busybox: rcS ----

@pytest.fixture(scope="module")
def busybox_zone(mhost, tmp_path_factory):
    uuid, _ = start_zone(mhost, tmp_path_factory, "mkimage-busybox", [],
                         {"alias": "mdata-bb", "customer_metadata":
                          {"user-script": USER_SCRIPT}})
    yield uuid
    remove_zone(mhost, uuid)


def test_busybox_runs_user_script_at_every_boot(mhost, busybox_zone):
    h, u = mhost, busybox_zone
    need_server(h, u)
    wait_until("user-script's output on the console", lambda: console(h, u).count(MARK) >= 1,
               diag=lambda: console(h, u)[-3000:])
    r = zlogin(h, u, "/bin/sh", "-c", "stat -c %a /var/svc/mdata-user-script")
    assert r.out.strip() == "700", r
    h.ok(os.path.join(CMD, "vmadm"), "reboot", u, timeout=120)
    wait_until("user-script after the reboot", lambda: console(h, u).count(MARK) >= 2,
               diag=lambda: console(h, u)[-3000:])
    wait_until("two runs", lambda: runs(h, u) >= 2)
    ids = re.findall(re.escape(MARK) + r" ([0-9a-f-]{36})", console(h, u))
    assert len(set(ids)) >= 2, "one run per boot: %r" % ids


def test_busybox_without_user_script_boots_quietly(mhost, busybox_zone):
    h, u = mhost, busybox_zone
    need_server(h, u)
    r = h.vmadm("update", u, input=json.dumps(
        {"remove_customer_metadata": ["user-script"]}))
    assert r.rc == 0, r
    before = runs(h, u)
    h.ok(os.path.join(CMD, "vmadm"), "reboot", u, timeout=120)
    wait_until("the zone back", lambda: zlogin(h, u, "/bin/true").rc == 0)
    time.sleep(2)
    assert runs(h, u) == before
    r = zlogin(h, u, "/bin/sh", "-c", "test -e /var/svc/mdata-user-script; echo $?")
    assert r.out.strip() == "1", "the stale script is removed"
    assert "mdata-user-script:" not in console(h, u)


# ---- Debian: mdata-user-script.service ----

def test_debian_unit_runs_user_script(mhost, tmp_path_factory):
    h = mhost
    u, t0 = start_zone(h, tmp_path_factory, "mkimage-debian", [],
                       {"alias": "mdata-deb", "hostname": "mdatadeb",
                        "customer_metadata": {"user-script": USER_SCRIPT}})
    try:
        need_server(h, u)
        wait_until("user-script's output on the console", lambda: MARK in console(h, u),
                   diag=lambda: zlogin(h, u, "journalctl", "-u", "mdata-user-script",
                                       "--no-pager").out + console(h, u)[-2000:])
        print("debian: user-script on the console %.1f s after vmadm start"
              % (time.monotonic() - t0))
        assert runs(h, u) == 1
        r = zlogin(h, u, "systemctl", "show", "-p", "Result", "-p", "ExecMainStatus",
                   "mdata-user-script.service")
        assert "Result=success" in r.out and "ExecMainStatus=0" in r.out, r
        assert zlogin(h, u, "stat", "-c", "%a", "/var/svc/mdata-user-script").out.strip() == "700"
    finally:
        remove_zone(h, u)


# ---- Debian with cloud-init: the SmartOS data source ----

def test_debian_cloud_init_smartos_datasource(mhost, tmp_path_factory):
    h = mhost
    u, t0 = start_zone(h, tmp_path_factory, "mkimage-debian", ["--cloud-init"],
                       {"brand": "lx", "kernel_version": "4.3.0",
                        "alias": "mdata-ci", "hostname": "cizone",
                        "customer_metadata": {"user-script": USER_SCRIPT,
                                              "root_authorized_keys": KEY}})
    try:
        need_server(h, u)

        def done():
            r = zlogin(h, u, "cloud-init", "status", "--long")
            return r if re.search(r"^status: (done|error)", r.out, re.M) else None
        st = wait_until("cloud-init done", done, timeout=240,
                        diag=lambda: zlogin(h, u, "cloud-init", "status", "--long").out)
        print("debian cloud-init: status done %.1f s after vmadm start" % (time.monotonic() - t0))
        assert "status: done" in st.out, st
        assert "DataSourceSmartOS" in st.out, st
        ds = zlogin(h, u, "cat", "/run/cloud-init/instance-data.json").out
        assert json.loads(ds)["v1"]["platform"] == "joyent", ds[:2000]
        assert zlogin(h, u, "hostname").out.strip() == "cizone"
        keys = zlogin(h, u, "cat", "/root/.ssh/authorized_keys")
        assert KEY in keys.out, keys
        wait_until("user-script ran", lambda: runs(h, u) >= 1)
        assert MARK in console(h, u)
        assert zlogin(h, u, "test", "-e", "/etc/systemd/system/mdata-user-script.service").rc != 0
        log = zlogin(h, u, "cat", "/var/log/cloud-init.log").out
        bad = [ln for ln in log.splitlines() if re.search(r"\[(WARNING|ERROR|CRITICAL)\]|Traceback", ln)]
        assert not bad, "cloud-init complained:\n" + "\n".join(bad)
        # The preload is cloud-init's only: the zone sees the real kernel.
        assert "BrandZ" not in zlogin(h, u, "uname", "-v").out
        # user-script at every boot (cloud-init's per-boot vendor script).
        h.ok(os.path.join(CMD, "vmadm"), "reboot", u, timeout=120)
        wait_until("user-script after the reboot", lambda: runs(h, u) >= 2,
                   diag=lambda: console(h, u)[-3000:])
    finally:
        remove_zone(h, u)

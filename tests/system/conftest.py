"""Shared fixtures for the system tests.

Every test gets its own ZONEHOST_ROOT (so its own config, run directory,
pool file and pool mount point) and removes everything it made, pass or
fail: each recorded pool is destroyed with --force, and anything still
mounted or attached under the root is torn down by the fixture before the
directory goes.

Binaries come from $ZH_BUILD (default: ./build) so `make check` can run the
suite against the sanitizer build.
"""
import json
import os
import shutil
import subprocess
import tempfile
import uuid as uuidlib

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ZH_BUILD", os.path.join(TOP, "build"))
CMD = os.path.join(BUILD, "src", "cmd")
TOOLS = os.path.join(TOP, "tools")


class Result:
    def __init__(self, cp):
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "Result(rc=%d, out=%r, err=%r)" % (self.rc, self.out[-2000:], self.err[-2000:])


class Host:
    """One zonehost "host": a private ZONEHOST_ROOT and helpers to drive it."""

    def __init__(self, root, netns=None):
        self.root = root
        self.netns = netns
        self.env = dict(os.environ)
        self.env["ZONEHOST_ROOT"] = root
        self.env["PATH"] = CMD + ":" + self.env.get("PATH", "")

    def run(self, *args, input=None, timeout=120, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        argv = [str(a) for a in args]
        if self.netns:  # the whole host side runs in the test's own network namespace
            argv = ["nsenter", "--net=/run/netns/" + self.netns, "--"] + argv
        cp = subprocess.run(argv, input=input, capture_output=True,
                            text=True, timeout=timeout, env=e,
                            stdin=None if input is not None else subprocess.DEVNULL)
        return Result(cp)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.rc == 0, r
        return r

    def vmadm(self, *args, **kw):
        return self.run(os.path.join(CMD, "vmadm"), *args, **kw)

    def imgadm(self, *args, **kw):
        return self.run(os.path.join(CMD, "imgadm"), *args, **kw)

    def zonehost(self, *args, **kw):
        return self.run(os.path.join(CMD, "zonehost"), *args, **kw)

    def pool_names(self):
        d = os.path.join(self.root, "etc", "zonehost", "pools")
        if not os.path.isdir(d):
            return []
        return sorted(f[:-5] for f in os.listdir(d) if f.endswith(".json"))

    def mounts_under_root(self):
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp == self.root or mp.startswith(self.root + "/"):
                    out.append(mp)
        return out

    def stop_all(self):
        """Stop every zone still running (a test may leave autoboot zones)."""
        if not self.pool_names():
            return
        r = self.vmadm("list", "-p", "-o", "uuid,state")
        for line in r.out.splitlines():
            u, _, st = line.partition(":")
            if st not in ("stopped", "failed"):
                self.vmadm("stop", "-F", u)

    def teardown(self):
        self.stop_all()
        for name in self.pool_names():
            self.zonehost("pool", "destroy", "--force", name)
        # Belt and braces: a test that broke the pool code must not leak.
        leaked = self.mounts_under_root()
        for mp in sorted(leaked, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if os.path.isdir(self.root):
            for dirpath, _, files in os.walk(self.root):
                for f in files:
                    p = os.path.join(dirpath, f)
                    if f.endswith(".img"):
                        lo = subprocess.run(["losetup", "-j", p], capture_output=True, text=True).stdout
                        for line in lo.splitlines():
                            subprocess.run(["losetup", "-d", line.split(":")[0]], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        return leaked


def new_root():
    return tempfile.mkdtemp(prefix="zh-", dir="/var/tmp")


@pytest.fixture
def host():
    h = Host(new_root())
    yield h
    leaked = h.teardown()
    assert not leaked, "test left mounts behind: %r" % leaked


@pytest.fixture
def host2():
    """A second, independent host on the same machine."""
    h = Host(new_root())
    yield h
    leaked = h.teardown()
    assert not leaked, "test left mounts behind: %r" % leaked


def new_netns():
    name = "zh-%s" % uuidlib.uuid4().hex[:10]
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return name


@pytest.fixture
def nethost(busybox_image):
    """A host whose zonehost commands (and so its bridges, VNICs and nft
    tables) all live in a network namespace of the test's own; returns
    (host, image_uuid) with the busybox image installed.  Addresses used in
    tests come from 198.18.0.0/15 or 192.0.2.0/24 only."""
    ns = new_netns()
    h = Host(new_root(), netns=ns)
    m, f, manifest = busybox_image
    try:
        h.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
        yield h, manifest["uuid"]
    finally:
        leaked = h.teardown()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert not leaked, "test left mounts behind: %r" % leaked


@pytest.fixture(scope="session")
def busybox_image(tmp_path_factory):
    """(manifest_path, file_path, manifest) of a busybox image built once."""
    out = tmp_path_factory.mktemp("img")
    cp = subprocess.run([os.path.join(TOOLS, "mkimage-busybox"), str(out)],
                        capture_output=True, text=True, check=True)
    manifest_path, file_path = cp.stdout.split()[:2]
    with open(manifest_path) as f:
        manifest = json.load(f)
    return manifest_path, file_path, manifest


@pytest.fixture
def imghost(host, busybox_image):
    """A host with the busybox image installed; returns (host, image_uuid)."""
    m, f, manifest = busybox_image
    host.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
    return host, manifest["uuid"]


def new_uuid():
    return str(uuidlib.uuid4())


# The HVM test disk and its zvol image (tools/mkimage-hvm), built once per run.
from hvm import hvm_disk, hvm_kernel, hvm_zvol_image  # noqa: E402,F401

# The OCI callers (containerd, Podman) and their busybox image (issue 14).
import sys  # noqa: E402
sys.path.insert(0, os.path.join(TOP, "tests", "helpers"))
from oci_fixtures import containerd, nsbox, oci_image, oci_runtime, podman  # noqa: E402,F401

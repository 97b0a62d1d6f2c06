"""pytest fixtures of the OCI callers (tests/helpers/oci.py), imported by
tests/system/conftest.py: oci_image (session), oci_runtime (parametrized:
runc, crun, zonehost), nsbox, containerd, podman."""
import os
import shutil

import pytest

from oci import (CMD, RUNTIMES, Containerd, HostPaths, NsBox, Podman, busybox_oci_image,
                 runtime_binary, zonehost_runc)

# Host paths the callers make on their own (tests/helpers/oci.py): each
# fixture removes those it saw made, and this session fixture, at the very
# end, those still there that were absent when the session began (a late
# `podman container cleanup` runs `crun delete` without --root after the
# fixture that started it is gone).
SESSION_PATHS = ["/run/containerd", "/run/containerd/s", "/run/containerd/fifo",
                 "/var/lib/containers", "/var/lib/containers/cache", "/run/runc", "/run/crun",
                 "/run/zonehost-runc"]


@pytest.fixture(scope="session")
def oci_host_paths():
    hp = HostPaths(SESSION_PATHS, ["/var/lib/containers/cache/blob-info-cache-v1.boltdb"])
    yield hp
    hp.close()


class Runtime:
    """The runtime under test: name ("runc", "crun", "zonehost"), the path
    the callers get, and for zonehost the test's Host (its pool)."""

    def __init__(self, name, path, host=None):
        self.name, self.path, self.host = name, path, host

    def __repr__(self):
        return "Runtime(%s, %s)" % (self.name, self.path)


@pytest.fixture(scope="session")
def oci_image():
    return busybox_oci_image()


@pytest.fixture(params=RUNTIMES)
def oci_runtime(request, tmp_path):
    """Each test runs once per runtime; zonehost's is skipped while its
    binary is not in the build."""
    name = request.param
    if name == "zonehost":
        if zonehost_runc() is None:
            pytest.skip("zonehost-runc is not built in %s (issue 14, branch oci-runtime)" % CMD)
        host = request.getfixturevalue("host")
        host.ok(os.path.join(CMD, "zonehost"), "pool", "create", "--size", "1G")
        return Runtime(name, runtime_binary(name, str(tmp_path), host.root), host)
    path = runtime_binary(name, str(tmp_path))
    if not os.access(path, os.X_OK):
        pytest.skip("%s is not installed (tools/install-deps)" % name)
    return Runtime(name, path)


@pytest.fixture
def nsbox(oci_runtime):
    # crun refuses the build machine's hybrid cgroup layout: its callers
    # run without the cgroup2 mount (tests/helpers/oci.py, NsBox).
    box = NsBox(hide_unified=oci_runtime.name == "crun")
    yield box
    box.close()


@pytest.fixture
def containerd(oci_host_paths, oci_runtime, oci_image, nsbox):
    if not shutil.which("containerd"):
        pytest.skip("containerd is not installed (tools/install-deps)")
    c = Containerd(nsbox, oci_runtime.path, oci_image)
    c.runtime = oci_runtime
    yield c
    c.close()


@pytest.fixture
def podman(oci_host_paths, oci_runtime, oci_image, nsbox):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (tools/install-deps)")
    p = Podman(nsbox, oci_runtime.path, oci_image)
    p.rt = oci_runtime
    yield p
    p.close()

"""`make install PREFIX=DIR` puts every tool under DIR/sbin with its man page
and the boot unit, and the installed tools work from there."""
import os
import subprocess

from conftest import TOP, Host, new_root

TOOLS = ["vmadm", "imgadm", "zonehost"]


def test_make_install_prefix(tmp_path):
    prefix = tmp_path / "prefix"
    build = tmp_path / "build"
    cp = subprocess.run(["make", "-C", TOP, "install", "PREFIX=%s" % prefix, "BUILD=%s" % build],
                        capture_output=True, text=True, timeout=600)
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-3000:]
    for t in TOOLS:
        assert os.access(prefix / "sbin" / t, os.X_OK), t
        assert (prefix / "share" / "man" / "man8" / (t + ".8")).is_file(), t
    for t in ("mdatad", "mdata-tool", "mdata-get"):    # the metadata server and guest tools
        assert os.access(prefix / "libexec" / "zonehost" / t, os.X_OK), t
    unit = prefix / "lib" / "systemd" / "system" / "zonehost-pools.service"
    assert unit.is_file()
    assert str(prefix / "sbin" / "zonehost") in unit.read_text()

    # The installed tools work from there, on a private host root.
    h = Host(new_root())
    try:
        r = h.run(prefix / "sbin" / "zonehost", "sysinfo")
        assert r.rc == 0, r
        r = h.run(prefix / "sbin" / "vmadm", "list")
        assert r.rc == 0, r
        assert r.out.split() == ["UUID", "TYPE", "RAM", "STATE", "ALIAS"]
    finally:
        assert not h.teardown()

"""The metadata service in real zones (issue 13; docs/architecture.md §23).

Each test boots busybox zones with `vmadm create` + `vmadm start` and runs
the guest tools inside them with zlogin, over the zone's socket
(/.zonecontrol/metadata.sock) and over its serial line (/dev/ttyS1).
"""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import CMD
from leaks import census, mdatad_pids
from test_vmadm_util import create, get, wait_for
from test_zlogin import start, zone_pids

ZLOGIN = os.path.join(CMD, "zlogin")
TOOLS = "/native/usr/sbin"
SERIAL = {"ZH_MDATA_SOCKET": ""}

USER_SCRIPT = "#!/bin/sh\necho hello from user-script\n"
KEYS = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0 test@example\n"


def zl(h, u, *args, input=None, env=None, timeout=60):
    cmd = list(args)
    if env:
        cmd = ["env"] + ["%s=%s" % kv for kv in env.items()] + cmd
    return h.run(ZLOGIN, u, *cmd, input=input, timeout=timeout)


def mdata(h, u, verb, *args, serial=False, input=None):
    return zl(h, u, "%s/mdata-%s" % (TOOLS, verb), *args, input=input,
              env=SERIAL if serial else None)


def payload(**extra):
    p = {
        "alias": "md-alias",
        "hostname": "md-host",
        "resolvers": ["192.0.2.53"],
        "customer_metadata": {
            "user-script": USER_SCRIPT,
            "user-data": "some user data",
            "root_authorized_keys": KEYS,
            "color": "blue",
        },
        "internal_metadata": {"ns:secret": "s3", "admin_pw": "pw", "hidden": "no",
                              "operator-script": "#!/bin/sh\necho op\n"},
        "tags": {"role": "web"},
        "internal_metadata_namespaces": ["ns"],
    }
    p.update(extra)
    return p


@pytest.fixture
def mdzone(imghost):
    h, img = imghost
    u = create(h, img, **payload())
    start(h, u)
    yield h, u
    r = h.vmadm("delete", u)
    assert r.rc == 0, r
    assert zone_pids(u) == set()


@pytest.mark.parametrize("serial", [False, True], ids=["socket", "serial"])
def test_get_every_family(mdzone, serial):
    h, u = mdzone
    r = mdata(h, u, "get", "sdc:uuid", serial=serial)
    assert (r.rc, r.out) == (0, u + "\n"), r
    assert mdata(h, u, "get", "sdc:hostname", serial=serial).out == "md-host\n"
    assert mdata(h, u, "get", "sdc:alias", serial=serial).out == "md-alias\n"
    assert json.loads(mdata(h, u, "get", "sdc:resolvers", serial=serial).out) == ["192.0.2.53"]
    assert mdata(h, u, "get", "user-script", serial=serial).out == USER_SCRIPT
    assert mdata(h, u, "get", "user-data", serial=serial).out == "some user data\n"
    assert mdata(h, u, "get", "root_authorized_keys", serial=serial).out == KEYS
    assert mdata(h, u, "get", "ns:secret", serial=serial).out == "s3\n"
    assert mdata(h, u, "get", "admin_pw", serial=serial).out == "pw\n"
    r = mdata(h, u, "get", "hidden", serial=serial)
    assert (r.rc, r.out) == (1, ""), r
    r = mdata(h, u, "get", "sdc:server_uuid", serial=serial)
    assert r.rc == 0 and len(r.out.strip()) == 36, r
    assert mdata(h, u, "get", "sdc:operator-script", serial=serial).out == "#!/bin/sh\necho op\n"
    assert mdata(h, u, "get", "sdc:tags.role", serial=serial).out == "web\n"
    assert mdata(h, u, "get", "sdc:customer_metadata.color", serial=serial).out == "blue\n"
    assert json.loads(mdata(h, u, "get", "sdc:nics", serial=serial).out) == []
    assert mdata(h, u, "get", "sdc:brand", serial=serial).out == "joyent\n"
    vm = get(h, u)
    assert mdata(h, u, "get", "sdc:image_uuid", serial=serial).out == vm["image_uuid"] + "\n"
    assert mdata(h, u, "get", "sdc:zonename", serial=serial).out == vm["zonename"] + "\n"
    r = mdata(h, u, "get", "sdc:no_such_field", serial=serial)
    assert (r.rc, r.out) == (1, ""), r
    keys = mdata(h, u, "list", serial=serial).out.split()
    assert set(keys) == {"user-script", "user-data", "root_authorized_keys", "color",
                         "ns:secret", "admin_pw"}, keys


@pytest.mark.parametrize("serial", [False, True], ids=["socket", "serial"])
def test_put_delete_reach_the_config(mdzone, serial):
    h, u = mdzone
    r = mdata(h, u, "put", "fruit", "apple", serial=serial)
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"]["fruit"] == "apple"
    assert mdata(h, u, "get", "fruit", serial=serial).out == "apple\n"
    r = mdata(h, u, "put", "fruit", serial=serial, input="pear")
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"]["fruit"] == "pear"
    r = mdata(h, u, "delete", "fruit", serial=serial)
    assert r.rc == 0, r
    assert "fruit" not in get(h, u)["customer_metadata"]
    r = mdata(h, u, "get", "fruit", serial=serial)
    assert r.rc == 1, r
    r = mdata(h, u, "put", "sdc:hostname", "evil", serial=serial)
    assert r.rc == 2 and 'Cannot update the "sdc" Namespace.' in r.err, r
    r = mdata(h, u, "delete", "ns:secret", serial=serial)
    assert r.rc == 2 and 'Cannot update the "ns" Namespace.' in r.err, r
    assert get(h, u)["hostname"] == "md-host"


def test_vmadm_update_visible_at_once(mdzone):
    h, u = mdzone
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"color": "red"}}))
    assert r.rc == 0, r
    assert mdata(h, u, "get", "color").out == "red\n"
    r = h.vmadm("update", u, input=json.dumps({"remove_customer_metadata": ["color"]}))
    assert r.rc == 0, r
    assert mdata(h, u, "get", "color").rc == 1
    assert h.vmadm("update", u, "alias=renamed").rc == 0
    assert mdata(h, u, "get", "sdc:alias").out == "renamed\n"
    r = h.vmadm("update", u, input=json.dumps({"hostname": "md-new", "resolvers": ["192.0.2.54"],
                                                "set_internal_metadata": {"ns:k": "v2"}}))
    assert r.rc == 0, r
    assert mdata(h, u, "get", "sdc:hostname").out == "md-new\n"
    assert json.loads(mdata(h, u, "get", "sdc:resolvers").out) == ["192.0.2.54"]
    assert mdata(h, u, "get", "ns:k", serial=True).out == "v2\n"


# ---- the server process ----

MDATAD = os.path.join(CMD, "mdatad")
TOOL = os.path.join(CMD, "mdata-tool")


def server_pids(u):
    """mdatad processes in VM u's cgroup (any leaf)."""
    out = []
    for pid in zone_pids(u):
        try:
            if os.readlink("/proc/%d/exe" % pid).endswith("/mdatad"):
                out.append(pid)
        except OSError:
            pass
    return out


def all_servers():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) == MDATAD:
                    out.append(int(d))
            except OSError:
                pass
    return out


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def sock_path(h, u):
    return os.path.join(h.root, "run", "zonehost", u, "zonecontrol", "metadata.sock")


def host_get(h, u, key, timeout=30):
    """mdata-get run on the host against the zone's socket; (rc, out, seconds)."""
    t0 = time.monotonic()
    cp = subprocess.run(["mdata-get", key], executable=TOOL, capture_output=True, text=True,
                        env={"ZH_MDATA_SOCKET": sock_path(h, u)}, timeout=timeout)
    return cp.returncode, cp.stdout, time.monotonic() - t0


def test_server_unprivileged_in_the_vm_cgroup(mdzone):
    h, u = mdzone
    pids = wait_for(lambda: server_pids(u), 10)
    assert len(pids) == 1 and mdatad_pids([u]) == pids, pids
    st = status(pids[0])
    uid = get(h, u)["zonehost_id_base"] + 1000 if "zonehost_id_base" in get(h, u) else None
    assert all(int(x) != 0 for x in st["Uid"].split()), st["Uid"]
    assert all(int(x) != 0 for x in st["Gid"].split()), st["Gid"]
    if uid is not None:
        assert int(st["Uid"].split()[0]) == uid
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0, st
    assert int(st["CapPrm"], 16) == 0 and int(st["CapAmb"], 16) == 0, st
    assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1", st
    with open("/proc/%d/cgroup" % pids[0]) as f:
        assert u in f.read()
    # It holds only its fds: the channel, the listener, the pty master, epoll, timer.
    fds = os.listdir("/proc/%d/fd" % pids[0])
    targets = [os.readlink("/proc/%d/fd/%s" % (pids[0], fd)) for fd in fds]
    assert not [t for t in targets if t.startswith("/") and not t.startswith("/dev/")], targets


def test_devices_and_paths_in_the_zone(mdzone):
    h, u = mdzone
    r = zl(h, u, "sh", "-c", "ls -ln /dev/ttyS1 /.zonecontrol/metadata.sock; "
                             "ls /native/usr/sbin; touch /.zonecontrol/x 2>&1; "
                             "echo > /native/usr/sbin/mdata-get 2>&1; true")
    assert r.rc == 0, r
    assert "/dev/ttyS1" in r.out and "metadata.sock" in r.out, r
    assert "mdata-delete\nmdata-get\nmdata-list\nmdata-put" in r.out, r
    assert (r.out + r.err).count("Read-only file system") == 2, r
    # remounted read-write by the zone's root, the binds still give it nothing of the host's
    r = zl(h, u, "sh", "-c", "mount -o remount,bind,rw /.zonecontrol 2>&1; "
                             "mount -o remount,bind,rw /native/usr/sbin/mdata-get 2>&1; "
                             "touch /.zonecontrol/x 2>&1; echo > /native/usr/sbin/mdata-get; "
                             "true")
    assert not os.path.exists(os.path.join(os.path.dirname(sock_path(h, u)), "x")), r
    assert os.path.getsize(TOOL) > 0 and os.access(TOOL, os.X_OK)
    assert mdata(h, u, "get", "sdc:uuid").out == u + "\n"


def test_kill9_zoneadmd_leaves_no_server(mdzone):
    h, u = mdzone
    pid = wait_for(lambda: server_pids(u), 10)[0]
    zad = int(status(pid)["PPid"])
    os.kill(zad, 9)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), 15), "mdatad outlived zoneadmd"
    assert wait_for(lambda: get(h, u)["state"] == "stopped", 15)
    assert not os.path.exists(sock_path(h, u))
    assert zone_pids(u) == set()
    assert census(h, [u])["mdatad"] == 0 and census(h, [u])["cgroups"] == 0


# ---- hostile and busy guests ----

def raw(h, u):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path(h, u))
    return s


def test_garbage_half_frame_and_stalls_block_nobody(mdzone):
    h, u = mdzone
    held = []
    try:
        half = raw(h, u)
        half.sendall(b"V2 40 12345678 abcd GET c2RjOnV1aWQ")      # half a frame, then silence
        junk = raw(h, u)
        junk.sendall(os.urandom(300000).replace(b"\n", b"x"))   # past the line bound, no LF
        deaf = raw(h, u)                                         # asks, never reads
        deaf.setblocking(False)
        try:
            for _ in range(20000):
                deaf.send(b"GET sdc:uuid\n" * 64)
        except BlockingIOError:
            pass
        held += [half, junk, deaf]
        for _ in range(40):                                      # more than the server keeps
            held.append(raw(h, u))
        rc, out, secs = host_get(h, u, "sdc:uuid")
        assert (rc, out) == (0, u + "\n") and secs < 5, (rc, out, secs)
        # the serial line: half a frame left on it, then a real client
        r = zl(h, u, "sh", "-c", "printf 'V2 40 1234' > /dev/ttyS1")
        assert r.rc == 0, r
        r = mdata(h, u, "get", "sdc:uuid", serial=True)
        assert (r.rc, r.out) == (0, u + "\n"), r
    finally:
        for s in held:
            s.close()
    rc, out, _ = host_get(h, u, "sdc:hostname")
    assert (rc, out) == (0, "md-host\n")


def flood(h, u, stop, counts):
    """Pipelined V1 GETs on one connection until stop is set; counts answers."""
    s = raw(h, u)
    s.settimeout(5)
    buf = b""
    try:
        while not stop.is_set():
            s.sendall(b"GET sdc:uuid\n" * 32)
            got = 0
            while got < 32 and not stop.is_set():
                try:
                    buf += s.recv(65536)
                except socket.timeout:
                    continue
                n = buf.count(b"\n.\n")
                got += n
                buf = buf[buf.rfind(b"\n.\n") + 3:] if n else buf
            counts.append(got)
    except OSError:
        pass
    finally:
        s.close()


def latencies(h, u, n=15):
    out = []
    for _ in range(n):
        rc, val, secs = host_get(h, u, "sdc:uuid")
        assert (rc, val) == (0, u + "\n")
        out.append(secs)
    return sorted(out)


def test_flood_does_not_slow_another_zone(imghost):
    import threading
    h, img = imghost
    a = create(h, img, **payload(alias="flooder"))
    b = create(h, img, **payload(alias="victim"))
    try:
        start(h, a)
        start(h, b)
        base = latencies(h, b)
        stop, counts = threading.Event(), []
        threads = [threading.Thread(target=flood, args=(h, a, stop, counts)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(3)                    # past the bucket's burst
        c0, t0 = sum(counts), time.monotonic()
        busy = latencies(h, b)
        time.sleep(max(0.0, 4 - (time.monotonic() - t0)))
        rate = (sum(counts) - c0) / (time.monotonic() - t0)
        stop.set()
        for t in threads:
            t.join(10)
        print("victim GET p50 %.1f ms idle, %.1f ms while the other zone floods; flooder "
              "served %.0f req/s" % (base[len(base) // 2] * 1000, busy[len(busy) // 2] * 1000,
                                     rate))
        assert busy[len(busy) // 2] < max(5 * base[len(base) // 2], base[len(base) // 2] + 0.25)
        assert 100 < rate < 300, rate    # the bucket: 200/s after a burst of 400
        rc, out, _ = host_get(h, a, "sdc:alias")
        assert (rc, out) == (0, "flooder\n")
    finally:
        for u in (a, b):
            assert h.vmadm("delete", u).rc == 0


def test_lx_zone_socket_path(host, busybox_image, tmp_path):
    """lx zones find the socket where SmartOS's lx brand puts it."""
    import uuid as uuidlib
    h = host
    m, f, manifest = busybox_image
    lx = dict(manifest, uuid=str(uuidlib.uuid4()), type="lx-dataset")
    (tmp_path / "lx.json").write_text(json.dumps(lx))
    h.ok(os.path.join(CMD, "imgadm"), "install", "-m", str(tmp_path / "lx.json"), "-f", f)
    u = create(h, lx["uuid"], **payload(brand="lx", kernel_version="4.3.0"))
    try:
        start(h, u)
        r = zl(h, u, "sh", "-c", "ls /native/.zonecontrol; ls /.zonecontrol 2>&1; true")
        assert r.out.startswith("metadata.sock\n"), r
        assert "No such file" in r.out, r
        r = zl(h, u, "env", "ZH_MDATA_SOCKET=/native/.zonecontrol/metadata.sock",
               TOOLS + "/mdata-get", "sdc:brand")
        assert (r.rc, r.out) == (0, "lx\n"), r
        r = mdata(h, u, "get", "sdc:hostname")
        assert (r.rc, r.out) == (0, "md-host\n"), r
    finally:
        assert h.vmadm("delete", u).rc == 0


def zone_loop_seconds(h, u, n, serial):
    """Seconds for n mdata-get runs inside the zone (busybox time)."""
    env = "ZH_MDATA_SOCKET= " if serial else ""
    loop = ("i=0; while [ $i -lt %d ]; do %s%s/mdata-get sdc:uuid >/dev/null || exit 1; "
            "i=$((i+1)); done" % (n, env, TOOLS))
    r = zl(h, u, "time", "sh", "-c", loop)
    assert r.rc == 0, r
    line = [l for l in r.err.splitlines() if l.startswith("real")][0]  # "real\t0m 0.42s"
    m, s = line.split()[1:3]
    return int(m[:-1]) * 60 + float(s[:-1])


def test_get_latency_socket_and_serial(mdzone):
    """The figures of docs/testing.md: one GET from inside a zone, tool start included."""
    h, u = mdzone
    n = 50
    sock, ser = zone_loop_seconds(h, u, n, False), zone_loop_seconds(h, u, n, True)
    print("in-zone mdata-get sdc:uuid: %.1f ms over the socket, %.1f ms over /dev/ttyS1"
          % (sock / n * 1000, ser / n * 1000))
    assert sock / n < 1 and ser / n < 1
    # the server alone: one V1 GET's round trip on a connection held open (within the burst)
    s, rtt = raw(h, u), []
    try:
        for _ in range(200):
            t0 = time.monotonic()
            s.sendall(b"GET sdc:uuid\n")
            buf = b""
            while not buf.endswith(b"\n.\n"):
                buf += s.recv(4096)
            rtt.append(time.monotonic() - t0)
    finally:
        s.close()
    rtt.sort()
    print("server round trip (host socket): p50 %.3f ms, p99 %.3f ms"
          % (rtt[100] * 1000, rtt[197] * 1000))
    assert rtt[100] < 0.1


def test_big_values_both_ways(mdzone):
    """A 100,000-byte user-script set by vmadm reaches the guest; a guest's 100,000-byte PUT
    reaches the config (the channel's datagrams and the session's line bound hold them)."""
    h, u = mdzone
    big = "".join("echo line %05d\n" % i for i in range(6250))     # 100,000 bytes
    r = h.vmadm("update", u, input=json.dumps({"set_customer_metadata": {"user-script": big}}))
    assert r.rc == 0, r
    r = mdata(h, u, "get", "user-script")
    assert r.rc == 0 and r.out == big, (r.rc, len(r.out))
    r = mdata(h, u, "get", "user-script", serial=True)
    assert r.rc == 0 and r.out == big, (r.rc, len(r.out))
    blob = "x" * 100000
    r = mdata(h, u, "put", "blob", input=blob)
    assert r.rc == 0, r
    assert get(h, u)["customer_metadata"]["blob"] == blob


def test_live_nics_update_visible(nethost):
    """A live nics change (CTL_UPDATE_NET, then CTL_MDATA) reaches sdc:nics at once."""
    from test_net_vnics import add_tag, nic
    h, img = nethost
    add_tag(h)
    u = create(h, img, **payload(nics=[nic("198.18.0.61/24")]))
    try:
        start(h, u)
        nics = json.loads(mdata(h, u, "get", "sdc:nics").out)
        assert [n["ip"] for n in nics] == ["198.18.0.61"], nics
        r = h.vmadm("update", u, input=json.dumps({"add_nics": [nic("198.18.0.62/24")]}))
        assert r.rc == 0, r
        nics = json.loads(mdata(h, u, "get", "sdc:nics").out)
        assert [n["ip"] for n in nics] == ["198.18.0.61", "198.18.0.62"], nics
    finally:
        assert h.vmadm("delete", u).rc == 0


def test_reboot_gets_a_new_server(mdzone):
    h, u = mdzone
    old = wait_for(lambda: server_pids(u), 10)
    r = h.vmadm("reboot", u)
    assert r.rc == 0, r
    new = wait_for(lambda: [p for p in server_pids(u) if p not in old], 30)
    assert len(new) == 1 and server_pids(u) == new, (old, new)
    assert not any(os.path.exists("/proc/%d" % p) for p in old)
    r = wait_for(lambda: mdata(h, u, "get", "sdc:hostname").rc == 0, 30)
    assert mdata(h, u, "get", "sdc:hostname").out == "md-host\n"
    assert mdata(h, u, "get", "sdc:uuid", serial=True).out == u + "\n"


def test_guest_writes_paced_and_capped(mdzone):
    """A guest's PUTs start at most ten `vmadm update` a second, and stop at 4 MiB."""
    h, u = mdzone
    loop = ("i=0; while [ $i -lt 40 ]; do head -c 120000 /dev/zero | tr '\\0' x | "
            "%s/mdata-put k$i 2>&1 || echo FAIL $i; i=$((i+1)); done" % TOOLS)
    t0 = time.monotonic()
    r = zl(h, u, "sh", "-c", loop, timeout=300)
    secs = time.monotonic() - t0
    fails = [l for l in r.out.splitlines() if l.startswith("FAIL")]
    log = open(os.path.join(get(h, u)["zonepath"], "logs", "zoneadmd.log")).read()
    assert "Metadata too large (4 MiB at most)" in r.out, (r, [l for l in log.splitlines()
                                                              if "metadata" in l])
    assert fails and int(fails[0].split()[1]) >= 33, fails
    st = status(server_pids(u)[0])
    print("40 guest PUTs of 120,000 bytes: %.1f s, refused from k%s on; server VmHWM %s"
          % (secs, fails[0][5:], st["VmHWM"].strip()))
    assert secs >= 3.2
    md = get(h, u)["customer_metadata"]
    assert len(md["k0"]) == 120000 and "k39" not in md


def test_server_killed_is_started_again(mdzone):
    """A server that dies (the VM's OOM killer, its filter) comes back on the same transports,
    three times a boot; then the guest has none until the next boot."""
    h, u = mdzone
    for n in range(3):
        old = wait_for(lambda: server_pids(u), 10)
        os.kill(old[0], 9)
        new = wait_for(lambda: [p for p in server_pids(u) if p not in old], 10)
        assert len(new) == 1, (n, old, new)
        assert mdata(h, u, "get", "sdc:uuid").out == u + "\n"
        assert mdata(h, u, "get", "sdc:uuid", serial=True).out == u + "\n"
    os.kill(server_pids(u)[0], 9)
    assert wait_for(lambda: not server_pids(u) and not os.path.exists(sock_path(h, u)), 10)
    log = open(os.path.join(get(h, u)["zonepath"], "logs", "zoneadmd.log")).read()
    assert log.count("metadata: server restarted") == 3
    assert "no metadata until the next boot" in log
    assert get(h, u)["state"] == "running"

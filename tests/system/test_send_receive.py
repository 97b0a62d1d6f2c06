"""vmadm send / receive (issue 5 §3): two hosts on one machine (two
ZONEHOST_ROOTs, two pools).  Full and incremental streams keep the VM's
uuid, config and files; a truncated or tampered stream and a receive of an
existing uuid fail with exit 1 and leave nothing behind."""
import ctypes
import json
import os
import subprocess
import time

from conftest import CMD
from test_vmadm_util import create, get, pool_mount, trash_settled

VMADM = os.path.join(CMD, "vmadm")
HDR = 512


def send(h, u, *args):
    cp = subprocess.run([VMADM, "send", u, *args], env=h.env, capture_output=True,
                        stdin=subprocess.DEVNULL, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr.decode() == "Successfully sent VM %s\n" % u
    return cp.stdout


def receive(h, data):
    cp = subprocess.run([VMADM, "receive"], env=h.env, input=data, capture_output=True,
                        timeout=120)
    return cp.returncode, cp.stderr.decode()


def root_file(h, u, name):
    return os.path.join(pool_mount(h), u, "root", name)


def write(h, u, name, text):
    with open(root_file(h, u, name), "w") as f:
        f.write(text)


def read(h, u, name):
    with open(root_file(h, u, name)) as f:
        return f.read()


def leftovers(h):
    """Entries of the pool, once the dropped datasets are destroyed."""
    mnt = pool_mount(h)
    trash_settled(h)
    if not os.path.isdir(mnt):
        return []
    return sorted(n for n in os.listdir(mnt) if n not in ("lost+found", ".vmadm"))


def chunks(data):
    """[(name, header offset, size)] of a bundle."""
    out, off = [], 0
    while off < len(data):
        f = data[off:off + HDR].split(b"\0")
        name, size = f[3].decode(), int(f[4])
        out.append((name, off, size))
        off += HDR + int(f[5])
    return out


def test_full_send_receive(imghost, host2):
    h, img = imghost
    u = create(h, img, alias="mover", quota=5)
    write(h, u, "marker", "hello from host 1\n")
    data = send(h, u)
    names = [c[0] for c in chunks(data)]
    assert names[0] == "JSON" and names[-1] == "END"
    assert u + "@sending" in names
    assert not os.path.exists(os.path.join(pool_mount(h), u + "@sending"))
    rc, err = receive(host2, data)
    assert rc == 0, err
    assert err == "Successfully received VM %s\n" % u
    assert read(host2, u, "marker") == "hello from host 1\n"
    vm = get(host2, u)
    assert vm["uuid"] == u and vm["alias"] == "mover" and vm["quota"] == 5
    assert vm["state"] == "stopped"
    assert [n for n in leftovers(host2) if n.startswith(".recv")] == []
    # a uuid that exists is refused, host unchanged
    before = leftovers(host2)
    rc, err = receive(host2, data)
    assert rc == 1 and err == "VM %s already exists\n" % u
    assert leftovers(host2) == before
    # its uid/gid range, taken before the VM lock (lock order: host, then
    # VM), went back: the next new VM gets the slot after this one's
    u3 = create(h, img, alias="next")
    rc, err = receive(host2, send(h, u3))
    assert rc == 0, err
    assert get(host2, u3)["zonehost_id_base"] == vm["zonehost_id_base"] + 65536
    assert host2.vmadm("delete", u3).rc == 0
    # the received VM starts
    r = host2.vmadm("start", u)
    assert r.rc == 0, r
    assert host2.vmadm("stop", "-F", u).rc == 0


def test_incremental(imghost, host2):
    h, img = imghost
    u = create(h, img)
    write(h, u, "a", "one\n")
    assert h.vmadm("create-snapshot", u, "s1").rc == 0
    write(h, u, "a", "two\n")
    rc, err = receive(host2, send(h, u))
    assert rc == 0, err
    assert read(host2, u, "a") == "two\n"
    assert os.path.isdir(os.path.join(pool_mount(host2), u + "@vmsnap-s1"))
    assert [s["name"] for s in get(host2, u)["snapshots"]] == ["s1"]
    write(h, u, "a", "three\n")
    write(h, u, "b", "new\n")
    data = send(h, u, "-s", "s1")
    assert len(data) < 1 << 20
    rc, err = receive(host2, data)
    assert rc == 0, err
    assert read(host2, u, "a") == "three\n"
    assert read(host2, u, "b") == "new\n"
    assert sorted(leftovers(host2)) == sorted([u, u + "@vmsnap-s1"])
    # an incremental onto a host without the VM is refused
    r = h.vmadm("delete", u)
    assert r.rc == 0, r
    rc, err = receive(h, data)
    assert rc == 1 and "does not exist" in err
    assert u not in leftovers(h)


def test_bad_streams_leave_nothing(imghost, host2):
    h, img = imghost
    u = create(h, img)
    write(h, u, "marker", "x" * 100000)
    data = send(h, u)
    assert receive(host2, b"")[0] == 1
    host2.vmadm("list")     # make sure the pool exists for the comparison
    before = leftovers(host2)
    ds = [c for c in chunks(data) if c[0] == u + "@sending" and c[2] > 0][0]
    tampered = bytearray(data)
    tampered[ds[1] + HDR + ds[2] // 2] ^= 0xff
    cut = data[:len(data) // 2]
    no_end = data[:chunks(data)[-1][1]]
    bad_hdr = bytearray(data)
    bad_hdr[ds[1]] ^= 0xff
    for bad, msg in ((bytes(tampered), "checksum mismatch"), (cut, "truncated"),
                     (no_end, "truncated"), (bytes(bad_hdr), "bad chunk header")):
        rc, err = receive(host2, bad)
        assert rc == 1, err
        assert msg in err, err
        assert leftovers(host2) == before
        assert host2.vmadm("get", u).rc == 1
        assert not [f for _, _, fs in os.walk(host2.root) for f in fs if u in f]
    rc, err = receive(host2, data)
    assert rc == 0, err
    assert read(host2, u, "marker") == "x" * 100000


def test_files_and_pipes(imghost, host2, tmp_path):
    """Several MiB (many chunks) through a regular file (send's output and
    receive's input are spliced to and from it) and through a pipe."""
    h, img = imghost
    u = create(h, img)
    blob = os.urandom(5 << 20)
    with open(root_file(h, u, "blob"), "wb") as f:
        f.write(blob)
    path = tmp_path / "bundle"
    with open(path, "wb") as f:
        cp = subprocess.run([VMADM, "send", u], env=h.env, stdout=f, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert len([c for c in chunks(path.read_bytes()) if c[0] == u + "@sending"]) > 5
    with open(path, "rb") as f:
        cp = subprocess.run([VMADM, "receive"], env=host2.env, stdin=f, capture_output=True,
                            timeout=120)
    assert cp.returncode == 0, cp.stderr
    with open(root_file(host2, u, "blob"), "rb") as f:
        assert f.read() == blob
    assert host2.vmadm("delete", u).rc == 0
    sender = subprocess.Popen([VMADM, "send", u], env=h.env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    cp = subprocess.run([VMADM, "receive"], env=host2.env, stdin=sender.stdout,
                        capture_output=True, timeout=120)
    sender.stdout.close()
    assert sender.wait(timeout=60) == 0 and cp.returncode == 0, cp.stderr
    with open(root_file(host2, u, "blob"), "rb") as f:
        assert f.read() == blob


def received_uuid(h, ds):
    out = subprocess.run(["btrfs", "subvolume", "show", os.path.join(pool_mount(h), ds)],
                         capture_output=True, text=True, check=True).stdout
    return [ln.split(":", 1)[1].strip() for ln in out.splitlines()
            if ln.strip().startswith("Received UUID")][0]


def test_received_dataset_is_the_vms_own(imghost, host2):
    """The received dataset is writable and carries no received uuid (its own
    snapshots must never pass for the sender's); the snapshots keep theirs so
    a later incremental finds its base; the old dataset of an incremental
    receive is dropped and destroyed after the command returns."""
    h, img = imghost
    u = create(h, img)
    assert h.vmadm("create-snapshot", u, "s1").rc == 0
    assert receive(host2, send(h, u))[0] == 0
    assert received_uuid(host2, u) == "-"
    assert received_uuid(host2, u + "@vmsnap-s1") != "-"
    write(host2, u, "local", "writable\n")
    write(h, u, "a", "next\n")
    rc, err = receive(host2, send(h, u, "-s", "s1"))
    assert rc == 0, err
    assert received_uuid(host2, u) == "-"
    assert read(host2, u, "a") == "next\n"
    assert not os.path.exists(root_file(host2, u, "local"))
    assert sorted(leftovers(host2)) == sorted([u, u + "@vmsnap-s1"])
    out = subprocess.run(["btrfs", "subvolume", "list", pool_mount(host2)],
                         capture_output=True, text=True, check=True).stdout
    assert ".trash-" not in out and "-recv" not in out


def xxh128(b):
    lib = ctypes.CDLL("libxxhash.so.0")

    class H(ctypes.Structure):
        _fields_ = [("low64", ctypes.c_uint64), ("high64", ctypes.c_uint64)]
    lib.XXH3_128bits.restype = H
    lib.XXH3_128bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    h = lib.XXH3_128bits(b, len(b))
    return "%016x%016x" % (h.high64, h.low64)


def with_config(data, change):
    """The stream with its JSON chunk's VM config changed (and re-checksummed,
    as a sender would make it)."""
    _, off, size = chunks(data)[0]
    body = json.loads(data[off + HDR:off + HDR + size])
    change(body["vm"])
    new = json.dumps(body).encode()
    pad = (len(new) + HDR - 1) // HDR * HDR
    hdr = b"\0".join([b"MAGIC-VMBUNDLE", b"1", b"CHECKSUM", b"JSON", str(len(new)).encode(),
                      str(pad).encode(), xxh128(new).encode()]) + b"\0"
    rest = off + HDR + (size + HDR - 1) // HDR * HDR
    return hdr.ljust(HDR, b"\0") + new.ljust(pad, b"\0") + data[rest:]


def test_received_config_is_validated(imghost, host2):
    """The config in a stream is input from another host: checked by the
    receive rules before anything lands; a bad one leaves nothing."""
    h, img = imghost
    u = create(h, img)
    data = send(h, u)
    host2.vmadm("list")
    before = leftovers(host2)
    cases = [(lambda vm: vm.update(quota="lots"), '"bad_values":["quota"]'),
             (lambda vm: vm.update(evil=1), '"bad_properties":["evil"]'),
             (lambda vm: vm.update(brand="nosuch"), '"bad_brand":"nosuch"'),
             (lambda vm: vm.update(filesystems=[{"source": 5}]), '"filesystems.*.source"')]
    for change, msg in cases:
        rc, err = receive(host2, with_config(data, change))
        assert rc == 1, err
        assert err.startswith("invalid VM config in stream: ") and msg in err, err
        assert leftovers(host2) == before
        assert host2.vmadm("get", u).rc == 1
    rc, err = receive(host2, with_config(data, lambda vm: vm.update(alias="renamed")))
    assert rc == 0, err
    assert get(host2, u)["alias"] == "renamed"


def nic(mac, ip):
    return {"nic_tag": "stub0", "mac": mac, "ip": ip, "netmask": "255.255.255.0",
            "primary": True}


def test_received_nics_must_not_conflict(imghost, host2):
    """A received VM's NICs are checked against the receiving host's VMs as
    create checks them: no MAC twice, no IP twice on one tag."""
    h, img = imghost
    a, b = create(h, img), create(h, img)
    da, db = send(h, a), send(h, b)
    nics = lambda *n: lambda vm: vm.update(nics=list(n))  # noqa: E731
    rc, err = receive(host2, with_config(da, nics(nic("02:08:20:00:00:01", "198.18.0.9"))))
    assert rc == 0, err
    before = leftovers(host2)
    for bad in (nic("02:08:20:00:00:01", "198.18.0.10"), nic("02:08:20:00:00:02", "198.18.0.9")):
        rc, err = receive(host2, with_config(db, nics(bad)))
        assert rc == 1 and "Conflict detected with another vm" in err, err
        assert leftovers(host2) == before
        assert host2.vmadm("get", b).rc == 1
    rc, err = receive(host2, with_config(db, nics(nic("02:08:20:00:00:02", "198.18.0.10"))))
    assert rc == 0, err


def test_send_bad_input(imghost):
    h, img = imghost
    u = create(h, img)
    r = h.vmadm("send", u, "-s", "nope", env=None)
    assert r.rc == 1
    assert 'snapshot with name "nope" does not exist' in r.err
    r = h.vmadm("send", "00000000-0000-0000-0000-000000000001")
    assert r.rc == 1
    r = h.vmadm("send", u, "-s", "bad/name")
    assert r.rc == 2
    assert not os.path.exists(os.path.join(pool_mount(h), u + "@sending"))


def received_then_changed(h, host2, img):
    """A VM with snapshot s1 received on host2 (file a "one"), then changed
    (a "two"): (its uuid, the incremental stream from s1)."""
    u = create(h, img)
    write(h, u, "a", "one\n")
    assert h.vmadm("create-snapshot", u, "s1").rc == 0
    assert receive(host2, send(h, u))[0] == 0
    write(h, u, "a", "two\n")
    return u, send(h, u, "-s", "s1")


def test_state_receiving(imghost, host2):
    """An incremental receive in progress shows `state: receiving`; a stream
    cut off there leaves the VM as it was."""
    h, img = imghost
    u, data = received_then_changed(h, host2, img)
    first = [c for c in chunks(data) if c[0] != "JSON"][0]
    p = subprocess.Popen([VMADM, "receive"], env=host2.env, stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    p.stdin.write(data[:first[1] + HDR])
    p.stdin.flush()
    for _ in range(100):
        if get(host2, u)["state"] == "receiving":
            break
        time.sleep(0.05)
    assert get(host2, u)["state"] == "receiving"
    p.stdin.close()
    assert p.wait(timeout=60) == 1
    assert b"truncated" in p.stderr.read()
    p.stderr.close()
    assert get(host2, u)["state"] == "stopped"
    assert read(host2, u, "a") == "one\n"
    assert sorted(leftovers(host2)) == sorted([u, u + "@vmsnap-s1"])


def test_migration(imghost, host2):
    """Full send while the zone runs, stop, incremental send, start on the
    target; the downtime (stop .. started on the target) is printed."""
    h, img = imghost
    u = create(h, img)
    assert h.vmadm("start", u).rc == 0
    write(h, u, "data", "before\n")
    assert h.vmadm("create-snapshot", u, "m1").rc == 0
    assert receive(host2, send(h, u))[0] == 0
    t0 = time.monotonic()
    assert h.vmadm("stop", u).rc == 0
    write(h, u, "data", "after\n")
    rc, err = receive(host2, send(h, u, "-s", "m1"))
    assert rc == 0, err
    assert host2.vmadm("start", u).rc == 0
    downtime = time.monotonic() - t0
    print("migration downtime: %.3f s" % downtime)
    assert get(host2, u)["state"] == "running"
    assert read(host2, u, "data") == "after\n"
    assert host2.vmadm("stop", "-F", u).rc == 0

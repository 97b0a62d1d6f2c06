"""vmadm receive attacked by a hostile sender (issue 10 classes 1, 2 and 3,
issue 15's stalled pipe): hand-made btrfs send streams (sendstream.py)
that try to write host files through symlinks and renames, to plant links
the clean-up or the move into place would follow, and to change the base
snapshot of an incremental; a config that grants host paths.  Each is
refused, exit 1, and the host is left as it was: no file outside the pool,
the pool's entries, subvolumes and the other datasets' files unchanged."""
import os
import subprocess
import time
import uuid as uuidlib

from conftest import CMD
from sendstream import Stream, bundle, json_of, mkfile, rename, symlink
from test_send_receive import (chunks, leftovers, read, receive, received_then_changed, send,
                               with_config, write)
from test_vmadm_util import create, get, pool_mount

VMADM = os.path.join(CMD, "vmadm")


def subvols(h):
    out = subprocess.run(["btrfs", "subvolume", "list", pool_mount(h)], capture_output=True,
                         text=True, check=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines())


def tree(path):
    """Every path under path (not following links): a link's target, a
    small file's contents, a big one's size (the pool's image file)."""
    out = {}
    for dirpath, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if os.path.islink(p):
                out[p] = "-> " + os.readlink(p)
            elif os.path.isfile(p) and st.st_size <= 1 << 16:
                with open(p, "rb") as f:
                    out[p] = f.read()
            else:
                out[p] = (st.st_mode, st.st_size)
    return out


def cacheless(t):
    """tree() without the host index, a cache of the configs that the first
    command to need it makes (<run>/index/, its lock; docs/architecture.md)."""
    return {p: v for p, v in t.items()
            if "/run/zonehost/index" not in p and not p.endswith("/locks/index.lock")}


class HostState:
    """What must not change on the receiving host."""

    def __init__(self, h, *watch):
        self.h, self.watch = h, watch
        self.before = self.take()

    def take(self):
        return (leftovers(self.h), subvols(self.h), [cacheless(tree(w)) for w in self.watch])

    def same(self):
        assert self.take() == self.before


def full(name, *build):
    """A full stream of one dataset, subvolume name, with root/, then build(stream)."""
    s = Stream()
    s.subvol(name)
    s.mkdir("root")
    for b in build:
        b(s)
    return s.end()


def test_stream_cannot_write_outside_its_dataset(imghost, host2, tmp_path):
    """Class 1: symlinks to host directories, absolute and climbing, and a
    rename out of the dataset; the write lands nowhere outside it."""
    h, img = imghost
    u = create(h, img)
    vm = json_of(send(h, u))
    target = tmp_path / "hostdir"
    target.mkdir()
    evil = "evil-" + uuidlib.uuid4().hex
    climb = "../" * 24 + str(target).lstrip("/")
    attacks = {
        "absolute symlink": lambda s: (s.symlink("root/x", str(target)),
                                       s.mkfile("root/x/" + evil),
                                       s.write("root/x/" + evil, b"owned\n")),
        "climbing symlink": lambda s: (s.symlink("root/x", climb), s.mkfile("root/x/" + evil)),
        "symlink to /": lambda s: (s.symlink("root/x", "/"), s.mkfile("root/x/" + evil),
                                   s.write("root/x/" + evil, b"owned\n")),
        "rename out": lambda s: (s.mkfile("root/f"), s.write("root/f", b"owned\n"),
                                 s.rename("root/f", climb + "/" + evil)),
        "rename beside": lambda s: (s.mkfile("root/f"), s.rename("root/f", "../" + evil)),
    }
    host2.ok(os.path.join(CMD, "zonehost"), "pool", "create")
    state = HostState(host2, str(target), host2.root)
    for what, attack in attacks.items():
        rc, err = receive(host2, bundle(vm, [(u + "@sending", full(u + "@sending", attack))]))
        assert rc == 1, (what, err)
        assert "btrfs receive failed: ERROR: " in err or "refused stream: " in err, (what, err)
        assert os.listdir(target) == [], what
        assert not os.path.exists("/" + evil), what
        state.same()
        assert host2.vmadm("get", u).rc == 1
    # the same stream without the attack is received
    rc, err = receive(host2, bundle(vm, [(u + "@sending", full(u + "@sending"))]))
    assert rc == 0, err


def test_stream_links_in_the_inbox_reach_no_dataset(imghost, host2, busybox_image):
    """Class 2: a stream leaves symlinks named like the datasets still to
    come (or like the one it carries) pointing at another VM's dataset; the
    clean-up and the move into place must act on neither the link's target
    nor the other VM's nested subvolume."""
    h, img = imghost
    u = create(h, img)
    vm = json_of(send(h, u))
    m, f, _ = busybox_image
    host2.ok(os.path.join(CMD, "imgadm"), "install", "-m", m, "-f", f)
    v = create(host2, img)
    pool2 = pool_mount(host2)
    victim = os.path.join(pool2, v)
    subprocess.run(["btrfs", "subvolume", "create", os.path.join(victim, "root", "nested")],
                   check=True, capture_output=True)
    with open(os.path.join(victim, "root", "nested", "keep"), "w") as fh:
        fh.write("victim data\n")
    write(host2, v, "marker", "mine\n")
    state = HostState(host2, victim)
    snap, sending = u + "@vmsnap-a", u + "@sending"
    links = {
        "link as the next dataset": [
            (snap, full(snap, lambda s: s.symlink("../" + sending, "../" + v))),
            (sending, full(sending))],
        "absolute link as the next dataset": [
            (snap, full(snap, lambda s: s.symlink("../" + sending, victim))),
            (sending, full(sending))],
    }
    # the dataset chunk makes another subvolume and a link with the dataset's own name
    other = Stream()
    other.subvol("zzz")
    other.mkdir("root")
    other.symlink("../" + u + "@sending", "../" + v)
    links["link as the dataset itself"] = [(u + "@sending", other.end())]
    # a dataset whose root/ is a link to the host's root
    rootlink = Stream()
    rootlink.subvol(u + "@sending")
    rootlink.symlink("root", "/")
    links["root/ a link"] = [(u + "@sending", rootlink.end())]
    for what, datasets in links.items():
        rc, err = receive(host2, bundle(vm, datasets))
        assert rc == 1, (what, err)
        state.same()
        assert read(host2, v, "marker") == "mine\n"
        assert host2.vmadm("get", u).rc == 1
        assert not any(os.path.islink(os.path.join(pool2, n)) for n in os.listdir(pool2))


def recv_with(h, data, *args):
    cp = subprocess.run([VMADM, "receive", *args], env=h.env, input=data,
                        capture_output=True, timeout=120)
    return cp.returncode, cp.stderr.decode()


def test_incremental_cannot_touch_its_base(imghost, host2):
    """Class 2, incremental: the base snapshot is moved into the receive's
    inbox for the receive; a stream that renames it away, or links to it,
    is refused and the base is back in place, unchanged, and a good
    incremental still applies on it afterwards."""
    h, img = imghost
    u, good = received_then_changed(h, host2, img)
    ds = [c for c in chunks(good) if c[0] == u + "@sending"]
    raw = b"".join(good[off + 512:off + 512 + size] for _, off, size in ds)
    base = os.path.join(pool_mount(host2), u + "@vmsnap-s1")
    state = HostState(host2, base, os.path.join(pool_mount(host2), u))
    parsed = Stream.parse(raw)
    b = ".base-%s@vmsnap-s1" % u
    hostile = {
        "rename the base": [rename("../" + b, "../stolen")],
        "link to the base": [symlink("../x", b)],
        "write into the base": [symlink("root/b", "/%s/root" % b), mkfile("root/b/evil")],
        "write into the base by a relative link": [symlink("root/c", "../../%s/root" % b),
                                                   mkfile("root/c/evil")],
    }
    vm = json_of(good)
    for what, extra in hostile.items():
        data = bundle(vm, [(u + "@sending", parsed.replay(extra))], frm="s1")
        rc, err = receive(host2, data)
        assert rc == 1, (what, err)
        state.same()
        assert read(host2, u, "a") == "one\n"
        assert [s["name"] for s in get(host2, u)["snapshots"]] == ["s1"]
    rc, err = receive(host2, good)
    assert rc == 0, err
    assert read(host2, u, "a") == "two\n"


def test_stalled_input_ends_the_receive(imghost, host2):
    """Issue 15: a sender that stops sending ends the receive under the
    low-speed rule (here 1 KiB/s over 2 s), exit 1, nothing left, the VM's
    lock released; a slow but steady sender is not cut off."""
    h, img = imghost
    u = create(h, img)
    write(h, u, "blob", "x" * (256 << 10))
    data = send(h, u)
    host2.ok(os.path.join(CMD, "zonehost"), "pool", "create")
    before = leftovers(host2)
    for cut in (chunks(data)[1][1] + 512 + 1000, 100):
        p = subprocess.Popen([VMADM, "receive", "--low-speed-time", "2"], env=host2.env,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        t0 = time.monotonic()
        p.stdin.write(data[:cut])
        p.stdin.flush()
        try:
            rc = p.wait(timeout=90)
        finally:
            p.stdin.close()
        took = time.monotonic() - t0
        err = p.stderr.read().decode()
        p.stderr.close()
        assert rc == 1, err
        assert "stream stalled: fewer than 1024 bytes/s arrived over 2 s" in err, err
        assert took >= 2, took
        assert leftovers(host2) == before
        assert host2.vmadm("get", u).rc == 1
    # slow but steady: 2 KiB every 0.25 s (8 KiB/s) with a 4 KiB/s rule over 2 s
    p = subprocess.Popen([VMADM, "receive", "--low-speed-limit", "4096", "--low-speed-time", "2"],
                         env=host2.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    head = chunks(data)[1][1]
    p.stdin.write(data[:head])
    for off in range(head, head + (64 << 10), 2048):
        p.stdin.write(data[off:off + 2048])
        p.stdin.flush()
        time.sleep(0.25)
    p.stdin.write(data[head + (64 << 10):])
    p.stdin.close()
    assert p.wait(timeout=120) == 0, p.stderr.read()
    p.stderr.close()
    assert get(host2, u)["uuid"] == u
    # bad values are usage errors
    assert recv_with(host2, b"", "--low-speed-time", "x")[0] == 2
    assert recv_with(host2, b"", "--low-speed-limit")[0] == 2


def test_config_reaching_outside_the_vm_needs_the_operator(imghost, host2):
    """Class 3: a stream's config that grants host paths (filesystems),
    host datasets, hypervisor options or anti-spoofing exemptions is
    refused, naming them, unless the operator passes --allow-host-access."""
    h, img = imghost
    u = create(h, img)
    data = send(h, u)
    host2.ok(os.path.join(CMD, "zonehost"), "pool", "create")
    before = leftovers(host2)
    etc = [{"type": "lofs", "source": "/etc", "target": "/hostetc", "options": ["rw"]}]
    spoof = [{"nic_tag": "stub0", "mac": "02:08:20:00:00:09", "ip": "198.18.0.9",
              "netmask": "255.255.255.0", "primary": True, "allow_ip_spoofing": True}]
    cases = [({"filesystems": etc}, '["filesystems"]'),
             ({"datasets": ["zones/other"]}, '["datasets"]'),
             ({"nics": spoof}, '["nics.*.allow_ip_spoofing"]'),
             ({"filesystems": etc, "nics": spoof},
              '["filesystems","nics.*.allow_ip_spoofing"]')]
    for change, names in cases:
        rc, err = receive(host2, with_config(data, lambda vm: vm.update(change)))
        assert rc == 1, err
        assert err.startswith("VM config in stream reaches outside the VM: " + names), err
        assert "--allow-host-access" in err
        assert leftovers(host2) == before
        assert host2.vmadm("get", u).rc == 1
    # harmless values of those properties are fine
    ok = [{"nic_tag": "stub0", "mac": "02:08:20:00:00:0a", "ip": "198.18.0.10",
           "netmask": "255.255.255.0", "primary": True, "allow_ip_spoofing": False}]
    rc, err = receive(host2, with_config(data, lambda vm: vm.update(filesystems=[], nics=ok)))
    assert rc == 0, err
    assert host2.vmadm("delete", u).rc == 0
    # the operator who trusts the sender allows it
    rc, err = recv_with(host2, with_config(data, lambda vm: vm.update(filesystems=etc)),
                        "--allow-host-access")
    assert rc == 0, err
    assert get(host2, u)["filesystems"][0]["source"] == "/etc"

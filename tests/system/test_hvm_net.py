"""HVM NICs without QEMU (issue 12, NICs): taps, anti-spoofing, VLANs and
the host-side DHCP responder, on real kernel objects.

The topology is test_antispoof's: an etherstub bridge "stub0" in a network
namespace of the test's own, with zones (veth pairs, rules by nft-apply)
as listeners.  tests/helpers/hvm-net makes a fake kvm VM's taps there with
net_tap_create_all, starts a DHCP responder per NIC (dhcp_responder_spawn)
and holds the tap fds: the test plays the guest through it, writing frames
into a tap and reading what the guest would receive.
Addresses: 198.18.0.0/24 only.
"""
import json
import os
import select
import socket
import struct
import subprocess
import uuid as uuidlib

import pytest

from test_antispoof import (BCAST, HELPERS, PROBE, Topo, received, topo,  # noqa: F401
                            vm_counters, vm_prefix)
from test_vmadm_util import wait_for

HVM_NET = os.path.join(HELPERS, "hvm-net")
pytestmark = pytest.mark.skipif(
    not (os.path.exists(HVM_NET) and os.path.exists(PROBE)) or os.geteuid() != 0,
    reason="needs root, tests/helpers/hvm-net and probe")

BASE = 40 << 16
GUEST_MAC = "02:00:c6:12:00:0a"
GUEST_IP = "198.18.0.10"


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip_udp(src_mac, dst_mac, src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + hdr + udp


def arp(src_mac, sender_ip, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac_bytes(src_mac),
                       socket.inet_aton(sender_ip), b"\0" * 6, socket.inet_aton(target_ip))
    return mac_bytes(BCAST) + mac_bytes(src_mac) + b"\x08\x06" + body


def dhcp_frame(mac, msgtype, xid, opts=b""):
    b = bytearray(240)
    b[0:3] = bytes([1, 1, 6])
    b[4:8] = struct.pack("!I", xid)
    b[28:34] = mac_bytes(mac)
    b[236:240] = b"\x63\x82\x53\x63"
    b += bytes([53, 1, msgtype]) + opts + b"\xff"
    return ip_udp(mac, BCAST, "0.0.0.0", "255.255.255.255", 68, 67, bytes(b))


def parse_reply(f):
    """(fields, options) of a DHCP answer frame, None if it is not one."""
    if len(f) < 14 + 20 + 8 + 240 or f[12:14] != b"\x08\x00" or f[23] != 17:
        return None
    ihl = (f[14] & 0xf) * 4
    udp = 14 + ihl
    if struct.unpack("!HH", f[udp:udp + 4]) != (67, 68):
        return None
    b = f[udp + 8:]
    opts, i = {}, 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        opts[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return {"xid": struct.unpack("!I", b[4:8])[0], "yiaddr": socket.inet_ntoa(b[16:20]),
            "dst_mac": f[0:6], "ip_dst": socket.inet_ntoa(f[30:34])}, opts


class HvmVm:
    """A fake kvm VM whose taps hvm-net made and holds."""

    def __init__(self, t, nics, uuid=None, base=BASE):
        self.topo, self.uuid = t, uuid or str(uuidlib.uuid4())
        self.vm = {"uuid": self.uuid, "brand": "kvm", "zonehost_id_base": base,
                   "hostname": "guest-1", "resolvers": ["198.18.0.53", "198.18.0.54"],
                   "nics": nics}
        self.path = os.path.join(str(t.tmp), self.uuid + ".json")
        with open(self.path, "w") as f:
            json.dump(self.vm, f)
        self.p = subprocess.Popen(["ip", "netns", "exec", t.ns, HVM_NET, "create", self.path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=t.env, text=True, bufsize=1)
        self.taps = []
        for line in iter(self.p.stdout.readline, ""):
            if line.strip() == "ready":
                break
            _, i, name, pid = line.split()
            self.taps.append((name, int(pid)))

    def ok(self):
        return len(self.taps) == len(self.vm["nics"]) and self.p.poll() is None

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        r, _, _ = select.select([self.p.stdout], [], [], 30)
        assert r, "hvm-net did not answer " + line[:40]
        return self.p.stdout.readline().strip()

    def send(self, i, frame):
        assert self.cmd("send %d %s" % (i, frame.hex())) == "sent"

    def recv(self, i, ms=3000):
        r = self.cmd("recv %d %d" % (i, ms))
        return bytes.fromhex(r.split()[1]) if r.startswith("frame ") else None

    def dhcp(self, i, msgtype, xid, opts=b"", mac=None):
        """Send a DHCP message; the answer with that xid, or None."""
        self.send(i, dhcp_frame(mac or self.vm["nics"][i]["mac"], msgtype, xid, opts))
        for _ in range(20):
            f = self.recv(i, 1500)
            if f is None:
                return None
            r = parse_reply(f)
            if r and r[0]["xid"] == xid:
                return r
        return None

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        return self.p.returncode

    def remove(self):
        return self.topo.run(HVM_NET, "remove", self.path, check=False)


def nic(n=10, **kw):
    d = {"interface": "net0", "nic_tag": "stub0", "mac": "02:00:c6:12:00:%02x" % n,
         "ips": ["198.18.0.%d/24" % n], "gateways": ["198.18.0.1"]}
    d.update(kw)
    return d


@pytest.fixture
def vms(topo):  # noqa: F811
    made = []

    def make(*a, **kw):
        v = HvmVm(topo, *a, **kw)
        made.append(v)
        return v
    yield make
    for v in made:
        v.close()
        v.remove()


def links(t):
    return t.run("ip", "-o", "link", "show").stdout


def test_dhcp_offer_ack_and_jail(topo, vms):  # noqa: F811
    v = vms([nic(mtu=1400)])
    assert v.ok(), v.p.stderr.read()
    name, pid = v.taps[0]
    assert name == "vt" + v.uuid.replace("-", "")[:8] + "0"
    fields, o = v.dhcp(0, 1, 0x1111)
    assert fields["yiaddr"] == GUEST_IP and fields["dst_mac"] == mac_bytes(GUEST_MAC)
    assert o[53] == b"\x02" and o[1] == socket.inet_aton("255.255.255.0")
    assert o[3] == socket.inet_aton("198.18.0.1") and o[54] == o[3]
    assert o[6] == socket.inet_aton("198.18.0.53") + socket.inet_aton("198.18.0.54")
    assert o[12] == b"guest-1" and struct.unpack("!I", o[51])[0] == 86400
    assert struct.unpack("!H", o[26])[0] == 1400
    req = bytes([50, 4]) + socket.inet_aton(GUEST_IP) + bytes([54, 4]) + o[54]
    fields, o = v.dhcp(0, 3, 0x2222, req)
    assert o[53] == b"\x05" and fields["yiaddr"] == GUEST_IP
    bad = bytes([50, 4]) + socket.inet_aton("198.18.0.99")
    assert v.dhcp(0, 3, 0x3333, bad)[1][53] == b"\x06"            # NAK
    assert v.dhcp(0, 1, 0x4444, mac="02:00:c6:12:00:66") is None  # another MAC: silence
    # the responder: its own process, unprivileged, no capabilities, seccomp'd
    with open("/proc/%d/status" % pid) as f:
        st = dict(l.split(":", 1) for l in f.read().splitlines())
    assert st["Uid"].split() == [str(BASE + 1001)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(BASE + 1001)] * 4
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert int(st["CapBnd"], 16) == 0 and st["Groups"].strip() == ""
    assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1"


def test_dhcp_nic_gets_no_responder(topo, vms):  # noqa: F811
    v = vms([nic(ips=["dhcp"])])
    assert v.ok() and v.taps[0][1] == 0


def test_spoofed_frames_dropped(topo, vms):  # noqa: F811
    z = topo.zone(2)
    v = vms([nic()])
    assert v.ok(), v.p.stderr.read()
    p = z.listen()
    v.send(0, ip_udp(GUEST_MAC, z.mac, GUEST_IP, z.ip, 9999, 9999, b"legit"))
    v.send(0, ip_udp("02:00:c6:12:00:66", z.mac, GUEST_IP, z.ip, 9999, 9999, b"bad-mac"))
    v.send(0, ip_udp(GUEST_MAC, z.mac, "198.18.0.77", z.ip, 9999, 9999, b"bad-ip"))
    v.send(0, ip_udp(GUEST_MAC, z.mac, GUEST_IP, z.ip, 9999, 9999, b"legit2"))
    assert received(p, 2) == ["legit", "legit2"]
    v.send(0, arp(GUEST_MAC, z.ip, "198.18.0.3"))               # the peer's IP
    v.send(0, arp(GUEST_MAC, "198.18.0.9", z.ip))               # someone else's
    v.send(0, arp(GUEST_MAC, GUEST_IP, z.ip))                   # legit

    def counted():
        c = vm_counters(topo.run("nft", "-j", "list", "counters", "table", "bridge",
                                 "zonehost").stdout, v.uuid)
        return c["n0_bad_mac"], c["n0_bad_ip4"], c["n0_bad_arp"]
    assert wait_for(lambda: counted() == (1, 1, 2), 30), counted()
    assert wait_for(lambda: GUEST_MAC in z.neigh(GUEST_IP), 30)
    assert "lladdr" not in z.neigh("198.18.0.9")
    # the guest receives unicast for its own MAC only (allow_unfiltered_promisc)
    z.rawsend(z.mac, "02:00:c6:12:00:77", "ip", z.ip, "198.18.0.77", "udp", 9, 9, "other")
    z.rawsend(z.mac, GUEST_MAC, "ip", z.ip, GUEST_IP, "udp", 9, 9, "mine")
    got = list(iter(lambda: v.recv(0, 1500), None))
    assert any(b"mine" in f for f in got) and not any(b"other" in f for f in got)
    assert wait_for(lambda: vm_counters(topo.run("nft", "-j", "list", "counters", "table",
                                                 "bridge", "zonehost").stdout,
                                        v.uuid)["n0_promisc"] >= 1, 30)


def test_vlan_as_zone_vnics(topo, vms):  # noqa: F811
    same, other = topo.zone(2, vlan_id=10), topo.zone(3)
    v = vms([nic(vlan_id=10)])
    assert v.ok(), v.p.stderr.read()
    ps = [same.listen(), other.listen()]
    v.send(0, ip_udp(GUEST_MAC, BCAST, GUEST_IP, "198.18.0.255", 9999, 9999, b"bcast"))
    assert [received(p, n) for p, n in zip(ps, (1, 0))] == [["bcast"], []]


def test_all_or_nothing_and_removal(topo, vms):  # noqa: F811
    bad = vms([nic(), nic(11, interface="net1"), nic(12, interface="net2", nic_tag="nosuch")])
    assert bad.close() == 1 and "nosuch" in bad.p.stderr.read()
    assert "vt" + bad.uuid.replace("-", "")[:8] not in links(topo)
    assert vm_prefix(bad.uuid) not in topo.run("nft", "list", "ruleset").stdout
    v = vms([nic(), nic(11, interface="net1")])
    assert v.ok()
    pre = "vt" + v.uuid.replace("-", "")[:8]
    assert links(topo).count(pre) == 2
    # a VM whose uuid shares the 8 digits gets no tap, and removes none of v's
    twin = vms([nic(12)], uuid=v.uuid[:9] + str(uuidlib.uuid4())[9:], base=BASE + 65536)
    assert twin.close() == 1
    assert twin.remove().returncode == 0 and links(topo).count(pre) == 2
    v.close()
    assert v.remove().returncode == 0
    assert pre not in links(topo)
    assert "zonehost" not in topo.run("nft", "list", "tables").stdout

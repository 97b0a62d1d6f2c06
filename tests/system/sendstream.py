"""Hand-made btrfs send streams (format v1) and VM bundles, for the tests
that attack `vmadm receive` with what a hostile sender could write.

    s = Stream()
    s.subvol("<uuid>@sending")
    s.mkdir("root")
    s.symlink("root/x", "/etc")
    s.mkfile("root/x/evil")
    s.write("root/x/evil", b"owned\\n")
    data = bundle(vm_config, [("<uuid>@sending", s.end())])

A command is a 10-byte header (le32 length, le16 command, le32 crc32c of
header and payload with the crc field zero, seed 0, no final inversion)
then TLVs (le16 type, le16 length, value); see btrfs-progs send.h."""
import json
import struct
import uuid as uuidlib

from test_send_receive import HDR, xxh128

C_SUBVOL, C_MKFILE, C_MKDIR = 1, 3, 4
C_SYMLINK, C_RENAME, C_WRITE, C_CHMOD, C_END = 8, 9, 15, 18, 21
A_UUID, A_CTRANSID, A_INO, A_MODE = 1, 2, 3, 5
A_PATH, A_PATH_TO, A_PATH_LINK, A_FILE_OFFSET, A_DATA = 15, 16, 17, 18, 19


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data, crc=0):
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _tlv(t, v):
    return struct.pack("<HH", t, len(v)) + v


def _u64(t, n):
    return _tlv(t, struct.pack("<Q", n))


def _s(t, text):
    return _tlv(t, text.encode() if isinstance(text, str) else text)


def mkdir(path, ino=1000):
    return (C_MKDIR, _s(A_PATH, path), _u64(A_INO, ino))


def mkfile(path, ino=1001):
    return (C_MKFILE, _s(A_PATH, path), _u64(A_INO, ino))


def symlink(path, target, ino=1002):
    return (C_SYMLINK, _s(A_PATH, path), _u64(A_INO, ino), _s(A_PATH_LINK, target))


def rename(path, to):
    return (C_RENAME, _s(A_PATH, path), _s(A_PATH_TO, to))


def write(path, data, offset=0):
    return (C_WRITE, _s(A_PATH, path), _u64(A_FILE_OFFSET, offset), _tlv(A_DATA, data))


def chmod(path, mode):
    return (C_CHMOD, _s(A_PATH, path), _u64(A_MODE, mode))


class Stream:
    """A stream being written; each method adds one command."""

    def __init__(self):
        self.out = bytearray(b"btrfs-stream\0" + struct.pack("<I", 1))
        self.ino = 257
        self.cmds = []

    def cmd(self, c, *tlvs):
        body = b"".join(tlvs)
        hdr = struct.pack("<IHI", len(body), c, 0)
        crc = crc32c(hdr + body)
        self.out += struct.pack("<IHI", len(body), c, crc) + body

    def subvol(self, path, uid=None):
        self.cmd(C_SUBVOL, _s(A_PATH, path), _tlv(A_UUID, (uid or uuidlib.uuid4()).bytes),
                 _u64(A_CTRANSID, 7))

    def _ino(self):
        self.ino += 1
        return self.ino

    def mkdir(self, path):
        self.cmd(*mkdir(path, self._ino()))

    def mkfile(self, path):
        self.cmd(*mkfile(path, self._ino()))

    def symlink(self, path, target):
        self.cmd(*symlink(path, target, self._ino()))

    def rename(self, path, to):
        self.cmd(*rename(path, to))

    def write(self, path, data, offset=0):
        self.cmd(*write(path, data, offset))

    def chmod(self, path, mode):
        self.cmd(*chmod(path, mode))

    def end(self):
        self.cmd(C_END)
        return bytes(self.out)

    @classmethod
    def parse(cls, data):
        """A real stream's commands, to replay with hostile ones inserted."""
        s = cls()
        off = 17
        while off < len(data):
            n, c, _ = struct.unpack_from("<IHI", data, off)
            s.cmds.append((c, data[off + 10:off + 10 + n]))
            off += 10 + n
        return s

    def replay(self, before_end=()):
        """The parsed commands again, with the commands of before_end
        (tuples as mkfile() makes) inserted before the END."""
        out = Stream()
        for c, body in self.cmds:
            if c == C_END:
                for extra in before_end:
                    out.cmd(*extra)
            out.cmd(c, body)
        if not any(c == C_END for c, _ in self.cmds):
            for extra in before_end:
                out.cmd(*extra)
        return bytes(out.out)


def chunk(name, payload):
    pad = (len(payload) + HDR - 1) // HDR * HDR
    hdr = b"\0".join([b"MAGIC-VMBUNDLE", b"1", b"CHECKSUM", name.encode(),
                      str(len(payload)).encode(), str(pad).encode(),
                      xxh128(payload).encode()]) + b"\0"
    return hdr.ljust(HDR, b"\0") + payload.ljust(pad, b"\0")


def bundle(vm, datasets, frm=None):
    """A VM stream: the JSON chunk (config vm, incremental from frm), each
    (name, btrfs stream) in 1 MiB chunks closed by an empty one, END."""
    out = [chunk("JSON", json.dumps({"vm": vm, "from": frm}).encode())]
    for name, data in datasets:
        for off in range(0, len(data), 1 << 20):
            out.append(chunk(name, data[off:off + (1 << 20)]))
        out.append(chunk(name, b""))
    out.append(chunk("END", b""))
    return b"".join(out)


def json_of(data):
    """The VM config of a real stream's JSON chunk."""
    f = data[:HDR].split(b"\0")
    return json.loads(data[HDR:HDR + int(f[4])])["vm"]

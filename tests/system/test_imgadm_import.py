"""imgadm sources, avail, import and vacuum against a fixture IMGAPI server.

The server (http.server on 127.0.0.1, an ephemeral port) serves /images,
/images/UUID and /images/UUID/file from the busybox image (and from any image a test adds
to its `images` dict: uuid -> (manifest, file bytes)), in a mode the test
picks: "ok", "garbage" (answers that are not JSON), "badsum" (a
manifest whose sha1 does not match the file), "drop" (the first file
download is cut off half way) and "404".  Every failure must leave the pool
as it was: no image, no temp file.

It also misbehaves on the paths a test lists in `bad` (path -> how): it
stalls after the headers or mid-body, sends more than the manifest's size
or less and closes, redirects to file:// or in a loop, streams a 2 GiB JSON
answer, or trickles a file just above the speed limit; a second server
(`silent`) accepts connections and never answers.  Those tests import an
image while the busybox image (installed locally) serves a concurrent
`vmadm create`, and check that the import ends with one clear error in
bounded time, that the host lock was free while it talked to the server,
that the create took its normal time, and that the pool's usage is back
where it was.  Each prints a TIMING line (pytest -s shows them).
"""
import contextlib
import fcntl
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import types

import pytest

from conftest import CMD, new_uuid
from test_imgadm import assert_clean, ensure_pool, pool_mount
from test_vmadm_util import create

CHUNK = 64 * 1024
HUGE = 2 << 30  # the 2 GiB JSON answer, streamed


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, code, body, ctype="application/json", length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        srv.requests.append(self.path)
        if self.path in srv.bad:
            return MISBEHAVE[srv.bad[self.path]](self)
        m = srv.manifest
        if self.path == "/ping":
            return self.send(200, b'{"ping":"pong"}')
        if srv.mode == "404":
            return self.send(404, b'{"code":"ResourceNotFound"}')
        if srv.mode == "garbage" and not self.path.endswith("/file"):
            return self.send(200, b"<html>this is not json")
        if self.path == "/images":
            extra = [e[0] for e in srv.images.values()]
            return self.send(200, json.dumps(
                [m, dict(m, uuid=new_uuid(), state="disabled")] + extra).encode())
        if self.path == "/images/" + m["uuid"]:
            return self.send(200, json.dumps(m).encode())
        if self.path == "/images/%s/file" % m["uuid"]:
            return self.send_file()
        for u, (em, data) in srv.images.items():
            if self.path == "/images/" + u:
                return self.send(200, json.dumps(em).encode())
            if self.path == "/images/%s/file" % u and data is not None:
                return self.send(200, data, "application/octet-stream")
        return self.send(404, b'{"code":"ResourceNotFound"}')

    def send_file(self):
        srv = self.server
        if srv.mode == "drop" and not srv.dropped:
            srv.dropped = True
            self.send(200, srv.data[: len(srv.data) // 2], "application/octet-stream",
                      length=len(srv.data))
            self.close_connection = True
            return
        self.send(200, srv.data, "application/octet-stream")


    # ---- misbehaving ----

    def target(self):
        """(manifest, data) of the image the misbehaving path belongs to."""
        u = self.path.split("/")[2]
        return self.server.images[u]

    def reached(self):
        """The misbehaviour starts: tell the test, then wait until it opens the gate."""
        self.server.arrived.set()
        self.server.gate.wait(120)

    def reply_head(self, length=None, code=200, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()

    def stream(self, chunk, limit):
        """Write chunk again and again, up to limit bytes or until the client goes."""
        sent = 0
        try:
            while sent < limit:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        self.close_connection = True

    def stall_headers(self):
        _, data = self.target()
        self.reply_head(len(data))
        self.server.arrived.set()
        self.server.forever.wait(120)
        self.close_connection = True

    def stall_body(self):
        _, data = self.target()
        self.reply_head(len(data))
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.server.arrived.set()
        self.server.forever.wait(120)
        self.close_connection = True

    def too_big(self):
        """No Content-Length (the body ends at the close), the file, then zeros for ever."""
        _, data = self.target()
        self.reached()
        self.reply_head()
        try:
            self.wfile.write(data)
        except OSError:
            return
        self.stream(b"\0" * CHUNK, 8 << 30)

    def short(self):
        """Content-Length of the whole file, half of it, then a close: every time."""
        _, data = self.target()
        if self.server.requests.count(self.path) == 1:
            self.reached()
        self.reply_head(len(data))
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    def gated_file(self):
        _, data = self.target()
        self.reached()
        self.reply_head(len(data))
        self.wfile.write(data)

    def redirect(self, where):
        self.reached()
        self.reply_head(0, 302, [("Location", where)])

    def redirect_file(self):
        self.redirect("file:///etc/passwd")

    def redirect_loop(self):
        self.redirect(self.path)

    def huge_json(self):
        """A 2 GiB JSON answer, streamed: an array of small objects (no Content-Length)."""
        self.reached()
        self.reply_head()
        self.wfile.write(b"[")
        self.stream(b'{"uuid":"x"},' * (CHUNK // 13), HUGE)

    def huge_string(self):
        """A 2 GiB JSON answer, streamed: one string (no Content-Length)."""
        self.reached()
        self.reply_head()
        self.wfile.write(b'["')
        self.stream(b"a" * CHUNK, HUGE)

    def huge_length(self):
        """A 2 GiB JSON answer that says so in its Content-Length."""
        self.reached()
        self.reply_head(HUGE)
        self.wfile.write(b"[")
        self.stream(b'{"uuid":"x"},' * (CHUNK // 13), HUGE)

    def drip(self):
        """About 2.5 KiB/s, above the 1 KiB/s speed limit, of a file that never ends."""
        _, data = self.target()
        self.reply_head(len(data))
        self.server.arrived.set()
        for _ in range(10000):
            try:
                self.wfile.write(b"\0" * 256)
                self.wfile.flush()
            except OSError:
                break
            if self.server.forever.wait(0.1):
                break
        self.close_connection = True


MISBEHAVE = {
    "stall-headers": Handler.stall_headers,
    "stall-body": Handler.stall_body,
    "too-big": Handler.too_big,
    "short": Handler.short,
    "gated": Handler.gated_file,
    "redirect-file": Handler.redirect_file,
    "redirect-loop": Handler.redirect_loop,
    "huge-json": Handler.huge_json,
    "huge-string": Handler.huge_string,
    "huge-length": Handler.huge_length,
    "drip": Handler.drip,
}


@pytest.fixture
def imgapi(busybox_image):
    _, file_path, manifest = busybox_image
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.manifest = dict(manifest, state="active")
    srv.data = open(file_path, "rb").read()
    srv.mode = "ok"
    srv.dropped = False
    srv.requests = []
    srv.images = {}
    srv.bad = {}
    srv.arrived = threading.Event()
    srv.gate = threading.Event()
    srv.forever = threading.Event()
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.gate.set()
    srv.forever.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def silent():
    """A server that accepts connections (and reads requests) and never answers."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    conns = []
    arrived = threading.Event()

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            conns.append(c)
            arrived.set()

    threading.Thread(target=serve, daemon=True).start()
    yield types.SimpleNamespace(url="http://127.0.0.1:%d" % ls.getsockname()[1],
                                arrived=arrived)
    ls.shutdown(socket.SHUT_RDWR)
    ls.close()
    for c in conns:
        c.close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_sources(host):
    assert host.ok("imgadm", "sources").out == ""
    host.ok("imgadm", "sources", "-a", "http://127.0.0.1:1/")
    host.ok("imgadm", "sources", "-a", "https://images.example.com")
    assert host.ok("imgadm", "sources").out.split() == [
        "http://127.0.0.1:1", "https://images.example.com"]
    r = host.imgadm("sources", "-a", "http://127.0.0.1:1")
    assert r.rc == 1 and "already" in r.err, r
    r = host.imgadm("sources", "-a", "ftp://x")
    assert r.rc == 1 and "ftp://x" in r.err, r
    host.ok("imgadm", "sources", "-d", "http://127.0.0.1:1")
    assert host.ok("imgadm", "sources").out.split() == ["https://images.example.com"]
    r = host.imgadm("sources", "-d", "http://127.0.0.1:1")
    assert r.rc == 1 and "not configured" in r.err, r
    with open(os.path.join(host.root, "etc/zonehost/imgadm-sources.json")) as f:
        assert json.load(f) == ["https://images.example.com"]


def test_avail(host, imgapi):
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.ok("imgadm", "avail", "-j")
    assert [m["uuid"] for m in r.json()] == [imgapi.manifest["uuid"]]
    r = host.ok("imgadm", "avail", "-H", "-o", "uuid,name")
    assert r.out.split() == [imgapi.manifest["uuid"], imgapi.manifest["name"]]
    assert host.ok("imgadm", "avail").out.startswith("UUID")


def test_import(host, imgapi):
    uuid = imgapi.manifest["uuid"]
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.ok("imgadm", "import", uuid)
    assert "Imported image " + uuid in r.out
    assert r.err == ""  # no progress bar: stderr is not a tty
    got = host.ok("imgadm", "get", uuid).json()
    assert got["manifest"]["uuid"] == uuid
    assert got["source"] == imgapi.url and got["zpool"] == "zones" and got["clones"] == 0
    assert host.ok("imgadm", "list", "-H", "-o", "uuid,source").out.split() == [uuid, imgapi.url]
    assert os.listdir(os.path.join(host.root, "zones/.imgadm")) == [uuid + ".json"]
    r = host.ok("imgadm", "import", uuid)
    assert "already installed" in r.out


def check_fails(host, imgapi, mode, *words):
    ensure_pool(host)
    imgapi.mode = mode
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.imgadm("import", imgapi.manifest["uuid"])
    assert r.rc == 1, r
    for w in words:
        assert w in r.err, r
    assert_clean(host)


def test_import_404(host, imgapi):
    check_fails(host, imgapi, "404", "not found")


def test_import_garbage(host, imgapi):
    check_fails(host, imgapi, "garbage", imgapi.url + "/images/" + imgapi.manifest["uuid"])
    r = host.imgadm("avail")
    assert r.rc == 1 and imgapi.url + "/images" in r.err, r


def test_import_bad_checksum(host, imgapi):
    imgapi.manifest["files"] = [dict(imgapi.manifest["files"][0], sha1="0" * 40)]
    check_fails(host, imgapi, "ok", "sha1")


def test_import_unreachable(host):
    ensure_pool(host)
    url = "http://127.0.0.1:%d" % closed_port()
    host.ok("imgadm", "sources", "-a", url)
    r = host.imgadm("import", new_uuid())
    assert r.rc == 1 and url in r.err, r
    r = host.imgadm("avail")
    assert r.rc == 1 and url in r.err, r
    assert_clean(host)


def test_import_retry(host, imgapi):
    imgapi.mode = "drop"
    uuid = imgapi.manifest["uuid"]
    host.ok("imgadm", "sources", "-a", imgapi.url)
    host.ok("imgadm", "import", uuid)
    assert imgapi.dropped
    assert imgapi.requests.count("/images/%s/file" % uuid) == 2
    host.ok("imgadm", "get", uuid)


def test_vacuum(host, imgapi):
    uuid = imgapi.manifest["uuid"]
    host.ok("imgadm", "sources", "-a", imgapi.url)
    host.ok("imgadm", "import", uuid)
    vm = create(host, uuid)
    assert host.ok("imgadm", "vacuum").out == ""
    host.ok("vmadm", "delete", vm)
    r = host.ok("imgadm", "vacuum", "-n")
    assert r.out.startswith("Would delete image " + uuid)
    host.ok("imgadm", "get", uuid)
    r = host.ok("imgadm", "vacuum")
    assert r.out.startswith("Deleted image " + uuid)
    assert host.imgadm("get", uuid).rc == 3


def test_import_origin_not_found(host, imgapi):
    """An origin that no source has: refused before any download, nothing left."""
    origin = new_uuid()
    imgapi.manifest["origin"] = origin
    check_fails(host, imgapi, "ok", "origin image %s of image %s was not found in any source"
                % (origin, imgapi.manifest["uuid"]))
    assert not [r for r in imgapi.requests if r.endswith("/file")]


# ---- misbehaving servers: bounded in time and size, never under the host lock ----

IMGADM = os.path.join(CMD, "imgadm")
STALL = ["--speed-limit", "1024", "--speed-time", "3"]
GATED = ["--speed-limit", "1024", "--speed-time", "60"]
USAGE_SLACK = 1 << 20  # bytes: btrfs metadata of the VMs created meanwhile, and noise


def popen_imgadm(host, *args):
    return subprocess.Popen([IMGADM] + list(args), env=host.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextlib.contextmanager
def reaping(procs):
    """Kill whatever of the list procs still runs when the block ends (a failed assertion)."""
    try:
        yield
    finally:
        for p in procs:
            if p and p.poll() is None:
                p.kill()
                p.wait()


def host_lock_free(host):
    path = os.path.join(host.root, "run/zonehost/locks/host.lock")
    if not os.path.exists(path):
        return True
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
    return True


def pool_used(host):
    """Bytes used in the pool, once deleted subvolumes are cleaned and everything committed."""
    mp = pool_mount(host)
    for cmd in (["filesystem", "sync"], ["subvolume", "sync"], ["filesystem", "sync"]):
        # the first commit wakes the cleaner, which subvolume sync waits for
        subprocess.run(["btrfs"] + cmd + [mp], check=True, capture_output=True)
    st = os.statvfs(mp)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def stages(host):
    return [n for n in os.listdir(pool_mount(host)) if n.startswith(".stage-")]


def timed_create(host, image):
    t = time.monotonic()
    create(host, image)
    return time.monotonic() - t


def add_target(srv, **file0):
    """A new image the server offers with the busybox file; files[0] fields overridden."""
    m = json.loads(json.dumps(srv.manifest))
    m.update(uuid=new_uuid(), name="target")
    m["files"][0].update(file0)
    srv.images[m["uuid"]] = (m, srv.data)
    return m


def assert_gone(host, uuid, used):
    """No trace of the failed import: no dataset, record or stage, the pool's usage back."""
    mp = pool_mount(host)
    assert not os.path.exists(os.path.join(mp, uuid))
    assert not os.path.exists(os.path.join(mp, ".imgadm", uuid + ".json"))
    assert stages(host) == []
    assert host.imgadm("get", uuid).rc == 3
    now = pool_used(host)
    assert now <= used + USAGE_SLACK, (now, used)
    return now - used


def bad_import(case, host, img, srv, uuid, limits, gated, arrived=None, during=None):
    """Import uuid from a server that misbehaves, running a vmadm create while the import
    talks to it; returns (stderr, seconds to the error from the start of the misbehaviour,
    create seconds meanwhile, create seconds before)."""
    arrived = arrived or srv.arrived
    base = timed_create(host, img)
    used = pool_used(host)
    start = time.monotonic()
    p = popen_imgadm(host, "import", *limits, uuid)
    with reaping([p]):
        while not arrived.wait(0.1):
            assert p.poll() is None, "the import ended early: %r" % (p.communicate(),)
            assert time.monotonic() < start + 60, "the import never reached the server"
        start = time.monotonic()
        free = host_lock_free(host)
        if during:
            during(host)
        meanwhile = timed_create(host, img)
        running = p.poll() is None
        if gated:
            start = time.monotonic()
            srv.gate.set()
        _, err = p.communicate(timeout=120)
    took = time.monotonic() - start
    assert free, "the host lock was held while the import talked to the server"
    assert not gated or running, "the import ended before the server let it go on"
    assert p.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith("imgadm: error: "), err
    assert meanwhile < max(10 * base, base + 20), (meanwhile, base)
    grew = assert_gone(host, uuid, used)
    print("\nTIMING %-22s error after %5.2f s; vmadm create meanwhile %.2f s (alone %.2f s); "
          "pool usage %+d KiB\n       %s" % (case, took, meanwhile, base, grew >> 10,
                                             err.strip()))
    return err, took


def file_path(uuid):
    return "/images/%s/file" % uuid


@pytest.mark.parametrize("case", ["stall-headers", "stall-body", "drip"])
def test_import_stalls(imghost, imgapi, case):
    """No byte (or too few) for speed-time seconds: one error naming the URL and the stall."""
    host, img = imghost
    m = add_target(imgapi)
    imgapi.bad[file_path(m["uuid"])] = case
    host.ok("imgadm", "sources", "-a", imgapi.url)
    limits = STALL + (["--max-time", "5"] if case == "drip" else [])
    err, took = bad_import(case, host, img, imgapi, m["uuid"], limits, False)
    url = imgapi.url + file_path(m["uuid"])
    assert url in err, err
    size = m["files"][0]["size"]
    want = {"stall-headers": "stalled after 0 of %d bytes: less than 1024 bytes/s for 3 s" % size,
            "stall-body": "stalled after %d of %d bytes" % (size // 2, size),
            "drip": "not done within 5 s (max-time)"}[case]
    assert want in err, err
    assert 2 < took < 30, took
    assert imgapi.requests.count(file_path(m["uuid"])) == 1  # a stall is not retried


def check_stage_limit(size):
    def check(host):
        st = stages(host)
        assert len(st) == 1, st
        path = os.path.join(pool_mount(host), st[0])
        out = subprocess.run(["btrfs", "subvolume", "show", path], capture_output=True,
                             text=True, check=True).stdout
        sid = re.search(r"Subvolume ID:\s+(\d+)", out).group(1)
        out = subprocess.run(["btrfs", "qgroup", "show", "-re", "--raw", pool_mount(host)],
                             capture_output=True, text=True, check=True).stdout
        row = [l.split() for l in out.splitlines() if l.startswith("0/%s " % sid)]
        assert row and int(row[0][3]) == size + (1 << 20) + size // 64, out
    return check


BAD_FILES = {
    # case: (files[0] overrides, error words)
    "too-big": ({"size": 32 << 20}, ["more than the %d bytes" % (32 << 20),
                                     "stopped at byte %d" % ((32 << 20) + 1)]),
    "short": ({}, ["after 3 attempts", "transfer closed"]),
    "badsum": ({"sha1": "0" * 40}, ["SHA-1 is", "files[0].sha1", "is " + "0" * 40]),
    "redirect-file": ({}, ["redirected to file:///etc/passwd", "only redirects to http"]),
    "redirect-loop": ({}, ["more than 5 redirects"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_import_bad_file(imghost, imgapi, case):
    """The file is too big, too short, corrupt, or redirected badly: one clear error."""
    host, img = imghost
    over, words = BAD_FILES[case]
    m = add_target(imgapi, **over)
    imgapi.bad[file_path(m["uuid"])] = "gated" if case == "badsum" else case
    host.ok("imgadm", "sources", "-a", imgapi.url)
    during = check_stage_limit(m["files"][0]["size"]) if case == "too-big" else None
    err, took = bad_import(case, host, img, imgapi, m["uuid"], GATED, True, during=during)
    assert imgapi.url + file_path(m["uuid"]) in err, err
    for w in words:
        assert w in err, err
    assert took < 30, took
    tries = imgapi.requests.count(file_path(m["uuid"]))
    assert tries == {"short": 3, "redirect-loop": 6}.get(case, 1), imgapi.requests


@pytest.mark.parametrize("case", ["huge-length", "huge-json"])
def test_import_huge_manifest(imghost, imgapi, case):
    """A 2 GiB JSON answer for the manifest, announced or not: cut at 1 MiB, never held."""
    host, img = imghost
    uuid = new_uuid()
    imgapi.bad["/images/" + uuid] = case
    host.ok("imgadm", "sources", "-a", imgapi.url)
    err, took = bad_import(case, host, img, imgapi, uuid, GATED, True)
    assert "%s/images/%s: answer larger than 1048576 bytes (the limit for a manifest)" % (
        imgapi.url, uuid) in err, err
    assert took < 30, took


def test_import_no_answer(imghost, silent):
    """A server that accepts the connection and never answers."""
    host, img = imghost
    uuid = new_uuid()
    host.ok("imgadm", "sources", "-a", silent.url)
    err, took = bad_import("no-answer", host, img, None, uuid, STALL, False,
                           arrived=silent.arrived)
    assert "%s/images/%s: no answer" % (silent.url, uuid) in err, err
    assert 2 < took < 30, took


@pytest.mark.parametrize("case", ["stall-headers", "too-big"])
def test_import_origin_misbehaves(imghost, imgapi, case):
    """The same rules for the origin chain an import fetches: here the origin's manifest
    stalls, or its file is too big; nothing of the chain is left."""
    host, img = imghost
    origin = add_target(imgapi, **({"size": 8 << 20} if case == "too-big" else {}))
    child = add_target(imgapi)
    child["origin"] = origin["uuid"]
    path = "/images/" + origin["uuid"] + ("/file" if case == "too-big" else "")
    imgapi.bad[path] = "stall-headers" if case == "stall-headers" else "too-big"
    imgapi.gate.set()
    host.ok("imgadm", "sources", "-a", imgapi.url)
    err, took = bad_import("origin " + case, host, img, imgapi, child["uuid"], STALL, False)
    if case == "too-big":
        assert err.startswith("imgadm: error: origin image %s: %s%s: the server sent more" % (
            origin["uuid"], imgapi.url, path)), err
    else:
        assert err.startswith("imgadm: error: origin image %s of image %s: %s%s: transfer "
                              "stalled after 0 bytes" % (origin["uuid"], child["uuid"],
                                                         imgapi.url, path)), err
    assert host.imgadm("get", origin["uuid"]).rc == 3
    assert file_path(child["uuid"]) not in imgapi.requests
    assert took < 30, took


@pytest.mark.parametrize("case,words", [
    ("huge-json", "answer has more than 1048576 JSON values (the limit for an image list)"),
    ("huge-string", "answer larger than 67108864 bytes (the limit for an image list)"),
    ("redirect-loop", "more than 5 redirects")])
def test_avail_misbehaves(host, imgapi, case, words):
    """imgadm avail: the same rules for the image list."""
    imgapi.bad["/images"] = case
    imgapi.gate.set()
    host.ok("imgadm", "sources", "-a", imgapi.url)
    t = time.monotonic()
    r = host.imgadm("avail", *GATED)
    took = time.monotonic() - t
    assert r.rc == 1 and imgapi.url + "/images: " + words in r.err, r
    assert r.err.count("\n") == 1, r
    assert took < 60, took
    print("\nTIMING avail %-13s error after %.2f s\n       %s" % (case, took, r.err.strip()))


def test_import_interrupted(imghost, imgapi):
    """SIGINT or SIGTERM mid-download: the same clean end."""
    host, img = imghost
    host.ok("imgadm", "sources", "-a", imgapi.url)
    for sig in (signal.SIGINT, signal.SIGTERM):
        imgapi.arrived.clear()
        m = add_target(imgapi)
        imgapi.bad[file_path(m["uuid"])] = "stall-body"
        used = pool_used(host)
        p = popen_imgadm(host, "import", *GATED, m["uuid"])
        with reaping([p]):
            assert imgapi.arrived.wait(60)
            assert len(stages(host)) == 1
            t = time.monotonic()
            p.send_signal(sig)
            _, err = p.communicate(timeout=30)
        took = time.monotonic() - t
        assert p.returncode == 1, err
        assert err == "imgadm: error: %s%s: interrupted\n" % (imgapi.url, file_path(m["uuid"]))
        assert took < 10, took
        assert_gone(host, m["uuid"], used)
        print("\nTIMING %-14s exit after %.2f s" % (signal.Signals(sig).name, took))


def test_import_no_space(imghost, imgapi):
    """A file the pool cannot hold beside its reserve: refused before the download."""
    host, img = imghost
    m = add_target(imgapi, size=20 << 30)
    host.ok("imgadm", "sources", "-a", imgapi.url)
    r = host.imgadm("import", m["uuid"])
    assert r.rc == 1 and "cannot import image %s: pool \"zones\" has" % m["uuid"] in r.err, r
    assert "while keeping 5% of the pool" in r.err, r
    assert file_path(m["uuid"]) not in imgapi.requests
    assert stages(host) == []


def waiting_on_lock(pid):
    """Is pid blocked on an flock (a "->" line of /proc/locks)?"""
    with open("/proc/locks") as f:
        return any("->" in l and " %d " % pid in l for l in f)


def test_import_same_image_twice(imghost, imgapi):
    """Two imports of one image at once: one downloads and installs it, the other waits on
    the import lock, then finds it installed."""
    host, img = imghost
    m = add_target(imgapi)
    imgapi.bad[file_path(m["uuid"])] = "gated"
    host.ok("imgadm", "sources", "-a", imgapi.url)
    procs = [popen_imgadm(host, "import", m["uuid"])]
    with reaping(procs):
        assert imgapi.arrived.wait(60)
        procs.append(popen_imgadm(host, "import", m["uuid"]))
        a, b = procs
        deadline = time.monotonic() + 60
        while not waiting_on_lock(b.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_on_lock(b.pid)
        imgapi.gate.set()
        outa, erra = a.communicate(timeout=120)
        outb, errb = b.communicate(timeout=120)
    assert a.returncode == 0 and outa == "Imported image %s (target@%s)\n" % (
        m["uuid"], m["version"]), (outa, erra)
    assert b.returncode == 0 and outb == "Image %s is already installed, skipping\n" % (
        m["uuid"]), (outb, errb)
    assert imgapi.requests.count(file_path(m["uuid"])) == 1
    host.ok("imgadm", "get", m["uuid"])
    assert stages(host) == []


def test_source_limits(host, imgapi, silent):
    """Limits of a source's own, the verbose list, and sources -c."""
    host.ok("imgadm", "sources", "-a", imgapi.url)
    host.ok("imgadm", "sources", "-a", silent.url, "--speed-time", "2", "--max-time", "600")
    with open(os.path.join(host.root, "etc/zonehost/imgadm-sources.json")) as f:
        assert json.load(f) == [imgapi.url, {"url": silent.url, "speed_time": 2,
                                             "max_time": 600}]
    r = host.ok("imgadm", "sources", "-v")
    assert r.out.splitlines() == [
        "%s  speed-limit 1024 B/s for 30 s (speed-time), max-time 300 s (answers) / 86400 s "
        "(files), redirects to http or https only, at most 5" % imgapi.url,
        "%s  speed-limit 1024 B/s for 2 s (speed-time), max-time 600 s (answers) / 600 s "
        "(files), redirects to http or https only, at most 5" % silent.url]
    assert host.ok("imgadm", "sources").out.split() == [imgapi.url, silent.url]
    t = time.monotonic()
    r = host.imgadm("sources", "-c")
    took = time.monotonic() - t
    assert r.rc == 1, r
    lines = r.out.splitlines()
    assert lines[0] == "%s: ok" % imgapi.url, r
    assert lines[1] == "%s: error: %s/ping: no answer: the server took the request but sent " \
        "less than 1024 bytes/s for 2 s (speed-limit, speed-time)" % (silent.url, silent.url), r
    assert took < 30, took
    for bad in (["--speed-time", "-1"], ["--max-time", "x"], ["--speed-limit", "99999999999"]):
        r = host.imgadm("sources", "-a", "http://192.0.2.1", *bad)
        assert r.rc == 2 and bad[0] in r.err, r
    r = host.imgadm("sources", "-d", silent.url)
    assert r.rc == 0, r

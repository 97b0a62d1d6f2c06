"""imgadm sources, avail, import and vacuum against a fixture IMGAPI server.

The server (http.server on 127.0.0.1, an ephemeral port) serves /images,
/images/UUID and /images/UUID/file from the busybox image (and from any image a test adds
to its `images` dict: uuid -> (manifest, file bytes)), in a mode the test
picks: "ok", "garbage" (answers that are not JSON), "badsum" (a
manifest whose sha1 does not match the file), "drop" (the first file
download is cut off half way) and "404".  Every failure must leave the pool
as it was: no image, no temp file.
"""
import http.server
import json
import os
import socket
import threading

import pytest

from conftest import new_uuid
from test_imgadm import assert_clean, ensure_pool
from test_vmadm_util import create


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
        m = srv.manifest
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
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


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

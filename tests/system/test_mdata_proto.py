"""The guest tools against the metadata session (docs/architecture.md §23).
mdata-get, mdata-put, mdata-delete and mdata-list (one static binary,
src/cmd/mdata-tool.c) talk to tests/helpers/mdata-serve (mdata-session
answered by mdata-keys over a VM file) over a unix socket and over a pty
playing /dev/ttyS1: every verb, the output and exit codes of the reference
(§5.5), a V1-only host, dot-stuffed V1 values, a raw protocol session.
"""
import json
import os
import socket
import subprocess
import zlib
import base64

from conftest import BUILD

import pytest

TOOL = os.path.join(BUILD, "src", "cmd", "mdata-tool")
SERVE = os.path.join(BUILD, "tests", "helpers", "mdata-serve")
VM = {
    "uuid": "7a1c2d3e-0000-4000-8000-000000000001",
    "hostname": "web0",
    "nics": [{"interface": "net0", "mac": "02:00:00:0a:0b:0c", "ip": "192.0.2.5"}],
    "routes": {"10.0.0.0/8": "nics[0]"},
    "customer_metadata": {"user-script": "#!/bin/sh\necho hi\n", "dotty": ".a\n.b", "acme:k": "c"},
    "internal_metadata": {"root_pw": "pw", "acme:k": "i"},
    "internal_metadata_namespaces": ["acme"],
}


@pytest.fixture
def tools(tmp_path):
    for t in ("get", "put", "delete", "list"):
        os.symlink(TOOL, tmp_path / f"mdata-{t}")
    (tmp_path / "vm.json").write_text(json.dumps(VM))
    return tmp_path


def start(tools, mode, *flags):
    path = str(tools / ("tty" if mode == "pty" else "sock"))
    p = subprocess.Popen([SERVE, *flags, mode, path, str(tools / "vm.json")],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    env = {"ZH_MDATA_SERIAL" if mode == "pty" else "ZH_MDATA_SOCKET": path}
    return p, env


@pytest.fixture(params=["socket", "pty"])
def server(request, tools):
    p, env = start(tools, request.param)
    yield tools, env
    p.kill()
    p.wait()


@pytest.fixture
def v1_server(tools):
    p, env = start(tools, "socket", "--v1")
    yield tools, env
    p.kill()
    p.wait()


def run(d, env, tool, *args, input=None):
    return subprocess.run([str(d / f"mdata-{tool}"), *args], env={**os.environ, **env},
                          input=input, capture_output=True, text=True, timeout=30)


def test_get_list_put_delete(server):
    d, env = server
    r = run(d, env, "get", "sdc:hostname")
    assert (r.returncode, r.stdout) == (0, "web0\n"), r
    r = run(d, env, "get", "user-script")
    assert (r.returncode, r.stdout) == (0, "#!/bin/sh\necho hi\n"), "no second newline"
    r = run(d, env, "get", "sdc:routes")
    assert json.loads(r.stdout) == [{"linklocal": True, "dst": "10.0.0.0/8", "gateway": "192.0.2.5"}]
    r = run(d, env, "get", "root_pw")
    assert r.stdout == "pw\n" and run(d, env, "get", "acme:k").stdout == "i\n"
    r = run(d, env, "get", "nope")
    assert (r.returncode, r.stderr) == (1, "No metadata for 'nope'\n"), r
    r = run(d, env, "list")
    assert (r.returncode, r.stdout) == (0, "user-script\ndotty\nroot_pw\nacme:k\n"), r
    assert run(d, env, "put", "foo", "bar").returncode == 0
    assert run(d, env, "get", "foo").stdout == "bar\n"
    assert run(d, env, "put", "piped", input="from stdin").returncode == 0
    assert run(d, env, "get", "piped").stdout == "from stdin\n"
    assert run(d, env, "delete", "foo").returncode == 0
    assert run(d, env, "get", "foo").returncode == 1
    assert run(d, env, "delete", "never-there").returncode == 0


def test_refusals_and_usage(server):
    d, env = server
    r = run(d, env, "put", "sdc:uuid", "x")
    assert r.returncode == 2 and 'Cannot update the "sdc" Namespace.' in r.stderr, r
    r = run(d, env, "delete", "acme:k")
    assert r.returncode == 2 and 'Cannot update the "acme" Namespace.' in r.stderr, r
    r = run(d, env, "put", "key", "")
    assert r.returncode == 2 and "Invalid PUT Request" in r.stderr, r
    for tool, args in (("get", ()), ("get", ("a", "b")), ("list", ("x",)), ("put", ()),
                       ("delete", ())):
        r = run(d, env, tool, *args)
        assert r.returncode == 3 and r.stderr.startswith("Usage: mdata-"), (tool, args, r)


def test_big_value(server):
    d, env = server
    v = "x" * 100000
    assert run(d, env, "put", "big", input=v).returncode == 0
    assert run(d, env, "get", "big").stdout == v + "\n"


def test_v1_host(v1_server):
    d, env = v1_server
    r = run(d, env, "get", "dotty")
    assert (r.returncode, r.stdout) == (0, ".a\n.b\n"), "dot-stuffing undone"
    assert run(d, env, "get", "nope").returncode == 1
    assert run(d, env, "list").stdout == "user-script\ndotty\nroot_pw\nacme:k\n"
    r = run(d, env, "put", "a", "b")
    assert (r.returncode, r.stderr) == (2, "ERROR: host does not support PUT\n"), r
    r = run(d, env, "delete", "a")
    assert r.returncode == 2 and "does not support DELETE" in r.stderr, r


def test_no_transport(tools):
    env = {"ZH_MDATA_SERIAL": str(tools / "missing")}
    r = run(tools, env, "get", "x")
    assert r.returncode == 2 and "could not initialise protocol" in r.stderr, r


def frame(body):
    return f"V2 {len(body)} {zlib.crc32(body.encode()):08x} {body}\n"


def test_raw_session(tools):
    p, env = start(tools, "socket")
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(env["ZH_MDATA_SOCKET"])
        f = s.makefile("rwb", buffering=0)

        def ask(line):
            f.write(line.encode())
            return f.readline().decode()

        assert ask("\n") == "invalid command\n"
        assert ask("NEGOTIATE V2\n") == "V2_OK\n"
        assert ask(frame("dc4fae17 GET " + base64.b64encode(b"sdc:uuid").decode())) == \
            frame("dc4fae17 SUCCESS " + base64.b64encode(VM["uuid"].encode()).decode())
        f.write(b"V2 25 8cf8e623 dc4fae17 GET c2RjOnV1aWQ=\n")  # bad crc: no reply
        f.write(b"V2 " + b"9" * 300000 + b"\n")  # oversize: FAILURE, then recovery
        assert f.readline() == b"FAILURE\n"
        assert ask("KEYS\n") == "SUCCESS\n"
        s.close()
    finally:
        p.kill()
        p.wait()

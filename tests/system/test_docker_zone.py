"""vmadm create of a docker: true lx zone from an imported Docker image:
internal_metadata docker:entrypoint/cmd/env/workdir/user filled from the
image's config when the payload lacks them (JSON-encoded arrays, as Triton
stores them), kept when given, refused when malformed; and, where the
zoneadmd run side is built (src/lib/zoneadmd/brand-docker.c), the zone runs
the image's process and its output lands in <zonepath>/logs/stdio.log.
"""
import json
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "helpers"))
import dockerimg  # noqa: E402
from conftest import TOP  # noqa: E402
from test_imgadm import pool_mount  # noqa: E402

RUN_SIDE = os.path.join(TOP, "src", "lib", "zoneadmd", "brand-docker.c")


@pytest.fixture(scope="module")
def image_tar(tmp_path_factory):
    d = tmp_path_factory.mktemp("dockerzone")
    layers = dockerimg.busybox_layers()
    return dockerimg.write_docker_archive(str(d / "bb.tar"), layers, dockerimg.config(layers),
                                          ["zhtest/busybox:latest"])


@pytest.fixture
def dockerhost(host, image_tar):
    r = host.imgadm("import", "-f", image_tar)
    assert r.rc == 0, r
    top = re.findall(r"Imported image (\S+) \(zhtest/busybox@latest\)", r.out)
    assert top, r
    return host, top[0]


def payload(image, **kw):
    p = {"brand": "lx", "kernel_version": "4.3.0", "docker": True, "image_uuid": image,
         "autoboot": False, "alias": "dockerzone"}
    p.update(kw)
    return p


def create(h, p):
    r = h.vmadm("create", input=json.dumps(p))
    assert r.rc == 0, r
    return re.search(r"Successfully created VM (\S+)", r.err).group(1)


def internal_metadata(h, u):
    r = h.vmadm("get", u)
    assert r.rc == 0, r
    return r.json()["internal_metadata"]


def test_filled_from_image(dockerhost):
    h, img = dockerhost
    u = create(h, payload(img))
    im = internal_metadata(h, u)
    assert im["docker:entrypoint"] == '["/bin/sh","-c"]'
    assert im["docker:cmd"] == '["echo hello; cat /app/hello.txt"]'
    assert json.loads(im["docker:env"]) == ["PATH=/usr/bin:/bin", "GREETING=hi there"]
    assert im["docker:workdir"] == "/app"
    assert im["docker:user"] == "1000:1000"
    r = h.vmadm("get", u)
    assert r.json()["docker"] is True and r.json()["image_uuid"] == img


def test_given_keys_kept(dockerhost):
    h, img = dockerhost
    u = create(h, payload(img, internal_metadata={"docker:cmd": '["echo","mine"]',
                                                  "docker:workdir": "/tmp"}))
    im = internal_metadata(h, u)
    assert im["docker:cmd"] == '["echo","mine"]' and im["docker:workdir"] == "/tmp"
    assert im["docker:entrypoint"] == '["/bin/sh","-c"]' and im["docker:user"] == "1000:1000"
    # an entrypoint of its own drops the image's Cmd (docker run --entrypoint)
    u = create(h, payload(img, alias="z2",
                          internal_metadata={"docker:entrypoint": '["/bin/echo"]'}))
    im = internal_metadata(h, u)
    assert im["docker:entrypoint"] == '["/bin/echo"]' and "docker:cmd" not in im


def test_not_docker_nothing_filled(dockerhost):
    h, img = dockerhost
    u = create(h, payload(img, docker=False))
    assert not any(k.startswith("docker:") for k in internal_metadata(h, u))


@pytest.mark.parametrize("key,value", [
    ("docker:cmd", "[1,2]"), ("docker:cmd", "echo hi"), ("docker:entrypoint", '{"a":1}'),
    ("docker:env", '["A=1", 2]'), ("docker:workdir", "relative/dir"), ("docker:user", "a:b:c"),
    ("docker:user", ""),
])
def test_malformed_refused(dockerhost, key, value):
    h, img = dockerhost
    r = h.vmadm("create", input=json.dumps(payload(img, internal_metadata={key: value})))
    assert r.rc == 1, r
    assert "internal_metadata.%s" % key in r.err, r
    assert h.vmadm("list", "-H").out == ""
    assert not [n for n in os.listdir(pool_mount(h)) if re.match(r"[0-9a-f-]{36}$", n)
                and not os.path.exists(os.path.join(pool_mount(h), ".imgadm", n + ".json"))]
    r = h.vmadm("validate", "create", input=json.dumps(payload(img, internal_metadata={key: value})))
    assert r.rc != 0 and "internal_metadata.%s" % key in r.out + r.err, r


def wait_for(pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_runs_and_logs(dockerhost):
    if not os.path.exists(RUN_SIDE):
        pytest.skip("the zoneadmd run side of docker zones (brand-docker.c, branch oci-zone) "
                    "is not in this tree")
    h, img = dockerhost
    u = create(h, payload(img, autoboot=True))
    log = os.path.join(pool_mount(h), u, "logs", "stdio.log")

    def logged():
        return os.path.exists(log) and "hello from layer 1" in open(log).read()
    assert wait_for(logged), (open(log).read() if os.path.exists(log) else "no %s" % log)
    lines = [json.loads(l) for l in open(log).read().splitlines()]
    out = [l["log"] for l in lines if l["stream"] == "stdout"]
    assert out[:2] == ["hello\n", "hello from layer 1\n"], lines
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", l["time"]) for l in lines)
    assert wait_for(lambda: h.vmadm("list", "-H", "-o", "uuid,state").out.split() ==
                    [u, "stopped"]), h.vmadm("list", "-H", "-o", "uuid,state")


def test_runs_with_image_env_workdir_user(dockerhost):
    """The image's Entrypoint, Env, WorkingDir and User with a cmd of the payload's own."""
    if not os.path.exists(RUN_SIDE):
        pytest.skip("the zoneadmd run side of docker zones (brand-docker.c, branch oci-zone) "
                    "is not in this tree")
    h, img = dockerhost
    cmd = json.dumps(['echo "$GREETING" $(pwd) $(id -u):$(id -g); echo oops >&2'])
    u = create(h, payload(img, autoboot=True, internal_metadata={"docker:cmd": cmd}))
    log = os.path.join(pool_mount(h), u, "logs", "stdio.log")

    def logged():
        return os.path.exists(log) and "oops" in open(log).read()
    assert wait_for(logged), (open(log).read() if os.path.exists(log) else "no %s" % log)
    lines = [json.loads(l) for l in open(log).read().splitlines()]
    assert any(l["log"] == "hi there /app 1000:1000\n" and l["stream"] == "stdout"
               for l in lines), lines
    assert any(l["log"] == "oops\n" and l["stream"] == "stderr" for l in lines), lines

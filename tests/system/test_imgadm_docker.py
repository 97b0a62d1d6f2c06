"""imgadm import -f of Docker image tars (docker-archive and OCI layout):
each layer an image of type docker whose origin is the layer below, the
docker config kept in the top image's manifest, layers shared between
images, re-imports idempotent, whiteouts and opaque directories applied,
and hostile tars refused with one message, exit 1 and nothing left.

The tars are built offline by tests/helpers/dockerimg.py from busybox-static;
one is rewritten by skopeo (a real tool) so the format is not only our own
reading of it.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "helpers"))
import dockerimg  # noqa: E402
from test_imgadm import assert_clean, ensure_pool, pool_mount  # noqa: E402

IMPORTED = re.compile(r"^Imported image (\S+) \((.*)@(.*)\)$")


@pytest.fixture(scope="module")
def tars(tmp_path_factory):
    d = tmp_path_factory.mktemp("docker")
    layers = dockerimg.busybox_layers()
    cfg = dockerimg.config(layers)
    t = {"layers": layers, "cfg": cfg, "dir": d,
         "archive": dockerimg.write_docker_archive(str(d / "da.tar"), layers, cfg,
                                                   ["zhtest/busybox:latest", "zhtest/busybox:1.0"]),
         "oci": dockerimg.write_oci_layout(str(d / "oci.tar"), layers, cfg,
                                           "zhtest/busybox:oci")}
    return t


def imported(r):
    """[(uuid, name, version)] of an import's output, base first."""
    assert r.rc == 0, r
    return [IMPORTED.match(l).groups() for l in r.out.splitlines() if IMPORTED.match(l)]


def manifest(h, u):
    r = h.imgadm("get", u)
    assert r.rc == 0, r
    return r.json()["manifest"]


def final_root(h, u):
    return os.path.join(pool_mount(h), u + "@final", "root")


def test_import_docker_archive(host, tars):
    r = host.imgadm("import", "-f", tars["archive"])
    got = imported(r)
    assert len(got) == 3, r
    assert [g[1] for g in got] == ["docker-layer", "docker-layer", "zhtest/busybox"]
    top = got[-1][0]
    m = manifest(host, top)
    assert m["type"] == "docker" and m["os"] == "linux"
    assert m["origin"] == got[1][0] and manifest(host, got[1][0])["origin"] == got[0][0]
    assert "origin" not in manifest(host, got[0][0])
    tags = m["tags"]
    assert tags["docker:repo"] == "zhtest/busybox"
    assert tags["docker:tag:latest"] is True and tags["docker:tag:1.0"] is True
    assert tags["docker:id"] == "sha256:" + dockerimg.sha256(tars["cfg"])
    assert tags["docker:config"] == {
        "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hello; cat /app/hello.txt"],
        "Env": ["PATH=/usr/bin:/bin", "GREETING=hi there"], "WorkingDir": "/app",
        "User": "1000:1000"}
    assert m["published_at"] == "2024-05-01T12:00:00Z"
    # imgadm list --docker: only docker images, the docker columns
    r = host.imgadm("list", "--docker")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["UUID", "DOCKER_REPO", "DOCKER_TAGS", "DOCKER_SHORT_ID", "PUB"]
    row = [l.split() for l in lines[1:] if l.startswith(top)][0]
    assert row[1:4] == ["zhtest/busybox", "1.0,latest", dockerimg.sha256(tars["cfg"])[:12]], r
    r = host.imgadm("list", "-j", "--docker", "docker_repo=zhtest/busybox")
    assert [x["manifest"]["uuid"] for x in r.json()] == [top]


def test_whiteouts_and_opaque_applied(host, tars):
    top = imported(host.imgadm("import", "-f", tars["archive"]))[-1][0]
    root = final_root(host, top)
    assert not os.path.exists(os.path.join(root, "etc", "removeme"))  # .wh.removeme
    assert sorted(os.listdir(os.path.join(root, "opt", "old"))) == ["new"]  # opaque
    assert open(os.path.join(root, "app", "hello.txt")).read() == "hello from layer 1\n"
    assert os.stat(os.path.join(root, "app", "hello-link")).st_ino == \
        os.stat(os.path.join(root, "app", "hello.txt")).st_ino
    assert os.readlink(os.path.join(root, "bin", "sh")) == "busybox"
    assert not any(n.startswith(".wh.") for _, ds, fs in os.walk(root) for n in ds + fs)
    # the layers below are untouched
    r = host.imgadm("list", "-j", "--docker")
    uuids = {x["manifest"]["version"]: x["manifest"]["uuid"] for x in r.json()}
    base_uuid = [u for v, u in uuids.items() if v != "latest"]
    assert any(os.path.exists(os.path.join(final_root(host, u), "etc", "removeme"))
               for u in base_uuid)


def test_oci_layout_and_idempotent(host, tars):
    got = imported(host.imgadm("import", "-f", tars["oci"]))
    assert len(got) == 3
    m = manifest(host, got[-1][0])
    assert m["tags"]["docker:repo"] == "zhtest/busybox" and m["tags"]["docker:tag:oci"]
    # gzip layers: files[0] is the compressed blob, uncompressedDigest the diff_id
    base = manifest(host, got[0][0])["files"][0]
    assert base["compression"] == "gzip"
    assert base["uncompressedDigest"] == json.loads(tars["cfg"])["rootfs"]["diff_ids"][0]
    # the same image again (either format): nothing new
    for f in (tars["oci"], tars["archive"]):
        r = host.imgadm("import", "-f", f)
        assert r.rc == 0 and imported(r) == [], r
        assert "is already installed, skipping" in r.out, r
    assert len(host.imgadm("list", "-j").json()) == 3


def test_reimport_adds_tags(host, tars):
    top = imported(host.imgadm("import", "-f", tars["archive"]))[-1][0]
    for name, tag in (("zhtest/busybox:v2", "v2"), ("someone/else:x", None)):
        f = dockerimg.write_docker_archive(str(tars["dir"] / "retag.tar"), tars["layers"],
                                           tars["cfg"], [name])
        r = host.imgadm("import", "-f", f)
        assert imported(r) == [] and "already installed" in r.out, r
    tags = manifest(host, top)["tags"]
    assert sorted(k for k in tags if k.startswith("docker:tag:")) == \
        ["docker:tag:1.0", "docker:tag:latest", "docker:tag:v2"]  # not another repo's
    assert tags["docker:repo"] == "zhtest/busybox"
    r = host.imgadm("list", "-H", "-o", "docker_tags", "--docker", "uuid=" + top)
    assert r.out.split() == ["1.0,latest,v2"], r


def test_layers_shared(host, tars):
    first = imported(host.imgadm("import", "-f", tars["archive"]))
    layers = tars["layers"][:2] + [[("app/other.txt", "file", b"another image\n")]]
    cfg = dockerimg.config(layers, cmd=["cat /app/other.txt"])
    other = dockerimg.write_docker_archive(str(tars["dir"] / "other.tar"), layers, cfg,
                                           ["zhtest/other:2"])
    got = imported(host.imgadm("import", "-f", other))
    assert len(got) == 1, got  # only the new top layer
    m = manifest(host, got[0][0])
    assert m["origin"] == first[1][0] and m["name"] == "zhtest/other" and m["version"] == "2"
    # same layers, another config only: a new top image, the lower layers shared
    cfg2 = dockerimg.config(tars["layers"], cmd=["echo other"])
    same = dockerimg.write_docker_archive(str(tars["dir"] / "same.tar"), tars["layers"], cfg2,
                                          ["zhtest/same:1"])
    got = imported(host.imgadm("import", "-f", same))
    assert len(got) == 1 and manifest(host, got[0][0])["origin"] == first[1][0]
    assert len(host.imgadm("list", "-j").json()) == 5
    # an origin in use cannot go
    r = host.imgadm("delete", first[0][0])
    assert r.rc == 1 and "origin" in r.err, r


def test_skopeo_made_tars(host, host2, tars, tmp_path):
    """Tars written by skopeo from our OCI layout: docker-archive and oci-archive."""
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (tools/install-deps)")
    layout = dockerimg.write_oci_layout_dir(str(tmp_path / "layout"), tars["layers"], tars["cfg"])
    da, oa = str(tmp_path / "skopeo-da.tar"), str(tmp_path / "skopeo-oci.tar")
    for dst in ("docker-archive:%s:zhtest/skopeo:7" % da, "oci-archive:%s:zhtest/skopeo:8" % oa):
        cp = subprocess.run(["skopeo", "--insecure-policy", "copy", "oci:%s:latest" % layout, dst],
                            capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, cp.stderr
    got = imported(host.imgadm("import", "-f", da))
    assert len(got) == 3 and got[-1][1:] == ("docker.io/zhtest/skopeo", "7"), got
    top = manifest(host, got[-1][0])
    assert top["tags"]["docker:config"]["Cmd"] == ["echo hello; cat /app/hello.txt"]
    root = final_root(host, top["uuid"])
    assert sorted(os.listdir(os.path.join(root, "opt", "old"))) == ["new"]
    assert not os.path.exists(os.path.join(root, "etc", "removeme"))
    # skopeo kept the config and the layers: the same image as ours, nothing new
    r = host.imgadm("import", "-f", tars["oci"])
    assert imported(r) == [] and top["uuid"] in r.out, r
    got2 = imported(host2.imgadm("import", "-f", oa))
    assert [g[0] for g in got2] == [g[0] for g in got], (got, got2)
    assert manifest(host2, got2[-1][0])["tags"]["docker:config"] == top["tags"]["docker:config"]


def test_umoci_made_layout(host, tmp_path):
    """An OCI layout made by umoci: its own layer tars and whiteouts (.wh.NAME)."""
    if not shutil.which("umoci"):
        pytest.skip("umoci is not installed (tools/install-deps)")
    lay, bundle = str(tmp_path / "layout"), str(tmp_path / "bundle")

    def umoci(*args):
        cp = subprocess.run(["umoci"] + list(args), capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, cp.stderr

    umoci("init", "--layout", lay)
    umoci("new", "--image", lay + ":v1")
    umoci("unpack", "--image", lay + ":v1", bundle)
    rootfs = os.path.join(bundle, "rootfs")
    for d in ("bin", "etc", "opt/d"):
        os.makedirs(os.path.join(rootfs, d))
    shutil.copy(dockerimg.BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "sh"))
    for name in ("etc/gone", "opt/d/a"):
        with open(os.path.join(rootfs, name), "w") as f:
            f.write("lower\n")
    umoci("repack", "--image", lay + ":v1", bundle)
    shutil.rmtree(bundle)
    umoci("unpack", "--image", lay + ":v1", bundle)  # the next repack is a layer on top
    os.unlink(os.path.join(rootfs, "etc", "gone"))
    os.unlink(os.path.join(rootfs, "opt", "d", "a"))
    with open(os.path.join(rootfs, "opt", "d", "n"), "w") as f:
        f.write("upper\n")
    umoci("repack", "--image", lay + ":v1", bundle)
    umoci("config", "--image", lay + ":v1", "--config.cmd", "echo", "--config.cmd", "hi",
          "--config.workingdir", "/opt")
    t = str(tmp_path / "umoci.tar")
    subprocess.run(["tar", "-C", lay, "-cf", t, "."], check=True)
    got = imported(host.imgadm("import", "-f", t))
    assert [g[1:] for g in got][-1] == ("docker-image", "v1") and len(got) >= 2, got
    m = manifest(host, got[-1][0])
    assert m["tags"]["docker:config"] == {"Cmd": ["echo", "hi"], "WorkingDir": "/opt"}
    assert m["tags"]["docker:tag:v1"] is True
    root = final_root(host, got[-1][0])
    assert os.listdir(os.path.join(root, "etc")) == []
    assert os.listdir(os.path.join(root, "opt", "d")) == ["n"]
    assert os.readlink(os.path.join(root, "bin", "sh")) == "busybox"


# ---- hostile tars ----

def test_device_nodes_skipped(host, tmp_path):
    layers = [dockerimg.busybox_layers()[0] + [("dev/evil-null", "chardev", (1, 3))]]
    assert b"dev/evil-null" in dockerimg.layer_tar(layers[0])
    f = dockerimg.write_docker_archive(str(tmp_path / "dev.tar"), layers,
                                       dockerimg.config(layers), ["dev/x:1"])
    got = imported(host.imgadm("import", "-f", f))
    assert len(got) == 1
    root = final_root(host, got[0][0])
    assert os.path.isdir(os.path.join(root, "dev"))
    assert not os.path.lexists(os.path.join(root, "dev", "evil-null"))


def bad_layer_archive(path, entries):
    """A docker-archive whose second layer holds entries (the base is good)."""
    layers = dockerimg.busybox_layers()[:1] + [entries]
    return dockerimg.write_docker_archive(path, layers, dockerimg.config(layers), ["evil/x:1"])


def corrupt_oci(path):
    """An OCI layout whose third layer blob no longer matches its name (digest)."""
    layers = dockerimg.busybox_layers()
    files = dockerimg.oci_files(layers, dockerimg.config(layers), "x", gzip_layers=())
    bad = "blobs/sha256/" + dockerimg.sha256(dockerimg.layer_tar(layers[2]))
    with tarfile.open(path, "w") as t:
        for n, b in files:
            dockerimg._add(t, n, b.replace(b"layer 2", b"LAYER 2") if n == bad else b)
    return path


def mismatched_diff_id(path):
    layers = dockerimg.busybox_layers()
    cfg = dockerimg.config(layers)
    raw = [dockerimg.layer_tar(l) for l in layers]
    raw[2] = dockerimg.layer_tar([("app/third.txt", "file", b"tampered\n")])
    # manifest.json names the tampered tar under its own (honest) name: only diff_ids catch it
    return dockerimg.write_docker_archive(path, layers, cfg, ["evil/x:1"], raw_layers=raw)


def huge_manifest(path):
    layers = dockerimg.busybox_layers()[:1]
    cfg = dockerimg.config(layers)
    m = json.dumps([{"Config": "%s.json" % dockerimg.sha256(cfg), "RepoTags": None,
                     "Layers": ["%s/layer.tar" % dockerimg.sha256(dockerimg.layer_tar(layers[0]))]}])
    return dockerimg.write_docker_archive(path, layers, cfg, [],
                                          manifest=m.encode() + b" " * (2 << 20))


def outer_escape(path):
    layers = dockerimg.busybox_layers()[:1]
    return dockerimg.write_docker_archive(path, layers, dockerimg.config(layers), [],
                                          extra=[("../../escape", b"x")])


def not_an_image(path):
    with tarfile.open(path, "w") as t:
        dockerimg._add(t, "hello.txt", b"hi\n")
    return path


HOSTILE = {
    "dotdot": (lambda p, v: bad_layer_archive(p, [("../evil", "file", b"x")]),
               "has a \"..\" component"),
    "absolute": (lambda p, v: bad_layer_archive(p, [("/etc/evil", "file", b"x")]),
                 "absolute path"),
    "symlink-then-file": (lambda p, v: bad_layer_archive(
        p, [("lnk", "symlink", v), ("lnk/pwned", "file", b"x")]), "lnk/pwned"),
    "hardlink-out": (lambda p, v: bad_layer_archive(p, [("hl", "hardlink", "../../../etc/passwd")]),
                     "hl"),
    "layer-digest": (lambda p, v: corrupt_oci(p), "does not match its digest"),
    "diff-id": (lambda p, v: mismatched_diff_id(p), "rootfs.diff_ids"),
    "huge-manifest": (lambda p, v: huge_manifest(p), "more than 1048576"),
    "outer-dotdot": (lambda p, v: outer_escape(p), "has a \"..\" component"),
    "not-an-image": (lambda p, v: not_an_image(p), "neither a docker-archive"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile(host, tmp_path, case):
    victim = tmp_path / "victim"
    victim.mkdir()
    make, want = HOSTILE[case]
    f = make(str(tmp_path / "evil.tar"), str(victim))
    ensure_pool(host)
    r = host.imgadm("import", "-f", f)
    assert r.rc == 1, r
    assert want in r.err and r.err.count("\n") == 1, r
    assert r.err.startswith("imgadm: error: -f %s" % f), r
    assert os.listdir(victim) == []
    assert not any(n.startswith(".stage") for n in os.listdir(pool_mount(host)))
    assert_clean(host)

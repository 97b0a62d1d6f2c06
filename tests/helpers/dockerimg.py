"""Build Docker image tars for the tests, offline, from busybox-static.

Two formats, as `docker save` and OCI tools write them:

* docker-archive: manifest.json [{"Config", "RepoTags", "Layers"}], the
  config as <sha256>.json, each layer as <diff_id hex>/layer.tar;
* OCI image layout: oci-layout, index.json, blobs/sha256/<hex> holding the
  image manifest, the config and the layers (gzip or plain, per layer).

A layer is a list of entries (name, kind, arg): kind "file" (arg: bytes),
"dir", "symlink" (arg: target), "exe" (arg: a host file copied, mode 0755),
"hardlink" (arg: the entry it links to), "chardev" (arg: (major, minor)).  busybox_layers() gives three
layers: a busybox root, then a layer with a whiteout, an opaque directory
and new files, then a small one.

    layers = busybox_layers()
    cfg = config(layers, cmd=["echo hi"])
    write_docker_archive(path, layers, cfg, ["zhtest/busybox:latest"])
    write_oci_layout_dir(dirpath, layers, cfg, "latest", gzip_layers={0, 2})
"""
import gzip
import hashlib
import io
import json
import os
import tarfile

BUSYBOX = os.environ.get("BUSYBOX", "/bin/busybox")
APPLETS = ["sh", "echo", "cat", "ls", "id", "env", "pwd", "sleep", "true", "false",
           "test", "printf", "stat", "readlink"]

PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"app:x:1000:1000:app:/app:/bin/sh\n"
          b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = b"root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"


def busybox_layers():
    base = [("bin", "dir", None), ("bin/busybox", "exe", BUSYBOX)]
    base += [("bin/" + a, "symlink", "busybox") for a in APPLETS]
    for d in ("etc", "proc", "sys", "dev", "tmp", "root", "var", "var/log", "run",
              "opt", "opt/old", "opt/old/sub", "usr", "usr/bin", "sbin"):
        base.append((d, "dir", None))
    base += [("etc/passwd", "file", PASSWD), ("etc/group", "file", GROUP),
             ("etc/hosts", "file", b"127.0.0.1 localhost\n"),
             ("etc/removeme", "file", b"gone in layer 1\n"),
             ("opt/old/a", "file", b"a\n"), ("opt/old/sub/b", "file", b"b\n"),
             ("sbin/init", "symlink", "../bin/busybox")]
    second = [("etc/.wh.removeme", "file", b""),
              ("opt/old/.wh..wh..opq", "file", b""),
              ("opt/old/new", "file", b"new in layer 1\n"),
              ("app", "dir", None),
              ("app/hello.txt", "file", b"hello from layer 1\n")]
    third = [("app/third.txt", "file", b"layer 2\n"),
             ("app/hello-link", "hardlink", "app/hello.txt")]
    return [base, second, third]


def layer_tar(entries):
    """Uncompressed tar bytes of one layer (deterministic)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.uid = ti.gid = 0
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, arg, 0o777
                t.addfile(ti)
            elif kind == "chardev":
                ti.type, ti.mode = tarfile.CHRTYPE, 0o666
                ti.devmajor, ti.devminor = arg
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, arg, 0o644
                t.addfile(ti)
            elif kind == "exe":
                with open(arg, "rb") as f:
                    data = f.read()
                ti.size, ti.mode = len(data), 0o755
                t.addfile(ti, io.BytesIO(data))
            else:
                ti.size, ti.mode = len(arg), 0o644
                t.addfile(ti, io.BytesIO(arg))
    return buf.getvalue()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def config(layers, entrypoint=("/bin/sh", "-c"), cmd=("echo hello; cat /app/hello.txt",),
           env=("PATH=/usr/bin:/bin", "GREETING=hi there"), workdir="/app", user="1000:1000",
           raw_layers=None):
    """The image config JSON bytes for these layers (diff_ids from their tars)."""
    tars = raw_layers or [layer_tar(l) for l in layers]
    c = {"architecture": "amd64", "os": "linux", "created": "2024-05-01T12:00:00.123456789Z",
         "config": {"Env": list(env), "WorkingDir": workdir, "User": user},
         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256(t) for t in tars]}}
    if entrypoint is not None:
        c["config"]["Entrypoint"] = list(entrypoint)
    if cmd is not None:
        c["config"]["Cmd"] = list(cmd)
    return json.dumps(c, sort_keys=True).encode()


def _add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
    t.addfile(ti, io.BytesIO(data))


def write_docker_archive(path, layers, cfg, repo_tags, raw_layers=None, manifest=None,
                         extra=()):
    """docker save format.  raw_layers: the layer tars as bytes (default: built from layers).
    manifest: replaces manifest.json's bytes; extra: (name, bytes) entries added first."""
    tars = raw_layers or [layer_tar(l) for l in layers]
    names = ["%s/layer.tar" % sha256(t) for t in tars]
    cname = "%s.json" % sha256(cfg)
    m = [{"Config": cname, "RepoTags": list(repo_tags), "Layers": names}]
    with tarfile.open(path, "w") as t:
        for n, b in extra:
            _add(t, n, b)
        for n, b in zip(names, tars):
            _add(t, n, b)
        _add(t, cname, cfg)
        _add(t, "manifest.json", manifest if manifest is not None else json.dumps(m).encode())
    return path


def oci_blobs(layers, cfg, gzip_layers=(), raw_layers=None):
    """(manifest bytes, {hex: blob bytes}) of an OCI image."""
    tars = raw_layers or [layer_tar(l) for l in layers]
    blobs, descs = {}, []
    for i, tb in enumerate(tars):
        if i in gzip_layers:
            b = gzip.compress(tb, mtime=0)
            mt = "application/vnd.oci.image.layer.v1.tar+gzip"
        else:
            b, mt = tb, "application/vnd.oci.image.layer.v1.tar"
        blobs[sha256(b)] = b
        descs.append({"mediaType": mt, "digest": "sha256:" + sha256(b), "size": len(b)})
    blobs[sha256(cfg)] = cfg
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": "sha256:" + sha256(cfg), "size": len(cfg)},
                      "layers": descs}).encode()
    blobs[sha256(man)] = man
    return man, blobs


def oci_files(layers, cfg, ref_name, gzip_layers=(), raw_layers=None):
    """[(name, bytes)] of an OCI image layout."""
    man, blobs = oci_blobs(layers, cfg, gzip_layers, raw_layers)
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + sha256(man), "size": len(man)}
    if ref_name:
        desc["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    files = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
             ("index.json", json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode())]
    files += [("blobs/sha256/" + h, b) for h, b in sorted(blobs.items())]
    return files


def write_oci_layout(path, layers, cfg, ref_name="latest", gzip_layers=(0, 2), raw_layers=None):
    """An OCI image layout as a tar file."""
    with tarfile.open(path, "w") as t:
        for n, b in oci_files(layers, cfg, ref_name, gzip_layers, raw_layers):
            _add(t, n, b)
    return path


def write_oci_layout_dir(d, layers, cfg, ref_name="latest", gzip_layers=(0, 2)):
    """An OCI image layout as a directory (for skopeo's oci: transport)."""
    for n, b in oci_files(layers, cfg, ref_name, gzip_layers):
        p = os.path.join(d, n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b)
    return d

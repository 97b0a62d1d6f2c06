"""The real OCI callers (containerd 1.6 + ctr, Podman 4.3 + conmon) driving an
OCI runtime, private to one test: the proof of issue 14 that zonehost's
runtime works where runc and crun do (docs/kubernetes.md, "What was
exercised here").

- busybox_oci_image(): a busybox image made without network, as an OCI
  layout and a docker-archive tar (tools/mkimage-busybox's root as the one
  layer), cached under $ZH_IMAGE_CACHE (default /var/cache/zonehost/images,
  the cache tools/mkimage-debian uses).  The archive holds two tags on the
  same layer: localhost/zh-busybox:1 (Cmd /bin/sh) and localhost/zh-pause:1
  (Cmd sleep, the CRI plugin's sandbox image).
- NsBox: a network namespace and a mount namespace of the test's own (a
  holder process keeps the latter alive).  Every caller runs inside both
  (nsenter), so the containers' rootfs mounts stay out of the host's mount
  table and containerd's netns has only lo.  On the build machine's hybrid
  cgroup tree the mount namespace can also unmount /sys/fs/cgroup/unified:
  crun refuses a hybrid layout ("cgroups in hybrid mode not supported"), as
  in bench/peers.  The tests do so for crun only (runc and zonehost run with
  the host's layout, so that zlogin and vmadm from the host see the zone's
  cgroups where zoneadmd made them); bench/oci, with every runtime on one
  containerd, does so for all.
- Containerd: a private containerd (root, state, sockets, config.toml in a
  temporary directory) with a CRI runtime entry `zonehost` (runtime_type
  io.containerd.runc.v2, options BinaryName = the runtime under test).
- Podman: podman with its own --root/--runroot/--tmpdir, vfs storage,
  cgroupfs, file events, file locks, its CNI config dir in the temporary
  directory.

Everything is removed at close(), pass or fail: tasks and containers, the
daemons and shims/conmons (by PID: each found by the unique address or
directory it was given), the mounts left in the namespace, the namespaces,
the directories, the cgroups the callers made at the top of each
hierarchy, and the few host paths these tools create on their own
(/run/containerd/{s,fifo}, /var/lib/containers/cache, /run/runc, /run/crun,
/run/zonehost-runc)
when they were not there before.  Nothing else on the host is touched: no
service, no /etc/containerd, no /var/lib/containerd.
"""
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid as uuidlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ZH_BUILD", os.path.join(TOP, "build"))
CMD = os.path.join(BUILD, "src", "cmd")
IMAGE = "localhost/zh-busybox:1"
PAUSE = "localhost/zh-pause:1"
# Bump when the image layout written below changes (part of the cache key).
IMAGE_FORMAT = "oci-busybox-1"
RUNTIMES = ("runc", "crun", "zonehost")


# --- the runtime under test ------------------------------------------------

def zonehost_runc():
    """Path of zonehost's runtime binary in the build, or None."""
    for name in ("zonehost-runc", "zonehost-oci"):
        p = os.path.join(CMD, name)
        if os.access(p, os.X_OK):
            return p
    return None


def runtime_binary(name, workdir, zonehost_root=None):
    """Absolute path the callers get for runtime `name`.  zonehost's is a
    wrapper script in `workdir` that sets ZONEHOST_ROOT (containerd's shim and
    conmon do not pass the test's environment through) and execs the real
    binary."""
    if name in ("runc", "crun"):
        return shutil.which(name) or "/usr/sbin/" + name
    real = zonehost_runc()
    if real is None:
        raise FileNotFoundError("zonehost-runc is not built in %s" % CMD)
    wrapper = os.path.join(workdir, "zonehost-runc")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n")
        if zonehost_root:
            f.write("ZONEHOST_ROOT='%s'\nexport ZONEHOST_ROOT\n" % zonehost_root)
        f.write("PATH='%s':\"$PATH\"\nexport PATH\n" % CMD)
        f.write("exec '%s' \"$@\"\n" % real)
    os.chmod(wrapper, 0o755)
    return wrapper


# --- the image -------------------------------------------------------------

def _sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _image_config(layer_digest, cmd):
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": cmd, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": "2026-01-01T00:00:00Z",
                     "created_by": "tests/helpers/oci.py (tools/mkimage-busybox root)"}],
    }, sort_keys=True).encode()


def _add(tar, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = 0
    tar.addfile(ti, io.BytesIO(data))


def _write_image(out, layer):
    """Write `out`/layout (OCI image layout), `out`/busybox-oci.tar (that
    layout as a tar) and `out`/busybox-docker.tar (docker-archive)."""
    ld = _sha(layer)
    images = [(IMAGE, _image_config(ld, ["/bin/sh"])),
              (PAUSE, _image_config(ld, ["/bin/sleep", "2147483647"]))]
    layout = os.path.join(out, "layout")
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data):
        d = _sha(data)
        with open(os.path.join(blobs, d[7:]), "wb") as f:
            f.write(data)
        return {"digest": d, "size": len(data)}

    lb = blob(layer)
    index = {"schemaVersion": 2, "manifests": []}
    for ref, cfg in images:
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
                    "layers": [dict(lb, mediaType="application/vnd.oci.image.layer.v1.tar")]}
        mb = blob(json.dumps(manifest, sort_keys=True).encode())
        index["manifests"].append(dict(mb, mediaType="application/vnd.oci.image.manifest.v1+json",
                                       annotations={"org.opencontainers.image.ref.name": ref,
                                                    "io.containerd.image.name": ref}))
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with tarfile.open(os.path.join(out, "busybox-oci.tar"), "w") as t:
        for name in sorted(os.listdir(layout)):
            t.add(os.path.join(layout, name), arcname=name)
    with tarfile.open(os.path.join(out, "busybox-docker.tar"), "w") as t:
        _add(t, "layer/layer.tar", layer)
        manifest = []
        for i, (ref, cfg) in enumerate(images):
            _add(t, "config%d.json" % i, cfg)
            manifest.append({"Config": "config%d.json" % i, "RepoTags": [ref],
                             "Layers": ["layer/layer.tar"]})
        _add(t, "manifest.json", json.dumps(manifest).encode())


def busybox_oci_image():
    """{"layout", "oci_tar", "docker_tar"}: the busybox image, built once and
    cached (the key hashes busybox, tools/mkimage-busybox and IMAGE_FORMAT)."""
    h = hashlib.sha256(IMAGE_FORMAT.encode())
    for p in ("/bin/busybox", os.path.join(TOP, "tools", "mkimage-busybox")):
        with open(p, "rb") as f:
            h.update(f.read())
    cache = os.environ.get("ZH_IMAGE_CACHE", "/var/cache/zonehost/images")
    slot = os.path.join(cache, "%s-%s" % (IMAGE_FORMAT, h.hexdigest()[:12]))
    paths = {"layout": os.path.join(slot, "layout"),
             "oci_tar": os.path.join(slot, "busybox-oci.tar"),
             "docker_tar": os.path.join(slot, "busybox-docker.tar")}
    if os.path.exists(paths["docker_tar"]):
        return paths
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".oci-busybox-", dir=cache)
    try:
        cp = subprocess.run([os.path.join(TOP, "tools", "mkimage-busybox"), work,
                             "--compression", "none", "--uuid", str(uuidlib.UUID(int=0x0c1))],
                            capture_output=True, text=True, check=True)
        tarball = cp.stdout.split()[1]
        with open(tarball, "rb") as f:
            layer = f.read()
        out = os.path.join(work, "out")
        os.makedirs(out)
        _write_image(out, layer)
        try:
            os.rename(out, slot)
        except OSError:  # another run made it meanwhile
            if not os.path.exists(paths["docker_tar"]):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return paths


# --- namespaces and processes -----------------------------------------------

def _ismount(p):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == p for line in f)


def _pids_with(needle):
    """PIDs whose command line contains `needle` (a unique temporary path)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if needle.encode() in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def _shim_socket(address, namespace, cid):
    """The socket containerd 1.6's runc shim listens on for task `cid`:
    /run/containerd/s/<sha256 of ADDRESS/NAMESPACE/ID> (pkg/shim
    SocketAddress).  A shim removes it when it exits, not when killed."""
    h = hashlib.sha256(os.path.join(address, namespace, cid).encode()).hexdigest()
    return os.path.join("/run/containerd/s", h)


def _kill_wait(pids, sig=signal.SIGKILL, timeout=5.0):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    end = time.monotonic() + timeout
    for pid in pids:
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.02)


class NsBox:
    """A network namespace and a mount namespace (slave of the host's) of
    the test's own.  argv() wraps a command to run inside both."""

    def __init__(self, hide_unified=True):
        self.netns = "zh-oci-%s" % uuidlib.uuid4().hex[:10]
        self.holder = None
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        try:
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
            umount = ""
            if hide_unified and _ismount("/sys/fs/cgroup/unified"):
                umount = "umount /sys/fs/cgroup/unified || exit 1; "
            self.holder = subprocess.Popen(
                ["unshare", "-m", "--propagation", "slave", "--", "sh", "-c",
                 umount + "echo ready; exec sleep infinity"],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
            if self.holder.stdout.readline().strip() != b"ready":
                raise RuntimeError("the mount namespace holder did not start")
        except BaseException:
            self.close()
            raise

    def argv(self, *cmd):
        return ["nsenter", "-t", str(self.holder.pid), "-m",
                "--net=/run/netns/" + self.netns, "--"] + [str(c) for c in cmd]

    def mounts_under(self, path):
        """Mount points under `path` in the box's mount namespace."""
        try:
            with open("/proc/%d/mountinfo" % self.holder.pid) as f:
                mps = [line.split()[4] for line in f]
        except OSError:
            return []
        return [m for m in mps if m == path or m.startswith(path.rstrip("/") + "/")]

    def umount_under(self, path):
        for mp in sorted(set(self.mounts_under(path)), key=len, reverse=True):
            subprocess.run(self.argv("umount", "-l", mp), capture_output=True)
        return self.mounts_under(path)

    def close(self):
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


class HostPaths:
    """Host paths a tool creates on its own, outside the directories it is
    given: removed at close() when they did not exist before (only what is
    listed and only when empty after removing the listed files)."""

    def __init__(self, dirs, files=()):
        self.new_dirs = [d for d in dirs if not os.path.exists(d)]
        self.new_files = [f for f in files if not os.path.exists(f)]

    def close(self):
        for f in self.new_files:
            try:
                os.unlink(f)
            except OSError:
                pass
        for d in sorted(self.new_dirs, key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass


class Cgroups:
    """Cgroups the callers make by themselves at the top of each hierarchy
    (ctr's cgroupsPath parent, podman's libpod_parent): each of `names` that
    did not exist before is removed at close(), children first."""

    def __init__(self, names):
        root = "/sys/fs/cgroup"
        hier = [root] if os.path.exists(os.path.join(root, "cgroup.controllers")) else \
            [os.path.join(root, h) for h in sorted(os.listdir(root))
             if os.path.isdir(os.path.join(root, h))]
        self.new = [os.path.join(h, n) for h in hier for n in names
                    if not os.path.exists(os.path.join(h, n))]

    def close(self):
        for top in self.new:
            if not os.path.isdir(top):
                continue
            for d, _, _ in sorted(os.walk(top), key=lambda x: -len(x[0])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


# --- containerd --------------------------------------------------------------

CONTAINERD_CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
# Plugins that cannot work here or would write outside {d} (/opt/containerd).
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: the sandbox's oom_score_adj -998 would fail.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "{snapshotter}"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{d}/runc-root-cri"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.zonehost]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.zonehost.options]
        BinaryName = "{binary}"
        Root = "{d}/runc-root-cri"
"""


class Containerd:
    """A private containerd in `box`; `binary` is the runtime the config.toml
    entry `zonehost` names (BinaryName)."""

    def __init__(self, box, binary, image):
        self.box = box
        self.binary = binary
        self.proc = None
        # containerd's default, overlayfs; ZH_CTR_SNAPSHOTTER=native gives
        # plain directories (an overlayfs mount cannot be idmapped).
        self.snapshotter = os.environ.get("ZH_CTR_SNAPSHOTTER", "overlayfs")
        self.host_paths = HostPaths(["/run/containerd", "/run/containerd/s", "/run/containerd/fifo"])
        self.dir = tempfile.mkdtemp(prefix="zh-ctrd-", dir="/var/tmp")
        # Every container's cgroup goes under this parent (ctr --cgroup, the
        # CRI sandbox's cgroup_parent); ctr's default would be /default.
        self.cgroup_parent = os.path.basename(self.dir)
        self.cgroups = Cgroups([self.cgroup_parent, "default", "k8s.io"])
        self.shim_ids = set()   # (namespace, task id): their shim sockets go at close()
        self.sock = os.path.join(self.dir, "containerd.sock")
        self.runc_root = os.path.join(self.dir, "runc-root")
        self.fifo_dir = os.path.join(self.dir, "fifo")
        for d in ("cni/bin", "cni/net.d", "fifo", "runc-root", "runc-root-cri", "tmp"):
            os.makedirs(os.path.join(self.dir, d))
        self.config = os.path.join(self.dir, "config.toml")
        with open(self.config, "w") as f:
            f.write(CONTAINERD_CONFIG.format(d=self.dir, pause=PAUSE, binary=binary,
                                             snapshotter=self.snapshotter))
        self.log_path = os.path.join(self.dir, "containerd.log")
        try:
            self._start()
            self.import_image(image)
        except BaseException:
            self.close()
            raise

    def import_image(self, image, namespace="default"):
        self.ok("images", "import", "--snapshotter", self.snapshotter, image["docker_tar"],
                namespace=namespace)

    def _start(self):
        with open(self.log_path, "w") as log:
            # The shims' console sockets (go-runc: a pty* directory in
            # $XDG_RUNTIME_DIR, else $TMPDIR) and exec process files go in
            # our directory: a killed shim leaves its own behind.
            env = dict(os.environ, TMPDIR=os.path.join(self.dir, "tmp"))
            env.pop("XDG_RUNTIME_DIR", None)
            self.proc = subprocess.Popen(self.box.argv("containerd", "-c", self.config),
                                         stdout=log, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited: %s" % self.log()[-2000:])
            if os.path.exists(self.sock) and self.ctr("version", timeout=10).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("containerd did not answer in 30 s: %s" % self.log()[-2000:])

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def ctr_argv(self, *args, namespace="default"):
        return self.box.argv("ctr", "-a", self.sock, "-n", namespace, *args)

    def ctr(self, *args, namespace="default", timeout=60, input=None):
        return subprocess.run(self.ctr_argv(*args, namespace=namespace), capture_output=True,
                              text=True, timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, **kw):
        cp = self.ctr(*args, **kw)
        assert cp.returncode == 0, "ctr %s: rc %d\n%s\n%s" % (
            " ".join(args), cp.returncode, cp.stdout[-2000:], cp.stderr[-2000:])
        return cp

    def run_argv(self, runtime, cid, *cmd, opts=()):
        """argv of `ctr run --runc-binary RUNTIME ... IMAGE CID CMD...`."""
        self.shim_ids.add(("default", cid))
        return self.ctr_argv("run", "--runc-binary", runtime, "--runc-root", self.runc_root,
                             "--fifo-dir", self.fifo_dir,
                             "--cgroup", "/%s/%s" % (self.cgroup_parent, cid),
                             "--snapshotter", self.snapshotter,
                             *opts, IMAGE, cid, *cmd)

    def exec_argv(self, cid, exec_id, *cmd, opts=()):
        """argv of `ctr tasks exec --exec-id EXEC_ID CID CMD...`."""
        return self.ctr_argv("tasks", "exec", "--fifo-dir", self.fifo_dir, "--exec-id", exec_id,
                             *opts, cid, *cmd)

    def cleanup_containers(self):
        for ns in self.ctr("namespaces", "ls", "-q", timeout=20).stdout.split():
            for cid in self.ctr("tasks", "ls", "-q", namespace=ns, timeout=20).stdout.split():
                self.shim_ids.add((ns, cid))
                self.ctr("tasks", "kill", "-a", "-s", "SIGKILL", cid, namespace=ns, timeout=20)
                self.ctr("tasks", "delete", "-f", cid, namespace=ns, timeout=30)
            for cid in self.ctr("containers", "ls", "-q", namespace=ns, timeout=20).stdout.split():
                self.ctr("containers", "delete", cid, namespace=ns, timeout=30)

    def close(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.cleanup_containers()
                self.proc.terminate()
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            # The shims (re-parented away from containerd) carry our socket path.
            shims = _pids_with(self.sock)
            for pid in shims:
                argv = _cmdline(pid)
                opts = dict(zip(argv[1::2], argv[2::2])) if argv else {}
                if "-namespace" in opts and "-id" in opts:
                    self.shim_ids.add((opts["-namespace"], opts["-id"]))
            _kill_wait(shims)
            for ns, cid in self.shim_ids:
                try:
                    os.unlink(_shim_socket(self.sock, ns, cid))
                except OSError:
                    pass
            left = self.box.umount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.host_paths.close()
            self.cgroups.close()
        assert not left, "containerd left mounts: %r" % left


# --- podman ------------------------------------------------------------------

class Podman:
    """A private podman in `box` running containers with `runtime`."""

    def __init__(self, box, runtime, image):
        self.box = box
        self.runtime = runtime
        # The runtime's state stays in its default --root (/run/runc,
        # /run/crun, /run/zonehost-runc): podman's --runtime-flag root=DIR is not passed on by
        # `podman container cleanup` (conmon's exit command), whose
        # `delete --force` would then miss the container.
        self.host_paths = HostPaths(["/var/lib/containers", "/var/lib/containers/cache",
                                     "/run/runc", "/run/crun", "/run/zonehost-runc"],
                                    ["/var/lib/containers/cache/blob-info-cache-v1.boltdb"])
        self.dir = tempfile.mkdtemp(prefix="zh-podman-", dir="/var/tmp")
        self.cgroups = Cgroups(["libpod_parent"])
        for d in ("root", "run", "tmp", "net.d"):
            os.makedirs(os.path.join(self.dir, d))
        # podman sets the container's RLIMIT_NOFILE/NPROC above the host's by
        # default; without CAP_SYS_RESOURCE the runtime's setrlimit fails.
        # Ask for what the caller already has (conmon holds nproc <= pid_max).
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
        nof = resource.getrlimit(resource.RLIMIT_NOFILE)
        npr = resource.getrlimit(resource.RLIMIT_NPROC)
        nproc = min(x for x in (npr[1], pid_max) if x != resource.RLIM_INFINITY)
        self.conf = os.path.join(self.dir, "containers.conf")
        with open(self.conf, "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n'
                    '[network]\nnetwork_config_dir = "%s/net.d"\n'
                    '[engine]\nlock_type = "file"\n'
                    % (nof[0], nof[1], nproc, nproc, self.dir))
        self.env = dict(os.environ, CONTAINERS_CONF=self.conf)
        try:
            self.ok("load", "-i", image["docker_tar"], timeout=120)
        except BaseException:
            self.close()
            raise

    def argv(self, *args, runtime=None):
        return self.box.argv(
            "podman", "--root", self.dir + "/root", "--runroot", self.dir + "/run",
            "--tmpdir", self.dir + "/tmp", "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "file",
            "--runtime", runtime or self.runtime, *args)

    def run(self, *args, timeout=60, input=None):
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout, env=self.env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, **kw):
        cp = self.run(*args, **kw)
        assert cp.returncode == 0, "podman %s: rc %d\n%s\n%s" % (
            " ".join(args), cp.returncode, cp.stdout[-2000:], cp.stderr[-2000:])
        return cp

    def close(self):
        try:
            self.run("rm", "-a", "-f", "-t", "0", timeout=120)
        except subprocess.TimeoutExpired:
            pass
        finally:
            # conmon and the `podman container cleanup` it runs when a
            # container exits carry our directories: let them finish (the
            # cleanup's runtime `delete` would recreate /run/<runtime> after
            # us), then kill what is left.
            end = time.monotonic() + 10
            while _pids_with(self.dir) and time.monotonic() < end:
                time.sleep(0.1)
            _kill_wait(_pids_with(self.dir))
            left = self.box.umount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.host_paths.close()
            self.cgroups.close()
        assert not left, "podman left mounts: %r" % left



def zlogin_in(box, host, uuid, *cmd):
    """zlogin into a container's zone from the box's mount namespace, where
    its zoneadmd made the zone's cgroups (a box made with hide_unified has
    no cgroup2 mount; the tests hide it for crun only, bench/oci for all)."""
    from conftest import Result
    cp = subprocess.run(box.argv(os.path.join(CMD, "zlogin"), uuid, *cmd),
                        capture_output=True, text=True, timeout=60, env=host.env,
                        stdin=subprocess.DEVNULL)
    return Result(cp)

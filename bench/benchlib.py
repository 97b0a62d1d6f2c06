"""Shared by the bench/ scripts: a private zonehost "box" (its own
ZONEHOST_ROOT, optionally its own network namespace) that cleans up after
itself, and docs/benchmarks.md, one page with one section per script (each
script replaces only its own section)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(TOP, "docs", "benchmarks.md")
BUILD = os.environ.get("ZH_BUILD", os.path.join(TOP, "build"))
CMD = os.path.join(BUILD, "src", "cmd")


def write_section(heading, text):
    """Replace the section that starts with `heading` (up to the next
    '## ' heading) by `text`, or append it."""
    try:
        with open(DOC) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n"
    start = doc.find(heading)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + len(heading))
        doc = doc[:start] + text + ("\n" + doc[end + 1:] if end >= 0 else "")
    with open(DOC, "w") as f:
        f.write(doc.rstrip("\n") + "\n")


class Box:
    """A private host: its own ZONEHOST_ROOT and, with netns, every command
    run inside that network namespace (made here, removed by cleanup)."""

    def __init__(self, name, netns=False):
        self.root = tempfile.mkdtemp(prefix="zh-bench-%s-" % name, dir="/var/tmp")
        self.env = dict(os.environ, ZONEHOST_ROOT=self.root)
        self.uuids = []
        self.netns = None
        if netns:
            self.netns = "zh-bench-%s" % os.path.basename(self.root)[-8:]
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)

    def argv(self, tool, *args):
        """zonehost tools from the build, anything else (ip, iperf3) from PATH."""
        path = tool
        if not os.path.isabs(tool) and os.path.exists(os.path.join(CMD, tool)):
            path = os.path.join(CMD, tool)
        argv = [path] + [str(a) for a in args]
        if self.netns:
            argv = ["nsenter", "--net=/run/netns/" + self.netns, "--"] + argv
        return argv

    def run(self, tool, *args, stdin=None, check=True, timeout=120):
        cp = subprocess.run(self.argv(tool, *args), input=stdin, env=self.env,
                            capture_output=True, text=True, timeout=timeout)
        if check and cp.returncode != 0:
            raise RuntimeError("%s %s failed (%d): %s" % (tool, " ".join(map(str, args)),
                                                          cp.returncode, cp.stderr.strip()))
        return cp

    def timed(self, tool, *args, **kw):
        t0 = time.perf_counter()
        cp = self.run(tool, *args, **kw)
        return (time.perf_counter() - t0) * 1000.0, cp

    def install_image(self):
        out = os.path.join(self.root, "img")
        os.makedirs(out)
        cp = self.run(os.path.join(TOP, "tools", "mkimage-busybox"), out)
        manifest, image = cp.stdout.split()[:2]
        with open(manifest) as f:
            uuid = json.load(f)["uuid"]
        self.run("imgadm", "install", "-m", manifest, "-f", image)
        return uuid

    def create(self, image, i):
        payload = json.dumps({"brand": "joyent", "image_uuid": image, "autoboot": False,
                              "alias": "density-%d" % i, "hostname": "density-%d" % i,
                              "max_physical_memory": 64})
        cp = self.run("vmadm", "create", stdin=payload)
        uuid = cp.stderr.split()[-1]
        self.uuids.append(uuid)
        return uuid

    def cleanup(self):
        failed = 0
        for uuid in reversed(self.uuids):
            self.run("vmadm", "stop", "-F", uuid, check=False)
            if self.run("vmadm", "delete", uuid, check=False).returncode != 0:
                failed += 1
        pools = os.path.join(self.root, "etc", "zonehost", "pools")
        if os.path.isdir(pools):
            for f in os.listdir(pools):
                if f.endswith(".json"):
                    self.run("zonehost", "pool", "destroy", "--force", f[:-5], check=False)
        with open("/proc/self/mountinfo") as f:
            mps = [l.split()[4] for l in f if l.split()[4].startswith(self.root)]
        for mp in sorted(mps, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(".img"):
                    lo = subprocess.run(["losetup", "-j", os.path.join(dirpath, name)],
                                        capture_output=True, text=True).stdout
                    for line in lo.splitlines():
                        subprocess.run(["losetup", "-d", line.split(":")[0]],
                                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        return failed

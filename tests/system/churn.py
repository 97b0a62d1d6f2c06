"""Churn: create/start/stop/delete cycles and a census before and after
(no tests here; used by test_churn.py and bench/churn).

run(h, img, cycles, zones) makes `zones` zones at a time, each with a NIC
(a veth and nft objects) and a quota (a qgroup), one after the other (a
create takes the host lock), then starts them all at once, stops them all
at once (gracefully in even rounds, `stop -F` in odd ones: both ways a
zone ends) and deletes them all at once, round after round, until `cycles` zone life cycles are
done.  In the first and the last round it records each running zoneadmd's
open fds and resident memory.  It returns (before, after, procs, secs):
leaks.census() counts before the first and after the last round, the
zoneadmd figures per round, and the time taken.
"""
import json
import os
import subprocess
import time

from leaks import census

MEM_KEYS = ("MemAvailable", "Slab")


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for l in f:
            k, v = l.split(":")
            if k in MEM_KEYS:
                out[k] = int(v.split()[0])
    return out


def proc_figures(pid):
    """(open fds, VmRSS kB) of pid, or None once it is gone."""
    try:
        fds = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return fds, rss
    except (OSError, StopIteration):
        return None


def ok(r):
    assert r.rc == 0, r
    return r


def parallel(h, verb, uuids, *opts):
    """`vmadm <verb> [opts] <uuid>` for every uuid at once, as a busy host sees them."""
    vmadm = os.path.join(h.env["PATH"].split(":")[0], "vmadm")
    pre = ["nsenter", "--net=/run/netns/" + h.netns, "--"] if h.netns else []
    ps = [subprocess.Popen(pre + [vmadm, verb] + list(opts) + [u], env=h.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for u in uuids]
    for u, p in zip(uuids, ps):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, (verb, u, err)


def one_round(h, img, n, base, measure, force):
    uuids = []
    for i in range(n):
        k = base + i
        p = {"brand": "joyent", "image_uuid": img, "autoboot": False, "quota": 1,
             "nics": [{"nic_tag": "stub0",
                       "ips": ["198.18.%d.%d/16" % (k // 250 % 250, k % 250 + 2)]}]}
        r = ok(h.vmadm("create", input=json.dumps(p)))
        uuids.append(r.err.split()[-1])
    figs = []
    parallel(h, "start", uuids)
    if measure:
        for u in uuids:
            with open(os.path.join(h.root, "run", "zonehost", u, "state.json")) as f:
                f = proc_figures(json.load(f)["zoneadmd_pid"])
            if f:
                figs.append(f)
    parallel(h, "stop", uuids, *(["-F"] if force else []))  # busybox init halts in ~2 s
    parallel(h, "delete", uuids)
    return uuids, figs


def run(h, img, cycles, zones, log=None):
    uuids = []
    before = census(h)
    mem0 = meminfo()
    t0 = time.time()
    rounds = max(1, cycles // zones)
    procs = {}
    for i in range(rounds):
        measure = i in (0, rounds - 1)
        us, figs = one_round(h, img, zones, i * zones, measure, force=i % 2 == 1)
        uuids += us
        if measure:
            procs["first" if i == 0 else "last"] = figs
        if log and (i + 1) % max(1, rounds // 20) == 0:
            log("round %d/%d: %d cycles, %.0f s" % (i + 1, rounds, (i + 1) * zones,
                                                   time.time() - t0))
    secs = time.time() - t0
    procs.setdefault("last", procs.get("first", []))
    after = census(h, uuids)
    before["cgroups"] = 0  # none of these uuids existed before
    mem1 = meminfo()
    for k in MEM_KEYS:
        before[k + "_kB"] = mem0.get(k, 0)
        after[k + "_kB"] = mem1.get(k, 0)
    for which, d in (("first", before), ("last", after)):
        figs = procs.get(which, [])
        d["zoneadmd_fds_max"] = max((f[0] for f in figs), default=0)
        d["zoneadmd_rss_kB_max"] = max((f[1] for f in figs), default=0)
    return before, after, rounds * zones, secs


# What must not grow (the rest is shown for context: host memory moves with
# everything else the machine runs).
STRICT = ("zoneadmd", "cgroups", "mounts", "loops", "veths", "taps", "nft", "subvols", "qgroups",
          "stale_qgroups", "run", "locks", "debris", "zoneadmd_fds_max")


def table(before, after):
    lines = ["| object | before | after | growth |", "|---|---:|---:|---:|"]
    for k in before:
        lines.append("| %s | %d | %d | %+d |" % (k, before[k], after[k], after[k] - before[k]))
    return "\n".join(lines)


def grown(before, after):
    bad = {k: (before[k], after[k]) for k in STRICT if after[k] > before[k]}
    if after["zoneadmd_rss_kB_max"] > before["zoneadmd_rss_kB_max"] * 1.25 + 1024:
        bad["zoneadmd_rss_kB_max"] = (before["zoneadmd_rss_kB_max"], after["zoneadmd_rss_kB_max"])
    return bad

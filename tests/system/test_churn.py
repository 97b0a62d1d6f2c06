"""Churn (issue 10 "Also"): the short version of bench/churn that
`make check` runs: 100 create/start/stop/delete cycles over 10 zones (each
with a NIC and a quota), then no growth in zoneadmd processes, cgroups,
mounts, loop devices, veths, nft objects, subvolumes, qgroups, run
directories, lock files or pool debris, and none in a zoneadmd's fds or
memory between the first and the last round (churn.py, leaks.py).
"""
import os

from churn import grown, run, table
from conftest import CMD

CYCLES = int(os.environ.get("ZH_CHURN_CYCLES", "100"))
ZONES = int(os.environ.get("ZH_CHURN_ZONES", "10"))


def test_churn_leaves_nothing(nethost):
    h, img = nethost
    h.ok(os.path.join(CMD, "nictagadm"), "add", "-l", "stub0")
    h.ok("ip", "link", "set", "stub0", "up")
    before, after, n, secs = run(h, img, CYCLES, ZONES)
    print("\n%d cycles over %d zones in %.1f s\n%s" % (n, ZONES, secs, table(before, after)))
    assert grown(before, after) == {}, table(before, after)

"""vmadm info and vmadm sysrq (issue 12): hardware VMs only.  Bad input and
OS VMs get SmartOS's messages and exit codes and change nothing; what a
running kvm/bhyve VM reports is tested with the HVM suite (test_hvm_*.py)."""
from test_vmadm_util import create, snapshot

NOVM = "00000000-0000-4000-8000-000000000001"


def test_info_of_an_os_vm_is_refused(imghost):
    h, img = imghost
    u = create(h, img)
    before = snapshot(h)
    r = h.vmadm("info", u)
    assert r.rc == 1 and r.out == ""
    assert r.err == ("Unable to get VM info for VM %s: vmadm info is only for kvm and bhyve "
                     "VMs (brand joyent)\n" % u)
    r = h.vmadm("info", u, "vnc,status")
    assert r.rc == 1 and "only for kvm and bhyve" in r.err
    r = h.vmadm("sysrq", u, "nmi")
    assert r.rc == 1
    assert r.err == "vmadm sysrq is only for kvm and bhyve VMs (brand joyent)\n"
    assert snapshot(h) == before
    assert h.vmadm("delete", u).rc == 0


def test_info_bad_input(host):
    r = host.vmadm("info", NOVM)
    assert r.rc == 1
    assert r.err == ("Unable to get VM info for VM %s: zoneadm: %s: No such zone "
                     "configured\n" % (NOVM, NOVM))
    r = host.vmadm("info")
    assert r.rc == 2 and "Invalid or missing UUID for info" in r.err


def test_sysrq_bad_input(host):
    r = host.vmadm("sysrq", NOVM, "reboot")
    assert r.rc == 2 and r.err.startswith("Invalid sysrq type: reboot\n")
    r = host.vmadm("sysrq", NOVM)
    assert r.rc == 2 and r.err.startswith("Missing sysrq type for sysrq\n")
    r = host.vmadm("sysrq", NOVM, "nmi", "x")
    assert r.rc == 2 and r.err.startswith("Too many arguments for sysrq\n")
    r = host.vmadm("sysrq", NOVM, "nmi")
    assert r.rc == 1 and r.err == "zoneadm: %s: No such zone configured\n" % NOVM


def test_start_extras_of_an_os_vm_are_refused(imghost):
    """order=, cdrom= and disk= are for hardware VMs; junk is named."""
    h, img = imghost
    u = create(h, img)
    before = snapshot(h)
    r = h.vmadm("start", u, "order=cd,once=d")
    assert r.rc == 1
    assert r.err == "order=, cdrom= and disk= are for kvm and bhyve VMs\n"
    r = h.vmadm("start", u, "frob")
    assert r.rc == 1
    assert r.err == 'invalid start argument "frob" (order=, cdrom= or disk=)\n'
    assert snapshot(h) == before
    r = h.vmadm("list", "-H", "-o", "state", "uuid=" + u)
    assert r.out.strip() == "stopped"
    assert h.vmadm("delete", u).rc == 0

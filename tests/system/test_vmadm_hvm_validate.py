"""vmadm validate of kvm / bhyve payloads (the config layer); vmadm create still refuses them."""
import json

from conftest import new_uuid
from test_vmadm_util import snapshot

KVM = {
    "brand": "kvm", "ram": 1024, "vcpus": 2, "cpu_type": "host", "disk_driver": "virtio",
    "nic_driver": "e1000", "vnc_port": 5901, "vnc_password": "12345678",
    "qemu_extra_opts": "-x",
    "disks": [{"size": 10240, "boot": True, "model": "scsi", "block_size": 4096,
               "compression": "lz4", "refreservation": 0},
              {"media": "cdrom", "path": "/iso/a.iso", "model": "ide"}],
    "nics": [{"nic_tag": "admin", "model": "virtio", "ips": ["dhcp"]}],
}

BHYVE = {
    "brand": "bhyve", "ram": 2048, "bootrom": "uefi", "flexible_disk_size": 20480,
    "bhyve_extra_opts": "-x", "vnc_port": -1,
    "disks": [{"size": 10240, "boot": True, "model": "nvme", "pci_slot": "0:4:0",
               "uuid": new_uuid()}],
    "nics": [{"nic_tag": "admin", "model": "virtio"}],
}


def validate(h, payload, *args):
    return h.vmadm("validate", *(args or ("create",)), input=json.dumps(payload))


def test_valid_kvm_and_bhyve(host):
    for p in (KVM, BHYVE):
        r = validate(host, p)
        assert r.rc == 0, r
        assert r.err == "VALID 'create' payload for %s brand VMs.\n" % p["brand"]


def test_kvm_only_and_bhyve_only_properties(host):
    r = validate(host, dict(BHYVE, cpu_type="qemu64", qemu_opts="-a", vga="std"))
    assert r.rc == 1
    assert json.loads(r.err)["bad_properties"] == ["cpu_type", "qemu_opts", "vga"]
    r = validate(host, dict(KVM, bootrom="bios", bhyve_extra_opts="-x", flexible_disk_size=1))
    assert r.rc == 1
    assert json.loads(r.err)["bad_properties"] == ["bootrom", "bhyve_extra_opts",
                                                   "flexible_disk_size"]


def test_bad_values(host):
    r = validate(host, dict(KVM, vnc_port=65536, vcpus=0, ram=-1))
    assert r.rc == 1
    assert sorted(json.loads(r.err)["bad_values"]) == ["ram", "vcpus", "vnc_port"]
    r = validate(host, dict(BHYVE, disks=[{"size": "big", "boot": "maybe"}]))
    assert r.rc == 1
    assert sorted(json.loads(r.err)["bad_values"]) == ["disks.*.boot", "disks.*.size"]


def test_disk_sub_properties_per_brand(host):
    # pci_slot, uuid, notrim: bhyve; image_name: kvm; block_size: create only
    r = validate(host, dict(KVM, disks=[{"size": 1, "pci_slot": "0:4:0", "notrim": True}]))
    assert r.rc == 1
    assert json.loads(r.err)["bad_properties"] == ["disks.*.pci_slot", "disks.*.notrim"]
    r = validate(host, {"update_disks": [{"path": "/x", "block_size": 512}]},
                 "update", "bhyve")
    assert r.rc == 1
    assert json.loads(r.err)["bad_properties"] == ["disks.*.block_size"]


def test_disk_image_must_be_installed_zvol(host):
    img = new_uuid()
    r = validate(host, dict(BHYVE, disks=[{"image_uuid": img, "model": "virtio",
                                           "image_size": 10240}]))
    assert r.rc == 1
    assert json.loads(r.err)["bad_values"] == ["disks.0.image_uuid"]
    r = validate(host, dict(KVM, disks=[{"image_uuid": img, "size": 20480}]))
    rep = json.loads(r.err)
    assert rep["bad_properties"] == ["disks.0.size"]  # size with an image needs flexible_disk_size


def test_validate_update_disks(host):
    p = {"add_disks": [{"size": 1024, "model": "virtio"}],
         "update_disks": [{"path": "/zones/u/disk0", "size": 2048,
                           "dangerous_allow_shrink": True}],
         "remove_disks": ["/zones/u/disk1"], "ram": 4096, "vnc_password": "x"}
    r = validate(host, p, "update", "bhyve")
    assert r.rc == 0, r
    assert r.err == "VALID 'update' payload for bhyve brand VMs.\n"
    r = validate(host, {"add_disks": [{"size": 1}], "vcpus": 0}, "update", "joyent")
    assert r.rc == 1
    rep = json.loads(r.err)
    assert "add_disks" in rep["bad_properties"] and "vcpus" in rep["bad_properties"]


def no_nics(p):
    """Without nics: the test host has no nic tags."""
    return {k: v for k, v in p.items() if k != "nics"}


def test_create_hvm_refused_nothing_left(imghost):
    host, _ = imghost
    before = snapshot(host)
    for p in (no_nics(KVM), no_nics(BHYVE)):
        r = host.vmadm("create", input=json.dumps(p))
        assert r.rc == 1, r
        assert r.err == "brand %s: hardware VMs are not supported yet\n" % p["brand"], r
        assert snapshot(host) == before
    r = host.vmadm("list", "-H", "-o", "uuid")
    assert r.out == ""


def test_create_hvm_bad_payload_messages(imghost):
    host, _ = imghost
    cases = [
        (dict(no_nics(KVM), disks=[{"size": 1, "model": "nvme"}]),
         '"nvme" is not a valid disk model for kvm brand. Valid are: virtio, ide, scsi'),
        (dict(no_nics(BHYVE), vnc_password="123456789"),
         "VNC password is too long, maximum length is 8 characters."),
        (dict(BHYVE, nics=[{"nic_tag": "admin"}]),
         'missing .model option for NIC: {"nic_tag":"admin"}'),
        (dict(no_nics(KVM), disks=[{"size": 1, "boot": True}, {"size": 1, "boot": True}]),
         "multiple boot disks: 2"),
    ]
    before = snapshot(host)
    for p, msg in cases:
        r = host.vmadm("create", input=json.dumps(p))
        assert r.rc == 1, r
        assert msg in r.err, r
    assert snapshot(host) == before

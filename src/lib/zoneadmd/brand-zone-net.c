/*
 * brand-zone-net.c - an OS zone's network, as zoneadmd makes it: the
 * VNICs (net_vnics_create: veths on the tags' bridges, zone ends in the
 * zone's new netns, addresses and routes) and the VM's nft rules, made by
 * the network hook zone_spawn calls between the id maps and init; removed
 * at the end and before each reboot's new netns; changed live by
 * CTL_UPDATE_NET (docs/architecture.md §7).
 *
 *     .before_release = zone_net_hook, .hook_ctx = z    (zone_spawn)
 *
 * If a live change fails the old network is put back and the caller told;
 * vmadm then puts the old config back.
 */
#include "crashpoint.h"
#include "net.h"
#include "nft.h"
#include "brand-zone.h"
#include "vmcfg-access.h"
#include "zoneadmd.h"

static bool has_nics(const json_t *vm)
{
	return json_array_size(vmcfg_nics(vm)) > 0;
}

int zone_net_hook(void *ctx, pid_t pid, struct zh_error *err)
{
	struct zad *z = ctx;
	int r;

	z->net_made = true;
	/* The rules match port names: loaded first, no port is ever open unfiltered. */
	if (has_nics(z->vm) && (r = nft_vm_apply(z->uuid, z->vm, err)) < 0)
		return r;
	crashpoint("zoneadmd.nft");
	r = net_vnics_create(z->uuid, z->vm, pid, err);
	crashpoint("zoneadmd.vnics");
	return r;
}

void zone_net_release(struct zad *z)
{
	struct zh_error err = ZH_ERROR_INIT;

	if (!z->net_made)
		return;
	if (net_vnics_destroy(z->uuid, z->vm, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	if (nft_vm_remove(z->uuid, &err) < 0)
		zad_logf(z, "%s", err.msg);
	zh_error_clear(&err);
	z->net_made = false;
}

/*
 * The zone's resolv.conf, hostname and hosts are a convenience written
 * into the tenant's own files: one the tenant replaced by something else
 * (a FIFO, a directory) is left alone and logged, and the zone boots.
 */
void zone_net_prepare(struct zad *z)
{
	struct zh_error e = ZH_ERROR_INIT;

	zone_net_release(z); /* a reboot: the old VNICs go before the new netns */
	if (has_nics(z->vm) && net_nictags_ensure(&e) < 0)
		zad_logf(z, "nic tags: %s", e.msg); /* a missing bridge fails below */
	zh_error_clear(&e);
	if (net_zone_files(z->root, z->vm, &e) < 0)
		zad_logf(z, "zone files: %s", e.msg);
	zh_error_clear(&e);
}

static void restore(struct zad *z, const json_t *old)
{
	struct zh_error e = ZH_ERROR_INIT;

	if (net_vnics_sync(z->uuid, z->vm, old, z->zp.pid, &e) < 0 ||
	    nft_vm_apply(z->uuid, old, &e) < 0)
		zad_logf(z, "restoring the network: %s", e.msg);
	zh_error_clear(&e);
}

int zone_net_update(struct zad *z, const json_t *old, struct zh_error *err)
{
	struct zh_error e = ZH_ERROR_INIT;
	int r;

	if (net_nictags_ensure(&e) < 0)
		zad_logf(z, "nic tags: %s", e.msg); /* a missing bridge fails below */
	zh_error_clear(&e);
	r = net_vnics_sync(z->uuid, old, z->vm, z->zp.pid, err);
	if (r == 0)
		r = nft_vm_apply(z->uuid, z->vm, err);
	if (r == 0) {
		zad_logf(z, "network updated");
		return 0;
	}
	zad_logf(z, "network update failed: %s; restoring", err->msg);
	restore(z, old);
	return r;
}

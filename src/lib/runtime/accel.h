/*
 * accel.h - which accelerator QEMU gets: KVM only when a probe guest
 * really runs under /dev/kvm, else TCG (docs/architecture.md §22).
 *
 *     bool kvm; char why[256];
 *     accel_decide(&kvm, why, sizeof(why));   cached per host boot
 *
 * The probe (kvm-probe-guest.S) does in a forked child what a stock
 * kernel needs: real mode -> protected mode -> long mode with paging,
 * then a PIT interrupt through the in-kernel PIC; the child is killed
 * after ACCEL_PROBE_MS.  The answer and its reason are cached in
 * <run>/hvm-accel.json with the host's boot id; `zonehost sysinfo` shows
 * them as "HVM Accelerator" and "HVM Accelerator Reason".
 */
#ifndef ZH_ACCEL_H
#define ZH_ACCEL_H

#include <stdbool.h>
#include <stddef.h>

#define ACCEL_PROBE_MS 2000
#define ACCEL_CACHE    "hvm-accel.json" /* in paths_run() */

/* Run the probe now: true when the guest ran; why says what happened. */
bool accel_probe(char *why, size_t len);

/* The cached decision (probing once per host boot): *kvm and why. */
void accel_decide(bool *kvm, char *why, size_t len);

#endif

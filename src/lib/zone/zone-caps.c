/*
 * zone-caps.c - the capability bounding set of a zone.
 *
 * Owns: the policy of which capabilities a zone's processes may ever hold,
 * applied to the calling process (the zone's first process just before it
 * execs init, and zlogin's child).  Does not own the seccomp filter
 * (zone-seccomp.c), which is loaded right after this.
 *
 *     if (zone_caps_drop(&err) < 0)       (still root in the zone's userns)
 *             report through the error pipe, _exit
 *     zone_seccomp_load(&err); execve(init)
 *
 * Policy: an allowlist.  Every capability the kernel knows that is not in
 * kept[] is removed from the bounding set (so no execve, setuid binary or
 * file capability can bring it back), from the inheritable and ambient sets
 * (root's execve computes permitted = inheritable | bounding), and from the
 * current permitted/effective sets.  Capabilities newer than this list are
 * dropped too, by construction.
 *
 * Inside its own user namespace a zone's root holds every capability, but
 * only over objects that namespace owns (its mounts, network, processes,
 * files of mapped ids).  Kept, because a whole distribution needs them and
 * they are scoped by the namespace: CHOWN DAC_OVERRIDE DAC_READ_SEARCH
 * FOWNER FSETID KILL SETGID SETUID SETPCAP SETFCAP (file ownership, users,
 * logins); NET_ADMIN NET_RAW NET_BIND_SERVICE NET_BROADCAST (its own
 * network namespace); SYS_ADMIN (mount, unshare, sethostname over its own
 * namespaces: systemd needs it); SYS_CHROOT, SYS_PTRACE (its own
 * processes); SYS_BOOT (reboot() in a PID namespace ends the zone's init:
 * that is how a zone reboots or halts itself); MKNOD (whiteouts, and the
 * kernel refuses device nodes in a user namespace anyway); IPC_LOCK
 * IPC_OWNER LEASE AUDIT_WRITE CHECKPOINT_RESTORE (namespaced or harmless;
 * login and sshd expect AUDIT_WRITE); SYS_NICE SYS_RESOURCE
 * SYS_TTY_CONFIG LINUX_IMMUTABLE (checked against the initial namespace,
 * so inert here, kept because software tests for them: systemd vhangup()s
 * its console).
 *
 * A docker zone's or OCI container's process (zone_run, zone-run.c) may
 * narrow this further: zone_caps_bound() drops from the bounding set what
 * its mask leaves out, zone_caps_set() sets the effective, permitted,
 * inheritable and ambient sets, each intersected with the kept set and the
 * bounding set: a caller's mask can never give back a dropped capability.
 *
 * Dropped (as LXC's unprivileged defaults drop sys_module sys_rawio
 * sys_time mac_admin mac_override, plus what the issue names):
 *   SYS_MODULE   kernel modules are the host's
 *   SYS_RAWIO    raw I/O, iopl; also makes systemd skip debugfs/tracefs units
 *   SYS_TIME     the clock is host-wide
 *   SYS_PACCT    process accounting is host-wide
 *   MAC_ADMIN MAC_OVERRIDE  LSM policy is host-wide
 *   SYSLOG       the kernel log is the host's
 *   WAKE_ALARM BLOCK_SUSPEND  the host's power management
 *   AUDIT_CONTROL AUDIT_READ  audit rules and the audit stream are host-wide
 *   BPF PERFMON  host-wide programs and performance monitoring
 */
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zone-internal.h"

struct cap_name {
	cap_value_t cap;
	const char *name;
};

#define C(x)                       \
	{                          \
		CAP_##x, "CAP_" #x \
	}

static const struct cap_name kept_caps[] = {
	C(CHOWN),
	C(DAC_OVERRIDE),
	C(DAC_READ_SEARCH),
	C(FOWNER),
	C(FSETID),
	C(KILL),
	C(SETGID),
	C(SETUID),
	C(SETPCAP),
	C(LINUX_IMMUTABLE),
	C(NET_BIND_SERVICE),
	C(NET_BROADCAST),
	C(NET_ADMIN),
	C(NET_RAW),
	C(IPC_LOCK),
	C(IPC_OWNER),
	C(SYS_CHROOT),
	C(SYS_PTRACE),
	C(SYS_ADMIN),
	C(SYS_BOOT),
	C(SYS_NICE),
	C(SYS_RESOURCE),
	C(SYS_TTY_CONFIG),
	C(MKNOD),
	C(LEASE),
	C(AUDIT_WRITE),
	C(SETFCAP),
	C(CHECKPOINT_RESTORE),
};

static const char *const kept_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_SETFCAP",
	"CAP_CHECKPOINT_RESTORE",
	NULL,
};

static const char *const dropped_names[] = {
	"CAP_SYS_MODULE",    "CAP_SYS_RAWIO",
	"CAP_SYS_TIME",	     "CAP_SYS_PACCT",
	"CAP_MAC_ADMIN",     "CAP_MAC_OVERRIDE",
	"CAP_SYSLOG",	     "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_CONTROL",
	"CAP_AUDIT_READ",    "CAP_BPF",
	"CAP_PERFMON",	     NULL,
};

const char *const *zone_caps_kept(void)
{
	return kept_names;
}

const char *const *zone_caps_dropped(void)
{
	return dropped_names;
}

static bool is_kept(cap_value_t c)
{
	for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++)
		if (kept_caps[i].cap == c)
			return true;
	return false;
}

/* Highest capability number the running kernel knows. */
static cap_value_t last_cap(void)
{
	int n = (int)cap_max_bits();

	return n > 0 && n <= 64 ? n - 1 : CAP_LAST_CAP;
}

static int drop_bounding(cap_value_t last, struct zh_error *err)
{
	for (cap_value_t c = 0; c <= last; c++) {
		if (is_kept(c) || cap_drop_bound(c) == 0)
			continue;
		if (errno == EINVAL) /* not in this kernel */
			continue;
		return zh_error_set(err, errno, NULL,
				    "cannot drop capability %d from the bounding set: %s", (int)c,
				    strerror(errno));
	}
	return 0;
}

static int clear_sets(cap_value_t last, struct zh_error *err)
{
	static const cap_flag_t sets[] = {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE};
	cap_t caps = cap_get_proc();
	int r = caps ? 0 : -1;

	for (cap_value_t c = 0; r == 0 && c <= last; c++)
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(sets); i++)
			if (!is_kept(c))
				r = cap_set_flag(caps, sets[i], 1, &c, CAP_CLEAR);
	if (r == 0)
		r = cap_set_proc(caps);
	if (r < 0)
		r = zh_error_set(err, errno, NULL, "cannot clear capability sets: %s",
				 strerror(errno));
	cap_free(caps);
	return r;
}

int zone_caps_drop(struct zh_error *err)
{
	cap_value_t last = last_cap();
	int r;

	/* Ambient first: a capability cannot stay ambient once dropped elsewhere. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return zh_error_set(err, errno, NULL, "cannot clear ambient capabilities: %s",
				    strerror(errno));
	r = drop_bounding(last, err);
	return r < 0 ? r : clear_sets(last, err);
}

/* ---- the sets of a zone_run process (docs/architecture.md §24.3) ---- */

static uint64_t kept_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++)
		m |= 1ULL << kept_caps[i].cap;
	return m;
}

int zone_caps_bound(uint64_t keep, struct zh_error *err)
{
	cap_value_t last = last_cap();

	keep &= kept_mask();
	for (cap_value_t c = 0; c <= last; c++) {
		if ((keep >> c) & 1 || cap_drop_bound(c) == 0 || errno == EINVAL)
			continue;
		return zh_error_set(err, errno, NULL,
				    "cannot drop capability %d from the bounding set: %s", (int)c,
				    strerror(errno));
	}
	return 0;
}

/* Only what the bounding set (already narrowed) and the zone allow; ambient last. */
int zone_caps_set(uint64_t eff, uint64_t perm, uint64_t inh, uint64_t amb, struct zh_error *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};
	uint64_t bound = 0, ok = kept_mask();

	for (cap_value_t c = 0; c <= last_cap() && c < 64; c++)
		if (cap_get_bound(c) == 1)
			bound |= 1ULL << c;
	perm &= ok & bound;
	eff &= perm;
	inh &= ok & bound;
	d[0].effective = (uint32_t)eff, d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)perm, d[1].permitted = (uint32_t)(perm >> 32);
	d[0].inheritable = (uint32_t)inh, d[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return zh_error_set(err, errno, NULL, "cannot set capabilities: %s",
				    strerror(errno));
	amb &= perm & inh;
	for (int c = 0; c < 64; c++)
		if (((amb >> c) & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return zh_error_set(err, errno, NULL,
					    "cannot raise ambient capability %d: %s", c,
					    strerror(errno));
	return 0;
}

/*
 * privdrop.c - a forked helper child's way from root to nobody
 * (privdrop.h; docs/architecture.md §3, §22).
 *
 * Owns: nothing that lives on; each call changes the calling process only.
 *
 *     privdrop_reset_signals();
 *     privdrop_close_except((int[]){lfd, efd}, 2);
 *     privdrop_become(base + 1000);
 *
 * Invariants: safe after fork() in a single-threaded parent's child (no
 * allocation, no lock); the order matters (fds before the uid change, the
 * bounding set while CAP_SETPCAP is still held).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privdrop.h"

#define CAP_SLOTS 64

void privdrop_reset_signals(void)
{
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int is_kept(unsigned fd, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] >= 0 && (unsigned)keep[i] == fd)
			return 1;
	return 0;
}

int privdrop_close_except(const int *keep, size_t n)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsigned lo = 3;

	if (null < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (!is_kept((unsigned)i, keep, n) && dup2(null, i) < 0)
			return -errno;
	/* close the gaps between kept fds, in increasing order */
	for (;;) {
		unsigned next = ~0u;

		for (size_t i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && close_range(lo, next == ~0u ? ~0u : next - 1, 0) < 0)
			return -errno;
		if (next == ~0u)
			return 0;
		lo = next + 1;
	}
}

int privdrop_become(uid_t uid)
{
	for (int c = 0; c < CAP_SLOTS; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

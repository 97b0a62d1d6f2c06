/*
 * signame.c - signal names as vmadm kill, zoneadmd and the halt_signal /
 * reboot_signal properties take and print them.  See signame.h.
 *
 * Pure: glibc's sigabbrev_np() for the classic signals, SIGRTMIN+n /
 * SIGRTMAX-n arithmetic for the real-time ones.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "signame.h"
#include "util.h"

static int parse_rt(const char *s, int *sig)
{
	int64_t off = 0;
	int base;

	if (strncmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN;
	else if (strncmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX;
	else
		return -EINVAL;
	s += 5;
	if (*s && ((*s != '+' && *s != '-') || util_parse_i64(s + 1, &off) < 0))
		return -EINVAL;
	if (*s == '-')
		off = -off;
	if (off < 0 ? base + off < SIGRTMIN : base + off > SIGRTMAX)
		return -EINVAL;
	*sig = base + (int)off;
	return 0;
}

int signame_parse(const char *s, int *sig)
{
	char up[32];
	int64_t n;
	size_t i;

	if (!s || !*s || strlen(s) >= sizeof(up))
		return -EINVAL;
	if (util_parse_i64(s, &n) == 0) {
		if (n < 1 || n > SIGRTMAX)
			return -EINVAL;
		*sig = (int)n;
		return 0;
	}
	for (i = 0; s[i]; i++)
		up[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
	up[i] = '\0';
	s = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
	for (int k = 1; k < 32; k++) {
		const char *a = sigabbrev_np(k);

		if (a && streq(a, s)) {
			*sig = k;
			return 0;
		}
	}
	return parse_rt(s, sig);
}

const char *signame_format(int sig, char *buf, size_t len)
{
	const char *a = sig > 0 && sig < 32 ? sigabbrev_np(sig) : NULL;

	if (a)
		snprintf(buf, len, "SIG%s", a);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "%d", sig);
	return buf;
}

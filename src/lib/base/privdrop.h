/*
 * privdrop.h - what a forked helper child does, as root, before it serves
 * anything hostile (docs/architecture.md §3): signals as a fresh process
 * has them, only the fds it needs, then an unprivileged uid with no
 * capabilities, no_new_privs and not dumpable.
 *
 *     if (fork() == 0) {
 *             privdrop_reset_signals();
 *             if (privdrop_close_except(keep, 2) < 0 || privdrop_become(uid) < 0)
 *                     _exit(1);               report through a pipe, never a log
 *             ...
 *     }
 *
 * Used by the VNC relay (hvm/vnc-relay.c).  Each call returns 0 or a
 * negative errno and prints nothing: it runs in a child before exec.
 */
#ifndef ZH_PRIVDROP_H
#define ZH_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/* Every signal to its default, none blocked (zoneadmd blocks some for its signalfd). */
void privdrop_reset_signals(void);

/* 0, 1, 2 on /dev/null; every other fd closed but the n in keep. */
int privdrop_close_except(const int *keep, size_t n);

/*
 * Empty the capability bounding and ambient sets, drop supplementary
 * groups, become uid/gid uid (real, effective, saved), set no_new_privs
 * and clear dumpable.
 */
int privdrop_become(uid_t uid);

#endif

/*
 * crashpoint.h - the crash-consistency test hook (docs/testing.md).
 *
 * Owns nothing.  Compiled into every build, honoured only when the
 * environment names a step:
 *
 *     ZONEHOST_CRASH_AT=create.cloned vmadm create -f payload.json
 *
 * makes that vmadm (or the zoneadmd it spawns: zoneadmd inherits the
 * environment) raise SIGKILL on itself when it reaches
 * crashpoint("create.cloned").  With ZONEHOST_CRASH_LOG=FILE the step name
 * is appended to FILE first, so a test knows the kill happened there.
 * Step names are "<command>.<step>"; the list is in docs/testing.md.
 *
 *     crashpoint("create.cloned");
 */
#ifndef ZH_CRASHPOINT_H
#define ZH_CRASHPOINT_H

/* SIGKILL this process if $ZONEHOST_CRASH_AT is step; otherwise nothing. */
void crashpoint(const char *step);

#endif

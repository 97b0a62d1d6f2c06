/*
 * signame.h - signal names <-> numbers (base layer: pure, no I/O).
 */
#ifndef ZH_SIGNAME_H
#define ZH_SIGNAME_H

#include <stddef.h>

/*
 * Signal names as vmadm kill and the halt_signal property take them:
 * "SIGUSR1", "USR1", "usr1", "10", "SIGRTMIN+4", "RTMIN+4".
 * -EINVAL for anything else.  signame_format: "SIGUSR1", "SIGRTMIN+4".
 */
int signame_parse(const char *s, int *sig);
const char *signame_format(int sig, char *buf, size_t len);

#endif

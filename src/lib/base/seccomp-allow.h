/*
 * seccomp-allow.h - an allow-list seccomp filter for the unprivileged
 * children that handle untrusted bytes (image-zvol.c's decompressor,
 * dhcp-run.c's DHCP responder, vnc-relay.c's relay; docs/architecture.md
 * §12, §18, §22).
 *
 *     struct sock_filter f[] = {
 *             SECCOMP_ALLOW_HEAD,             wrong arch: killed
 *             SECCOMP_ALLOW(__NR_read),        ...one per system call
 *             BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
 *     };
 *
 * Header only: macros for a filter the caller loads with
 * prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) after no_new_privs.
 */
#ifndef ZH_SECCOMP_ALLOW_H
#define ZH_SECCOMP_ALLOW_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#if defined(__x86_64__)
#define SECCOMP_ALLOW_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ALLOW_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-allow.h: add this architecture's AUDIT_ARCH"
#endif

/* The architecture checked (another one is killed), then the number loaded. */
#define SECCOMP_ALLOW_HEAD                                                       \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ALLOW_ARCH, 1, 0),   \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),             \
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

#define SECCOMP_ALLOW(nr)                                \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

#endif

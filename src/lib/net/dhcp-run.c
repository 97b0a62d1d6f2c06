/*
 * dhcp-run.c - the DHCP responder process of one HVM NIC (dhcp.h;
 * docs/architecture.md §12.1).
 *
 * Owns: one child per NIC with static IPv4 `ips`, holding one AF_PACKET
 * socket bound to the NIC's tap.  Not: what is answered (dhcp.c), the tap
 * (net-tap.c).
 *
 *     pid_t pid;
 *     dhcp_responder_spawn(vm, nic, "vt1a2b3c4d0", &pid, &err);   zoneadmd, root
 *     ... kill(pid, SIGKILL); waitpid(pid, ...);                  at the VM's end
 *
 * Invariants: the child talks to the guest only, and the guest is
 * hostile.  So it opens its socket as root (the only privileged step),
 * then drops everything before it reads a byte: the capability bounding
 * and ambient sets, groups, uid/gid (zonehost_id_base + DHCP_UID_OFFSET,
 * of the VM's own range and none of its processes'), no_new_privs, not
 * dumpable, and a seccomp filter that kills it on any system call but
 * recvfrom, sendto, clock_gettime, close and exit.  It allocates nothing
 * after that (fixed buffers; the socket's receive buffer is capped), sees
 * only UDP to port 67 that the guest sent (a BPF socket filter; frames
 * going to the guest are ignored), answers at most RATE_PER_SEC a second
 * and is one process per tap: a guest that floods it loses only its own
 * answers.  It ends when its parent dies (PR_SET_PDEATHSIG) or when the
 * tap goes (ENETDOWN).  Set-up errors travel to the parent on a
 * close-on-exec pipe; EOF there means the filter is loaded.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dhcp.h"
#include "macro.h"
#include "seccomp-allow.h"
#include "vmcfg-access.h"

#define RATE_PER_SEC 10
#define RCVBUF	     (64 * 1024)
#define IN_MAX	     2048
#define ERR_MAX	     256

/* ---- in the child ---- */

_printf_(2, 3) static _Noreturn void child_fail(int efd, const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(efd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Only UDP (not a fragment) to port 67 in untagged IPv4. */
static int attach_filter(int fd)
{
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, IN_MAX),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(code), .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* ETH_P_ALL: a bridge port's frames reach no protocol-specific packet socket. */
static int open_socket(int ifindex, int efd)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), one = 1,
	    rcv = RCVBUF;

	if (fd < 0)
		child_fail(efd, "cannot open a packet socket: %s", strerror(errno));
	if (attach_filter(fd) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		child_fail(efd, "cannot set up the packet socket: %s", strerror(errno));
	return fd;
}

/* Signals as a fresh process has them (zoneadmd blocks some for its signalfd). */
static void reset_signals(void)
{
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Nothing of the parent's but fd and efd; 0, 1 and 2 on /dev/null. */
static void close_inherited(int fd, int efd)
{
	int lo = fd < efd ? fd : efd, hi = fd < efd ? efd : fd;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		child_fail(efd, "cannot open /dev/null: %s", strerror(errno));
	if (lo < 3 || (lo > 3 && close_range(3, (unsigned)lo - 1, 0) < 0) ||
	    (hi > lo + 1 && close_range((unsigned)lo + 1, (unsigned)hi - 1, 0) < 0) ||
	    close_range((unsigned)hi + 1, ~0u, 0) < 0)
		child_fail(efd, "cannot close inherited descriptors: %s", strerror(errno));
}

static void drop_privileges(uid_t uid, int efd)
{
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(efd, "cannot drop capability %d: %s", c, strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		child_fail(efd, "cannot become uid %u: %s", (unsigned)uid, strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(efd, "cannot set no_new_privs: %s", strerror(errno));
}

static void load_seccomp(int efd)
{
	static struct sock_filter code[] = {
		SECCOMP_ALLOW_HEAD,
		SECCOMP_ALLOW(__NR_recvfrom),
		SECCOMP_ALLOW(__NR_sendto),
		SECCOMP_ALLOW(__NR_clock_gettime),
		SECCOMP_ALLOW(__NR_close),
		SECCOMP_ALLOW(__NR_exit),
		SECCOMP_ALLOW(__NR_exit_group),
		SECCOMP_ALLOW(__NR_rt_sigreturn),
		SECCOMP_ALLOW(__NR_restart_syscall),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(code), .filter = code};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		child_fail(efd, "cannot load the seccomp filter: %s", strerror(errno));
}

/* A token bucket: RATE_PER_SEC answers a second, as many in a burst. */
static bool rate_ok(struct timespec *last, double *tokens)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - last->tv_sec) + (double)(now.tv_nsec - last->tv_nsec) / 1e9;
	*last = now;
	*tokens += dt * RATE_PER_SEC;
	if (*tokens > RATE_PER_SEC)
		*tokens = RATE_PER_SEC;
	if (*tokens < 1)
		return false;
	*tokens -= 1;
	return true;
}

static _Noreturn void serve(int fd, const struct dhcp_lease *l)
{
	static uint8_t in[IN_MAX], out[DHCP_FRAME_MAX];
	struct timespec last = {0};
	double tokens = RATE_PER_SEC;
	struct dhcp_msg m;

	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		ssize_t n = recv(fd, in, sizeof(in), 0);
		size_t len;

		if (n < 0 && errno != EINTR && errno != EAGAIN)
			_exit(errno == ENETDOWN ? 0 : 1);
		if (n <= 0 || dhcp_parse(in, (size_t)n, &m) < 0 ||
		    !(len = dhcp_answer(l, &m, out, sizeof(out))) || !rate_ok(&last, &tokens))
			continue;
		send(fd, out, len, MSG_DONTWAIT); /* a full tap queue loses the answer */
	}
}

static _Noreturn void child_main(const struct dhcp_lease *l, int ifindex, uid_t uid, pid_t parent,
				 int efd)
{
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	reset_signals();
	fd = open_socket(ifindex, efd);
	close_inherited(fd, efd);
	drop_privileges(uid, efd);
	/* again: the uid change cleared the parent-death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		child_fail(efd, "cannot follow zoneadmd: %s", strerror(errno));
	load_seccomp(efd);
	close(efd); /* EOF: set up */
	serve(fd, l);
}

/* ---- in the parent ---- */

static int responder_uid(const json_t *vm, uid_t *uid, struct zh_error *err)
{
	int64_t base = 0;

	if (!vmcfg_id_base(vm, &base) || base <= 0 || base > (int64_t)UINT32_MAX - 65536)
		return zh_error_set(err, EINVAL, VMCFG_ID_BASE,
				    "VM has no uid/gid range for its DHCP responder");
	*uid = (uid_t)(base + DHCP_UID_OFFSET);
	return 0;
}

/* The child's verdict: "" (EOF) when it is serving, else its message. */
static int await_child(pid_t pid, int rfd, struct zh_error *err)
{
	char msg[ERR_MAX];
	ssize_t n;

	do
		n = read(rfd, msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	msg[n > 0 ? n : 0] = '\0';
	return zh_error_set(err, EIO, "nics", "DHCP responder: %s",
			    n > 0 ? msg : "failed to start");
}

int dhcp_responder_spawn(const json_t *vm, const json_t *nic, const char *ifname, pid_t *pid,
			 struct zh_error *err)
{
	struct dhcp_lease l;
	int p[2], r, ifindex;
	pid_t parent = getpid();
	uid_t uid = 0;

	*pid = 0;
	if ((r = dhcp_lease_from_nic(vm, nic, &l, err)) == -ENOENT)
		return 0; /* no static IPv4: nothing to answer */
	if (r < 0 || (r = responder_uid(vm, &uid, err)) < 0)
		return r;
	if (!ifname || !(ifindex = (int)if_nametoindex(ifname)))
		return zh_error_set(err, ENODEV, "nics", "no tap %s for the DHCP responder",
				    ifname ? ifname : "");
	if (pipe2(p, O_CLOEXEC) < 0)
		return zh_error_set(err, errno, NULL, "pipe: %s", strerror(errno));
	if ((*pid = fork()) == 0) {
		close(p[0]);
		child_main(&l, ifindex, uid, parent, p[1]);
	}
	close(p[1]);
	r = *pid < 0 ? zh_error_set(err, errno, NULL, "fork: %s", strerror(errno))
		     : await_child(*pid, p[0], err);
	close(p[0]);
	if (r < 0)
		*pid = 0;
	return r;
}

/*
 * probe - a small static multi-call program copied into a zone root by the
 * isolation tests, to look at the zone from inside.  Built -static, no
 * NSS, no libraries: it must run in any zone root.
 *
 *   probe id | ids | hostname | ps | mounts | ifaces | fds | caps | syscalls |
 *         devs | ls DIR | cat FILE | write FILE TEXT | stat FILE |
 *         btrfs-snapshot DIR | exe-write [PID...] | sleep N |
 *         ns | fork CMD [ARGS...] | init [CMD ARGS...] |
 *         rawsend IFACE SRCMAC DSTMAC TYPE SRCIP DSTIP [L4 ...] (below) |
 *         udplisten PORT SECONDS | stdio | inotify N [S] | ptys N [PTMX [S]] |
 *         aio N EVENTS [S] | mount TYPE DIR [remount] [DATA]
 *
 * Each prints plain "key=value" or one-entry-per-line text on stdout and
 * exits 0 when the probe itself ran (a refused operation is a result, not
 * an error: "name=EPERM").  `init` acts as a minimal init: it prints
 * "probe-init ready", runs CMD (another probe command) if given, reaps
 * children, and exits 0 on SIGTERM, SIGUSR2 or SIGINT.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/if_packet.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EROFS: return "EROFS";
	case ETXTBSY: return "ETXTBSY";
	case EBADF: return "EBADF";
	case EFAULT: return "EFAULT";
	case ENOTTY: return "ENOTTY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOEXEC: return "ENOEXEC";
	case ESRCH: return "ESRCH";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case ENOSPC: return "ENOSPC";
	case EAGAIN: return "EAGAIN";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	default: snprintf(buf, sizeof(buf), "errno%d", e); return buf;
	}
}

static int streq_dot(const char *n)
{
	return strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
}

static int cat_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		printf("%s: %s\n", path, ename(errno));
		return 0;
	}
	fflush(stdout);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			break;
	if (n < 0)
		printf("%s: read %s\n", path, ename(errno));
	close(fd);
	return 0;
}

static int cmd_id(char **a)
{
	printf("uid=%d gid=%d\n", (int)getuid(), (int)getgid());
	printf("uid_map:");
	fflush(stdout);
	cat_file("/proc/self/uid_map");
	printf("gid_map:");
	fflush(stdout);
	return cat_file("/proc/self/gid_map");
}

/* Real and effective ids and the effective capabilities: what a setuid or capable file gave. */
static int cmd_ids(char **a)
{
	char buf[4096], *c;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	c = strstr(buf, "CapEff:\t");
	printf("uid=%d euid=%d gid=%d egid=%d capeff=%.16s\n", (int)getuid(), (int)geteuid(),
	       (int)getgid(), (int)getegid(), c ? c + 8 : "?");
	return 0;
}

static int cmd_hostname(char **a)
{
	struct utsname u;

	uname(&u);
	printf("hostname=%s\n", u.nodename);
	return 0;
}

static int is_num(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int cmd_ps(char **a)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[300], comm[64] = "";
		if (!is_num(e->d_name))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? 0 : read(fd, comm, sizeof(comm) - 1);
		if (n > 0)
			comm[n - 1] = '\0';
		if (fd >= 0)
			close(fd);
		printf("%s %s\n", e->d_name, comm);
	}
	if (d)
		closedir(d);
	return 0;
}

static int list_dir(const char *dir, int with_link)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		printf("%s: %s\n", dir, ename(errno));
		return 0;
	}
	while ((e = readdir(d))) {
		char p[600], t[512];
		if (streq_dot(e->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		ssize_t n = with_link ? readlink(p, t, sizeof(t) - 1) : -1;
		if (n >= 0) {
			t[n] = '\0';
			printf("%s -> %s\n", e->d_name, t);
		} else {
			printf("%s\n", e->d_name);
		}
	}
	closedir(d);
	return 0;
}

static int cmd_mounts(char **a)
{
	return cat_file("/proc/self/mountinfo");
}
static int cmd_ifaces(char **a)
{
	return list_dir("/sys/class/net", 0);
}
static int cmd_fds(char **a)
{
	return list_dir("/proc/self/fd", 1);
}
static int cmd_ls(char **a)
{
	return a[0] ? list_dir(a[0], 1) : 2;
}
static int cmd_cat(char **a)
{
	return a[0] ? cat_file(a[0]) : 2;
}

static int cmd_write(char **a)
{
	if (!a[0] || !a[1])
		return 2;
	int fd = open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = fd < 0 ? errno : 0;
	if (fd >= 0 && write(fd, a[1], strlen(a[1])) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	printf("write=%s\n", ename(e));
	return 0;
}

static int cmd_stat(char **a)
{
	struct stat st;

	if (!a[0])
		return 2;
	if (lstat(a[0], &st) < 0) {
		printf("stat=%s\n", ename(errno));
		return 0;
	}
	printf("uid=%d gid=%d mode=%o\n", (int)st.st_uid, (int)st.st_gid, (unsigned)st.st_mode);
	return 0;
}

static int cmd_caps(char **a)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, "Cap", 3) == 0 || strncmp(l, "NoNewPrivs", 10) == 0 ||
		    strncmp(l, "Seccomp:", 8) == 0)
			printf("%s\n", l);
	return 0;
}

static void try(const char *name, long r)
{
	printf("%s=%s\n", name, r < 0 ? ename(errno) : "ok");
}

static int cmd_syscalls(char **a)
{
	char img[8] = {0};

	try("init_module", syscall(SYS_init_module, img, sizeof(img), ""));
	try("finit_module", syscall(SYS_finit_module, -1, "", 0));
	try("delete_module", syscall(SYS_delete_module, "probe_none", 0));
	try("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	try("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
	/* CAD_OFF is harmless even where it would be allowed. */
	try("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			      LINUX_REBOOT_CMD_CAD_OFF, NULL));
	try("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	try("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	try("request_key", syscall(SYS_request_key, "user", "probe", NULL, 0));
	try("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
	try("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	try("userfaultfd", syscall(SYS_userfaultfd, 0));
	try("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
	return 0;
}

static void try_ioctl(const char *name, int fd, unsigned long req, void *arg)
{
	try(name, ioctl(fd, req, arg));
}

static int cmd_btrfs(char **a)
{
	struct btrfs_ioctl_vol_args v = {0};
	struct btrfs_ioctl_vol_args_v2 v2 = {0};
	struct btrfs_ioctl_qgroup_limit_args ql = {0};
	int fd = a[0] ? open(a[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd < 0) {
		printf("open=%s\n", ename(errno));
		return 0;
	}
	v.fd = fd;
	snprintf(v.name, sizeof(v.name), "probe-snap");
	try_ioctl("snap_create", fd, BTRFS_IOC_SNAP_CREATE, &v);
	v2.fd = fd;
	snprintf(v2.name, sizeof(v2.name), "probe-snap2");
	try_ioctl("snap_create_v2", fd, BTRFS_IOC_SNAP_CREATE_V2, &v2);
	snprintf(v.name, sizeof(v.name), "probe-subvol");
	try_ioctl("subvol_create", fd, BTRFS_IOC_SUBVOL_CREATE, &v);
	snprintf(v.name, sizeof(v.name), "probe-subvol");
	try_ioctl("snap_destroy", fd, BTRFS_IOC_SNAP_DESTROY, &v);
	ql.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
	ql.lim.max_rfer = 1ULL << 40;
	try_ioctl("qgroup_limit", fd, BTRFS_IOC_QGROUP_LIMIT, &ql);
	close(fd);
	return 0;
}

static int cmd_devs(char **a)
{
	DIR *d = opendir("/dev");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[300];
		struct stat st;
		if (streq_dot(e->d_name))
			continue;
		snprintf(p, sizeof(p), "/dev/%s", e->d_name);
		if (lstat(p, &st) < 0)
			continue;
		char t = S_ISCHR(st.st_mode)   ? 'c'
			 : S_ISDIR(st.st_mode) ? 'd'
			 : S_ISLNK(st.st_mode) ? 'l'
			 : S_ISBLK(st.st_mode) ? 'b'
					       : '-';
		printf("%c %s %u:%u\n", t, e->d_name, major(st.st_rdev), minor(st.st_rdev));
	}
	if (d)
		closedir(d);
	return 0;
}

static void exe_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	printf("%s=%s\n", path, fd < 0 ? ename(errno) : "WRITABLE");
	if (fd >= 0)
		close(fd);
}

static int cmd_exe_write(char **a)
{
	char p[64], t[256];
	ssize_t n = readlink("/proc/self/exe", t, sizeof(t) - 1);

	printf("self_exe=%s\n", n < 0 ? ename(errno) : (t[n] = '\0', t));
	exe_write("/proc/self/exe");
	exe_write("/proc/1/exe");
	for (; *a; a++) {
		snprintf(p, sizeof(p), "/proc/%s/exe", *a);
		exe_write(p);
	}
	return 0;
}

static int cmd_ns(char **a)
{
	static const char *const ns[] = {"user", "mnt", "pid", "uts", "ipc", "net", "cgroup"};
	char p[64], t[64];

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(p, sizeof(p), "/proc/self/ns/%s", ns[i]);
		ssize_t n = readlink(p, t, sizeof(t) - 1);
		printf("%s=%s\n", ns[i], n < 0 ? ename(errno) : (t[n] = '\0', t));
	}
	return 0;
}

static int cmd_sleep(char **a)
{
	sleep(a[0] ? (unsigned)atoi(a[0]) : 1);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = 1;
}

static int dispatch(char **a);

static void run_sub(char **a)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(dispatch(a));
}

/* Run a probe command in a child and wait for it (for `ps` from pid 2). */
static int cmd_fork(char **a)
{
	int st = 0;

	run_sub(a);
	wait(&st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int cmd_init(char **a)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("probe-init ready\n");
	fflush(stdout);
	if (a[0])
		run_sub(a);
	while (!stop) {
		int st;
		if (waitpid(-1, &st, 0) < 0 && errno == ECHILD)
			pause();
		fflush(stdout);
	}
	printf("probe-init stopping\n");
	return 0;
}

/*
 * ---- raw frames (anti-spoofing tests) ----
 *
 * rawsend IFACE SRCMAC DSTMAC TYPE SRCIP DSTIP [L4 ...]
 *   TYPE ip:   Ethernet + IPv4 + L4; ip6: Ethernet + IPv6 + L4
 *   TYPE arp:  an ARP request "who-has DSTIP tell SRCIP (SRCMAC)"
 *   TYPE 0xNNNN: that ethertype, TEXT (or "probe") as payload
 *   L4 (default: udp 9999 9999 probe):
 *     udp SPORT DPORT [TEXT]          a datagram carrying TEXT
 *     dhcp SPORT DPORT offer|discover CHADDR
 *                                     a DHCP message (BOOTP op 2|1, magic
 *                                     cookie, option 53) over UDP
 *     dhcp6 SPORT DPORT advertise|reply|solicit|relay-repl
 *                                     a DHCPv6 message of that type
 *     ra                              ICMPv6 router advertisement (router
 *                                     lifetime 1800 s, source LLA SRCMAC)
 *     na TARGET [LLADDR]              unsolicited neighbour advertisement
 *                                     (override), target LLA LLADDR|SRCMAC
 *     na2 TARGET LLADDR               the same with an unknown option
 *                                     before the target LLA option
 *     ns TARGET                       neighbour solicitation (source LLA
 *                                     SRCMAC; none when SRCIP is ::)
 * udplisten PORT [+]SECONDS: print "recv=TEXT from=ADDR" per datagram
 *                                     for SECONDS; with "+", until stdin
 *                                     reaches EOF (SECONDS: a deadline)
 */

struct rawargs {
	unsigned char src[6], dst[6];
	unsigned short type;
	int family;
	unsigned char sip[16], dip[16];
	unsigned proto; /* 17 udp, 58 icmpv6 */
	unsigned sport, dport;
	unsigned char pay[1100]; /* L4 payload (udp) or the whole ICMPv6 message */
	size_t plen;
};

static int parse_mac6(const char *s, unsigned char m[6])
{
	unsigned v[6];
	int n = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) !=
		    6 ||
	    s[n])
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (unsigned char)v[i];
	return 0;
}

static unsigned csum_add(unsigned sum, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (unsigned)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (unsigned)(p[n - 1] << 8);
	return sum;
}

static unsigned short csum_fold(unsigned sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (unsigned short)~sum;
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* The L4 header + payload at p, checksummed over the family's pseudo-header. */
static size_t build_l4(const struct rawargs *r, unsigned char *p)
{
	size_t hl = r->proto == 17 ? 8 : 0, ul = hl + r->plen, al = r->family == AF_INET ? 4 : 16;
	size_t ck = r->proto == 17 ? 6 : 2;
	unsigned sum = 0;

	if (r->proto == 17) {
		put16(p, r->sport);
		put16(p + 2, r->dport);
		put16(p + 4, (unsigned)ul);
	}
	memcpy(p + hl, r->pay, r->plen);
	put16(p + ck, 0);
	sum = csum_add(sum, r->sip, al);
	sum = csum_add(sum, r->dip, al);
	sum += r->proto + (unsigned)ul;
	sum = csum_add(sum, p, ul);
	put16(p + ck, csum_fold(sum) ? csum_fold(sum) : 0xffff);
	return ul;
}

static size_t build_ip4(const struct rawargs *r, unsigned char *p)
{
	size_t ul = build_l4(r, p + 20);

	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (unsigned)(20 + ul));
	p[8] = 64;
	p[9] = (unsigned char)r->proto;
	memcpy(p + 12, r->sip, 4);
	memcpy(p + 16, r->dip, 4);
	put16(p + 10, csum_fold(csum_add(0, p, 20)));
	return 20 + ul;
}

static size_t build_ip6(const struct rawargs *r, unsigned char *p)
{
	size_t ul = build_l4(r, p + 40);

	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (unsigned)ul);
	p[6] = (unsigned char)r->proto;
	p[7] = r->proto == 58 ? 255 : 64; /* ND needs hop limit 255 */
	memcpy(p + 8, r->sip, 16);
	memcpy(p + 24, r->dip, 16);
	return 40 + ul;
}

static size_t build_arp(const struct rawargs *r, unsigned char *p)
{
	put16(p, 1);
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 1);
	memcpy(p + 8, r->src, 6);
	memcpy(p + 14, r->sip, 4);
	memset(p + 18, 0, 6);
	memcpy(p + 24, r->dip, 4);
	return 28;
}

/* A link-layer address option (type 1 source, 2 target) at p. */
static size_t put_lla(unsigned char *p, unsigned type, const unsigned char mac[6])
{
	p[0] = (unsigned char)type;
	p[1] = 1;
	memcpy(p + 2, mac, 6);
	return 8;
}

/* ra | na TARGET [LLA] | na2 TARGET LLA | ns TARGET: the ICMPv6 message. */
static int build_nd(char **a, struct rawargs *r)
{
	unsigned char *m = r->pay, lla[6];
	static const unsigned char any[16];

	memcpy(lla, r->src, 6);
	memset(m, 0, 32);
	r->proto = 58;
	if (strcmp(a[0], "ra") == 0) {
		m[0] = 134;
		m[4] = 64;	    /* cur hop limit */
		put16(m + 6, 1800); /* router lifetime: "I am a default router" */
		r->plen = 16 + put_lla(m + 16, 1, lla);
		return 0;
	}
	if (!a[1] || inet_pton(AF_INET6, a[1], m + 8) != 1 || (a[2] && parse_mac6(a[2], lla) < 0))
		return -1;
	r->plen = 24;
	if (strcmp(a[0], "ns") == 0) {
		m[0] = 135;
		if (memcmp(r->sip, any, 16) != 0)
			r->plen += put_lla(m + 24, 1, lla);
		return 0;
	}
	m[0] = 136;
	m[4] = 0x20; /* override */
	if (strcmp(a[0], "na2") == 0) {
		m[24] = 200; /* an option no one knows, which a receiver skips */
		m[25] = 1;
		r->plen += 8;
	}
	r->plen += put_lla(m + r->plen, 2, lla);
	return strcmp(a[0], "na") == 0 || strcmp(a[0], "na2") == 0 ? 0 : -1;
}

/* dhcp SPORT DPORT offer|discover CHADDR: a BOOTP message with the DHCP cookie. */
static int build_dhcp4(char **a, struct rawargs *r)
{
	unsigned char *b = r->pay;
	unsigned char chaddr[6];
	int offer = a[3] && strcmp(a[3], "offer") == 0;

	if (!a[3] || !a[4] || parse_mac6(a[4], chaddr) < 0)
		return -1;
	memset(b, 0, 300);
	b[0] = offer ? 2 : 1; /* op: BOOTREPLY | BOOTREQUEST */
	b[1] = 1;	      /* htype ethernet */
	b[2] = 6;
	memcpy(b + 4, "\x12\x34\x56\x78", 4);			     /* xid */
	memcpy(b + 16, "\xc6\x12\x00\x32", 4);			     /* yiaddr 198.18.0.50 */
	memcpy(b + 28, chaddr, 6);				     /* chaddr */
	memcpy(b + 236, "\x63\x82\x53\x63", 4);			     /* magic cookie */
	memcpy(b + 240, offer ? "\x35\x01\x02" : "\x35\x01\x01", 3); /* DHCP message type */
	b[243] = 0xff;
	r->plen = 300;
	return 0;
}

/* dhcp6 SPORT DPORT TYPE: msg-type, transaction id, an empty client id. */
static int build_dhcp6(char **a, struct rawargs *r)
{
	static const struct {
		const char *name;
		unsigned char type;
	} t[] = {{"solicit", 1}, {"advertise", 2}, {"reply", 7}, {"relay-repl", 13}};

	for (size_t i = 0; a[3] && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(a[3], t[i].name) == 0) {
			memcpy(r->pay, "\x00\x12\x34\x56\x00\x01\x00\x00", 8);
			r->pay[0] = t[i].type;
			r->plen = 8;
			return 0;
		}
	return -1;
}

/* a: "udp|dhcp|dhcp6" SPORT DPORT ... */
static int build_udp_kind(char **a, struct rawargs *r)
{
	if (!a[1] || !a[2])
		return -1;
	r->sport = (unsigned)strtoul(a[1], NULL, 10) & 0xffff;
	r->dport = (unsigned)strtoul(a[2], NULL, 10) & 0xffff;
	if (strcmp(a[0], "dhcp") == 0)
		return build_dhcp4(a, r);
	if (strcmp(a[0], "dhcp6") == 0)
		return build_dhcp6(a, r);
	if (a[3]) {
		r->plen = strlen(a[3]);
		if (r->plen > 1000)
			return -1;
		memcpy(r->pay, a[3], r->plen);
	}
	return 0;
}

static int parse_rawargs(char **a, struct rawargs *r)
{
	int n = 0;

	while (a[n])
		n++;
	if (n < 6 || parse_mac6(a[1], r->src) < 0 || parse_mac6(a[2], r->dst) < 0)
		return -1;
	r->family = strcmp(a[3], "ip6") == 0 ? AF_INET6 : AF_INET;
	if (strcmp(a[3], "ip") == 0)
		r->type = 0x0800;
	else if (strcmp(a[3], "ip6") == 0)
		r->type = 0x86dd;
	else if (strcmp(a[3], "arp") == 0)
		r->type = 0x0806;
	else
		r->type = (unsigned short)strtoul(a[3], NULL, 16);
	if (inet_pton(r->family, a[4], r->sip) != 1 || inet_pton(r->family, a[5], r->dip) != 1)
		return -1;
	r->proto = 17;
	r->sport = r->dport = 9999;
	r->plen = 5;
	memcpy(r->pay, "probe", 5);
	if (n == 6)
		return 0;
	if (strcmp(a[6], "udp") == 0 || strcmp(a[6], "dhcp") == 0 || strcmp(a[6], "dhcp6") == 0)
		return build_udp_kind(a + 6, r);
	if (r->type == 0x86dd)
		return build_nd(a + 6, r);
	r->plen = strlen(a[6]);
	if (r->plen > 1000)
		return -1;
	memcpy(r->pay, a[6], r->plen);
	return 0;
}

static int cmd_rawsend(char **a)
{
	struct rawargs r;
	unsigned char f[1600];
	size_t len = 14;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	int fd;

	if (parse_rawargs(a, &r) < 0) {
		fprintf(stderr,
			"usage: rawsend IFACE SRCMAC DSTMAC ip|ip6|arp|0xNNNN SRCIP DSTIP "
			"[udp SPORT DPORT [TEXT] | dhcp|dhcp6 SPORT DPORT TYPE [CHADDR] | ra | "
			"na|na2|ns TARGET [LLADDR]]\n");
		return 2;
	}
	memcpy(f, r.dst, 6);
	memcpy(f + 6, r.src, 6);
	put16(f + 12, r.type);
	if (r.type == 0x0800)
		len += build_ip4(&r, f + 14);
	else if (r.type == 0x86dd)
		len += build_ip6(&r, f + 14);
	else if (r.type == 0x0806)
		len += build_arp(&r, f + 14);
	else {
		memcpy(f + 14, r.pay, r.plen);
		len += r.plen;
	}
	while (len < 60)
		f[len++] = 0;
	sll.sll_ifindex = (int)if_nametoindex(a[0]);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, r.dst, 6);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || sll.sll_ifindex == 0 ||
	    sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len) {
		printf("rawsend=%s\n", ename(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	printf("rawsend=ok\n");
	return 0;
}

static int cmd_udplisten(char **a)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	int off = 0, fd;
	time_t end;

	bool until_eof;

	if (!a[0] || !a[1])
		return 2;
	until_eof = a[1][0] == '+';
	sa.sin6_port = htons((unsigned short)strtoul(a[0], NULL, 10));
	end = time(NULL) + (time_t)strtoul(a[1] + until_eof, NULL, 10);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("udplisten=%s\n", ename(errno));
		return 0;
	}
	printf("listening\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		char buf[2048], addr[INET6_ADDRSTRLEN];
		ssize_t n;

		if (poll(pfd, until_eof ? 2 : 1, 100) <= 0)
			continue;
		/* "+SECONDS": the caller closes our stdin once it has what it waited for. */
		if (until_eof && pfd[1].revents && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		buf[n] = '\0';
		inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
		if (n > 0 && (buf[0] < 0x20 || buf[0] > 0x7e)) /* a DHCP message */
			printf("recv=binary%zd from=%s\n", n, addr);
		else
			printf("recv=%s from=%s\n", buf, addr);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

/*
 * ---- per-user kernel resources (issue 10 classes 5, 7, 8) ----
 *
 * Each takes what it can, up to N, prints "<what>=<first errno or ok>
 * count=<taken>", then holds it SECONDS (default 0) before exiting:
 *   inotify N [SECONDS]         inotify_init1()
 *   ptys N [PTMX [SECONDS]]     open(PTMX, default /dev/ptmx); RLIMIT_NOFILE raised first
 *   aio N EVENTS [SECONDS]      io_setup(EVENTS)
 * mount TYPE DIR [remount] [DATA]: mount(2) of TYPE on DIR (mkdir'd), "mount=<errno>"
 */
static void hold(const char *what, int err, long count, const char *secs)
{
	printf("%s=%s count=%ld\n", what, ename(err), count);
	fflush(stdout);
	if (secs)
		sleep((unsigned)strtoul(secs, NULL, 10));
}

static int cmd_inotify(char **a)
{
	long n = a[0] ? strtol(a[0], NULL, 10) : 0, k = 0;
	int err = 0;

	for (; k < n; k++)
		if (syscall(SYS_inotify_init1, O_CLOEXEC) < 0) {
			err = errno;
			break;
		}
	hold("inotify", err, k, a[0] ? a[1] : NULL);
	return 0;
}

static int cmd_ptys(char **a)
{
	long n = a[0] ? strtol(a[0], NULL, 10) : 0, k = 0;
	const char *ptmx = a[0] && a[1] ? a[1] : "/dev/ptmx";
	struct rlimit rl;
	int err = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (; k < n; k++)
		if (open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC) < 0) {
			err = errno;
			break;
		}
	hold("ptys", err, k, a[0] && a[1] ? a[2] : NULL);
	return 0;
}

static int cmd_aio(char **a)
{
	long n = a[0] ? strtol(a[0], NULL, 10) : 0, k = 0;
	unsigned events = a[0] && a[1] ? (unsigned)strtoul(a[1], NULL, 10) : 1;
	int err = 0;

	for (; k < n; k++) {
		unsigned long ctx = 0;

		if (syscall(SYS_io_setup, events, &ctx) < 0) {
			err = errno;
			break;
		}
	}
	hold("io_setup", err, k, a[0] && a[1] ? a[2] : NULL);
	return 0;
}

static int cmd_mount(char **a)
{
	unsigned long flags = 0;
	const char *data = NULL;

	if (!a[0] || !a[1])
		return 2;
	mkdir(a[1], 0755);
	if (a[2] && strcmp(a[2], "remount") == 0) {
		flags = MS_REMOUNT;
		data = a[3];
	} else {
		data = a[2];
	}
	printf("mount=%s\n", ename(mount(a[0], a[1], a[0], flags, data) < 0 ? errno : 0));
	return 0;
}

/* stdio: what fds 0-2 are, and whether ftruncate() gets through them. */
static int cmd_stdio(char **a)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		const char *t = "closed";

		if (fstat(fd, &st) == 0)
			t = S_ISFIFO(st.st_mode)   ? "pipe"
			    : S_ISREG(st.st_mode)  ? "file"
			    : S_ISCHR(st.st_mode)  ? "chr"
			    : S_ISSOCK(st.st_mode) ? "sock"
						   : "other";
		printf("fd%d=%s trunc%d=%s\n", fd, t, fd, ename(ftruncate(fd, 0) < 0 ? errno : 0));
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(char **a);
} cmds[] = {
	{"id", cmd_id},
	{"ids", cmd_ids},
	{"hostname", cmd_hostname},
	{"ps", cmd_ps},
	{"mounts", cmd_mounts},
	{"ifaces", cmd_ifaces},
	{"fds", cmd_fds},
	{"ls", cmd_ls},
	{"cat", cmd_cat},
	{"write", cmd_write},
	{"stat", cmd_stat},
	{"caps", cmd_caps},
	{"syscalls", cmd_syscalls},
	{"btrfs-snapshot", cmd_btrfs},
	{"devs", cmd_devs},
	{"exe-write", cmd_exe_write},
	{"sleep", cmd_sleep},
	{"init", cmd_init},
	{"ns", cmd_ns},
	{"fork", cmd_fork},
	{"rawsend", cmd_rawsend},
	{"udplisten", cmd_udplisten},
	{"stdio", cmd_stdio},
	{"inotify", cmd_inotify},
	{"ptys", cmd_ptys},
	{"aio", cmd_aio},
	{"mount", cmd_mount},
};

static int dispatch(char **a)
{
	for (size_t i = 0; a[0] && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(a[0], cmds[i].name) == 0) {
			int r = cmds[i].fn(a + 1);
			fflush(stdout);
			return r;
		}
	fprintf(stderr, "probe: unknown command %s\n", a[0] ? a[0] : "(none)");
	return 2;
}

int main(int argc, char **argv)
{
	return dispatch(argv + 1);
}

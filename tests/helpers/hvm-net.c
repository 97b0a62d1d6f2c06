/*
 * hvm-net.c - an HVM VM's network without QEMU, for the system tests
 * (test_hvm_net.py): makes the VM's taps with net_tap_create_all, starts
 * a DHCP responder per NIC with dhcp_responder_spawn, and then plays the
 * guest on the tap fds it holds, driven by lines on stdin:
 *
 *   hvm-net create VM.json     print "tap <i> <name> <responder pid or 0>"
 *                              per NIC, then "ready"; then serve:
 *       send <i> <hex>         write an Ethernet frame into tap i (as the
 *                              guest sends it); answers "sent"
 *       recv <i> <ms>          the next frame the guest would receive on
 *                              tap i: "frame <hex>", or "timeout"
 *   hvm-net remove VM.json     net_tap_remove_all
 *
 * EOF on stdin closes the fds (the taps go with them) and kills the
 * responders.  Acts on the caller's network namespace.  Exit 0, or 1 with
 * the library's message on stderr.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dhcp.h"
#include "jsonutil.h"
#include "net.h"
#include "util.h"
#include "vmcfg-access.h"

#define MAX_NICS  64
#define FRAME_MAX 2048
#define VNET_MAX  16

static int fds[MAX_NICS];
static pid_t pids[MAX_NICS];
static size_t nfds;

static int fail(struct zh_error *err)
{
	fprintf(stderr, "hvm-net: %s\n", err->msg);
	zh_error_clear(err);
	return 1;
}

static int vnet_len(int fd)
{
	int n = 0;

	return ioctl(fd, TUNGETVNETHDRSZ, &n) == 0 && n > 0 && n <= VNET_MAX ? n : 0;
}

static void do_send(size_t i, const char *hex)
{
	unsigned char buf[VNET_MAX + FRAME_MAX] = {0};
	int h = vnet_len(fds[i]);
	size_t n = 0;
	unsigned v;

	for (; hex[0] && hex[1] && n < FRAME_MAX && sscanf(hex, "%2x", &v) == 1; hex += 2)
		buf[h + n++] = (unsigned char)v;
	if (write(fds[i], buf, (size_t)h + n) < 0)
		printf("error %s\n", strerror(errno));
	else
		printf("sent\n");
}

static void do_recv(size_t i, int ms)
{
	unsigned char buf[VNET_MAX + FRAME_MAX];
	struct pollfd p = {.fd = fds[i], .events = POLLIN};
	int h = vnet_len(fds[i]);
	ssize_t n;

	if (poll(&p, 1, ms) <= 0 || (n = read(fds[i], buf, sizeof(buf))) <= h) {
		printf("timeout\n");
		return;
	}
	printf("frame ");
	for (ssize_t k = h; k < n; k++)
		printf("%02x", buf[k]);
	printf("\n");
}

static void serve(void)
{
	char line[2 * FRAME_MAX + 64], cmd[16], arg[2 * FRAME_MAX + 1];
	unsigned long i;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%15s %lu %4096s", cmd, &i, arg) != 3 || i >= nfds)
			printf("error bad command\n");
		else if (streq(cmd, "send"))
			do_send(i, arg);
		else if (streq(cmd, "recv"))
			do_recv(i, (int)strtol(arg, NULL, 10));
		else
			printf("error bad command\n");
		fflush(stdout);
	}
}

static int spawn_all(const json_t *vm, struct zh_error *err)
{
	json_t *nic;
	size_t i;
	char name[NET_IFNAMSIZ];

	json_array_foreach (vmcfg_nics(vm), i, nic) {
		if (net_tap_name(vmcfg_uuid(vm), nic, i, name, err) < 0 ||
		    dhcp_responder_spawn(vm, nic, name, &pids[i], err) < 0)
			return -1;
		printf("tap %zu %s %d\n", i, name, (int)pids[i]);
	}
	return 0;
}

static int do_create(const json_t *vm, struct zh_error *err)
{
	int r = 0;

	nfds = json_array_size(vmcfg_nics(vm));
	if (net_tap_create_all(vm, fds, MAX_NICS, err) < 0)
		return fail(err);
	if (spawn_all(vm, err) < 0)
		r = fail(err);
	else {
		printf("ready\n");
		fflush(stdout);
		serve();
	}
	for (size_t i = 0; i < nfds; i++) {
		if (pids[i] > 0 && kill(pids[i], SIGKILL) == 0)
			waitpid(pids[i], NULL, 0);
		close(fds[i]);
	}
	return r;
}

int main(int argc, char **argv)
{
	struct zh_error err = ZH_ERROR_INIT;
	_cleanup_json_ json_t *vm = NULL;

	if (argc != 3 || (!streq(argv[1], "create") && !streq(argv[1], "remove"))) {
		fprintf(stderr, "usage: hvm-net create|remove VM.json\n");
		return 2;
	}
	if (jsonutil_load_file(argv[2], 1 << 20, &vm, &err) < 0)
		return fail(&err);
	if (streq(argv[1], "remove"))
		return net_tap_remove_all(vm, &err) < 0 ? fail(&err) : 0;
	return do_create(vm, &err);
}

/*
 * accel.c - KVM or TCG for QEMU (docs/architecture.md §22).
 *
 * /dev/kvm that opens is not enough: under a PVM host it opens and runs
 * PVM-aware kernels, while a stock kernel hangs in its first mode
 * switches.  So a child process builds a one-vCPU VM with the in-kernel
 * PIC and PIT, loads the probe guest (kvm-probe-guest.S) at 0x8000 with
 * a GDT, an IDT and identity page tables, and runs it in real mode; the
 * guest reaches long mode and takes a timer interrupt whose handler
 * writes 0x42 to port 0xe9.  The child reports one line on a pipe; the
 * parent kills it after ACCEL_PROBE_MS (a hang is the usual failure).
 * The decision is cached in <run>/hvm-accel.json with the boot id.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "fsutil.h"
#include "jsonutil.h"
#include "macro.h"
#include "paths.h"

extern const uint8_t kvm_probe_guest_start[], kvm_probe_guest_handler[], kvm_probe_guest_end[];

#define MEM_SIZE (2u << 20)
#define CODE_AT	 0x8000u

/* ---- in the child ---- */

static void guest_tables(uint8_t *m)
{
	static const uint64_t gdt[] = {0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL,
				       0x00af9a000000ffffULL};
	uint64_t h = CODE_AT + (uint64_t)(kvm_probe_guest_handler - kvm_probe_guest_start);
	uint8_t *idt = m + 0x1000 + 0x20 * 16;
	uint16_t lim = sizeof(gdt) - 1, ilim = 256 * 16 - 1;
	uint32_t gbase = 0x500, ibase = 0x1000;

	memcpy(m + 0x500, gdt, sizeof(gdt));
	memcpy(m + 0x600, &lim, 2);
	memcpy(m + 0x602, &gbase, 4);
	memcpy(m + 0x610, &ilim, 2);
	memcpy(m + 0x612, &ibase, 4);
	*(uint64_t *)(m + 0x2000) = 0x3000 | 3;
	*(uint64_t *)(m + 0x3000) = 0x4000 | 3;
	*(uint64_t *)(m + 0x4000) = 0x83; /* 2 MiB page at 0 */
	idt[0] = h & 0xff;
	idt[1] = (h >> 8) & 0xff;
	idt[2] = 0x18; /* the 64-bit code selector */
	idt[5] = 0x8e; /* present, interrupt gate */
	idt[6] = (h >> 16) & 0xff;
	idt[7] = (h >> 24) & 0xff;
	memcpy(m + CODE_AT, kvm_probe_guest_start,
	       (size_t)(kvm_probe_guest_end - kvm_probe_guest_start));
}

static int vm_make(int kvm, uint8_t *mem, const char **why)
{
	struct kvm_userspace_memory_region r = {.memory_size = MEM_SIZE,
						.userspace_addr = (uint64_t)(uintptr_t)mem};
	struct kvm_pit_config pit = {0};
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0)
		return *why = "KVM_CREATE_VM failed", -1;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		return *why = "cannot set up memory, PIC and PIT", -1;
	return vm;
}

static int vcpu_make(int kvm, int vm, struct kvm_run **run, const char **why)
{
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = CODE_AT, .rflags = 2};

	if (cpu < 0 || size <= 0 || ioctl(cpu, KVM_GET_SREGS, &s) < 0)
		return *why = "cannot create a vCPU", -1;
	s.cs.base = 0;
	s.cs.selector = 0;
	*run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (*run == MAP_FAILED || ioctl(cpu, KVM_SET_SREGS, &s) < 0 ||
	    ioctl(cpu, KVM_SET_REGS, &r) < 0)
		return *why = "cannot set up the vCPU", -1;
	return cpu;
}

/* Run until the handler's port write: NULL when it came, else why not. */
static const char *vcpu_loop(int cpu, struct kvm_run *run)
{
	for (int i = 0; i < 100000; i++) {
		if (ioctl(cpu, KVM_RUN, 0) < 0)
			return "KVM_RUN failed";
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xe9 &&
		    run->io.direction == KVM_EXIT_IO_OUT)
			return *((uint8_t *)run + run->io.data_offset) == 0x42 ? NULL
									       : "bad probe value";
		if (run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_INTR)
			continue;
		return run->exit_reason == KVM_EXIT_SHUTDOWN
			       ? "the probe guest triple-faulted"
			       : "the probe guest stopped unexpectedly";
	}
	return "the probe guest never took its timer interrupt";
}

static const char *probe_child(void)
{
	const char *why = NULL;
	uint8_t *mem;
	struct kvm_run *run = NULL;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, cpu;

	if (kvm < 0)
		return "/dev/kvm cannot be opened";
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return "/dev/kvm has another API version";
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return "no memory for the probe guest";
	guest_tables(mem);
	if ((vm = vm_make(kvm, mem, &why)) < 0 || (cpu = vcpu_make(kvm, vm, &run, &why)) < 0)
		return why;
	return vcpu_loop(cpu, run);
}

/* ---- in the parent ---- */

bool accel_probe(char *why, size_t len)
{
	int p[2];
	char buf[200] = "";
	pid_t pid;
	struct pollfd pf;

	if (access("/dev/kvm", F_OK) < 0)
		return snprintf(why, len, "no /dev/kvm"), false;
	if (pipe2(p, O_CLOEXEC) < 0)
		return snprintf(why, len, "pipe: %m"), false;
	if ((pid = fork()) == 0) {
		const char *r = probe_child();

		close(p[0]);
		if (write(p[1], r ? r : "ok", strlen(r ? r : "ok")) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	pf = (struct pollfd){.fd = p[0], .events = POLLIN};
	if (pid > 0 && poll(&pf, 1, ACCEL_PROBE_MS) == 1 && read(p[0], buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (streq(buf, "ok"))
		return snprintf(why, len, "a probe guest ran under /dev/kvm"), true;
	snprintf(why, len, "KVM unusable: %s",
		 *buf ? buf : "the probe guest hung (a /dev/kvm that cannot run stock kernels)");
	return false;
}

/* ---- the cache ---- */

static void boot_id(char out[64])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	out[0] = '\0';
	if (f && fgets(out, 64, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

void accel_decide(bool *kvm, char *why, size_t len)
{
	_cleanup_free_ char *path = paths_join(paths_run(), ACCEL_CACHE);
	_cleanup_json_ json_t *c = NULL;
	struct zh_error err = ZH_ERROR_INIT;
	char id[64];

	boot_id(id);
	if (path && jsonutil_load_file(path, 4096, &c, &err) == 0 &&
	    streq(jsonutil_str(c, "boot_id") ?: "", id) && jsonutil_str(c, "reason")) {
		*kvm = json_is_true(json_object_get(c, "kvm"));
		snprintf(why, len, "%s", jsonutil_str(c, "reason"));
		return;
	}
	zh_error_clear(&err);
	*kvm = accel_probe(why, len);
	json_decref(c);
	c = json_pack("{s:s, s:b, s:s}", "boot_id", id, "kvm", *kvm, "reason", why);
	if (path && c && jsonutil_store_file(path, c, &err) < 0)
		zh_error_clear(&err);
}

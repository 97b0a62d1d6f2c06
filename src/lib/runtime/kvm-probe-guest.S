/*
 * kvm-probe-guest.S - the probe guest of kvm-probe.c (docs/architecture.md
 * §22): what a stock kernel needs of /dev/kvm, in 100 bytes.  Loaded at
 * guest physical 0x8000 and started in real mode; the host has put a GDT
 * (0x500, pointer at 0x600), an IDT (0x1000, pointer at 0x610, vector
 * 0x20 -> handler) and identity page tables (PML4 at 0x2000) in memory.
 * Real mode -> protected mode -> long mode with paging; the PIC and PIT
 * programmed; sti; hlt.  The timer interrupt's handler writes 0x42 to
 * port 0xe9: the host sees that exit only if all of it worked.
 */
#define AT(l) ((l) - kvm_probe_guest_start + 0x8000)

	.section .rodata
	.globl kvm_probe_guest_start, kvm_probe_guest_handler, kvm_probe_guest_end
	.code16
kvm_probe_guest_start:
	cli
	lgdtl 0x600
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $AT(pm)
	.code32
pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $0x2000, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax
	movl %eax, %cr4
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax
	movl %eax, %cr0
	ljmpl $0x18, $AT(lm)
	.code64
lm:
	lidt 0x610
	movl $0x7000, %esp
	/* PIC: vectors 0x20.., only IRQ 0 unmasked */
	movb $0x11, %al
	outb %al, $0x20
	outb %al, $0xa0
	movb $0x20, %al
	outb %al, $0x21
	movb $0x28, %al
	outb %al, $0xa1
	movb $0x04, %al
	outb %al, $0x21
	movb $0x02, %al
	outb %al, $0xa1
	movb $0x01, %al
	outb %al, $0x21
	outb %al, $0xa1
	movb $0xfe, %al
	outb %al, $0x21
	movb $0xff, %al
	outb %al, $0xa1
	/* PIT channel 0, rate generator, ~1 ms */
	movb $0x34, %al
	outb %al, $0x43
	movb $0xa9, %al
	outb %al, $0x40
	movb $0x04, %al
	outb %al, $0x40
	sti
1:	hlt
	jmp 1b
kvm_probe_guest_handler:
	movb $0x20, %al
	outb %al, $0x20
	movb $0x42, %al
	outb %al, $0xe9
	iretq
kvm_probe_guest_end:
	.section .note.GNU-stack, "", @progbits

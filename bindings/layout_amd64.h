// Fixed guest-physical (= guest-virtual) layout of the bindings' private
// memory below the ELF image; layout.go holds the same numbers for Go.
// 0x20000-0xFFFFF is RAM the hvt ABI leaves unused (boot info, manifest
// and command line end below 0x16000).
#define GDT_BASE	0x20000
#define GDTR_ADDR	0x20080
#define IDTR_ADDR	0x20090
#define TSS_BASE	0x20100
#define TSS_RSP0	0x20104
#define IDT_BASE	0x21000
#define PML4_BASE	0x22000
#define PDPT_BASE	0x23000
#define PD_BASE	0x24000
#define USER_TOP	0x40000
#define KSTACK_LO	0x51000
#define KSTACK_TOP	0x90000
#define FAKE_G	0x90000
#define KTLS	0x90100
#define KTLS_FS	0x90108
#define MSG_BUF	0x91800
#define HC_ARGS	0x91F00
#define KCS	0x08
#define KDS	0x10
#define UDS	0x1b
#define UCS	0x23
#define TSS_SEL	0x28
#define MSR_FS_BASE	0xC0000100
#define MSR_X2APIC_EOI	0x80B
#define FRAME_SIZE	192
#define VDSO_DATA	0x91000
#define FXAREA	0x93000
// The kernel's register frame (struct frame) sits at the top of the kernel
// stack; the resume tail reads RIP and RSP from it by absolute address.
#define FRAME	0x8FF40
#define FRAME_RIP	0x8FFD8
#define FRAME_RSP	0x8FFF0
// Trampoline page: the kernel entry pointer, kcall's UD2 and the resume
// tail, at fixed addresses the CPL0 code compares against.
#define TRAMP	0x94000
#define KENTRY_PTR	0x94008
#define TRAMP_UD2	0x94010
#define TRAMP_TAIL	0x94020
#define TRAMP_JMP	0x94044
#define ENTRY_GSLOT	0x94800
#define WANT_FS	0x94808
#define CUR_FS	0x94810
#define HW_FRAME	0x3FFC0
#define IST_TOP	0x50000

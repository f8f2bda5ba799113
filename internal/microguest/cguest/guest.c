/*
 * A Solo5 hvt unikernel in freestanding C, for the debugging tests: real
 * symbols and DWARF for gdb. It greets, calls tick() three times (a
 * function to break on, a global to print and watch), then halts with
 * status 7, or, when its command line is "abort", aborts as upstream's
 * solo5_abort does after a trap: HALT 255 with its registers as cookie;
 * "spin" ticks forever (for Ctrl-C); "yield" sleeps in POLL for an hour
 * at a time, ticking after each (for Ctrl-C while the monitor waits); "garbage" points CR3 at a page of
 * garbage page-table entries and crashes on the next fetch (for a
 * debugger reading memory through hostile tables); "trap" hands the
 * monitor a debug trap (DEBUG_PORT) with a frame address outside memory,
 * then halts with 7.
 * HC_PUTS, HC_HALT, HC_POLL and PIO_BASE come from guestabi, as -D flags.
 */
#include <stdint.h>

struct boot_info {
    uint64_t mem_size, kernel_end, cpu_cycle_freq, cmdline, mft;
};
struct puts_arg {
    const char *data;
    uint64_t len;
};
struct poll_arg {
    uint64_t timeout_nsecs, ready_set;
    int32_t ret;
};
struct halt_arg {
    void *cookie;
    int32_t exit_status;
};
/* upstream's struct x86_trap_regs */
struct trap_regs {
    uint64_t cr2, ec, rip, cs, rflags, rsp, ss;
};

volatile uint64_t ticks;
const char *greeting = "hello from the C guest\n";
static struct trap_regs crash_regs;

static void hypercall(unsigned nr, void *arg)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)arg), "d"((uint16_t)(PIO_BASE + nr))
                         : "memory");
}

static uint64_t length(const char *s)
{
    uint64_t n = 0;
    while (s[n])
        n++;
    return n;
}

__attribute__((noinline)) void say(const char *s)
{
    struct puts_arg a = {s, length(s)};
    hypercall(HC_PUTS, &a);
}

__attribute__((noinline)) uint64_t tick(uint64_t n)
{
    ticks += n;
    return ticks;
}

__attribute__((noreturn)) static void halt(int status, void *cookie)
{
    struct halt_arg a = {cookie, status};
    for (;;)
        hypercall(HC_HALT, &a);
}

__attribute__((noinline, noreturn)) void crash(void)
{
    __asm__ __volatile__("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tpushfq\n\tpopq %2"
                         : "=r"(crash_regs.rip), "=r"(crash_regs.rsp), "=r"(crash_regs.rflags));
    crash_regs.cs = 0x8;
    crash_regs.ss = 0x10;
    say("crash: aborting\n");
    halt(255, &crash_regs);
}

static uint64_t garbage[512] __attribute__((aligned(4096)));

__attribute__((noinline, noreturn)) void load_garbage_tables(void)
{
    for (int i = 0; i < 512; i++)
        garbage[i] = 0xfffffffffffff0ffULL - (uint64_t)i * 0x1000;
    garbage[1] = (uint64_t)(uintptr_t)garbage | 0x7; /* a table that points at itself */
    __asm__ __volatile__("movq %0, %%cr3" : : "r"((uint64_t)(uintptr_t)garbage) : "memory");
    for (;;)
        ;
}

void _start(struct boot_info *bi)
{
    const char *cmdline = (const char *)bi->cmdline;
    say(greeting);
    for (uint64_t i = 1; i <= 3; i++)
        tick(i);
    switch (cmdline[0]) {
    case 'a':
        crash();
    case 'g':
        load_garbage_tables();
    case 's':
        for (;;)
            tick(1);
    case 'y':
        for (;;) {
            struct poll_arg p = {3600ULL * 1000000000ULL, 0, 0};
            hypercall(HC_POLL, &p);
            tick(1);
        }
    case 't':
        hypercall(DEBUG_PORT - PIO_BASE, (void *)(uintptr_t)0xfffff000u);
        break;
    }
    halt(7, 0);
}

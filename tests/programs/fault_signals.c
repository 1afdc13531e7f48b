/* Synchronous faults caught by SA_SIGINFO handlers that siglongjmp out: the
 * handler prints si_signo, si_code and whether si_addr (and the interrupted
 * RIP from the ucontext) are the expected addresses. SIGSEGV SEGV_MAPERR on an
 * unmapped page, SEGV_ACCERR on a write to a read-only page and on a jump
 * into a non-executable page, SI_KERNEL with si_addr 0 on a non-canonical
 * address; SIGBUS BUS_ADRERR past the end of a mapped file; SIGILL ILL_ILLOPN
 * on ud2; SIGTRAP SI_KERNEL after int3 (RIP just past it); SIGFPE FPE_INTDIV on
 * idiv by zero. */
#include "common.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static void *volatile got_addr;
static volatile unsigned long got_rip;

static void handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    got_rip = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(jb, 1);
}

static const char *code_name(int sig, int code) {
    if (code == SI_KERNEL)
        return "SI_KERNEL";
    if (sig == SIGSEGV)
        return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    if (sig == SIGBUS)
        return code == BUS_ADRERR ? "BUS_ADRERR" : code == BUS_ADRALN ? "BUS_ADRALN" : "other";
    if (sig == SIGILL)
        return code == ILL_ILLOPN ? "ILL_ILLOPN" : code == ILL_ILLOPC ? "ILL_ILLOPC" : "other";
    if (sig == SIGFPE)
        return code == FPE_INTDIV ? "FPE_INTDIV" : "other";
    if (sig == SIGTRAP)
        return code == TRAP_BRKPT ? "TRAP_BRKPT" : "other";
    return "other";
}

static void report(const char *what, void *want_addr, unsigned long want_rip) {
    printf("%-28s SIG%s %s si_addr ok=%s", what, sigabbrev_np(got_sig), code_name(got_sig, got_code),
           got_addr == want_addr ? "yes" : "no");
    if (want_rip)
        printf(" rip ok=%s", got_rip == want_rip ? "yes" : "no");
    printf("\n");
}

extern char ud2_here[], int3_after[], div_here[];
__attribute__((noinline)) static void do_ud2(void) {
    __asm__ volatile(".globl ud2_here\nud2_here: ud2");
}
__attribute__((noinline)) static void do_int3(void) {
    __asm__ volatile("int3\n.globl int3_after\nint3_after: nop");
}
__attribute__((noinline)) static int do_div(int z) {
    int a = 10, d = 0;
    __asm__ volatile(".globl div_here\ndiv_here: idivl %2" : "+a"(a), "+d"(d) : "r"(z));
    return a;
}

/* Start from default signal dispositions and an empty mask, whatever the
 * environment left (e.g. SIGINT/SIGQUIT ignored in background jobs). */
static void default_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int main(void) {
    default_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE};
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, NULL);

    char *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED);
    CHECK(munmap(pages + 4096, 4096) == 0);
    char *hole = pages + 4096 + 100;
    if (sigsetjmp(jb, 1) == 0)
        *(volatile char *)hole = 1;
    report("store to an unmapped page:", hole, 0);

    CHECK(mprotect(pages, 4096, PROT_READ) == 0);
    if (sigsetjmp(jb, 1) == 0)
        *(volatile char *)(pages + 8) = 1;
    report("store to a read-only page:", pages + 8, 0);
    if (sigsetjmp(jb, 1) == 0)
        ((void (*)(void))(pages + 2 * 4096))();
    report("call into a non-exec page:", pages + 2 * 4096, (unsigned long)(pages + 2 * 4096));

    if (sigsetjmp(jb, 1) == 0)
        *(volatile char *)0x8000000000000000UL = 1;
    report("non-canonical address:", NULL, 0);

    int fd = open("short", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1);
    char *fm = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(fm != MAP_FAILED);
    volatile char first = fm[0];
    (void)first;
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = fm[4096 + 5];
        (void)c;
    }
    report("read past the file's end:", fm + 4096 + 5, 0);

    if (sigsetjmp(jb, 1) == 0)
        do_ud2();
    report("ud2:", ud2_here, (unsigned long)ud2_here);
    if (sigsetjmp(jb, 1) == 0)
        do_int3();
    report("int3:", NULL, (unsigned long)int3_after);
    volatile int zero = 0;
    if (sigsetjmp(jb, 1) == 0)
        do_div(zero);
    report("idiv by zero:", div_here, (unsigned long)div_here);

    /* Handlers left with siglongjmp: nothing is still blocked. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    int blocked = 0;
    for (int i = 0; i < 5; i++)
        blocked += sigismember(&cur, sigs[i]);
    printf("fault signals blocked afterwards: %d\n", blocked);
    return finish();
}

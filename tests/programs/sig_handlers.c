/* Signal handlers within one process: delivery after raise/kill/sigqueue with the right
 * siginfo, SA_SIGINFO ucontext (interrupted mask), masks while a handler runs
 * (SA_NODEFER), SA_RESETHAND, blocked signals pending until unblocked (rt_sigpending),
 * nested delivery, sigaltstack with SA_ONSTACK, faults caught (SIGSEGV with si_addr and
 * SEGV_MAPERR/SEGV_ACCERR, fixed by mprotect and retried, or left by siglongjmp; SIGFPE),
 * SIGPIPE to a handler, and FP/SSE state: a handler that changes xmm registers and the
 * rounding mode does not disturb the interrupted code. With "default" as argument, dies
 * of SIGUSR1's default action; with "abort", abort() with a handler that returns. */
#include "common.h"
#include <fenv.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

static volatile sig_atomic_t hits, depth, max_depth;
static volatile int last_signo, last_code, last_pid, last_uid, last_value;
static volatile void *last_addr;
static volatile int mask_had_self, mask_had_usr2, uc_mask_had_usr2;
static sigjmp_buf jb;

static int blocked_now(int sig) {
    sigset_t s;
    sigprocmask(SIG_BLOCK, NULL, &s);
    return sigismember(&s, sig);
}

static void info_handler(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    hits++;
    last_signo = si->si_signo;
    last_code = si->si_code;
    last_pid = si->si_pid;
    last_uid = si->si_uid;
    last_value = si->si_value.sival_int;
    mask_had_self = blocked_now(sig);
    mask_had_usr2 = blocked_now(SIGUSR2);
    uc_mask_had_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
}

static void nest_handler(int sig) {
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (sig == SIGUSR1)
        raise(SIGUSR2); /* delivered inside this handler */
    depth--;
}

static char *page;
static void segv_fix(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    hits++;
    mprotect(page, 4096, PROT_READ | PROT_WRITE); /* the store is retried */
}

static void jump_out(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    last_signo = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static char altstack[65536];
static volatile int on_alt, alt_flags;
static void alt_handler(int sig) {
    (void)sig;
    char local;
    on_alt = &local >= altstack && &local < altstack + sizeof altstack;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flags = cur.ss_flags;
}

static void fp_handler(int sig) {
    (void)sig;
    /* Clobber SSE registers and the rounding mode. */
    volatile double x = 3.0;
    fesetround(FE_DOWNWARD);
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tmovsd %0, %%xmm2" ::"m"(x)
                     : "xmm0", "xmm1", "xmm2");
    hits++;
}

static void plain(int sig) {
    last_signo = sig;
    hits++;
}

static void setup(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void abort_handler(int sig) {
    (void)sig;
    say_and_flush("abort handler ran");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "default") == 0) {
        say_and_flush("raising SIGUSR1 with the default action");
        raise(SIGUSR1);
        say_and_flush("still alive (wrong)");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        signal(SIGABRT, abort_handler);
        abort();
    }

    /* raise: SI_TKILL; kill: SI_USER with our pid and uid; sigqueue: the value. */
    setup(SIGUSR1, info_handler, 0);
    CHECK(raise(SIGUSR1) == 0 && hits == 1);
    CHECK(last_signo == SIGUSR1 && last_code == SI_TKILL && last_pid == getpid());
    CHECK(mask_had_self && !mask_had_usr2);
    CHECK(kill(getpid(), SIGUSR1) == 0 && hits == 2);
    CHECK(last_code == SI_USER && last_pid == getpid() && last_uid == (int)getuid());
    union sigval v = {.sival_int = 4242};
    CHECK(sigqueue(getpid(), SIGUSR1, v) == 0 && hits == 3);
    CHECK(last_code == SI_QUEUE && last_value == 4242);
    /* The handler's mask: sa_mask and the signal, unless SA_NODEFER. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0 && hits == 4 && !mask_had_self && mask_had_usr2);
    CHECK(!blocked_now(SIGUSR2)); /* the mask is back after the handler */
    /* ucontext's uc_sigmask is the interrupted code's mask. */
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &b, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0 && uc_mask_had_usr2);
    CHECK(sigprocmask(SIG_UNBLOCK, &b, NULL) == 0);

    /* Blocked: pending until unblocked, delivered by the unblocking sigprocmask. */
    hits = 0;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &b, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0 && raise(SIGUSR1) == 0 && hits == 0);
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2));
    CHECK(sigprocmask(SIG_UNBLOCK, &b, NULL) == 0);
    CHECK(hits == 1); /* standard signals do not queue twice */
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));

    /* SA_RESETHAND: once, then the default again. */
    setup(SIGUSR2, info_handler, SA_RESETHAND);
    CHECK(raise(SIGUSR2) == 0 && last_signo == SIGUSR2);
    struct sigaction cur;
    CHECK(sigaction(SIGUSR2, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL);

    /* Nesting: a handler raising another signal runs it inside. */
    signal(SIGUSR1, nest_handler);
    signal(SIGUSR2, nest_handler);
    CHECK(raise(SIGUSR1) == 0 && max_depth == 2 && depth == 0);

    /* Ignored signals vanish. */
    signal(SIGUSR1, SIG_IGN);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));

    /* The alternate stack. */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = alt_handler;
    sa.sa_flags = SA_ONSTACK;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0 && on_alt && alt_flags == SS_ONSTACK);
    stack_t now;
    CHECK(sigaltstack(NULL, &now) == 0 && now.ss_flags == 0);
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(raise(SIGUSR1) == 0 && !on_alt);

    /* Faults: fixed and retried; left by siglongjmp. */
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    setup(SIGSEGV, segv_fix, 0);
    hits = 0;
    page[100] = 7;
    CHECK(hits == 1 && page[100] == 7);
    CHECK(last_signo == SIGSEGV && last_code == SEGV_ACCERR && last_addr == page + 100);
    setup(SIGSEGV, jump_out, 0);
    if (sigsetjmp(jb, 1) == 0) {
        volatile int *volatile bad = (int *)16;
        *bad = 1;
        CHECK(!"not reached");
    }
    CHECK(last_signo == SIGSEGV && last_code == SEGV_MAPERR && last_addr == (void *)16);
    setup(SIGFPE, jump_out, 0);
    if (sigsetjmp(jb, 1) == 0) {
        volatile int zero = 0;
        volatile int r = 10 / zero;
        (void)r;
    }
    CHECK(last_signo == SIGFPE && last_code == FPE_INTDIV);
    CHECK(!blocked_now(SIGFPE)); /* siglongjmp restored the mask */

    /* SIGPIPE to a handler, and write still fails with EPIPE. */
    signal(SIGPIPE, plain);
    int p[2];
    CHECK(pipe(p) == 0 && close(p[0]) == 0);
    hits = 0;
    EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
    CHECK(hits == 1 && last_signo == SIGPIPE);
    close(p[1]);

    /* FP state: the handler's SSE and rounding changes stay in the handler. The signal
     * is raised by a raw syscall with live values in xmm registers around it. */
    signal(SIGUSR1, fp_handler);
    hits = 0;
    double in = 1.25, out0 = 0, out1 = 0;
    long tid = syscall(SYS_gettid), pid = getpid();
    __asm__ volatile("movsd %[in], %%xmm3\n\t"
                     "movsd %[in], %%xmm0\n\t"
                     "mov $234, %%eax\n\t" /* tgkill(pid, tid, SIGUSR1) */
                     "mov %[pid], %%rdi\n\t"
                     "mov %[tid], %%rsi\n\t"
                     "mov $10, %%edx\n\t"
                     "syscall\n\t"
                     "movsd %%xmm0, %[o0]\n\t"
                     "movsd %%xmm3, %[o1]"
                     : [o0] "=m"(out0), [o1] "=m"(out1)
                     : [in] "m"(in), [pid] "r"(pid), [tid] "r"(tid)
                     : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "xmm0", "xmm3", "memory");
    CHECK(hits == 1 && out0 == 1.25 && out1 == 1.25);
    CHECK(fegetround() == FE_TONEAREST);

    return finish();
}

/* A forked child and a new thread start with the creator's floating-point
 * control state, as Linux copies the FPU state on fork and clone: the SSE
 * rounding mode (MXCSR), the x87 control word (precision and rounding), and a
 * vector register value still in %xmm8 when the syscall returns. execve
 * starts the new image with the initial state. */
#include "common.h"
#include <fenv.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *rname(int r) {
    switch (r) {
    case FE_TONEAREST: return "to-nearest";
    case FE_UPWARD: return "upward";
    case FE_DOWNWARD: return "downward";
    case FE_TOWARDZERO: return "toward-zero";
    default: return "?";
    }
}

static unsigned short x87_cw(void) {
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void describe(char *buf, size_t n, const char *who) {
    volatile double one = 1.0, three = 3.0;
    double q = one / three;
    snprintf(buf, n, "%s: rounding %s, x87 control word %#x, 1/3 = %.17g\n", who, rname(fegetround()), x87_cw(),
             q);
}

static void report(const char *who) {
    char buf[256];
    describe(buf, sizeof buf, who);
    fputs(buf, stdout);
}

/* The thread describes its state; the main thread prints it after the join, so
 * the output's order does not depend on scheduling. */
static char thread_report[256];

static void *thread_fn(void *arg) {
    (void)arg;
    describe(thread_report, sizeof thread_report, "thread");
    return NULL;
}

/* fork through the raw syscall with a marker value in %xmm8, read back right
 * after the syscall returns in both processes (the kernel keeps vector
 * registers across a syscall, and the child's are a copy of the parent's). */
static long fork_with_xmm(unsigned long long marker, unsigned long long *after) {
    long ret;
    unsigned long long out;
    __asm__ volatile("movq %[m], %%xmm8\n\t"
                     "syscall\n\t"
                     "movq %%xmm8, %[o]\n\t"
                     : "=a"(ret), [o] "=r"(out)
                     : "0"((long)SYS_fork), [m] "r"(marker)
                     : "rcx", "r11", "xmm8", "memory");
    *after = out;
    return ret;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        report("after exec");
        return finish();
    }
    fflush(stdout);
    unsigned long long after = 0;
    long pid = fork_with_xmm(0x1122334455667788ULL, &after);
    if (pid == 0) {
        printf("raw fork child: xmm8 %#llx\n", after);
        fflush(stdout);
        _exit(0);
    }
    CHECK(pid > 0);
    int st;
    CHECK(waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st));
    printf("raw fork parent: xmm8 %#llx\n", after);

    CHECK(fesetround(FE_UPWARD) == 0);
    unsigned short cw = (unsigned short)((x87_cw() & ~0x0f00) | 0x0200 | 0x0c00); /* double precision, toward zero */
    __asm__ volatile("fldcw %0" : : "m"(cw));
    report("parent");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        report("child");
        fflush(stdout);
        _exit(0);
    }
    CHECK(c > 0);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_fn, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    fputs(thread_report, stdout);
    CHECK(fesetround(FE_DOWNWARD) == 0);
    report("parent again");
    if (failures)
        return finish();
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
    CHECK(!"execl returned");
    return finish();
}

/* Scribbles over the kvm platform's stub window, which PVM makes user-accessible
 * (0xffffd90000000000: stub code, GDT/TSS/IDT, then this thread's save area page). Run
 * only in the sandbox on --platform=kvm, by tests/tests/kvm.rs. The read-only pages must
 * refuse writes (SIGSEGV, caught); the save area page takes any bytes, between syscalls
 * and from a second thread, yet every syscall still works and returns the right
 * result, the registers the program holds survive, and a child process started before
 * and after the scribbling runs undisturbed. Ends with PASS. */
#include "common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>

#define KBASE 0xffffd90000000000UL
#define PAGE 4096UL

static sigjmp_buf env;

static void on_segv(int sig) {
    (void)sig;
    siglongjmp(env, 1);
}

/* Whether writing one byte at `a` faults. */
static int write_faults(unsigned long a) {
    if (sigsetjmp(env, 1))
        return 1;
    *(volatile unsigned char *)a = 0xcc;
    return 0;
}

/* Fills the save area page with `byte` and checks that a syscall still works. */
static int scribble_then_syscall(unsigned char byte) {
    memset((void *)(KBASE + 3 * PAGE), byte, PAGE);
    return syscall(SYS_getpid) == getpid() && syscall(SYS_getppid) == getppid();
}

/* A child that does syscalls and arithmetic for a while and exits 42 if all agreed. */
static pid_t start_child(void) {
    pid_t c = fork();
    if (c == 0) {
        unsigned long sum = 0;
        for (int i = 0; i < 2000; i++) {
            if (syscall(SYS_getppid) <= 0)
                _exit(1);
            sum += (unsigned long)i * 3;
        }
        _exit(sum == 3UL * 1999 * 2000 / 2 ? 42 : 2);
    }
    return c;
}

static volatile int stop;

static void *scribbler(void *arg) {
    (void)arg;
    unsigned char b = 0;
    while (!stop) {
        memset((void *)(KBASE + 3 * PAGE), b++, PAGE);
        syscall(SYS_getpid);
    }
    return NULL;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    pid_t before = start_child();
    CHECK(before > 0);

    /* The stub's code, GDT/TSS/IDT are not writable. */
    CHECK(write_faults(KBASE));
    CHECK(write_faults(KBASE + PAGE));
    CHECK(write_faults(KBASE + 2 * PAGE));
    /* The save area page is writable: scribbling there changes nothing that matters. */
    CHECK(!write_faults(KBASE + 3 * PAGE));
    int all = 1;
    for (int b = 0; b < 256; b += 15)
        all &= scribble_then_syscall((unsigned char)b);
    CHECK(all);

    /* Registers held across a syscall survive a scribbled save area. */
    unsigned long r12 = 0x1122334455667788UL, out;
    memset((void *)(KBASE + 3 * PAGE), 0xff, PAGE);
    __asm__ volatile("mov %1, %%r12\n\t"
                     "mov $39, %%eax\n\t"
                     "syscall\n\t"
                     "mov %%r12, %0"
                     : "=r"(out)
                     : "r"(r12)
                     : "rax", "rcx", "r11", "r12", "memory");
    CHECK(out == r12);

    /* A second thread scribbles (on its own vCPU's page) while this one works. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, scribbler, NULL) == 0);
    int ok = 1;
    for (int i = 0; i < 500; i++)
        ok &= syscall(SYS_getpid) == getpid();
    stop = 1;
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(ok);

    pid_t after = start_child();
    int st1 = 0, st2 = 0;
    CHECK(waitpid(before, &st1, 0) == before && WIFEXITED(st1) && WEXITSTATUS(st1) == 42);
    CHECK(waitpid(after, &st2, 0) == after && WIFEXITED(st2) && WEXITSTATUS(st2) == 42);
    return finish();
}

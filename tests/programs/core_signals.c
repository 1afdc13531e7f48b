/* Signals whose default action is "core", in children with RLIMIT_CORE 0 (so
 * no core file is written and the core flag is not set): SIGQUIT, SIGILL,
 * SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ sent with
 * kill, and the same signals raised by the CPU or libc: abort(), a null
 * store, ud2, int3, an integer division by zero, a SIGBUS from touching a
 * mapping past the end of its file. WIFSIGNALED, the signal and WCOREDUMP are
 * printed, and waitid's si_code (CLD_KILLED vs CLD_DUMPED). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

static volatile int zero;

static void show(const char *what, pid_t c) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, c, &si, WEXITED | WNOWAIT) != 0)
        printf("%s: waitid failed\n", what);
    int st;
    waitpid(c, &st, 0);
    printf("%-26s WIFSIGNALED=%d sig=SIG%s core=%d si_code=%s\n", what, WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-", WCOREDUMP(st) ? 1 : 0,
           si.si_code == CLD_KILLED ? "CLD_KILLED" : si.si_code == CLD_DUMPED ? "CLD_DUMPED" : "other");
}

static pid_t spawn(int how) {
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct rlimit core = {0, 0};
        setrlimit(RLIMIT_CORE, &core);
        close(ready[0]);
        close(ready[1]); /* the parent signals only after this */
        switch (how) {
        case 0:
            for (;;)
                pause();
        case 1:
            abort();
        case 2:
            *(volatile int *)0 = 1;
            break;
        case 3:
            __asm__ volatile("ud2");
            break;
        case 4:
            __asm__ volatile("int3");
            break;
        case 5: {
            volatile int x = 10 / zero;
            (void)x;
            break;
        }
        case 6: {
            int fd = open("short", O_RDWR | O_CREAT | O_TRUNC, 0644);
            char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                _exit(2);
            m[4096] = 1;
            break;
        }
        }
        _exit(1);
    }
    close(ready[1]);
    char b;
    if (read(ready[0], &b, 1) != 0)
        c = -1;
    close(ready[0]);
    return c;
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
    int sigs[] = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS, SIGXCPU, SIGXFSZ};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        pid_t c = spawn(0);
        CHECK(kill(c, sigs[i]) == 0);
        char what[32];
        snprintf(what, sizeof what, "kill SIG%s:", sigabbrev_np(sigs[i]));
        show(what, c);
    }
    show("abort():", spawn(1));
    show("null store:", spawn(2));
    show("ud2:", spawn(3));
    show("int3:", spawn(4));
    show("integer divide by zero:", spawn(5));
    show("mapping past file end:", spawn(6));
    return finish();
}

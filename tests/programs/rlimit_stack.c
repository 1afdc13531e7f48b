/* RLIMIT_STACK limits how far the main thread's stack grows, in children with
 * the soft limit at 1 MiB: recursion using about 512 KiB works; recursion
 * toward 8 MiB dies of SIGSEGV (default action); with a SIGSEGV handler on an
 * alternate stack (SA_ONSTACK) the overflow is caught (the handler runs on the
 * alternate stack, and siglongjmp leaves it). The limit reads back. */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static sigjmp_buf jb;
static volatile int on_alt, got_code;
static char altstack[1 << 16];

static int recurse(int depth, int max) {
    volatile char frame[16384];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth >= max)
        return frame[0];
    return recurse(depth + 1, max) + frame[sizeof frame - 1];
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    char local;
    on_alt = &local >= altstack && &local < altstack + sizeof altstack;
    got_code = si->si_code;
    siglongjmp(jb, 1);
}

static void set_limit(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    rl.rlim_cur = 1 << 20;
    setrlimit(RLIMIT_STACK, &rl);
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
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
    int st;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        set_limit();
        struct rlimit rl;
        getrlimit(RLIMIT_STACK, &rl);
        printf("soft limit reads back as %ld KiB\n", (long)rl.rlim_cur / 1024);
        volatile int r = recurse(0, 32); /* 512 KiB */
        (void)r;
        printf("512 KiB of recursion works: yes\n");
        fflush(stdout);
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("within the limit: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    fflush(stdout);
    c = fork();
    if (c == 0) {
        set_limit();
        recurse(0, 512); /* 8 MiB */
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("past the limit: WIFSIGNALED=%d sig=SIG%s core=%d\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-", WCOREDUMP(st) ? 1 : 0);

    fflush(stdout);
    c = fork();
    if (c == 0) {
        set_limit();
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
        CHECK(sigaltstack(&ss, NULL) == 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        if (sigsetjmp(jb, 1) == 0) {
            recurse(0, 512);
            printf("no fault\n");
            failures++;
        } else {
            printf("overflow caught: handler on the alternate stack=%s si_code=%s\n", on_alt ? "yes" : "no",
                   got_code == SEGV_MAPERR ? "SEGV_MAPERR" : got_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other");
        }
        fflush(stdout);
        _exit(failures);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("with a handler: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}

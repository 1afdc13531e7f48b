/* Signal state across execve: caught signals are reset to SIG_DFL, ignored
 * ones stay ignored (SIGCHLD too), all sa_flags and sa_masks are cleared, the
 * blocked mask is kept, pending signals stay pending (a real-time one with its
 * sigqueue value), the alternate signal stack is disabled, and a pending alarm
 * survives. The parent sets everything up in a child that then execs. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void handler(int sig) {
    (void)sig;
}

static const char *disp(int sig) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) != 0)
        return "error";
    if (sa.sa_handler == SIG_DFL)
        return "SIG_DFL";
    if (sa.sa_handler == SIG_IGN)
        return "SIG_IGN";
    return "handler";
}

static void show_one(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    int masked = 0;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP && sigismember(&sa.sa_mask, s) == 1)
            masked++;
    printf("  SIG%-6s %-8s sa_flags=0x%x sa_mask entries=%d\n", sigabbrev_np(sig), disp(sig),
           (unsigned)sa.sa_flags, masked);
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

int main(int argc, char **argv) {
    int sigs[] = {SIGUSR1, SIGUSR2, SIGINT, SIGCHLD, SIGTERM, SIGHUP, SIGPIPE};
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        printf("after exec:\n");
        for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            show_one(sigs[i]);
        sigset_t cur, pend;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        sigpending(&pend);
        printf("  blocked: SIGTERM=%d SIGHUP=%d SIGRTMIN+2=%d SIGUSR1=%d\n", sigismember(&cur, SIGTERM),
               sigismember(&cur, SIGHUP), sigismember(&cur, SIGRTMIN + 2), sigismember(&cur, SIGUSR1));
        printf("  pending: SIGHUP=%d SIGRTMIN+2=%d SIGTERM=%d\n", sigismember(&pend, SIGHUP),
               sigismember(&pend, SIGRTMIN + 2), sigismember(&pend, SIGTERM));
        sigset_t rt;
        sigemptyset(&rt);
        sigaddset(&rt, SIGRTMIN + 2);
        siginfo_t si;
        struct timespec zero = {0, 0};
        int s = sigtimedwait(&rt, &si, &zero);
        printf("  queued RT signal kept its value: %s (si_code SI_QUEUE=%s)\n",
               s == SIGRTMIN + 2 && si.si_value.sival_int == 1234 ? "yes" : "no", si.si_code == SI_QUEUE ? "yes" : "no");
        stack_t ss;
        sigaltstack(NULL, &ss);
        printf("  sigaltstack disabled: %s\n", (ss.ss_flags & SS_DISABLE) ? "yes" : "no");
        unsigned left = alarm(0);
        printf("  alarm still pending (between 90 and 100 s left): %s\n", left >= 90 && left <= 100 ? "yes" : "no");
        fflush(stdout);
        return 0;
    }
    default_signals();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART | SA_NODEFER;
    sigfillset(&sa.sa_mask);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGPIPE, &sa, NULL);
        signal(SIGUSR2, SIG_IGN);
        signal(SIGCHLD, SIG_IGN);
        sigset_t b;
        sigemptyset(&b);
        sigaddset(&b, SIGTERM);
        sigaddset(&b, SIGHUP);
        sigaddset(&b, SIGRTMIN + 2);
        sigprocmask(SIG_BLOCK, &b, NULL);
        kill(getpid(), SIGHUP);
        union sigval v = {.sival_int = 1234};
        sigqueue(getpid(), SIGRTMIN + 2, v);
        static char altstack[65536];
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        alarm(100);
        printf("before exec:\n");
        for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            show_one(sigs[i]);
        fflush(stdout);
        char *args[] = {argv[0], "after", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return finish();
}

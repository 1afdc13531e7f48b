/* rt_sigaction flags and rules: SA_RESETHAND (runs once, then SIG_DFL: a second
 * signal kills the child; the signal is still blocked inside the handler),
 * SA_NODEFER (the handler can be re-entered by its own signal: depth 3) versus
 * the default (a signal raised in its own handler waits until the handler
 * returns), sa_mask deferring another signal, the old action returned,
 * signal()'s SA_RESTART, setting SIG_IGN (or SIG_DFL with a default of
 * "ignore") discarding a pending signal, and errors: SIGKILL/SIGSTOP cannot
 * be changed (but can be read), signal 0 and 65 and a wrong sigsetsize are
 * EINVAL. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static char order[32];
static volatile int on, depth, max_depth, self_blocked;

static int blocked(int sig) {
    sigset_t s;
    sigprocmask(SIG_BLOCK, NULL, &s);
    return sigismember(&s, sig);
}
static void resethand(int sig) {
    self_blocked = blocked(sig);
    order[on++] = 'r';
}
static void nodefer(int sig) {
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    order[on++] = (char)('0' + depth);
    if (depth < 3 && on < 3)
        raise(sig);
    depth--;
}
static void masked_1(int sig) {
    (void)sig;
    order[on++] = 'A';
    raise(SIGUSR2); /* in sa_mask: delivered after we return */
    order[on++] = 'a';
}
static void masked_2(int sig) {
    (void)sig;
    order[on++] = 'B';
}

static void set(int sig, void (*h)(int), int flags, int masked) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (masked)
        sigaddset(&sa.sa_mask, masked);
    CHECK(sigaction(sig, &sa, NULL) == 0);
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
        set(SIGUSR1, resethand, SA_RESETHAND, 0);
        raise(SIGUSR1);
        struct sigaction now;
        sigaction(SIGUSR1, NULL, &now);
        printf("SA_RESETHAND: handler ran: %s, signal blocked inside it: %s, now SIG_DFL: %s\n",
               on == 1 ? "yes" : "no", self_blocked ? "yes" : "no", now.sa_handler == SIG_DFL ? "yes" : "no");
        fflush(stdout);
        raise(SIGUSR1);
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    printf("second SIGUSR1 after SA_RESETHAND: WIFSIGNALED=%d sig=SIG%s\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");

    on = 0;
    set(SIGUSR1, nodefer, SA_NODEFER, 0);
    raise(SIGUSR1);
    printf("SA_NODEFER: order %.*s, max depth %d\n", on, order, max_depth);
    on = 0;
    max_depth = 0;
    set(SIGUSR1, nodefer, 0, 0);
    raise(SIGUSR1);
    printf("without SA_NODEFER: order %.*s, max depth %d\n", on, order, max_depth);

    on = 0;
    set(SIGUSR1, masked_1, 0, SIGUSR2);
    set(SIGUSR2, masked_2, 0, 0);
    raise(SIGUSR1);
    printf("sa_mask defers SIGUSR2: order %.*s\n", on, order);

    struct sigaction old;
    set(SIGUSR1, resethand, SA_RESTART, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    printf("old action: handler is resethand: %s, SA_RESTART: %s\n", old.sa_handler == resethand ? "yes" : "no",
           (old.sa_flags & SA_RESTART) ? "yes" : "no");
    signal(SIGUSR2, masked_2);
    CHECK(sigaction(SIGUSR2, NULL, &old) == 0);
    printf("signal() sets SA_RESTART: %s\n", (old.sa_flags & SA_RESTART) ? "yes" : "no");

    /* Pending signals discarded by SIG_IGN, and by SIG_DFL when the default is ignore. */
    sigset_t b, pend;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigaddset(&b, SIGWINCH);
    sigprocmask(SIG_BLOCK, &b, NULL);
    set(SIGUSR1, masked_2, 0, 0);
    set(SIGWINCH, masked_2, 0, 0);
    raise(SIGUSR1);
    raise(SIGWINCH);
    sigpending(&pend);
    printf("pending before: SIGUSR1=%d SIGWINCH=%d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGWINCH));
    signal(SIGUSR1, SIG_IGN);
    signal(SIGWINCH, SIG_DFL);
    sigpending(&pend);
    printf("pending after SIG_IGN / SIG_DFL: SIGUSR1=%d SIGWINCH=%d\n", sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGWINCH));
    sigprocmask(SIG_UNBLOCK, &b, NULL);

    sa.sa_handler = masked_2;
    EXPECT_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL);
    EXPECT_ERRNO(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    sa.sa_handler = SIG_IGN;
    EXPECT_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK(sigaction(SIGKILL, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    EXPECT_ERRNO(sigaction(0, &sa, NULL), EINVAL);
    EXPECT_ERRNO(sigaction(65, &sa, NULL), EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 16), EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, (void *)16, NULL, 8), EFAULT);
    return finish();
}

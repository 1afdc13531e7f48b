/* rt_sigtimedwait / sigwaitinfo: a zero or short timeout with nothing pending
 * is EAGAIN (and waits at least the timeout), a pending signal is returned at
 * once with its siginfo (SI_USER and our pid from kill, SI_TKILL from raise,
 * SI_QUEUE and the value from sigqueue), a signal from another process wakes
 * a blocked sigwaitinfo (si_pid is that process), real-time signals queue
 * (three sigqueue values come back in order) while a standard signal sent
 * twice is pending once, the lowest real-time signal comes first, a signal
 * not in the set stays pending, and a bad timeout is EINVAL. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}
static const char *code(int c) {
    return c == SI_USER ? "SI_USER" : c == SI_TKILL ? "SI_TKILL" : c == SI_QUEUE ? "SI_QUEUE" : "other";
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
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGRTMIN + 5);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    siginfo_t si;
    struct timespec zero = {0, 0}, short_ts = {0, 30 * 1000 * 1000};
    EXPECT_ERRNO(sigtimedwait(&set, &si, &zero), EAGAIN);
    long long t0 = mono_ms();
    EXPECT_ERRNO(sigtimedwait(&set, &si, &short_ts), EAGAIN);
    printf("30 ms timeout waited at least 30 ms: %s\n", mono_ms() - t0 >= 30 ? "yes" : "no");

    kill(getpid(), SIGUSR1);
    memset(&si, 0, sizeof si);
    int s = sigtimedwait(&set, &si, &zero);
    printf("kill: got SIG%s si_code=%s si_pid is us=%s si_uid=%d\n", sigabbrev_np(s), code(si.si_code),
           si.si_pid == getpid() ? "yes" : "no", (int)si.si_uid);
    raise(SIGUSR2);
    /* The raw call: glibc's sigtimedwait folds SI_TKILL into SI_USER. */
    s = (int)syscall(SYS_rt_sigtimedwait, &set, &si, NULL, 8);
    printf("raise: got SIG%s si_code=%s (raw syscall)\n", sigabbrev_np(s), code(si.si_code));
    raise(SIGUSR2);
    s = sigwaitinfo(&set, &si);
    printf("raise: got SIG%s si_code=%s (glibc sigwaitinfo)\n", sigabbrev_np(s), code(si.si_code));
    union sigval v = {.sival_int = 99};
    sigqueue(getpid(), SIGUSR1, v);
    s = sigwaitinfo(&set, &si);
    printf("sigqueue: got SIG%s si_code=%s value=%d\n", sigabbrev_np(s), code(si.si_code), si.si_value.sival_int);

    /* Queueing. */
    for (int i = 1; i <= 3; i++) {
        v.sival_int = i * 10;
        sigqueue(getpid(), SIGRTMIN + 1, v);
    }
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    v.sival_int = 5;
    sigqueue(getpid(), SIGRTMIN + 5, v);
    v.sival_int = 0;
    sigqueue(getpid(), SIGRTMIN, v);
    printf("received in order:");
    while ((s = sigtimedwait(&set, &si, &zero)) > 0) {
        if (s >= SIGRTMIN)
            printf(" RTMIN+%d(%d)", s - SIGRTMIN, si.si_value.sival_int);
        else
            printf(" SIG%s", sigabbrev_np(s));
    }
    printf(" then %s\n", errname(errno));

    /* Only signals in the set are taken. */
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    raise(SIGUSR2);
    EXPECT_ERRNO(sigtimedwait(&only1, &si, &zero), EAGAIN);
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR2 still pending: %s\n", sigismember(&pend, SIGUSR2) ? "yes" : "no");
    CHECK(sigtimedwait(&set, &si, &zero) == SIGUSR2);

    /* From another process, while we wait. */
    pid_t me = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(20000);
        union sigval cv = {.sival_int = 1234};
        sigqueue(me, SIGRTMIN, cv);
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    s = sigwaitinfo(&set, &si);
    printf("from a child: got RTMIN+%d si_code=%s si_pid is the child=%s value=%d\n", s - SIGRTMIN, code(si.si_code),
           si.si_pid == c ? "yes" : "no", si.si_value.sival_int);
    int st;
    waitpid(c, &st, 0);

    struct timespec bad = {0, 1000000000L};
    EXPECT_ERRNO(sigtimedwait(&set, &si, &bad), EINVAL);
    struct timespec neg = {-1, 0};
    EXPECT_ERRNO(sigtimedwait(&set, &si, &neg), EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 4), EINVAL);
    return finish();
}

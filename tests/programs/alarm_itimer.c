/* alarm and ITIMER_REAL: alarm returns the previous remaining seconds (rounded),
 * getitimer reflects an alarm; a 30 ms one-shot timer delivers SIGALRM
 * (si_code SI_KERNEL) no earlier than 30 ms and then reads as disarmed; a
 * 10 ms periodic timer delivers repeatedly until cancelled; setitimer returns
 * the old value; a forked child starts without timers; pause() is woken by a
 * SIGALRM handler; bad "which" or microseconds are EINVAL. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static long long mono_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}
static long long tv_us(struct timeval t) {
    return t.tv_sec * 1000000LL + t.tv_usec;
}
static volatile int alarms;
static void on_alarm(int s) {
    (void)s;
    alarms++;
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
    printf("alarm(10) returns %u\n", alarm(10));
    printf("alarm(5) returns %u\n", alarm(5));
    struct itimerval it;
    CHECK(getitimer(ITIMER_REAL, &it) == 0);
    printf("getitimer after alarm(5): value in (4 s, 5 s]: %s, interval zero: %s\n",
           tv_us(it.it_value) > 4000000 && tv_us(it.it_value) <= 5000000 ? "yes" : "no",
           tv_us(it.it_interval) == 0 ? "yes" : "no");
    printf("alarm(0) returns %u\n", alarm(0));
    CHECK(getitimer(ITIMER_REAL, &it) == 0 && tv_us(it.it_value) == 0);

    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alrm, NULL);
    struct itimerval one = {{0, 0}, {0, 30000}}, old;
    long long t0 = mono_us();
    CHECK(setitimer(ITIMER_REAL, &one, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &it) == 0);
    printf("remaining right after arming in (0, 30 ms]: %s\n",
           tv_us(it.it_value) > 0 && tv_us(it.it_value) <= 30000 ? "yes" : "no");
    siginfo_t si;
    struct timespec two = {2, 0};
    int s = sigtimedwait(&alrm, &si, &two);
    long long el = mono_us() - t0;
    printf("one-shot: got SIG%s si_code=%s after >= 30 ms: %s\n", s > 0 ? sigabbrev_np(s) : "none",
           si.si_code == SI_KERNEL ? "SI_KERNEL" : "other", el >= 30000 ? "yes" : "no");
    CHECK(getitimer(ITIMER_REAL, &it) == 0);
    printf("disarmed after firing: %s\n", tv_us(it.it_value) == 0 ? "yes" : "no");

    struct itimerval per = {{0, 10000}, {0, 10000}};
    t0 = mono_us();
    CHECK(setitimer(ITIMER_REAL, &per, NULL) == 0);
    int n = 0;
    for (; n < 3; n++)
        if (sigtimedwait(&alrm, &si, &two) != SIGALRM)
            break;
    el = mono_us() - t0;
    printf("periodic: %d signals, after >= 30 ms: %s\n", n, el >= 30000 ? "yes" : "no");
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &off, &old) == 0);
    printf("old value when cancelling: interval 10 ms: %s, value in (0, 10 ms]: %s\n",
           tv_us(old.it_interval) == 10000 ? "yes" : "no",
           tv_us(old.it_value) > 0 && tv_us(old.it_value) <= 10000 ? "yes" : "no");
    struct timespec zero = {0, 0};
    while (sigtimedwait(&alrm, &si, &zero) == SIGALRM)
        ; /* one may have been pending */

    /* A child does not inherit the timer. */
    alarm(100);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct itimerval ci;
        getitimer(ITIMER_REAL, &ci);
        _exit(tv_us(ci.it_value) == 0 && alarm(0) == 0 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("forked child has no timer: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    alarm(0);

    /* pause() woken by a handler. */
    signal(SIGALRM, on_alarm);
    sigprocmask(SIG_UNBLOCK, &alrm, NULL);
    struct itimerval rep = {{0, 30000}, {0, 30000}}; /* periodic, so pause cannot miss it */
    CHECK(setitimer(ITIMER_REAL, &rep, NULL) == 0);
    int r = pause();
    int e = errno;
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    printf("pause returned %d (%s) after the handler ran: %s\n", r, errname(e), alarms > 0 ? "yes" : "no");

    EXPECT_ERRNO(setitimer(5, &one, NULL), EINVAL);
    EXPECT_ERRNO(getitimer(5, &it), EINVAL);
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    EXPECT_ERRNO(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
    struct itimerval neg = {{0, 0}, {-1, 0}};
    EXPECT_ERRNO(setitimer(ITIMER_REAL, &neg, NULL), EINVAL);
    return finish();
}

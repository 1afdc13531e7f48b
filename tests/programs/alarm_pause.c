/* alarm(2) and ITIMER_REAL with pause(2) and sigsuspend(2): SIGALRM arrives (si_code
 * SI_KERNEL), alarm returns the seconds left rounded as Linux rounds them, and a
 * SIGALRM without a handler kills the process (argument "default"). */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t alarms;
static volatile int last_code, last_pid;

static void on_alarm(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    alarms++;
    last_code = si->si_code;
    last_pid = si->si_pid;
}

static long ms_since(struct timespec a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void set_real_us(long us) {
    struct itimerval v = {{0, 0}, {us / 1000000, us % 1000000}};
    setitimer(ITIMER_REAL, &v, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "default") == 0) {
        say_and_flush("alarm with the default action");
        alarm(1);
        for (;;)
            pause();
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);

    /* No alarm pending: 0; a pending one reports its seconds. */
    CHECK(alarm(0) == 0);
    CHECK(alarm(5) == 0);
    unsigned left = alarm(0);
    CHECK(left == 5);
    CHECK(alarm(0) == 0);

    /* Rounding of what is left: to the nearest second, at least 1. */
    set_real_us(400000);
    CHECK(alarm(0) == 1);
    set_real_us(600000);
    CHECK(alarm(0) == 1);
    set_real_us(2499999);
    CHECK(alarm(0) == 2);
    set_real_us(2600000);
    CHECK(alarm(0) == 3);

    /* getitimer after alarm(2): a little under 2 s, no interval. */
    alarm(2);
    struct itimerval v;
    CHECK(getitimer(ITIMER_REAL, &v) == 0);
    CHECK(v.it_value.tv_sec == 1 && v.it_value.tv_usec > 500000);
    CHECK(v.it_interval.tv_sec == 0 && v.it_interval.tv_usec == 0);
    alarm(0);
    CHECK(getitimer(ITIMER_REAL, &v) == 0);
    CHECK(v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0);

    /* alarm + pause: pause returns EINTR after the handler ran. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    alarm(1);
    errno = 0;
    int r = pause();
    CHECK(r == -1 && errno == EINTR);
    CHECK(alarms == 1);
    long ms = ms_since(t0);
    printf("elapsed >= 900ms: %s\n", ms >= 900 ? "yes" : "no");
    printf("elapsed < 3000ms: %s\n", ms < 3000 ? "yes" : "no");
    CHECK(last_code == SI_KERNEL);
    CHECK(last_pid == 0);

    /* ITIMER_REAL + sigsuspend with SIGALRM blocked outside. */
    sigset_t block, old, wait;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    set_real_us(50000);
    sigemptyset(&wait);
    r = sigsuspend(&wait);
    CHECK(r == -1 && errno == EINTR);
    CHECK(alarms == 2);
    printf("sigsuspend elapsed >= 45ms: %s\n", ms_since(t0) >= 45 ? "yes" : "no");

    /* Expiring while blocked: pending, delivered on unblock. */
    set_real_us(10000);
    struct timespec d = {0, 40 * 1000 * 1000};
    nanosleep(&d, NULL);
    sigset_t pend;
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGALRM) == 1);
    CHECK(alarms == 2);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    CHECK(alarms == 3);

    /* A sleep interrupted by the alarm's handler fails with EINTR. */
    set_real_us(20000);
    struct timespec longer = {5, 0}, rem = {0, 0};
    r = nanosleep(&longer, &rem);
    CHECK(r == -1 && errno == EINTR);
    CHECK(rem.tv_sec >= 4);
    CHECK(alarms == 4);

    /* An alarm survives execve? Not tested here: one process. fork does not inherit. */
    return finish();
}

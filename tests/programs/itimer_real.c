/* setitimer(2)/getitimer(2) ITIMER_REAL: a periodic timer delivers SIGALRM every
 * interval until it is stopped; the remaining time counts down in microseconds; old
 * values are returned; bad arguments fail as Linux fails them. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

static long ms_since(struct timespec a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

int main(void) {
    signal(SIGALRM, on_alarm);

    /* Periodic: 20 ms; count five signals, then stop it. */
    struct itimerval v = {{0, 20000}, {0, 20000}}, old;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(setitimer(ITIMER_REAL, &v, NULL) == 0);
    while (alarms < 5)
        pause();
    long ms = ms_since(t0);
    struct itimerval stop = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &stop, &old) == 0);
    CHECK(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20000);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec <= 20000);
    printf("five periods took >= 95ms: %s\n", ms >= 95 ? "yes" : "no");
    int n = alarms;
    struct timespec d = {0, 60 * 1000 * 1000};
    nanosleep(&d, NULL);
    CHECK(alarms == n);

    /* The remaining time counts down and the interval stays as set. */
    struct itimerval w = {{1, 500000}, {3, 250000}};
    CHECK(setitimer(ITIMER_REAL, &w, NULL) == 0);
    struct itimerval g;
    CHECK(getitimer(ITIMER_REAL, &g) == 0);
    CHECK(g.it_interval.tv_sec == 1 && g.it_interval.tv_usec == 500000);
    CHECK(g.it_value.tv_sec == 3 && g.it_value.tv_usec <= 250000 && g.it_value.tv_usec > 150000);
    nanosleep(&d, NULL);
    struct itimerval g2;
    CHECK(getitimer(ITIMER_REAL, &g2) == 0);
    long left1 = g.it_value.tv_sec * 1000000L + g.it_value.tv_usec;
    long left2 = g2.it_value.tv_sec * 1000000L + g2.it_value.tv_usec;
    printf("counted down by >= 55ms: %s\n", left1 - left2 >= 55000 ? "yes" : "no");
    printf("counted down by < 1s: %s\n", left1 - left2 < 1000000 ? "yes" : "no");
    /* Setting returns the old value; a zero value disarms (and drops the interval). */
    CHECK(setitimer(ITIMER_REAL, &stop, &old) == 0);
    CHECK(old.it_interval.tv_sec == 1 && old.it_interval.tv_usec == 500000);
    CHECK(old.it_value.tv_sec == 3 || old.it_value.tv_sec == 2);
    CHECK(getitimer(ITIMER_REAL, &g) == 0);
    CHECK(g.it_value.tv_sec == 0 && g.it_value.tv_usec == 0);
    CHECK(g.it_interval.tv_sec == 0 && g.it_interval.tv_usec == 0);
    struct itimerval only_interval = {{1, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &only_interval, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &g) == 0);
    CHECK(g.it_interval.tv_sec == 0 && g.it_value.tv_sec == 0 && g.it_value.tv_usec == 0);

    /* A one-shot timer of 1 µs fires once. */
    n = alarms;
    struct itimerval tiny = {{0, 0}, {0, 1}};
    CHECK(setitimer(ITIMER_REAL, &tiny, NULL) == 0);
    nanosleep(&d, NULL);
    CHECK(alarms == n + 1);

    /* Errors. */
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    EXPECT_ERRNO(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
    struct itimerval neg = {{0, 0}, {-1, 0}};
    EXPECT_ERRNO(setitimer(ITIMER_REAL, &neg, NULL), EINVAL);
    struct itimerval badi = {{0, -1}, {1, 0}};
    EXPECT_ERRNO(setitimer(ITIMER_REAL, &badi, NULL), EINVAL);
    EXPECT_ERRNO(setitimer(3, &v, NULL), EINVAL);
    EXPECT_ERRNO(setitimer(-1, &v, NULL), EINVAL);
    EXPECT_ERRNO(getitimer(3, &g), EINVAL);
    EXPECT_ERRNO(syscall(SYS_getitimer, ITIMER_REAL, (void *)8), EFAULT);
    EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, (void *)8, NULL), EFAULT);
    /* The bad old-value pointer is written after the timer was set. */
    EXPECT_ERRNO(syscall(SYS_setitimer, ITIMER_REAL, &w, (void *)8), EFAULT);
    CHECK(getitimer(ITIMER_REAL, &g) == 0 && g.it_value.tv_sec == 3);
    /* A NULL new value disarms (Linux accepts it). */
    CHECK(syscall(SYS_setitimer, ITIMER_REAL, NULL, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &g) == 0 && g.it_value.tv_sec == 0 && g.it_value.tv_usec == 0);

    /* fork: the child has no timer of its parent's. */
    CHECK(setitimer(ITIMER_REAL, &w, NULL) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerval c;
        getitimer(ITIMER_REAL, &c);
        _exit(c.it_value.tv_sec == 0 && c.it_value.tv_usec == 0 ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(setitimer(ITIMER_REAL, &stop, NULL) == 0);
    return finish();
}

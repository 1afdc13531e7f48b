/* ITIMER_VIRTUAL and ITIMER_PROF count CPU time: a 20 ms periodic timer of
 * each kind delivers SIGVTALRM / SIGPROF twice during a busy loop (bounded by
 * 2 s of CPU) and the CPU time used is at least 30 ms (the accounting is
 * sampled); while the process sleeps, a virtual timer does not run down, then
 * a busy loop makes it fire; cancelling returns the old setting. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile int vt, prof;
static void on_vt(int s) {
    (void)s;
    vt++;
}
static void on_prof(int s) {
    (void)s;
    prof++;
}
static long long cpu_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}
/* Mostly user-mode work: ITIMER_VIRTUAL counts user time only, and reading a
 * CPU clock is a system call. */
static void spin(void) {
    for (volatile int i = 0; i < 200000; i++)
        ;
}
static long long tv_us(struct timeval t) {
    return t.tv_sec * 1000000LL + t.tv_usec;
}

static void run(const char *what, int which, volatile int *count) {
    struct itimerval it = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}}, old;
    long long c0 = cpu_us();
    CHECK(setitimer(which, &it, NULL) == 0);
    while (*count < 2 && cpu_us() - c0 < 2000000)
        spin();
    long long used = cpu_us() - c0;
    CHECK(setitimer(which, &off, &old) == 0);
    /* Two expiries of 20 ms each; Linux samples CPU time per tick for itimers, so
     * on a loaded machine natively they can come a tick or two early: the bound
     * is one interval. */
    printf("%s: signals=%d, CPU used >= 20 ms: %s, old interval 20 ms: %s\n", what, *count,
           used >= 20000 ? "yes" : "no", tv_us(old.it_interval) == 20000 ? "yes" : "no");
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
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);
    run("ITIMER_VIRTUAL", ITIMER_VIRTUAL, &vt);
    run("ITIMER_PROF", ITIMER_PROF, &prof);

    /* Sleeping does not consume a virtual timer. */
    struct itimerval it = {{0, 0}, {0, 20000}}, now;
    CHECK(setitimer(ITIMER_VIRTUAL, &it, NULL) == 0);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(getitimer(ITIMER_VIRTUAL, &now) == 0);
    printf("virtual timer after sleeping 50 ms still > 15 ms: %s\n", tv_us(now.it_value) > 15000 ? "yes" : "no");
    /* Then it fires once CPU time is used (CPU accounting is tick-sampled, so
     * only a loose lower bound is checked). */
    long long c0 = cpu_us();
    while (vt < 3 && cpu_us() - c0 < 2000000)
        spin();
    printf("one-shot fired after busy CPU use: %s, after >= 10 ms: %s\n", vt == 3 ? "yes" : "no",
           cpu_us() - c0 >= 10000 ? "yes" : "no");
    CHECK(getitimer(ITIMER_VIRTUAL, &now) == 0);
    printf("disarmed after firing: %s\n", tv_us(now.it_value) == 0 ? "yes" : "no");
    return finish();
}

/* ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time: a busy loop gets
 * SIGVTALRM and SIGPROF; getitimer counts down CPU time (Linux adds a tick to the
 * value); a forked child does not inherit them. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t vt, prof;

static void on_vt(int sig) {
    (void)sig;
    vt++;
}

static volatile sig_atomic_t watchdog;

static void on_alarm(int sig) {
    (void)sig;
    watchdog = 1;
}

static void on_prof(int sig) {
    (void)sig;
    prof++;
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spins until *flag reaches n or 5 s of CPU time went by; returns whether it did. */
static int spin_until(volatile sig_atomic_t *flag, int n) {
    double start = cpu_now();
    volatile unsigned long x = 0;
    while (*flag < n) {
        for (int i = 0; i < 100000; i++)
            x++;
        if (cpu_now() - start > 5.0)
            return 0;
    }
    return 1;
}

/* Spins until the process has used `ms` more of CPU time (by its own clock). */
static void spin_cpu(long ms) {
    double end = cpu_now() + ms / 1000.0;
    volatile unsigned long x = 0;
    while (cpu_now() < end)
        for (int i = 0; i < 20000; i++)
            x++;
}

int main(void) {
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);

    /* One-shot ITIMER_VIRTUAL of 50 ms of CPU. */
    struct itimerval v = {{0, 0}, {0, 50000}};
    CHECK(setitimer(ITIMER_VIRTUAL, &v, NULL) == 0);
    printf("SIGVTALRM arrived: %s\n", spin_until(&vt, 1) ? "yes" : "no");
    struct itimerval g;
    CHECK(getitimer(ITIMER_VIRTUAL, &g) == 0);
    CHECK(g.it_value.tv_sec == 0 && g.it_value.tv_usec == 0);

    /* Periodic ITIMER_PROF: three signals. */
    struct itimerval p = {{0, 20000}, {0, 20000}};
    CHECK(setitimer(ITIMER_PROF, &p, NULL) == 0);
    printf("three SIGPROFs arrived: %s\n", spin_until(&prof, 3) ? "yes" : "no");
    struct itimerval stop = {{0, 0}, {0, 0}}, old;
    CHECK(setitimer(ITIMER_PROF, &stop, &old) == 0);
    CHECK(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20000);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 30000);

    /* A long timer counts down CPU time only: sleeping does not use it up. */
    struct itimerval one = {{0, 250000}, {1, 0}};
    CHECK(setitimer(ITIMER_VIRTUAL, &one, NULL) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &g) == 0);
    long left = g.it_value.tv_sec * 1000000L + g.it_value.tv_usec;
    printf("value about 1 s (plus a tick): %s\n", left > 900000 && left <= 1011000 ? "yes" : "no");
    CHECK(g.it_interval.tv_sec == 0 && g.it_interval.tv_usec == 250000);
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
    CHECK(getitimer(ITIMER_VIRTUAL, &g) == 0);
    long after_sleep = g.it_value.tv_sec * 1000000L + g.it_value.tv_usec;
    printf("a 100 ms sleep used < 50 ms of it: %s\n", left - after_sleep < 50000 ? "yes" : "no");
    spin_cpu(100);
    CHECK(getitimer(ITIMER_VIRTUAL, &g) == 0);
    long after_busy = g.it_value.tv_sec * 1000000L + g.it_value.tv_usec;
    printf("100 ms of CPU used >= 50 ms of it: %s\n", after_sleep - after_busy >= 50000 ? "yes" : "no");
    printf("and not much more: %s\n", after_sleep - after_busy < 300000 ? "yes" : "no");
    CHECK(vt == 1);

    /* fork: not inherited. */
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerval c1, c2;
        getitimer(ITIMER_VIRTUAL, &c1);
        getitimer(ITIMER_PROF, &c2);
        _exit(c1.it_value.tv_sec == 0 && c1.it_value.tv_usec == 0 && c2.it_value.tv_usec == 0 ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    CHECK(setitimer(ITIMER_VIRTUAL, &stop, &old) == 0);
    CHECK(old.it_interval.tv_usec == 250000);
    CHECK(getitimer(ITIMER_VIRTUAL, &g) == 0 && g.it_value.tv_sec == 0 && g.it_value.tv_usec == 0);
    CHECK(vt == 1);

    /* A loop that makes no syscalls: only the scheduler tick sees its CPU time. An
     * alarm of 10 s ends the loop if the signal never comes. */
    signal(SIGALRM, on_alarm);
    alarm(10);
    struct itimerval t30 = {{0, 0}, {0, 30000}};
    CHECK(setitimer(ITIMER_VIRTUAL, &t30, NULL) == 0);
    volatile unsigned long x = 0;
    while (vt < 2 && !watchdog)
        x++;
    alarm(0);
    printf("SIGVTALRM in a loop without syscalls: %s\n", vt == 2 ? "yes" : "no");
    return finish();
}

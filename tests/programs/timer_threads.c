/* Timers and CPU clocks with threads: SIGEV_THREAD_ID sends a timer's signal to one
 * chosen thread (and a thread that ended cannot be chosen); a timer on a thread's own
 * CPU clock fires when that thread has run long enough; the process CPU clock and a
 * timer on it count all threads together. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static double clock_s(clockid_t c) {
    struct timespec ts = {0, 0};
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spins until the calling thread has used `ms` more CPU time (by its own clock). */
static void spin_thread(long ms) {
    double end = clock_s(CLOCK_THREAD_CPUTIME_ID) + ms / 1000.0;
    volatile unsigned long x = 0;
    while (clock_s(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 20000; i++)
            x++;
}

static pid_t worker_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

/* Waits for the timer's SIGUSR1 (blocked everywhere) and returns its si_timerid. */
static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    worker_tid = gettid();
    ready = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    siginfo_t si;
    struct timespec to = {5, 0};
    int r = sigtimedwait(&set, &si, &to);
    long result = r == SIGUSR1 && si.si_code == SI_TIMER ? (long)si.si_value.sival_int : -1;
    return (void *)result;
}

static volatile sig_atomic_t cpu_fired;
static void on_usr2(int sig) {
    (void)sig;
    cpu_fired++;
}

/* Makes a timer on its own CPU clock (50 ms), then spins until it fires. */
static void *cpu_timer_thread(void *arg) {
    (void)arg;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR2;
    ev._sigev_un._tid = gettid();
    timer_t t;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &t) != 0)
        return (void *)1L;
    struct itimerspec its = {{0, 0}, {0, 50 * 1000000}};
    if (timer_settime(t, 0, &its, NULL) != 0)
        return (void *)2L;
    double start = clock_s(CLOCK_THREAD_CPUTIME_ID);
    volatile unsigned long x = 0;
    while (!cpu_fired && clock_s(CLOCK_THREAD_CPUTIME_ID) - start < 5)
        for (int i = 0; i < 20000; i++)
            x++;
    double used = clock_s(CLOCK_THREAD_CPUTIME_ID) - start;
    timer_delete(t);
    return (void *)(long)(cpu_fired && used >= 0.045 ? 0 : 3);
}

static void *burner(void *arg) {
    spin_thread((long)arg);
    return NULL;
}

static volatile sig_atomic_t profs;
static void on_prof(int sig) {
    (void)sig;
    profs++;
}

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);

    /* SIGEV_THREAD_ID: the chosen thread gets it. */
    pthread_t w;
    CHECK(pthread_create(&w, NULL, waiter, NULL) == 0);
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    ev._sigev_un._tid = worker_tid;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
    struct itimerspec its = {{0, 0}, {0, 20 * 1000000}};
    CHECK(timer_settime(t, 0, &its, NULL) == 0);
    void *res;
    CHECK(pthread_join(w, &res) == 0);
    printf("the chosen thread got the timer's signal: %s\n", (long)res == 4242 ? "yes" : "no");
    sigset_t pend;
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR1) == 0);
    CHECK(timer_delete(t) == 0);
    /* A thread that has ended cannot be chosen. pthread_join returns when the
     * thread's tid word is cleared, a little before the thread is gone (on Linux
     * too): wait until signalling it finds no thread. */
    for (int i = 0; i < 5000 && syscall(SYS_tgkill, getpid(), worker_tid, 0) == 0; i++)
        usleep(1000);
    ev._sigev_un._tid = worker_tid;
    EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &ev, &t), EINVAL);

    /* A timer on a thread's own CPU clock, while the main thread sleeps. */
    signal(SIGUSR2, on_usr2);
    pthread_t c;
    CHECK(pthread_create(&c, NULL, cpu_timer_thread, NULL) == 0);
    CHECK(pthread_join(c, &res) == 0);
    printf("thread CPU-clock timer fired after its CPU time: %s\n", res == NULL ? "yes" : "no");

    /* Two busy threads: the process clock counts both, and so does a timer on it. */
    struct sigevent pev;
    memset(&pev, 0, sizeof pev);
    pev.sigev_notify = SIGEV_SIGNAL;
    pev.sigev_signo = SIGPROF;
    signal(SIGPROF, on_prof);
    timer_t pt;
    CHECK(timer_create(CLOCK_PROCESS_CPUTIME_ID, &pev, &pt) == 0);
    struct itimerspec p150 = {{0, 0}, {0, 150 * 1000000}};
    double p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(timer_settime(pt, 0, &p150, NULL) == 0);
    pthread_t b1, b2;
    CHECK(pthread_create(&b1, NULL, burner, (void *)100L) == 0);
    CHECK(pthread_create(&b2, NULL, burner, (void *)100L) == 0);
    CHECK(pthread_join(b1, NULL) == 0 && pthread_join(b2, NULL) == 0);
    double p1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("process clock counts both threads (>= 190 ms): %s\n", p1 - p0 >= 0.19 ? "yes" : "no");
    /* The timer is checked at ticks: it has fired, or does within a few, long before
     * this thread alone could have used 150 ms. */
    for (int i = 0; i < 10 && !profs; i++)
        spin_thread(5);
    printf("the process CPU-clock timer counted both threads: %s\n", profs == 1 ? "yes" : "no");
    CHECK(timer_delete(pt) == 0);
    return finish();
}

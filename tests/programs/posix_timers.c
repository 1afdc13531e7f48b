/* POSIX timers: timer_create with SIGEV_SIGNAL (sigwaitinfo sees SI_TIMER and
 * the sigev_value), timer_gettime after arming, a periodic timer whose signal
 * stays blocked accumulates overruns (si_overrun and timer_getoverrun agree),
 * an absolute expiry in the past fires at once, timer_settime returns the old
 * setting, SIGEV_NONE counts down silently, SIGEV_THREAD_ID sends to the chosen
 * thread, SIGEV_THREAD runs a function in another thread, a process CPU-time
 * clock timer fires after CPU use, timers are not inherited by fork, and the
 * errors: bad clock, bad notify, a foreign tid, a deleted timer (EINVAL). */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long long ts_ns(struct timespec t) {
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static volatile pid_t handled_by, target_tid;
static void on_rt1(int s) {
    (void)s;
    handled_by = (pid_t)syscall(SYS_gettid);
}
static volatile int thread_fn_ran, thread_fn_value;
static volatile pid_t thread_fn_tid;
static void thread_notify(union sigval v) {
    thread_fn_tid = (pid_t)syscall(SYS_gettid);
    thread_fn_value = v.sival_int;
    __atomic_store_n(&thread_fn_ran, 1, __ATOMIC_SEQ_CST);
}
static volatile int stop_target;
static void *target(void *a) {
    (void)a;
    target_tid = (pid_t)syscall(SYS_gettid);
    while (!stop_target)
        usleep(1000);
    return NULL;
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
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    CHECK(sigprocmask(SIG_BLOCK, &rt, NULL) == 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 11;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec its = {{0, 0}, {0, 50 * 1000 * 1000}}, cur, old;
    CHECK(timer_gettime(t, &cur) == 0 && ts_ns(cur.it_value) == 0);
    CHECK(timer_settime(t, 0, &its, NULL) == 0);
    CHECK(timer_gettime(t, &cur) == 0);
    printf("armed 50 ms: remaining in (0, 50 ms]: %s\n",
           ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 50000000 ? "yes" : "no");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&rt, &si) == SIGRTMIN);
    printf("expiry: si_code=%s value=%d overrun=%d\n", si.si_code == SI_TIMER ? "SI_TIMER" : "other",
           si.si_value.sival_int, si.si_overrun);

    /* Overruns while the signal is blocked. */
    struct itimerspec per = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
    CHECK(timer_settime(t, 0, &per, NULL) == 0);
    struct timespec nap = {0, 60 * 1000 * 1000};
    nanosleep(&nap, NULL);
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&rt, &si) == SIGRTMIN);
    int ov = timer_getoverrun(t);
    printf("periodic 5 ms, 60 ms blocked: si_overrun >= 5: %s, timer_getoverrun agrees: %s\n",
           si.si_overrun >= 5 ? "yes" : "no", ov == si.si_overrun ? "yes" : "no");
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK(timer_settime(t, 0, &off, &old) == 0);
    printf("old setting: interval 5 ms: %s\n", ts_ns(old.it_interval) == 5000000 ? "yes" : "no");
    struct timespec zero = {0, 0};
    while (sigtimedwait(&rt, &si, &zero) == SIGRTMIN)
        ;

    /* Absolute time in the past. */
    struct itimerspec abs = {{0, 0}, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &abs.it_value);
    abs.it_value.tv_sec -= 1;
    CHECK(timer_settime(t, TIMER_ABSTIME, &abs, NULL) == 0);
    struct timespec onesec = {1, 0};
    printf("absolute expiry in the past fires at once: %s\n", sigtimedwait(&rt, &si, &onesec) == SIGRTMIN ? "yes" : "no");
    CHECK(timer_delete(t) == 0);
    EXPECT_ERRNO(timer_gettime(t, &cur), EINVAL);
    EXPECT_ERRNO(timer_settime(t, 0, &its, NULL), EINVAL);

    /* SIGEV_NONE. */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec ten = {{0, 0}, {10, 0}};
    CHECK(timer_settime(t, 0, &ten, NULL) == 0);
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    CHECK(timer_gettime(t, &cur) == 0);
    printf("SIGEV_NONE counts down: %s\n", ts_ns(cur.it_value) < 10000000000LL && ts_ns(cur.it_value) > 9000000000LL ? "yes" : "no");
    /* Not inherited by a child. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct itimerspec x;
        _exit(timer_gettime(t, &x) == -1 && errno == EINVAL ? 0 : 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("child cannot use the parent's timer (EINVAL): %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    CHECK(timer_delete(t) == 0);

    /* SIGEV_THREAD_ID. */
    signal(SIGRTMIN + 1, on_rt1);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, target, NULL) == 0);
    while (!target_tid)
        usleep(1000);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN + 1;
    sev._sigev_un._tid = target_tid;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    struct itimerspec ms5 = {{0, 0}, {0, 5 * 1000 * 1000}};
    CHECK(timer_settime(t, 0, &ms5, NULL) == 0);
    for (int i = 0; i < 2000 && !handled_by; i++)
        usleep(1000);
    printf("SIGEV_THREAD_ID: handled by the target thread: %s\n", handled_by == target_tid ? "yes" : "no");
    timer_delete(t);
    stop_target = 1;
    pthread_join(th, NULL);
    sev._sigev_un._tid = getpid() + 1000000;
    EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL);

    /* SIGEV_THREAD. */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = thread_notify;
    sev.sigev_value.sival_int = 77;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    CHECK(timer_settime(t, 0, &ms5, NULL) == 0);
    for (int i = 0; i < 2000 && !__atomic_load_n(&thread_fn_ran, __ATOMIC_SEQ_CST); i++)
        usleep(1000);
    printf("SIGEV_THREAD: function ran=%s in another thread=%s value=%d\n", thread_fn_ran ? "yes" : "no",
           thread_fn_tid != (pid_t)syscall(SYS_gettid) ? "yes" : "no", thread_fn_value);
    timer_delete(t);

    /* CPU-time clock. */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    CHECK(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t) == 0);
    struct itimerspec cpu10 = {{0, 0}, {0, 10 * 1000 * 1000}};
    CHECK(timer_settime(t, 0, &cpu10, NULL) == 0);
    int fired = 0;
    for (int i = 0; i < 100000 && !fired; i++) {
        for (volatile int k = 0; k < 20000; k++)
            ;
        fired = sigtimedwait(&rt, &si, &zero) == SIGRTMIN;
    }
    printf("CPU-time timer fired after busy work: %s\n", fired ? "yes" : "no");
    timer_delete(t);

    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    EXPECT_ERRNO(timer_create((clockid_t)99, &sev, &t), EINVAL);
    sev.sigev_notify = 77;
    EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 99;
    EXPECT_ERRNO(timer_create(CLOCK_MONOTONIC, &sev, &t), EINVAL);
    return finish();
}

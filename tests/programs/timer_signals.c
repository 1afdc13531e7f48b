/* POSIX timers: timer_create(2) with SIGEV_SIGNAL (si_code SI_TIMER, si_timerid,
 * si_value), SIGEV_THREAD_ID, SIGEV_NONE and the default sigevent; timer_settime(2)
 * relative, absolute and periodic with the old value; timer_gettime(2); a timer on the
 * process CPU clock; timer_delete(2); ids counting from 0 per process; errors. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t got, got_alrm;
static volatile int g_code, g_timerid, g_overrun;
static volatile long g_value;

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    got++;
    g_code = si->si_code;
    g_timerid = si->si_timerid;
    g_overrun = si->si_overrun;
    g_value = (long)si->si_value.sival_ptr;
}

static void on_alrm(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    got_alrm++;
    g_value = si->si_value.sival_int;
    g_code = si->si_code;
}

static void sleep_ms(long ms) {
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
}

static int raw_create(clockid_t c, struct sigevent *ev, int *id) {
    return syscall(SYS_timer_create, c, ev, id);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGRTMIN, &sa, NULL) == 0);
    sa.sa_sigaction = on_alrm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);

    /* SIGEV_SIGNAL: one shot 30 ms; the signal carries the timer's identity. */
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_ptr = (void *)0x1234;
    int id = -1;
    CHECK(raw_create(CLOCK_MONOTONIC, &ev, &id) == 0);
    printf("first timer id: %d\n", id);
    struct itimerspec its = {{0, 0}, {0, 30 * 1000000}}, cur;
    CHECK(syscall(SYS_timer_settime, id, 0, &its, NULL) == 0);
    CHECK(syscall(SYS_timer_gettime, id, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 30 * 1000000);
    sleep_ms(60);
    CHECK(got == 1);
    CHECK(g_code == SI_TIMER);
    CHECK(g_timerid == id);
    CHECK(g_value == 0x1234);
    CHECK(g_overrun == 0);
    CHECK(syscall(SYS_timer_gettime, id, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* Periodic, then re-set: the old value comes back. */
    struct itimerspec per = {{0, 20 * 1000000}, {0, 20 * 1000000}}, old;
    CHECK(syscall(SYS_timer_settime, id, 0, &per, NULL) == 0);
    while (got < 4)
        pause();
    struct itimerspec zero = {{0, 0}, {0, 0}};
    CHECK(syscall(SYS_timer_settime, id, 0, &zero, &old) == 0);
    CHECK(old.it_interval.tv_sec == 0 && old.it_interval.tv_nsec == 20 * 1000000);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_nsec <= 20 * 1000000);
    int n = got;
    sleep_ms(50);
    CHECK(got == n);

    /* Absolute on CLOCK_REALTIME, 40 ms from now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rid = -1;
    CHECK(raw_create(CLOCK_REALTIME, &ev, &rid) == 0);
    printf("second timer id: %d\n", rid);
    now.tv_nsec += 40 * 1000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, now};
    CHECK(syscall(SYS_timer_settime, rid, TIMER_ABSTIME, &abs, NULL) == 0);
    CHECK(syscall(SYS_timer_gettime, rid, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 40 * 1000000);
    n = got;
    sleep_ms(80);
    CHECK(got == n + 1 && g_timerid == rid);
    /* An absolute time in the past fires at once. */
    struct itimerspec past = {{0, 0}, {1, 0}};
    CHECK(syscall(SYS_timer_settime, rid, TIMER_ABSTIME, &past, NULL) == 0);
    sleep_ms(50);
    CHECK(got == n + 2);

    /* The default sigevent: SIGALRM with the timer id as sival_int. */
    int did = -1;
    CHECK(raw_create(CLOCK_MONOTONIC, NULL, &did) == 0);
    struct itimerspec ten = {{0, 0}, {0, 10 * 1000000}};
    CHECK(syscall(SYS_timer_settime, did, 0, &ten, NULL) == 0);
    sleep_ms(60);
    CHECK(got_alrm == 1 && g_value == did && g_code == SI_TIMER);

    /* SIGEV_THREAD_ID to this thread. */
    struct sigevent tev;
    memset(&tev, 0, sizeof tev);
    tev.sigev_notify = SIGEV_THREAD_ID;
    tev.sigev_signo = SIGRTMIN;
    tev.sigev_value.sival_ptr = (void *)0x77;
    tev._sigev_un._tid = gettid();
    int tid_timer = -1;
    CHECK(raw_create(CLOCK_MONOTONIC, &tev, &tid_timer) == 0);
    n = got;
    CHECK(syscall(SYS_timer_settime, tid_timer, 0, &ten, NULL) == 0);
    sleep_ms(60);
    CHECK(got == n + 1 && g_value == 0x77 && g_timerid == tid_timer);

    /* SIGEV_NONE: nothing arrives; gettime shows the countdown, and for a periodic
     * timer the time to its next period. */
    struct sigevent nev;
    memset(&nev, 0, sizeof nev);
    nev.sigev_notify = SIGEV_NONE;
    int nid = -1;
    CHECK(raw_create(CLOCK_MONOTONIC, &nev, &nid) == 0);
    struct itimerspec nper = {{0, 50 * 1000000}, {0, 1000000}};
    CHECK(syscall(SYS_timer_settime, nid, 0, &nper, NULL) == 0);
    n = got;
    sleep_ms(120);
    CHECK(syscall(SYS_timer_gettime, nid, &cur) == 0);
    CHECK(cur.it_interval.tv_nsec == 50 * 1000000);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50 * 1000000);
    CHECK(syscall(SYS_timer_getoverrun, nid) == 0);
    CHECK(got == n);
    CHECK(syscall(SYS_timer_settime, nid, 0, &ten, NULL) == 0);
    sleep_ms(30);
    CHECK(syscall(SYS_timer_gettime, nid, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 && cur.it_interval.tv_nsec == 0);
    /* An interval alone does not arm it (and is forgotten). */
    struct itimerspec ionly = {{1, 0}, {0, 0}};
    CHECK(syscall(SYS_timer_settime, nid, 0, &ionly, NULL) == 0);
    CHECK(syscall(SYS_timer_gettime, nid, &cur) == 0);
    CHECK(cur.it_value.tv_nsec == 0 && cur.it_interval.tv_sec == 0);

    /* A timer on the process CPU clock fires after CPU time, not sleep. */
    int cid = -1;
    CHECK(raw_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &cid) == 0);
    struct itimerspec c50 = {{0, 0}, {0, 50 * 1000000}};
    CHECK(syscall(SYS_timer_settime, cid, 0, &c50, NULL) == 0);
    n = got;
    sleep_ms(80);
    CHECK(got == n);
    CHECK(syscall(SYS_timer_gettime, cid, &cur) == 0);
    CHECK(cur.it_value.tv_nsec > 30 * 1000000);
    volatile unsigned long x = 0;
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    do {
        for (int i = 0; i < 20000; i++)
            x++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    } while (got == n && c1.tv_sec - c0.tv_sec < 5);
    printf("CPU-clock timer fired: %s\n", got == n + 1 && g_timerid == cid ? "yes" : "no");

    /* Deleting: the id is gone; later ids keep counting up. */
    CHECK(syscall(SYS_timer_delete, cid) == 0);
    EXPECT_ERRNO(syscall(SYS_timer_delete, cid), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_gettime, cid, &cur), EINVAL);
    int next = -1;
    CHECK(raw_create(CLOCK_BOOTTIME, &nev, &next) == 0);
    printf("ids increase: %s\n", next > cid ? "yes" : "no");

    /* Errors. */
    int e = -1;
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC_RAW, &nev, &e), EOPNOTSUPP);
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC_COARSE, &nev, &e), EOPNOTSUPP);
    EXPECT_ERRNO(raw_create(10, &nev, &e), EINVAL);
    EXPECT_ERRNO(raw_create(12, &nev, &e), EINVAL);
    struct sigevent bad = ev;
    bad.sigev_notify = 5;
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &bad, &e), EINVAL);
    bad = ev;
    bad.sigev_signo = 0;
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &bad, &e), EINVAL);
    bad.sigev_signo = 65;
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &bad, &e), EINVAL);
    bad = tev;
    bad._sigev_un._tid = 1 << 30;
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &bad, &e), EINVAL);
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, (void *)8, &e), EFAULT);
    EXPECT_ERRNO(raw_create(CLOCK_MONOTONIC, &nev, NULL), EFAULT);
    EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, NULL, NULL), EINVAL);
    struct itimerspec badts = {{0, 0}, {0, 1000000000}};
    EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, &badts, NULL), EINVAL);
    struct itimerspec negts = {{-1, 0}, {1, 0}};
    EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, &negts, NULL), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_settime, id, 0, (void *)8, NULL), EFAULT);
    EXPECT_ERRNO(syscall(SYS_timer_settime, 9999, 0, &ten, NULL), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_settime, -1, 0, &ten, NULL), EINVAL);
    EXPECT_ERRNO(syscall(SYS_timer_gettime, id, NULL), EFAULT);
    EXPECT_ERRNO(syscall(SYS_timer_getoverrun, 9999), EINVAL);
    /* Unknown flags are ignored. */
    CHECK(syscall(SYS_timer_settime, id, 0x10, &zero, NULL) == 0);

    /* A forked child has no timers; its own count from 0. */
    pid_t pid = fork();
    if (pid == 0) {
        struct itimerspec c;
        if (syscall(SYS_timer_gettime, id, &c) != -1 || errno != EINVAL)
            _exit(1);
        int cid2 = -1;
        if (raw_create(CLOCK_MONOTONIC, &nev, &cid2) != 0 || cid2 != 0)
            _exit(2);
        _exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return finish();
}

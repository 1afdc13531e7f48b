/* CPU clocks and usage: CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID grow with
 * work and not with sleep, clock_getcpuclockid(3) names another process's clock, bad
 * CPU clock ids fail; getrusage(2), times(2) and wait4's rusage account a busy child
 * once it was waited for. Amounts are compared with loose bounds, never printed. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

static double ts_s(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }
static double tv_s(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static double clock_s(clockid_t c) {
    struct timespec ts = {0, 0};
    if (clock_gettime(c, &ts) != 0)
        return -1;
    return ts_s(ts);
}

static double wall_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* Spins until the process has used `ms` more of CPU time (by its own clock). */
static void spin_cpu(long ms) {
    double end = clock_s(CLOCK_PROCESS_CPUTIME_ID) + ms / 1000.0;
    volatile unsigned long x = 0;
    while (clock_s(CLOCK_PROCESS_CPUTIME_ID) < end)
        for (int i = 0; i < 20000; i++)
            x++;
}

#define MAKE_THREAD_CPUCLOCK(tid, which) ((~(clockid_t)(tid) << 3) | 4 | (which))
#define MAKE_PROCESS_CPUCLOCK(pid, which) ((~(clockid_t)(pid) << 3) | (which))

int main(void) {
    struct timespec res;
    CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0 && res.tv_sec == 0 && res.tv_nsec == 1);
    CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &res) == 0 && res.tv_sec == 0 && res.tv_nsec == 1);

    /* 100 ms of CPU by the process clock: the thread clock and rusage agree, and
     * it took at least that long on the wall clock. */
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    double r0 = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    double w0 = wall_s(), p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    spin_cpu(100);
    double w1 = wall_s(), p1 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    double r1 = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
    printf("process clock grew >= 100ms: %s\n", p1 - p0 >= 0.1 ? "yes" : "no");
    printf("wall clock grew at least as much: %s\n", w1 - w0 >= p1 - p0 - 0.005 ? "yes" : "no");
    printf("thread clock grew >= 90ms: %s\n", t1 - t0 >= 0.09 ? "yes" : "no");
    printf("thread <= process: %s\n", t1 <= p1 + 0.001 ? "yes" : "no");
    printf("rusage grew >= 80ms: %s\n", r1 - r0 >= 0.08 ? "yes" : "no");
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
    double p2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("a 100ms sleep added < 30ms: %s\n", p2 - p1 < 0.03 ? "yes" : "no");
    printf("monotonic: %s\n", p2 >= p1 ? "yes" : "no");

    /* The encoded forms of our own clocks. */
    clockid_t mine;
    CHECK(clock_getcpuclockid(getpid(), &mine) == 0);
    double m = clock_s(mine);
    printf("own clock id reads our time: %s\n", m >= p2 && m < p2 + 0.5 ? "yes" : "no");
    CHECK(clock_s(MAKE_PROCESS_CPUCLOCK(0, 2)) >= p2);
    CHECK(clock_s(MAKE_THREAD_CPUCLOCK(0, 2)) >= t1);
    CHECK(clock_s(MAKE_THREAD_CPUCLOCK(getpid(), 2)) >= t1);
    CHECK(clock_s(MAKE_PROCESS_CPUCLOCK(getpid(), 0)) >= 0);
    CHECK(clock_getres(mine, &res) == 0 && res.tv_nsec == 1);
    EXPECT_ERRNO(clock_gettime(MAKE_PROCESS_CPUCLOCK(getpid(), 3), &res), EINVAL);
    EXPECT_ERRNO(clock_gettime(MAKE_PROCESS_CPUCLOCK(999999, 2), &res), EINVAL);

    CHECK(getrusage(RUSAGE_THREAD, &ru) == 0);
    printf("rusage thread >= 80ms: %s\n", tv_s(ru.ru_utime) + tv_s(ru.ru_stime) >= 0.08 ? "yes" : "no");
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    CHECK(ru.ru_utime.tv_sec == 0 && ru.ru_utime.tv_usec == 0);
    CHECK(ru.ru_stime.tv_sec == 0 && ru.ru_stime.tv_usec == 0);
    EXPECT_ERRNO(getrusage(5, &ru), EINVAL);
    EXPECT_ERRNO(getrusage(-2, &ru), EINVAL);
    EXPECT_ERRNO(getrusage(RUSAGE_SELF, (void *)8), EFAULT);

    struct tms tm0;
    clock_t c0 = times(&tm0);
    printf("times: utime >= 8 ticks: %s\n", tm0.tms_utime + tm0.tms_stime >= 8 ? "yes" : "no");
    CHECK(tm0.tms_cutime == 0 && tm0.tms_cstime == 0);

    /* A busy child: its clock seen from here, then its usage once waited for. */
    int done[2], go[2];
    CHECK(pipe(done) == 0 && pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        spin_cpu(200);
        char c = 'x';
        if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    char c;
    CHECK(read(done[0], &c, 1) == 1);
    clockid_t child;
    CHECK(clock_getcpuclockid(pid, &child) == 0);
    double cs = clock_s(child);
    printf("child's clock shows >= 190ms: %s\n", cs >= 0.19 ? "yes" : "no");
    EXPECT_ERRNO(clock_gettime(MAKE_THREAD_CPUCLOCK(pid, 2), &res), EINVAL);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    printf("not counted before the wait: %s\n", tv_s(ru.ru_utime) + tv_s(ru.ru_stime) < 0.01 ? "yes" : "no");
    CHECK(write(go[1], &c, 1) == 1);
    int st = 0;
    struct rusage wru;
    memset(&wru, 0, sizeof wru);
    CHECK(wait4(pid, &st, 0, &wru) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("wait4 rusage >= 180ms: %s\n", tv_s(wru.ru_utime) + tv_s(wru.ru_stime) >= 0.18 ? "yes" : "no");
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    printf("children >= 180ms: %s\n", tv_s(ru.ru_utime) + tv_s(ru.ru_stime) >= 0.18 ? "yes" : "no");
    printf("children == wait4's: %s\n",
           tv_s(ru.ru_utime) + tv_s(ru.ru_stime) == tv_s(wru.ru_utime) + tv_s(wru.ru_stime) ? "yes" : "no");
    struct tms tm1;
    clock_t c1 = times(&tm1);
    printf("times: cutime >= 17 ticks: %s\n", tm1.tms_cutime + tm1.tms_cstime >= 17 ? "yes" : "no");
    printf("times: elapsed ticks >= 20: %s\n", c1 - c0 >= 20 ? "yes" : "no");
    CHECK(times(NULL) >= c1);
    printf("the child's clock is gone: %s\n", clock_gettime(child, &res) == -1 && errno == EINVAL ? "yes" : "no");

    return finish();
}

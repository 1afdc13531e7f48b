/* getrusage: RUSAGE_CHILDREN is zero until a child is waited for (an exited
 * but unreaped child does not count), then includes its CPU time (a child
 * burns 40 ms of CPU), its peak RSS (it touches 32 MiB) and its voluntary
 * context switches (it sleeps 5 times); a waited-for grandchild is included
 * through its waiting parent; an auto-reaped child (SIGCHLD ignored) adds
 * nothing. RUSAGE_SELF and RUSAGE_THREAD see our own CPU time (a thread burns
 * 20 ms); an unknown "who" is EINVAL. Only comparisons are printed. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static long long cpu_ns(clockid_t clk) {
    struct timespec t;
    clock_gettime(clk, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void burn(clockid_t clk, long long ms) {
    long long start = cpu_ns(clk);
    while (cpu_ns(clk) - start < ms * 1000000LL)
        for (volatile int i = 0; i < 100000; i++) /* mostly user time, few clock reads */
            ;
}
static long long tv_ms(struct timeval a, struct timeval b) {
    return (a.tv_sec + b.tv_sec) * 1000LL + (a.tv_usec + b.tv_usec) / 1000;
}
static long long child_cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return tv_ms(ru.ru_utime, ru.ru_stime);
}
static void *thread_burn(void *a) {
    (void)a;
    burn(CLOCK_THREAD_CPUTIME_ID, 20);
    struct rusage *ru = malloc(sizeof *ru);
    getrusage(RUSAGE_THREAD, ru);
    return ru;
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
    struct rusage ru;
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    printf("before any child: children cpu zero=%s maxrss zero=%s\n",
           tv_ms(ru.ru_utime, ru.ru_stime) == 0 ? "yes" : "no", ru.ru_maxrss == 0 ? "yes" : "no");

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        burn(CLOCK_PROCESS_CPUTIME_ID, 40);
        size_t sz = 32 << 20;
        char *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < sz; i += 4096)
            m[i] = 1;
        for (int i = 0; i < 5; i++) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    siginfo_t si;
    CHECK(waitid(P_PID, c, &si, WEXITED | WNOWAIT) == 0);
    printf("exited but unreaped child not counted: %s\n", child_cpu_ms() == 0 ? "yes" : "no");
    int st;
    CHECK(wait4(c, &st, 0, &ru) == c);
    long long own = tv_ms(ru.ru_utime, ru.ru_stime);
    printf("wait4's rusage: cpu >= 25 ms: %s, maxrss >= 32 MiB: %s, nvcsw >= 5: %s\n", own >= 25 ? "yes" : "no",
           ru.ru_maxrss >= 32768 ? "yes" : "no", ru.ru_nvcsw >= 5 ? "yes" : "no");
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    long long after1 = tv_ms(ru.ru_utime, ru.ru_stime);
    printf("after wait: children cpu >= 25 ms: %s, maxrss >= 32 MiB: %s\n", after1 >= 25 ? "yes" : "no",
           ru.ru_maxrss >= 32768 ? "yes" : "no");

    /* A grandchild waited for by its parent counts for us too. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            burn(CLOCK_PROCESS_CPUTIME_ID, 40);
            _exit(0);
        }
        int s;
        waitpid(g, &s, 0);
        _exit(0);
    }
    CHECK(waitpid(c, &st, 0) == c);
    long long after2 = child_cpu_ms();
    printf("grandchild's cpu added (>= 25 ms more): %s\n", after2 - after1 >= 25 ? "yes" : "no");

    /* Auto-reaped children add nothing. */
    signal(SIGCHLD, SIG_IGN);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        burn(CLOCK_PROCESS_CPUTIME_ID, 40);
        _exit(0);
    }
    EXPECT_ERRNO(waitpid(c, &st, 0), ECHILD);
    signal(SIGCHLD, SIG_DFL);
    long long after3 = child_cpu_ms();
    printf("auto-reaped child adds less than 20 ms: %s\n", after3 - after2 < 20 ? "yes" : "no");

    /* Self and thread. */
    struct rusage self0, self1, mine;
    CHECK(getrusage(RUSAGE_SELF, &self0) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_burn, NULL) == 0);
    void *res;
    pthread_join(t, &res);
    struct rusage *tr = res;
    CHECK(getrusage(RUSAGE_SELF, &self1) == 0);
    CHECK(getrusage(RUSAGE_THREAD, &mine) == 0);
    long long thread_ms = tv_ms(tr->ru_utime, tr->ru_stime);
    printf("thread's RUSAGE_THREAD >= 15 ms: %s\n", thread_ms >= 15 ? "yes" : "no");
    printf("RUSAGE_SELF grew by >= 15 ms: %s\n",
           tv_ms(self1.ru_utime, self1.ru_stime) - tv_ms(self0.ru_utime, self0.ru_stime) >= 15 ? "yes" : "no");
    printf("main thread's RUSAGE_THREAD <= RUSAGE_SELF: %s\n",
           tv_ms(mine.ru_utime, mine.ru_stime) <= tv_ms(self1.ru_utime, self1.ru_stime) ? "yes" : "no");
    free(tr);
    EXPECT_ERRNO(getrusage(5, &ru), EINVAL);
    EXPECT_ERRNO(getrusage(-3, &ru), EINVAL);
    return finish();
}

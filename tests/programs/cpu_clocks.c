/* CPU-time clocks, printing only ordering facts: CLOCK_PROCESS_CPUTIME_ID and
 * CLOCK_THREAD_CPUTIME_ID never go backwards across a busy loop and the
 * thread clock stays within the process clock; a busy thread's clock from
 * pthread_getcpuclockid shows its work (>= 20 ms of 30) while our own thread
 * clock barely moves while we wait; a child's clock from clock_getcpuclockid
 * shows its work and stands still while it sleeps, and is EINVAL after it is
 * reaped; clock_getres is 1 ns; clock_settime on a CPU clock fails; a pid that
 * does not exist is ESRCH. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long long ns(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t) != 0)
        return -1;
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void burn(clockid_t c, long long ms) {
    long long s = ns(c);
    while (ns(c) - s < ms * 1000000LL)
        for (volatile int i = 0; i < 100000; i++)
            ;
}
static void *busy(void *a) {
    (void)a;
    burn(CLOCK_THREAD_CPUTIME_ID, 30);
    usleep(20000); /* stay alive so the clock id stays valid */
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
    long long prev_p = ns(CLOCK_PROCESS_CPUTIME_ID), prev_t = ns(CLOCK_THREAD_CPUTIME_ID);
    int backwards = 0, thread_above = 0;
    for (int i = 0; i < 2000; i++) {
        for (volatile int k = 0; k < 1000; k++)
            ;
        long long t = ns(CLOCK_THREAD_CPUTIME_ID), p = ns(CLOCK_PROCESS_CPUTIME_ID);
        if (p < prev_p || t < prev_t)
            backwards++;
        if (t > p)
            thread_above++;
        prev_p = p;
        prev_t = t;
    }
    printf("2000 reads: went backwards %d times, thread clock above process clock %d times\n", backwards,
           thread_above);
    struct timespec res;
    CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0);
    printf("CLOCK_PROCESS_CPUTIME_ID resolution: %ld ns\n", res.tv_nsec);
    CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &res) == 0);
    printf("CLOCK_THREAD_CPUTIME_ID resolution: %ld ns\n", res.tv_nsec);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, busy, NULL) == 0);
    clockid_t tc;
    CHECK(pthread_getcpuclockid(t, &tc) == 0);
    long long mine0 = ns(CLOCK_THREAD_CPUTIME_ID), proc0 = ns(CLOCK_PROCESS_CPUTIME_ID);
    long long seen = 0;
    for (int i = 0; i < 2000 && seen < 20000000; i++) {
        usleep(1000);
        seen = ns(tc);
    }
    long long mine = ns(CLOCK_THREAD_CPUTIME_ID) - mine0, proc = ns(CLOCK_PROCESS_CPUTIME_ID) - proc0;
    pthread_join(t, NULL);
    printf("busy thread's clock reached 20 ms: %s; process clock grew at least as much: %s; ours grew less: %s\n",
           seen >= 20000000 ? "yes" : "no", proc >= seen - 1000000 ? "yes" : "no", mine < seen ? "yes" : "no");

    int go[2], ready[2];
    CHECK(pipe(go) == 0 && pipe(ready) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        burn(CLOCK_PROCESS_CPUTIME_ID, 30);
        char b = 'r';
        if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(1);
        _exit(0);
    }
    clockid_t cc;
    CHECK(clock_getcpuclockid(c, &cc) == 0);
    char b;
    CHECK(read(ready[0], &b, 1) == 1);
    long long c1 = ns(cc);
    usleep(20000);
    long long c2 = ns(cc);
    printf("child's clock shows its 30 ms of work: %s; still while it sleeps (< 5 ms): %s\n",
           c1 >= 25000000 ? "yes" : "no", c2 - c1 < 5000000 ? "yes" : "no");
    CHECK(write(go[1], "g", 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    struct timespec x;
    EXPECT_ERRNO(clock_gettime(cc, &x), EINVAL);
    printf("clock_getcpuclockid of a reaped child: %s\n", errname(clock_getcpuclockid(c, &cc)));
    struct timespec zero = {0, 0};
    errno = 0;
    int r = clock_settime(CLOCK_PROCESS_CPUTIME_ID, &zero);
    printf("clock_settime(CLOCK_PROCESS_CPUTIME_ID): %d %s\n", r, errname(errno));
    return finish();
}

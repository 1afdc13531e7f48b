/* times(): the return value (clock ticks) does not go backwards, tms_utime +
 * tms_stime of the process grows with a 30 ms busy loop, tms_cutime+tms_cstime
 * are zero before and at least 3 ticks after waiting for a child that burned
 * 40 ms of CPU; sysconf(_SC_CLK_TCK) is 100; a NULL buffer is allowed. */
#include "common.h"
#include <signal.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

static long long cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void burn(long long ms) {
    long long start = cpu_ns();
    while (cpu_ns() - start < ms * 1000000LL)
        for (volatile int i = 0; i < 100000; i++) /* mostly user time, few clock reads */
            ;
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
    printf("_SC_CLK_TCK=%ld\n", sysconf(_SC_CLK_TCK));
    struct tms t0, t1, t2;
    clock_t r0 = times(&t0);
    CHECK(r0 != (clock_t)-1);
    printf("children times zero at start: %s\n", t0.tms_cutime == 0 && t0.tms_cstime == 0 ? "yes" : "no");
    burn(30);
    clock_t r1 = times(&t1);
    printf("return value did not go backwards: %s\n", r1 >= r0 ? "yes" : "no");
    printf("own cpu grew by >= 2 ticks: %s\n",
           (t1.tms_utime + t1.tms_stime) - (t0.tms_utime + t0.tms_stime) >= 2 ? "yes" : "no");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        burn(40);
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    clock_t r2 = times(&t2);
    printf("return value did not go backwards: %s\n", r2 >= r1 ? "yes" : "no");
    printf("children cpu >= 3 ticks after wait: %s\n", t2.tms_cutime + t2.tms_cstime >= 3 ? "yes" : "no");
    printf("own cpu not charged with the child's: %s\n",
           (t2.tms_utime + t2.tms_stime) - (t1.tms_utime + t1.tms_stime) < 3 ? "yes" : "no");
    CHECK(times(NULL) != (clock_t)-1);
    return finish();
}

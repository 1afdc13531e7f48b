/* CPU affinity: pinning to the lowest allowed CPU reads back as exactly that
 * CPU and sched_getcpu/getcpu then report it; a forked child inherits the
 * mask; a thread's affinity set with pthread_setaffinity_np does not change
 * the main thread's; another process's affinity can be set and read; the
 * original mask comes back; errors: an empty mask or one with only a CPU that
 * does not exist (EINVAL), a size that is not a multiple of 8 (EINVAL), a pid
 * that does not exist (ESRCH). Only relations are printed, never CPU counts. */
#define _GNU_SOURCE
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static int lowest;
static void *pinned_thread(void *a) {
    (void)a;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(lowest, &s);
    if (pthread_setaffinity_np(pthread_self(), sizeof s, &s) != 0)
        return (void *)0L;
    sched_yield();
    cpu_set_t g;
    pthread_getaffinity_np(pthread_self(), sizeof g, &g);
    return (void *)(long)(CPU_COUNT(&g) == 1 && CPU_ISSET(lowest, &g) && sched_getcpu() == lowest);
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
    cpu_set_t orig, s, g;
    CHECK(sched_getaffinity(0, sizeof orig, &orig) == 0);
    printf("at least one CPU allowed: %s\n", CPU_COUNT(&orig) >= 1 ? "yes" : "no");
    lowest = -1;
    for (int i = 0; i < CPU_SETSIZE && lowest < 0; i++)
        if (CPU_ISSET(i, &orig))
            lowest = i;

    pthread_t t;
    void *r;
    CHECK(pthread_create(&t, NULL, pinned_thread, NULL) == 0);
    pthread_join(t, &r);
    printf("thread pinned to the lowest CPU runs there: %s\n", r ? "yes" : "no");
    CHECK(sched_getaffinity(0, sizeof g, &g) == 0);
    printf("main thread's mask unchanged by it: %s\n", CPU_EQUAL(&g, &orig) ? "yes" : "no");

    CPU_ZERO(&s);
    CPU_SET(lowest, &s);
    CHECK(sched_setaffinity(0, sizeof s, &s) == 0);
    sched_yield();
    CHECK(sched_getaffinity(0, sizeof g, &g) == 0);
    printf("pinned: mask is exactly that CPU: %s\n", CPU_COUNT(&g) == 1 && CPU_ISSET(lowest, &g) ? "yes" : "no");
    unsigned cpu = 99999, node = 99999;
    CHECK(syscall(SYS_getcpu, &cpu, &node, NULL) == 0);
    printf("getcpu reports it: %s, sched_getcpu too: %s\n", (int)cpu == lowest ? "yes" : "no",
           sched_getcpu() == lowest ? "yes" : "no");
    CHECK(syscall(SYS_getcpu, NULL, NULL, NULL) == 0);

    int rep[2];
    CHECK(pipe(rep) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        cpu_set_t cg;
        sched_getaffinity(0, sizeof cg, &cg);
        char ok = CPU_COUNT(&cg) == 1 && CPU_ISSET(lowest, &cg) ? 'y' : 'n';
        if (write(rep[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char inherited = 0;
    CHECK(read(rep[0], &inherited, 1) == 1);
    printf("child inherited the pinned mask: %s\n", inherited == 'y' ? "yes" : "no");
    /* Change the child's mask from outside. */
    CHECK(sched_setaffinity(c, sizeof orig, &orig) == 0);
    CHECK(sched_getaffinity(c, sizeof g, &g) == 0);
    printf("child's mask set from the parent reads back: %s\n", CPU_EQUAL(&g, &orig) ? "yes" : "no");
    kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);

    CHECK(sched_setaffinity(0, sizeof orig, &orig) == 0);
    CHECK(sched_getaffinity(0, sizeof g, &g) == 0);
    printf("original mask restored: %s\n", CPU_EQUAL(&g, &orig) ? "yes" : "no");

    CPU_ZERO(&s);
    EXPECT_ERRNO(sched_setaffinity(0, sizeof s, &s), EINVAL);
    cpu_set_t *bigset = CPU_ALLOC(4096);
    size_t bsz = CPU_ALLOC_SIZE(4096);
    CPU_ZERO_S(bsz, bigset);
    CPU_SET_S(4000, bsz, bigset);
    EXPECT_ERRNO(sched_setaffinity(0, bsz, bigset), EINVAL);
    CPU_FREE(bigset);
    EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 4, &g), EINVAL);
    EXPECT_ERRNO(sched_getaffinity(c, sizeof g, &g), ESRCH);
    return finish();
}

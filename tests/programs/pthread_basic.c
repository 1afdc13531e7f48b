/* pthreads basics: create/join with return values (also via pthread_exit);
 * threads share the pid but each has its own tid; /proc/self/status counts
 * them; a detached thread can be created; pthread_join on itself is EDEADLK;
 * pthread_tryjoin_np is EBUSY and pthread_timedjoin_np ETIMEDOUT while the
 * thread runs; a custom stack size is honoured (pthread_getattr_np);
 * pthread_cancel of a thread blocked in read makes it exit with
 * PTHREAD_CANCELED (glibc's cancellation signal). */
#include "common.h"
#include <signal.h>
#include <pthread.h>
#include <time.h>

static int gate[2];
static pid_t tids[4];
static int pids_same[4];

static int threads_in_status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static void *worker(void *a) {
    long i = (long)a;
    tids[i] = (pid_t)syscall(SYS_gettid);
    pids_same[i] = getpid() == (pid_t)syscall(SYS_getpid);
    char b;
    if (read(gate[0], &b, 1) != 1)
        return (void *)-1L;
    if (i == 3)
        pthread_exit((void *)300L);
    return (void *)(i * 100);
}

static void *blocked_reader(void *a) {
    (void)a;
    char b;
    ssize_t n = read(gate[0], &b, 1); /* a cancellation point */
    (void)n;
    return (void *)7L;
}

static void *stack_probe(void *a) {
    (void)a;
    pthread_attr_t at;
    size_t sz = 0;
    pthread_getattr_np(pthread_self(), &at);
    pthread_attr_getstacksize(&at, &sz);
    pthread_attr_destroy(&at);
    return (void *)sz;
}

static void *self_join(void *a) {
    (void)a;
    return (void *)(long)pthread_join(pthread_self(), NULL);
}

static void *quick(void *a) {
    return a;
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
    CHECK(pipe(gate) == 0);
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < 4000 && threads_in_status() < 5; i++)
        usleep(500);
    printf("Threads in /proc/self/status while 4 run: %d\n", threads_in_status());
    CHECK(pthread_tryjoin_np(t[0], NULL) == EBUSY);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 10 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    CHECK(pthread_timedjoin_np(t[0], NULL, &dl) == ETIMEDOUT);
    CHECK(write(gate[1], "abcd", 4) == 4);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        sum += (long)r;
        printf("thread %d returned %ld\n", i, (long)r);
    }
    int distinct = 1;
    for (int i = 0; i < 4; i++) {
        if (tids[i] == getpid() || tids[i] <= 0)
            distinct = 0;
        for (int j = i + 1; j < 4; j++)
            if (tids[i] == tids[j])
                distinct = 0;
    }
    printf("tids distinct and not the pid: %s; getpid same in threads: %s\n", distinct ? "yes" : "no",
           pids_same[0] && pids_same[1] && pids_same[2] && pids_same[3] ? "yes" : "no");
    CHECK(pthread_equal(pthread_self(), pthread_self()) && !pthread_equal(t[0], t[1]));

    pthread_t d;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    CHECK(pthread_create(&d, &at, quick, NULL) == 0);
    pthread_attr_destroy(&at);
    pthread_t s;
    CHECK(pthread_create(&s, NULL, self_join, NULL) == 0);
    void *r;
    CHECK(pthread_join(s, &r) == 0);
    printf("pthread_join(self): %s\n", errname((int)(long)r));

    pthread_attr_init(&at);
    CHECK(pthread_attr_setstacksize(&at, 1 << 20) == 0);
    CHECK(pthread_create(&s, &at, stack_probe, NULL) == 0);
    pthread_attr_destroy(&at);
    CHECK(pthread_join(s, &r) == 0);
    printf("stack size of a 1 MiB-stack thread >= 1 MiB: %s\n", (size_t)r >= (1 << 20) ? "yes" : "no");

    CHECK(pthread_create(&s, NULL, blocked_reader, NULL) == 0);
    usleep(10000);
    CHECK(pthread_cancel(s) == 0);
    CHECK(pthread_join(s, &r) == 0);
    printf("cancelled reader returned PTHREAD_CANCELED: %s\n", r == PTHREAD_CANCELED ? "yes" : "no");
    return finish();
}

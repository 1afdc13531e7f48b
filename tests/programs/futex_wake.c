/* FUTEX_WAIT/FUTEX_WAKE between threads: four threads wait on one word (each
 * is seen sleeping in /proc/self/task/TID/stat before any wake), FUTEX_WAKE
 * returns how many it woke (1, then 2, then the last 1, then 0), woken waiters
 * return 0; a value mismatch is EAGAIN, a relative timeout ETIMEDOUT, a
 * FUTEX_WAKE_PRIVATE does not wake a waiter that used the shared form on the
 * same private address (different keys) while FUTEX_WAKE does, and a wake of
 * zero waiters wakes nobody. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

static int word;
static int woken, results_bad;
static pid_t tids[4];

static long futex(int *uaddr, int op, int val, const struct timespec *ts) {
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static char task_state(pid_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}

static int shared_form;
static void *waiter(void *a) {
    long i = (long)a;
    tids[i] = (pid_t)syscall(SYS_gettid);
    long r = futex(&word, shared_form ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, 0, NULL);
    if (r != 0)
        __atomic_fetch_add(&results_bad, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&woken, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void wait_sleeping(int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 5000 && (tids[i] == 0 || task_state(tids[i]) != 'S'); k++)
            usleep(500);
}
static void wait_woken(int n) {
    for (int k = 0; k < 5000 && __atomic_load_n(&woken, __ATOMIC_SEQ_CST) < n; k++)
        usleep(500);
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
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, waiter, (void *)i) == 0);
    wait_sleeping(4);
    printf("four waiters asleep\n");
    printf("FUTEX_WAKE 1 woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    wait_woken(1);
    printf("FUTEX_WAKE 2 woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, 2, NULL));
    wait_woken(3);
    printf("FUTEX_WAKE INT_MAX woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL));
    wait_woken(4);
    printf("FUTEX_WAKE with nobody waiting woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL));
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("waiters returned 0: %s\n", results_bad == 0 ? "yes" : "no");

    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 1, NULL), EAGAIN);
    struct timespec ts = {0, 20 * 1000 * 1000};
    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts), ETIMEDOUT);

    /* Shared-form waiter on private memory. */
    shared_form = 1;
    woken = 0;
    memset(tids, 0, sizeof tids);
    CHECK(pthread_create(&t[0], NULL, waiter, (void *)0L) == 0);
    wait_sleeping(1);
    printf("FUTEX_WAKE_PRIVATE on a FUTEX_WAIT waiter woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    printf("FUTEX_WAKE on it woke %ld\n", futex(&word, FUTEX_WAKE, 1, NULL));
    pthread_join(t[0], NULL);
    return finish();
}

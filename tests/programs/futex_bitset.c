/* FUTEX_WAIT_BITSET / FUTEX_WAKE_BITSET: waiters with bitsets 0x1 and 0x2;
 * a wake with 0x4 wakes nobody, with 0x2 only the second, with all bits the
 * first; a plain FUTEX_WAKE also wakes bitset waiters; a zero bitset is EINVAL
 * for both; the timeout of WAIT_BITSET is absolute on CLOCK_MONOTONIC, or on
 * CLOCK_REALTIME with FUTEX_CLOCK_REALTIME (ETIMEDOUT, not early); an absolute
 * time already past times out at once. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

static int word;
static pid_t tids[2];
static int woken_mask;

static long futex(int *u, int op, int val, const struct timespec *ts, int val3) {
    return syscall(SYS_futex, u, op, val, ts, NULL, val3);
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
static void *waiter(void *a) {
    long i = (long)a;
    tids[i] = (pid_t)syscall(SYS_gettid);
    if (futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, 1 << i) == 0)
        __atomic_fetch_or(&woken_mask, 1 << i, __ATOMIC_SEQ_CST);
    return NULL;
}
static void start(pthread_t *t) {
    memset(tids, 0, sizeof tids);
    woken_mask = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, waiter, (void *)i);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 5000 && (tids[i] == 0 || task_state(tids[i]) != 'S'); k++)
            usleep(500);
}
static void wait_mask(int m) {
    for (int k = 0; k < 5000 && (__atomic_load_n(&woken_mask, __ATOMIC_SEQ_CST) & m) != m; k++)
        usleep(500);
}
static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static struct timespec from(long long v) {
    struct timespec t = {v / 1000000000LL, v % 1000000000LL};
    return t;
}

static struct timespec at(clockid_t c, long long delta_ns) {
    long long v = ns(c) + delta_ns;
    struct timespec t = {v / 1000000000LL, v % 1000000000LL};
    return t;
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
    pthread_t t[2];
    start(t);
    printf("wake bitset 0x4 woke %ld\n", futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, 0x4));
    printf("wake bitset 0x2 woke %ld\n", futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, 0x2));
    wait_mask(2);
    printf("woken mask after 0x2: 0x%x\n", woken_mask);
    printf("wake bitset all woke %ld\n", futex(&word, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, -1));
    wait_mask(3);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    start(t);
    printf("plain FUTEX_WAKE woke %ld\n", futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, 0));
    wait_mask(3);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, 0), EINVAL);
    EXPECT_ERRNO(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, 0), EINVAL);

    /* The start is read before the deadline is computed from it, so that a
     * preemption between the two cannot make an exact wake look early. */
    long long t0 = ns(CLOCK_MONOTONIC);
    struct timespec dl = from(t0 + 20000000);
    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &dl, -1), ETIMEDOUT);
    printf("monotonic absolute deadline not early: %s\n", ns(CLOCK_MONOTONIC) - t0 >= 20000000 ? "yes" : "no");
    long long r0 = ns(CLOCK_REALTIME);
    dl = from(r0 + 20000000);
    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &dl, -1), ETIMEDOUT);
    printf("realtime absolute deadline not early: %s\n", ns(CLOCK_REALTIME) - r0 >= 20000000 ? "yes" : "no");
    dl = at(CLOCK_MONOTONIC, -1000000000LL);
    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &dl, -1), ETIMEDOUT);
    EXPECT_ERRNO(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &dl, -1), EAGAIN);
    return finish();
}

/* FUTEX_REQUEUE and FUTEX_CMP_REQUEUE: three threads wait on word A (each
 * seen asleep first); a CMP_REQUEUE with a wrong expected value is EAGAIN and
 * moves nobody; one that wakes 1 and requeues 1 returns 2 and leaves one
 * waiter on A and one on B (a wake on each finds 1); a plain FUTEX_REQUEUE
 * that wakes 0 and requeues all returns 3 and leaves A empty; negative counts
 * are EINVAL; with nobody waiting (even onto the same word) it returns 0. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>

static int A, B;
static int woken;
static pid_t tids[3];

static long futex6(int *u, int op, long val, long val2, int *u2, int val3) {
    return syscall(SYS_futex, u, op, val, (void *)val2, u2, val3);
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
    futex6(&A, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
    __atomic_fetch_add(&woken, 1, __ATOMIC_SEQ_CST);
    return NULL;
}
static void start(pthread_t *t) {
    woken = 0;
    memset(tids, 0, sizeof tids);
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, waiter, (void *)i);
    for (int i = 0; i < 3; i++)
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
    pthread_t t[3];
    start(t);
    EXPECT_ERRNO(futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &B, 5), EAGAIN);
    printf("CMP_REQUEUE(wake 1, requeue 1) returned %ld\n", futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &B, 0));
    wait_woken(1);
    printf("woken so far: %d\n", woken);
    printf("wake on A woke %ld\n", futex6(&A, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    wait_woken(2);
    printf("wake on B woke %ld\n", futex6(&B, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    wait_woken(3);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("all three finished: %s\n", woken == 3 ? "yes" : "no");

    start(t);
    printf("REQUEUE(wake 0, requeue all) returned %ld\n", futex6(&A, FUTEX_REQUEUE_PRIVATE, 0, INT_MAX, &B, 0));
    printf("wake on A woke %ld\n", futex6(&A, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    printf("wake on B woke %ld\n", futex6(&B, FUTEX_WAKE_PRIVATE, INT_MAX, 0, NULL, 0));
    wait_woken(3);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    printf("requeue onto the same word with nobody waiting returned %ld\n",
           futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &A, 0));
    EXPECT_ERRNO(futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, -1, 1, &B, 0), EINVAL);
    EXPECT_ERRNO(futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, 1, -1, &B, 0), EINVAL);
    printf("requeue with nobody waiting returned %ld\n", futex6(&A, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &B, 0));
    return finish();
}

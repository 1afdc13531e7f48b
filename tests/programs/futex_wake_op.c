/* FUTEX_WAKE_OP: the operation on the second word (SET, ADD, OR, ANDN, XOR,
 * and the ARG_SHIFT form) is applied even with nobody waiting, and the
 * comparison of the old value decides whether waiters on the second word are
 * woken: with two threads asleep on each word, ADD 1 with "old == 0" wakes one
 * on each word (returns 2), repeating it (old is now 1) wakes only one on the
 * first word. An unknown operation is ENOSYS before touching the word; an
 * unknown comparison is ENOSYS after the operation was applied. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>

static int A, B;
static int woken_a, woken_b;
static pid_t tids[4];

static long wake_op(int *u1, int n1, int n2, int *u2, int op) {
    return syscall(SYS_futex, u1, FUTEX_WAKE_OP_PRIVATE, n1, (void *)(long)n2, u2, op);
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
    int *w = i < 2 ? &A : &B;
    tids[i] = (pid_t)syscall(SYS_gettid);
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    __atomic_fetch_add(i < 2 ? &woken_a : &woken_b, 1, __ATOMIC_SEQ_CST);
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
    struct {
        const char *name;
        int op;
        int start;
    } ops[] = {
        {"SET 5", FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0), 9},
        {"ADD 3", FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0), 9},
        {"OR 6", FUTEX_OP(FUTEX_OP_OR, 6, FUTEX_OP_CMP_EQ, 0), 9},
        {"ANDN 1", FUTEX_OP(FUTEX_OP_ANDN, 1, FUTEX_OP_CMP_EQ, 0), 9},
        {"XOR 15", FUTEX_OP(FUTEX_OP_XOR, 15, FUTEX_OP_CMP_EQ, 0), 9},
        {"SET 1<<4 (ARG_SHIFT)", FUTEX_OP((FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_EQ, 0), 9},
        {"ADD -1 (12-bit signed)", FUTEX_OP(FUTEX_OP_ADD, 0xfff, FUTEX_OP_CMP_EQ, 0), 9},
    };
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        B = ops[i].start;
        long r = wake_op(&A, 1, 1, &B, ops[i].op);
        printf("%-24s on 9: returned %ld, word now %d\n", ops[i].name, r, B);
    }

    A = B = 0;
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, waiter, (void *)i) == 0);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 5000 && (tids[i] == 0 || task_state(tids[i]) != 'S'); k++)
            usleep(500);
    int op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
    long r = wake_op(&A, 1, 1, &B, op);
    printf("ADD 1 if old==0 (old 0): woke %ld, B now %d\n", r, B);
    r = wake_op(&A, 1, 1, &B, op);
    printf("ADD 1 if old==0 (old 1): woke %ld, B now %d\n", r, B);
    int gt = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 1);
    r = wake_op(&A, 1, 1, &B, gt);
    printf("ADD 1 if old>1 (old 2), nobody left on A: woke %ld, B now %d\n", r, B);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("woken on A: %d, on B: %d\n", woken_a, woken_b);

    B = 0;
    EXPECT_ERRNO(wake_op(&A, 1, 1, &B, FUTEX_OP(7, 1, FUTEX_OP_CMP_EQ, 0)), ENOSYS);
    EXPECT_ERRNO(wake_op(&A, 1, 1, &B, FUTEX_OP(FUTEX_OP_SET, 1, 9, 0)), ENOSYS);
    printf("B after the failed operations: %d\n", B);
    return finish();
}

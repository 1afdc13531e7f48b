/* The futex2 calls futex_wake (454), futex_wait (455) and futex_requeue (456),
 * more of futex_waitv (449), and the wake counts of FUTEX_WAKE/WAKE_OP. Flags:
 * only 32-bit futexes, FUTEX2_PRIVATE, FUTEX2_NUMA (the word is followed by a
 * node word: 8-aligned, node -1 is set to the node, 0, an impossible node is
 * EINVAL), FUTEX2_MPOL; values and masks must fit 32 bits; timeouts are
 * absolute on CLOCK_MONOTONIC or CLOCK_REALTIME. futex_waitv returns the index
 * of the woken entry, the last one when a wake hits several; a shared-form wake
 * does not reach a private waiter; waitv entries can be requeued; a signal ends
 * futex_waitv with EINTR, or restarts it under SA_RESTART. FUTEX_WAKE with a
 * count of 0 or less wakes one (futex_wake with 0 wakes none); WAKE_OP masks an
 * oversized shift. The main thread is the one that waits, so that
 * /proc/self/stat shows when it sleeps; a helper thread acts then. */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define F32 0x02
#define FNUMA 0x04
#define FMPOL 0x08
#define FPRIVATE 128

struct waitv {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
};

static int words[8] __attribute__((aligned(16)));

static long waitv(struct waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clock) {
    return syscall(449, w, n, flags, ts, clock);
}
static long f2wake(void *u, unsigned long mask, int nr, unsigned flags) {
    return syscall(454, u, mask, nr, flags);
}
static long f2wait(void *u, unsigned long val, unsigned long mask, unsigned flags, struct timespec *ts, int clock) {
    return syscall(455, u, val, mask, flags, ts, clock);
}
static long f2requeue(struct waitv *w, unsigned flags, int nr_wake, int nr_requeue) {
    return syscall(456, w, flags, nr_wake, nr_requeue);
}
static long fx(int *u, int op, long val, long val2, int *u2, int v3) {
    return syscall(SYS_futex, u, op, val, val2, u2, v3);
}
static void entry(struct waitv *w, int *addr, uint32_t flags) {
    memset(w, 0, sizeof *w);
    w->uaddr = (uintptr_t)addr;
    w->flags = flags;
}
static char my_state(void) {
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY);
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

/* The helper: once the main thread sleeps, does `what` and keeps the result. */
static pid_t main_tid;
static int what;
static long helper_ret, helper_ret2;
static volatile int hits;
static void on_usr1(int s) {
    (void)s;
    hits++;
}
static void wait_main_sleeps(void) {
    while (my_state() != 'S')
        usleep(500);
}
static void *helper(void *a) {
    (void)a;
    wait_main_sleeps();
    switch (what) {
    case 0: /* one FUTEX_WAKE on words[0] */
        helper_ret = fx(&words[0], FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
        break;
    case 1: /* wake every waiter on words[0] */
        helper_ret = fx(&words[0], FUTEX_WAKE_PRIVATE, 5, 0, NULL, 0);
        break;
    case 2: /* shared-form first (reaches nothing), then a bitset wake of words[2] */
        helper_ret = fx(&words[0], FUTEX_WAKE, 5, 0, NULL, 0);
        helper_ret2 = fx(&words[2], FUTEX_WAKE_BITSET_PRIVATE, 5, 0, NULL, 1);
        break;
    case 3: /* requeue words[2]'s waiter to words[4], wake that */
        helper_ret = fx(&words[2], FUTEX_CMP_REQUEUE_PRIVATE, 0, 1, &words[4], 0);
        helper_ret2 = fx(&words[4], FUTEX_WAKE_PRIVATE, 5, 0, NULL, 0);
        break;
    case 4: /* a signal */
        helper_ret = syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
        break;
    case 5: /* a signal, then (the wait restarted) a wake */
        helper_ret = syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
        while (hits == 0)
            usleep(500);
        wait_main_sleeps();
        helper_ret2 = fx(&words[2], FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0);
        break;
    case 6: /* futex_wake with 0 (wakes none), then FUTEX_WAKE with 0 (wakes one) */
        helper_ret = f2wake(&words[0], 0xffffffff, 0, F32 | FPRIVATE);
        helper_ret2 = fx(&words[0], FUTEX_WAKE_PRIVATE, 0, 0, NULL, 0);
        break;
    case 7: /* FUTEX_WAKE with -1 wakes one */
        helper_ret = fx(&words[0], FUTEX_WAKE_PRIVATE, -1, 0, NULL, 0);
        break;
    case 8: /* futex_wake (bit 1 misses the mask 1), then the right mask */
        helper_ret = f2wake(&words[0], 2, 5, F32 | FPRIVATE);
        helper_ret2 = f2wake(&words[0], 1, 5, F32 | FPRIVATE);
        break;
    case 9: { /* futex_requeue words[0] -> words[2], then futex_wake */
        struct waitv rq[2];
        entry(&rq[0], &words[0], F32 | FPRIVATE);
        entry(&rq[1], &words[2], F32 | FPRIVATE);
        helper_ret = f2requeue(rq, 0, 0, 1);
        helper_ret2 = f2wake(&words[2], 0xffffffff, 1, F32 | FPRIVATE);
        break;
    }
    case 10: /* a NUMA futex: the node word says which futex it is not */
        helper_ret = f2wake(&words[0], 0xffffffff, 1, F32 | FPRIVATE | FNUMA);
        break;
    }
    return NULL;
}
/* Runs `act` in the helper while the main thread makes `call`. */
#define WITH_HELPER(act, call)                                                 \
    ({                                                                         \
        pthread_t t_;                                                          \
        what = (act);                                                          \
        helper_ret = helper_ret2 = -99;                                        \
        CHECK(pthread_create(&t_, NULL, helper, NULL) == 0);                   \
        errno = 0;                                                             \
        long r_ = (call);                                                      \
        int e_ = errno;                                                        \
        pthread_join(t_, NULL);                                                \
        errno = e_;                                                            \
        r_;                                                                    \
    })
#define SHOW(label, r) printf("%s: %ld %s\n", label, (long)(r), (r) < 0 ? errname(errno) : "")

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
    main_tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    if (f2wake(&words[0], 0xffffffff, 1, F32 | FPRIVATE) == -1 && errno == ENOSYS) {
        printf("futex2: ENOSYS\n");
        return finish();
    }
    struct timespec past = {0, 0};
    struct waitv w[4];

    /* futex_waitv argument checks. */
    entry(&w[0], &words[0], F32 | FPRIVATE);
    EXPECT_ERRNO(waitv(NULL, 1, 0, NULL, 0), EINVAL);
    EXPECT_ERRNO(waitv(NULL, 1, 1, NULL, 0), EINVAL);
    EXPECT_ERRNO(waitv((struct waitv *)8, 1, 0, &past, CLOCK_MONOTONIC), EFAULT);
    EXPECT_ERRNO(waitv(w, 1, 0, (struct timespec *)8, CLOCK_MONOTONIC), EFAULT);
    EXPECT_ERRNO(waitv(w, 1, 0, (struct timespec *)8, CLOCK_TAI), EINVAL);
    w[0].val = 1;
    EXPECT_ERRNO(waitv(w, 1, 0, NULL, 12345), EAGAIN); /* no timeout: the clock is not looked at */
    w[0].val = 1ull << 32;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
    w[0].val = 0;
    w[0].flags = 3 | FPRIVATE;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
    w[0].flags = F32 | FPRIVATE | 0x10;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
    w[0].flags = F32 | FPRIVATE | FMPOL;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
    w[0].flags = F32;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
    entry(&w[0], NULL, F32);
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EFAULT);
    entry(&w[0], NULL, F32 | FPRIVATE);
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EFAULT);
    entry(&w[0], &words[0], F32 | FPRIVATE);
    entry(&w[1], NULL, F32 | FPRIVATE);
    w[0].val = 1;
    EXPECT_ERRNO(waitv(w, 2, 0, &past, CLOCK_MONOTONIC), EAGAIN); /* values in order */
    w[1].flags = 1;
    EXPECT_ERRNO(waitv(w, 2, 0, &past, CLOCK_MONOTONIC), EINVAL); /* all entries checked first */

    /* FUTEX2_NUMA: a node word follows the futex word. */
    entry(&w[0], &words[0], F32 | FPRIVATE | FNUMA);
    words[1] = -1;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
    printf("NUMA node word -1 became %d\n", words[1]);
    words[1] = 0;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
    words[1] = 4096;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
    words[1] = -1;
    w[0].flags |= FMPOL;
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
    printf("NUMA|MPOL node word -1 became %d\n", words[1]);
    entry(&w[0], &words[1], F32 | FPRIVATE | FNUMA);
    EXPECT_ERRNO(waitv(w, 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
    words[1] = 0;

    /* Which index futex_waitv returns. */
    entry(&w[0], &words[0], F32 | FPRIVATE);
    entry(&w[1], &words[2], F32 | FPRIVATE);
    entry(&w[2], &words[0], F32 | FPRIVATE);
    long r = WITH_HELPER(0, waitv(w, 3, 0, NULL, 0));
    printf("one wake on the word of entries 0 and 2 woke %ld; index %ld\n", helper_ret, r);
    r = WITH_HELPER(1, waitv(w, 3, 0, NULL, 0));
    printf("a wake of all on that word woke %ld; index %ld\n", helper_ret, r);
    r = WITH_HELPER(2, waitv(w, 3, 0, NULL, 0));
    printf("shared-form wake woke %ld, bitset wake of entry 1's word woke %ld; index %ld\n",
           helper_ret, helper_ret2, r);
    r = WITH_HELPER(3, waitv(w, 3, 0, NULL, 0));
    printf("requeue of entry 1 moved %ld, a wake there woke %ld; index %ld\n", helper_ret,
           helper_ret2, r);

    /* Signals. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    r = WITH_HELPER(4, waitv(w, 3, 0, NULL, 0));
    SHOW("futex_waitv interrupted by a handled signal", r);
    hits = 0;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    r = WITH_HELPER(5, waitv(w, 3, 0, NULL, 0));
    printf("under SA_RESTART: handler ran %d, the restarted wait was woken (%ld) at index %ld\n",
           hits, helper_ret2, r);

    /* Wake counts. */
    r = WITH_HELPER(6, fx(&words[0], FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0));
    printf("futex_wake with 0 woke %ld; FUTEX_WAKE with 0 woke %ld; the wait returned %ld\n",
           helper_ret, helper_ret2, r);
    r = WITH_HELPER(7, fx(&words[0], FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0));
    printf("FUTEX_WAKE with -1 woke %ld; the wait returned %ld\n", helper_ret, r);
    words[5] = 0;
    r = fx(&words[6], FUTEX_WAKE_OP_PRIVATE, 1, 1, &words[5],
           FUTEX_OP((FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT), 40, FUTEX_OP_CMP_EQ, 0));
    printf("WAKE_OP with a shift of 40: %ld, word now %#x\n", r, words[5]);
    words[5] = 0;

    /* futex_wake. */
    EXPECT_ERRNO(f2wake(&words[0], 0xffffffff, 1, 0), EINVAL);
    EXPECT_ERRNO(f2wake(&words[0], 0xffffffff, 1, 3 | FPRIVATE), EINVAL);
    EXPECT_ERRNO(f2wake(&words[0], 1ul << 32, 1, F32 | FPRIVATE), EINVAL);
    EXPECT_ERRNO(f2wake(&words[0], 0, 1, F32 | FPRIVATE), EINVAL);
    EXPECT_ERRNO(f2wake((char *)&words[0] + 1, 0xffffffff, 1, F32 | FPRIVATE), EINVAL);
    EXPECT_ERRNO(f2wake(NULL, 0xffffffff, 1, F32), EFAULT);
    printf("futex_wake of a private NULL word: %ld\n", f2wake(NULL, 0xffffffff, 1, F32 | FPRIVATE));
    printf("futex_wake without waiters: %ld\n", f2wake(&words[0], 0xffffffff, 1, F32 | FPRIVATE));

    /* futex_wait. */
    EXPECT_ERRNO(f2wait(&words[0], 1, 0xffffffff, F32 | FPRIVATE, NULL, 0), EAGAIN);
    EXPECT_ERRNO(f2wait(&words[0], 0, 0, F32 | FPRIVATE, &past, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERRNO(f2wait(&words[0], 0, 1ul << 32, F32 | FPRIVATE, &past, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERRNO(f2wait(&words[0], 1ul << 32, 0xffffffff, F32 | FPRIVATE, &past, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERRNO(f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE | 0x100, &past, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERRNO(f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE, &past, CLOCK_BOOTTIME), EINVAL);
    EXPECT_ERRNO(f2wait(&words[0], 1, 0xffffffff, F32 | FPRIVATE, NULL, CLOCK_BOOTTIME), EAGAIN);
    EXPECT_ERRNO(f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE, &past, CLOCK_REALTIME), ETIMEDOUT);
    EXPECT_ERRNO(f2wait(NULL, 0, 0xffffffff, F32 | FPRIVATE, NULL, 0), EFAULT);
    struct timespec soon;
    clock_gettime(CLOCK_MONOTONIC, &soon);
    soon.tv_nsec += 20000000;
    if (soon.tv_nsec >= 1000000000L) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000L;
    }
    EXPECT_ERRNO(f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE, &soon, CLOCK_MONOTONIC), ETIMEDOUT);
    r = WITH_HELPER(8, f2wait(&words[0], 0, 1, F32 | FPRIVATE, NULL, 0));
    printf("futex_wake with mask 2 woke %ld, with mask 1 woke %ld; futex_wait returned %ld\n",
           helper_ret, helper_ret2, r);
    words[1] = -1;
    r = WITH_HELPER(10, f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE | FNUMA, NULL, 0));
    printf("NUMA futex_wake woke %ld; futex_wait returned %ld; node word %d\n", helper_ret, r,
           words[1]);
    words[1] = 0;

    /* futex_requeue. */
    struct waitv rq[2];
    entry(&rq[0], &words[0], F32 | FPRIVATE);
    entry(&rq[1], &words[2], F32 | FPRIVATE);
    printf("futex_requeue without waiters: %ld\n", f2requeue(rq, 0, 1, 1));
    EXPECT_ERRNO(f2requeue(rq, 1, 1, 1), EINVAL);
    EXPECT_ERRNO(f2requeue(NULL, 0, 1, 1), EINVAL);
    EXPECT_ERRNO(f2requeue((struct waitv *)8, 0, 1, 1), EFAULT);
    EXPECT_ERRNO(f2requeue(rq, 0, -1, 1), EINVAL);
    EXPECT_ERRNO(f2requeue(rq, 0, 1, -1), EINVAL);
    rq[0].val = 3;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EAGAIN);
    rq[0].val = 0;
    rq[1].val = 7; /* only the first value is compared */
    printf("futex_requeue, second value ignored: %ld\n", f2requeue(rq, 0, 1, 1));
    rq[1].val = 1ull << 33;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EINVAL);
    rq[1].val = 0;
    rq[1].reserved = 1;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EINVAL);
    rq[1].reserved = 0;
    rq[1].flags = F32;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EINVAL); /* the flags must match */
    rq[1].flags = F32 | FPRIVATE | FMPOL;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EINVAL);
    rq[1].flags = F32 | FPRIVATE;
    rq[1].uaddr = 1;
    EXPECT_ERRNO(f2requeue(rq, 0, 1, 1), EINVAL);
    rq[1].uaddr = (uintptr_t)&words[2];
    r = WITH_HELPER(9, f2wait(&words[0], 0, 0xffffffff, F32 | FPRIVATE, NULL, 0));
    printf("futex_requeue moved %ld, futex_wake there woke %ld; futex_wait returned %ld\n",
           helper_ret, helper_ret2, r);
    return finish();
}

/* futex_waitv (syscall 449): a thread waits on three 32-bit private futexes at
 * once; an ordinary FUTEX_WAKE on the second wakes it and futex_waitv returns
 * its index 1; a value mismatch on any entry is EAGAIN at once; an absolute
 * CLOCK_MONOTONIC (or CLOCK_REALTIME) deadline gives ETIMEDOUT, not early;
 * errors: no entries or more than 128, syscall flags, an entry without a size
 * flag, reserved bits, a misaligned address, a bad clock (EINVAL). If the
 * kernel lacks the call, the program says ENOSYS and stops. */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define F32 0x02
#define FPRIVATE 128

struct waitv {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
};

static int words[4] __attribute__((aligned(8)));
static volatile pid_t wtid;

static long waitv(struct waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clock) {
    return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}
static void fill(struct waitv *w, int n) {
    memset(w, 0, sizeof(*w) * (size_t)n);
    for (int i = 0; i < n; i++) {
        w[i].uaddr = (uintptr_t)&words[i % 3];
        w[i].val = 0;
        w[i].flags = F32 | FPRIVATE;
    }
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
    (void)a;
    struct waitv w[3];
    fill(w, 3);
    wtid = (pid_t)syscall(SYS_gettid);
    return (void *)waitv(w, 3, 0, NULL, 0);
}
static struct timespec at(clockid_t c, long long d) {
    struct timespec t;
    clock_gettime(c, &t);
    long long v = t.tv_sec * 1000000000LL + t.tv_nsec + d;
    t.tv_sec = v / 1000000000LL;
    t.tv_nsec = v % 1000000000LL;
    return t;
}
static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
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
    struct waitv w[130];
    fill(w, 3);
    words[2] = 1;
    errno = 0;
    long r = waitv(w, 3, 0, NULL, 0);
    if (r == -1 && errno == ENOSYS) {
        printf("futex_waitv: ENOSYS\n");
        return finish();
    }
    printf("value mismatch on the third entry: %ld %s\n", r, errname(errno));
    words[2] = 0;

    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
    for (int k = 0; k < 5000 && (wtid == 0 || task_state(wtid) != 'S'); k++)
        usleep(500);
    printf("FUTEX_WAKE on the second word woke %ld\n",
           syscall(SYS_futex, &words[1], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    void *res;
    pthread_join(t, &res);
    printf("futex_waitv returned index %ld\n", (long)res);

    struct timespec dl = at(CLOCK_MONOTONIC, 20000000);
    long long t0 = ns(CLOCK_MONOTONIC);
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_MONOTONIC), ETIMEDOUT);
    printf("monotonic deadline not early: %s\n", ns(CLOCK_MONOTONIC) - t0 >= 20000000 ? "yes" : "no");
    dl = at(CLOCK_REALTIME, 20000000);
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_REALTIME), ETIMEDOUT);

    dl = at(CLOCK_MONOTONIC, 20000000);
    EXPECT_ERRNO(waitv(w, 0, 0, &dl, CLOCK_MONOTONIC), EINVAL);
    fill(w, 129);
    EXPECT_ERRNO(waitv(w, 129, 0, &dl, CLOCK_MONOTONIC), EINVAL);
    fill(w, 3);
    EXPECT_ERRNO(waitv(w, 3, 1, &dl, CLOCK_MONOTONIC), EINVAL);
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_BOOTTIME), EINVAL);
    w[1].flags = FPRIVATE;
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_MONOTONIC), EINVAL);
    fill(w, 3);
    w[0].reserved = 1;
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_MONOTONIC), EINVAL);
    fill(w, 3);
    w[2].uaddr = (uintptr_t)&words[0] + 1;
    EXPECT_ERRNO(waitv(w, 3, 0, &dl, CLOCK_MONOTONIC), EINVAL);
    return finish();
}

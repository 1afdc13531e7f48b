/* futex on one thread: value mismatch is EAGAIN, waking nobody returns 0, a
 * timed wait times out no earlier than asked, and bad arguments fail. */
#include "common.h"
#include <linux/futex.h>
#include <time.h>

static long futex(void *uaddr, int op, int val, const struct timespec *ts, void *uaddr2, int val3) {
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static long long mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *volatile bad_ptr = (void *)16;

int main(void) {
    static int word[2] = {1, 0};
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0), EAGAIN);
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT, 2, NULL, NULL, 0), EAGAIN);
    CHECK(futex(&word[0], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    CHECK(futex(&word[0], FUTEX_WAKE, 100, NULL, NULL, 0) == 0);

    struct timespec ts = {0, 10 * 1000 * 1000};
    long long t0 = mono_ns();
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0), ETIMEDOUT);
    printf("timed wait lasted >= 10 ms: %s\n", mono_ns() - t0 >= 10000000 ? "yes" : "no");

    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    struct timespec past;
    clock_gettime(CLOCK_MONOTONIC, &past);
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT_BITSET_PRIVATE, 1, &past, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT_BITSET_PRIVATE, 1, &past, NULL, 0), EINVAL);

    EXPECT_ERRNO(futex((char *)&word[0] + 1, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0), EINVAL);
    EXPECT_ERRNO(futex(bad_ptr, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0), EFAULT);
    struct timespec badts = {0, 1000000000L};
    EXPECT_ERRNO(futex(&word[0], FUTEX_WAIT_PRIVATE, 1, &badts, NULL, 0), EINVAL);
    EXPECT_ERRNO(futex(&word[0], 99, 1, NULL, NULL, 0), ENOSYS);
    return finish();
}

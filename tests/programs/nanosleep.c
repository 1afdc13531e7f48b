/* Sleeping: nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) wait
 * at least as long as asked; invalid times are EINVAL. */
#include "common.h"
#include <time.h>

static long long mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    long long t0 = mono_ns();
    struct timespec req = {0, 10 * 1000 * 1000}, rem = {7, 7};
    CHECK(nanosleep(&req, &rem) == 0);
    long long el = mono_ns() - t0;
    printf("nanosleep 10 ms: elapsed >= 10 ms: %s\n", el >= 10000000 ? "yes" : "no");

    t0 = mono_ns();
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
    printf("clock_nanosleep relative 10 ms: elapsed >= 10 ms: %s\n", mono_ns() - t0 >= 10000000 ? "yes" : "no");

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 20 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == 0);
    long long d = deadline.tv_sec * 1000000000LL + deadline.tv_nsec;
    printf("clock_nanosleep absolute: woke after deadline: %s\n", mono_ns() >= d ? "yes" : "no");

    struct timespec zero = {0, 0};
    CHECK(nanosleep(&zero, NULL) == 0);
    struct timespec bad = {0, 1000000000L};
    EXPECT_ERRNO(nanosleep(&bad, NULL), EINVAL);
    struct timespec neg = {-1, 0};
    EXPECT_ERRNO(nanosleep(&neg, NULL), EINVAL);
    /* clock_nanosleep returns the error number instead of setting errno. */
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL) == EINVAL);
    CHECK(clock_nanosleep(12345, 0, &req, NULL) == EINVAL);
    CHECK(usleep(1000) == 0);
    return finish();
}

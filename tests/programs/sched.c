/* Scheduler queries: affinity, yield, policy and priority. */
#include "common.h"
#include <sched.h>

static void *volatile bad_ptr = (void *)16;

int main(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
    printf("sched_getaffinity returned a positive multiple of 8: %s\n", r > 0 && r % 8 == 0 ? "yes" : "no");
    printf("at least one CPU allowed: %s\n", CPU_COUNT(&set) >= 1 ? "yes" : "no");
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    CHECK(sched_getaffinity(getpid(), sizeof set, &set) == 0);
    EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, 1, &set), EINVAL);
    EXPECT_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof set, bad_ptr), EFAULT);
    CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
    for (int i = 0; i < 100; i++)
        if (sched_yield() != 0)
            failures++;
    CHECK(sched_yield() == 0);
    CHECK(sched_getscheduler(0) == SCHED_OTHER);
    struct sched_param sp = {99};
    CHECK(sched_getparam(0, &sp) == 0 && sp.sched_priority == 0);
    CHECK(sched_get_priority_max(SCHED_OTHER) == 0);
    CHECK(sched_get_priority_max(SCHED_FIFO) == 99);
    return finish();
}

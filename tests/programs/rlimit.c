/* Resource limits: getrlimit and prlimit agree; lowering a soft limit reads
 * back; raising it above the hard limit and unknown resources are EINVAL. */
#include "common.h"
#include <sys/resource.h>

static void show(const char *name, int res) {
    struct rlimit rl;
    if (getrlimit(res, &rl) != 0) {
        printf("%s: error %s\n", name, errname(errno));
        failures++;
        return;
    }
    char cur[32], max[32];
    if (rl.rlim_cur == RLIM_INFINITY)
        strcpy(cur, "unlimited");
    else
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)rl.rlim_cur);
    if (rl.rlim_max == RLIM_INFINITY)
        strcpy(max, "unlimited");
    else
        snprintf(max, sizeof max, "%llu", (unsigned long long)rl.rlim_max);
    printf("%s soft %s hard %s\n", name, cur, max);
    struct rlimit pl;
    CHECK(prlimit(0, res, NULL, &pl) == 0 && pl.rlim_cur == rl.rlim_cur && pl.rlim_max == rl.rlim_max);
}

int main(void) {
    show("RLIMIT_STACK", RLIMIT_STACK);
    show("RLIMIT_NOFILE", RLIMIT_NOFILE);
    show("RLIMIT_AS", RLIMIT_AS);
    show("RLIMIT_DATA", RLIMIT_DATA);
    show("RLIMIT_FSIZE", RLIMIT_FSIZE);
    show("RLIMIT_CORE", RLIMIT_CORE);
    show("RLIMIT_CPU", RLIMIT_CPU);

    struct rlimit rl, old;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct rlimit lower = {64, rl.rlim_max};
    CHECK(prlimit(0, RLIMIT_NOFILE, &lower, &old) == 0 && old.rlim_cur == rl.rlim_cur);
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur == 64);
    if (rl.rlim_max != RLIM_INFINITY) {
        struct rlimit above = {rl.rlim_max + 1, rl.rlim_max};
        EXPECT_ERRNO(setrlimit(RLIMIT_NOFILE, &above), EINVAL);
    }
    struct rlimit inverted = {10, 5};
    EXPECT_ERRNO(setrlimit(RLIMIT_CORE, &inverted), EINVAL);
    EXPECT_ERRNO(getrlimit(1000, &old), EINVAL);
    EXPECT_ERRNO(prlimit(0, 1000, NULL, &old), EINVAL);
    return finish();
}

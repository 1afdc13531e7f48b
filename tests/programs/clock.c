/* Clocks: CLOCK_MONOTONIC never goes backwards over 10000 reads; the
 * realtime sources agree with each other; resolutions; CPU-time clocks. */
#include "common.h"
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(void) {
    struct timespec prev, now;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &prev) == 0);
    int backwards = 0, bad_nsec = 0;
    for (int i = 0; i < 10000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns(&now) < ns(&prev))
            backwards++;
        if (now.tv_nsec < 0 || now.tv_nsec >= 1000000000L)
            bad_nsec++;
        prev = now;
    }
    printf("monotonic: 10000 reads, %d went backwards, %d bad tv_nsec\n", backwards, bad_nsec);
    if (backwards || bad_nsec)
        failures++;

    clockid_t mono_like[] = {CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME};
    for (int k = 0; k < 3; k++) {
        struct timespec a, b;
        CHECK(clock_gettime(mono_like[k], &a) == 0);
        CHECK(clock_gettime(mono_like[k], &b) == 0 && ns(&b) >= ns(&a));
    }

    struct timespec rt;
    struct timeval tv;
    CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0);
    CHECK(gettimeofday(&tv, NULL) == 0);
    time_t t = time(NULL);
    CHECK(t > 1600000000);
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    long long diff = (tv.tv_sec * 1000000LL + tv.tv_usec) - ns(&rt) / 1000;
    printf("gettimeofday within 1 s of CLOCK_REALTIME: %s\n", diff >= 0 && diff < 1000000 ? "yes" : "no");
    printf("time() within 1 s of gettimeofday: %s\n", t - tv.tv_sec >= 0 && t - tv.tv_sec <= 1 ? "yes" : "no");
    time_t t2;
    CHECK(time(&t2) >= t && t2 >= t);

    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    printf("CLOCK_MONOTONIC resolution %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    CHECK(clock_getres(CLOCK_REALTIME, &res) == 0);
    printf("CLOCK_REALTIME resolution %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
    CHECK(clock_getres(CLOCK_MONOTONIC, NULL) == 0);

    struct timespec c1, c2;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1) == 0);
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 20000000; i++)
        spin += i;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2) == 0);
    printf("process CPU time advanced while spinning: %s\n", ns(&c2) > ns(&c1) ? "yes" : "no");
    CHECK(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1) == 0 && ns(&c1) > 0);
    return finish();
}

/* timerfd: reading a disarmed non-blocking timerfd is EAGAIN and gettime shows
 * zeros; a 20 ms one-shot read in blocking mode returns 1 expiration no
 * earlier than 20 ms and then reads as disarmed; an absolute expiry 10.5 s in
 * the past with a 1 s interval counts 11 expirations at once (MONOTONIC and
 * REALTIME); gettime of a periodic timer shows the interval; settime returns
 * the old value; poll and epoll see POLLIN once expired; disarming clears it;
 * TFD_TIMER_CANCEL_ON_SET is accepted (with CLOCK_REALTIME it matters; on a
 * MONOTONIC timer it is ignored); errors: short buffers, bad clocks, flags,
 * nanoseconds, a non-timerfd (EINVAL). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET (1 << 1)
#endif

static long long ns_of(struct timespec t) {
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long long mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return ns_of(t);
}
static struct timespec shifted(clockid_t c, long long d) {
    struct timespec t;
    clock_gettime(c, &t);
    long long v = ns_of(t) + d;
    t.tv_sec = v / 1000000000LL;
    t.tv_nsec = v % 1000000000LL;
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
    uint64_t n = 0;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(fd >= 0);
    EXPECT_ERRNO(read(fd, &n, 8), EAGAIN);
    struct itimerspec cur;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("disarmed gettime all zero: %s\n",
           ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0 ? "yes" : "no");

    int bfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec one = {{0, 0}, {0, 20 * 1000 * 1000}};
    long long t0 = mono_ns();
    CHECK(timerfd_settime(bfd, 0, &one, NULL) == 0);
    CHECK(read(bfd, &n, 8) == 8);
    printf("one-shot 20 ms: %llu expiration, not early: %s\n", (unsigned long long)n,
           mono_ns() - t0 >= 20000000 ? "yes" : "no");
    CHECK(timerfd_gettime(bfd, &cur) == 0);
    printf("after expiry: value zero: %s\n", ns_of(cur.it_value) == 0 ? "yes" : "no");

    struct itimerspec past = {{1, 0}, shifted(CLOCK_MONOTONIC, -10500000000LL)};
    CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &past, NULL) == 0);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 1);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    printf("epoll sees it: %d\n", epoll_wait(ep, &ev, 1, 0));
    CHECK(read(fd, &n, 8) == 8);
    printf("absolute MONOTONIC 10.5 s ago, 1 s interval: %llu expirations\n", (unsigned long long)n);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("still periodic: interval 1 s: %s, next in (0, 1 s]: %s\n", ns_of(cur.it_interval) == 1000000000LL ? "yes" : "no",
           ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 1000000000LL ? "yes" : "no");
    EXPECT_ERRNO(read(fd, &n, 8), EAGAIN);

    struct itimerspec per = {{0, 10 * 1000 * 1000}, {5, 0}}, old;
    CHECK(timerfd_settime(fd, 0, &per, &old) == 0);
    printf("old value: interval 1 s: %s\n", ns_of(old.it_interval) == 1000000000LL ? "yes" : "no");
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("new: value in (4 s, 5 s]: %s, interval 10 ms: %s\n",
           ns_of(cur.it_value) > 4000000000LL && ns_of(cur.it_value) <= 5000000000LL ? "yes" : "no",
           ns_of(cur.it_interval) == 10000000 ? "yes" : "no");
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK(timerfd_settime(fd, 0, &off, NULL) == 0);
    pf.revents = 0;
    printf("disarmed: poll %d\n", poll(&pf, 1, 0));

    int rfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    struct itimerspec rpast = {{1, 0}, shifted(CLOCK_REALTIME, -10500000000LL)};
    CHECK(timerfd_settime(rfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &rpast, NULL) == 0);
    CHECK(read(rfd, &n, 8) == 8);
    printf("absolute REALTIME 10.5 s ago, 1 s interval: %llu expirations\n", (unsigned long long)n);
    int cr = timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &off, NULL);
    printf("TFD_TIMER_CANCEL_ON_SET on a MONOTONIC timer: %s\n", cr == 0 ? "accepted" : errname(errno));
    uint32_t small;
    EXPECT_ERRNO(read(rfd, &small, 4), EINVAL);
    int boot = timerfd_create(CLOCK_BOOTTIME, 0);
    printf("CLOCK_BOOTTIME timerfd: %s\n", boot >= 0 ? "ok" : errname(errno));
    EXPECT_ERRNO(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERRNO(timerfd_create(99, 0), EINVAL);
    EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x4), EINVAL);
    EXPECT_ERRNO(timerfd_settime(fd, 0x100, &one, NULL), EINVAL);
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    EXPECT_ERRNO(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    int p[2];
    CHECK(pipe(p) == 0);
    EXPECT_ERRNO(timerfd_gettime(p[0], &cur), EINVAL);
    return finish();
}

/* epoll on pipes: level-triggered events repeat while data remains;
 * edge-triggered events come once per new write; EPOLLONESHOT disarms after
 * one event until EPOLL_CTL_MOD; EPOLLEXCLUSIVE is accepted by ADD but not MOD
 * or with ONESHOT; EPOLLHUP/EPOLLERR for closed peers; data.u64 comes back
 * unchanged; closing the only descriptor drops it from the set; an epoll fd
 * nested in another reports readiness; a thread's write wakes epoll_wait;
 * epoll_pwait2 takes a timespec timeout; and the epoll_ctl/epoll_wait errors
 * (EEXIST, ENOENT, EPERM for a regular file, EINVAL for itself or a non-epoll
 * fd or maxevents 0, EBADF). */
#include "common.h"
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static const char *ev_str(uint32_t e) {
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%s%s%s", e & EPOLLIN ? " IN" : "", e & EPOLLOUT ? " OUT" : "", e & EPOLLHUP ? " HUP" : "",
             e & EPOLLERR ? " ERR" : "");
    return buf;
}
static int wait0(int ep, struct epoll_event *ev) {
    return epoll_wait(ep, ev, 8, 0);
}
static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}
static int wp[2];
static void *late_writer(void *a) {
    (void)a;
    usleep(10000);
    return (void *)(long)write(wp[1], "t", 1);
}
static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
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
    struct epoll_event ev[8];
    int p[2];
    char buf[64];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    CHECK(add(ep, p[0], EPOLLIN, 0x1122334455667788ULL) == 0);
    printf("LT, empty: %d events\n", wait0(ep, ev));
    CHECK(write(p[1], "abcdef", 6) == 6);
    int n = wait0(ep, ev);
    printf("LT, data: %d event(s)%s, data.u64 intact: %s\n", n, ev_str(ev[0].events),
           ev[0].data.u64 == 0x1122334455667788ULL ? "yes" : "no");
    printf("LT, again without reading: %d event(s)\n", wait0(ep, ev));
    CHECK(read(p[0], buf, 3) == 3);
    printf("LT, partly read: %d event(s)\n", wait0(ep, ev));
    CHECK(read(p[0], buf, 3) == 3);
    printf("LT, drained: %d events\n", wait0(ep, ev));

    struct epoll_event mod = {.events = EPOLLIN | EPOLLET, .data.u32 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &mod) == 0);
    CHECK(write(p[1], "xyz", 3) == 3);
    printf("ET, after a write: %d event(s)\n", wait0(ep, ev));
    printf("ET, again: %d events\n", wait0(ep, ev));
    CHECK(read(p[0], buf, 1) == 1);
    printf("ET, after a partial read: %d events\n", wait0(ep, ev));
    CHECK(write(p[1], "w", 1) == 1);
    printf("ET, after another write: %d event(s)\n", wait0(ep, ev));
    CHECK(read(p[0], buf, sizeof buf) == 3);

    mod.events = EPOLLIN | EPOLLONESHOT;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &mod) == 0);
    CHECK(write(p[1], "o", 1) == 1);
    int first = wait0(ep, ev);
    int second = wait0(ep, ev);
    int rearm = epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &mod);
    int third = wait0(ep, ev);
    printf("ONESHOT: first wait %d event(s), second %d, MOD returned %d, then %d\n", first, second, rearm, third);
    CHECK(read(p[0], buf, sizeof buf) == 1);

    /* Errors. */
    struct epoll_event e = {.events = EPOLLIN};
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e), EEXIST);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e), ENOENT);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &e), ENOENT);
    int f = open("regular", O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, f, &e), EPERM);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e), EINVAL);
    EXPECT_ERRNO(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e), EINVAL);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e), EBADF);
    EXPECT_ERRNO(epoll_ctl(ep, 99, p[0], &e), EINVAL);
    EXPECT_ERRNO(epoll_wait(ep, ev, 0, 0), EINVAL);
    EXPECT_ERRNO(epoll_wait(p[0], ev, 1, 0), EINVAL);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    int q[2];
    CHECK(pipe(q) == 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &e) == 0);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &e), EINVAL);
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &e), EINVAL);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL) == 0);

    /* Closed peers. */
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
    CHECK(add(ep, p[0], EPOLLIN, 1) == 0);
    CHECK(add(ep, q[1], EPOLLOUT, 2) == 0);
    CHECK(write(p[1], "h", 1) == 1);
    close(p[1]);
    close(q[0]);
    n = wait0(ep, ev);
    uint32_t e1 = 0, e2 = 0;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == 1)
            e1 = ev[i].events;
        if (ev[i].data.u64 == 2)
            e2 = ev[i].events;
    }
    printf("writer closed with data left:%s\n", ev_str(e1));
    printf("reader closed, write end:%s\n", ev_str(e2));
    /* Closing the only descriptor removes it. */
    close(p[0]);
    close(q[1]);
    printf("after closing both: %d events\n", wait0(ep, ev));

    /* Nested epoll and a wake-up by another thread. */
    int outer = epoll_create1(0);
    CHECK(pipe(wp) == 0);
    CHECK(add(ep, wp[0], EPOLLIN, 3) == 0);
    CHECK(add(outer, ep, EPOLLIN, 4) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_writer, NULL) == 0);
    n = epoll_wait(outer, ev, 8, 5000);
    printf("outer epoll woken by a thread's write: %d event(s), data %llu%s\n", n, (unsigned long long)ev[0].data.u64,
           ev_str(ev[0].events));
    pthread_join(t, NULL);
    n = wait0(ep, ev);
    printf("inner epoll then: %d event(s), data %llu\n", n, (unsigned long long)ev[0].data.u64);
    CHECK(read(wp[0], buf, 1) == 1);

    struct timespec ts = {0, 20 * 1000 * 1000};
    long long t0 = mono_ms();
    errno = 0;
    long r = syscall(SYS_epoll_pwait2, ep, ev, 8, &ts, NULL, 8);
    if (r == -1 && errno == ENOSYS)
        printf("epoll_pwait2: ENOSYS\n");
    else
        printf("epoll_pwait2 20 ms: %ld events, waited >= 20 ms: %s\n", r, mono_ms() - t0 >= 20 ? "yes" : "no");
    CHECK(write(wp[1], "q", 1) == 1);
    r = syscall(SYS_epoll_pwait2, ep, ev, 8, NULL, NULL, 8);
    printf("epoll_pwait2 without timeout, data ready: %ld event(s)\n", r);
    return finish();
}

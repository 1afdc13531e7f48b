/* epoll_pwait(2) and epoll_pwait2(2): the temporary mask lets a pending signal end a
 * wait with EINTR (the handler runs, the mask comes back), but a zero timeout returns 0
 * and leaves the signal pending; epoll_wait is never restarted after a handler, even
 * with SA_RESTART; epoll_pwait2's timespec timeout (50 ms, NULL, invalid); sigset size
 * errors; and stdin (a host pipe under runsc) in an epoll set until EPOLLHUP. */
#include "common.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t hits;
static void on_sig(int s) { (void)s; hits++; }

static int blocked(int sig) {
    sigset_t s;
    sigprocmask(SIG_BLOCK, NULL, &s);
    return sigismember(&s, sig);
}

static int pending(int sig) {
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, sig);
}

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static pid_t sender(int sig) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(40000);
        kill(parent, sig);
        _exit(0);
    }
    return c;
}

int main(void) {
    struct sigaction sa = {.sa_handler = on_sig, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t usr1, empty;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int p[2];
    CHECK(pipe(p) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1}, out[4];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);

    /* Zero timeout: no EINTR; the signal stays pending. */
    raise(SIGUSR1);
    CHECK(epoll_pwait(ep, out, 4, 0, &empty) == 0);
    CHECK(hits == 0 && pending(SIGUSR1) && blocked(SIGUSR1));
    /* With a timeout: EINTR, handler ran, mask back. */
    EXPECT_ERRNO(epoll_pwait(ep, out, 4, 1000, &empty), EINTR);
    CHECK(hits == 1 && !pending(SIGUSR1) && blocked(SIGUSR1));
    /* Ready events win over a pending signal. */
    CHECK(write(p[1], "x", 1) == 1);
    raise(SIGUSR1);
    CHECK(epoll_pwait(ep, out, 4, 1000, &empty) == 1);
    CHECK(hits == 1 && pending(SIGUSR1));
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    CHECK(hits == 2);
    sigprocmask(SIG_BLOCK, &usr1, NULL);

    /* A signal from a child: EINTR even with SA_RESTART. */
    pid_t k = sender(SIGUSR2);
    EXPECT_ERRNO(epoll_wait(ep, out, 4, 5000), EINTR);
    CHECK(hits == 3);
    int st;
    waitpid(k, &st, 0);
    k = sender(SIGUSR1);
    EXPECT_ERRNO(epoll_pwait2(ep, out, 4, NULL, &empty), EINTR);
    CHECK(hits == 4 && blocked(SIGUSR1));
    waitpid(k, &st, 0);

    /* epoll_pwait2 timeouts. */
    struct timespec ts = {0, 50000000}, t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(epoll_pwait2(ep, out, 4, &ts, NULL) == 0);
    long el = ms_since(&t0);
    CHECK(el >= 50 && el < 2000);
    ts.tv_nsec = 0;
    CHECK(epoll_pwait2(ep, out, 4, &ts, NULL) == 0);
    ts.tv_nsec = 1000000000;
    EXPECT_ERRNO(epoll_pwait2(ep, out, 4, &ts, NULL), EINVAL);
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    EXPECT_ERRNO(epoll_pwait2(ep, out, 4, &ts, NULL), EINVAL);
    EXPECT_ERRNO(syscall(SYS_epoll_pwait2, ep, out, 4, (void *)8, NULL, 8), EFAULT);
    EXPECT_ERRNO(syscall(SYS_epoll_pwait, ep, out, 4, 0, &empty, 4), EINVAL);
    EXPECT_ERRNO(syscall(SYS_epoll_pwait2, ep, out, 4, NULL, &empty, 16), EINVAL);
    CHECK(syscall(SYS_epoll_pwait, ep, out, 4, 0, NULL, 3) == 0);
    fflush(stdout);
    k = fork();
    if (k == 0) {
        usleep(30000);
        write(p[1], "y", 1);
        _exit(0);
    }
    CHECK(epoll_pwait2(ep, out, 4, NULL, NULL) == 1 && out[0].data.u64 == 1);
    waitpid(k, &st, 0);

    /* stdin in an epoll set: readable, then (after reading all) hung up. */
    int sep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.u64 = 100;
    CHECK(epoll_ctl(sep, EPOLL_CTL_ADD, 0, &ev) == 0);
    CHECK(epoll_wait(sep, out, 4, -1) == 1 && (out[0].events & EPOLLIN) && out[0].data.u64 == 100);
    char buf[64];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(0, buf + got, sizeof buf - got);
        if (r <= 0)
            break;
        got += r;
    }
    CHECK(got == 18);
    CHECK(epoll_wait(sep, out, 4, -1) == 1 && out[0].events == EPOLLHUP);
    return finish();
}

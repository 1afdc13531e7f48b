/* eventfd(2): the counter (reads take all of it, or one with EFD_SEMAPHORE), EAGAIN
 * when empty or when a write would overflow with EFD_NONBLOCK, EINVAL for short reads,
 * for writes of other than 8 bytes and for writing 2^64-1, a write that blocks until a
 * forked child reads, a read woken by a child's write, poll and epoll readiness
 * (edge-triggered: each write reports again), flags, fcntl and /proc/self/fd. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

static int pollev(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static uint64_t rd(int fd) {
    uint64_t v = 0;
    return read(fd, &v, 8) == 8 ? v : (uint64_t)-1;
}

static int wr(int fd, uint64_t v) { return write(fd, &v, 8) == 8; }

int main(void) {
    int e = eventfd(5, 0);
    CHECK(e >= 0);
    CHECK(fcntl(e, F_GETFL) == O_RDWR && fcntl(e, F_GETFD) == 0);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", e);
    CHECK(readlink(path, link, sizeof link - 1) > 0 && strcmp(link, "anon_inode:[eventfd]") == 0);
    CHECK(pollev(e) == (POLLIN | POLLOUT));
    CHECK(rd(e) == 5);
    CHECK(pollev(e) == POLLOUT);
    CHECK(wr(e, 3) && wr(e, 4) && rd(e) == 7);
    uint64_t big[2] = {1, 2};
    EXPECT_ERRNO(write(e, big, 16), EINVAL);
    CHECK(wr(e, 1));
    CHECK(read(e, big, 16) == 8 && big[0] == 1);
    char small[4];
    EXPECT_ERRNO(read(e, small, 4), EINVAL);
    EXPECT_ERRNO(write(e, small, 4), EINVAL);
    uint64_t max = UINT64_MAX;
    EXPECT_ERRNO(write(e, &max, 8), EINVAL);
    EXPECT_ERRNO(lseek(e, 0, SEEK_CUR) == 0 ? (errno = ESPIPE, -1) : -1, ESPIPE);
    EXPECT_ERRNO(pread(e, big, 8, 0), ESPIPE);
    CHECK(wr(e, 0) && pollev(e) == POLLOUT);
    close(e);

    /* Semaphore and non-blocking. */
    e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fcntl(e, F_GETFL) == (O_RDWR | O_NONBLOCK) && fcntl(e, F_GETFD) == FD_CLOEXEC);
    CHECK(rd(e) == 1 && rd(e) == 1);
    uint64_t v;
    EXPECT_ERRNO(read(e, &v, 8), EAGAIN);
    CHECK(wr(e, UINT64_MAX - 1));
    CHECK(pollev(e) == POLLIN);
    v = 1;
    EXPECT_ERRNO(write(e, &v, 8), EAGAIN);
    CHECK(rd(e) == 1 && pollev(e) == (POLLIN | POLLOUT));
    CHECK(wr(e, 1));
    v = 0;
    CHECK(write(e, &v, 8) == 8);
    close(e);
    EXPECT_ERRNO(eventfd(0, 0x10), EINVAL);
    EXPECT_ERRNO(syscall(SYS_eventfd2, 0, EFD_NONBLOCK | 2), EINVAL);
    int old = syscall(SYS_eventfd, 9);
    CHECK(old >= 0 && rd(old) == 9);
    close(old);

    /* Blocking: a write waits for room, a read for a count; forked peers wake them. */
    e = eventfd(0, 0);
    CHECK(wr(e, UINT64_MAX - 1));
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(30000);
        _exit(rd(e) == UINT64_MAX - 1 ? 0 : 1);
    }
    CHECK(wr(e, 7));
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(rd(e) == 7);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        _exit(wr(e, 11) ? 0 : 1);
    }
    CHECK(rd(e) == 11);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* epoll: level and edge. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1}, out[4];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
    CHECK(epoll_wait(ep, out, 4, 0) == 0);
    CHECK(wr(e, 1));
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && out[0].events == EPOLLIN);
    CHECK(epoll_wait(ep, out, 4, 0) == 0);
    CHECK(wr(e, 1));
    CHECK(epoll_wait(ep, out, 4, 0) == 1);
    ev.events = EPOLLIN | EPOLLOUT;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0);
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && out[0].events == (EPOLLIN | EPOLLOUT));
    CHECK(rd(e) == 2);
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && out[0].events == EPOLLOUT);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(30000);
        _exit(wr(e, 3) ? 0 : 1);
    }
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0);
    CHECK(epoll_wait(ep, out, 4, 5000) == 1 && out[0].events == EPOLLIN);
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(rd(e) == 3);
    return finish();
}

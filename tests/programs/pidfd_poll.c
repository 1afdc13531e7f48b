/* Readiness of pidfds: a pidfd of a running child polls 0; once the child exits it is
 * readable (poll, select, epoll, also woken from a blocking wait), stays so while a
 * zombie, and after the child is reaped; pidfds of several children in one epoll set
 * report as each exits. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }

static int pollfd1(int fd, int timeout) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLPRI};
    int r = poll(&p, 1, timeout);
    return r < 0 ? -1 : p.revents;
}

int main(void) {
    int go[2];
    CHECK(pipe(go) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        _exit(3);
    }
    int pfd = pidfd_open(c, 0);
    CHECK(pfd >= 0);
    CHECK(pollfd1(pfd, 0) == 0);
    CHECK(pollfd1(pfd, 30) == 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 9}, out[4];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev) == 0);
    CHECK(epoll_wait(ep, out, 4, 0) == 0);
    CHECK(write(go[1], "g", 1) == 1);
    /* Woken by the exit. */
    CHECK(pollfd1(pfd, -1) == POLLIN);
    CHECK(epoll_wait(ep, out, 4, -1) == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 9);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(pfd, &r);
    struct timeval tv = {0, 0};
    CHECK(select(pfd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(pfd, &r));
    siginfo_t si;
    CHECK(waitid(P_PIDFD, pfd, &si, WEXITED) == 0 && si.si_pid == c && si.si_status == 3);
    int rev = pollfd1(pfd, 0);
    printf("after reap: %#x\n", rev);
    CHECK((rev & POLLIN) != 0);
    close(pfd);

    /* Several children, one epoll set: each reports as it exits. */
    int ep2 = epoll_create1(0);
    int fds[3];
    pid_t kids[3];
    int gates[3][2];
    for (int i = 0; i < 3; i++) {
        CHECK(pipe(gates[i]) == 0);
        fflush(stdout);
        kids[i] = fork();
        if (kids[i] == 0) {
            char b;
            read(gates[i][0], &b, 1);
            _exit(10 + i);
        }
        close(gates[i][0]);
        fds[i] = pidfd_open(kids[i], 0);
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = i};
        CHECK(epoll_ctl(ep2, EPOLL_CTL_ADD, fds[i], &e) == 0);
    }
    int order[3] = {1, 2, 0};
    for (int i = 0; i < 3; i++) {
        int k = order[i];
        CHECK(write(gates[k][1], "x", 1) == 1);
        int n = epoll_wait(ep2, out, 4, -1);
        CHECK(n == 1 && out[0].data.u64 == (uint64_t)k);
        int st;
        CHECK(waitpid(kids[k], &st, 0) == kids[k] && WEXITSTATUS(st) == 10 + k);
        struct epoll_event e = {0};
        CHECK(epoll_ctl(ep2, EPOLL_CTL_DEL, fds[k], &e) == 0);
    }
    CHECK(epoll_wait(ep2, out, 4, 0) == 0);
    return finish();
}

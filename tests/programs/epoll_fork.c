/* Readiness across fork: a producer child writes messages with pauses while the parent
 * consumes them with an edge-triggered epoll set and non-blocking reads until EAGAIN,
 * until EPOLLHUP; an eventfd counts the messages; a ping-pong of 20 rounds through two
 * pipes with an epoll set on each side; an epoll instance inherited by a child is the
 * same instance (the child's EPOLL_CTL_ADD shows in the parent). */
#include "common.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

int main(void) {
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    int efd = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 1};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    ev.events = EPOLLIN;
    ev.data.u64 = 2;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        for (int i = 0; i < 10; i++) {
            char msg[32];
            int n = snprintf(msg, sizeof msg, "message %d;", i);
            if (write(p[1], msg, n) != n)
                _exit(1);
            uint64_t one = 1;
            if (write(efd, &one, 8) != 8)
                _exit(2);
            usleep(5000);
        }
        _exit(0);
    }
    close(p[1]);
    char all[512];
    size_t got = 0;
    uint64_t counted = 0;
    int hup = 0;
    while (!hup) {
        struct epoll_event out[4];
        int n = epoll_wait(ep, out, 4, 10000);
        if (n <= 0) {
            printf("epoll_wait: %d\n", n);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (out[i].data.u64 == 2) {
                uint64_t v;
                if (read(efd, &v, 8) == 8)
                    counted += v;
                continue;
            }
            for (;;) {
                ssize_t r = read(p[0], all + got, sizeof all - got);
                if (r > 0) {
                    got += r;
                    continue;
                }
                if (r == 0)
                    hup = 1;
                break;
            }
            if (out[i].events & EPOLLHUP)
                hup = 1;
        }
    }
    uint64_t v;
    if (read(efd, &v, 8) == 8)
        counted += v;
    all[got] = 0;
    printf("got %zu bytes: %s\n", got, all);
    CHECK(counted == 10);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(p[0]);

    /* Ping-pong. */
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int cep = epoll_create1(0);
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0};
        epoll_ctl(cep, EPOLL_CTL_ADD, to_child[0], &e);
        for (int i = 0; i < 20; i++) {
            struct epoll_event o;
            if (epoll_wait(cep, &o, 1, 10000) != 1)
                _exit(1);
            int x;
            if (read(to_child[0], &x, sizeof x) != sizeof x || x != i)
                _exit(2);
            x = i * 2;
            write(to_parent[1], &x, sizeof x);
        }
        _exit(0);
    }
    int pep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0};
    CHECK(epoll_ctl(pep, EPOLL_CTL_ADD, to_parent[0], &e) == 0);
    int ok = 1;
    for (int i = 0; i < 20; i++) {
        CHECK(write(to_child[1], &i, sizeof i) == sizeof i);
        struct epoll_event o;
        int x = -1;
        if (epoll_wait(pep, &o, 1, 10000) != 1 || read(to_parent[0], &x, sizeof x) != sizeof x ||
            x != i * 2)
            ok = 0;
    }
    CHECK(ok);
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* The inherited instance is shared. */
    int q[2];
    CHECK(pipe(q) == 0);
    CHECK(write(q[1], "q", 1) == 1);
    int shared = epoll_create1(0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct epoll_event se = {.events = EPOLLIN, .data.u64 = 77};
        _exit(epoll_ctl(shared, EPOLL_CTL_ADD, q[0], &se) == 0 ? 0 : 1);
    }
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 0);
    struct epoll_event so;
    CHECK(epoll_wait(shared, &so, 1, 0) == 1 && so.data.u64 == 77);
    return finish();
}

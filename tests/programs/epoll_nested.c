/* Nested epoll instances and interest lifetimes: an epoll fd is readable (poll, select,
 * another epoll) while it has events; edge-triggered outer interests report again on
 * each new inner event; loops and chains longer than EPOLL_MAX_NESTS are ELOOP; an
 * interest stays while a duplicate of its file is open (still reporting its data), and
 * goes with the file's last close; interests are keyed by fd number and file; ready
 * interests come back in the order they became ready. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

static struct epoll_event evs[8];

static int waitp(int ep, int max, const char *what) {
    int n = epoll_wait(ep, evs, max, 0);
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" [%#x %llu]", evs[i].events, (unsigned long long)evs[i].data.u64);
    printf("\n");
    return n;
}

static int add(int ep, int fd, unsigned ev, unsigned long long data) {
    struct epoll_event e = {.events = ev, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

int main(void) {
    char buf[16];
    int p[2];
    CHECK(pipe(p) == 0);
    int inner = epoll_create1(0), outer = epoll_create1(0);
    CHECK(add(inner, p[0], EPOLLIN, 1) == 0);
    CHECK(add(outer, inner, EPOLLIN, 2) == 0);
    CHECK(readable(inner) == 0 && readable(outer) == 0);
    CHECK(waitp(outer, 8, "outer empty") == 0);
    CHECK(write(p[1], "a", 1) == 1);
    CHECK(readable(inner) == POLLIN && readable(outer) == POLLIN);
    CHECK(waitp(outer, 8, "outer") == 1);
    CHECK(waitp(inner, 8, "inner") == 1);
    CHECK(waitp(outer, 8, "outer lt") == 1);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(outer, &r);
    struct timeval tv = {0, 0};
    CHECK(select(outer + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(outer, &r));
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(waitp(outer, 8, "outer drained") == 0);
    CHECK(readable(outer) == 0);

    /* Edge-triggered outer interest: once per new inner event. */
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.u64 = 3};
    CHECK(epoll_ctl(outer, EPOLL_CTL_MOD, inner, &e) == 0);
    CHECK(write(p[1], "b", 1) == 1);
    CHECK(waitp(outer, 8, "outer et") == 1);
    CHECK(waitp(outer, 8, "outer et again") == 0);
    CHECK(write(p[1], "c", 1) == 1);
    CHECK(waitp(outer, 8, "outer et new") == 1);
    CHECK(read(p[0], buf, sizeof buf) == 2);
    /* A blocking wait on the outer one is woken by a write to the pipe. */
    e.events = EPOLLIN;
    CHECK(epoll_ctl(outer, EPOLL_CTL_MOD, inner, &e) == 0);
    fflush(stdout);
    if (fork() == 0) {
        usleep(30000);
        write(p[1], "d", 1);
        _exit(0);
    }
    CHECK(epoll_wait(outer, evs, 8, 5000) == 1 && evs[0].data.u64 == 3);
    CHECK(read(p[0], buf, sizeof buf) == 1);

    /* Loops and depth. */
    EXPECT_ERRNO(add(inner, outer, EPOLLIN, 0), ELOOP);
    int a = epoll_create1(0), b = epoll_create1(0), c = epoll_create1(0);
    CHECK(add(a, b, EPOLLIN, 0) == 0 && add(b, c, EPOLLIN, 0) == 0);
    EXPECT_ERRNO(add(c, a, EPOLLIN, 0), ELOOP);
    int chain[6];
    for (int i = 0; i < 6; i++)
        chain[i] = epoll_create1(0);
    for (int i = 0; i < 5; i++) {
        int rr = add(chain[i], chain[i + 1], EPOLLIN, 0);
        printf("chain %d->%d: %s\n", i, i + 1, rr == 0 ? "ok" : errname(errno));
    }
    int rchain[6];
    for (int i = 0; i < 6; i++)
        rchain[i] = epoll_create1(0);
    for (int i = 4; i >= 0; i--) {
        int rr = add(rchain[i], rchain[i + 1], EPOLLIN, 0);
        printf("rchain %d->%d: %s\n", i, i + 1, rr == 0 ? "ok" : errname(errno));
    }
    /* Closing the middle of a chain (its last reference) shortens it. */
    close(chain[2]);
    CHECK(add(chain[4], chain[5], EPOLLIN, 0) == 0);
    for (int i = 0; i < 6; i++) {
        if (i != 2)
            close(chain[i]);
        close(rchain[i]);
    }

    /* Lifetimes: a dup keeps the interest (with its data); the last close removes it. */
    int ep = epoll_create1(0);
    int q[2];
    CHECK(pipe(q) == 0);
    int rfd = q[0];
    CHECK(add(ep, rfd, EPOLLIN, 50) == 0);
    int keep = dup(rfd);
    CHECK(close(rfd) == 0);
    CHECK(write(q[1], "x", 1) == 1);
    CHECK(waitp(ep, 8, "closed but duplicated") == 1);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, rfd, NULL), EBADF);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, keep, NULL), ENOENT);
    /* The key is (file, fd number): the same number for the same file is the old
     * interest again; another number is a new one. */
    int again = dup2(keep, rfd);
    CHECK(again == rfd);
    EXPECT_ERRNO(add(ep, rfd, EPOLLIN, 51), EEXIST);
    CHECK(add(ep, keep, EPOLLIN, 52) == 0);
    CHECK(waitp(ep, 8, "two keys, one file") == 2);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, rfd, NULL) == 0);
    CHECK(waitp(ep, 8, "one key left") == 1);
    close(rfd);
    close(keep);
    CHECK(waitp(ep, 8, "last close") == 0);
    int nq[2];
    CHECK(pipe(nq) == 0);
    CHECK(add(ep, nq[0], EPOLLIN, 53) == 0);
    close(nq[0]);
    close(nq[1]);
    close(q[1]);

    /* Closing a nested instance removes it from the outer one. */
    int o2 = epoll_create1(0), i2 = epoll_create1(0);
    int z[2];
    CHECK(pipe(z) == 0);
    CHECK(add(i2, z[0], EPOLLIN, 60) == 0 && add(o2, i2, EPOLLIN, 61) == 0);
    CHECK(write(z[1], "z", 1) == 1);
    CHECK(waitp(o2, 8, "nested ready") == 1);
    close(i2);
    CHECK(waitp(o2, 8, "nested closed") == 0);

    /* Order: as the files became ready. */
    int s[4][2];
    int ord = epoll_create1(0);
    for (int i = 0; i < 4; i++) {
        CHECK(pipe(s[i]) == 0);
        CHECK(add(ord, s[i][0], EPOLLIN, 70 + i) == 0);
    }
    int order[4] = {2, 0, 3, 1};
    for (int i = 0; i < 4; i++)
        CHECK(write(s[order[i]][1], "o", 1) == 1);
    CHECK(waitp(ord, 8, "order") == 4);
    CHECK(waitp(ord, 2, "order lt first two") == 2);
    CHECK(waitp(ord, 8, "order lt rest") == 4);
    return finish();
}

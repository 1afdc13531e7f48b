/* epoll on pipes: level-triggered interests report while ready; edge-triggered ones
 * once per wakeup of their kind (a new write reports again, a read does not); one-shot
 * ones once until EPOLL_CTL_MOD; user data comes back as given; EPOLLHUP and EPOLLERR
 * always; the epoll_ctl errors (EEXIST, ENOENT, EPERM for regular files, directories
 * and /dev/null, EINVAL for itself, bad ops and EPOLLEXCLUSIVE misuse, EBADF);
 * epoll_wait argument errors; and epoll_create/epoll_create1 flags. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>

static struct epoll_event evs[8];

/* epoll_wait with a zero timeout, printing what came back. */
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

static int mod(int ep, int fd, unsigned ev, unsigned long long data) {
    struct epoll_event e = {.events = ev, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    char buf[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(ep, F_GETFL) & O_ACCMODE) == O_RDWR);
    EXPECT_ERRNO(read(ep, buf, 8), EINVAL);
    EXPECT_ERRNO(write(ep, buf, 8), EINVAL);

    /* Level-triggered. */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(add(ep, p[0], EPOLLIN, 0x1122334455667788ULL) == 0);
    CHECK(waitp(ep, 8, "lt empty") == 0);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK(waitp(ep, 8, "lt data") == 1);
    CHECK(waitp(ep, 8, "lt again") == 1);
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(waitp(ep, 8, "lt partial read") == 1);
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(waitp(ep, 8, "lt drained") == 0);

    /* Edge-triggered: one report per write; a read wakes nothing for EPOLLIN. */
    CHECK(mod(ep, p[0], EPOLLIN | EPOLLET, 7) == 0);
    CHECK(waitp(ep, 8, "et empty") == 0);
    CHECK(write(p[1], "abc", 3) == 3);
    CHECK(waitp(ep, 8, "et data") == 1);
    CHECK(waitp(ep, 8, "et again") == 0);
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(waitp(ep, 8, "et after partial read") == 0);
    CHECK(write(p[1], "d", 1) == 1);
    CHECK(waitp(ep, 8, "et more data") == 1);
    CHECK(waitp(ep, 8, "et more again") == 0);
    /* MOD re-arms a ready edge-triggered interest. */
    CHECK(mod(ep, p[0], EPOLLIN | EPOLLET, 8) == 0);
    CHECK(waitp(ep, 8, "et after mod") == 1);
    CHECK(read(p[0], buf, sizeof buf) == 3);

    /* One-shot: once, then nothing until MOD. */
    CHECK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 9) == 0);
    CHECK(write(p[1], "e", 1) == 1);
    CHECK(waitp(ep, 8, "oneshot") == 1);
    CHECK(waitp(ep, 8, "oneshot again") == 0);
    CHECK(write(p[1], "f", 1) == 1);
    CHECK(waitp(ep, 8, "oneshot disabled") == 0);
    CHECK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 10) == 0);
    CHECK(waitp(ep, 8, "oneshot rearmed") == 1);
    CHECK(read(p[0], buf, sizeof buf) == 2);

    /* The write end: EPOLLOUT; with the reader gone EPOLLERR too. HUP on the reader. */
    CHECK(add(ep, p[1], EPOLLOUT, 20) == 0);
    CHECK(mod(ep, p[0], EPOLLIN, 11) == 0);
    CHECK(waitp(ep, 8, "writable") == 1);
    int p2[2];
    CHECK(pipe(p2) == 0);
    CHECK(add(ep, p2[0], EPOLLIN | EPOLLRDHUP, 30) == 0);
    CHECK(close(p2[1]) == 0);
    CHECK(waitp(ep, 8, "hup") == 2);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p2[0], NULL) == 0);
    int p3[2];
    CHECK(pipe(p3) == 0);
    CHECK(add(ep, p3[1], 0, 40) == 0);
    CHECK(waitp(ep, 8, "events 0") == 1);
    CHECK(close(p3[0]) == 0);
    CHECK(waitp(ep, 8, "err") == 2);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p3[1], NULL) == 0);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) == 0);
    CHECK(waitp(ep, 8, "after dels") == 0);

    /* maxevents smaller than what is ready: round robin for level-triggered. */
    int q[3][2];
    for (int i = 0; i < 3; i++) {
        CHECK(pipe(q[i]) == 0);
        CHECK(add(ep, q[i][0], EPOLLIN, 100 + i) == 0);
    }
    for (int i = 2; i >= 0; i--)
        CHECK(write(q[i][1], "x", 1) == 1);
    waitp(ep, 1, "rr1");
    waitp(ep, 1, "rr2");
    waitp(ep, 1, "rr3");
    waitp(ep, 1, "rr4");
    waitp(ep, 8, "rr all");
    for (int i = 0; i < 3; i++) {
        close(q[i][0]);
        close(q[i][1]);
    }
    CHECK(waitp(ep, 8, "closed all") == 0);

    /* epoll_ctl errors. */
    struct epoll_event e = {.events = EPOLLIN};
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e), EEXIST);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e), ENOENT);
    EXPECT_ERRNO(epoll_ctl(ep, 99, p[0], &e), EINVAL);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e), EINVAL);
    int ep2 = dup(ep);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &e), EINVAL);
    close(ep2);
    EXPECT_ERRNO(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e), EINVAL);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 99, &e), EBADF);
    EXPECT_ERRNO(epoll_ctl(99, EPOLL_CTL_ADD, p[0], &e), EBADF);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (struct epoll_event *)8), EFAULT);
    char tmp[] = "/tmp/epf-XXXXXX";
    int rf = mkstemp(tmp);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, rf, &e), EPERM);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, rf, &e), EPERM);
    close(rf);
    unlink(tmp);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, dir, &e), EPERM);
    close(dir);
    int dn = open("/dev/null", O_RDWR);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, dn, &e), EPERM);
    close(dn);
    int op = open("/", O_PATH);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, op, &e), EBADF);
    close(op);

    /* EPOLLEXCLUSIVE: only on ADD, only with in/out/err/hup/et, never on epoll files. */
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e) == 0);
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e), EINVAL);
    e.events = EPOLLOUT;
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e), EINVAL);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) == 0);
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e), EINVAL);
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e), EINVAL);
    e.events = EPOLLOUT | EPOLLEXCLUSIVE | EPOLLET;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e) == 0);
    CHECK(waitp(ep, 8, "exclusive") == 1);
    int inner = epoll_create(1);
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, inner, &e), EINVAL);
    close(inner);

    /* epoll_wait and create errors. */
    EXPECT_ERRNO(epoll_wait(ep, evs, 0, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_epoll_wait, ep, evs, -1, 0), EINVAL);
    EXPECT_ERRNO(epoll_wait(p[0], evs, 1, 0), EINVAL);
    EXPECT_ERRNO(epoll_wait(99, evs, 1, 0), EBADF);
    EXPECT_ERRNO(syscall(SYS_epoll_wait, ep, 0x7ffffffff000L, 1, 0), EFAULT);
    EXPECT_ERRNO(epoll_create(0), EINVAL);
    EXPECT_ERRNO(epoll_create(-1), EINVAL);
    EXPECT_ERRNO(epoll_create1(1), EINVAL);
    int ep3 = epoll_create(100);
    CHECK(ep3 >= 0 && fcntl(ep3, F_GETFD) == 0);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", ep3);
    CHECK(readlink(path, link, sizeof link - 1) > 0 && strcmp(link, "anon_inode:[eventpoll]") == 0);
    return finish();
}

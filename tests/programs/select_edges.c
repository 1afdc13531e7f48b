/* select(2) and pselect6(2): readable/writable/exceptional sets on pipes (a closed
 * writer makes the reader readable, a closed reader makes the writer writable), result
 * sets cleared on timeout, the count of set bits, EBADF for a descriptor that is not
 * open (bits past nfds ignored), EINVAL for nfds < 0 or a bad timeout, a huge nfds
 * clamped, the timeval normalised and updated with the time left (not when zero),
 * pselect6's sigmask and timespec, and O_PATH descriptors (POLLNVAL: in every set). */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t hits;
static void on_usr1(int s) { (void)s; hits++; }

/* select through the raw syscall, so the kernel's timeval update is what we see. */
static long sel(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv) {
    return syscall(SYS_select, n, r, w, e, tv);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    fd_set r, w, e;
    struct timeval tv = {0, 0};

    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    FD_SET(p[0], &e);
    FD_SET(p[1], &e);
    CHECK(sel(p[1] + 1, &r, &w, &e, &tv) == 1);
    CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &e) && !FD_ISSET(p[1], &e));

    CHECK(write(p[1], "ab", 2) == 2);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[0], &w); /* a read end is never writable */
    FD_SET(p[1], &w);
    FD_SET(p[1], &r);
    CHECK(sel(p[1] + 1, &r, &w, NULL, &tv) == 2);
    CHECK(FD_ISSET(p[0], &r) && !FD_ISSET(p[1], &r) && FD_ISSET(p[1], &w) && !FD_ISSET(p[0], &w));

    /* Timeout: sets come back empty, 0, time left 0. */
    char buf[8];
    CHECK(read(p[0], buf, sizeof buf) == 2);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 50000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sel(p[0] + 1, &r, NULL, NULL, &tv) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(el >= 50 && el < 2000);
    CHECK(!FD_ISSET(p[0], &r) && tv.tv_sec == 0 && tv.tv_usec == 0);

    /* Time left written back on success; microseconds past a second carry over. */
    CHECK(write(p[1], "c", 1) == 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 2;
    tv.tv_usec = 0;
    CHECK(sel(p[0] + 1, &r, NULL, NULL, &tv) == 1);
    CHECK(tv.tv_sec == 1 && tv.tv_usec > 900000);
    FD_SET(p[0], &r);
    tv.tv_sec = 1;
    tv.tv_usec = 1500000;
    CHECK(sel(p[0] + 1, &r, NULL, NULL, &tv) == 1);
    CHECK(tv.tv_sec == 2 && tv.tv_usec > 400000 && tv.tv_usec <= 500000);
    FD_SET(p[0], &r);
    tv.tv_sec = -1;
    tv.tv_usec = 1500000;
    CHECK(sel(p[0] + 1, &r, NULL, NULL, &tv) == 1);
    CHECK(tv.tv_sec == 0 && tv.tv_usec > 400000);
    tv.tv_sec = 0;
    tv.tv_usec = -1;
    EXPECT_ERRNO(sel(p[0] + 1, &r, NULL, NULL, &tv), EINVAL);
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    EXPECT_ERRNO(sel(p[0] + 1, &r, NULL, NULL, &tv), EINVAL);

    /* EBADF for a closed descriptor in any set; bits past nfds are not looked at. */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    FD_ZERO(&r);
    FD_SET(40, &r);
    EXPECT_ERRNO(sel(41, &r, NULL, NULL, &tv), EBADF);
    CHECK(FD_ISSET(40, &r));
    FD_ZERO(&e);
    FD_SET(63, &e);
    EXPECT_ERRNO(sel(64, NULL, NULL, &e, &tv), EBADF);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    FD_SET(40, &r);
    CHECK(sel(p[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &r) && !FD_ISSET(40, &r));

    /* nfds bounds. */
    EXPECT_ERRNO(sel(-1, NULL, NULL, NULL, &tv), EINVAL);
    CHECK(sel(0x7fffffff, NULL, NULL, NULL, &tv) == 0);
    CHECK(sel(0, NULL, NULL, NULL, &tv) == 0);
    EXPECT_ERRNO(sel(p[0] + 1, (fd_set *)8, NULL, NULL, &tv), EFAULT);

    /* Closed writer: readable (HUP); closed reader: writable (ERR). */
    CHECK(read(p[0], buf, sizeof buf) == 1);
    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    CHECK(sel(p[0] + 1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(p[0], &r));
    close(p[0]);
    CHECK(pipe(p) == 0);
    close(p[0]);
    FD_ZERO(&w);
    FD_SET(p[1], &w);
    FD_ZERO(&r);
    FD_SET(p[1], &r);
    CHECK(sel(p[1] + 1, &r, &w, NULL, &tv) == 2 && FD_ISSET(p[1], &w) && FD_ISSET(p[1], &r));
    close(p[1]);

    /* O_PATH: open (no EBADF) but not pollable: POLLNVAL, in every set asked. */
    int op = open("/", O_PATH);
    FD_ZERO(&r);
    FD_SET(op, &r);
    FD_ZERO(&e);
    FD_SET(op, &e);
    CHECK(sel(op + 1, &r, NULL, &e, &tv) == 2 && FD_ISSET(op, &r) && FD_ISSET(op, &e));
    close(op);

    /* pselect6: sigmask lets a pending signal in (EINTR); timespec written back. */
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, empty;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    CHECK(pipe(p) == 0);
    raise(SIGUSR1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = {3, 0};
    EXPECT_ERRNO(pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty), EINTR);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(hits == 1 && sigismember(&cur, SIGUSR1));
    struct {
        const void *ss;
        size_t len;
    } pack = {&empty, 8}, badpack = {&empty, 4};
    CHECK(write(p[1], "d", 1) == 1);
    FD_SET(p[0], &r);
    ts.tv_sec = 3;
    ts.tv_nsec = 0;
    CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &pack) == 1);
    CHECK(ts.tv_sec == 2 && ts.tv_nsec > 900000000);
    EXPECT_ERRNO(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &badpack), EINVAL);
    EXPECT_ERRNO(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, (void *)8), EFAULT);
    ts.tv_nsec = -5;
    EXPECT_ERRNO(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL), EINVAL);

    /* A child's write wakes an untimed select. */
    CHECK(read(p[0], buf, 1) == 1);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(30000);
        write(p[1], "e", 1);
        _exit(0);
    }
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    CHECK(select(p[0] + 1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(p[0], &r));
    int st;
    CHECK(waitpid(c, &st, 0) == c);

    /* stdin (a host pipe under runsc). */
    FD_ZERO(&r);
    FD_SET(0, &r);
    CHECK(select(1, &r, NULL, NULL, NULL) == 1 && FD_ISSET(0, &r));
    return finish();
}

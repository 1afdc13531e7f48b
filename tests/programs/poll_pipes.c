/* poll(2) on pipes and other files: POLLIN/POLLOUT as data and room come and go,
 * POLLHUP after the last writer closes and POLLERR after the last reader closes (both
 * reported even when not asked for), POLLNVAL for closed and O_PATH descriptors,
 * negative fds skipped, zero and 50 ms timeouts, nfds bounds (EINVAL past
 * RLIMIT_NOFILE), EFAULT, a wakeup by a forked writer, and stdin (a host pipe in the
 * sandbox) becoming readable. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int poll1(int fd, short events, int timeout) {
    struct pollfd p = {.fd = fd, .events = events, .revents = 0x7777};
    int r = poll(&p, 1, timeout);
    return r < 0 ? -1 : p.revents;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(poll1(p[0], POLLIN, 0) == 0);
    CHECK(poll1(p[1], POLLOUT, 0) == (POLLOUT));
    CHECK(poll1(p[1], POLLOUT | POLLWRNORM | POLLIN, 0) == (POLLOUT | POLLWRNORM));
    CHECK(write(p[1], "abc", 3) == 3);
    CHECK(poll1(p[0], POLLIN | POLLRDNORM | POLLOUT | POLLPRI, 0) == (POLLIN | POLLRDNORM));
    CHECK(poll1(p[0], 0, 0) == 0);

    /* Two entries, one ready: the count is of entries with events. */
    struct pollfd two[3] = {{.fd = p[0], .events = POLLIN},
                            {.fd = p[1], .events = POLLOUT},
                            {.fd = -1, .events = POLLIN, .revents = 0x55}};
    CHECK(poll(two, 3, 0) == 2);
    CHECK(two[0].revents == POLLIN && two[1].revents == POLLOUT && two[2].revents == 0);
    char buf[64];
    CHECK(read(p[0], buf, sizeof buf) == 3);
    two[0].revents = 0x55;
    CHECK(poll(two, 3, 0) == 1 && two[0].revents == 0);

    /* A timeout of 50 ms on an empty pipe. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll1(p[0], POLLIN, 50) == 0);
    long el = ms_since(&t0);
    CHECK(el >= 50 && el < 2000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(NULL, 0, 30) == 0);
    el = ms_since(&t0);
    CHECK(el >= 30 && el < 2000);

    /* Writer closed: POLLHUP, with POLLIN while data is left; even with events 0. */
    CHECK(write(p[1], "z", 1) == 1);
    CHECK(close(p[1]) == 0);
    CHECK(poll1(p[0], POLLIN, 0) == (POLLIN | POLLHUP));
    CHECK(poll1(p[0], 0, 0) == POLLHUP);
    CHECK(read(p[0], buf, 1) == 1);
    CHECK(poll1(p[0], POLLIN, -1) == POLLHUP);
    CHECK(close(p[0]) == 0);

    /* Reader closed: POLLERR on the write end, and POLLOUT too. */
    CHECK(pipe(p) == 0);
    CHECK(close(p[0]) == 0);
    CHECK(poll1(p[1], POLLOUT, 0) == (POLLOUT | POLLERR));
    CHECK(poll1(p[1], 0, 0) == POLLERR);
    CHECK(close(p[1]) == 0);

    /* A full pipe is not writable. */
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    static char chunk[4096];
    while (write(p[1], chunk, sizeof chunk) > 0) {
    }
    CHECK(poll1(p[1], POLLOUT, 0) == 0);
    CHECK(read(p[0], chunk, sizeof chunk) == sizeof chunk);
    CHECK(poll1(p[1], POLLOUT, 0) == POLLOUT);
    close(p[0]);
    close(p[1]);

    /* Bad descriptors: POLLNVAL, counted. O_PATH descriptors too. */
    CHECK(poll1(77, POLLIN, 0) == POLLNVAL);
    struct pollfd bad = {.fd = 77, .events = 0};
    CHECK(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL);
    int op = open("/", O_PATH);
    CHECK(op >= 0 && poll1(op, POLLIN, 0) == POLLNVAL);
    close(op);

    /* Regular files and /dev/null are always readable and writable. */
    int dn = open("/dev/null", O_RDWR);
    CHECK(poll1(dn, POLLIN | POLLOUT | POLLPRI, 0) == (POLLIN | POLLOUT));
    close(dn);
    char tmp[] = "/tmp/pollf-XXXXXX";
    int rf = mkstemp(tmp);
    CHECK(rf >= 0 && poll1(rf, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT));
    close(rf);
    unlink(tmp);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(poll1(dir, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT));
    close(dir);

    /* nfds past RLIMIT_NOFILE: EINVAL; a bad array: EFAULT. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    EXPECT_ERRNO(poll(two, rl.rlim_cur + 1, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_poll, 8L, 1L, 0L), EFAULT);

    /* A forked writer wakes a poll without timeout. */
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        usleep(30000);
        write(p[1], "w", 1);
        _exit(0);
    }
    close(p[1]);
    CHECK((poll1(p[0], POLLIN, -1) & POLLIN) != 0);
    CHECK(read(p[0], buf, 1) == 1);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    CHECK(poll1(p[0], POLLIN, -1) == POLLHUP);
    close(p[0]);

    /* stdin: the harness's pipe with two lines. */
    CHECK((poll1(0, POLLIN, -1) & POLLIN) != 0);
    CHECK(read(0, buf, 9) == 9 && memcmp(buf, "line one\n", 9) == 0);
    CHECK(poll1(1, POLLOUT, 0) == POLLOUT);
    return finish();
}

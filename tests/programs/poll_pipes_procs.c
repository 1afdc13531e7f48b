/* poll and ppoll on pipes: an empty read end is not ready (timeout 0 returns 0,
 * a 20 ms timeout waits at least that long), the write end is POLLOUT until
 * the pipe is full and again after a page is drained, data makes the read end
 * POLLIN, a closed writer gives POLLHUP (with POLLIN while data remains), a
 * closed reader gives POLLERR on the write end even with events 0, a closed
 * descriptor gives POLLNVAL, a negative one is ignored; a write by another
 * process wakes a blocked poll; ppoll's signal mask lets a pending signal in
 * (EINTR after the handler); more descriptors than RLIMIT_NOFILE is EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}
static void show(const char *what, int r, short rev) {
    printf("%-36s ret=%d revents:%s%s%s%s%s\n", what, r, rev & POLLIN ? " POLLIN" : "", rev & POLLOUT ? " POLLOUT" : "",
           rev & POLLHUP ? " POLLHUP" : "", rev & POLLERR ? " POLLERR" : "", rev & POLLNVAL ? " POLLNVAL" : "");
}
static char state_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
}
static volatile int hits;
static void handler(int s) {
    (void)s;
    hits++;
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
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd rd = {.fd = p[0], .events = POLLIN}, wr = {.fd = p[1], .events = POLLOUT};
    int r = poll(&rd, 1, 0);
    show("empty pipe, read end:", r, rd.revents);
    long long t0 = mono_ms();
    r = poll(&rd, 1, 20);
    printf("20 ms timeout: ret=%d, waited >= 20 ms: %s\n", r, mono_ms() - t0 >= 20 ? "yes" : "no");
    r = poll(&wr, 1, 0);
    show("empty pipe, write end:", r, wr.revents);
    CHECK(write(p[1], "abc", 3) == 3);
    r = poll(&rd, 1, 0);
    show("after a write, read end:", r, rd.revents);

    /* Fill the pipe. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[65536];
    while (write(p[1], big, sizeof big) > 0)
        ;
    r = poll(&wr, 1, 0);
    show("full pipe, write end:", r, wr.revents);
    CHECK(read(p[0], big, 4096) == 4096);
    r = poll(&wr, 1, 0);
    show("one page drained, write end:", r, wr.revents);

    close(p[1]);
    r = poll(&rd, 1, 0);
    show("writer closed, data left:", r, rd.revents);
    while (read(p[0], big, sizeof big) > 0)
        ;
    r = poll(&rd, 1, 0);
    show("writer closed, drained:", r, rd.revents);
    close(p[0]);

    CHECK(pipe(p) == 0);
    close(p[0]);
    struct pollfd w0 = {.fd = p[1], .events = 0};
    r = poll(&w0, 1, 0);
    show("reader closed, write end, events 0:", r, w0.revents);
    close(p[1]);
    struct pollfd bad[2] = {{.fd = p[1], .events = POLLIN}, {.fd = -1, .events = POLLIN}};
    r = poll(bad, 2, 0);
    show("closed descriptor:", r, bad[0].revents);
    show("negative descriptor:", r, bad[1].revents);

    /* Woken by another process. */
    CHECK(pipe(p) == 0);
    pid_t me = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 5000 && state_of(me) != 'S'; i++)
            usleep(500);
        _exit(write(p[1], "z", 1) == 1 ? 0 : 1);
    }
    rd.fd = p[0];
    rd.revents = 0;
    r = poll(&rd, 1, 5000);
    show("blocked poll, child writes:", r, rd.revents);
    int st;
    waitpid(c, &st, 0);

    /* ppoll and its signal mask. */
    signal(SIGUSR1, handler);
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    struct pollfd empty = {.fd = p[1], .events = POLLIN};
    struct timespec ts = {0, 20 * 1000 * 1000};
    errno = 0;
    r = ppoll(&empty, 1, &ts, &none);
    printf("ppoll unblocking a pending signal: ret=%d %s, handler ran %d\n", r, errname(errno), hits);
    errno = 0;
    t0 = mono_ms();
    r = ppoll(&empty, 1, &ts, &usr1);
    printf("ppoll 20 ms timeout: ret=%d, waited >= 20 ms: %s\n", r, mono_ms() - t0 >= 20 ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    static struct pollfd many[65];
    for (int i = 0; i < 65; i++)
        many[i].fd = -1;
    CHECK(poll(many, 64, 0) == 0);
    EXPECT_ERRNO(poll(many, 65, 0), EINVAL);
    return finish();
}

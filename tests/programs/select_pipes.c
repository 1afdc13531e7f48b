/* select and pselect on pipes: an empty read end is not ready and is cleared
 * from the set, the write end is writable, data makes the read end readable
 * (both counted), EOF and a broken pipe count as ready, exceptfds stay empty;
 * select updates its timeval (0 left after a timeout) while glibc's pselect
 * leaves the timespec alone; select with no descriptors sleeps for the
 * timeout; a write by another process wakes a blocked select; pselect's mask
 * lets a pending signal in (EINTR); a closed descriptor is EBADF, negative
 * nfds or a bad timeval EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static long long mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
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

static int sel(int r, int w, int e, int *rr, int *ww, int *ee, struct timeval *tv) {
    fd_set rs, ws, es;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    int max = -1;
    if (r >= 0) {
        FD_SET(r, &rs);
        max = r;
    }
    if (w >= 0) {
        FD_SET(w, &ws);
        if (w > max)
            max = w;
    }
    if (e >= 0) {
        FD_SET(e, &es);
        if (e > max)
            max = e;
    }
    int n = select(max + 1, &rs, &ws, &es, tv);
    *rr = r >= 0 && FD_ISSET(r, &rs);
    *ww = w >= 0 && FD_ISSET(w, &ws);
    *ee = e >= 0 && FD_ISSET(e, &es);
    return n;
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
    int p[2], rr, ww, ee, n;
    CHECK(pipe(p) == 0);
    struct timeval zero = {0, 0};
    n = sel(p[0], p[1], p[0], &rr, &ww, &ee, &zero);
    printf("empty pipe: ret=%d readable=%d writable=%d except=%d\n", n, rr, ww, ee);
    CHECK(write(p[1], "x", 1) == 1);
    zero.tv_sec = 0;
    zero.tv_usec = 0;
    n = sel(p[0], p[1], p[0], &rr, &ww, &ee, &zero);
    printf("after a write: ret=%d readable=%d writable=%d except=%d\n", n, rr, ww, ee);
    char b;
    CHECK(read(p[0], &b, 1) == 1);

    struct timeval tv = {0, 30000};
    long long t0 = mono_ms();
    n = sel(p[0], -1, -1, &rr, &ww, &ee, &tv);
    printf("30 ms timeout: ret=%d, waited >= 30 ms: %s, timeval left zero: %s\n", n, mono_ms() - t0 >= 30 ? "yes" : "no",
           tv.tv_sec == 0 && tv.tv_usec == 0 ? "yes" : "no");
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    CHECK(write(p[1], "x", 1) == 1);
    n = sel(p[0], -1, -1, &rr, &ww, &ee, &tv);
    printf("ready at once with a 5 s timeout: ret=%d, time left in (4 s, 5 s]: %s\n", n,
           tv.tv_sec * 1000000L + tv.tv_usec > 4000000 && tv.tv_sec * 1000000L + tv.tv_usec <= 5000000 ? "yes" : "no");
    CHECK(read(p[0], &b, 1) == 1);

    struct timeval sleep20 = {0, 20000};
    t0 = mono_ms();
    n = select(0, NULL, NULL, NULL, &sleep20);
    printf("select with no descriptors: ret=%d, slept >= 20 ms: %s\n", n, mono_ms() - t0 >= 20 ? "yes" : "no");

    close(p[1]);
    zero.tv_sec = zero.tv_usec = 0;
    n = sel(p[0], -1, -1, &rr, &ww, &ee, &zero);
    printf("writer closed: ret=%d readable=%d\n", n, rr);
    close(p[0]);
    CHECK(pipe(p) == 0);
    close(p[0]);
    zero.tv_sec = zero.tv_usec = 0;
    n = sel(-1, p[1], p[1], &rr, &ww, &ee, &zero);
    printf("reader closed: ret=%d writable=%d except=%d\n", n, ww, ee);
    close(p[1]);
    zero.tv_sec = zero.tv_usec = 0;
    errno = 0;
    n = sel(p[1], -1, -1, &rr, &ww, &ee, &zero);
    printf("closed descriptor: ret=%d %s\n", n, errname(errno));

    CHECK(pipe(p) == 0);
    pid_t me = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < 5000 && state_of(me) != 'S'; i++)
            usleep(500);
        _exit(write(p[1], "z", 1) == 1 ? 0 : 1);
    }
    n = sel(p[0], -1, -1, &rr, &ww, &ee, NULL);
    printf("blocked select woken by the child: ret=%d readable=%d\n", n, rr);
    int st;
    waitpid(c, &st, 0);
    CHECK(read(p[0], &b, 1) == 1);

    signal(SIGUSR1, handler);
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timespec ts = {0, 20 * 1000 * 1000};
    errno = 0;
    n = pselect(p[0] + 1, &rs, NULL, NULL, &ts, &none);
    printf("pselect unblocking a pending signal: ret=%d %s, handler ran %d\n", n, errname(errno), hits);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    n = pselect(p[0] + 1, &rs, NULL, NULL, &ts, &usr1);
    printf("pselect timeout: ret=%d, timespec unchanged: %s\n", n,
           ts.tv_sec == 0 && ts.tv_nsec == 20 * 1000 * 1000 ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    FD_ZERO(&rs);
    EXPECT_ERRNO(select(-1, &rs, NULL, NULL, &zero), EINVAL);
    struct timeval badtv = {0, -1};
    FD_SET(p[0], &rs);
    EXPECT_ERRNO(select(p[0] + 1, &rs, NULL, NULL, &badtv), EINVAL);
    return finish();
}

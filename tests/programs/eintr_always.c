/* Calls that fail with EINTR after a signal handler runs even though the
 * handler has SA_RESTART: poll, ppoll, select, pselect6, epoll_wait,
 * epoll_pwait, nanosleep, clock_nanosleep (returns EINTR as its result),
 * sigtimedwait with a timeout (for another signal), pause and sigsuspend.
 * A helper process sends SIGUSR1 once it sees us sleeping (/proc state S). */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static volatile int hits;
static void handler(int sig) {
    (void)sig;
    hits++;
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

static pid_t helper;
static void arm(void) {
    pid_t parent = getpid();
    hits = 0;
    fflush(stdout);
    helper = fork();
    if (helper == 0) {
        for (int i = 0; i < 5000 && state_of(parent) != 'S'; i++)
            usleep(1000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
}
static void report(const char *what, long r, int err) {
    int st;
    waitpid(helper, &st, 0);
    if (r == -1)
        printf("%-40s -> %s, handler ran %d time(s)\n", what, errname(err), hits);
    else
        printf("%-40s -> returned %ld, handler ran %d time(s)\n", what, r, hits);
}
#define TRY(what, call)                                                                                          \
    do {                                                                                                         \
        arm();                                                                                                   \
        errno = 0;                                                                                               \
        long r_ = (long)(call);                                                                                  \
        report(what, r_, errno);                                                                                 \
    } while (0)

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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    TRY("poll(-1)", poll(&pf, 1, -1));
    struct timespec ten = {10, 0};
    sigset_t none;
    sigemptyset(&none);
    TRY("ppoll(10 s)", ppoll(&pf, 1, &ten, &none));
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    TRY("select(no timeout)", select(p[0] + 1, &rs, NULL, NULL, NULL));
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    TRY("pselect(10 s)", pselect(p[0] + 1, &rs, NULL, NULL, &ten, &none));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    TRY("epoll_wait(-1)", epoll_wait(ep, &ev, 1, -1));
    TRY("epoll_pwait(-1)", epoll_pwait(ep, &ev, 1, -1, &none));
    struct timespec rem = {0, 0};
    TRY("nanosleep(10 s)", nanosleep(&ten, &rem));
    /* The remaining time can exceed the request by the timer slack (50 us). */
    long long rem_ns = rem.tv_sec * 1000000000LL + rem.tv_nsec;
    printf("  remaining time in (0, 10 s + 1 ms]: %s\n", rem_ns > 0 && rem_ns <= 10001000000LL ? "yes" : "no");
    arm();
    int cr = clock_nanosleep(CLOCK_MONOTONIC, 0, &ten, &rem);
    report("clock_nanosleep(10 s) result", cr == 0 ? 0 : -1, cr);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL);
    TRY("sigtimedwait(SIGUSR2, 10 s)", sigtimedwait(&usr2, NULL, &ten));
    TRY("pause()", pause());
    TRY("sigsuspend(empty mask)", sigsuspend(&none));
    return finish();
}

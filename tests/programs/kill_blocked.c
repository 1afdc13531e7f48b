/* SIGKILL interrupts every kind of blocking call: a child blocks in read on an
 * empty pipe, wait4 for a grandchild that never exits, FUTEX_WAIT,
 * nanosleep(100 s), poll(-1), epoll_wait(-1), select(no timeout), sigsuspend,
 * pause, sigtimedwait without timeout, or write to a full pipe; once /proc
 * shows it sleeping (state S) we send SIGKILL and waitpid reports
 * WIFSIGNALED with SIGKILL. An argument picks a single case by name. The
 * program is a subreaper so the orphaned grandchild can be reaped too. */
#include "common.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

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

static int grandchild_pipe[2];

static void block(const char *how) {
    int p[2];
    if (pipe(p) != 0)
        _exit(100);
    if (!strcmp(how, "read")) {
        char b;
        ssize_t n = read(p[0], &b, 1);
        (void)n;
    } else if (!strcmp(how, "wait4")) {
        pid_t g = fork();
        if (g == 0)
            for (;;)
                pause();
        if (write(grandchild_pipe[1], &g, sizeof g) != sizeof g)
            _exit(101);
        int st;
        wait4(g, &st, 0, NULL);
    } else if (!strcmp(how, "futex")) {
        static int word;
        syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    } else if (!strcmp(how, "nanosleep")) {
        struct timespec ts = {100, 0};
        nanosleep(&ts, NULL);
    } else if (!strcmp(how, "poll")) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        poll(&pf, 1, -1);
    } else if (!strcmp(how, "epoll_wait")) {
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
        epoll_wait(ep, &ev, 1, -1);
    } else if (!strcmp(how, "select")) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        select(p[0] + 1, &rs, NULL, NULL, NULL);
    } else if (!strcmp(how, "sigsuspend")) {
        sigset_t none;
        sigemptyset(&none);
        sigsuspend(&none);
    } else if (!strcmp(how, "pause")) {
        pause();
    } else if (!strcmp(how, "sigtimedwait")) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigprocmask(SIG_BLOCK, &s, NULL);
        sigwaitinfo(&s, NULL);
    } else if (!strcmp(how, "write_full_pipe")) {
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        static char big[65536];
        while (write(p[1], big, sizeof big) > 0)
            ;
        fcntl(p[1], F_SETFL, 0);
        ssize_t n = write(p[1], big, 1);
        (void)n;
    }
    _exit(99); /* the call returned: wrong */
}

static const char *cases[] = {"read", "wait4", "futex", "nanosleep", "poll", "epoll_wait", "select",
                              "sigsuspend", "pause", "sigtimedwait", "write_full_pipe"};

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

int main(int argc, char **argv) {
    default_signals();
    CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    CHECK(pipe(grandchild_pipe) == 0);
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i]) != 0)
            continue;
        fflush(stdout);
        pid_t c = fork();
        if (c == 0)
            block(cases[i]);
        pid_t g = 0;
        if (!strcmp(cases[i], "wait4"))
            CHECK(read(grandchild_pipe[0], &g, sizeof g) == sizeof g);
        char s = '?';
        for (int k = 0; k < 4000 && (s = state_of(c)) != 'S'; k++)
            usleep(500);
        if (s == 'S')
            usleep(2000); /* a little more, to be well inside the call */
        CHECK(kill(c, SIGKILL) == 0);
        int st;
        CHECK(waitpid(c, &st, 0) == c);
        printf("%-16s sleeping before the kill: %s; WIFSIGNALED=%d sig=SIG%s\n", cases[i], s == 'S' ? "yes" : "no",
               WIFSIGNALED(st), WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
        if (g > 0) {
            kill(g, SIGKILL);
            CHECK(waitpid(g, &st, 0) == g);
        }
    }
    return finish();
}

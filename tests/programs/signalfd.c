/* signalfd(2): reading takes pending signals of the mask as signalfd_siginfo (signo,
 * code, pid, uid, int, status), consuming them; several per read; EAGAIN when none with
 * SFD_NONBLOCK; a blocking read woken by a forked child's kill, interrupted by another
 * signal's handler (EINTR, or restarted with SA_RESTART); SIGCHLD with the exit status;
 * a new mask on an existing signalfd; poll and epoll readiness; argument errors. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

static volatile sig_atomic_t hits;
static void on_term(int s) { (void)s; hits++; }

static int readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static pid_t sender(int sig, int sig2) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(30000);
        kill(parent, sig);
        if (sig2) {
            usleep(30000);
            kill(parent, sig2);
        }
        _exit(0);
    }
    return c;
}

int main(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGUSR2);
    sigaddset(&m, SIGCHLD);
    sigprocmask(SIG_BLOCK, &m, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int sfd = signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(sfd >= 0);
    CHECK(fcntl(sfd, F_GETFL) == (O_RDWR | O_NONBLOCK) && fcntl(sfd, F_GETFD) == FD_CLOEXEC);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sfd);
    CHECK(readlink(path, link, sizeof link - 1) > 0 && strcmp(link, "anon_inode:[signalfd]") == 0);
    struct signalfd_siginfo si[3];
    EXPECT_ERRNO(read(sfd, si, sizeof si), EAGAIN);
    EXPECT_ERRNO(read(sfd, si, 100), EINVAL);
    EXPECT_ERRNO(write(sfd, si, sizeof si[0]), EINVAL);
    CHECK(readable(sfd) == 0);

    /* kill(2) from ourselves. */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(readable(sfd) == POLLIN);
    CHECK(read(sfd, si, sizeof si) == sizeof si[0]);
    CHECK(si[0].ssi_signo == SIGUSR1 && si[0].ssi_code == SI_USER);
    CHECK(si[0].ssi_pid == (uint32_t)getpid() && si[0].ssi_uid == getuid());
    CHECK(readable(sfd) == 0);

    /* sigqueue: the value; tgkill: SI_TKILL. */
    union sigval val = {.sival_int = 42};
    CHECK(sigqueue(getpid(), SIGUSR1, val) == 0);
    CHECK(read(sfd, si, sizeof si) == sizeof si[0]);
    CHECK(si[0].ssi_code == SI_QUEUE && si[0].ssi_int == 42 && si[0].ssi_pid == (uint32_t)getpid());
    CHECK(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1) == 0);
    CHECK(read(sfd, si, sizeof si) == sizeof si[0]);
    CHECK(si[0].ssi_code == SI_TKILL && si[0].ssi_signo == SIGUSR1);

    /* Signals outside the mask stay pending. */
    raise(SIGUSR2);
    CHECK(readable(sfd) == 0);
    EXPECT_ERRNO(read(sfd, si, sizeof si), EAGAIN);
    sigset_t pend;
    sigpending(&pend);
    CHECK(sigismember(&pend, SIGUSR2));

    /* A new mask on the same fd: now two at once. */
    sigaddset(&one, SIGUSR2);
    CHECK(signalfd(sfd, &one, 0) == sfd);
    raise(SIGUSR1);
    CHECK(read(sfd, si, sizeof si) == 2 * sizeof si[0]);
    CHECK(si[0].ssi_signo == SIGUSR1 && si[1].ssi_signo == SIGUSR2);
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2));

    /* Blocking reads on a second signalfd. */
    sigdelset(&one, SIGUSR2);
    int bfd = signalfd(-1, &one, 0);
    CHECK(bfd >= 0 && fcntl(bfd, F_GETFL) == O_RDWR);
    pid_t k = sender(SIGUSR1, 0);
    CHECK(read(bfd, si, sizeof si) == sizeof si[0]);
    CHECK(si[0].ssi_signo == SIGUSR1 && si[0].ssi_pid == (uint32_t)k && si[0].ssi_code == SI_USER);
    int st;
    CHECK(waitpid(k, &st, 0) == k);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    int cfd = signalfd(-1, &chld, 0);
    CHECK(read(cfd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGCHLD);

    /* Interrupted by a handler: EINTR without SA_RESTART, restarted with it. */
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    k = sender(SIGTERM, 0);
    EXPECT_ERRNO(read(bfd, si, sizeof si), EINTR);
    CHECK(hits == 1);
    waitpid(k, &st, 0);
    CHECK(read(cfd, si, sizeof si) == sizeof si[0]);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    k = sender(SIGTERM, SIGUSR1);
    CHECK(read(bfd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR1);
    CHECK(hits == 2);
    waitpid(k, &st, 0);
    CHECK(read(cfd, si, sizeof si) == sizeof si[0]);

    /* SIGCHLD: the child's pid and exit status. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(7);
    CHECK(read(cfd, si, sizeof si) == sizeof si[0]);
    CHECK(si[0].ssi_signo == SIGCHLD && si[0].ssi_code == CLD_EXITED);
    CHECK(si[0].ssi_pid == (uint32_t)c && si[0].ssi_status == 7);
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 7);

    /* epoll. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 5}, out[2];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == 0);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    k = sender(SIGUSR2, 0);
    CHECK(epoll_wait(ep, out, 2, 5000) == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 5);
    CHECK(read(sfd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR2);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    waitpid(k, &st, 0);

    /* Errors. */
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &one, 4, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &one, 8, 1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    EXPECT_ERRNO(signalfd(ep, &one, 0), EINVAL);
    EXPECT_ERRNO(signalfd(99, &one, 0), EBADF);
    EXPECT_ERRNO(signalfd(-2, &one, 0), EBADF);
    int old = syscall(SYS_signalfd, -1, &one, 8);
    CHECK(old >= 0 && fcntl(old, F_GETFL) == O_RDWR && fcntl(old, F_GETFD) == 0);
    return finish();
}

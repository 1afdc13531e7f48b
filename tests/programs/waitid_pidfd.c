/* pidfd_open and waitid(P_PIDFD): a pidfd polls readable (POLLIN) once its
 * process has exited, waitid through it reaps the child, WNOHANG on a running
 * child's pidfd returns 0, a PIDFD_NONBLOCK pidfd gives EAGAIN instead; a pidfd
 * of a process that is not our child is ECHILD, pidfd_open of a reaped pid is
 * ESRCH, unknown flags are EINVAL, a non-pidfd descriptor is EBADF/EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
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
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        char b;
        ssize_t n = read(p[0], &b, 1);
        _exit(n == 0 ? 21 : 1);
    }
    close(p[0]);
    int fd = pidfd_open(c, 0);
    CHECK(fd >= 0);
    printf("pidfd is close-on-exec: %s\n", fcntl(fd, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
    int nb = pidfd_open(c, PIDFD_NONBLOCK);
    CHECK(nb >= 0);
    printf("PIDFD_NONBLOCK sets O_NONBLOCK: %s\n", (fcntl(nb, F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    EXPECT_ERRNO(waitid(P_PIDFD, nb, &si, WEXITED), EAGAIN);
    close(p[1]); /* the child sees EOF and exits */
    CHECK(poll(&pf, 1, 5000) == 1);
    printf("poll after exit: revents POLLIN=%d POLLHUP=%d\n", !!(pf.revents & POLLIN), !!(pf.revents & POLLHUP));
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, fd, &si, WEXITED) == 0);
    printf("waitid(P_PIDFD): si_pid ok=%s si_code=%d (CLD_EXITED=%d) si_status=%d\n", si.si_pid == c ? "yes" : "no",
           si.si_code, CLD_EXITED, si.si_status);
    EXPECT_ERRNO(waitid(P_PIDFD, fd, &si, WEXITED), ECHILD);
    EXPECT_ERRNO(waitid(P_PIDFD, nb, &si, WEXITED), ECHILD);
    /* The pidfd of a reaped process still polls readable. */
    pf.revents = 0;
    CHECK(poll(&pf, 1, 0) == 1);
    close(fd);
    close(nb);
    EXPECT_ERRNO(pidfd_open(c, 0), ESRCH);

    /* Our own pidfd: not our child. */
    int self = pidfd_open(getpid(), 0);
    CHECK(self >= 0);
    EXPECT_ERRNO(waitid(P_PIDFD, self, &si, WEXITED | WNOHANG), ECHILD);
    close(self);

    /* Killed child seen through its pidfd. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    fd = pidfd_open(c, 0);
    CHECK(fd >= 0);
    CHECK(kill(c, SIGKILL) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, fd, &si, WEXITED) == 0);
    printf("killed: si_code=%s si_status=SIG%s\n", si.si_code == CLD_KILLED ? "CLD_KILLED" : "other",
           sigabbrev_np(si.si_status));
    close(fd);

    EXPECT_ERRNO(pidfd_open(getpid(), 0x1), EINVAL);
    EXPECT_ERRNO(pidfd_open(-1, 0), EINVAL);
    EXPECT_ERRNO(waitid(P_PIDFD, 99, &si, WEXITED), EBADF);
    EXPECT_ERRNO(waitid(P_PIDFD, 0, &si, WEXITED), EBADF);
    return finish();
}

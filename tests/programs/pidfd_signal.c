/* pidfd_send_signal and pidfd_getfd: a signal through a pidfd reaches the
 * child's handler with SI_USER and our pid, or with a caller-made SI_QUEUE
 * siginfo and its value; a siginfo with a positive si_code (EPERM) or another
 * signal number (EINVAL) is refused; flags must be 0; signal 0 checks liveness;
 * a zombie accepts signals, a reaped process is ESRCH; a non-pidfd is EBADF;
 * SIGTERM through the pidfd kills. pidfd_getfd duplicates a descriptor of the
 * child (a pipe end) into us. /proc/self/fdinfo shows the pidfd's Pid. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static int rep[2];

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    int m[4] = {sig, si->si_code, si->si_pid, si->si_value.sival_int};
    if (write(rep[1], m, sizeof m) != sizeof m)
        _exit(9);
}

static int pidfd_open(pid_t p) {
    return (int)syscall(SYS_pidfd_open, p, 0);
}
static int send_sig(int fd, int sig, siginfo_t *si, unsigned flags) {
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, si, flags);
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
    CHECK(pipe(rep) == 0);
    int kid_pipe[2];
    CHECK(pipe(kid_pipe) == 0);
    pid_t me = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        /* Move the pipe to fds 40 (read) and 41 (write) so the parent knows
         * where they are; the child keeps the write end, so its read blocks. */
        dup2(kid_pipe[0], 40);
        dup2(kid_pipe[1], 41);
        close(kid_pipe[0]);
        close(kid_pipe[1]);
        int m[4] = {0, 0, 0, 0};
        if (write(rep[1], m, sizeof m) != sizeof m)
            _exit(8);
        char buf[16] = {0};
        ssize_t n = read(40, buf, sizeof buf - 1); /* the parent writes via pidfd_getfd */
        _exit(n == 5 && strcmp(buf, "hello") == 0 ? 0 : 1);
    }
    close(kid_pipe[0]);
    close(kid_pipe[1]);
    int m[4];
    CHECK(read(rep[0], m, sizeof m) == sizeof m); /* the handler is installed */
    int fd = pidfd_open(c);
    CHECK(fd >= 0);

    char path[64], info[512] = {0};
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int ifd = open(path, O_RDONLY);
    CHECK(ifd >= 0 && read(ifd, info, sizeof info - 1) > 0);
    close(ifd);
    char *pl = strstr(info, "\nPid:");
    printf("fdinfo Pid is the child: %s\n", pl && atoi(pl + 5) == c ? "yes" : "no");

    CHECK(send_sig(fd, 0, NULL, 0) == 0);
    CHECK(send_sig(fd, SIGUSR1, NULL, 0) == 0);
    CHECK(read(rep[0], m, sizeof m) == sizeof m);
    printf("plain: sig=SIG%s si_code=%s si_pid is us=%s\n", sigabbrev_np(m[0]), m[1] == SI_USER ? "SI_USER" : "other",
           m[2] == me ? "yes" : "no");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = me;
    si.si_uid = getuid();
    si.si_value.sival_int = 77;
    CHECK(send_sig(fd, SIGUSR1, &si, 0) == 0);
    CHECK(read(rep[0], m, sizeof m) == sizeof m);
    printf("with siginfo: si_code=%s value=%d\n", m[1] == SI_QUEUE ? "SI_QUEUE" : "other", m[3]);
    si.si_code = SI_KERNEL;
    EXPECT_ERRNO(send_sig(fd, SIGUSR1, &si, 0), EPERM);
    si.si_code = SI_QUEUE;
    si.si_signo = SIGUSR2;
    EXPECT_ERRNO(send_sig(fd, SIGUSR1, &si, 0), EINVAL);
    EXPECT_ERRNO(send_sig(fd, SIGUSR1, NULL, 0x100), EINVAL);
    EXPECT_ERRNO(send_sig(fd, 99, NULL, 0), EINVAL);
    EXPECT_ERRNO(send_sig(rep[0], SIGUSR1, NULL, 0), EBADF);
    EXPECT_ERRNO(send_sig(-1, SIGUSR1, NULL, 0), EBADF);

    /* pidfd_getfd: fetch the child's write end (fd 41) and write through it. */
    int got = (int)syscall(SYS_pidfd_getfd, fd, 41, 0);
    CHECK(got >= 0);
    printf("pidfd_getfd result is close-on-exec: %s\n", fcntl(got, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    EXPECT_ERRNO(syscall(SYS_pidfd_getfd, fd, 40, 1), EINVAL);
    EXPECT_ERRNO(syscall(SYS_pidfd_getfd, fd, 999, 0), EBADF);
    CHECK(write(got, "hello", 5) == 5);
    close(got);

    siginfo_t wi;
    memset(&wi, 0, sizeof wi);
    CHECK(waitid(P_PID, c, &wi, WEXITED | WNOWAIT) == 0);
    printf("child exited with %d after reading through the fetched pipe\n", wi.si_status);
    /* Now a zombie. */
    CHECK(send_sig(fd, SIGUSR1, NULL, 0) == 0);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    EXPECT_ERRNO(send_sig(fd, SIGUSR1, NULL, 0), ESRCH);
    close(fd);

    fflush(stdout);
    c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    fd = pidfd_open(c);
    CHECK(send_sig(fd, SIGTERM, NULL, 0) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    printf("SIGTERM via pidfd: WIFSIGNALED=%d sig=SIG%s\n", WIFSIGNALED(st), sigabbrev_np(WTERMSIG(st)));
    return finish();
}

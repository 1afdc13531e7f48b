/* signalfd: blocked signals are read as struct signalfd_siginfo (ssi_signo,
 * ssi_code SI_USER/SI_QUEUE/SI_TKILL, ssi_pid, ssi_uid, ssi_int), reading
 * consumes them (no longer pending), several can be read at once, an empty
 * non-blocking signalfd is EAGAIN, poll reports POLLIN while one is pending,
 * SIGCHLD from a child's exit carries CLD_EXITED and the status, the mask can
 * be replaced on the same fd, SFD_CLOEXEC/SFD_NONBLOCK flags, and errors: a
 * buffer smaller than one record is EINVAL, bad flags EINVAL, a non-signalfd
 * descriptor EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

static const char *code(int c) {
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case CLD_EXITED: return "CLD_EXITED";
    default: return "other";
    }
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
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(fd >= 0);
    printf("SFD_CLOEXEC: %s, SFD_NONBLOCK: %s\n", fcntl(fd, F_GETFD) == FD_CLOEXEC ? "yes" : "no",
           (fcntl(fd, F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    struct signalfd_siginfo ssi[4];
    EXPECT_ERRNO(read(fd, ssi, sizeof ssi), EAGAIN);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pf, 1, 0) == 0);

    kill(getpid(), SIGUSR1);
    CHECK(poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN));
    EXPECT_ERRNO(read(fd, ssi, sizeof ssi[0] - 1), EINVAL);
    memset(ssi, 0, sizeof ssi);
    CHECK(read(fd, ssi, sizeof ssi) == sizeof ssi[0]);
    printf("kill: ssi_signo=SIG%s ssi_code=%s ssi_pid is us=%s ssi_uid=%u\n", sigabbrev_np((int)ssi[0].ssi_signo),
           code(ssi[0].ssi_code), ssi[0].ssi_pid == (uint32_t)getpid() ? "yes" : "no", ssi[0].ssi_uid);
    sigset_t pend;
    sigpending(&pend);
    printf("consumed (no longer pending): %s\n", sigismember(&pend, SIGUSR1) ? "no" : "yes");

    union sigval v = {.sival_int = 555};
    sigqueue(getpid(), SIGRTMIN, v);
    raise(SIGUSR2);
    kill(getpid(), SIGUSR1);
    memset(ssi, 0, sizeof ssi);
    ssize_t n = read(fd, ssi, sizeof ssi);
    printf("three pending, one read returns %zd records:", n / (ssize_t)sizeof ssi[0]);
    for (int i = 0; i < n / (ssize_t)sizeof ssi[0]; i++)
        printf(" %s/%s/%d", ssi[i].ssi_signo == (uint32_t)SIGRTMIN ? "RTMIN" : sigabbrev_np((int)ssi[i].ssi_signo),
               code(ssi[i].ssi_code), ssi[i].ssi_int);
    printf("\n");

    /* Replace the mask: SIGCHLD only. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    CHECK(signalfd(fd, &chld, 0) == fd);
    kill(getpid(), SIGUSR1); /* not in the new mask: stays pending */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(42);
    pf.revents = 0;
    CHECK(poll(&pf, 1, 5000) == 1);
    memset(ssi, 0, sizeof ssi);
    CHECK(read(fd, ssi, sizeof ssi) == sizeof ssi[0]);
    printf("SIGCHLD: ssi_code=%s ssi_status=%d ssi_pid is the child=%s\n", code(ssi[0].ssi_code), ssi[0].ssi_status,
           ssi[0].ssi_pid == (uint32_t)c ? "yes" : "no");
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    sigpending(&pend);
    printf("SIGUSR1 left pending by the new mask: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no");

    /* A blocking signalfd woken by another process. */
    int bfd = signalfd(-1, &set, 0);
    CHECK(bfd >= 0);
    pid_t me = getpid();
    fflush(stdout);
    c = fork();
    if (c == 0) {
        usleep(20000);
        kill(me, SIGUSR2);
        _exit(0);
    }
    memset(ssi, 0, sizeof ssi);
    n = read(bfd, ssi, sizeof ssi);
    /* SIGUSR1 was still pending, so it may come first; read until SIGUSR2. */
    int got_usr2 = 0;
    for (int i = 0; i < n / (ssize_t)sizeof ssi[0]; i++)
        if (ssi[i].ssi_signo == SIGUSR2 && ssi[i].ssi_pid == (uint32_t)c)
            got_usr2 = 1;
    if (!got_usr2) {
        n = read(bfd, ssi, sizeof ssi);
        for (int i = 0; i < n / (ssize_t)sizeof ssi[0]; i++)
            if (ssi[i].ssi_signo == SIGUSR2 && ssi[i].ssi_pid == (uint32_t)c)
                got_usr2 = 1;
    }
    printf("blocking read woken by the child's SIGUSR2: %s\n", got_usr2 ? "yes" : "no");
    waitpid(c, &st, 0);

    EXPECT_ERRNO(signalfd(-1, &set, 0x1234), EINVAL);
    int p[2];
    CHECK(pipe(p) == 0);
    EXPECT_ERRNO(signalfd(p[0], &set, 0), EINVAL);
    EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &set, 4, 0), EINVAL);
    return finish();
}

/* sigsuspend: with a blocked signal already pending it returns at once with
 * EINTR after the handler; the temporary mask is what decides (a pending
 * signal it keeps blocked stays pending), the old mask is back afterwards;
 * when it unblocks several pending signals all handlers run before it returns
 * (Linux sets up the lowest-numbered signal's frame first and the next one on
 * top of it, so SIGUSR2's handler starts first); a signal from another process
 * wakes it; SIGKILL in the mask is ignored; a wrong sigsetsize is EINVAL. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static char order[16];
static volatile int n;
static void handler(int sig) {
    order[n++] = sig == SIGUSR1 ? '1' : sig == SIGUSR2 ? '2' : sig == SIGHUP ? 'H' : '?';
}

static char state_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
        return '?';
    buf[r] = 0;
    char *p = strrchr(buf, ')');
    return p ? p[2] : '?';
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigset_t both, cur, pend, only2, none;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    sigemptyset(&none);
    CHECK(sigprocmask(SIG_BLOCK, &both, NULL) == 0);

    raise(SIGUSR2);
    raise(SIGUSR1);
    errno = 0;
    int r = sigsuspend(&only2);
    printf("sigsuspend(mask {SIGUSR2}) with both pending: ret %d %s, handlers ran: %.*s\n", r, errname(errno), n,
           order);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    sigpending(&pend);
    printf("mask restored (both blocked): %s; SIGUSR2 still pending: %s\n",
           sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGUSR2) ? "yes" : "no",
           sigismember(&pend, SIGUSR2) ? "yes" : "no");
    n = 0;
    raise(SIGUSR1);
    r = sigsuspend(&none);
    printf("sigsuspend(empty mask) with SIGUSR1 and SIGUSR2 pending: ret %d, handlers ran: %.*s\n", r, n, order);

    /* Woken from outside. */
    n = 0;
    pid_t me = getpid();
    fflush(stdout);
    pid_t h = fork();
    if (h == 0) {
        for (int i = 0; i < 5000 && state_of(me) != 'S'; i++)
            usleep(1000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    r = sigsuspend(&only2);
    int st;
    waitpid(h, &st, 0);
    printf("woken by another process's SIGUSR1: ret %d, handlers ran: %.*s\n", r, n, order);

    /* SIGHUP is not blocked now, but the temporary mask blocks it (and
     * SIGKILL, which is ignored): SIGUSR1 wakes us, then SIGHUP runs once the
     * old mask is back. */
    n = 0;
    sigset_t tmp;
    sigemptyset(&tmp);
    sigaddset(&tmp, SIGHUP);
    sigaddset(&tmp, SIGKILL);
    sigaddset(&tmp, SIGUSR2);
    sigprocmask(SIG_BLOCK, &tmp, NULL);
    raise(SIGHUP);
    sigprocmask(SIG_UNBLOCK, &tmp, NULL); /* SIGHUP runs here */
    raise(SIGUSR1);
    r = sigsuspend(&tmp);
    printf("sigsuspend with SIGKILL in the mask: ret %d, handlers ran: %.*s\n", r, n, order);

    EXPECT_ERRNO(syscall(SYS_rt_sigsuspend, &none, 4), EINVAL);
    EXPECT_ERRNO(syscall(SYS_rt_sigsuspend, (void *)16, 8), EFAULT);
    return finish();
}

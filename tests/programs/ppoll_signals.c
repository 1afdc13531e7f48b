/* Signals and poll-family waits: ppoll's temporary mask lets a pending signal interrupt
 * at once (EINTR, even with a zero timeout) and comes back afterwards; with a ready fd
 * the signal stays pending; a signal from a forked child interrupts ppoll and the time
 * left is written back; poll fails with EINTR after a handler even with SA_RESTART, and
 * resumes with its deadline across SIGSTOP/SIGCONT; ignored signals interrupt nothing;
 * bad sigset sizes and timespecs are EINVAL. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t hits1, hits2;
static void on_usr1(int s) { (void)s; hits1++; }
static void on_usr2(int s) { (void)s; hits2++; }

static int blocked(int sig) {
    sigset_t s;
    sigprocmask(SIG_BLOCK, NULL, &s);
    return sigismember(&s, sig);
}

static int pending(int sig) {
    sigset_t s;
    sigpending(&s);
    return sigismember(&s, sig);
}

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A child that sends `sig` (and then `sig2` if nonzero) to the parent after delays. */
static pid_t sender(int sig, int sig2) {
    pid_t parent = getpid();
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, sig);
        if (sig2) {
            usleep(50000);
            kill(parent, sig2);
        }
        _exit(0);
    }
    return c;
}

static void reap(pid_t c) {
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void) {
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t usr1, empty;
    sigemptyset(&usr1);
    sigemptyset(&empty);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);

    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd rd = {.fd = p[0], .events = POLLIN};
    struct timespec zero = {0, 0};

    /* Pending and blocked; ppoll's mask unblocks it: EINTR at once, handler ran, the
     * mask is back. */
    raise(SIGUSR1);
    CHECK(pending(SIGUSR1) && hits1 == 0);
    EXPECT_ERRNO(ppoll(&rd, 1, &zero, &empty), EINTR);
    CHECK(hits1 == 1 && blocked(SIGUSR1) && !pending(SIGUSR1));

    /* With a ready fd the call succeeds and the signal stays pending. */
    CHECK(write(p[1], "x", 1) == 1);
    raise(SIGUSR1);
    CHECK(ppoll(&rd, 1, &zero, &empty) == 1 && rd.revents == POLLIN);
    CHECK(hits1 == 1 && pending(SIGUSR1) && blocked(SIGUSR1));
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    CHECK(hits1 == 2);
    sigprocmask(SIG_BLOCK, &usr1, NULL);

    /* A signal from a child during an untimed ppoll. */
    pid_t k = sender(SIGUSR1, 0);
    EXPECT_ERRNO(ppoll(&rd, 1, NULL, &empty), EINTR);
    CHECK(hits1 == 3 && blocked(SIGUSR1));
    reap(k);

    /* The raw syscall writes the time left back. */
    struct timespec ts = {5, 0};
    sigset_t emptyk = {{0}};
    k = sender(SIGUSR1, 0);
    errno = 0;
    long r = syscall(SYS_ppoll, &rd, 1, &ts, &emptyk, 8);
    CHECK(r == -1 && errno == EINTR);
    CHECK(hits1 == 4 && ts.tv_sec >= 3 && ts.tv_sec <= 4 && ts.tv_nsec < 1000000000);
    reap(k);
    /* ... and after success too, but not for a zero timeout. */
    CHECK(write(p[1], "x", 1) == 1);
    ts.tv_sec = 5;
    ts.tv_nsec = 0;
    CHECK(syscall(SYS_ppoll, &rd, 1, &ts, NULL, 8) == 1);
    CHECK(ts.tv_sec == 4 && ts.tv_nsec > 900000000);
    struct timespec z2 = {0, 0};
    CHECK(syscall(SYS_ppoll, &rd, 1, &z2, NULL, 8) == 1 && z2.tv_sec == 0 && z2.tv_nsec == 0);
    CHECK(read(p[0], &c, 1) == 1);

    /* poll: EINTR after a handler even with SA_RESTART. */
    k = sender(SIGUSR2, 0);
    EXPECT_ERRNO(poll(&rd, 1, 5000), EINTR);
    CHECK(hits2 == 1);
    reap(k);

    /* poll resumes across a stop and continue, keeping its deadline. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    k = sender(SIGSTOP, SIGCONT);
    CHECK(poll(&rd, 1, 300) == 0);
    long el = ms_since(&t0);
    CHECK(el >= 300 && el < 3000);
    reap(k);

    /* An ignored signal interrupts nothing. */
    signal(SIGUSR2, SIG_IGN);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    k = sender(SIGUSR2, 0);
    CHECK(poll(&rd, 1, 150) == 0);
    el = ms_since(&t0);
    CHECK(el >= 150 && el < 3000);
    reap(k);

    /* Argument errors. */
    struct timespec badts = {0, 1000000000};
    EXPECT_ERRNO(syscall(SYS_ppoll, &rd, 1, &zero, &emptyk, 4), EINVAL);
    EXPECT_ERRNO(syscall(SYS_ppoll, &rd, 1, &badts, NULL, 8), EINVAL);
    badts.tv_sec = -1;
    badts.tv_nsec = 0;
    EXPECT_ERRNO(syscall(SYS_ppoll, &rd, 1, &badts, NULL, 8), EINVAL);
    EXPECT_ERRNO(syscall(SYS_ppoll, &rd, 1, (void *)8, NULL, 8), EFAULT);
    CHECK(hits1 == 4 && hits2 == 1 && blocked(SIGUSR1));
    return finish();
}

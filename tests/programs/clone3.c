/* clone3 (syscall 435) without a new stack, used like fork: exit_signal SIGCHLD,
 * CLONE_PIDFD (a close-on-exec pidfd usable with waitid P_PIDFD),
 * CLONE_PARENT_SETTID, exit_signal 0 (only __WALL/__WCLONE waits see it),
 * CLONE_VFORK, and argument validation: a struct smaller than version 0 or
 * unknown flags are EINVAL, a larger struct with non-zero tail bytes is E2BIG
 * and with a zero tail is accepted, a bad exit_signal or a stack without a size
 * is EINVAL. Children only _exit. */
#include "common.h"
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct cargs {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
};

static long clone3(struct cargs *a, size_t size) {
    return syscall(SYS_clone3, a, size);
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
    struct cargs a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    long c = clone3(&a, 64);
    if (c == 0)
        _exit(12);
    CHECK(c > 0);
    int st;
    CHECK(waitpid((pid_t)c, &st, 0) == c);
    printf("plain clone3 child: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* CLONE_PIDFD and CLONE_PARENT_SETTID. */
    int pidfd = -1;
    pid_t ptid = 0;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    a.pidfd = (uintptr_t)&pidfd;
    a.parent_tid = (uintptr_t)&ptid;
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    c = clone3(&a, sizeof a);
    if (c == 0)
        _exit(13);
    CHECK(c > 0);
    CHECK(pidfd >= 0);
    printf("parent_tid == returned pid: %s\n", ptid == c ? "yes" : "no");
    printf("pidfd is close-on-exec: %s\n", fcntl(pidfd, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PIDFD, pidfd, &si, WEXITED) == 0);
    printf("waitid(P_PIDFD): si_pid matches=%s si_code=%s si_status=%d\n", si.si_pid == c ? "yes" : "no",
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status);
    close(pidfd);

    /* exit_signal 0: a "clone" child. */
    memset(&a, 0, sizeof a);
    fflush(stdout);
    c = clone3(&a, 64);
    if (c == 0)
        _exit(14);
    CHECK(c > 0);
    EXPECT_ERRNO(waitpid((pid_t)c, &st, 0), ECHILD);
    CHECK(waitpid((pid_t)c, &st, __WALL) == c);
    printf("exit_signal 0 child via __WALL: WIFEXITED=%d status=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* CLONE_VFORK: the parent resumes after the child has exited. */
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    memset(&a, 0, sizeof a);
    a.flags = CLONE_VFORK;
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    c = clone3(&a, 64);
    if (c == 0) {
        if (write(p[1], "v", 1) != 1)
            _exit(1);
        _exit(15);
    }
    char b = 0;
    printf("CLONE_VFORK: child's write already there: %s\n", read(p[0], &b, 1) == 1 && b == 'v' ? "yes" : "no");
    CHECK(waitpid((pid_t)c, &st, 0) == c);
    printf("CLONE_VFORK child: status=%d\n", WEXITSTATUS(st));

    /* Validation. */
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    EXPECT_ERRNO(clone3(&a, 32), EINVAL);
    EXPECT_ERRNO(clone3(&a, 63), EINVAL);
    struct {
        struct cargs a;
        uint64_t extra;
    } big;
    memset(&big, 0, sizeof big);
    big.a.exit_signal = SIGCHLD;
    big.extra = 1;
    EXPECT_ERRNO(clone3(&big.a, sizeof big), E2BIG);
    big.extra = 0;
    fflush(stdout);
    c = clone3(&big.a, sizeof big);
    if (c == 0)
        _exit(16);
    CHECK(c > 0 && waitpid((pid_t)c, &st, 0) == c && WEXITSTATUS(st) == 16);
    a.flags = 1ULL << 40;
    EXPECT_ERRNO(clone3(&a, 64), EINVAL);
    a.flags = 0;
    a.exit_signal = 65;
    EXPECT_ERRNO(clone3(&a, 64), EINVAL);
    a.exit_signal = SIGCHLD;
    static char stk[8192];
    a.stack = (uintptr_t)stk;
    a.stack_size = 0;
    EXPECT_ERRNO(clone3(&a, 64), EINVAL);
    a.stack = 0;
    a.flags = CLONE_SIGHAND;
    EXPECT_ERRNO(clone3(&a, 64), EINVAL);
    EXPECT_ERRNO(clone3(NULL, 64), EFAULT);
    EXPECT_ERRNO(waitpid(-1, &st, __WALL), ECHILD);
    return finish();
}

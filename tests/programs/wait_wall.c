/* "Clone" children (exit signal other than SIGCHLD, here SIGUSR1 and none):
 * plain waits do not see them (ECHILD, or 0 with WNOHANG while a normal child
 * exists), __WCLONE waits see only them, __WALL sees both kinds; the parent
 * receives the chosen exit signal (SIGUSR1) when such a child exits. */
#include "common.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static char stack[2][1 << 16] __attribute__((aligned(16)));
static int ret_arg(void *a) {
    return (int)(long)a;
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
    sigaddset(&set, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

    pid_t u = clone(ret_arg, stack[0] + sizeof stack[0], SIGUSR1, (void *)3L);
    CHECK(u > 0);
    int st;
    EXPECT_ERRNO(waitpid(u, &st, 0), ECHILD);
    EXPECT_ERRNO(waitpid(-1, &st, 0), ECHILD);
    siginfo_t si;
    struct timespec ts = {5, 0};
    int sig = sigtimedwait(&set, &si, &ts);
    printf("exit signal received: SIG%s si_code=%s status=%d\n", sig > 0 ? sigabbrev_np(sig) : "?",
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status);
    CHECK(waitpid(u, &st, __WCLONE) == u && WEXITSTATUS(st) == 3);

    /* No exit signal at all. */
    pid_t z = clone(ret_arg, stack[1] + sizeof stack[1], 0, (void *)4L);
    CHECK(z > 0);
    fflush(stdout);
    pid_t n = fork();
    if (n == 0)
        _exit(5);
    /* A plain wait finds only the normal child. */
    CHECK(waitpid(-1, &st, 0) == n && WEXITSTATUS(st) == 5);
    EXPECT_ERRNO(waitpid(-1, &st, WNOHANG), ECHILD);
    CHECK(waitpid(-1, &st, __WCLONE) == z && WEXITSTATUS(st) == 4);
    struct timespec zero = {0, 0};
    sigset_t only_usr1;
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    EXPECT_ERRNO(sigtimedwait(&only_usr1, &si, &zero), EAGAIN);

    /* __WALL reaps both kinds. */
    u = clone(ret_arg, stack[0] + sizeof stack[0], SIGUSR1, (void *)6L);
    fflush(stdout);
    n = fork();
    if (n == 0)
        _exit(7);
    int total = 0, count = 0;
    pid_t r;
    while ((r = waitpid(-1, &st, __WALL)) > 0) {
        total += WEXITSTATUS(st);
        count++;
    }
    printf("__WALL reaped %d children, status sum %d\n", count, total);
    /* __WCLONE with only normal children: ECHILD. */
    fflush(stdout);
    n = fork();
    if (n == 0)
        _exit(8);
    EXPECT_ERRNO(waitpid(-1, &st, __WCLONE), ECHILD);
    CHECK(waitpid(n, &st, 0) == n);
    /* Drain pending signals so nothing is left. */
    while (sigtimedwait(&set, &si, &zero) > 0)
        ;
    return finish();
}

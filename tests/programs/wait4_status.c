/* wait4/waitpid status words: exit codes 0, 1, 255 and 256 (which wraps to 0),
 * deaths by SIGTERM, SIGKILL and SIGUSR1, WNOHANG on a running child (0) and on
 * a finished one, waiting for one specific child while another is running,
 * waitpid(0) for our process group, wait4 filling a struct rusage, and the
 * errors: ECHILD for a pid that is not our child or with no children, EINVAL
 * for unknown option bits, EFAULT for a bad status pointer. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void show(const char *what, int st) {
    if (WIFEXITED(st))
        printf("%s: WIFEXITED=1 status=%d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: WIFSIGNALED=1 sig=SIG%s core=%d\n", what, sigabbrev_np(WTERMSIG(st)), WCOREDUMP(st) ? 1 : 0);
    else if (WIFSTOPPED(st))
        printf("%s: WIFSTOPPED=1 sig=SIG%s\n", what, sigabbrev_np(WSTOPSIG(st)));
    else
        printf("%s: other 0x%x\n", what, st);
}

static pid_t spawn_exit(int code) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(code);
    return c;
}

static pid_t spawn_blocked(int fd, int wfd) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(wfd);
        ssize_t n = read(fd, &b, 1);
        _exit(n == 0 ? 0 : 1);
    }
    return c;
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
    int st;
    int codes[] = {0, 1, 255, 256, 1000};
    for (int i = 0; i < 5; i++) {
        pid_t c = spawn_exit(codes[i]);
        CHECK(waitpid(c, &st, 0) == c);
        char what[32];
        snprintf(what, sizeof what, "_exit(%d)", codes[i]);
        show(what, st);
    }
    int sigs[] = {SIGTERM, SIGKILL, SIGUSR1, SIGHUP};
    for (int i = 0; i < 4; i++) {
        int p[2];
        CHECK(pipe(p) == 0);
        pid_t c = spawn_blocked(p[0], p[1]);
        close(p[0]);
        CHECK(kill(c, sigs[i]) == 0);
        CHECK(waitpid(c, &st, 0) == c);
        char what[32];
        snprintf(what, sizeof what, "kill SIG%s", sigabbrev_np(sigs[i]));
        show(what, st);
        close(p[1]);
    }

    /* WNOHANG on a running child, then on a finished one. */
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t slow = spawn_blocked(p[0], p[1]);
    pid_t quick = spawn_exit(5);
    CHECK(waitpid(slow, &st, WNOHANG) == 0);
    CHECK(waitpid(quick, &st, 0) == quick && WEXITSTATUS(st) == 5);
    CHECK(waitpid(slow, &st, WNOHANG) == 0);
    close(p[1]);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    CHECK(wait4(slow, &st, 0, &ru) == slow);
    show("slow child after EOF", st);
    printf("rusage filled: %s\n", ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 && ru.ru_maxrss > 0 ? "yes" : "no");
    close(p[0]);

    /* waitpid(0): children in our process group (all of them here). */
    pid_t c = spawn_exit(6);
    CHECK(waitpid(0, &st, 0) == c && WEXITSTATUS(st) == 6);

    /* A NULL status pointer is allowed. */
    c = spawn_exit(7);
    CHECK(waitpid(c, NULL, 0) == c);

    /* Errors. */
    EXPECT_ERRNO(waitpid(-1, &st, 0), ECHILD);
    EXPECT_ERRNO(waitpid(0, &st, WNOHANG), ECHILD);
    EXPECT_ERRNO(waitpid(getpid(), &st, 0), ECHILD);
    EXPECT_ERRNO(waitpid(-1, &st, 0x40000), EINVAL);
    EXPECT_ERRNO(wait4(-1, &st, 0x1000000, NULL), EINVAL);
    c = spawn_exit(8);
    EXPECT_ERRNO(wait4(c, (int *)16, 0, NULL), EFAULT);
    /* The failed copy-out still reaped the child. */
    EXPECT_ERRNO(waitpid(c, &st, WNOHANG), ECHILD);
    return finish();
}

/* Assorted prctl options, changed in children so the program's own state is
 * left alone: PR_SET/GET_NO_NEW_PRIVS (cannot be cleared, inherited by fork and
 * kept by exec), PR_GET/SET_DUMPABLE (0 and 1, EINVAL for 2 and others,
 * inherited by fork, reset to 1 by exec), PR_SET/GET_TIMERSLACK (inherited),
 * PR_SET/GET_KEEPCAPS, PR_SET/GET_THP_DISABLE, PR_GET_TSC, PR_GET_SECCOMP (0),
 * and an unknown option (EINVAL). */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

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
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        printf("  after exec: NO_NEW_PRIVS=%d DUMPABLE=%d TIMERSLACK=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
               prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        fflush(stdout);
        return 0;
    }
    default_signals();
    printf("PR_GET_DUMPABLE=%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    printf("PR_GET_SECCOMP=%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    int tsc = -1;
    CHECK(prctl(PR_GET_TSC, &tsc, 0, 0, 0) == 0);
    printf("PR_GET_TSC=%s\n", tsc == PR_TSC_ENABLE ? "PR_TSC_ENABLE" : "other");
    printf("PR_GET_KEEPCAPS=%d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    printf("PR_GET_THP_DISABLE=%d\n", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    EXPECT_ERRNO(prctl(0x7ffff123, 0, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_DUMPABLE, 7, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
    EXPECT_ERRNO(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);

    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        printf("  PR_GET_NO_NEW_PRIVS after set: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        EXPECT_ERRNO(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
        CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0);
        printf("  PR_GET_DUMPABLE after set 0: %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
        CHECK(prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0) == 0);
        printf("  PR_GET_TIMERSLACK after set: %d\n", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
        printf("  PR_GET_KEEPCAPS after set: %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
        EXPECT_ERRNO(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
        CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
        printf("  PR_GET_THP_DISABLE after set: %d\n", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) {
            printf("    grandchild inherits: NO_NEW_PRIVS=%d DUMPABLE=%d TIMERSLACK=%d KEEPCAPS=%d THP_DISABLE=%d\n",
                   prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
                   prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0),
                   prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
            fflush(stdout);
            _exit(0);
        }
        int st;
        waitpid(g, &st, 0);
        CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0);
        CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
        CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0);
        fflush(stdout);
        char *args[] = {argv[0], "after", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    printf("child status %d\n", WEXITSTATUS(st));
    printf("our dumpable flag untouched: %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    return finish();
}

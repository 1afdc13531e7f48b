/* setpgid rules seen from a parent: it may move its child into a new group
 * (the child's pid) or into another group of the same session, but not after
 * the child has exec'd (EACCES), not into a group that does not exist (EPERM),
 * not a process that is not its child (ESRCH for a grandchild, for a reaped
 * pid) and negative arguments are EINVAL; getpgid/getsid of a pid that does not
 * exist are ESRCH. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static int gate[2], ready[2];

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
    if (argc > 1 && strcmp(argv[1], "execd") == 0) {
        /* fds 3 (ready write end) and 4 (gate read end) are passed by number. */
        int rfd = atoi(argv[2]), gfd = atoi(argv[3]);
        char b = 'e';
        if (write(rfd, &b, 1) != 1)
            return 1;
        if (read(gfd, &b, 1) != 0)
            return 2;
        return 0;
    }
    default_signals();
    CHECK(pipe(gate) == 0 && pipe(ready) == 0);
    fflush(stdout);
    pid_t c1 = fork();
    if (c1 == 0) {
        close(gate[1]);
        char b;
        if (read(gate[0], &b, 1) != 0)
            _exit(1);
        _exit(0);
    }
    pid_t c2 = fork();
    if (c2 == 0) {
        close(gate[1]);
        pid_t g = fork();
        if (g == 0) {
            char b;
            if (read(gate[0], &b, 1) != 0)
                _exit(1);
            _exit(0);
        }
        if (write(ready[1], &g, sizeof g) != sizeof g)
            _exit(3);
        char b;
        if (read(gate[0], &b, 1) != 0)
            _exit(1);
        int st;
        waitpid(g, &st, 0);
        _exit(0);
    }
    pid_t grandchild = 0;
    CHECK(read(ready[0], &grandchild, sizeof grandchild) == sizeof grandchild);

    CHECK(setpgid(c1, c1) == 0);
    CHECK(getpgid(c1) == c1);
    CHECK(setpgid(c2, c1) == 0);
    printf("second child moved into the first child's group: %s\n", getpgid(c2) == c1 ? "yes" : "no");
    CHECK(setpgid(c2, getpgrp()) == 0);
    printf("and back into ours: %s\n", getpgid(c2) == getpgrp() ? "yes" : "no");
    printf("getpgid(grandchild) is our group: %s\n", getpgid(grandchild) == getpgrp() ? "yes" : "no");
    EXPECT_ERRNO(setpgid(grandchild, grandchild), ESRCH);
    EXPECT_ERRNO(setpgid(c2, c2 + 1000000), EPERM);
    EXPECT_ERRNO(setpgid(c1, -1), EINVAL);
    EXPECT_ERRNO(setpgid(-5, 0), EINVAL);
    EXPECT_ERRNO(getpgid(-5), ESRCH);

    /* After exec: EACCES. */
    char r[12], g[12];
    snprintf(r, sizeof r, "%d", ready[1]);
    snprintf(g, sizeof g, "%d", gate[0]);
    fflush(stdout);
    pid_t c3 = fork();
    if (c3 == 0) {
        close(gate[1]);
        char *args[] = {argv[0], "execd", r, g, NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    char e = 0;
    CHECK(read(ready[0], &e, 1) == 1 && e == 'e');
    EXPECT_ERRNO(setpgid(c3, c3), EACCES);
    EXPECT_ERRNO(setpgid(c3, c1), EACCES);
    printf("exec'd child still in our group: %s\n", getpgid(c3) == getpgrp() ? "yes" : "no");

    close(gate[1]);
    int st, bad = 0;
    for (int i = 0; i < 3; i++) {
        pid_t r2 = wait(&st);
        if (r2 < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    printf("children exited cleanly: %s\n", bad == 0 ? "yes" : "no");
    EXPECT_ERRNO(setpgid(c1, c1), ESRCH);
    EXPECT_ERRNO(getpgid(c1), ESRCH);
    EXPECT_ERRNO(getsid(c1), ESRCH);
    return finish();
}

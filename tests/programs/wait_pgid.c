/* Waiting by process group: two groups of children (each group led by its first
 * child, with setpgid called on both sides of the fork), waitpid(-pgid) and
 * waitid(P_PGID) reap only members of that group, waitpid(0) only children in
 * our own group (ECHILD when every remaining child is elsewhere), and an
 * unknown group is ECHILD. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static int gate[2];

static pid_t spawn(pid_t pgid, int code) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (setpgid(0, pgid) != 0)
            _exit(100);
        char b;
        close(gate[1]);
        if (read(gate[0], &b, 1) != 0)
            _exit(101);
        _exit(code);
    }
    setpgid(c, pgid ? pgid : c);
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
    CHECK(pipe(gate) == 0);
    pid_t a1 = spawn(0, 11);
    pid_t a2 = spawn(a1, 12);
    pid_t b1 = spawn(0, 21);
    pid_t b2 = spawn(b1, 22);
    pid_t own = spawn(getpgrp(), 31);
    CHECK(getpgid(a2) == a1 && getpgid(b2) == b1 && getpgid(own) == getpgrp());
    close(gate[0]);
    close(gate[1]); /* everyone may exit now */
    int st, sum = 0, n = 0;
    pid_t r;
    while ((r = waitpid(-b1, &st, 0)) > 0) {
        sum += WEXITSTATUS(st);
        n++;
        if (r != b1 && r != b2)
            sum += 1000;
    }
    printf("waitpid(-pgid B): %d children, status sum %d, then %s\n", n, sum, errname(errno));
    CHECK(waitpid(0, &st, 0) == own && WEXITSTATUS(st) == 31);
    EXPECT_ERRNO(waitpid(0, &st, WNOHANG), ECHILD);
    siginfo_t si;
    n = sum = 0;
    for (;;) {
        memset(&si, 0, sizeof si);
        if (waitid(P_PGID, a1, &si, WEXITED) != 0)
            break;
        n++;
        sum += si.si_status;
        if (si.si_pid != a1 && si.si_pid != a2)
            sum += 1000;
    }
    printf("waitid(P_PGID A): %d children, status sum %d, then %s\n", n, sum, errname(errno));
    EXPECT_ERRNO(waitpid(-a1, &st, 0), ECHILD);
    EXPECT_ERRNO(waitpid(-1, &st, 0), ECHILD);

    /* A group that still has a live member: WNOHANG returns 0. */
    CHECK(pipe(gate) == 0);
    pid_t c1 = spawn(0, 41);
    close(gate[0]);
    CHECK(waitpid(-c1, &st, WNOHANG) == 0);
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PGID, c1, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0);
    /* waitid(P_PGID, 0) means our own group: the child is not in it. */
    EXPECT_ERRNO(waitid(P_PGID, 0, &si, WEXITED | WNOHANG), ECHILD);
    close(gate[1]);
    CHECK(waitpid(-c1, &st, 0) == c1 && WEXITSTATUS(st) == 41);
    return finish();
}

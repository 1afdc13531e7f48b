/* SA_NOCLDSTOP: with it, a child's stop and continue send no SIGCHLD (the
 * waits still report them), its exit still does; without it, all three do.
 * SIGCHLD is blocked and collected with sigtimedwait after waitpid has seen
 * each event. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static void handler(int s) {
    (void)s;
}

/* The stopping or continuing child sends its SIGCHLD itself, possibly just
 * after our wait saw the event: wait up to 1 s when one is expected and
 * 20 ms when none is. */
static const char *pending_chld(int expected) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct timespec ts = {expected ? 1 : 0, expected ? 0 : 20 * 1000 * 1000};
    siginfo_t si;
    int r = sigtimedwait(&chld, &si, &ts);
    if (r != SIGCHLD)
        return "no SIGCHLD";
    switch (si.si_code) {
    case CLD_STOPPED: return "SIGCHLD CLD_STOPPED";
    case CLD_CONTINUED: return "SIGCHLD CLD_CONTINUED";
    case CLD_EXITED: return "SIGCHLD CLD_EXITED";
    case CLD_KILLED: return "SIGCHLD CLD_KILLED";
    default: return "SIGCHLD other";
    }
}

static void run(const char *what, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        char b;
        if (read(p[0], &b, 1) != 0)
            _exit(1);
        _exit(0);
    }
    close(p[0]);
    int st;
    CHECK(kill(c, SIGSTOP) == 0);
    CHECK(waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st));
    int expect_stop = !(flags & SA_NOCLDSTOP);
    printf("%s: stop     -> %s\n", what, pending_chld(expect_stop));
    CHECK(kill(c, SIGCONT) == 0);
    CHECK(waitpid(c, &st, WCONTINUED) == c && WIFCONTINUED(st));
    printf("%s: continue -> %s\n", what, pending_chld(expect_stop));
    close(p[1]);
    siginfo_t w;
    CHECK(waitid(P_PID, c, &w, WEXITED | WNOWAIT) == 0);
    printf("%s: exit     -> %s\n", what, pending_chld(1));
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
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
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &chld, NULL) == 0);
    run("SA_NOCLDSTOP", SA_NOCLDSTOP);
    run("no flag", 0);
    struct sigaction old;
    CHECK(sigaction(SIGCHLD, NULL, &old) == 0);
    printf("flags read back without SA_NOCLDSTOP: %s\n", (old.sa_flags & SA_NOCLDSTOP) ? "no" : "yes");
    return finish();
}

/* SIGCHLD contents: with SIGCHLD blocked and collected by sigwaitinfo, a
 * child's exit gives CLD_EXITED with the exit code, a kill CLD_KILLED with the
 * signal, a stop CLD_STOPPED with SIGSTOP, a continue CLD_CONTINUED with
 * SIGCONT, each with si_pid = the child and si_uid 0; two children exiting
 * while SIGCHLD is blocked leave one pending SIGCHLD (both are reapable); an
 * SA_SIGINFO handler sees the same fields. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char *code(int c) {
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "other";
    }
}

static void show(const char *what, const siginfo_t *si, pid_t c) {
    char status[24];
    if (si->si_code == CLD_EXITED)
        snprintf(status, sizeof status, "%d", si->si_status);
    else
        snprintf(status, sizeof status, "SIG%s", sigabbrev_np(si->si_status));
    printf("%-10s si_signo=SIG%s si_code=%s si_status=%s si_pid ok=%s si_uid=%d\n", what, sigabbrev_np(si->si_signo),
           code(si->si_code), status, si->si_pid == c ? "yes" : "no", (int)si->si_uid);
}

static volatile int h_code, h_status, h_pid, h_hits;
static void handler(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    h_code = si->si_code;
    h_status = si->si_status;
    h_pid = si->si_pid;
    h_hits++;
}

static pid_t spawn_pauser(void) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        for (;;)
            pause();
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
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &chld, NULL) == 0);
    siginfo_t si;
    int st;
    struct timespec zero = {0, 0};

    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
        _exit(3);
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&chld, &si) == SIGCHLD);
    show("exit:", &si, c);
    CHECK(waitpid(c, &st, 0) == c);

    c = spawn_pauser();
    CHECK(kill(c, SIGSTOP) == 0);
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&chld, &si) == SIGCHLD);
    show("stop:", &si, c);
    CHECK(waitpid(c, &st, WUNTRACED) == c);
    CHECK(kill(c, SIGCONT) == 0);
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&chld, &si) == SIGCHLD);
    show("continue:", &si, c);
    CHECK(waitpid(c, &st, WCONTINUED) == c);
    CHECK(kill(c, SIGTERM) == 0);
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&chld, &si) == SIGCHLD);
    show("kill:", &si, c);
    CHECK(waitpid(c, &st, 0) == c);

    /* Two exits while blocked: one pending SIGCHLD. */
    fflush(stdout);
    pid_t c1 = fork();
    if (c1 == 0)
        _exit(1);
    pid_t c2 = fork();
    if (c2 == 0)
        _exit(2);
    siginfo_t w;
    CHECK(waitid(P_PID, c1, &w, WEXITED | WNOWAIT) == 0 && waitid(P_PID, c2, &w, WEXITED | WNOWAIT) == 0);
    int n = 0;
    while (sigtimedwait(&chld, &si, &zero) == SIGCHLD)
        n++;
    printf("two exits while blocked: %d SIGCHLD pending\n", n);
    CHECK(waitpid(c1, &st, 0) == c1 && waitpid(c2, &st, 0) == c2);

    /* A handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(9);
    CHECK(waitid(P_PID, c, &w, WEXITED | WNOWAIT) == 0);
    sigprocmask(SIG_UNBLOCK, &chld, NULL); /* the handler runs here */
    printf("handler: hits=%d si_code=%s si_status=%d si_pid ok=%s\n", h_hits, code(h_code), h_status,
           h_pid == c ? "yes" : "no");
    CHECK(waitpid(c, &st, 0) == c);
    return finish();
}
